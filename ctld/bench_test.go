package ctld_test

import (
	"context"
	"crypto/tls"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/pki"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkSubmitHTTP measures job submission through the whole write path:
// 16 concurrent clients, one job per request, into a real single-node
// controller whose raft log is on disk (b.TempDir). It reports jobs/s and
// the p50 and p99 request latency, for each way of authenticating, measured
// in the same run:
//
//	none       plain HTTP, --insecure-no-auth (the baseline)
//	munge      plain HTTP, a MUNGE credential per request, decoded by the
//	           controller's munged (a private one)
//	jwt        plain HTTP, a Slurm auth/jwt token per request
//	tls+munge  HTTPS with the cluster CA, MUNGE (the production setup)
func BenchmarkSubmitHTTP(b *testing.B) {
	const clients = 16
	d := mungetest.Start(b)
	keyFile, tok := benchJWT(b)
	ca, err := pki.NewCA("bench CA", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	pool, err := apipki.ParseCAPool(ca.CertPEM())
	if err != nil {
		b.Fatal(err)
	}
	auth := func(cfg *ctld.Config) {
		cfg.SchedInterval = ctld.DefaultSchedInterval
		cfg.InsecureNoAuth = false
		cfg.MungeSocket = d.Socket
		cfg.JWTKeyFile = keyFile
	}
	modes := []struct {
		name   string
		edit   func(cfg *ctld.Config)
		client func(ctl *ctld.Controller) *client.Client
	}{
		{"none", func(cfg *ctld.Config) { cfg.SchedInterval = ctld.DefaultSchedInterval }, func(ctl *ctld.Controller) *client.Client {
			return client.NewWithOptions(client.Options{Addrs: ctl.URL()}).WithAuth(client.NoAuth{})
		}},
		{"munge", auth, func(ctl *ctld.Controller) *client.Client {
			return client.NewWithOptions(client.Options{Addrs: ctl.URL()}).WithMungeSocket(d.Socket)
		}},
		{"jwt", auth, func(ctl *ctld.Controller) *client.Client {
			return client.NewWithOptions(client.Options{Addrs: ctl.URL()}).WithAuth(client.TokenAuth{Token: tok})
		}},
		{"tls+munge", func(cfg *ctld.Config) {
			auth(cfg)
			iss, err := ca.Issue(pki.IssueRequest{Identity: apipki.Controller(cfg.ID), Hosts: []string{"127.0.0.1"}, Now: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
			if err != nil {
				b.Fatal(err)
			}
			cfg.TLS = &apipki.Credentials{Cert: pair, Identity: apipki.Controller(cfg.ID), CAs: pool, CAPEM: ca.CertPEM()}
		}, func(ctl *ctld.Controller) *client.Client {
			return client.NewWithOptions(client.Options{Addrs: ctl.URL(), CA: string(ca.CertPEM())}).WithMungeSocket(d.Socket)
		}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ctl, _ := startControllerWith(b, m.edit)
			cls := make([]*client.Client, clients)
			for i := range cls {
				cls[i] = m.client(ctl)
			}
			submitBench(b, cls)
		})
	}
}

// submitBench submits b.N single-job requests through the clients in
// parallel (one goroutine each) and reports jobs/s, p50 and p99.
func submitBench(b *testing.B, cls []*client.Client) {
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := spec("bench")
	// The job runs as the benchmark's own user, whom the credentials name.
	u, err := user.Current()
	if err != nil {
		b.Fatal(err)
	}
	s.User, s.UID, s.GID = u.Username, os.Getuid(), os.Getgid()
	// Warm up connections and the first raft entries (retrying while the
	// controller elects itself).
	for _, cl := range cls {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := cl.Submit(c, s)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("warm-up submit: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var next atomic.Int64
	lat := make([][]time.Duration, len(cls))
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	for i := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := cls[i].Submit(c, s); err != nil {
					b.Errorf("submit: %v", err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()

	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/job")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadConsistency compares plain and consistent (?consistent=1,
// read-index on the leader) reads of one job on a three-controller
// cluster, through the leader and through a follower (which forwards a
// consistent read to the leader), and reports each mode's mean latency
// and its ratio to the plain read on the leader, measured in the same run.
func BenchmarkReadConsistency(b *testing.B) {
	ctls, leader := startCluster(b, func(cfg *ctld.Config) { cfg.SchedInterval = ctld.DefaultSchedInterval })
	var follower string
	for id := range ctls {
		if id != leader {
			follower = id
		}
	}
	lc := client.New(ctls[leader].Addr())
	ids, err := lc.Submit(context.Background(), spec("bench"))
	if err != nil {
		b.Fatal(err)
	}
	modes := []struct {
		name string
		cl   *client.Client
	}{
		{"leader/plain", client.New(ctls[leader].Addr())},
		{"leader/consistent", client.New(ctls[leader].Addr()).WithConsistent(true)},
		{"follower/plain", client.New(ctls[follower].Addr())},
		{"follower/consistent", client.New(ctls[follower].Addr()).WithConsistent(true)},
	}
	var base float64
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := m.cl.Job(ctx, ids[0]); err != nil { // warm the connection
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := m.cl.Job(ctx, ids[0]); err != nil {
					b.Fatal(err)
				}
			}
			us := float64(time.Since(start).Microseconds()) / float64(b.N)
			if m.name == "leader/plain" {
				base = us // the last (largest b.N) run of the baseline
			}
			b.ReportMetric(us, "us/read")
			b.ReportMetric(us/base, "x_leader_plain")
		})
	}
}

// BenchmarkSubmitCluster measures job submission through the whole write
// path on three controllers in this process (one leader, two followers,
// over real raft transports, logs on disk): 64 concurrent submitters, one
// job per request (the fairway-scale workload's spec), sent to the leader,
// each user with a Slurm auth/jwt token (what the scale harness does) or no
// authentication at all. It reports jobs/s, the p50 and p99 request
// latency, and cpu-us/job: the process's CPU time (user and system: the
// three controllers and the clients together) per submission. allocs/op is
// the allocations per submission, in the same process.
func BenchmarkSubmitCluster(b *testing.B) {
	const submitters = 64
	keyFile, tok := benchJWT(b)
	modes := []struct {
		name string
		edit func(cfg *ctld.Config)
		auth client.Auth
	}{
		{"none", func(cfg *ctld.Config) { cfg.SchedInterval = ctld.DefaultSchedInterval }, client.NoAuth{}},
		{"jwt", func(cfg *ctld.Config) {
			cfg.SchedInterval = ctld.DefaultSchedInterval
			cfg.InsecureNoAuth = false
			cfg.JWTKeyFile = keyFile
		}, client.TokenAuth{Token: tok}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ctls, leader := startBenchCluster(b, m.edit)
			cls := make([]*client.Client, submitters)
			for i := range cls {
				cls[i] = client.NewWithOptions(client.Options{Addrs: ctls[leader].URL()}).WithAuth(m.auth)
			}
			b.ReportAllocs()
			submitBench(b, cls)
		})
	}
}

// startBenchCluster starts three controllers c1..c3 with edit applied, and
// returns them by ID with the leader's ID once every controller knows it
// (startCluster, without asking through the API, which may need
// credentials).
func startBenchCluster(b *testing.B, edit func(cfg *ctld.Config)) (map[string]*ctld.Controller, string) {
	b.Helper()
	var peers []raftstore.Peer
	for _, id := range []string{"c1", "c2", "c3"} {
		peers = append(peers, raftstore.Peer{ID: id, RaftAddr: freeAddr(b)})
	}
	ctls := map[string]*ctld.Controller{}
	for _, p := range peers {
		ctls[p.ID], _ = startControllerWith(b, func(cfg *ctld.Config) {
			cfg.ID, cfg.RaftAddr, cfg.Peers = p.ID, p.RaftAddr, peers
			edit(cfg)
		})
	}
	var leader string
	waitFor(b, "a leader known to every controller", func() (bool, string) {
		leader = ""
		for id, c := range ctls {
			if c.Store().LeaderID() == "" {
				return false, id + " knows no leader"
			}
			if c.Store().IsLeader() {
				leader = id
			}
		}
		return leader != "", "no leader yet"
	})
	return ctls, leader
}

// benchJWT writes a JWT key file and returns it with a token for the
// current user, valid for an hour.
func benchJWT(b *testing.B) (keyFile, token string) {
	b.Helper()
	keyFile = filepath.Join(b.TempDir(), "jwt_hs256.key")
	key := []byte("bench-jwt-key-of-32-bytes-or-more")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		b.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		b.Fatal(err)
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sun": u.Username, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	return keyFile, token
}
