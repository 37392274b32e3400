package ctld_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// testUsers are the users the authorization tests act as (header
// X-Test-User); a request without it is anonymous (an administrator until
// authentication is configured).
var testUsers = map[string]ctld.Identity{
	"alice": {User: "alice", UID: 1000, GID: 1000, Verified: true},
	"bob":   {User: "bob", UID: 1002, GID: 1002, Verified: true},
	"olga":  {User: "olga", UID: 1006, GID: 1006, Groups: []string{"ops"}, Verified: true},
}

func testIdentify(r *http.Request) ctld.Identity {
	if id, ok := testUsers[r.Header.Get("X-Test-User")]; ok {
		return id
	}
	return ctld.Identity{Node: r.PathValue("name")}
}

// call makes a request as user and returns the status and the decoded body.
func call(t *testing.T, c *ctld.Controller, user, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var in []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		in = b
	default:
		var err error
		if in, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx(t), method, "http://"+c.Addr()+path, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAuthorizationHTTP(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	cfg.Accounts = []api.Account{{Name: "ml", Users: []api.AccountUser{{Name: "alice"}, {Name: "olga"}}}}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatalf("administrator sets the configuration: %v", err)
	}
	registerNode(t, admin, "n1", 8, 0)

	aliceJob := spec("train")
	aliceJob.User, aliceJob.Account, aliceJob.Env = "", "ml", map[string]string{"TOKEN": "secret"}
	// Held, so that the scheduler leaves it as it is between the snapshots.
	aliceJob.Hold = true
	status, out := call(t, c, "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{aliceJob}})
	if status != http.StatusOK {
		t.Fatalf("alice submits: %d %v", status, out)
	}
	id := strconv.Itoa(int(out["ids"].([]any)[0].(float64)))
	jobID, _ := strconv.ParseUint(id, 10, 64)

	before, err := admin.Job(ctx(t), api.JobID(jobID))
	if err != nil {
		t.Fatal(err)
	}
	cfgBefore, _ := admin.Config(ctx(t))

	only := "only its owner, a coordinator of account ml, an operator or an administrator may"
	denied := []struct {
		name, user, method, path string
		body                     any
		want                     string
	}{
		{"cancel", "bob", "POST", "/v1/jobs/" + id + "/cancel", nil, "user bob may not cancel job " + id + " of user alice: " + only},
		{"signal", "bob", "POST", "/v1/jobs/" + id + "/cancel", api.CancelRequest{Signal: "USR1"}, "user bob may not signal job " + id + " of user alice: " + only},
		{"hold", "bob", "POST", "/v1/jobs/" + id + "/hold", nil, "user bob may not hold job " + id + " of user alice: " + only},
		{"release", "bob", "POST", "/v1/jobs/" + id + "/release", nil, "user bob may not release job " + id + " of user alice: " + only},
		{"requeue", "bob", "POST", "/v1/jobs/" + id + "/requeue", nil, "user bob may not requeue job " + id + " of user alice: " + only},
		{"end grace", "bob", "POST", "/v1/jobs/" + id + "/end-grace", nil, "user bob may not end-grace job " + id + " of user alice: " + only},
		{"configuration", "bob", "PUT", "/v1/config", cfgBefore, "user bob may not change the cluster configuration: only an administrator may"},
		{"configuration by an operator", "olga", "PUT", "/v1/config", cfgBefore, "user olga may not change the cluster configuration: only an administrator may"},
		{"unassociated account", "bob", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{{Name: "x", Account: "ml", Script: "#!/bin/sh\n"}}},
			"user bob may not submit under account ml: the user is not associated with it (Invalid account or account/partition combination specified)"},
		{"negative nice", "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{{Name: "x", Account: "ml", Nice: -1, Script: "#!/bin/sh\n"}}},
			"user alice may not set a negative nice (-1): only an operator or an administrator may"},
		{"as root", "alice", "POST", "/v1/jobs", api.SubmitRequest{Jobs: []api.JobSpec{{Name: "x", User: "alice", UID: 0, Account: "ml", Script: "#!/bin/sh\n"}}},
			"the job claims uid 0 but you are alice (uid 1000): a job runs as its submitter"},
		{"another node's jobs", "bob", "GET", "/v1/nodes/n1/jobs", nil, "user bob may not read the jobs assigned to node n1: only the node itself, an operator or an administrator may"},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			status, out := call(t, c, tc.user, tc.method, tc.path, tc.body)
			if diff := cmp.Diff([]any{http.StatusForbidden, tc.want}, []any{status, out["error"]}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	after, err := admin.Job(ctx(t), api.JobID(jobID))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("denied requests changed the job (-before +after):\n%s", diff)
	}
	cfgAfter, _ := admin.Config(ctx(t))
	if diff := cmp.Diff(cfgBefore, cfgAfter); diff != "" {
		t.Errorf("denied requests changed the configuration (-before +after):\n%s", diff)
	}
	jobs, err := admin.Jobs(ctx(t), client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil || len(jobs.Jobs) != 1 {
		t.Errorf("jobs after denied submissions: %v, %v; want alice's one", jobs, err)
	}

	// Reading: the script and environment only for those allowed; never in lists.
	script := func(user, path string) (bool, bool) {
		status, out := call(t, c, user, "GET", path, nil)
		if status != http.StatusOK {
			t.Fatalf("%s GET %s: %d %v", user, path, status, out)
		}
		if jobs, ok := out["jobs"].([]any); ok {
			out = jobs[0].(map[string]any)
		}
		s := out["spec"].(map[string]any)
		_, hasScript := s["script"]
		_, hasEnv := s["env"]
		return hasScript, hasEnv
	}
	reads := map[string][2]bool{}
	for _, r := range []struct{ user, path string }{
		{"alice", "/v1/jobs/" + id}, {"bob", "/v1/jobs/" + id}, {"olga", "/v1/jobs/" + id}, {"", "/v1/jobs/" + id},
		{"alice", "/v1/jobs"}, {"bob", "/v1/jobs"}, {"", "/v1/jobs"},
	} {
		s, e := script(r.user, r.path)
		reads[r.user+" "+r.path] = [2]bool{s, e}
	}
	j := "/v1/jobs/" + id
	want := map[string][2]bool{
		"alice " + j: {true, true}, "bob " + j: {false, false}, "olga " + j: {true, true}, " " + j: {true, true},
		"alice /v1/jobs": {false, false}, "bob /v1/jobs": {false, false}, " /v1/jobs": {false, false},
	}
	if diff := cmp.Diff(want, reads); diff != "" {
		t.Errorf("script and env visible (-want +got):\n%s", diff)
	}

	// The owner and an operator may act.
	if status, out := call(t, c, "olga", "POST", j+"/hold", nil); status != http.StatusOK {
		t.Errorf("operator holds: %d %v", status, out)
	}
	if status, out := call(t, c, "alice", "POST", j+"/cancel", nil); status != http.StatusOK {
		t.Errorf("owner cancels: %d %v", status, out)
	}
}

func TestSubmitLimitsHTTP(t *testing.T) {
	c, admin := startController(t, nil)
	registerNode(t, admin, "n1", 8, 2)
	big := func(n int) api.SubmitRequest {
		s := spec("big")
		s.Script = "#!/bin/sh\n" + strings.Repeat("#", n)
		return api.SubmitRequest{Jobs: []api.JobSpec{s}}
	}
	huge := spec("huge")
	huge.CPUsPerTask = 64
	gpus := spec("gpus")
	gpus.GPUs, gpus.GPUType = 4, "h100"
	tests := []struct {
		name       string
		path       string
		method     string
		body       any
		wantStatus int
		wantErr    string
	}{
		{"4.5 MB script: over max_script_bytes", "/v1/jobs", "POST", big(9 << 19), http.StatusBadRequest,
			`invalid script "4718602 bytes": the batch script is larger than the cluster's limit of 4194304 bytes (max_script_bytes)`},
		{"10 MB script: over the body limit", "/v1/jobs", "POST", big(10 << 20), http.StatusRequestEntityTooLarge,
			"batch script too large: the request body is larger than 5242880 bytes, the limit of POST /v1/jobs (the cluster's max_script_bytes is 4194304)"},
		{"cpus no node has", "/v1/jobs", "POST", api.SubmitRequest{Jobs: []api.JobSpec{huge}}, http.StatusBadRequest,
			`invalid --cpus-per-task "64": Requested node configuration is not available: partition main: 64 CPUs per node requested, its largest node has 8`},
		{"gpus no node has", "/v1/jobs", "POST", api.SubmitRequest{Jobs: []api.JobSpec{gpus}}, http.StatusBadRequest,
			`invalid --gres "gpu:h100:4": Requested node configuration is not available: partition main: 4 h100 GPUs per node requested, its nodes have at most 2`},
		{"large body elsewhere", "/v1/jobs/1/cancel", "POST", []byte(`{"signal":"` + strings.Repeat("x", 100<<10) + `"}`), http.StatusRequestEntityTooLarge,
			"the request body is larger than 65536 bytes, the limit of POST /v1/jobs/1/cancel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := call(t, c, "", tc.method, tc.path, tc.body)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantErr}, []any{status, out["error"]}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	jobs, err := admin.Jobs(ctx(t), client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil || len(jobs.Jobs) != 0 {
		t.Errorf("refused submissions left jobs: %v, %v", jobs, err)
	}
}
