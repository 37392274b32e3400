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
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/pki"
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
	keyFile := filepath.Join(b.TempDir(), "jwt_hs256.key")
	key := []byte("bench-jwt-key-of-32-bytes-or-more")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		b.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		b.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sun": u.Username, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
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
