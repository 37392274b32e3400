package raftstore

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

// applyResult is what fsm.Apply returns to the raft future of the leader that
// proposed the command: the command's result or its validation error.
type applyResult struct {
	value any
	err   error
}

// fsm is the raft state machine: it decodes each log entry and applies it to
// the go-memdb state store in one write transaction. A command that fails
// validation changes nothing but the applied index.
type fsm struct {
	log *slog.Logger
	db  atomic.Pointer[memdb.MemDB] // replaced as a whole by Restore

	mu      sync.Mutex
	index   uint64        // last applied index, as in the meta row
	changed chan struct{} // closed and replaced after every apply
}

// newFSM returns a state machine over an empty state.
func newFSM(log *slog.Logger) (*fsm, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	f := &fsm{log: log, changed: make(chan struct{})}
	f.db.Store(db)
	return f, nil
}

// state returns a read-only view of the current state.
func (f *fsm) state() *State {
	return newState(f.db.Load().Txn(false))
}

// watch returns the last applied index and a channel closed at the next
// apply.
func (f *fsm) watch() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index, f.changed
}

// setIndex records the applied index and wakes the waiters.
func (f *fsm) setIndex(index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = index
	close(f.changed)
	f.changed = make(chan struct{})
}

// Apply implements raft.FSM. It returns an *applyResult.
func (f *fsm) Apply(l *raft.Log) any {
	res := f.applyEntry(l.Index, l.Data)
	f.setIndex(l.Index)
	return res
}

// applyEntry applies one log entry: the command's changes and the new index
// are committed together, or only the new index when the command fails.
func (f *fsm) applyEntry(index uint64, data []byte) *applyResult {
	db := f.db.Load()
	cmd, err := decodeCommand(data)
	if err != nil {
		f.log.Error("raftstore: skipping undecodable log entry", "index", index, "err", err)
		f.commitIndexOnly(db, index)
		return &applyResult{err: err}
	}
	txn := db.Txn(true)
	value, err := f.applyCommand(txn, cmd)
	if err != nil {
		txn.Abort()
		f.commitIndexOnly(db, index)
		return &applyResult{err: err}
	}
	m := *getMeta(txn)
	m.Index = index
	if err := txn.Insert(tableMeta, &m); err != nil {
		txn.Abort()
		f.commitIndexOnly(db, index)
		return &applyResult{err: fmt.Errorf("apply %T: %w", cmd, err)}
	}
	txn.Commit()
	return &applyResult{value: value}
}

// commitIndexOnly advances the applied index without other changes.
func (f *fsm) commitIndexOnly(db *memdb.MemDB, index uint64) {
	txn := db.Txn(true)
	m := *getMeta(txn)
	m.Index = index
	if err := txn.Insert(tableMeta, &m); err != nil {
		txn.Abort()
		f.log.Error("raftstore: cannot record applied index", "index", index, "err", err)
		return
	}
	txn.Commit()
}

// applyCommand dispatches a command to its handler, by message type.
func (f *fsm) applyCommand(txn *memdb.Txn, cmd Command) (any, error) {
	w := &writer{txn: txn, log: f.log}
	switch c := cmd.(type) {
	case *SubmitJobs:
		return w.submitJobs(c)
	case *CancelJob:
		return nil, w.cancelJob(c)
	case *HoldJob:
		return nil, w.holdJob(c)
	case *ReleaseJob:
		return nil, w.releaseJob(c)
	case *RequeueJob:
		return nil, w.requeueJob(c)
	case *KillJob:
		return nil, w.killJob(c)
	case *ApplyPlan:
		return w.applyPlan(c)
	case *JobEvents:
		return nil, w.jobEvents(c)
	case *RegisterNode:
		return nil, w.registerNode(c)
	case *MarkNodeDown:
		return w.markNodeDown(c)
	case *SetConfig:
		return nil, w.setConfig(c)
	case *SetControllerAddr:
		return nil, w.setControllerAddr(c)
	case *ExpireJobs:
		return w.expireJobs(c)
	case *AccrueUsage:
		return nil, w.accrueUsage(c)
	case *EndGrace:
		return nil, w.endGrace(c)
	case *SignalJob:
		return nil, w.signalJob(c)
	}
	return nil, fmt.Errorf("apply: unhandled command %T", cmd)
}

// snapshotVersion is the version of the snapshot format.
const snapshotVersion = 1

// snapshotData is the content of a snapshot: every table and the counters.
type snapshotData struct {
	Version     int               `json:"version"`
	Index       uint64            `json:"index"`
	NextJobID   api.JobID         `json:"next_job_id"`
	Config      api.ClusterConfig `json:"config"`
	Jobs        []*api.Job        `json:"jobs"`
	Nodes       []*api.Node       `json:"nodes"`
	Controllers []*Controller     `json:"controllers"`
	// Usage and UsageAt are the fair-share usage (absent in snapshots
	// written before usage was tracked).
	Usage   map[string]float64 `json:"usage,omitempty"`
	UsageAt int64              `json:"usage_at,omitempty"`
}

// Snapshot implements raft.FSM. It captures a memdb read transaction (an
// immutable view), so Persist can run concurrently with later applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{txn: f.db.Load().Txn(false)}, nil
}

// Restore implements raft.FSM: it replaces the whole state with the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var data snapshotData
	if err := json.NewDecoder(rc).Decode(&data); err != nil {
		return fmt.Errorf("restore snapshot: decode: %w", err)
	}
	if data.Version != snapshotVersion {
		return fmt.Errorf("restore snapshot: unsupported version %d (want %d)", data.Version, snapshotVersion)
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	txn := db.Txn(true)
	insert := func(table string, obj any) error {
		if err := txn.Insert(table, obj); err != nil {
			txn.Abort()
			return fmt.Errorf("restore snapshot: insert into %s: %w", table, err)
		}
		return nil
	}
	m := &meta{Key: metaKey, Index: data.Index, NextJobID: data.NextJobID, Config: data.Config,
		Usage: data.Usage, UsageAt: data.UsageAt}
	if err := insert(tableMeta, m); err != nil {
		return err
	}
	for _, j := range data.Jobs {
		if err := insert(tableJobs, j); err != nil {
			return err
		}
	}
	for _, n := range data.Nodes {
		if err := insert(tableNodes, n); err != nil {
			return err
		}
	}
	for _, c := range data.Controllers {
		if err := insert(tableControllers, c); err != nil {
			return err
		}
	}
	txn.Commit()
	f.db.Store(db)
	f.setIndex(data.Index)
	return nil
}

// fsmSnapshot writes one state view as JSON.
type fsmSnapshot struct {
	txn *memdb.Txn
}

// data collects the snapshot's content.
func (s *fsmSnapshot) data() *snapshotData {
	m := getMeta(s.txn)
	d := &snapshotData{
		Version:   snapshotVersion,
		Index:     m.Index,
		NextJobID: m.NextJobID,
		Config:    m.Config,
		Jobs:      allJobs(s.txn),
		Usage:     m.Usage,
		UsageAt:   m.UsageAt,
	}
	if it, err := s.txn.Get(tableNodes, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			d.Nodes = append(d.Nodes, raw.(*api.Node))
		}
	}
	if it, err := s.txn.Get(tableControllers, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			d.Controllers = append(d.Controllers, raw.(*Controller))
		}
	}
	return d
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.data()); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("persist snapshot: close: %w", err)
	}
	return nil
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}
