package ctld_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestAdminUpdatesHTTP: scontrol update's routes through a real controller
// (raft and all): who may drain a node, raise a time limit or change a
// partition; what a drain records; sdiag's route.
func TestAdminUpdatesHTTP(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	registerNode(t, admin, "n1", 8, 0)

	job := spec("train")
	job.User, job.Hold, job.TimeLimitSecs = "", true, 3600
	status, out := call(t, c, "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{job}})
	if status != http.StatusOK {
		t.Fatalf("alice submits: %d %v", status, out)
	}
	id := strconv.Itoa(int(out["ids"].([]any)[0].(float64)))
	jobID, _ := strconv.ParseUint(id, 10, 64)
	i64 := func(v int64) *int64 { return &v }
	drain := api.NodeUpdate{Nodes: []string{"n1"}, State: "DRAIN", Reason: "fan"}

	steps := []struct {
		name, user, method, path string
		body                     any
		wantStatus               int
		wantErr                  any
	}{
		{"alice may not drain", "alice", "POST", "/v1/nodes/update", drain, http.StatusForbidden,
			"Access/permission denied: user alice may not change the state of nodes: only an operator or an administrator may"},
		{"a drain needs a reason", "olga", "POST", "/v1/nodes/update", api.NodeUpdate{Nodes: []string{"n1"}, State: "DRAIN"}, http.StatusBadRequest,
			`invalid Reason "": You must specify a reason when DOWNING or DRAINING a node. Request denied`},
		{"an unknown node", "olga", "POST", "/v1/nodes/update", api.NodeUpdate{Nodes: []string{"n9"}, State: "DRAIN", Reason: "x"}, http.StatusNotFound,
			`Invalid node name specified: node "n9" not found`},
		{"the operator drains", "olga", "POST", "/v1/nodes/update", drain, http.StatusOK, nil},
		{"alice lowers her limit", "alice", "POST", "/v1/jobs/" + id + "/update", api.JobUpdate{TimeLimitSecs: i64(1800)}, http.StatusOK, nil},
		{"alice may not raise it", "alice", "POST", "/v1/jobs/" + id + "/update", api.JobUpdate{TimeLimitSecs: i64(7200)}, http.StatusForbidden,
			"Access/permission denied: user alice may not raise the time limit of job " + id + " from 00:30:00 to 02:00:00: users may only lower it; only an operator or an administrator may raise it"},
		{"bob may not touch it", "bob", "POST", "/v1/jobs/" + id + "/update", api.JobUpdate{TimeLimitSecs: i64(60)}, http.StatusForbidden,
			"user bob may not update job " + id + " of user alice: only its owner, a coordinator of account root, an operator or an administrator may"},
		{"a bad partition names the field", "olga", "POST", "/v1/jobs/" + id + "/update", api.JobUpdate{Partitions: []string{"nope"}}, http.StatusBadRequest,
			`invalid Partition "nope": no such partition; known partitions: main`},
		{"an operator may not change a partition", "olga", "POST", "/v1/partitions/main/update", api.PartitionUpdate{MaxNodes: new(int)}, http.StatusForbidden,
			"user olga may not change partition main: only an administrator may"},
	}
	for _, s := range steps {
		status, out := call(t, c, s.user, s.method, s.path, s.body)
		if diff := cmp.Diff([]any{s.wantStatus, s.wantErr}, []any{status, out["error"]}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	n, err := admin.Nodes(ctx(t), client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := n.Nodes[0]
	if got.State != api.NodeDrain || got.Reason != "fan" || got.ReasonUser != "olga" || got.ReasonTime == 0 {
		t.Errorf("drained node = state %s reason %q user %q time %d; want DRAIN, fan, olga and a time", got.State, got.Reason, got.ReasonUser, got.ReasonTime)
	}
	j, err := admin.Job(ctx(t), api.JobID(jobID))
	if err != nil || j.Spec.TimeLimitSecs != 1800 {
		t.Errorf("job time limit after the updates = %v, %v; want 1800", j, err)
	}
	d, err := admin.Diag(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.JobsPending != 1 || !d.Leader || d.Raft.Role != "leader" || d.Raft.Voters != 1 || d.StatsSince == 0 || d.JobsSubmitted != 1 {
		t.Errorf("diag = %+v; want 1 job pending and submitted, this controller the only voter and leader, counting since it led", d)
	}
}
