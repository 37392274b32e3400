package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// testLogger is quiet unless the tests run with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freeAddrs returns n loopback addresses with ports that were free a moment
// ago.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		defer l.Close()
	}
	return addrs
}

// testCtx returns a context with a generous deadline for polling.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open opens a store and closes it when the test ends.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.Logger = testLogger()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitLeaderAmong returns the store that is leader and has reported it on
// LeaderCh.
func waitLeaderAmong(ctx context.Context, t testing.TB, stores []*Store) *Store {
	t.Helper()
	for {
		for _, s := range stores {
			select {
			case isLeader := <-s.LeaderCh():
				if isLeader && s.IsLeader() {
					return s
				}
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting for a leader")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func submit(ctx context.Context, t testing.TB, s *Store, names ...string) []api.JobID {
	t.Helper()
	var specs []api.JobSpec
	for _, n := range names {
		specs = append(specs, testSpec(n))
	}
	res, err := s.Apply(ctx, SubmitJobs{Now: time.Now().Unix(), Specs: specs})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return res.IDs
}

func TestCluster(t *testing.T) {
	ctx := testCtx(t)
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
		}))
	}
	for _, s := range stores {
		if err := s.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
	}
	leader := waitLeaderAmong(ctx, t, stores)
	var followers []*Store
	for _, s := range stores {
		if s != leader {
			followers = append(followers, s)
		}
	}

	ids := submit(ctx, t, leader, "a", "b", "c")
	if diff := cmp.Diff([]api.JobID{1, 2, 3}, ids); diff != "" {
		t.Errorf("job IDs (-want +got):\n%s", diff)
	}
	if _, err := leader.Apply(ctx, CancelJob{Now: 5, ID: 2}); err != nil {
		t.Fatal(err)
	}
	idx := leader.Index()
	want := stateContents(leader.State())
	for _, f := range followers {
		if got := f.WaitIndex(ctx, idx-1); got < idx {
			t.Fatalf("%s: WaitIndex returned %d, want >= %d", f.cfg.ID, got, idx)
		}
		if diff := cmp.Diff(want, stateContents(f.State())); diff != "" {
			t.Errorf("%s: state differs from the leader's (-leader +follower):\n%s", f.cfg.ID, diff)
		}
		if f.LeaderID() != leader.cfg.ID {
			t.Errorf("%s: LeaderID = %q, want %q", f.cfg.ID, f.LeaderID(), leader.cfg.ID)
		}
		if got := f.LeaderHTTPAddr(); got != leader.cfg.HTTPAddr {
			t.Errorf("%s: LeaderHTTPAddr = %q, want %q", f.cfg.ID, got, leader.cfg.HTTPAddr)
		}
		if _, err := f.Apply(ctx, SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("x")}}); !errors.Is(err, ErrNotLeader) {
			t.Errorf("%s: Apply on a follower: err = %v, want ErrNotLeader", f.cfg.ID, err)
		}
	}
	// A validation error comes back from the leader's Apply.
	if _, err := leader.Apply(ctx, CancelJob{Now: 5, ID: 2}); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel of a cancelled job: err = %v, want ErrConflict", err)
	}

	// The leader goes away; the others elect a new one with the state intact.
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	next := waitLeaderAmong(ctx, t, followers)
	if diff := cmp.Diff(want.Jobs, next.State().Jobs()); diff != "" {
		t.Errorf("jobs after failover (-before +after):\n%s", diff)
	}
	if got := submit(ctx, t, next, "d"); !cmp.Equal(got, []api.JobID{4}) {
		t.Errorf("first job ID after failover = %v, want [4]", got)
	}
	for _, f := range followers {
		waitFor(ctx, t, f.cfg.ID+" to learn the new leader's HTTP address", func() bool {
			return f.LeaderHTTPAddr() == next.cfg.HTTPAddr
		})
	}
}

