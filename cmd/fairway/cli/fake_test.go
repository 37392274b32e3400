package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// fakeCtld fakes the few /v1 endpoints the commands use and records what
// they send.
type fakeCtld struct {
	mu        sync.Mutex
	now       int64
	jobs      []*api.Job
	nodes     []*api.Node
	parts     []api.Partition
	prios     api.PrioritiesResponse
	shares    api.SharesResponse
	submitted []api.JobSpec
	actions   []string // "cancel 5 USR1", "hold 3", ...
	nextID    api.JobID
	srv       *httptest.Server
	tokens    []tokenCall // POST /v1/token requests
	steps     []api.StepRequest
	// onSubmit, when set, changes each submitted job (starts it).
	onSubmit func(*api.Job)
	// cfg is the configuration GET /v1/config returns and POST /v1/assoc
	// changes (sacctmgr_test.go); assocReqs the changes posted.
	cfg       api.ClusterConfig
	assocReqs []api.AssocRequest
}

// tokenCall is a POST /v1/token request the fake answered.
type tokenCall struct {
	Req        api.TokenRequest
	Token      string // the X-SLURM-USER-TOKEN header
	MungeCreds bool   // an X-Fairway-Munge header was sent
}

func newFakeCtld(t *testing.T) *fakeCtld {
	t.Helper()
	f := &fakeCtld{now: testNow.Unix(), nextID: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", f.submit)
	mux.HandleFunc("GET /v1/jobs", f.listJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", f.getJob)
	mux.HandleFunc("POST /v1/jobs/{id}/{action}", f.jobAction)
	mux.HandleFunc("POST /v1/jobs/{id}/steps", func(w http.ResponseWriter, r *http.Request) {
		var req api.StepRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		j := f.find(r.PathValue("id"))
		if j == nil {
			writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "job " + r.PathValue("id") + " not found"})
			return
		}
		f.steps = append(f.steps, req)
		writeJSON(w, http.StatusOK, api.Step{JobID: j.ID, ID: len(f.steps) - 1, Nodes: req.Nodes, TasksPerNode: req.TasksPerNode, Command: req.Command, State: api.JobRunning})
	})
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, api.NodesResponse{Index: 1, Now: f.now, Nodes: f.nodes})
	})
	mux.HandleFunc("GET /v1/partitions", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, api.PartitionsResponse{Index: 1, Partitions: f.parts})
	})
	mux.HandleFunc("GET /v1/priorities", f.priorities)
	mux.HandleFunc("GET /v1/config", f.getConfig)
	mux.HandleFunc("POST /v1/assoc", f.changeAssoc)
	mux.HandleFunc("GET /v1/shares", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, f.shares)
	})
	mux.HandleFunc("POST /v1/token", func(w http.ResponseWriter, r *http.Request) {
		var req api.TokenRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokens = append(f.tokens, tokenCall{Req: req, Token: r.Header.Get(api.SlurmUserTokenHeader), MungeCreds: r.Header.Get(api.MungeHeader) != ""})
		writeJSON(w, http.StatusOK, api.TokenResponse{Token: "eyJ.tok.sig", Username: req.Username})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeCtld) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var resp api.SubmitResponse
	for _, s := range req.Jobs {
		if len(s.Partitions) > 0 && s.Partitions[0] == "nosuch" {
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: `invalid --partition "nosuch": no such partition`, Field: "--partition"})
			return
		}
	}
	for _, s := range req.Jobs {
		f.submitted = append(f.submitted, s)
		f.nextID++
		resp.IDs = append(resp.IDs, f.nextID)
		j := &api.Job{ID: f.nextID, Spec: s, State: api.JobPending, SubmitTime: f.now}
		if f.onSubmit != nil {
			f.onSubmit(j)
		}
		f.jobs = append(f.jobs, j)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeCtld) listJobs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	var ids []string
	if q.Get("id") != "" {
		ids = strings.Split(q.Get("id"), ",")
	}
	resp := api.JobsResponse{Index: 1, Now: f.now, Jobs: []*api.Job{}}
	for _, j := range f.jobs {
		if q.Get("all") != "1" && j.State.Final() {
			continue
		}
		// As the controller does, an array job id lists the whole array.
		if ids != nil && !slices.Contains(ids, j.ID.String()) && (j.ArrayJobID == 0 || !slices.Contains(ids, j.ArrayJobID.String())) {
			continue
		}
		if u := q.Get("user"); u != "" && j.Spec.User != u {
			continue
		}
		resp.Jobs = append(resp.Jobs, j)
	}
	writeJSON(w, http.StatusOK, resp)
}

