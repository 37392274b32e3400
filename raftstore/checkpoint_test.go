package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestCheckpointDirAndTimeLimit: a job gets its checkpoint directory under
// the configured base when it gets its ID (an array task its own), keeps it
// across requeues, and gets the time limit of its run when it starts.
func TestCheckpointDirAndTimeLimit(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.Partitions[0].DefaultTimeSecs = 600
	cfg.Scheduling.CheckpointDirBase = "/shared/ckpt"
	h.must(SetConfig{Config: cfg})
	h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
		Name: "n1", Partitions: []string{"gpu"},
		Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1")},
	}})
	plain, timed, arr := testSpec("plain"), testSpec("timed"), testSpec("arr")
	timed.TimeLimitSecs = 120
	arr.Array = "0-1"
	h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{plain, timed, arr}})
	task := 0
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
		{JobID: 2, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
		{JobID: 3, ArrayTaskID: &task, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
	}}})
	h.must(RequeueJob{Now: cmdNow, ID: 1})
	h.must(JobEvents{Now: cmdNow + 1, Node: "n1", Events: []api.JobEvent{{JobID: 1, Kind: api.EventExited, Signal: 15}}})

	type row struct {
		ID            api.JobID
		State         api.JobState
		CheckpointDir string
		TimeLimitSecs int64
	}
	var got []row
	for _, j := range h.state().Jobs() {
		got = append(got, row{j.ID, j.State, j.CheckpointDir, j.TimeLimitSecs})
	}
	want := []row{
		{1, api.JobPending, "/shared/ckpt/1", 600}, // requeued: same directory
		{2, api.JobRunning, "/shared/ckpt/2", 120},
		{3, api.JobPending, "/shared/ckpt/3", 0}, // the array's record, task 1 pending
		{4, api.JobRunning, "/shared/ckpt/4", 600},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}

	// Without a configured base the node daemon chooses.
	h.must(SetConfig{Config: testConfig()})
	ids := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{plain}}).IDs
	if j, _ := h.state().Job(ids[0]); j.CheckpointDir != "" {
		t.Errorf("checkpoint dir without a configured base = %q, want empty", j.CheckpointDir)
	}
}
