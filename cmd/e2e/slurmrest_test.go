//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld/slurmrest/oapitest"
)

// restCurl is a client of the controller's REST API that runs a real curl
// process per request, as a portal's shell script would, and checks every
// exchange against the OpenAPI document the controller serves.
type restCurl struct {
	c *cluster
	v *oapitest.Validator
}

// curlAnswer is what curl got.
type curlAnswer struct {
	status      int
	contentType string
	body        []byte
	json        map[string]any
}

// curl runs curl against the controller. user and token are sent as
// X-SLURM-USER-NAME and X-SLURM-USER-TOKEN when not empty.
func (rc *restCurl) curl(method, path, user, token, body string) curlAnswer {
	t := rc.c.t
	t.Helper()
	args := []string{"-sS", "--cacert", caFile(), "-X", method, "-w", "\n%{http_code} %{content_type}"}
	if user != "" {
		args = append(args, "-H", "X-SLURM-USER-NAME: "+user)
	}
	if token != "" {
		args = append(args, "-H", "X-SLURM-USER-TOKEN: "+token)
	}
	if body != "" {
		args = append(args, "-H", "Content-Type: application/json", "--data-binary", "@-")
	}
	args = append(args, rc.c.ctldURL+path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", args...)
	cmd.Stdin = strings.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s %s: %v: %s", method, path, err, stderr.String())
	}
	out := stdout.Bytes()
	i := bytes.LastIndexByte(out, '\n')
	if i < 0 {
		t.Fatalf("curl %s %s printed %q", method, path, out)
	}
	a := curlAnswer{body: out[:i]}
	code, ctype, _ := strings.Cut(string(out[i+1:]), " ")
	a.status, _ = strconv.Atoi(code)
	a.contentType = ctype
	if strings.HasPrefix(ctype, "application/json") {
		if err := json.Unmarshal(a.body, &a.json); err != nil {
			t.Fatalf("curl %s %s: not JSON: %v: %s", method, path, err, a.body)
		}
	}
	return a
}

// call makes a request with curl and checks it and its answer against the
// served OpenAPI document.
func (rc *restCurl) call(method, path, user, token, body string) curlAnswer {
	t := rc.c.t
	t.Helper()
	a := rc.curl(method, path, user, token, body)
	hdr := http.Header{}
	if user != "" {
		hdr.Set("X-SLURM-USER-NAME", user)
	}
	if token != "" {
		hdr.Set("X-SLURM-USER-TOKEN", token)
	}
	err := rc.v.Check(context.Background(), oapitest.Exchange{
		Method: method, URL: rc.c.ctldURL + path, ReqHeader: hdr, ReqBody: []byte(body),
		Status: a.status, RespHeader: http.Header{"Content-Type": {a.contentType}}, RespBody: a.body,
	})
	if err != nil {
		t.Errorf("%v", err)
	}
	return a
}

// restErrorOf returns the first error's number, string and description.
func restErrorOf(a curlAnswer) (float64, string, string) {
	errs, _ := a.json["errors"].([]any)
	if len(errs) == 0 {
		return 0, "", ""
	}
	e, _ := errs[0].(map[string]any)
	n, _ := e["error_number"].(float64)
	s, _ := e["error"].(string)
	d, _ := e["description"].(string)
	return n, s, d
}

// restJobs reads .jobs[] as job_id -> the job.
func restJobs(a curlAnswer) map[int]map[string]any {
	out := map[int]map[string]any{}
	jobs, _ := a.json["jobs"].([]any)
	for _, j := range jobs {
		m, _ := j.(map[string]any)
		if id, ok := m["job_id"].(float64); ok {
			out[int(id)] = m
		}
	}
	return out
}

