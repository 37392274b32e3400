package raftstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// MaxLeaderSilence is how long a follower serves reads without hearing
// from a leader (twenty election timeouts; scaled by
// Config.TimingMultiplier). After that it is not Ready ("no
// contact with a raft leader") and catches up again once contact returns,
// so that a partitioned controller stops showing an ever older state.
const MaxLeaderSilence = 20 * electionTimeout

// appliedPoll bounds how long waitApplied sleeps between checks: raft's own
// entries (no-ops, barriers) reach raft's applied index without waking the
// state machine's watchers.
const appliedPoll = 2 * time.Millisecond

// catchUp is a follower's readiness: whether it has caught up with the
// commit index it learned after its (latest) first contact with a leader,
// and the last command index found at or before a raft index (cached, as
// consecutive checks mostly ask for the same index).
type catchUp struct {
	mu      sync.Mutex
	ready   bool
	target  uint64    // the commit index it must apply before it is ready
	hinted  bool      // target includes the leader's own commit index (Config.LeaderCommit)
	asking  time.Time // when asking the leader began, for leaderCommitFallback
	cacheAt uint64    // raft index of the cached lookup
	cacheCm uint64    // last command index at or before cacheAt
}

// ReadyReason returns "" when the replica may serve reads (see Ready), or
// why not, for people ("catching up: applied 10 of 12").
func (s *Store) ReadyReason() string {
	if err := s.Err(); err != nil {
		return "halted"
	}
	applied, _ := s.fsm.watch()
	if applied < s.bootIndex {
		return fmt.Sprintf("catching up: replaying its log (applied %d of %d)", applied, s.bootIndex)
	}
	if s.raft.State() == raft.Leader {
		if !s.leading.Load() {
			return "catching up: became the leader and waits for its barrier"
		}
		return ""
	}
	last := s.raft.LastContact()
	cu := &s.catchUp
	cu.mu.Lock()
	defer cu.mu.Unlock()
	switch {
	case last.IsZero():
		cu.ready, cu.target, cu.hinted = false, 0, false
		return "catching up: no contact with a raft leader yet"
	case time.Since(last) > s.maxLeaderSilence():
		cu.ready, cu.target, cu.hinted = false, 0, false
		return fmt.Sprintf("no contact with a raft leader for %v", time.Since(last).Round(time.Millisecond))
	case cu.ready:
		return ""
	case s.cfg.LeaderCommit != nil && !cu.hinted:
		if cu.asking.IsZero() {
			cu.asking = time.Now()
		}
		if time.Since(cu.asking) < leaderCommitFallback {
			return "catching up: asking the leader for its commit index"
		}
	}
	// Catch up with the commit index known now; it only grows while the
	// follower replays what the leader sends, and readiness latches the
	// first time the state machine has applied all of it.
	cu.target = max(cu.target, s.raft.CommitIndex())
	if !s.appliedLocked(cu.target) {
		applied, _ := s.fsm.watch()
		return fmt.Sprintf("catching up: applied %d, the leader's commit index is %d", applied, cu.target)
	}
	cu.ready, cu.asking = true, time.Time{}
	return ""
}

// leaderCommitFallback is how long a catching-up follower waits for the
// leader's commit index (Config.LeaderCommit) before it settles for its own.
const leaderCommitFallback = 5 * time.Second

// askLeaderCommit asks the leader for its commit index (Config.LeaderCommit)
// every leaderAskEvery while this follower is catching up, until the store
// closes.
func (s *Store) askLeaderCommit() {
	defer s.wg.Done()
	if s.cfg.LeaderCommit == nil {
		return
	}
	t := time.NewTicker(leaderAskEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		cu := &s.catchUp
		cu.mu.Lock()
		need := !cu.ready
		cu.mu.Unlock()
		if !need || s.IsLeader() || s.raft.LastContact().IsZero() {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, leaderAskTimeout)
		idx, err := s.cfg.LeaderCommit(ctx)
		cancel()
		if err != nil {
			s.log.Debug("asking the leader for its commit index failed", "err", err)
			continue
		}
		cu.mu.Lock()
		if !cu.ready {
			cu.target, cu.hinted = max(cu.target, idx), true
		}
		cu.mu.Unlock()
	}
}

