package planapply_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/fairway-hpc/fairway/sched/schedtest"
)

// TestStartKeepsPriority: a job that starts keeps the priority of the pass
// that started it (Slurm's squeue %Q of a running job; 0 would mean held),
// also when it starts in its first pass; a start without one (an older
// controller's plan) leaves the job's as it was.
func TestStartKeepsPriority(t *testing.T) {
	cfg := api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", Default: true, DefMemPerNodeMB: 10}},
		Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{JobSize: 1000}}}
	nodes := []*api.Node{schedtest.Node("n1", 4, 1000, 2, "h100", "gpu")}
	mem := planapply.NewMem(&cfg, nodes)
	spec := api.JobSpec{Nodes: 1, NTasks: 1, CPUsPerTask: 1, Partitions: []string{"gpu"}}
	for _, j := range []*api.Job{
		{ID: 1, Spec: spec, State: api.JobPending},
		{ID: 2, Spec: spec, State: api.JobPending, Priority: 77},
	} {
		if err := mem.PutJob(j); err != nil {
			t.Fatal(err)
		}
	}
	// The scheduler's plan for job 1 carries its priority.
	plan := sched.New().Schedule(sched.Input{Now: 100, Config: cfg, Nodes: nodes, Jobs: []*api.Job{mem.Job(1)}})
	if len(plan.Starts) != 1 || plan.Starts[0].Priority == 0 {
		t.Fatalf("plan starts %+v, want job 1 with a priority", plan.Starts)
	}
	want := plan.Starts[0].Priority
	plan.Starts = append(plan.Starts, api.Start{JobID: 2, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}})
	if _, err := planapply.Apply(mem, &plan); err != nil {
		t.Fatal(err)
	}
	if got := mem.Job(1); got.State != api.JobRunning || got.Priority != want {
		t.Errorf("job 1: %s with priority %d, want RUNNING with %d", got.State, got.Priority, want)
	}
	if got := mem.Job(2); got.State != api.JobRunning || got.Priority != 77 {
		t.Errorf("job 2: %s with priority %d, want RUNNING keeping 77", got.State, got.Priority)
	}
}
