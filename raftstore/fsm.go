package raftstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

// fsm is the raft state machine: it decodes each log entry and applies it to
// the go-memdb state store in one write transaction. A command that fails
// validation changes nothing but the applied index. An entry this
// controller cannot apply (an unknown command type not marked ignorable, an
// undecodable entry, an unknown usage formula version) halts the replica:
// see HaltError.
type fsm struct {
	log    *slog.Logger
	db     atomic.Pointer[memdb.MemDB] // replaced as a whole by Restore
	onHalt func(*HaltError)            // called once, from Apply, when the replica halts
	halted atomic.Pointer[HaltError]

	mu      sync.Mutex
	index   uint64        // last applied index, as in the meta row
	changed chan struct{} // closed and replaced after every apply
	abandon chan struct{} // closed and replaced when Restore replaces the database

	wakeups atomic.Uint64 // blocking-query wake-ups (watch sets that fired)

	// intern makes stored jobs share equal scripts and environments; used
	// by Apply and Restore only (raft calls both from one goroutine).
	intern *interner
}

// newFSM returns a state machine over an empty state. onHalt (may be nil)
// is called once when the replica halts.
func newFSM(log *slog.Logger, onHalt func(*HaltError)) (*fsm, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	txn := db.Txn(true)
	if err := putIndexRows(txn, baseTopics(), 0); err != nil {
		txn.Abort()
		return nil, fmt.Errorf("create state store: %w", err)
	}
	txn.Commit()
	f := &fsm{log: log, onHalt: onHalt, changed: make(chan struct{}), abandon: make(chan struct{}), intern: newInterner()}
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

// Apply implements raft.FSM. It returns an *applyResult. Once the replica
// has halted it applies nothing more.
func (f *fsm) Apply(l *raft.Log) any {
	if h := f.halted.Load(); h != nil {
		return &applyResult{err: h}
	}
	res := f.applyEntry(l.Index, l.Data)
	if h := f.halted.Load(); h != nil {
		return res
	}
	f.setIndex(l.Index)
	return res
}

// ApplyBatch implements raft.BatchingFSM: raft hands over the entries it
// committed together (up to MaxAppendEntries). A run of two or more
// consecutive SubmitJobs entries is applied in one memdb write transaction
// (applySubmitRun), which shares the copied index nodes among the jobs
// instead of copying each root-to-leaf path once per entry; every other
// entry, and a run that cannot be applied that way, is applied on its own
// as Apply does. Each entry's result, the state and the watch indexes are
// what applying the entries one by one gives.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	for i := 0; i < len(logs); {
		end := i
		for end < len(logs) && isSubmitEntry(logs[end]) {
			end++
		}
		if end-i >= 2 && f.halted.Load() == nil {
			if res, ok := f.applySubmitRun(logs[i:end]); ok {
				copy(out[i:end], res)
				i = end
				continue
			}
		}
		end = max(end, i+1)
		for ; i < end; i++ {
			if logs[i].Type == raft.LogCommand {
				out[i] = f.Apply(logs[i])
			}
		}
	}
	return out
}

// isSubmitEntry reports whether l is a command entry of type SubmitJobs.
func isSubmitEntry(l *raft.Log) bool {
	return l.Type == raft.LogCommand && len(l.Data) > 0 && l.Data[0] == byte(cmdSubmitJobs)
}

// applySubmitRun applies consecutive SubmitJobs entries in one write
// transaction, each with its own result and the watch indexes of what it
// changed, as applyEntry would one by one. If any entry cannot be applied
// that way (it does not decode, fails validation, or the state has no meta
// row or already holds a job under an ID the entry would give), nothing is
// committed and ok is false: the caller then applies the entries one by
// one, which gives each its error or halts the replica as Apply does.
func (f *fsm) applySubmitRun(logs []*raft.Log) (res []any, ok bool) {
	db := f.db.Load()
	txn := db.Txn(true)
	defer func() {
		if !ok {
			txn.Abort()
		}
	}()
	res = make([]any, len(logs))
	w := &writer{txn: txn, log: f.log, intern: f.intern}
	for k, l := range logs {
		cmd, err := decodeCommand(l.Data)
		if err != nil {
			return nil, false
		}
		c, isSubmit := cmd.(*SubmitJobs)
		if !isSubmit {
			return nil, false
		}
		raw, err := txn.First(tableMeta, indexID, metaKey)
		if err != nil || raw == nil {
			return nil, false
		}
		before := raw.(*meta)
		for n := range len(c.Specs) {
			if getJob(txn, before.NextJobID+api.JobID(n)) != nil {
				return nil, false
			}
		}
		ids, err := w.submitJobs(c)
		if err != nil {
			return nil, false
		}
		// The changes applyEntry's transaction would track: the new jobs
		// (no job had their IDs) and the meta row, unless the submission
		// key was known and nothing changed.
		var changes memdb.Changes
		if after := getMeta(txn); after != before {
			for _, id := range ids {
				changes = append(changes, memdb.Change{Table: tableJobs, After: getJob(txn, id)})
			}
			changes = append(changes, memdb.Change{Table: tableMeta, Before: before, After: after})
		}
		if err := putIndexRows(txn, touchedTopics(changes), l.Index); err != nil {
			return nil, false
		}
		res[k] = &applyResult{res: ApplyResult{Index: l.Index, IDs: ids}}
	}
	last := logs[len(logs)-1].Index
	m := *getMeta(txn)
	m.Index = last
	if err := txn.Insert(tableMeta, &m); err != nil {
		return nil, false
	}
	txn.Commit()
	f.setIndex(last)
	return res, true
}