func TestAddVoter(t *testing.T) {
	ctx := testCtx(t)
	addrs := freeAddrs(t, 2)
	a := open(t, Config{ID: "a", RaftAddr: addrs[0], DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:1", Bootstrap: true})
	b := open(t, Config{ID: "b", RaftAddr: addrs[1], DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:2"})
	if waitLeaderAmong(ctx, t, []*Store{a}) != a {
		t.Fatal("a is not the leader")
	}
	submit(ctx, t, a, "before")
	if err := b.AddVoter(ctx, "c", "127.0.0.1:9"); !errors.Is(err, ErrNotLeader) {
		t.Errorf("AddVoter on a non-leader: err = %v, want ErrNotLeader", err)
	}
	if err := a.AddVoter(ctx, "b", addrs[1]); err != nil {
		t.Fatal(err)
	}
	submit(ctx, t, a, "after")
	b.WaitIndex(ctx, a.Index()-1)
	if diff := cmp.Diff(stateContents(a.State()), stateContents(b.State())); diff != "" {
		t.Errorf("new voter's state (-leader +new):\n%s", diff)
	}
	if got := b.LeaderHTTPAddr(); got != "127.0.0.1:1" {
		t.Errorf("new voter: LeaderHTTPAddr = %q, want 127.0.0.1:1", got)
	}
}

func TestReopenKeepsCommittedState(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	cfg := Config{ID: "solo", RaftAddr: freeAddrs(t, 1)[0], DataDir: dir, HTTPAddr: "127.0.0.1:6817", Bootstrap: true, Logger: testLogger()}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitLeaderAmong(ctx, t, []*Store{s})
	for i := range 20 {
		submit(ctx, t, s, fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i))
	}
	// Half the state in a snapshot, the rest only in the log.
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		submit(ctx, t, s, fmt.Sprintf("c%d", i))
	}
	if _, err := s.Apply(ctx, CancelJob{Now: 9, ID: 3}); err != nil {
		t.Fatal(err)
	}
	want := stateContents(s.State())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "snapshots")); len(entries) == 0 {
		t.Errorf("no snapshot in %s", filepath.Join(dir, "snapshots"))
	}

	s2 := open(t, cfg)
	waitLeaderAmong(ctx, t, []*Store{s2})
	s2.WaitIndex(ctx, want.Index-1)
	got := stateContents(s2.State())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state after reopening (-before +after):\n%s", diff)
	}
	if ids := submit(ctx, t, s2, "next"); !cmp.Equal(ids, []api.JobID{61}) {
		t.Errorf("job ID after reopening = %v, want [61]", ids)
	}
}

func TestOpenErrors(t *testing.T) {
	addr := freeAddrs(t, 1)[0]
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no ID", Config{RaftAddr: addr, DataDir: t.TempDir()}},
		{"no data dir", Config{ID: "x", RaftAddr: addr}},
		{"no raft address", Config{ID: "x", DataDir: t.TempDir()}},
		{"bad raft address", Config{ID: "x", RaftAddr: "nonsense", DataDir: t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = testLogger()
			if s, err := Open(context.Background(), tt.cfg); err == nil {
				s.Close()
				t.Errorf("Open succeeded")
			}
		})
	}
	// A second store on the same data directory cannot open it.
	dir := t.TempDir()
	open(t, Config{ID: "x", RaftAddr: addr, DataDir: dir, Bootstrap: true})
	if s, err := Open(context.Background(), Config{ID: "y", RaftAddr: freeAddrs(t, 1)[0], DataDir: dir, Logger: testLogger()}); err == nil {
		s.Close()
		t.Errorf("second Open of the same data directory succeeded")
	}
}

func TestApplyContext(t *testing.T) {
	ctx := testCtx(t)
	s := open(t, Config{ID: "solo", RaftAddr: freeAddrs(t, 1)[0], DataDir: t.TempDir(), Bootstrap: true})
	waitLeaderAmong(ctx, t, []*Store{s})
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Apply(done, SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("x")}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: err = %v, want context.Canceled", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	idx := s.Index()
	if got := s.WaitIndex(short, idx+1000); got < idx {
		t.Errorf("WaitIndex = %d, want >= %d", got, idx)
	}
}

func TestTimingMultiplier(t *testing.T) {
	tests := []struct {
		multiplier int
		want       timing
		wantErr    bool
	}{
		{multiplier: 0, want: timing{heartbeat: 500 * time.Millisecond, election: 500 * time.Millisecond, leaderLease: 500 * time.Millisecond}},
		{multiplier: 1, want: timing{heartbeat: 500 * time.Millisecond, election: 500 * time.Millisecond, leaderLease: 500 * time.Millisecond}},
		{multiplier: 4, want: timing{heartbeat: 2 * time.Second, election: 2 * time.Second, leaderLease: 2 * time.Second}},
		{multiplier: MaxTimingMultiplier, want: timing{heartbeat: 5 * time.Second, election: 5 * time.Second, leaderLease: 5 * time.Second}},
		{multiplier: -1, wantErr: true},
		{multiplier: MaxTimingMultiplier + 1, wantErr: true},
	}
	for _, tc := range tests {
		got, err := timingFor(tc.multiplier)
		if (err != nil) != tc.wantErr {
			t.Fatalf("timingFor(%d) error = %v, want error %v", tc.multiplier, err, tc.wantErr)
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(timing{})); diff != "" {
			t.Errorf("timingFor(%d) (-want +got):\n%s", tc.multiplier, diff)
		}
	}
}

func TestOpenRefusesTimingMultiplier(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), Config{ID: "c1", DataDir: filepath.Join(dir, "c1"), RaftAddr: "127.0.0.1:0", TimingMultiplier: 11})
	if err == nil || !strings.Contains(err.Error(), "raft timing multiplier 11") {
		t.Fatalf("Open with multiplier 11: err = %v, want one naming the multiplier", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "c1")); !os.IsNotExist(statErr) {
		t.Errorf("Open refused the multiplier but created the data directory (stat: %v)", statErr)
	}
}
