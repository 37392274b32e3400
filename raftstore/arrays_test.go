package raftstore

import (
	"strconv"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

func intPtr(i int) *int { return &i }

// arraySpec is a job array spec with output file arr-%A_%a.out.
func arraySpec(expr string) api.JobSpec {
	s := testSpec("arr")
	s.Array = expr
	s.Stdout = "arr-%A_%a.out"
	return s
}

// arrayRecord is the record SubmitJobs stores for arraySpec(expr) as job id.
func arrayRecord(id api.JobID, expr string, pending api.TaskIDs, maxRun int, submit int64) *api.Job {
	return &api.Job{
		ID: id, Spec: arraySpec(expr), State: api.JobPending, Reason: api.ReasonPriority, Partition: "gpu",
		SubmitTime: submit, ArrayJobID: id, ArrayTaskID: -1, ArrayPending: pending, ArrayMaxRun: maxRun,
		StdoutPath: "/home/ann/arr-6_4294967294.out", StderrPath: "/home/ann/arr-6_4294967294.out",
	}
}

// runningTask is task `task` of array 6 as a job of its own (id), started
// on n1 at cmdNow with one CPU.
func runningTask(id api.JobID, expr string, task int, submit int64) *api.Job {
	spec := arraySpec(expr)
	spec.Array = ""
	out := "/home/ann/arr-6_" + strconv.Itoa(task) + ".out"
	return &api.Job{
		ID: id, Spec: spec, State: api.JobRunning, Reason: api.ReasonNone, Partition: "gpu",
		SubmitTime: submit, StartTime: cmdNow, TimeLimitSecs: api.DefaultTimeLimitSecs,
		Alloc:      []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 100}},
		Runs:       []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: cmdNow, State: api.JobRunning}},
		ArrayJobID: 6, ArrayTaskID: task, StdoutPath: out, StderrPath: out,
	}
}

// startTasks is a plan starting the given tasks of array 6 on n1.
func startTasks(tasks ...int) ApplyPlan {
	p := ApplyPlan{Plan: api.Plan{Now: cmdNow}}
	for _, t := range tasks {
		p.Plan.Starts = append(p.Plan.Starts, api.Start{JobID: 6, ArrayTaskID: intPtr(t), Partition: "gpu",
			Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 100}}})
	}
	return p
}