// How often and how long a catching-up follower asks the leader for its
// commit index.
const (
	leaderAskEvery   = 50 * time.Millisecond
	leaderAskTimeout = time.Second
)

// applied reports whether the state machine reflects every entry up to
// raft index n.
func (s *Store) applied(n uint64) bool {
	s.catchUp.mu.Lock()
	defer s.catchUp.mu.Unlock()
	return s.appliedLocked(n)
}

// appliedLocked is applied with catchUp.mu held. Raft's applied index
// covers entries handed to the state machine; the state machine's own index
// covers commands only, since raft's entries (no-ops, barriers,
// configurations) never reach it. The state reflects index n once raft has
// handed over everything up to n and the state machine has applied the last
// command among them.
func (s *Store) appliedLocked(n uint64) bool {
	fsmIndex, _ := s.fsm.watch()
	if fsmIndex >= n {
		return true
	}
	if s.raft.AppliedIndex() < n {
		return false
	}
	cu := &s.catchUp
	if cu.cacheAt != n {
		cmd, err := lastCommandUpTo(s.bolt, n)
		if err != nil {
			s.log.Warn("reading the log for a read index failed", "index", n, "err", err)
			return false
		}
		cu.cacheAt, cu.cacheCm = n, cmd
	}
	return fsmIndex >= cu.cacheCm
}

// lastCommandUpTo returns the index of the last command entry at or
// before index n, or 0 when the log holds none there (entries before the
// log's first are in a snapshot the state machine already restored).
func lastCommandUpTo(logs raft.LogStore, n uint64) (uint64, error) {
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, fmt.Errorf("read first log index: %w", err)
	}
	for i := n; i >= first && i > 0; i-- {
		var e raft.Log
		if err := logs.GetLog(i, &e); err != nil {
			return 0, fmt.Errorf("read log entry %d: %w", i, err)
		}
		if e.Type == raft.LogCommand {
			return i, nil
		}
	}
	return 0, nil
}

// waitApplied blocks until the state reflects raft index n, or ctx ends.
func (s *Store) waitApplied(ctx context.Context, n uint64) error {
	t := time.NewTimer(appliedPoll)
	defer t.Stop()
	for {
		_, changed := s.fsm.watch()
		if s.applied(n) {
			return nil
		}
		t.Reset(appliedPoll)
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for raft index %d to be applied: %w", n, ctx.Err())
		case <-s.haltedCh:
			return fmt.Errorf("wait for raft index %d to be applied: %w", n, s.Err())
		case <-changed:
		case <-t.C:
		}
	}
}

// ReadIndex makes the next read linearizable (raft's read-index): on the
// leader whose leadership barrier has passed, it notes the commit index,
// confirms with a quorum that this controller still leads
// (raft.VerifyLeader), and waits until the state machine has applied that
// index. A read of State after it returns reflects every write
// acknowledged before ReadIndex was called. A follower gets ErrNotLeader (it
// forwards the read); a leader still setting up gets ErrCatchingUp.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	if err := s.Err(); err != nil {
		return 0, fmt.Errorf("read index: %w", err)
	}
	if !s.IsLeader() {
		return 0, ErrNotLeader
	}
	if !s.leading.Load() {
		return 0, fmt.Errorf("read index: %w", ErrCatchingUp)
	}
	idx := s.raft.CommitIndex()
	if err := waitFuture(ctx, s.raft.VerifyLeader()); err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("read index %d: verify leadership: %w", idx, ctx.Err())
		}
		// Not confirmed by a quorum: for a read this means only that this
		// controller cannot answer; the client retries another.
		return 0, fmt.Errorf("read index %d: leadership not confirmed (%v): %w", idx, err, ErrNotLeader)
	}
	if err := s.waitApplied(ctx, idx); err != nil {
		return 0, fmt.Errorf("read index: %w", err)
	}
	return idx, nil
}
