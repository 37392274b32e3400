package ctld

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/google/go-cmp/cmp"
)

func TestErrorMapping(t *testing.T) {
	s := &Service{id: "c1"}
	type got struct {
		Kind   ErrorKind
		Status int
		Field  string
		Msg    string
	}
	tests := []struct {
		name string
		err  error
		want got
	}{
		{"field error", &api.FieldError{Field: "--mem", Value: "-5", Msg: "must be positive"},
			got{KindInvalid, http.StatusBadRequest, "--mem", `invalid --mem "-5": must be positive`}},
		{"apply error: the handler's message", &raftstore.ApplyError{Command: "CancelJob", Index: 7, Err: fmt.Errorf("job 5 already COMPLETED: %w", raftstore.ErrConflict)},
			got{KindConflict, http.StatusConflict, "", "job 5 already COMPLETED: conflict"}},
		{"not found", fmt.Errorf("node x: %w", raftstore.ErrNotFound), got{KindNotFound, http.StatusNotFound, "", "node x: not found"}},
		{"not leader", raftstore.ErrNotLeader, got{KindUnavailable, http.StatusServiceUnavailable, "", "controller c1 lost the leadership; retry"}},
		{"abandoned before proposing", fmt.Errorf("apply X: %w", context.Canceled),
			got{KindUnavailable, http.StatusServiceUnavailable, "", "request abandoned: apply X: context canceled"}},
		{"outcome unknown", fmt.Errorf("apply X: %w: %w", raftstore.ErrOutcomeUnknown, context.DeadlineExceeded),
			got{KindOutcomeUnknown, http.StatusInternalServerError, "", "the change may or may not have been committed (apply X: outcome unknown: context deadline exceeded); check before retrying"}},
		{"halted", &raftstore.HaltError{Index: 9, Type: 99, Err: errors.New("unknown command type 99")},
			got{KindUnavailable, http.StatusServiceUnavailable, "", "controller c1 halted: replica halted at raft index 9 (command type 99): unknown command type 99"}},
		{"forbidden", newError(KindForbidden, "user bob may not cancel job 1"), got{KindForbidden, http.StatusForbidden, "", "user bob may not cancel job 1"}},
		{"service error kept", invalid("id", "bad id"), got{KindInvalid, http.StatusBadRequest, "id", "bad id"}},
		{"unauthenticated", newError(KindUnauthenticated, "munge credential replayed"), got{KindUnauthenticated, http.StatusUnauthorized, "", "munge credential replayed"}},
		{"forbidden", newError(KindForbidden, "not yours"), got{KindForbidden, http.StatusForbidden, "", "not yours"}},
		{"anything else", errors.New("disk on fire"), got{KindInternal, http.StatusInternalServerError, "", "disk on fire"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := s.classify(tt.err)
			g := got{e.Kind, httpStatus(e.Kind), e.Field, e.Msg}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
			if _, isSvc := tt.err.(*Error); !isSvc && !errors.Is(e, tt.err) {
				t.Errorf("classified error does not wrap its cause")
			}
		})
	}
}