// halt stops the replica at the entry at index: it logs why, marks the
// state machine halted and calls onHalt.
func (f *fsm) halt(index uint64, data []byte, err error) *applyResult {
	var typ uint8
	if len(data) > 0 {
		typ = data[0]
	}
	h := &HaltError{Index: index, Type: typ, Err: err}
	if !f.halted.CompareAndSwap(nil, h) {
		return &applyResult{err: f.halted.Load()}
	}
	f.log.Error("cannot apply a raft log entry; halting this replica so that it cannot diverge (upgrade this controller to one that knows the command)",
		"index", index, "type", typ, "err", err)
	if f.onHalt != nil {
		f.onHalt(h)
	}
	return &applyResult{err: h}
}

// applyEntry applies one log entry: the command's changes, the new index and
// the watch indexes of what changed are committed together, or only the new
// index when the command fails validation.
func (f *fsm) applyEntry(index uint64, data []byte) *applyResult {
	db := f.db.Load()
	cmd, err := decodeCommand(data)
	if err != nil {
		var unknown *unknownCommandError
		if errors.As(err, &unknown) && unknown.Ignorable {
			f.log.Warn("skipping a log entry of an unknown command type marked ignorable",
				"index", index, "type", unknown.Type)
			f.commitIndexOnly(db, index)
			return &applyResult{res: ApplyResult{Index: index}}
		}
		return f.halt(index, data, err)
	}
	name := commandName(cmd)
	txn := db.Txn(true)
	txn.TrackChanges()
	res, err := f.applyCommand(txn, cmd)
	if err != nil {
		txn.Abort()
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return f.halt(index, data, fmt.Errorf("apply %s: %w", name, err))
		}
		f.commitIndexOnly(db, index)
		return &applyResult{err: &ApplyError{Command: name, Index: index, Err: err}}
	}
	res.Index = index
	if err := recordChanges(txn, index); err != nil {
		txn.Abort()
		f.commitIndexOnly(db, index)
		return &applyResult{err: &ApplyError{Command: name, Index: index, Err: err}}
	}
	m := *getMeta(txn)
	m.Index = index
	if err := txn.Insert(tableMeta, &m); err != nil {
		txn.Abort()
		f.commitIndexOnly(db, index)
		return &applyResult{err: &ApplyError{Command: name, Index: index, Err: err}}
	}
	txn.Commit()
	return &applyResult{res: res}
}

// commitIndexOnly advances the applied index without other changes.
func (f *fsm) commitIndexOnly(db *memdb.MemDB, index uint64) {
	txn := db.Txn(true)
	m := *getMeta(txn)
	m.Index = index
	if err := txn.Insert(tableMeta, &m); err != nil {
		txn.Abort()
		f.log.Error("cannot record applied index", "index", index, "err", err)
		return
	}
	txn.Commit()
}

