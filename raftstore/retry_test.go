package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// setupRetry is setup plus jobs with retry policies, all running (job IDs
// from 6), and a gpu partition whose default policy is 1,on_node_fail:
//
//	job 6  "exit3" on n1 (gpu): --retry=2,on_exit:3,on_exit:100-110,on_signal:KILL
//	job 7  "any"   on n1 (gpu): --retry=1 (any failure), requeueable
//	job 8  "off"   on n1 (gpu): --retry=0, --no-requeue
//	job 9  "dflt"  on n1 (gpu): no --retry (the partition's 1,on_node_fail), --no-requeue
//	job 10 "multi" on n2 (cpu, of cpu,gpu): --retry=1
func setupRetry(t testing.TB) *harness {
	t.Helper()
	h := setup(t)
	cfg := testConfig()
	cfg.Partitions[0].Retry = "1,on_node_fail"
	h.must(SetConfig{Config: cfg})
	spec := func(name, retry string, requeue bool, parts ...string) api.JobSpec {
		s := testSpec(name)
		s.Retry, s.Partitions = retry, parts
		if !requeue {
			s.Requeue = boolPtr(false)
		}
		return s
	}
	h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{
		spec("exit3", "2,on_exit:3,on_exit:100-110,on_signal:KILL", true),
		spec("any", "1", true),
		spec("off", "0", false),
		spec("dflt", "", false),
		spec("multi", "1", true, "cpu", "gpu"),
	}})
	on := func(id api.JobID, part, node string) api.Start {
		return api.Start{JobID: id, Partition: part, Alloc: []api.NodeAlloc{{Node: node, CPUs: 1, MemoryMB: 100}}}
	}
	res := h.must(ApplyPlan{Plan: api.Plan{Now: setupNow, Starts: []api.Start{
		on(6, "gpu", "n1"), on(7, "gpu", "n1"), on(8, "gpu", "n1"), on(9, "gpu", "n1"), on(10, "cpu", "n2"),
	}}})
	if len(res.IDs) != 5 {
		t.Fatalf("setupRetry: %d jobs started, want 5", len(res.IDs))
	}
	return h
}

// retryRun is what a user sees of one run in sacct -D.
type retryRun struct {
	State    api.JobState
	ExitCode int
	Signal   int
	Reason   string
}

// retryView is what a user sees of a job after its runs: squeue's state,
// scontrol's Restarts= and Retries, the partition and sacct -D's runs.
type retryView struct {
	State        api.JobState
	Partition    string
	RestartCount int
	Retries      int
	Runs         []retryRun
}

func viewRetry(j *api.Job) retryView {
	v := retryView{State: j.State, Partition: j.Partition, RestartCount: j.RestartCount, Retries: j.Retries}
	for _, r := range j.Runs {
		v.Runs = append(v.Runs, retryRun{State: r.State, ExitCode: r.ExitCode, Signal: r.Signal, Reason: r.Reason})
	}
	return v
}

func exited(id api.JobID, run, code, sig int) JobEvents {
	node := "n1"
	if id == 10 {
		node = "n2"
	}
	return JobEvents{Now: cmdNow, Node: node, Events: []api.JobEvent{{JobID: id, Run: run, Kind: api.EventExited, ExitCode: code, Signal: sig}}}
}

