package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// preemptedJob is a job of alice preempted twice (the first run lost 2 GPUs
// x 37.5 min, the second nothing: it had just checkpointed) and running
// again since its checkpoint 10 minutes ago.
func preemptedJob(now int64) *api.Job {
	return &api.Job{
		ID: 77, State: api.JobRunning, Partition: "gpu", RestartCount: 2, SubmitTime: now - 9000,
		StartTime: now - 1800, LastCheckpoint: now - 600,
		Spec: api.JobSpec{Name: "trainer", User: "alice", UID: 1000, GID: 1000, Account: "ml", GPUs: 2,
			Nodes: 1, NTasks: 1, CPUsPerTask: 1, WorkDir: "/home/alice"},
		Alloc: []api.NodeAlloc{{Node: "node1", CPUs: 1, GPUs: []int{0, 1}}},
		Runs: []api.JobRun{
			{Run: 0, Nodes: []string{"node1"}, StartTime: now - 8000, EndTime: now - 5000, State: api.JobPreempted, LostGPUSecs: 4500},
			{Run: 1, Nodes: []string{"node1"}, StartTime: now - 4000, EndTime: now - 2000, State: api.JobPreempted},
			{Run: 2, Nodes: []string{"node1"}, StartTime: now - 1800, State: api.JobRunning},
		},
	}
}

// TestSacctLostGPUHours: sacct's LostGPUHours is each run's work lost to a
// preemption, in GPU-hours with two decimals; steps have none.
func TestSacctLostGPUHours(t *testing.T) {
	f := newFakeCtld(t).fixture()
	j := preemptedJob(f.now)
	j.Runs[2].Usage = &api.Usage{UserCPUMillis: 1000, Tasks: 1}
	f.jobs = append(f.jobs, j)
	te := &testEnv{dir: "/home/alice"}
	if code := te.run(t, f, "sacct", "-D", "-j", "77", "-P", "-n", "-o", "JobID,State,LostGPUHours"); code != 0 {
		t.Fatalf("sacct: exit %d: %s", code, te.stderr.String())
	}
	want := "77|PREEMPTED|1.25\n77|PREEMPTED|0.00\n77|RUNNING|0.00\n77.batch|RUNNING|\n"
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("sacct (-want +got):\n%s", diff)
	}
	if code := te.run(t, f, "sacct", "-D", "-j", "77", "-X", "-o", "JobID,LostGPUHours"); code != 0 {
		t.Fatalf("sacct: exit %d: %s", code, te.stderr.String())
	}
	want = "JobID        LostGPUHours \n------------ ------------ \n77                   1.25 \n77                   0.00 \n77                   0.00 \n"
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("sacct (-want +got):\n%s", diff)
	}
}

// TestScontrolShowsCheckpoint: scontrol show job prints the job's last
// checkpoint and the GPU-hours its runs lost to preemptions.
func TestScontrolShowsCheckpoint(t *testing.T) {
	f := newFakeCtld(t).fixture()
	f.jobs = append(f.jobs, preemptedJob(f.now))
	te := &testEnv{dir: "/home/alice"}
	if code := te.run(t, f, "scontrol", "show", "job", "77"); code != 0 {
		t.Fatalf("scontrol: exit %d: %s", code, te.stderr.String())
	}
	want := "   LastCheckpoint=2024-06-15T14:20:00 LostGPUHours=1.25\n"
	if !strings.Contains(te.stdout.String(), want) {
		t.Errorf("scontrol show job lacks %q:\n%s", want, te.stdout.String())
	}
}

// TestCheckpointDoneOlderController: against a controller that has no
// checkpoint route yet, fairway checkpoint done ends the grace time as it
// used to.
func TestCheckpointDoneOlderController(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/end-grace") {
			writeJSON(w, http.StatusOK, api.ActionResponse{Index: 3})
			return
		}
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "no such API endpoint: " + r.Method + " " + r.URL.Path})
	}))
	defer srv.Close()
	te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": srv.URL, "SLURM_JOB_ID": "12"}}
	if code := Run(context.Background(), te.env(), []string{"fairway", "checkpoint", "done"}); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	want := []string{"POST /v1/jobs/12/checkpoint", "POST /v1/jobs/12/end-grace"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
