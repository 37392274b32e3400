package ctld_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// testLogger logs to the test's output (warnings and errors only, or
// everything with FAIRWAY_TEST_DEBUG=1), and drops lines once the test ended.
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	level := slog.LevelWarn
	if os.Getenv("FAIRWAY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fakeClock is a settable clock for the controller.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// startController starts a single-node controller on loopback ports with a
// fresh data directory, after edit adjusts its config, waits until it leads,
// and returns it with a client. It is closed when the test ends.
func startController(t testing.TB, edit func(cfg *ctld.Config)) (*ctld.Controller, *client.Client) {
	t.Helper()
	c, cl := startControllerWith(t, edit)
	waitReady(t, cl)
	return c, cl
}

// startControllerWith starts a controller like startController but returns
// without waiting for a leader.
func startControllerWith(t testing.TB, edit func(cfg *ctld.Config)) (*ctld.Controller, *client.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := ctld.Config{
		ID:            "ctl1",
		DataDir:       t.TempDir(),
		Listener:      ln,
		RaftAddr:      freeAddr(t),
		Bootstrap:     true,
		SchedInterval: 100 * time.Millisecond,
		Logger:        testLogger(t),
		// The tests predating authentication trust claims; auth_test.go
		// starts controllers that verify.
		InsecureNoAuth: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := ctld.Start(context.Background(), cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("start controller: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close controller: %v", err)
		}
	})
	return c, client.New(c.Addr())
}

// waitReady waits until the controller answers as leader with a configuration.
func waitReady(t testing.TB, cl *client.Client) {
	t.Helper()
	waitFor(t, "a leader with a cluster configuration", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := cl.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		cfg, err := cl.Config(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.LeaderAddr != "" && len(cfg.Partitions) > 0, fmt.Sprintf("status %+v, %d partitions", st, len(cfg.Partitions))
	})
}

// waitFor polls cond every 20 ms until it holds, failing the test after a
// generous deadline with cond's last description of what it saw.
func waitFor(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last saw: %s", what, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// spec is a small valid job.
func spec(name string) api.JobSpec {
	return api.JobSpec{Name: name, User: "alice", UID: 1000, GID: 1000,
		Script: "#!/bin/sh\necho hello\n", WorkDir: "/tmp"}
}

// fakeNode is a node daemon played by the test: it registers and, while
// beating, heartbeats every 100 ms.
type fakeNode struct {
	name string
	cl   *client.Client
	stop context.CancelFunc
	done chan struct{}
}

// registerNode registers a node with cpus CPUs, 16 GB and gpus H100s in
// partition "main" (by naming none: the default partition).
func registerNode(t testing.TB, cl *client.Client, name string, cpus, gpus int) *fakeNode {
	t.Helper()
	req := api.RegisterNodeRequest{Name: name, Addr: "127.0.0.1:1",
		Resources: api.NodeResources{CPUs: cpus, MemoryMB: 16000}}
	for i := range gpus {
		req.Resources.GPUs = append(req.Resources.GPUs,
			api.GPU{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", name, i), Type: "h100", Minor: i, Healthy: true})
	}
	if _, err := cl.RegisterNode(ctx(t), req); err != nil {
		t.Fatalf("register node %s: %v", name, err)
	}
	return &fakeNode{name: name, cl: cl}
}

// beat starts heartbeating.
func (n *fakeNode) beat(t testing.TB) {
	c, cancel := context.WithCancel(context.Background())
	n.stop, n.done = cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		for {
			hctx, hcancel := context.WithTimeout(c, 2*time.Second)
			_, _ = n.cl.Heartbeat(hctx, n.name, api.HeartbeatRequest{})
			hcancel()
			select {
			case <-c.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(n.silence)
}

// silence stops heartbeating.
func (n *fakeNode) silence() {
	if n.stop != nil {
		n.stop()
		<-n.done
		n.stop = nil
	}
}

// waitNodeJobs follows the node's assignments with blocking queries until
// match accepts the list.
func waitNodeJobs(t testing.TB, cl *client.Client, node string, match func([]*api.Job) bool) []*api.Job {
	t.Helper()
	c := ctx(t)
	var index uint64
	for {
		resp, err := cl.NodeJobs(c, node, client.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			t.Fatalf("jobs of node %s (index %d): %v", node, index, err)
		}
		if match(resp.Jobs) {
			return resp.Jobs
		}
		index = resp.Index
	}
}

// waitJob polls a job until cond accepts it.
func waitJob(t testing.TB, cl *client.Client, id api.JobID, what string, cond func(j *api.Job) bool) *api.Job {
	t.Helper()
	var j *api.Job
	waitFor(t, fmt.Sprintf("job %d %s", id, what), func() (bool, string) {
		var err error
		if j, err = cl.Job(ctx(t), id); err != nil {
			return false, err.Error()
		}
		return cond(j), fmt.Sprintf("state %s reason %q kill %+v restarts %d", j.State, j.Reason, j.Kill, j.RestartCount)
	})
	return j
}