func TestRetryPolicyApply(t *testing.T) {
	const nodeDown = "NodeFail: node n1 down: no heartbeat"
	restart := func(id api.JobID, part, node string) ApplyPlan {
		return ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
			{JobID: id, Partition: part, Alloc: []api.NodeAlloc{{Node: node, CPUs: 1, MemoryMB: 100}}},
		}}}
	}
	tests := []struct {
		name string
		cmds []Command
		want map[api.JobID]retryView
	}{
		{
			name: "an exit code the policy names sends the job back to PENDING, the run kept FAILED with its code",
			cmds: []Command{exited(6, 0, 3, 0)},
			want: map[api.JobID]retryView{6: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 3, 0, "retry 1 of 2 after exit code 3"}}}},
		},
		{
			name: "an exit code in a named range is retried",
			cmds: []Command{exited(6, 0, 105, 0)},
			want: map[api.JobID]retryView{6: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 105, 0, "retry 1 of 2 after exit code 105"}}}},
		},
		{
			name: "an exit code the policy does not name ends the job FAILED after one run",
			cmds: []Command{exited(6, 0, 4, 0)},
			want: map[api.JobID]retryView{6: {State: api.JobFailed, Partition: "gpu",
				Runs: []retryRun{{api.JobFailed, 4, 0, api.ReasonNonZeroExit}}}},
		},
		{
			name: "a signal named by its name is retried",
			cmds: []Command{exited(6, 0, 137, 9)},
			want: map[api.JobID]retryView{6: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 137, 9, "retry 1 of 2 after signal 9"}}}},
		},
		{
			name: "a signal the policy does not name is not",
			cmds: []Command{exited(6, 0, 139, 11)},
			want: map[api.JobID]retryView{6: {State: api.JobFailed, Partition: "gpu",
				Runs: []retryRun{{api.JobFailed, 139, 11, "RaisedSignal:11"}}}},
		},
		{
			name: "success is never retried",
			cmds: []Command{exited(6, 0, 0, 0)},
			want: map[api.JobID]retryView{6: {State: api.JobCompleted, Partition: "gpu",
				Runs: []retryRun{{api.JobCompleted, 0, 0, api.ReasonNone}}}},
		},
		{
			name: "a policy without conditions retries the out-of-memory killer",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 7, Kind: api.EventExited, ExitCode: 137, Signal: 9, OOM: true}}}},
			want: map[api.JobID]retryView{7: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobOutOfMemory, 137, 9, "retry 1 of 1 after out of memory"}}}},
		},
		{
			name: "a policy with conditions that do not name it ends the job OUT_OF_MEMORY",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited, ExitCode: 137, Signal: 9, OOM: true}}}},
			want: map[api.JobID]retryView{6: {State: api.JobOutOfMemory, Partition: "gpu",
				Runs: []retryRun{{api.JobOutOfMemory, 137, 9, "OutOfMemory"}}}},
		},
		{
			name: "a launch failure is retried, keeping the node's message",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 7, Kind: api.EventLaunchFail, ExitCode: 1, Message: "no image"}}}},
			want: map[api.JobID]retryView{7: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 1, 0, "retry 1 of 1 after launch failure; LaunchFailed: no image"}}}},
		},
		{
			name: "when the retries are used up the last failure ends the job",
			cmds: []Command{exited(7, 0, 1, 0), restart(7, "gpu", "n1"), exited(7, 1, 2, 0)},
			want: map[api.JobID]retryView{7: {State: api.JobFailed, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 1, 0, "retry 1 of 1 after exit code 1"}, {api.JobFailed, 2, 0, api.ReasonNonZeroExit}}}},
		},
		{
			name: "the second attempt completes",
			cmds: []Command{exited(6, 0, 3, 0), restart(6, "gpu", "n1"), exited(6, 1, 0, 0)},
			want: map[api.JobID]retryView{6: {State: api.JobCompleted, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 3, 0, "retry 1 of 2 after exit code 3"}, {api.JobCompleted, 0, 0, api.ReasonNone}}}},
		},
		{
			name: "a retried job may start in another of its partitions",
			cmds: []Command{exited(6, 0, 0, 0), exited(10, 0, 1, 0), restart(10, "gpu", "n1")}, // job 6 leaves a CPU on n1
			want: map[api.JobID]retryView{10: {State: api.JobRunning, Partition: "gpu", RestartCount: 1, Retries: 1,
				Runs: []retryRun{{api.JobFailed, 1, 0, "retry 1 of 1 after exit code 1"}, {api.JobRunning, 0, 0, ""}}}},
		},
		{
			name: "node down: the partition's default retries a --no-requeue job; --retry=0 turns it off; requeueable jobs are requeued without using a retry",
			cmds: []Command{MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "no heartbeat"}},
			want: map[api.JobID]retryView{
				9: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Retries: 1,
					Runs: []retryRun{{api.JobNodeFail, 0, 0, "retry 1 of 1 after node failure; " + nodeDown}}},
				8: {State: api.JobNodeFail, Partition: "gpu", Runs: []retryRun{{api.JobNodeFail, 0, 0, nodeDown}}},
				7: {State: api.JobPending, Partition: "gpu", RestartCount: 1, Runs: []retryRun{{api.JobNodeFail, 0, 0, nodeDown}}},
			},
		},
		{
			name: "the partition's default does not name an exit code",
			cmds: []Command{exited(9, 0, 1, 0)},
			want: map[api.JobID]retryView{9: {State: api.JobFailed, Partition: "gpu",
				Runs: []retryRun{{api.JobFailed, 1, 0, api.ReasonNonZeroExit}}}},
		},
		{
			name: "a cancelled job is not retried, whatever its exit",
			cmds: []Command{CancelJob{Now: cmdNow, ID: 7}, exited(7, 0, 143, 15)},
			want: map[api.JobID]retryView{7: {State: api.JobCancelled, Partition: "gpu",
				Runs: []retryRun{{api.JobCancelled, 143, 15, api.ReasonCancelled}}}},
		},
		{
			name: "a timed-out job is not retried",
			cmds: []Command{KillJob{Now: cmdNow, ID: 7, Kill: api.KillRequest{State: api.JobTimeout}}, exited(7, 0, 143, 15)},
			want: map[api.JobID]retryView{7: {State: api.JobTimeout, Partition: "gpu",
				Runs: []retryRun{{api.JobTimeout, 143, 15, api.ReasonTimeLimit}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setupRetry(t)
			for i, c := range tt.cmds {
				if _, err := h.apply(c); err != nil {
					t.Fatalf("command %d (%T): %v", i, c, err)
				}
			}
			got := map[api.JobID]retryView{}
			for id := range tt.want {
				j, ok := h.state().Job(id)
				if !ok {
					t.Fatalf("job %d is gone", id)
				}
				got[id] = viewRetry(j)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRetryKeepsItsPlace checks that a retried job keeps its submit time
// (its place in the prioritization) and its ID, as a requeue does.
func TestRetryKeepsItsPlace(t *testing.T) {
	h := setupRetry(t)
	before, _ := h.state().Job(6)
	h.must(exited(6, 0, 3, 0))
	after, _ := h.state().Job(6)
	if after.ID != before.ID || after.SubmitTime != before.SubmitTime || after.Reason != api.ReasonRequeued {
		t.Errorf("retried job: ID %d submit %d reason %q, want ID %d submit %d reason %q",
			after.ID, after.SubmitTime, after.Reason, before.ID, before.SubmitTime, api.ReasonRequeued)
	}
	if after.StartTime != 0 || after.EndTime != 0 || after.Alloc != nil {
		t.Errorf("retried job keeps its last run's start %d, end %d, alloc %v", after.StartTime, after.EndTime, after.Alloc)
	}
}
