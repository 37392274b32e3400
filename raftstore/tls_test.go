package raftstore

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/fairway-hpc/fairway/api"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// testCreds issues a certificate for id under ca (valid for 127.0.0.1) and
// returns it as daemon credentials trusting trust.
func testCreds(t testing.TB, ca, trust *pki.CA, id apipki.Identity) *apipki.Credentials {
	t.Helper()
	iss, err := ca.Issue(pki.IssueRequest{Identity: id, Hosts: []string{"127.0.0.1"}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := apipki.ParseCAPool(trust.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return &apipki.Credentials{Cert: pair, Identity: id, CAs: pool, CAPEM: trust.CertPEM()}
}

// raftView is what an attack must not change: the leader, the term and the
// configuration.
type raftView struct {
	Leader  string
	Term    uint64
	Servers []raft.Server
}

func viewOf(t testing.TB, s *Store) raftView {
	t.Helper()
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	term, _ := strconv.ParseUint(s.raft.Stats()["term"], 10, 64)
	return raftView{Leader: s.LeaderID(), Term: term, Servers: f.Configuration().Servers}
}

// TestTLSTransport runs three stores over mutual TLS: they elect a leader
// and replicate. Then raft connections without a valid controller
// certificate try to take the cluster over (a RequestVote with a far higher
// term, which would depose the leader if raft read it) and garbage is sent
// over plain TCP: every one is refused, and the leader, term and
// configuration stay as they were. A control shows the same RPC with a
// controller certificate does reach raft.
func TestTLSTransport(t *testing.T) {
	ctx := testCtx(t)
	ca, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("other CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 3)
	var peers []Peer
	for i, a := range addrs {
		peers = append(peers, Peer{ID: fmt.Sprintf("c%d", i+1), RaftAddr: a})
	}
	var stores []*Store
	for i, p := range peers {
		stores = append(stores, open(t, Config{
			ID: p.ID, RaftAddr: p.RaftAddr, DataDir: t.TempDir(),
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 7000+i), Bootstrap: true, Peers: peers,
			TLS: testCreds(t, ca, ca, apipki.Controller(p.ID)),
		}))
	}
	leader := waitLeaderAmong(ctx, t, stores)
	if got := submit(ctx, t, leader, "a", "b"); !cmp.Equal(got, []api.JobID{1, 2}) {
		t.Fatalf("job IDs = %v, want [1 2]", got)
	}
	for _, s := range stores {
		waitFor(ctx, t, s.cfg.ID+" to replicate", func() bool { return len(s.State().Jobs()) == 2 })
	}
	before := viewOf(t, leader)

	// vote is a RequestVote that would make every server step down to a
	// far higher term if raft read it.
	vote := func(trans *raft.NetworkTransport, target Peer) error {
		req := &raft.RequestVoteRequest{
			RPCHeader:    raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("127.0.0.1:1")},
			Term:         before.Term + 100,
			LastLogIndex: 1 << 40, LastLogTerm: before.Term + 99,
		}
		var resp raft.RequestVoteResponse
		return trans.RequestVote(raft.ServerID(target.ID), raft.ServerAddress(target.RaftAddr), req, &resp)
	}
	tlsAttacker := func(creds *apipki.Credentials) func(t *testing.T) *raft.NetworkTransport {
		return func(t *testing.T) *raft.NetworkTransport {
			stream, err := newTLSStream("127.0.0.1:0", nil, creds)
			if err != nil {
				t.Fatal(err)
			}
			trans := raft.NewNetworkTransport(stream, 1, 2*time.Second, nil)
			t.Cleanup(func() { trans.Close() })
			return trans
		}
	}
	attacks := []struct {
		name  string
		trans func(t *testing.T) *raft.NetworkTransport
	}{
		{"plain TCP RequestVote", func(t *testing.T) *raft.NetworkTransport {
			trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 2*time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { trans.Close() })
			return trans
		}},
		{"TLS with a node certificate", tlsAttacker(testCreds(t, ca, ca, apipki.Node("c9")))},
		{"TLS with an admin certificate", tlsAttacker(testCreds(t, ca, ca, apipki.Admin("root")))},
		{"TLS with a controller certificate of another CA", tlsAttacker(testCreds(t, otherCA, ca, apipki.Controller("c1")))},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			trans := a.trans(t)
			for _, p := range peers {
				if err := vote(trans, p); err == nil {
					t.Errorf("RequestVote to %s: raft answered; want the connection refused", p.ID)
				}
			}
			if diff := cmp.Diff(before, viewOf(t, leader)); diff != "" {
				t.Errorf("cluster changed (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("TLS without a client certificate", func(t *testing.T) {
		pool, _ := apipki.ParseCAPool(ca.CertPEM())
		for _, p := range peers {
			conn, err := dialTLS(ctx, apipki.ServerCAConfig(pool), p.RaftAddr)
			if err != nil {
				continue // refused at the handshake
			}
			_, _ = conn.Write([]byte{0, 1, 2, 3})
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err == nil {
				t.Errorf("%s: read an answer without a client certificate", p.ID)
			}
			conn.Close()
		}
	})
	t.Run("plain TCP garbage", func(t *testing.T) {
		for _, p := range peers {
			conn, err := net.DialTimeout("tcp", p.RaftAddr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = conn.Write([]byte("\x00\x85garbage that is neither TLS nor raft\r\n\r\n"))
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 64)
			n, _ := conn.Read(buf)
			conn.Close()
			// At most a TLS alert (record type 21) comes back.
			if n > 0 && buf[0] != 21 {
				t.Errorf("%s: answered %q to garbage", p.ID, buf[:n])
			}
		}
	})
	time.Sleep(3 * electionTimeout) // let any disruption show
	if diff := cmp.Diff(before, viewOf(t, leader)); diff != "" {
		t.Errorf("cluster changed by the attacks (-before +after):\n%s", diff)
	}
	if got := submit(ctx, t, leader, "c"); !cmp.Equal(got, []api.JobID{3}) {
		t.Errorf("job IDs after the attacks = %v, want [3]", got)
	}

	// Control: with a controller certificate of the cluster's CA the same
	// RPC reaches raft (it answers), so the attacks above were refused by
	// TLS and not for some other reason.
	t.Run("control: controller certificate", func(t *testing.T) {
		trans := tlsAttacker(testCreds(t, ca, ca, apipki.Controller("c9")))(t)
		var follower Peer
		for _, p := range peers {
			if p.ID != before.Leader {
				follower = p
			}
		}
		if err := vote(trans, follower); err != nil {
			t.Errorf("RequestVote with a controller certificate: %v", err)
		}
	})
}

// TestTLSTransportRequiresControllerCert refuses to start raft with a
// certificate that does not name a controller.
func TestTLSTransportRequiresControllerCert(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(testCtx(t), Config{ID: "c1", RaftAddr: freeAddrs(t, 1)[0], DataDir: t.TempDir(),
		Bootstrap: true, Logger: testLogger(), TLS: testCreds(t, ca, ca, apipki.Node("c1"))})
	if err == nil {
		t.Fatal("Open with a node certificate: want an error")
	}
}
