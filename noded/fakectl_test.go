package noded

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// fakeController implements the endpoints the node daemon calls, with a
// tiny state machine: events end jobs, and every change raises the index that
// blocking queries wait on.
type fakeController struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	index      uint64
	down       bool // answer 503 to everything
	jobs       map[api.JobID]*api.Job
	events     []api.JobEvent
	registered map[string]api.RegisterNodeRequest
	registers  int
	heartbeats []api.HeartbeatRequest
	requests   int
	lease      api.HeartbeatResponse // the lease granted with each heartbeat (none: zero)
	steps      map[api.JobID][]*api.Step
	stepReps   []api.StepReport
}

func newFakeController(t *testing.T) *fakeController {
	f := &fakeController{
		t:          t,
		changed:    make(chan struct{}),
		index:      1,
		jobs:       map[api.JobID]*api.Job{},
		registered: map[string]api.RegisterNodeRequest{},
		steps:      map[api.JobID][]*api.Step{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/nodes/register", f.register)
	mux.HandleFunc("POST /v1/nodes/{name}/heartbeat", f.heartbeat)
	mux.HandleFunc("POST /v1/nodes/{name}/events", f.postEvents)
	mux.HandleFunc("GET /v1/nodes/{name}/jobs", f.nodeJobs)
	mux.HandleFunc("GET /v1/jobs", f.listJobs)
	mux.HandleFunc("GET /v1/jobs/{id}/steps", f.listSteps)
	mux.HandleFunc("POST /v1/nodes/{name}/steps", f.reportStep)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		down := f.down
		f.mu.Unlock()
		if down {
			writeJSON(w, http.StatusServiceUnavailable, api.ErrorResponse{Error: "no leader"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeController) addr() string { return f.srv.URL }

// bump records a change; the caller holds f.mu.
func (f *fakeController) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeController) register(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterNodeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered[req.Name] = req
	f.registers++
	f.bump()
	writeJSON(w, http.StatusOK, api.RegisterNodeResponse{Index: f.index, Node: api.Node{Name: req.Name}})
}

func (f *fakeController) heartbeat(w http.ResponseWriter, r *http.Request) {
	var req api.HeartbeatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.registered[r.PathValue("name")]; !ok {
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "unknown node"})
		return
	}
	f.heartbeats = append(f.heartbeats, req)
	resp := f.lease
	resp.Index = f.index
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeController) postEvents(w http.ResponseWriter, r *http.Request) {
	var req api.EventsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range req.Events {
		f.events = append(f.events, ev)
		job := f.jobs[ev.JobID]
		if job == nil || job.State != api.JobRunning || job.RestartCount != ev.Run {
			continue // idempotent: not the current run
		}
		switch ev.Kind {
		case api.EventExited, api.EventLaunchFail, api.EventLost:
			job.State = api.JobCompleted
			if ev.Kind != api.EventExited || ev.ExitCode != 0 || ev.Signal != 0 {
				job.State = api.JobFailed
			}
			job.Alloc = nil
			job.EndTime = time.Now().Unix()
		}
	}
	f.bump()
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: f.index})
}

func (f *fakeController) nodeJobs(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("name")
	minIndex, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	deadline := time.After(wait)
	for {
		f.mu.Lock()
		if _, ok := f.registered[node]; !ok {
			f.mu.Unlock()
			writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "unknown node"})
			return
		}
		if f.index > minIndex || wait == 0 {
			resp := api.JobsResponse{Index: f.index, Now: time.Now().Unix()}
			for _, j := range f.jobs {
				if j.State == api.JobRunning && len(j.Alloc) > 0 && j.Alloc[0].Node == node {
					c := *j
					resp.Jobs = append(resp.Jobs, &c)
				}
			}
			f.mu.Unlock()
			w.Header().Set(api.IndexHeader, strconv.FormatUint(resp.Index, 10))
			writeJSON(w, http.StatusOK, resp)
			return
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

// listJobs answers GET /v1/jobs?all=1&id=...: the jobs named, finished or not.
func (f *fakeController) listJobs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := api.JobsResponse{Index: f.index, Now: time.Now().Unix(), Jobs: []*api.Job{}}
	for _, s := range strings.Split(r.URL.Query().Get("id"), ",") {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			continue
		}
		if j, ok := f.jobs[api.JobID(n)]; ok {
			c := *j
			resp.Jobs = append(resp.Jobs, &c)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// setJob stores a job as it is (any state), for the daemon's lookups.
func (f *fakeController) setJob(job api.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[job.ID] = &job
	f.bump()
}

// addJob makes a job RUNNING on node with run number job.RestartCount.
func (f *fakeController) addJob(job api.Job, node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	job.State = api.JobRunning
	if len(job.Alloc) == 0 {
		job.Alloc = []api.NodeAlloc{{Node: node, CPUs: max(job.Spec.CPUsPerTask, 1), MemoryMB: job.Spec.MemoryMB}}
	}
	job.StartTime = time.Now().Unix()
	f.jobs[job.ID] = &job
	f.bump()
}

// eventsOf returns the events reported for a job, in order.
func (f *fakeController) eventsOf(id api.JobID) []api.JobEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.JobEvent
	for _, ev := range f.events {
		if ev.JobID == id {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvent polls until a job has an event of the given kind and returns it.
func (f *fakeController) waitEvent(t *testing.T, id api.JobID, kind api.JobEventKind, within time.Duration) api.JobEvent {
	t.Helper()
	var got api.JobEvent
	waitFor(t, within, func() bool {
		for _, ev := range f.eventsOf(id) {
			if ev.Kind == kind {
				got = ev
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("job %d: no %s event (events: %+v)", id, kind, f.eventsOf(id)) })
	return got
}

// countKinds counts a job's events by kind.
func (f *fakeController) countKinds(id api.JobID) map[api.JobEventKind]int {
	out := map[api.JobEventKind]int{}
	for _, ev := range f.eventsOf(id) {
		out[ev.Kind]++
	}
	return out
}

// listSteps answers GET /v1/jobs/{id}/steps.
func (f *fakeController) listSteps(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.jobs[api.JobID(id)]; !ok {
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "no such job"})
		return
	}
	resp := api.StepsResponse{Index: f.index, Steps: []*api.Step{}}
	for _, st := range f.steps[api.JobID(id)] {
		c := *st
		resp.Steps = append(resp.Steps, &c)
	}
	writeJSON(w, http.StatusOK, resp)
}

// reportStep answers POST /v1/nodes/{name}/steps: it records the report.
func (f *fakeController) reportStep(w http.ResponseWriter, r *http.Request) {
	var rep api.StepReport
	if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stepReps = append(f.stepReps, rep)
	f.bump()
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: f.index})
}
