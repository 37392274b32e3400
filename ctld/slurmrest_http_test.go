package ctld_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/slurmrest/oapitest"
)

// restClient calls the controller's slurmrestd-compatible API and checks
// every exchange against the OpenAPI document the controller serves.
type restClient struct {
	base string
	v    *oapitest.Validator
	hdr  func(user string) http.Header // the credentials of a user
}

// newRESTClient loads and validates /openapi/v3.
func newRESTClient(t *testing.T, base string, hdr func(string) http.Header) *restClient {
	t.Helper()
	rc := &restClient{base: base, hdr: hdr}
	status, _, body := rc.raw(t, "", "GET", "/openapi/v3", "")
	if status != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d %s", status, body)
	}
	v, err := oapitest.Load(ctx(t), body)
	if err != nil {
		t.Fatalf("the served OpenAPI document: %v", err)
	}
	rc.v = v
	return rc
}

// raw makes a request without checking it.
func (rc *restClient) raw(t *testing.T, user, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, rc.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if rc.hdr != nil {
		for k, vs := range rc.hdr(user) {
			req.Header[k] = vs
		}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

// do makes a request as user, checks the request and the response against
// the OpenAPI document, and returns the status and the decoded body.
func (rc *restClient) do(t *testing.T, user, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, hdr, out := rc.raw(t, user, method, path, body)
	x := oapitest.Exchange{Method: method, URL: rc.base + path, ReqBody: []byte(body), Status: status, RespHeader: hdr, RespBody: out}
	if rc.hdr != nil {
		x.ReqHeader = rc.hdr(user)
	}
	if err := rc.v.Check(ctx(t), x); err != nil {
		t.Errorf("%v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v: %s", method, path, status, err, out)
	}
	return status, m
}

// restError is what the tests compare of a response's first error.
type restError struct {
	Status      int
	Number      float64
	Error       string
	Description string // a prefix of the description
}

func firstError(t *testing.T, status int, m map[string]any, prefix string) restError {
	t.Helper()
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("status %d without errors: %v", status, m)
	}
	e := errs[0].(map[string]any)
	desc, _ := e["description"].(string)
	if !strings.HasPrefix(desc, prefix) {
		t.Errorf("error description %q does not start with %q", desc, prefix)
		prefix = desc
	}
	num, _ := e["error_number"].(float64)
	str, _ := e["error"].(string)
	return restError{Status: status, Number: num, Error: str, Description: prefix}
}

// jobIDs reads .jobs[].job_id.
func jobIDs(m map[string]any) []float64 {
	var ids []float64
	jobs, _ := m["jobs"].([]any)
	for _, j := range jobs {
		if id, ok := j.(map[string]any)["job_id"].(float64); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func testUserHeader(user string) http.Header {
	h := http.Header{}
	if user != "" {
		h.Set("X-Test-User", user)
	}
	return h
}

const restEnv = `"environment":["PATH=/bin:/usr/bin"]`

// TestSlurmREST drives the REST API through a user's round: submit, list,
// read, cancel, and the accounting view, with bad input and another user's
// cancel refused, every exchange checked against the served document.
func TestSlurmREST(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Accounts = []api.Account{{Name: "ml", Users: []api.AccountUser{{Name: "alice"}, {Name: "bob"}}}}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	registerNode(t, admin, "n1", 8, 2)
	rc := newRESTClient(t, "http://"+c.Addr(), testUserHeader)
	v := "/slurm/" + "v0.0.41"

	countJobs := func() int {
		jobs, err := admin.Jobs(ctx(t), client.JobFilter{All: true}, client.QueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs.Jobs)
	}

	// Submit.
	submit := `{"job":{"script":"#!/bin/sh\nsleep 600\n",` + restEnv + `,"name":"train","account":"ml",
		"time_limit":{"set":true,"infinite":false,"number":90},"tres_per_node":"gres/gpu:1","tasks":2,
		"current_working_directory":"/tmp","hold":true,"comment":"from a portal"}}`
	status, out := rc.do(t, "alice", "POST", v+"/job/submit", submit)
	if status != http.StatusOK {
		t.Fatalf("alice submits: %d %v", status, out)
	}
	id, _ := out["job_id"].(float64)
	if id <= 0 || out["step_id"] != "batch" || len(out["errors"].([]any)) != 0 {
		t.Fatalf("submission answer: %v", out)
	}
	warnings, _ := out["warnings"].([]any)
	if len(warnings) != 1 || !strings.Contains(warnings[0].(map[string]any)["description"].(string), "job.comment ignored") {
		t.Errorf("warnings %v, want the comment's", warnings)
	}
	j, err := admin.Job(ctx(t), api.JobID(id))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{j.Spec.Name, j.Spec.User, j.Spec.Account, j.Spec.TimeLimitSecs, j.Spec.GPUs, j.Spec.NTasks, j.Spec.Env["PATH"], j.Spec.Hold}
	if diff := cmp.Diff([]any{"train", "alice", "ml", int64(5400), 1, 2, "/bin:/usr/bin", true}, got); diff != "" {
		t.Errorf("the submitted job (-want +got):\n%s", diff)
	}
	jobID := fmt.Sprint(int(id))

	// Bad submissions change nothing and name the field.
	before := countJobs()
	bad := []struct {
		name, body, prefix string
		want               restError
	}{
		{"time limit", `{"job":{"script":"#!/bin/sh\n",` + restEnv + `,"time_limit":{"set":true,"number":-5}}}`, "job.time_limit: ",
			restError{Status: 400, Number: 2051, Error: "Requested time limit is invalid (missing or exceeds some limit)"}},
		{"environment missing", `{"job":{"script":"#!/bin/sh\n"}}`, "job.environment: ",
			restError{Status: 400, Number: 9002, Error: "Jobs description entry not found, empty or not dictionary or list"}},
		{"unknown partition", `{"job":{"script":"#!/bin/sh\n",` + restEnv + `,"partition":"nosuch"}}`, "job.partition: ",
			restError{Status: 400, Number: 9002, Error: "Jobs description entry not found, empty or not dictionary or list"}},
		{"account not associated", `{"job":{"script":"#!/bin/sh\n",` + restEnv + `,"account":"physics"}}`, "job.account: ",
			restError{Status: 400, Number: 9002, Error: "Jobs description entry not found, empty or not dictionary or list"}},
		{"unimplemented field", `{"job":{"script":"#!/bin/sh\n",` + restEnv + `,"licenses":"matlab"}}`, "job.licenses: ",
			restError{Status: 400, Number: 2036, Error: "Requested operation not supported on this system"}},
		{"no job", `{"script":"#!/bin/sh\n"}`, "job: ",
			restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
	}
	for _, tc := range bad {
		t.Run("refused "+tc.name, func(t *testing.T) {
			status, out := rc.do(t, "alice", "POST", v+"/job/submit", tc.body)
			tc.want.Description = tc.prefix
			if diff := cmp.Diff(tc.want, firstError(t, status, out, tc.prefix)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if n := countJobs(); n != before {
		t.Errorf("refused submissions left %d jobs, want %d", n, before)
	}

	// List and read.
	for _, path := range []string{v + "/jobs", v + "/jobs/", v + "/jobs?flags=DETAIL", v + "/jobs?update_time=1"} {
		status, out = rc.do(t, "bob", "GET", path, "")
		if status != http.StatusOK || !cmp.Equal(jobIDs(out), []float64{id}) {
			t.Errorf("GET %s: %d, job IDs %v; want [%v]", path, status, jobIDs(out), id)
		}
	}
	status, out = rc.do(t, "bob", "GET", v+"/jobs?update_time=99999999999", "")
	if status != http.StatusOK || len(jobIDs(out)) != 0 {
		t.Errorf("GET jobs changed since the future: %d %v, want none", status, jobIDs(out))
	}
	status, out = rc.do(t, "alice", "GET", v+"/job/"+jobID, "")
	if status != http.StatusOK || !cmp.Equal(jobIDs(out), []float64{id}) {
		t.Errorf("GET job %s: %d %v", jobID, status, out)
	}
	readErrors := []struct {
		name, user, method, path, prefix string
		want                             restError
	}{
		{"unknown job", "alice", "GET", v + "/job/99999", "Invalid job id specified", restError{Status: 404, Number: 2017, Error: "Invalid job id specified"}},
		{"malformed job ID", "alice", "GET", v + "/job/abc", "job_id: Invalid JobID", restError{Status: 404, Number: 2017, Error: "Invalid job id specified"}},
		{"bad flag", "alice", "GET", v + "/jobs?flags=EVERYTHING", "flags: unknown flag", restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
		{"unknown parameter", "alice", "GET", v + "/jobs?user=bob", "user: unknown query parameter", restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
		{"unknown node", "alice", "GET", v + "/node/nosuch", "node_name: Unable to query node", restError{Status: 404, Number: 2018, Error: "Invalid node name specified"}},
		{"unknown partition", "alice", "GET", v + "/partition/nosuch", "partition_name: Unable to find partition", restError{Status: 404, Number: 2000, Error: "Invalid partition name specified"}},
		{"bad signal", "alice", "DELETE", v + "/job/" + jobID + "?signal=SIGNOPE", "signal: invalid value", restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
		{"another user's job", "bob", "DELETE", v + "/job/" + jobID, "user bob may not cancel job " + jobID + " of user alice", restError{Status: 403, Number: 2002, Error: "Access/permission denied"}},
		{"another user's job, signalled", "bob", "DELETE", v + "/job/" + jobID + "?signal=SIGUSR1", "user bob may not signal job " + jobID, restError{Status: 403, Number: 2002, Error: "Access/permission denied"}},
		{"slurmdb: unknown parameter", "alice", "GET", "/slurmdb/v0.0.41/jobs?colour=red", "colour: unknown query parameter", restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
		{"slurmdb: bad state", "alice", "GET", "/slurmdb/v0.0.41/jobs?state=SLEEPING", "state: invalid value", restError{Status: 422, Number: 9000, Error: "Query empty or not RFC7320 compliant"}},
	}
	for _, tc := range readErrors {
		t.Run(tc.name, func(t *testing.T) {
			status, out := rc.do(t, tc.user, tc.method, tc.path, "")
			tc.want.Description = tc.prefix
			if diff := cmp.Diff(tc.want, firstError(t, status, out, tc.prefix)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if j, _ := admin.Job(ctx(t), api.JobID(id)); j.State != api.JobPending {
		t.Fatalf("job %s is %s after refused cancels, want PENDING", jobID, j.State)
	}

	// The cluster views.
	for _, path := range []string{v + "/nodes", v + "/node/n1", v + "/partitions", v + "/partition/main", v + "/diag", v + "/ping"} {
		status, out = rc.do(t, "bob", "GET", path, "")
		if status != http.StatusOK || len(out["errors"].([]any)) != 0 {
			t.Errorf("GET %s: %d %v", path, status, out)
		}
	}
	status, out = rc.do(t, "bob", "GET", v+"/ping", "")
	pings, _ := out["pings"].([]any)
	if status != http.StatusOK || len(pings) != 1 || pings[0].(map[string]any)["mode"] != "primary" || pings[0].(map[string]any)["pinged"] != "UP" {
		t.Errorf("ping: %d %v", status, out)
	}

	// The owner cancels; the accounting view shows it.
	status, out = rc.do(t, "alice", "DELETE", v+"/job/"+jobID, "")
	if status != http.StatusOK {
		t.Fatalf("alice cancels her job: %d %v", status, out)
	}
	if j, _ := admin.Job(ctx(t), api.JobID(id)); j.State != api.JobCancelled {
		t.Errorf("job %s is %s after DELETE, want CANCELLED", jobID, j.State)
	}
	db := "/slurmdb/v0.0.41"
	queries := []struct {
		query string
		want  []float64
	}{
		{"", []float64{id}},
		{"?users=alice", []float64{id}},
		{"?users=bob", nil},
		{"?account=ml&state=CANCELLED", []float64{id}},
		{"?state=CA,R", []float64{id}},
		{"?state=RUNNING", nil},
		{"?job_name=train&partition=main", []float64{id}},
		{"?job_name=other", nil},
		{"?start_time=1&end_time=99999999999", []float64{id}},
		{"?end_time=1", nil},
	}
	for _, q := range queries {
		status, out = rc.do(t, "bob", "GET", db+"/jobs"+q.query, "")
		if status != http.StatusOK || !cmp.Equal(jobIDs(out), q.want) {
			t.Errorf("GET slurmdb jobs%s: %d, job IDs %v; want %v", q.query, status, jobIDs(out), q.want)
		}
	}
	status, out = rc.do(t, "alice", "GET", db+"/job/"+jobID, "")
	if status != http.StatusOK || !cmp.Equal(jobIDs(out), []float64{id}) {
		t.Errorf("GET slurmdb job %s: %d %v", jobID, status, out)
	}
	status, out = rc.do(t, "alice", "GET", db+"/jobs?cluster=fairway", "")
	if w, _ := out["warnings"].([]any); status != http.StatusOK || len(w) != 1 {
		t.Errorf("a slurmdb parameter Fairway does not filter on: %d, warnings %v; want one", status, out["warnings"])
	}

	// What slurmrestd's router answers in plain text.
	plain := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/slurm/v0.0.40/jobs", 404, "Unable find requested URL. Please view /openapi/v3 for API reference."},
		{"GET", "/slurm/v0.0.41/nosuch", 404, "Unable find requested URL. Please view /openapi/v3 for API reference."},
		{"POST", "/slurm/v0.0.41/jobs", 405, "Requested REST method is not defined at URL. Please view /openapi/v3 for API reference."},
	}
	for _, p := range plain {
		status, _, body := rc.raw(t, "alice", p.method, p.path, "")
		if diff := cmp.Diff([]any{p.status, p.body}, []any{status, string(body)}); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", p.method, p.path, diff)
		}
	}
	for _, path := range []string{"/openapi", "/openapi.json"} {
		status, _, body := rc.raw(t, "", "GET", path, "")
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"/slurm/v0.0.41/job/submit"`)) {
			t.Errorf("GET %s: %d", path, status)
		}
	}
}

// TestSlurmRESTAuthentication: the REST API authenticates like /v1
// (X-SLURM-USER-NAME and X-SLURM-USER-TOKEN), and refuses in its own shape
// (401, Slurm's authentication error in the route's response type).
func TestSlurmRESTAuthentication(t *testing.T) {
	a := startAuthController(t)
	good := token(t, jwt.SigningMethodHS256, a.jwtKey, jwt.MapClaims{"sun": "root", "exp": time.Now().Add(time.Hour).Unix()})
	forged := token(t, jwt.SigningMethodHS256, []byte("another key of thirty-two bytes!"), jwt.MapClaims{"sun": "root", "exp": time.Now().Add(time.Hour).Unix()})
	creds := map[string]http.Header{
		"root":   {"X-Slurm-User-Name": {"root"}, "X-Slurm-User-Token": {good}},
		"forged": {"X-Slurm-User-Name": {"root"}, "X-Slurm-User-Token": {forged}},
		"bearer": {"Authorization": {"Bearer " + good}},
		"none":   {},
	}
	rc := newRESTClient(t, "http://"+a.ctl.Addr(), func(u string) http.Header { return creds[u] })
	for _, tc := range []struct {
		who, method, path string
		status            int
	}{
		{"root", "GET", "/slurm/v0.0.41/jobs", 200},
		{"bearer", "GET", "/slurm/v0.0.41/diag", 200},
		{"forged", "GET", "/slurm/v0.0.41/jobs", 401},
		{"none", "GET", "/slurm/v0.0.41/nodes", 401},
		{"none", "POST", "/slurm/v0.0.41/job/submit", 401},
		{"forged", "DELETE", "/slurm/v0.0.41/job/1", 401},
		{"none", "GET", "/slurmdb/v0.0.41/jobs", 401},
	} {
		body := ""
		if tc.method == "POST" {
			body = `{"job":{"script":"#!/bin/sh\n","environment":["A=b"]}}`
		}
		status, out := rc.do(t, tc.who, tc.method, tc.path, body)
		if status != tc.status {
			t.Errorf("%s %s as %s: %d %v, want %d", tc.method, tc.path, tc.who, status, out, tc.status)
			continue
		}
		if status == 401 {
			got := firstError(t, status, out, "Authentication failure: ")
			want := restError{Status: 401, Number: 1007, Error: "Protocol authentication error", Description: "Authentication failure: "}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s as %s (-want +got):\n%s", tc.method, tc.path, tc.who, diff)
			}
		}
	}
	jobs, err := a.cl.Jobs(ctx(t), client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil || len(jobs.Jobs) != 0 {
		t.Errorf("jobs after refused requests: %v, %v; want none", jobs, err)
	}
}

// TestSlurmRESTThroughFollower: a follower forwards the REST API's writes
// to the leader, like /v1 writes, and answers its reads itself.
func TestSlurmRESTThroughFollower(t *testing.T) {
	ctls, leader := startCluster(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	var follower *ctld.Controller
	for id, c := range ctls {
		if id != leader {
			follower = c
			break
		}
	}
	waitReady(t, client.New(follower.Addr()))
	rc := newRESTClient(t, "http://"+follower.Addr(), testUserHeader)
	status, out := rc.do(t, "alice", "POST", "/slurm/v0.0.41/job/submit",
		`{"job":{"script":"#!/bin/sh\nsleep 60\n",`+restEnv+`,"hold":true,"current_working_directory":"/tmp"}}`)
	if status != http.StatusOK {
		t.Fatalf("submit through a follower: %d %v", status, out)
	}
	id := api.JobID(out["job_id"].(float64))
	lc := client.New(ctls[leader].Addr())
	if _, err := lc.Job(ctx(t), id); err != nil {
		t.Fatalf("the leader does not have job %d: %v", id, err)
	}
	status, out = rc.do(t, "alice", "DELETE", fmt.Sprintf("/slurm/v0.0.41/job/%d", id), "")
	if status != http.StatusOK {
		t.Fatalf("cancel through a follower: %d %v", status, out)
	}
	waitJob(t, lc, id, "cancelled", func(j *api.Job) bool { return j.State == api.JobCancelled })
	// Each follower's address reaches the raft state shortly after it
	// starts; until then the leader cannot ask it and it shows DOWN.
	want := []string{"false backup UP", "false backup UP", "true primary UP"}
	var modes []string
	waitFor(t, "every controller to answer ping", func() (bool, string) {
		status, out := rc.do(t, "bob", "GET", "/slurm/v0.0.41/ping", "")
		modes = nil
		pings, _ := out["pings"].([]any)
		for _, p := range pings {
			m := p.(map[string]any)
			modes = append(modes, fmt.Sprintf("%v %v %v", m["hostname"] == leader, m["mode"], m["pinged"]))
		}
		slices.Sort(modes)
		return status == http.StatusOK && cmp.Equal(want, modes), fmt.Sprint(status, modes)
	})
}
