package raftstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

// TestCheckRemoval: a removal never leaves the answering voters short of a
// quorum of the voters that remain, nor fewer voters than the minimum.
func TestCheckRemoval(t *testing.T) {
	voter := func(id string, healthy bool) RemovalServer {
		return RemovalServer{ID: id, Voter: true, Healthy: healthy}
	}
	three := []RemovalServer{voter("c1", true), voter("c2", true), voter("c3", true)}
	oneDown := []RemovalServer{voter("c1", true), voter("c2", true), voter("c3", false)}
	tests := []struct {
		name      string
		servers   []RemovalServer
		id        string
		minVoters int
		want      error // nil, ErrNotFound or ErrConflict
	}{
		{"healthy 3 to 2, no minimum", three, "c3", 0, nil},
		{"healthy 3 to 2 under a minimum of 3", three, "c3", 3, ErrConflict},
		{"the dead one of 3", oneDown, "c3", 0, nil},
		{"the dead one of 3 under a minimum of 3", oneDown, "c3", 3, ErrConflict},
		{"a healthy one while another is dead", oneDown, "c2", 0, ErrConflict},
		{"dead one of 5 under a minimum of 3", []RemovalServer{voter("a", true), voter("b", true), voter("c", true), voter("d", false), voter("e", false)}, "e", 3, nil},
		{"healthy one of 5 with 2 dead", []RemovalServer{voter("a", true), voter("b", true), voter("c", true), voter("d", false), voter("e", false)}, "a", 0, ErrConflict},
		{"the last voter", []RemovalServer{voter("c1", true)}, "c1", 0, ErrConflict},
		{"a non-voter always", []RemovalServer{voter("c1", true), {ID: "n1"}}, "n1", 3, nil},
		{"unknown", three, "c9", 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRemoval(tt.servers, tt.id, tt.minVoters)
			got := "nil"
			switch {
			case errors.Is(err, ErrNotFound):
				got = "ErrNotFound"
			case errors.Is(err, ErrConflict):
				got = "ErrConflict"
			case err != nil:
				got = err.Error()
			}
			want := "nil"
			if tt.want != nil {
				want = map[error]string{ErrNotFound: "ErrNotFound", ErrConflict: "ErrConflict"}[tt.want]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CheckRemoval (-want +got):\n%s\n(err: %v)", diff, err)
			}
		})
	}
}

// TestLastCommandUpTo: the read index waits for the last command at or
// before it; raft's own entries after it never reach the state machine.
func TestLastCommandUpTo(t *testing.T) {
	logs := raft.NewInmemStore()
	types := []raft.LogType{raft.LogConfiguration, raft.LogCommand, raft.LogNoop, raft.LogCommand, raft.LogBarrier, raft.LogNoop}
	for i, typ := range types {
		if err := logs.StoreLog(&raft.Log{Index: uint64(i + 1), Term: 1, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uint64]uint64{}
	for n := uint64(1); n <= 6; n++ {
		cmd, err := lastCommandUpTo(logs, n)
		if err != nil {
			t.Fatal(err)
		}
		got[n] = cmd
	}
	want := map[uint64]uint64{1: 0, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lastCommandUpTo (-want +got):\n%s", diff)
	}
}

// TestLaggingFollowerReadiness: a follower restarted after missing commits
// is not Ready before it has heard from the leader, and once Ready its
// state holds every command committed while it was away; the leader's read
// index covers every acknowledged write, a follower's is refused; the
// leader sees the stopped follower as unreachable and refuses removals
// that would break the quorum.
func TestLaggingFollowerReadiness(t *testing.T) {
	ctx := testCtx(t)
	addrs := freeAddrs(t, 3)
	var peers []Peer
	for i, a := range addrs {
		peers = append(peers, Peer{ID: fmt.Sprintf("c%d", i+1), RaftAddr: a})
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	cfgs := make([]Config, 3)
	var stores []*Store
	for i, p := range peers {
		cfgs[i] = Config{ID: p.ID, RaftAddr: p.RaftAddr, DataDir: dirs[i],
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 7100+i), Bootstrap: true, Peers: peers}
		stores = append(stores, open(t, cfgs[i]))
	}
	leader := waitLeaderAmong(ctx, t, stores)
	submit(ctx, t, leader, "a")
	var lag int
	for i, s := range stores {
		if s != leader {
			lag = i
		}
	}
	for _, s := range stores {
		waitFor(ctx, t, s.cfg.ID+" ready", s.Ready)
	}
	if _, err := stores[lag].ReadIndex(ctx); !errors.Is(err, ErrNotLeader) {
		t.Errorf("ReadIndex on a follower: err = %v, want ErrNotLeader", err)
	}
	if err := stores[lag].Close(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		submit(ctx, t, leader, "while-away")
	}
	want := leader.Index()
	idx, err := leader.ReadIndex(ctx)
	if err != nil || idx < want {
		t.Errorf("leader ReadIndex = %d, %v; want >= %d", idx, err, want)
	}

	// The leader sees the stopped follower as unreachable.
	waitFor(ctx, t, "the leader to see "+cfgs[lag].ID+" unreachable", func() bool {
		ms, _, err := leader.Members()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.ID == cfgs[lag].ID {
				return m.Unreachable
			}
		}
		return false
	})
	var healthyFollower string
	for i, s := range stores {
		if s != leader && i != lag {
			healthyFollower = s.cfg.ID
		}
	}
	if err := leader.RemoveController(ctx, healthyFollower, 0); !errors.Is(err, ErrConflict) {
		t.Errorf("removing a healthy voter while another is down: err = %v, want ErrConflict", err)
	}
	if err := leader.RemoveController(ctx, cfgs[lag].ID, 3); !errors.Is(err, ErrConflict) {
		t.Errorf("removing below a minimum of 3 voters: err = %v, want ErrConflict", err)
	}

	// Restart the lagging follower: it must never be Ready with less than
	// what was committed while it was away.
	cfgs[lag].Bootstrap = false
	cfgs[lag].LeaderCommit = func(context.Context) (uint64, error) { return leader.raft.CommitIndex(), nil }
	back := open(t, cfgs[lag])
	if back.Ready() {
		t.Errorf("restarted follower Ready before any contact (applied %d of %d)", back.Index(), want)
	}
	for !back.Ready() {
		select {
		case <-ctx.Done():
			t.Fatalf("restarted follower never Ready: %s", back.ReadyReason())
		case <-time.After(time.Millisecond):
		}
	}
	if got := back.Index(); got < want {
		t.Errorf("restarted follower Ready at index %d, before the commits it missed (up to %d)", got, want)
	}

	// Now every voter answers: removing one of three is allowed without a
	// minimum.
	waitFor(ctx, t, "the leader to see "+cfgs[lag].ID+" again", func() bool {
		ms, _, _ := leader.Members()
		for _, m := range ms {
			if m.Unreachable {
				return false
			}
		}
		return true
	})
	if err := leader.RemoveController(ctx, cfgs[lag].ID, 0); err != nil {
		t.Fatalf("remove %s: %v", cfgs[lag].ID, err)
	}
	ps, err := leader.Servers()
	if err != nil || len(ps) != 2 {
		t.Errorf("servers after removal = %v, %v; want 2", ps, err)
	}
}