// applyCommand dispatches a command to its handler, by message type.
func (f *fsm) applyCommand(txn *memdb.Txn, cmd Command) (ApplyResult, error) {
	w := &writer{txn: txn, log: f.log, intern: f.intern}
	var res ApplyResult
	var err error
	switch c := cmd.(type) {
	case *SubmitJobs:
		res.IDs, err = w.submitJobs(c)
	case *CancelJob:
		err = w.cancelJob(c)
	case *HoldJob:
		err = w.holdJob(c)
	case *ReleaseJob:
		err = w.releaseJob(c)
	case *RequeueJob:
		err = w.requeueJob(c)
	case *KillJob:
		err = w.killJob(c)
	case *ApplyPlan:
		res.IDs, err = w.applyPlan(c)
	case *JobEvents:
		err = w.jobEvents(c)
	case *RegisterNode:
		err = w.registerNode(c)
	case *MarkNodeDown:
		res.IDs, err = w.markNodeDown(c)
	case *SetConfig:
		err = w.setConfig(c)
	case *SetControllerAddr:
		err = w.setControllerAddr(c)
	case *ExpireJobs:
		res.Count, err = w.expireJobs(c)
	case *AccrueUsage:
		err = w.accrueUsage(c)
	case *EndGrace:
		err = w.endGrace(c)
	case *SignalJob:
		err = w.signalJob(c)
	case *CreateStep:
		res.StepID, err = w.createStep(c)
	case *ReportStep:
		err = w.reportStep(c)
	case *RecordCheckpoint:
		err = w.recordCheckpoint(c)
	case *RecordEstimates:
		res.Count, err = w.recordEstimates(c)
	case *UpdateJob:
		err = w.updateJob(c)
	case *UpdateNodes:
		res.IDs, err = w.updateNodes(c)
	case *UpdatePartition:
		err = w.updatePartition(c)
	case *AddAssociations:
		res.Assoc, err = w.changeAssociations(api.AssocRequest{Op: api.AssocAdd, Accounts: c.Accounts, Users: c.Users, QOS: c.QOS})
	case *ModifyAssociations:
		res.Assoc, err = w.changeAssociations(api.AssocRequest{Op: api.AssocModify, Entity: c.Entity, Where: c.Where, Set: c.Set})
	case *DeleteAssociations:
		res.Assoc, err = w.changeAssociations(api.AssocRequest{Op: api.AssocDelete, Entity: c.Entity, Where: c.Where})
	default:
		// A type newCommand knows but this switch does not: a programming
		// error that must not let replicas skip the entry.
		err = fatalf("no apply function for command %s", commandName(cmd))
	}
	return res, err
}

// Snapshot implements raft.FSM. It captures a memdb read transaction (an
// immutable view), so Persist can run concurrently with later applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if h := f.halted.Load(); h != nil {
		// raft believes the skipped entries applied; a snapshot would record
		// a state that lacks them under their index.
		return nil, fmt.Errorf("snapshot: %w", h)
	}
	return &fsmSnapshot{txn: f.db.Load().Txn(false)}, nil
}

// Restore implements raft.FSM: it replaces the whole state with the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if h := f.halted.Load(); h != nil {
		return fmt.Errorf("restore snapshot: %w", h)
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	txn := db.Txn(true)
	insert := func(table string, obj any) error {
		if err := txn.Insert(table, obj); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		return nil
	}
	// Jobs are inserted as they are read, sharing equal scripts and
	// environments (interner), instead of decoding the whole snapshot first.
	// A version 2 snapshot holds each distinct environment once: it is
	// interned for the first job that refers to it, and the others take
	// that copy without hashing it again.
	byRef := map[int]map[string]string{}
	data, err := readSnapshot(rc, func(j *api.Job, envRef int) error {
		if env, ok := byRef[envRef]; ok && envRef > 0 {
			j.Spec.Env = nil
			f.intern.spec(&j.Spec)
			j.Spec.Env = env
		} else {
			f.intern.spec(&j.Spec)
			if envRef > 0 {
				byRef[envRef] = j.Spec.Env
			}
		}
		return insert(tableJobs, j)
	})
	if err == nil {
		err = restoreTables(data, insert)
	}
	if err != nil {
		txn.Abort()
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// Watch indexes are not in the snapshot: everything counts as changed
	// at the snapshot's index (waiters wake once and see the new state).
	topics := baseTopics()
	for _, n := range data.Nodes {
		topics = append(topics, NodeJobsTopic(n.Name))
	}
	if err := putIndexRows(txn, topics, data.Index); err != nil {
		txn.Abort()
		return fmt.Errorf("restore snapshot: %w", err)
	}
	txn.Commit()
	f.db.Store(db)
	f.setIndex(data.Index)
	f.mu.Lock()
	close(f.abandon)
	f.abandon = make(chan struct{})
	f.mu.Unlock()
	return nil
}

// fsmSnapshot writes one state view as JSON.
type fsmSnapshot struct {
	txn *memdb.Txn
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
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

// restoreTables inserts a snapshot's rows other than the jobs.
func restoreTables(data *snapshotHead, insert func(table string, obj any) error) error {
	m := &meta{Key: metaKey, Index: data.Index, NextJobID: data.NextJobID, Config: data.Config,
		Usage: data.Usage, UsageAt: data.UsageAt, UsageFormula: data.UsageFormula}
	if err := insert(tableMeta, m); err != nil {
		return err
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
	for _, k := range data.SubmitKeys {
		if err := insert(tableSubmitKeys, k); err != nil {
			return err
		}
	}
	for _, p := range data.PreemptionTotals {
		if err := insert(tablePreemptions, &preemptionRow{Key: preemptionKey(p.Account, p.Reason), Total: p}); err != nil {
			return err
		}
	}
	return nil
}
