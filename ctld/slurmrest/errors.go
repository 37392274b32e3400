package slurmrest

import (
	"errors"
	"fmt"
	"net/http"
)

// Slurm's error numbers (slurm/slurm_errno.h, Slurm 24.11) that this API
// answers with, and their strings (slurm_strerror).
const (
	errGeneric        = -1   // SLURM_ERROR
	errAuthentication = 1007 // SLURM_PROTOCOL_AUTHENTICATION_ERROR
	errAccessDenied   = 2002 // ESLURM_ACCESS_DENIED
	errScriptMissing  = 2009 // ESLURM_JOB_SCRIPT_MISSING
	errInvalidJobID   = 2017 // ESLURM_INVALID_JOB_ID
	errInvalidNode    = 2018 // ESLURM_INVALID_NODE_NAME
	errInvalidPart    = 2000 // ESLURM_INVALID_PARTITION_NAME
	errTransition     = 2020 // ESLURM_TRANSITION_STATE_NO_UPDATE
	errStandby        = 2027 // ESLURM_IN_STANDBY_MODE
	errNotSupported   = 2036 // ESLURM_NOT_SUPPORTED
	errTimeLimit      = 2051 // ESLURM_INVALID_TIME_LIMIT
	errInvalidQuery   = 9000 // ESLURM_REST_INVALID_QUERY
	errFailParsing    = 9001 // ESLURM_REST_FAIL_PARSING
	errInvalidJobDesc = 9002 // ESLURM_REST_INVALID_JOBS_DESC
)

// errorStrings are slurm_strerror's texts of the numbers above.
var errorStrings = map[int]string{
	errGeneric:        "Unspecified error",
	errAuthentication: "Protocol authentication error",
	errAccessDenied:   "Access/permission denied",
	errScriptMissing:  "Job script not specified",
	errInvalidJobID:   "Invalid job id specified",
	errInvalidNode:    "Invalid node name specified",
	errInvalidPart:    "Invalid partition name specified",
	errTransition:     "Job can not be altered now, try again later",
	errStandby:        "Slurm backup controller in standby mode",
	errNotSupported:   "Requested operation not supported on this system",
	errTimeLimit:      "Requested time limit is invalid (missing or exceeds some limit)",
	errInvalidQuery:   "Query empty or not RFC7320 compliant",
	errFailParsing:    "Failure during parsing",
	errInvalidJobDesc: "Jobs description entry not found, empty or not dictionary or list",
}

// errorString returns slurm_strerror's text of a Slurm error number.
func errorString(num int) string {
	if s, ok := errorStrings[num]; ok {
		return s
	}
	return errorStrings[errGeneric]
}

// Error is a request's failure as this API answers it: the HTTP status, a
// Slurm error number (its string is the "error" field), the description (for
// bad input it starts with the field at fault, "job.time_limit: ...") and the
// source (the part of the API that refused it, as slurmrestd names its
// functions).
type Error struct {
	Status int    // HTTP status
	Num    int    // Slurm error number
	Field  string // the request field at fault, if any ("job.time_limit")
	Msg    string // what went wrong, for people
	Source string // where: "job.submit", "job.delete", ...
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

// fieldError is bad input in a request field: HTTP 400 with
// ESLURM_REST_INVALID_JOBS_DESC for a job description, else 422 with
// ESLURM_REST_INVALID_QUERY (slurmrestd's statuses for these numbers).
func fieldError(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Num: errInvalidJobDesc, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// queryError is a bad query or path parameter: HTTP 422 with
// ESLURM_REST_INVALID_QUERY, as slurmrestd answers it.
func queryError(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Num: errInvalidQuery, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// asError returns err as an *Error, classifying a Backend error with
// classify when it is not one already.
func asError(err error, classify func(error) BackendError) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	be := classify(err)
	out := &Error{Field: be.Field, Msg: be.Msg}
	switch be.Kind {
	case KindInvalid:
		out.Status, out.Num = http.StatusBadRequest, errInvalidJobDesc
	case KindNotFound:
		out.Status, out.Num = http.StatusNotFound, errInvalidJobID
	case KindConflict:
		out.Status, out.Num = http.StatusConflict, errTransition
	case KindUnauthenticated:
		out.Status, out.Num = http.StatusUnauthorized, errAuthentication
	case KindForbidden:
		out.Status, out.Num = http.StatusForbidden, errAccessDenied
	case KindUnavailable:
		out.Status, out.Num = http.StatusServiceUnavailable, errStandby
	case KindTooLarge:
		out.Status, out.Num = http.StatusRequestEntityTooLarge, errFailParsing
	default:
		out.Status, out.Num = http.StatusInternalServerError, errGeneric
	}
	return out
}

// ErrorKind is how the Backend classifies one of its errors.
type ErrorKind int

// The kinds of Backend errors (the controller's service error kinds).
const (
	// KindInternal is a failure of the controller (500).
	KindInternal ErrorKind = iota
	// KindInvalid is bad input naming a field (400).
	KindInvalid
	// KindNotFound is an unknown job, node or partition (404).
	KindNotFound
	// KindConflict is a request the object's state does not allow (409).
	KindConflict
	// KindUnavailable may be retried: no leader, catching up (503).
	KindUnavailable
	// KindUnauthenticated is a request without valid credentials (401).
	KindUnauthenticated
	// KindForbidden is a request the caller may not make (403).
	KindForbidden
	// KindTooLarge is a body over the limit (413).
	KindTooLarge
)

// BackendError is the classification of a Backend error.
type BackendError struct {
	Kind  ErrorKind
	Field string // the field at fault, in the controller's spec terms
	Msg   string // the message for people
}
