package slurmrest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// callerOnly is a Backend that only knows its caller.
type callerOnly struct{ Backend }

func (callerOnly) Caller(context.Context) (string, string) { return "alice", "staff" }

// TestEnvelopeKeepsNumbers: a response's numbers pass through the envelope
// unchanged, however large, and meta names the caller and the cluster.
func TestEnvelopeKeepsNumbers(t *testing.T) {
	h := &Handler{opts: Options{Backend: callerOnly{}, ClusterName: "gpu1", Now: time.Now}}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/slurm/v0.0.41/jobs", nil)
	h.respond(rec, r, map[string]any{"big": uint64(1<<63 + 1), "id": api.JobID(7)}, nil)
	body := rec.Body.String()
	for _, want := range []string{`"big": 9223372036854775809`, `"id": 7`, `"user": "alice"`, `"group": "staff"`, `"cluster": "gpu1"`, `"errors": []`, `"warnings": []`} {
		if !strings.Contains(body, want) {
			t.Errorf("response lacks %s:\n%s", want, body)
		}
	}
	if rec.Code != http.StatusOK {
		t.Errorf("status %d", rec.Code)
	}
}
