package raftstore

import (
	"errors"
	"fmt"

	"github.com/fairway-hpc/fairway/api"
)

// ApplyResult is what applying a command produced. Each command documents
// which fields it fills; the others are zero.
type ApplyResult struct {
	// Index is the raft index the command was applied at.
	Index uint64
	// IDs are the jobs the command concerns: SubmitJobs the IDs assigned (in
	// Specs order), ApplyPlan the jobs its applied starts ran, MarkNodeDown
	// the jobs it requeued or ended.
	IDs []api.JobID
	// Count is ExpireJobs' number of jobs deleted.
	Count int
	// StepID is the ID CreateStep gave the new step.
	StepID int
	// Assoc is what AddAssociations, ModifyAssociations and
	// DeleteAssociations changed.
	Assoc *api.AssocResult
}

// applyResult is what fsm.Apply returns to the raft future of the leader that
// proposed the command: the command's result or its error.
type applyResult struct {
	res ApplyResult
	err error
}

// ApplyError is the error of a command the state rejected (or, wrapping a
// *HaltError, one that halted the replica). It names the command and the
// raft index; Err is the handler's error: an *api.FieldError, or one
// matching ErrNotFound or ErrConflict, written for people.
type ApplyError struct {
	Command string // the command's type name, such as "CancelJob"
	Index   uint64 // the raft index it was applied at
	Err     error
}

// Error implements error.
func (e *ApplyError) Error() string {
	return fmt.Sprintf("apply %s at raft index %d: %v", e.Command, e.Index, e.Err)
}

// Unwrap returns the handler's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// ErrHalted matches (errors.Is) the error of a replica that stopped applying
// the raft log because an entry could not be applied safely.
var ErrHalted = errors.New("replica halted")

// HaltError explains why a replica halted: the raft index and command type of
// the entry it could not apply, and why. A replica that halts applies
// nothing more, takes no snapshot and shuts its raft node down, so that it
// can never serve or persist a state that skipped an entry; restarting the
// same binary halts again at the same entry, and a controller that knows the
// command applies it.
type HaltError struct {
	Index uint64 // raft index of the entry
	Type  uint8  // the entry's type byte (flags included)
	Err   error
}

// Error implements error.
func (e *HaltError) Error() string {
	return fmt.Sprintf("replica halted at raft index %d (command type %d): %v", e.Index, e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *HaltError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrHalted) true.
func (e *HaltError) Is(target error) bool { return target == ErrHalted }

// fatalError is returned by a command handler when the command cannot be
// applied by this controller at all (not a rejection every replica makes
// alike, such as a validation error): the replica halts.
type fatalError struct{ msg string }

// Error implements error.
func (e *fatalError) Error() string { return e.msg }

// fatalf returns an error that halts the replica.
func fatalf(format string, args ...any) error {
	return &fatalError{msg: fmt.Sprintf(format, args...)}
}
