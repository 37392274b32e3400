package ctld_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestResetDiagHTTP: sdiag -r's route. Only operators and administrators
// may reset; a reset starts sdiag's figures again ("Data since" the reset,
// jobs counted from there; TestPassWatchReset checks the cycles), and
// the jobs pending now still show.
func TestResetDiagHTTP(t *testing.T) {
	clock := newFakeClock()
	c, admin := startController(t, func(cfg *ctld.Config) {
		ctld.WithIdentity(cfg, testIdentify)
		cfg.Clock = clock.Now
	})
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	job := spec("train")
	job.User, job.Hold = "", true
	if status, out := call(t, c, "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{job}}); status != http.StatusOK {
		t.Fatalf("alice submits: %d %v", status, out)
	}
	waitFor(t, "a scheduler pass", func() (bool, string) {
		d, err := admin.Diag(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		return d.Sched.Cycles > 0 && d.JobsSubmitted == 1, "no pass yet"
	})
	clock.Advance(time.Minute)
	resetAt := clock.Now().Unix()

	for _, s := range []struct {
		user       string
		wantStatus int
		wantErr    any
	}{
		{"alice", http.StatusForbidden, "Access/permission denied: user alice may not reset the scheduling statistics: only an operator or an administrator may"},
		{"olga", http.StatusOK, nil},
	} {
		status, out := call(t, c, s.user, "POST", "/v1/diag/reset", struct{}{})
		if diff := cmp.Diff([]any{s.wantStatus, s.wantErr}, []any{status, out["error"]}); diff != "" {
			t.Errorf("%s resets (-want +got):\n%s", s.user, diff)
		}
	}
	d, err := admin.Diag(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		StatsSince         int64
		Submitted, Pending int
	}
	got := view{d.StatsSince, d.JobsSubmitted, d.JobsPending}
	want := view{StatsSince: resetAt, Submitted: 0, Pending: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diag after the reset (-want +got):\n%s", diff)
	}
}
