package ctld_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestRecordCheckpointRoute: POST /v1/jobs/{id}/checkpoint (fairway
// checkpoint done) records the checkpoint of the caller's running job
// without stopping it; another user is refused and changes nothing; a
// pending job is a 409 naming its state, an unknown one a 404.
func TestRecordCheckpointRoute(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Accounts = []api.Account{{Name: "ml", Users: []api.AccountUser{{Name: "alice"}}}}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatalf("administrator sets the configuration: %v", err)
	}
	registerNode(t, admin, "n1", 8, 0).beat(t)

	submit := func(hold bool) string {
		t.Helper()
		s := spec("train")
		s.User, s.Account, s.Hold = "", "ml", hold
		status, out := call(t, c, "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{s}})
		if status != http.StatusOK {
			t.Fatalf("alice submits: %d %v", status, out)
		}
		return fmt.Sprint(out["ids"].([]any)[0])
	}
	running, held := submit(false), submit(true)
	var runID, heldID api.JobID
	fmt.Sscan(running, &runID)
	fmt.Sscan(held, &heldID)
	waitJob(t, admin, runID, "to run", func(j *api.Job) bool { return j.State == api.JobRunning })

	only := "only its owner, a coordinator of account ml, an operator or an administrator may"
	tests := []struct {
		name, user, id string
		wantStatus     int
		wantErr        string
	}{
		{"another user", "bob", running, http.StatusForbidden, "user bob may not checkpoint job " + running + " of user alice: " + only},
		{"a pending job", "alice", held, http.StatusConflict, "job " + held + " is PENDING: only a running job records checkpoints (fairway checkpoint done runs inside the job)"},
		{"an unknown job", "alice", "999", http.StatusNotFound, "Invalid job id specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, c, tt.user, "POST", "/v1/jobs/"+tt.id+"/checkpoint", nil)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantErr}, []any{status, out["error"]}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if j, _ := admin.Job(ctx(t), runID); j.LastCheckpoint != 0 {
		t.Errorf("refused requests recorded a checkpoint at %d", j.LastCheckpoint)
	}

	// The owner records it: the job keeps running, nothing is stopped.
	if status, out := call(t, c, "alice", "POST", "/v1/jobs/"+running+"/checkpoint", nil); status != http.StatusOK {
		t.Fatalf("alice records a checkpoint: %d %v", status, out)
	}
	j, err := admin.Job(ctx(t), runID)
	if err != nil {
		t.Fatal(err)
	}
	if j.LastCheckpoint == 0 || j.LastCheckpoint < j.StartTime || j.State != api.JobRunning || j.Kill != nil {
		t.Errorf("after the checkpoint: last checkpoint %d (start %d), state %s, kill %+v; want a time since the start, RUNNING, no kill",
			j.LastCheckpoint, j.StartTime, j.State, j.Kill)
	}

	// The Go client's method goes the same way.
	var apiErr *client.Error
	if err := admin.RecordCheckpoint(ctx(t), api.JobRef{ID: heldID}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("client RecordCheckpoint of a pending job: %v, want a 409", err)
	}
	if err := admin.RecordCheckpoint(ctx(t), api.JobRef{ID: runID}); err != nil {
		t.Errorf("client RecordCheckpoint of a running job: %v", err)
	}
}
