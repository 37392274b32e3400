package raftstore

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by Store.Apply and the command handlers. Test for
// them with errors.Is; the error text names the job or node concerned.
var (
	// ErrNotLeader is returned by writes on a controller that is not the raft
	// leader; the caller forwards the request to the leader.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrNotFound wraps errors about jobs or nodes that do not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict wraps errors about requests the object's current state does
	// not allow (cancelling a finished job, holding a running one).
	ErrConflict = errors.New("conflict")
	// ErrOutcomeUnknown matches the error of a write whose wait ended (the
	// caller's context, a lost leadership) after it was proposed: it may or
	// may not be committed.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrCatchingUp is returned by reads that need an up-to-date state on a
	// replica that has not caught up yet (a leader whose barrier has not
	// passed); the caller retries.
	ErrCatchingUp = errors.New("catching up with the raft log")
)

// outcomeUnknownError is a write whose outcome is unknown; it matches
// ErrOutcomeUnknown and its cause.
type outcomeUnknownError struct{ err error }

// Error implements error.
func (e *outcomeUnknownError) Error() string {
	return "outcome unknown: " + e.err.Error()
}

// Unwrap returns ErrOutcomeUnknown and the cause.
func (e *outcomeUnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.err} }

// kindError is an error whose message is written for people ("job 5 already
// COMPLETED") and which matches one of the sentinel errors with errors.Is.
type kindError struct {
	msg  string
	kind error
}

// Error implements error.
func (e *kindError) Error() string { return e.msg }

// Unwrap lets errors.Is find the sentinel.
func (e *kindError) Unwrap() error { return e.kind }

// notFoundf returns an error matching ErrNotFound.
func notFoundf(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrNotFound}
}

// conflictf returns an error matching ErrConflict.
func conflictf(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrConflict}
}
