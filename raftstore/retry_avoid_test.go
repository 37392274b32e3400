package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestRetryAvoidsTheFailedRunsNodes: a failed run the retry policy sends
// back records its nodes in Job.AvoidNodes (the scheduler keeps the next
// attempt off them); a requeue that is not a retry, and the job's end,
// leave nothing to avoid. See setupRetry for the jobs.
func TestRetryAvoidsTheFailedRunsNodes(t *testing.T) {
	restart := func(id api.JobID, node string) ApplyPlan {
		return ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
			{JobID: id, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: node, CPUs: 1, MemoryMB: 100}}},
		}}}
	}
	for _, tc := range []struct {
		name string
		cmds []Command
		want map[api.JobID][]string
	}{
		{name: "an exit the policy retries: the run's node", cmds: []Command{exited(6, 0, 3, 0)}, want: map[api.JobID][]string{6: {"n1"}}},
		{name: "an exit it does not: the job ends, nothing", cmds: []Command{exited(6, 0, 4, 0)}, want: map[api.JobID][]string{6: nil}},
		{
			name: "node down: the retried job avoids n1, the requeued one (no retry) does not",
			cmds: []Command{MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "no heartbeat"}},
			want: map[api.JobID][]string{9: {"n1"}, 7: nil},
		},
		{
			name: "the second attempt's failure replaces the first's nodes",
			cmds: []Command{exited(6, 0, 3, 0), restart(6, "n3"), JobEvents{Now: cmdNow, Node: "n3",
				Events: []api.JobEvent{{JobID: 6, Run: 1, Kind: api.EventExited, ExitCode: 3}}}},
			want: map[api.JobID][]string{6: {"n3"}},
		},
		{
			name: "the second attempt completes: nothing",
			cmds: []Command{exited(6, 0, 3, 0), restart(6, "n1"), exited(6, 1, 0, 0)},
			want: map[api.JobID][]string{6: nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setupRetry(t)
			for i, c := range tc.cmds {
				if _, err := h.apply(c); err != nil {
					t.Fatalf("command %d (%T): %v", i, c, err)
				}
			}
			got := map[api.JobID][]string{}
			for id := range tc.want {
				j, ok := h.state().Job(id)
				if !ok {
					t.Fatalf("job %d is gone", id)
				}
				got[id] = j.AvoidNodes
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("nodes to avoid (-want +got):\n%s", diff)
			}
		})
	}
}