// find resolves a job reference as the controller does: a job id, or
// ARRAYID_TASK (the task's job, else the array's record holding it).
func (f *fakeCtld) find(id string) *api.Job {
	ref, err := api.ParseJobRef(id)
	if err != nil {
		return nil
	}
	for _, j := range f.jobs {
		switch {
		case ref.Task == nil && j.ID == ref.ID:
			return j
		case ref.Task != nil && j.IsArrayTask() && j.ArrayJobID == ref.ID && j.ArrayTaskID == *ref.Task:
			return j
		}
	}
	for _, j := range f.jobs {
		if ref.Task != nil && j.IsArrayRecord() && j.ID == ref.ID && j.ArrayPending.Contains(*ref.Task) {
			return j
		}
	}
	return nil
}

// priorities answers GET /v1/priorities from f.prios, filtered as the
// controller filters.
func (f *fakeCtld) priorities(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	resp := f.prios
	resp.Rows = nil
	for _, row := range f.prios.Rows {
		if ids := q.Get("id"); ids != "" && !slices.Contains(strings.Split(ids, ","), row.JobID.String()) {
			continue
		}
		if users := q.Get("user"); users != "" && !slices.Contains(strings.Split(users, ","), row.User) {
			continue
		}
		resp.Rows = append(resp.Rows, row)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeCtld) getJob(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.find(r.PathValue("id"))
	if j == nil {
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "job " + r.PathValue("id") + " not found"})
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (f *fakeCtld) jobAction(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, action := r.PathValue("id"), r.PathValue("action")
	j := f.find(id)
	if j == nil {
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "job " + id + " not found"})
		return
	}
	if action == "checkpoint" && j.State != api.JobRunning {
		writeJSON(w, http.StatusConflict, api.ErrorResponse{Error: "job " + id + " is " + string(j.State) + ": only a running job records checkpoints (fairway checkpoint done runs inside the job)"})
		return
	}
	if action == "cancel" && j.State.Final() {
		// As the controller (raftstore's CancelJob) answers.
		writeJSON(w, http.StatusConflict, api.ErrorResponse{Error: "job " + id + " already " + string(j.State)})
		return
	}
	entry := action + " " + id
	if action == "cancel" {
		var req api.CancelRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Signal != "" {
			entry += " " + req.Signal
		}
		if req.JobOnly {
			entry += " job-only"
		}
	}
	f.actions = append(f.actions, entry)
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: 2})
}

func (f *fakeCtld) submittedSpecs() []api.JobSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.JobSpec(nil), f.submitted...)
}

func (f *fakeCtld) doneActions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.actions...)
}

// testNow is the fixed clock of the tests; testLoc their time zone.
var (
	testLoc = time.FixedZone("TST", 2*3600)
	testNow = time.Date(2024, 6, 15, 14, 30, 0, 0, testLoc)
)

// testEnv is an Env for tests: fixed user, clock, directory and environment.
type testEnv struct {
	vars   map[string]string
	dir    string
	stdin  string
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func (te *testEnv) env() *Env {
	return &Env{
		Stdin:  strings.NewReader(te.stdin),
		Stdout: &te.stdout,
		Stderr: &te.stderr,
		Getenv: func(k string) string { return te.vars[k] },
		Environ: func() []string {
			var out []string
			for k, v := range te.vars {
				out = append(out, k+"="+v)
			}
			return out
		},
		Now:        func() time.Time { return testNow },
		Location:   testLoc,
		Getwd:      func() (string, error) { return te.dir, nil },
		Hostname:   func() (string, error) { return "login1", nil },
		User:       func() (Identity, error) { return Identity{Name: "alice", UID: 1000, GID: 1000}, nil },
		GroupName:  func(gid int) string { return "g" + strconv.Itoa(gid) },
		UserExists: func(name string) bool { return name != "nosuchuser" },
		Executable: func() (string, error) { return "/usr/local/bin/fairway", nil },
	}
}

// run runs the binary as args[0] (e.g. "sbatch") against the fake controller.
func (te *testEnv) run(t *testing.T, f *fakeCtld, args ...string) int {
	t.Helper()
	if te.vars == nil {
		te.vars = map[string]string{}
	}
	if f != nil {
		te.vars["FAIRWAY_ADDR"] = f.srv.URL
	}
	te.stdout.Reset()
	te.stderr.Reset()
	return Run(context.Background(), te.env(), append([]string{"/usr/bin/" + args[0]}, args[1:]...))
}
