package planapply_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/planapply"
)

func TestLostGPUSecs(t *testing.T) {
	tests := []struct {
		name                   string
		gpus                   int
		start, end, checkpoint int64
		want                   int64
	}{
		{"never checkpointed: since the start", 2, 1000, 1600, 0, 1200},
		{"checkpointed during the run: since the checkpoint", 2, 1000, 1600, 1500, 200},
		{"checkpoint of an earlier run: since this run's start", 4, 1000, 1100, 900, 400},
		{"checkpoint at the end loses nothing", 2, 1000, 1600, 1600, 0},
		{"checkpoint after the end (leader clock skew) loses nothing", 2, 1000, 1600, 1700, 0},
		{"no GPUs loses nothing", 0, 1000, 1600, 0, 0},
		{"end before start loses nothing", 1, 1000, 900, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planapply.LostGPUSecs(tt.gpus, tt.start, tt.end, tt.checkpoint); got != tt.want {
				t.Errorf("LostGPUSecs(%d, %d, %d, %d) = %d, want %d", tt.gpus, tt.start, tt.end, tt.checkpoint, got, tt.want)
			}
		})
	}
}

func TestPreemptionReason(t *testing.T) {
	tests := []struct {
		name string
		kill *api.KillRequest
		want string
	}{
		{"no kill", nil, ""},
		{"a plan's reclaim", &api.KillRequest{State: api.JobPreempted, Requeue: true, For: 3, Preemption: "reclaim"}, "reclaim"},
		{"a plan's priority preemption without requeue", &api.KillRequest{State: api.JobPreempted, For: 3, Preemption: "priority"}, "priority"},
		{"recorded before reasons were kept", &api.KillRequest{State: api.JobPreempted, Requeue: true, For: 3}, planapply.PreemptOther},
		{"scancel", &api.KillRequest{State: api.JobCancelled}, ""},
		{"time limit", &api.KillRequest{State: api.JobTimeout}, ""},
		{"scontrol requeue", &api.KillRequest{State: api.JobPending, Requeue: true}, ""},
		{"a KillJob preemption without a plan", &api.KillRequest{State: api.JobPreempted}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planapply.PreemptionReason(tt.kill); got != tt.want {
				t.Errorf("PreemptionReason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAllocGPUs(t *testing.T) {
	alloc := []api.NodeAlloc{{Node: "a", GPUs: []int{0, 1}}, {Node: "b"}, {Node: "c", GPUs: []int{3}}}
	if got := planapply.AllocGPUs(alloc); got != 3 {
		t.Errorf("AllocGPUs = %d, want 3", got)
	}
}

// TestKillForKeepsThePreemptionReason: the kill request carries the plan
// preemption's reason, "other" when the plan named none, so the totals
// per reason can be kept when the request is applied and when the run ends.
func TestKillForKeepsThePreemptionReason(t *testing.T) {
	cfg := &api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", PreemptMode: api.PreemptRequeue}}}
	j := &api.Job{ID: 4, State: api.JobRunning, Partition: "gpu"}
	for reason, want := range map[string]string{"reclaim": "reclaim", "priority": "priority", "": planapply.PreemptOther} {
		k, why := planapply.KillFor(cfg, j, api.Preemption{JobID: 4, Reason: reason, For: 9}, 100)
		if k == nil {
			t.Fatalf("KillFor(reason %q) = nil: %s", reason, why)
		}
		if k.Preemption != want || planapply.PreemptionReason(k) != want {
			t.Errorf("KillFor(reason %q).Preemption = %q (PreemptionReason %q), want %q", reason, k.Preemption, planapply.PreemptionReason(k), want)
		}
	}
}
