package raftstore

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/raft"
)

// Local is the replicated state machine without raft: commands are encoded
// and applied exactly as a replica applies log entries, at consecutive
// indexes, in the caller's goroutine. Benchmarks and load tools use it to
// build a large state (200,000 jobs) in seconds instead of committing every
// command through raft; it writes no log and is not safe for concurrent
// Apply calls.
type Local struct {
	f     *fsm
	index uint64
}

// NewLocal returns a Local over an empty state; log may be nil (discard).
func NewLocal(log *slog.Logger) (*Local, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := newFSM(log, nil)
	if err != nil {
		return nil, fmt.Errorf("local state: %w", err)
	}
	return &Local{f: f}, nil
}

// Apply encodes cmd as Store.Apply does and applies it at the next index.
// The error is what the state machine answered (an *ApplyError for a
// rejected command).
func (l *Local) Apply(cmd Command) (ApplyResult, error) {
	data, err := encodeCommand(cmd)
	if err != nil {
		return ApplyResult{}, err
	}
	l.index++
	res := l.f.Apply(&raft.Log{Index: l.index, Type: raft.LogCommand, Data: data}).(*applyResult)
	return res.res, res.err
}

// State returns a read-only view of the current state.
func (l *Local) State() *State { return l.f.state() }

// WriteSnapshot writes the state to w as a raft snapshot persists it.
func (l *Local) WriteSnapshot(w io.Writer) error {
	snap, err := l.f.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	if err := snap.(*fsmSnapshot).write(w); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// Restore replaces the state with a snapshot's, as a replica restores one
// at start-up or from its leader.
func (l *Local) Restore(r io.Reader) error {
	if err := l.f.Restore(io.NopCloser(r)); err != nil {
		return err
	}
	l.index = l.f.state().Index()
	return nil
}
