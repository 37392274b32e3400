package bigstate_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestWriteRaftDirStartsAController writes a built state as a raft
// directory and opens a real raft store on it, with --bootstrap as the
// controller runs: it must not bootstrap over the snapshot, it must elect
// itself, serve the same jobs, and take new commands after them.
func TestWriteRaftDirStartsAController(t *testing.T) {
	m := bigstate.Default(2_000)
	m.Nodes = 20
	l, err := bigstate.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	rd, err := bigstate.WriteRaftDir(l, dir, "ctl1", addr)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Index != l.State().Index() || rd.StateBytes == 0 {
		t.Errorf("wrote %+v, want index %d and a state", rd, l.State().Index())
	}
	if _, err := bigstate.WriteRaftDir(l, dir, "ctl1", addr); err == nil {
		t.Error("second WriteRaftDir into the same directory: no error")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := raftstore.Open(ctx, raftstore.Config{ID: "ctl1", DataDir: dir, RaftAddr: addr, Bootstrap: true, Logger: quiet,
		Peers: []raftstore.Peer{{ID: "ctl1", RaftAddr: addr}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for !s.Ready() {
		if ctx.Err() != nil {
			t.Fatalf("not ready: %s", s.ReadyReason())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !s.IsLeader() {
		t.Fatalf("ready but not leader (leader %q)", s.LeaderID())
	}
	peers, err := s.Servers()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]raftstore.Peer{{ID: "ctl1", RaftAddr: addr}}, peers); diff != "" {
		t.Errorf("raft configuration (-want +got):\n%s", diff)
	}
	type count struct{ Jobs, Pending, Running, Finished int }
	tally := func(st *raftstore.State) count {
		var c count
		for _, j := range st.Jobs() {
			c.Jobs++
			switch j.State {
			case api.JobPending:
				c.Pending++
			case api.JobRunning:
				c.Running++
			case api.JobCompleted:
				c.Finished++
			}
		}
		return c
	}
	want := count{Jobs: 2_000, Pending: 2_000 - 900 - 20, Running: 20, Finished: 900}
	if diff := cmp.Diff(want, tally(s.State())); diff != "" {
		t.Errorf("restored jobs (-want +got):\n%s", diff)
	}
	res, err := s.Apply(ctx, raftstore.SubmitJobs{Now: bigstate.Now + 10, Specs: []api.JobSpec{m.Spec(0)}})
	if err != nil {
		t.Fatalf("submit after the restore: %v", err)
	}
	if diff := cmp.Diff([]api.JobID{2_001}, res.IDs); diff != "" {
		t.Errorf("new job's ID (-want +got):\n%s", diff)
	}
}