// stateOf reads a job's state from job_info (job_state: ["RUNNING"]) or a
// slurmdb job (state: {current: ["COMPLETED"]}).
func stateOf(j map[string]any) []string {
	var list []any
	if s, ok := j["job_state"].([]any); ok {
		list = s
	} else if st, ok := j["state"].(map[string]any); ok {
		list, _ = st["current"].([]any)
	}
	var out []string
	for _, s := range list {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

// TestE2ESlurmREST is the REST sequence with curl against a real
// cluster: tokens from `scontrol token`, submit, list, read, the job runs,
// another job is cancelled with DELETE (not by another user: 403), a wrong
// token is 401, and the accounting view shows both jobs; every answer is
// checked against the served OpenAPI document.
func TestE2ESlurmREST(t *testing.T) {
	openForUsers(t)
	users := ensureUsers(t, map[string][]string{"fw-rest-alice": nil, "fw-rest-bob": nil})
	alice, bob := users["fw-rest-alice"], users["fw-rest-bob"]
	cfg := api.ClusterConfig{Partitions: []api.Partition{{Name: "batch", Default: true}}}
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, cfg), nodeCPUs: "4", nodeMemory: "4096", gpus: "2:h100"})
	for _, d := range []string{filepath.Dir(c.dir), c.dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	aliceTok, bobTok := c.tokenOf(alice), c.tokenOf(bob)

	rc := &restCurl{c: c}
	doc := rc.curl("GET", "/openapi/v3", "", "", "")
	if doc.status != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d %s", doc.status, doc.body)
	}
	v, err := oapitest.Load(context.Background(), doc.body)
	if err != nil {
		t.Fatalf("the served OpenAPI document: %v", err)
	}
	rc.v = v
	const p = "/slurm/v0.0.41"

	// Alice submits a job that runs, and one held that she cancels later.
	runs := fmt.Sprintf(`{"job":{"name":"rest-run","script":"#!/bin/sh\necho hello from $SLURM_JOB_ID with $GREETING\n",
		"environment":["PATH=/usr/bin:/bin","GREETING=hi"],"current_working_directory":%q,
		"standard_output":"rest-%%j.out","time_limit":{"set":true,"infinite":false,"number":5},"tres_per_node":"gres/gpu:1"}}`, alice.work)
	a := rc.call("POST", p+"/job/submit", alice.name, aliceTok, runs)
	if a.status != http.StatusOK {
		t.Fatalf("alice submits: %d %s", a.status, a.body)
	}
	runID := int(a.json["job_id"].(float64))
	held := fmt.Sprintf(`{"job":{"name":"rest-held","script":"#!/bin/sh\nsleep 600\n","environment":["PATH=/usr/bin:/bin"],
		"current_working_directory":%q,"hold":true}}`, alice.work)
	a = rc.call("POST", p+"/job/submit", alice.name, aliceTok, held)
	if a.status != http.StatusOK {
		t.Fatalf("alice submits a held job: %d %s", a.status, a.body)
	}
	heldID := int(a.json["job_id"].(float64))

	// Both are listed; the one she reads is hers.
	a = rc.call("GET", p+"/jobs", bob.name, bobTok, "")
	listed := restJobs(a)
	if a.status != http.StatusOK || listed[runID] == nil || listed[heldID] == nil {
		t.Fatalf("GET jobs: %d, jobs %v; want %d and %d", a.status, listed, runID, heldID)
	}
	a = rc.call("GET", fmt.Sprintf("%s/job/%d", p, runID), alice.name, aliceTok, "")
	if j := restJobs(a)[runID]; a.status != http.StatusOK || j == nil || j["name"] != "rest-run" {
		t.Fatalf("GET job %d: %d %s", runID, a.status, a.body)
	}

	// The job runs to completion and wrote its output as alice.
	c.waitFor(fmt.Sprintf("job %d to complete (REST)", runID), 90*time.Second, func() bool {
		a := rc.call("GET", fmt.Sprintf("%s/job/%d", p, runID), alice.name, aliceTok, "")
		return slices.Contains(stateOf(restJobs(a)[runID]), "COMPLETED")
	})
	out, err := os.ReadFile(filepath.Join(alice.work, fmt.Sprintf("rest-%d.out", runID)))
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("hello from %d with hi", runID) {
		t.Errorf("the job's output: %q, %v", out, err)
	}

	// Bob may not cancel alice's job; a wrong token is refused.
	a = rc.call("DELETE", fmt.Sprintf("%s/job/%d", p, heldID), bob.name, bobTok, "")
	if n, s, d := restErrorOf(a); a.status != http.StatusForbidden || n != 2002 || s != "Access/permission denied" ||
		!strings.Contains(d, "may not cancel job") {
		t.Errorf("bob cancels alice's job: %d %v %q %q", a.status, n, s, d)
	}
	for _, tc := range []struct{ name, user, token string }{
		{"a forged token", alice.name, aliceTok[:len(aliceTok)-4] + "AAAA"},
		{"alice's token naming bob", bob.name, aliceTok},
		{"no token", alice.name, ""},
	} {
		a = rc.call("GET", p+"/jobs", tc.user, tc.token, "")
		if n, s, _ := restErrorOf(a); a.status != http.StatusUnauthorized || n != 1007 || s != "Protocol authentication error" {
			t.Errorf("%s: %d %v %q: %s", tc.name, a.status, n, s, a.body)
		}
	}
	if st := c.state(strconv.Itoa(heldID)); st != "PENDING" {
		t.Errorf("job %d is %q after the refused requests, want PENDING", heldID, st)
	}

	// Alice cancels it.
	a = rc.call("DELETE", fmt.Sprintf("%s/job/%d", p, heldID), alice.name, aliceTok, "")
	if a.status != http.StatusOK {
		t.Fatalf("alice cancels job %d: %d %s", heldID, a.status, a.body)
	}
	c.waitState(strconv.Itoa(heldID), "CANCELLED", 30*time.Second)

	// The accounting view shows both, as sacct does.
	a = rc.call("GET", "/slurmdb/v0.0.41/jobs?users="+alice.name, bob.name, bobTok, "")
	acct := restJobs(a)
	got := map[int][]string{runID: stateOf(acct[runID]), heldID: stateOf(acct[heldID])}
	want := map[int][]string{runID: {"COMPLETED"}, heldID: {"CANCELLED"}}
	if a.status != http.StatusOK || len(acct) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("slurmdb jobs of %s: %d, states %v; want %v", alice.name, a.status, got, want)
	}
	a = rc.call("GET", "/slurmdb/v0.0.41/jobs?users="+bob.name, bob.name, bobTok, "")
	if len(restJobs(a)) != 0 {
		t.Errorf("slurmdb jobs of %s: %s, want none", bob.name, a.body)
	}
	for _, path := range []string{p + "/nodes", p + "/node/node1", p + "/partitions", p + "/diag", p + "/ping"} {
		if a := rc.call("GET", path, bob.name, bobTok, ""); a.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}
	sacct := c.must("sacct", "-X", "-P", "-n", "-j", fmt.Sprintf("%d,%d", runID, heldID), "-o", "JobID,State")
	if !strings.Contains(sacct, fmt.Sprintf("%d|COMPLETED", runID)) || !strings.Contains(sacct, fmt.Sprintf("%d|CANCELLED", heldID)) {
		t.Errorf("sacct of the REST jobs:\n%s", sacct)
	}

	// An unknown version is slurmrestd's 404.
	if a := rc.curl("GET", "/slurm/v0.0.39/jobs", alice.name, aliceTok, ""); a.status != http.StatusNotFound ||
		string(a.body) != "Unable find requested URL. Please view /openapi/v3 for API reference." {
		t.Errorf("unknown version: %d %s", a.status, a.body)
	}
}