func TestApplyJobArrays(t *testing.T) {
	const submitted = cmdNow - 100
	submit := func(expr string) SubmitJobs {
		return SubmitJobs{Now: submitted, Specs: []api.JobSpec{arraySpec(expr)}}
	}
	cancelled := func(j *api.Job) *api.Job {
		j.State, j.Reason, j.EndTime = api.JobCancelled, "by ann", cmdNow
		return j
	}
	tests := []jobCommandCase{
		{
			name:       "an array is one pending record however many tasks it has",
			cmds:       []Command{SubmitJobs{Now: submitted, Specs: []api.JobSpec{arraySpec("0-99999:1%8")}}},
			wantResult: []api.JobID{6},
			added: []*api.Job{func() *api.Job {
				all, _ := api.ParseArray("0-99999", 0)
				return arrayRecord(6, "0-99999:1%8", all.Tasks, 8, submitted)
			}()},
		},
		{
			name:      "an array above MaxArraySize is rejected",
			cmds:      []Command{submit("0-100001")},
			wantField: "--array",
		},
		{
			name:       "a task start splits the task off into a new job that keeps the submit time",
			cmds:       []Command{submit("0-3%2"), startTasks(2)},
			wantResult: []api.JobID{7},
			added: []*api.Job{
				arrayRecord(6, "0-3%2", api.TaskIDs{0, 1, 3}, 2, submitted),
				runningTask(7, "0-3%2", 2, submitted),
			},
		},
		{
			name:       "starts beyond the %N throttle are dropped",
			cmds:       []Command{submit("0-3%2"), startTasks(0, 1, 3)},
			wantResult: []api.JobID{7, 8},
			added: []*api.Job{
				arrayRecord(6, "0-3%2", api.TaskIDs{2, 3}, 2, submitted),
				runningTask(7, "0-3%2", 0, submitted),
				runningTask(8, "0-3%2", 1, submitted),
			},
		},
		{
			name:       "the last task to start takes over the record and its id",
			cmds:       []Command{submit("4,6"), startTasks(6), startTasks(4)},
			wantResult: []api.JobID{6},
			added: []*api.Job{
				runningTask(6, "4,6", 4, submitted),
				runningTask(7, "4,6", 6, submitted),
			},
		},
		{
			name: "starts of a task not pending, of the record without a task or naming a task of a plain job are dropped",
			cmds: []Command{submit("0-1"), startTasks(0), startTasks(0, 5), ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
				{JobID: 1, ArrayTaskID: intPtr(0), Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
			}}}},
			wantResult: []api.JobID{},
			added: []*api.Job{
				arrayRecord(6, "0-1", api.TaskIDs{1}, 0, submitted),
				runningTask(7, "0-1", 0, submitted),
			},
		},
		{
			name: "a held array starts no task",
			cmds: []Command{submit("0-1"), HoldJob{ID: 6}, startTasks(0)},
			added: []*api.Job{func() *api.Job {
				j := arrayRecord(6, "0-1", api.TaskIDs{0, 1}, 0, submitted)
				j.Spec.Hold, j.Reason = true, api.ReasonHeldUser
				return j
			}()},
		},
		{
			name: "cancelling the array job id cancels the pending remainder and every running task",
			cmds: []Command{submit("0-3"), startTasks(0, 1), CancelJob{Now: cmdNow, ID: 6, Reason: "by ann"}},
			added: []*api.Job{
				cancelled(arrayRecord(6, "0-3", api.TaskIDs{2, 3}, 0, submitted)),
				func() *api.Job {
					j := runningTask(7, "0-3", 0, submitted)
					j.Kill = &api.KillRequest{State: api.JobCancelled, Reason: "by ann", RequestedAt: cmdNow}
					return j
				}(),
				func() *api.Job {
					j := runningTask(8, "0-3", 1, submitted)
					j.Kill = &api.KillRequest{State: api.JobCancelled, Reason: "by ann", RequestedAt: cmdNow}
					return j
				}(),
			},
		},
		{
			name: "cancelling the array job id alone cancels the tasks that have not started only",
			cmds: []Command{submit("0-3"), startTasks(0), CancelJob{Now: cmdNow, ID: 6, JobOnly: true, Reason: "by ann"}},
			added: []*api.Job{
				cancelled(arrayRecord(6, "0-3", api.TaskIDs{1, 2, 3}, 0, submitted)),
				runningTask(7, "0-3", 0, submitted),
			},
		},
		{
			name: "the array job id still cancels the tasks after its record expired",
			cmds: []Command{submit("0-1"), startTasks(0), CancelJob{Now: cmdNow, ID: 6, JobOnly: true},
				ExpireJobs{Now: cmdNow + 10, Before: cmdNow + 1}, CancelJob{Now: cmdNow + 10, ID: 6, Reason: "by ann"}},
			deleted: []api.JobID{4}, // the setup's completed job expires too
			added: []*api.Job{func() *api.Job {
				j := runningTask(7, "0-1", 0, submitted)
				j.Kill = &api.KillRequest{State: api.JobCancelled, Reason: "by ann", RequestedAt: cmdNow + 10}
				return j
			}()},
		},
		{
			name: "cancelling one running task leaves the others",
			cmds: []Command{submit("0-3"), startTasks(0, 1), CancelJob{Now: cmdNow, ID: 6, Task: intPtr(1), Reason: "by ann"}},
			added: []*api.Job{
				arrayRecord(6, "0-3", api.TaskIDs{2, 3}, 0, submitted),
				runningTask(7, "0-3", 0, submitted),
				func() *api.Job {
					j := runningTask(8, "0-3", 1, submitted)
					j.Kill = &api.KillRequest{State: api.JobCancelled, Reason: "by ann", RequestedAt: cmdNow}
					return j
				}(),
			},
		},
		{
			name: "cancelling a task that has not started splits it off, cancelled",
			cmds: []Command{submit("0-3"), CancelJob{Now: cmdNow, ID: 6, Task: intPtr(2), Reason: "by ann"}},
			added: []*api.Job{
				arrayRecord(6, "0-3", api.TaskIDs{0, 1, 3}, 0, submitted),
				func() *api.Job {
					spec := arraySpec("0-3")
					spec.Array = ""
					return &api.Job{ID: 7, Spec: spec, State: api.JobCancelled, Reason: "by ann", Partition: "gpu",
						SubmitTime: submitted, EndTime: cmdNow, ArrayJobID: 6, ArrayTaskID: 2,
						StdoutPath: "/home/ann/arr-6_2.out", StderrPath: "/home/ann/arr-6_2.out"}
				}(),
			},
		},
		{
			name: "a user's cancel records the uid on each job it cancels",
			cmds: []Command{submit("0-1"), startTasks(0), CancelJob{Now: cmdNow, ID: 6, Reason: "by ann", UID: intPtr(1000)}},
			added: []*api.Job{
				func() *api.Job {
					j := cancelled(arrayRecord(6, "0-1", api.TaskIDs{1}, 0, submitted))
					j.CancelledBy = intPtr(1000)
					return j
				}(),
				func() *api.Job {
					j := runningTask(7, "0-1", 0, submitted)
					j.Kill = &api.KillRequest{State: api.JobCancelled, Reason: "by ann", RequestedAt: cmdNow}
					j.CancelledBy = intPtr(1000)
					return j
				}(),
			},
		},
		{
			name:    "cancelling a task the array does not have is not found",
			cmds:    []Command{submit("0-3"), CancelJob{Now: cmdNow, ID: 6, Task: intPtr(9)}},
			wantErr: ErrNotFound,
			wantMsg: "job 6_9 not found",
			added:   []*api.Job{arrayRecord(6, "0-3", api.TaskIDs{0, 1, 2, 3}, 0, submitted)},
		},
		{
			name: "cancelling a finished array is a conflict",
			cmds: []Command{submit("0"), CancelJob{Now: cmdNow, ID: 6, Reason: "by ann"}, CancelJob{Now: cmdNow, ID: 6}},
			added: []*api.Job{func() *api.Job {
				j := cancelled(arrayRecord(6, "0", api.TaskIDs{0}, 0, submitted))
				return j
			}()},
			wantErr: ErrConflict,
			wantMsg: "job array 6 already CANCELLED",
		},
	}
	runJobCommandCases(t, tests)
}

