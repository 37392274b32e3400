package ctld

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// ErrorKind classifies a service error; the HTTP layer maps each kind to one
// status code (httpStatus).
type ErrorKind int

// The kinds of service errors.
const (
	// KindInternal is a failure of the controller itself (HTTP 500).
	KindInternal ErrorKind = iota
	// KindInvalid is bad input; Error.Field names the field (HTTP 400).
	KindInvalid
	// KindNotFound is an unknown job or node (HTTP 404).
	KindNotFound
	// KindConflict is a request the object's current state does not allow
	// (HTTP 409).
	KindConflict
	// KindUnavailable means nothing was done and the request may be retried:
	// no leader, a leader still setting up, a replica catching up or halted,
	// a request abandoned before it was proposed (HTTP 503).
	KindUnavailable
	// KindOutcomeUnknown is a write that was proposed but whose commit was not
	// seen (leadership lost, request abandoned): it may or may not have
	// happened, so it is not retried blindly (HTTP 500).
	KindOutcomeUnknown
	// KindUnauthenticated is a request without valid credentials: none, or
	// an invalid, expired or replayed one (HTTP 401).
	KindUnauthenticated
	// KindForbidden is a request the caller is not allowed to make (see
	// authz.go): nothing was done (HTTP 403).
	KindForbidden
	// KindTooLarge is a request body over the route's limit (HTTP 413).
	KindTooLarge
)

// String implements fmt.Stringer.
func (k ErrorKind) String() string {
	switch k {
	case KindInvalid:
		return "invalid argument"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindUnavailable:
		return "unavailable"
	case KindOutcomeUnknown:
		return "outcome unknown"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindTooLarge:
		return "request too large"
	}
	return "internal"
}

// Error is the error of every Service method: a kind, the request field at
// fault (KindInvalid), a message for people, and the cause.
type Error struct {
	Kind  ErrorKind
	Field string // the offending request field, for KindInvalid
	Msg   string // what went wrong, for the person who asked
	Err   error  // the cause, for logs and errors.Is (may be nil)
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// newError returns a service error without a cause.
func newError(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// invalid returns a KindInvalid error naming a field.
func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// classify turns an error from validation, the store or a context into a
// service *Error (an *Error stays as it is). The message is the one written
// for people: an *api.FieldError's, or the handler's inside a
// *raftstore.ApplyError (without the command and index, kept in Err).
func (s *Service) classify(err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	msg := err.Error()
	var ae *raftstore.ApplyError
	if errors.As(err, &ae) {
		msg = ae.Err.Error()
	}
	var fe *api.FieldError
	switch {
	case errors.As(err, &fe):
		return &Error{Kind: KindInvalid, Field: fe.Field, Msg: fe.Error(), Err: err}
	case errors.Is(err, raftstore.ErrHalted):
		return &Error{Kind: KindUnavailable, Msg: "controller " + s.id + " halted: " + msg, Err: err}
	case errors.Is(err, raftstore.ErrNotFound):
		return &Error{Kind: KindNotFound, Msg: msg, Err: err}
	case errors.Is(err, raftstore.ErrConflict):
		return &Error{Kind: KindConflict, Msg: msg, Err: err}
	case errors.Is(err, raftstore.ErrCatchingUp):
		return &Error{Kind: KindUnavailable, Msg: "controller " + s.id + " is " + msg + "; retry", Err: err}
	case errors.Is(err, raftstore.ErrNotLeader):
		return &Error{Kind: KindUnavailable, Msg: "controller " + s.id + " lost the leadership; retry", Err: err}
	case errors.Is(err, raftstore.ErrOutcomeUnknown):
		return &Error{Kind: KindOutcomeUnknown, Msg: "the change may or may not have been committed (" + msg + "); check before retrying", Err: err}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: KindUnavailable, Msg: "request abandoned: " + msg, Err: err}
	}
	return &Error{Kind: KindInternal, Msg: msg, Err: err}
}

// httpStatus is the one mapping of service error kinds to HTTP status codes.
func httpStatus(k ErrorKind) int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindUnauthenticated:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError // KindInternal, KindOutcomeUnknown
}
