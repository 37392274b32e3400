package ctld_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
)

// stepIdentify is testIdentify where user "node:NAME" is node NAME's
// daemon on any route.
func stepIdentify(r *http.Request) ctld.Identity {
	if n, ok := strings.CutPrefix(r.Header.Get("X-Test-User"), "node:"); ok {
		return ctld.Identity{Node: n}
	}
	return testIdentify(r)
}

func TestStepsHTTP(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, stepIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	cfg.Accounts = []api.Account{{Name: "ml", Coordinators: []string{"bob"}}}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n1", "n2"} {
		registerNode(t, admin, n, 4, 0).beat(t)
	}
	s := spec("mpi")
	s.Account, s.Nodes, s.NTasks = "ml", 2, 4
	ids, err := admin.Submit(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	pending := spec("later")
	pending.Hold = true
	held, err := admin.Submit(ctx(t), pending)
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, admin, ids[0], "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	id := strconv.Itoa(int(ids[0]))
	steps := "/v1/jobs/" + id + "/steps"
	both := api.StepRequest{Nodes: []string{"n1", "n2"}, TasksPerNode: []int{2, 2}, Command: []string{"hostname"}}
	tests := []struct {
		name, user, method, path string
		body                     any
		wantStatus               int
		want                     map[string]any // fields of the answer compared
	}{
		{"a coordinator may not run in the job", "bob", "POST", steps, both, http.StatusForbidden,
			map[string]any{"error": "user bob may not create a step in job " + id + " of user alice: only its owner, an operator or an administrator may"}},
		{"a node may not either", "node:n1", "POST", steps, both, http.StatusForbidden,
			map[string]any{"error": "node n1 may not create a step in job " + id + " of user alice: only its owner, an operator or an administrator may"}},
		{"the owner creates step 0", "alice", "POST", steps, both, http.StatusOK, map[string]any{"id": 0.0, "state": "RUNNING"}},
		{"an operator creates step 1", "olga", "POST", steps, api.StepRequest{Nodes: []string{"n2"}, TasksPerNode: []int{1}, Command: []string{"x"}}, http.StatusOK,
			map[string]any{"id": 1.0, "nodes": []any{"n2"}}},
		{"a node outside the allocation", "alice", "POST", steps, api.StepRequest{Nodes: []string{"n3"}, TasksPerNode: []int{1}, Command: []string{"x"}}, http.StatusBadRequest,
			map[string]any{"field": "nodes"}},
		{"more tasks than CPUs", "alice", "POST", steps, api.StepRequest{Nodes: []string{"n1"}, TasksPerNode: []int{9}, Command: []string{"x"}}, http.StatusBadRequest,
			map[string]any{"field": "tasks_per_node"}},
		{"a pending job", "", "POST", "/v1/jobs/" + strconv.Itoa(int(held[0])) + "/steps", both, http.StatusConflict, nil},
		{"an unknown job", "", "POST", "/v1/jobs/99/steps", both, http.StatusNotFound, map[string]any{"error": "Invalid job id specified"}},
		{"a node not in the step may not report it", "", "POST", "/v1/nodes/n1/steps", api.StepReport{JobID: ids[0], StepID: 1}, http.StatusForbidden,
			map[string]any{"error": "node n1 may not report step " + id + ".1: the step does not run on it"}},
		{"a user may not report for a node", "alice", "POST", "/v1/nodes/n1/steps", api.StepReport{JobID: ids[0], StepID: 0}, http.StatusForbidden, nil},
		{"a report of an unknown step", "", "POST", "/v1/nodes/n1/steps", api.StepReport{JobID: ids[0], StepID: 7}, http.StatusNotFound, nil},
		{"n1 reports step 0", "", "POST", "/v1/nodes/n1/steps", api.StepReport{JobID: ids[0], StepID: 0, Usage: api.Usage{UserCPUMillis: 10, Tasks: 2}}, http.StatusOK, nil},
		{"n2 reports step 0", "", "POST", "/v1/nodes/n2/steps", api.StepReport{JobID: ids[0], StepID: 0, Usage: api.Usage{UserCPUMillis: 5, Tasks: 2}}, http.StatusOK, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := call(t, c, tc.user, tc.method, tc.path, tc.body)
			got := map[string]any{}
			for k := range tc.want {
				got[k] = out[k]
			}
			if diff := cmp.Diff([]any{tc.wantStatus, tc.want}, []any{status, got}, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s\nanswer: %v", diff, out)
			}
		})
	}

	resp, err := admin.Steps(ctx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Steps) != 2 {
		t.Fatalf("steps: %+v, want 2", resp.Steps)
	}
	s0 := resp.Steps[0]
	if diff := cmp.Diff([]any{api.JobCompleted, []string{"n1", "n2"}, &api.Usage{UserCPUMillis: 15, Tasks: 4}, []string{"hostname"}},
		[]any{s0.State, s0.Reported, s0.Usage, s0.Command}); diff != "" {
		t.Errorf("step 0 after both reports (-want +got):\n%s", diff)
	}
	if resp.Steps[1].State != api.JobRunning {
		t.Errorf("step 1 is %s, want RUNNING", resp.Steps[1].State)
	}
	// Others see the steps as they see the job: without the commands.
	status, out := call(t, c, "node:n1", "GET", steps, nil)
	if status != http.StatusOK {
		t.Fatalf("node n1 lists the steps: %d %v", status, out)
	}
	if cmd, ok := out["steps"].([]any)[0].(map[string]any)["command"]; ok {
		t.Errorf("the steps carry their commands for a user who may not read the job: %v", cmd)
	}
	job, err := admin.Job(ctx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resp.Steps[0], &job.Runs[0].Steps[0]); diff != "" {
		t.Errorf("GET steps and the job's run differ (-steps +job):\n%s", diff)
	}
}