func TestApplyPreemptionSettings(t *testing.T) {
	qosCfg := testConfig()
	qosCfg.Partitions[0].PreemptMode = api.PreemptCancel
	qosCfg.QOS = []api.QOS{
		{Name: "scavenger", PreemptMode: api.PreemptRequeue, GraceSecs: 5},
		{Name: "prod", PreemptMode: api.PreemptOff},
		{Name: "plain"},
	}
	// qosJob submits job 6 with a QOS, starts it on n1 and preempts it.
	qosJob := func(qos string) []Command {
		s := testSpec("q")
		s.QOS = qos
		return []Command{
			SetConfig{Config: qosCfg},
			SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{s}},
			ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}}}}},
			ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 6, Reason: "reclaim", For: 1}}}},
		}
	}
	running := func(qos string, kill *api.KillRequest) *api.Job {
		s := testSpec("q")
		s.QOS = qos
		return &api.Job{ID: 6, Spec: s, State: api.JobRunning, Reason: api.ReasonNone, Partition: "gpu",
			SubmitTime: cmdNow, StartTime: cmdNow, TimeLimitSecs: api.DefaultTimeLimitSecs, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}},
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: cmdNow, State: api.JobRunning}},
			Kill: kill, StdoutPath: "/home/ann/slurm-6.out", StderrPath: "/home/ann/slurm-6.out"}
	}
	tests := []jobCommandCase{
		{
			name: "the QOS's preempt mode and grace override the partition's; the kill names the job it makes room for",
			cmds: qosJob("scavenger"),
			added: []*api.Job{running("scavenger", &api.KillRequest{State: api.JobPreempted, Requeue: true,
				Reason: "Preempted (reclaim) for job 1", Signal: "USR1", GraceSecs: 5, RequestedAt: cmdNow, For: 1, Preemption: "reclaim"})},
		},
		{
			name: "without a QOS setting the partition's mode applies: cancel ends the job PREEMPTED",
			cmds: qosJob("plain"),
			added: []*api.Job{running("plain", &api.KillRequest{State: api.JobPreempted, Requeue: false,
				Reason: "Preempted (reclaim) for job 1; not requeued: preempt mode cancel", Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, For: 1, Preemption: "reclaim"})},
		},
		{
			name:  "a job whose preempt mode is off is not preempted",
			cmds:  qosJob("prod"),
			added: []*api.Job{running("prod", nil)},
		},
		{
			name: "a KillJob preemption gets the checkpoint signal and grace time it does not name",
			cmds: []Command{KillJob{Now: cmdNow, ID: 2, Kill: api.KillRequest{State: api.JobPreempted, Requeue: true, For: 1}}},
			changes: map[api.JobID]jobChange{2: withKill(api.KillRequest{State: api.JobPreempted, Requeue: true,
				Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, For: 1})},
		},
	}
	runJobCommandCases(t, tests)
}

func TestStateArrayTask(t *testing.T) {
	h := setup(t)
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{arraySpec("0-3")}})
	h.must(startTasks(1))
	st := h.state()
	tests := []struct {
		task   int
		wantID api.JobID // 0: not found
	}{
		{1, 7}, // started: its own job
		{2, 6}, // pending: the record
		{9, 0},
	}
	for _, tt := range tests {
		j, ok := st.ArrayTask(6, tt.task)
		switch {
		case tt.wantID == 0 && ok:
			t.Errorf("ArrayTask(6, %d) = job %d, want none", tt.task, j.ID)
		case tt.wantID != 0 && (!ok || j.ID != tt.wantID):
			t.Errorf("ArrayTask(6, %d) = %v, %v; want job %d", tt.task, j, ok, tt.wantID)
		}
	}
	var ids []api.JobID
	for _, j := range st.ArrayJobs(6) {
		ids = append(ids, j.ID)
	}
	if len(ids) != 2 || ids[0] != 6 || ids[1] != 7 {
		t.Errorf("ArrayJobs(6) = %v, want [6 7]", ids)
	}
	if got := st.ArrayJobs(1); got != nil {
		t.Errorf("ArrayJobs of a plain job = %v, want nil", got)
	}
}
