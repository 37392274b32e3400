package raftstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Many concurrent leadership checks (node heartbeats) are all answered: yes
// on the leader, ErrNotLeader on a follower, and again yes after a
// follower stops (a quorum of two still follows).
func TestVerifyLeaderConcurrent(t *testing.T) {
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
			HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 7100+i), Bootstrap: true, Peers: peers,
		}))
	}
	leader := waitLeaderAmong(ctx, t, stores)
	var follower *Store
	for _, s := range stores {
		if s != leader {
			follower = s
		}
	}
	check := func(s *Store) []error {
		errs := make([]error, 200)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.VerifyLeader(ctx) })
		}
		wg.Wait()
		return errs
	}
	for i, err := range check(leader) {
		if err != nil {
			t.Fatalf("leader, check %d: %v", i, err)
		}
	}
	for i, err := range check(follower) {
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("follower, check %d: %v, want ErrNotLeader", i, err)
		}
	}
	if err := follower.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range check(leader) {
		if err != nil {
			t.Fatalf("leader with one follower, check %d: %v", i, err)
		}
	}
}
