package sched_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/google/go-cmp/cmp"
)

// TestPassStats checks the figures a pass reports for the metrics (Slurm's
// sdiag): one node of 4 GPUs, a running 2-GPU job for an hour; a 4-GPU job
// blocks for resources (a reservation at the hour), a 1-GPU job of 10
// minutes passes it (a backfill start), a held job is not tested.
func TestPassStats(t *testing.T) {
	cfg := onePartition()
	nodes := gpuNodes("n", 1, 4, "h100", "gpu")
	running := &api.Job{ID: 1, State: api.JobRunning, Partition: "gpu", Spec: spec("a", "u", 1, 2, hour),
		StartTime: t0, SubmitTime: t0, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 16, MemoryMB: 2 * 8192, GPUs: []int{0, 1}}}}
	pending := func(id api.JobID, s api.JobSpec) *api.Job {
		return &api.Job{ID: id, State: api.JobPending, Partition: "gpu", Spec: s, SubmitTime: t0 + int64(id)}
	}
	held := pending(4, spec("a", "u", 1, 1, hour))
	held.Reason = api.ReasonHeldUser
	held.Spec.Hold = true
	tests := []struct {
		name string
		mode string
		want api.PassStats
	}{
		{"easy backfill", api.BackfillEASY, api.PassStats{Pending: 3, Tested: 2, BackfillTested: 1, Reservations: 1, BackfillStarts: 1}},
		{"no backfill", api.BackfillNone, api.PassStats{Pending: 3, Tested: 1, BackfillTested: 0, Reservations: 0, BackfillStarts: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Scheduling.Backfill.Mode = tc.mode
			in := sched.Input{Now: t0 + 60, Config: c, Nodes: nodes, Jobs: []*api.Job{running,
				pending(2, spec("a", "u", 1, 4, hour)), pending(3, spec("a", "u", 1, 1, 600)), held}}
			plan := sched.New().Schedule(in)
			if diff := cmp.Diff(tc.want, plan.Stats); diff != "" {
				t.Errorf("stats (-want +got):\n%s\nplan: %+v", diff, plan)
			}
		})
	}
}
