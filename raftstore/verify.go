package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// leaderCheck coalesces leadership checks (VerifyLeader): callers that
// arrive while a check is in flight wait for the next one, which starts
// after they arrived, so each caller's answer still comes from a quorum
// round begun after its call, as with a check of its own. One round
// answers them all: at 10,000 nodes heartbeating every 3 s, each heartbeat
// was a verify future through raft's leader loop.
type leaderCheck struct {
	mu      sync.Mutex
	waiting []chan error // callers for the next round
	running bool         // a goroutine runs rounds
}

// leaderCheckTimeout bounds one round: its callers get ErrNotLeader when a
// quorum does not answer in time.
const leaderCheckTimeout = 10 * time.Second

// verify waits for a round that starts after the call, or ctx.
func (lc *leaderCheck) verify(ctx context.Context, check func() raft.Future) error {
	done := make(chan error, 1)
	lc.mu.Lock()
	lc.waiting = append(lc.waiting, done)
	if !lc.running {
		lc.running = true
		go lc.rounds(check)
	}
	lc.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ErrNotLeader // nothing was written: only leadership is in doubt
	}
}

// rounds runs checks until no caller waits.
func (lc *leaderCheck) rounds(check func() raft.Future) {
	for {
		lc.mu.Lock()
		batch := lc.waiting
		lc.waiting = nil
		if len(batch) == 0 {
			lc.running = false
			lc.mu.Unlock()
			return
		}
		lc.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), leaderCheckTimeout)
		err := verifyResult(waitFuture(ctx, check()))
		cancel()
		for _, done := range batch {
			done <- err
		}
	}
}

// verifyResult maps a leadership check's outcome to VerifyLeader's error.
func verifyResult(err error) error {
	if err == nil {
		return nil
	}
	var unknown *outcomeUnknownError
	if errors.As(err, &unknown) {
		return ErrNotLeader // nothing was written: only leadership is in doubt
	}
	return fmt.Errorf("verify leadership: %w", err)
}
