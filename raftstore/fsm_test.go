package raftstore

import (
	"errors"
	"slices"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// jobChange describes how one job is expected to differ after the commands:
// the job as it was before is passed in and changed to the expectation.
type jobChange func(j *api.Job)

// startJob1 is a plan starting job 1 on n1 with 1 CPU, 500 MB and one GPU.
func startJob1(gpu int) ApplyPlan {
	return ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 500, GPUs: []int{gpu}}}},
	}}}
}

// ended records how the current run of a running job ended and the job's
// final state.
func ended(state, runState api.JobState, reason string, exit, sig int) jobChange {
	return func(j *api.Job) {
		r := &j.Runs[len(j.Runs)-1]
		r.State, r.EndTime, r.ExitCode, r.Signal, r.Reason = runState, cmdNow, exit, sig, reason
		j.State, j.Reason, j.EndTime, j.ExitCode, j.Signal = state, reason, cmdNow, exit, sig
		j.Alloc, j.Kill = nil, nil
	}
}

// requeued records the current run as runState and puts the job back to
// PENDING.
func requeued(runState api.JobState, runReason string) jobChange {
	return func(j *api.Job) {
		r := &j.Runs[len(j.Runs)-1]
		r.State, r.EndTime, r.Reason = runState, cmdNow, runReason
		j.State, j.Reason, j.RestartCount = api.JobPending, api.ReasonRequeued, j.RestartCount+1
		j.StartTime, j.EndTime, j.ExitCode, j.Signal = 0, 0, 0, 0
		j.Alloc, j.Kill = nil, nil
	}
}

// fencedNote is what MarkNodeDown adds to the reason of a fenced node's runs.
const fencedNote = "; fenced: the node stops its jobs when its lease runs out"

// fencedRun marks the last run fenced, ending at end (a bound when bound);
// a job that ended also ends then.
func fencedRun(change jobChange, end int64, bound bool) jobChange {
	return func(j *api.Job) {
		change(j)
		r := &j.Runs[len(j.Runs)-1]
		r.Fenced, r.EndBound, r.EndTime = true, bound, end
		if j.State != api.JobPending {
			j.EndTime = end
		}
	}
}

func withKill(k api.KillRequest) jobChange {
	return func(j *api.Job) { j.Kill = &k }
}

func TestApplyJobCommands(t *testing.T) {
	newSpec := testSpec("train")
	newSpec.Stdout = "out/%x_%A_%a_%u.log"
	newSpec.Stderr = "/logs/%5j.err"
	heldSpec := testSpec("later")
	heldSpec.Hold = true
	heldSpec.Partitions = []string{"cpu", "gpu"}
	badPart := testSpec("bad")
	badPart.Partitions = []string{"gpu", "nope"}

	tests := []jobCommandCase{
		{
			name:       "submit fills the job and expands output patterns",
			cmds:       []Command{SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{newSpec, heldSpec}}},
			wantResult: []api.JobID{6, 7},
			added: []*api.Job{
				{ID: 6, Spec: newSpec, State: api.JobPending, Reason: api.ReasonPriority, Partition: "gpu", SubmitTime: cmdNow,
					StdoutPath: "/home/ann/out/train_6_4294967294_ann.log", StderrPath: "/logs/00006.err"},
				{ID: 7, Spec: heldSpec, State: api.JobPending, Reason: api.ReasonHeldUser, Partition: "cpu", SubmitTime: cmdNow,
					StdoutPath: "/home/ann/slurm-7.out", StderrPath: "/home/ann/slurm-7.out"},
			},
		},
		{
			name:      "submit with an unknown partition accepts none of the jobs",
			cmds:      []Command{SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{newSpec, badPart}}},
			wantField: "partition",
			wantMsg:   `invalid partition "nope": no such partition; known partitions: gpu,cpu`,
		},
		{
			name:      "submit of nothing is rejected",
			cmds:      []Command{SubmitJobs{Now: cmdNow}},
			wantField: "jobs",
		},
		{
			name: "cancel pending ends it at once",
			cmds: []Command{CancelJob{Now: cmdNow, ID: 1, Reason: "by ann"}},
			changes: map[api.JobID]jobChange{1: func(j *api.Job) {
				j.State, j.Reason, j.EndTime = api.JobCancelled, "by ann", cmdNow
			}},
		},
		{
			name:    "cancel running asks the node to stop it; twice is the same",
			cmds:    []Command{CancelJob{Now: cmdNow, ID: 2}, CancelJob{Now: cmdNow + 5, ID: 2}},
			changes: map[api.JobID]jobChange{2: withKill(api.KillRequest{State: api.JobCancelled, RequestedAt: cmdNow})},
		},
		{
			name:    "cancel finished is a conflict",
			cmds:    []Command{CancelJob{Now: cmdNow, ID: 4}},
			wantErr: ErrConflict,
			wantMsg: "job 4 already COMPLETED",
		},
		{
			name:    "cancel unknown is not found",
			cmds:    []Command{CancelJob{Now: cmdNow, ID: 99}},
			wantErr: ErrNotFound,
			wantMsg: "job 99 not found",
		},
		{
			name: "hold pending",
			cmds: []Command{HoldJob{ID: 1}},
			changes: map[api.JobID]jobChange{1: func(j *api.Job) {
				j.Spec.Hold, j.Reason = true, api.ReasonHeldUser
			}},
		},
		{
			name:    "hold running is a conflict",
			cmds:    []Command{HoldJob{ID: 2}},
			wantErr: ErrConflict,
		},
		{
			name: "release held",
			cmds: []Command{ReleaseJob{ID: 3}},
			changes: map[api.JobID]jobChange{3: func(j *api.Job) {
				j.Spec.Hold, j.Reason = false, api.ReasonPriority
			}},
		},
		{
			name: "release of an unheld pending job changes nothing",
			cmds: []Command{ReleaseJob{ID: 1}},
		},
		{
			name: "requeue running asks the node to stop it for a requeue",
			cmds: []Command{RequeueJob{Now: cmdNow, ID: 2}},
			changes: map[api.JobID]jobChange{2: withKill(api.KillRequest{
				State: api.JobPending, Requeue: true, Reason: api.ReasonRequeued, RequestedAt: cmdNow,
			})},
		},
		{
			name: "requeue pending changes nothing",
			cmds: []Command{RequeueJob{Now: cmdNow, ID: 1}},
		},
		{
			name: "requeue finished returns it to pending",
			cmds: []Command{RequeueJob{Now: cmdNow, ID: 4}},
			changes: map[api.JobID]jobChange{4: func(j *api.Job) {
				j.State, j.Reason, j.RestartCount = api.JobPending, api.ReasonRequeued, 1
				j.StartTime, j.EndTime = 0, 0
			}},
		},
		{
			name: "kill sets the first kill request only",
			cmds: []Command{
				KillJob{Now: cmdNow, ID: 2, Kill: api.KillRequest{State: api.JobTimeout, Reason: api.ReasonTimeLimit}},
				KillJob{Now: cmdNow + 1, ID: 2, Kill: api.KillRequest{State: api.JobCancelled}},
			},
			changes: map[api.JobID]jobChange{2: withKill(api.KillRequest{State: api.JobTimeout, Reason: api.ReasonTimeLimit, RequestedAt: cmdNow})},
		},
		{
			name:    "kill of a pending job is a conflict",
			cmds:    []Command{KillJob{Now: cmdNow, ID: 1, Kill: api.KillRequest{State: api.JobTimeout}}},
			wantErr: ErrConflict,
		},
		{
			name:      "kill to a non-final state is rejected",
			cmds:      []Command{KillJob{Now: cmdNow, ID: 2, Kill: api.KillRequest{State: api.JobRunning}}},
			wantField: "kill.state",
		},
		{
			name:    "exit 0 completes the job",
			cmds:    []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}}},
			changes: map[api.JobID]jobChange{2: ended(api.JobCompleted, api.JobCompleted, api.ReasonNone, 0, 0)},
		},
		{
			name:    "non-zero exit fails the job",
			cmds:    []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 3}}}},
			changes: map[api.JobID]jobChange{2: ended(api.JobFailed, api.JobFailed, api.ReasonNonZeroExit, 3, 0)},
		},
		{
			name:    "death by signal fails the job",
			cmds:    []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 137, Signal: 9}}}},
			changes: map[api.JobID]jobChange{2: ended(api.JobFailed, api.JobFailed, "RaisedSignal:9", 137, 9)},
		},
		{
			name:    "OOM kill ends OUT_OF_MEMORY",
			cmds:    []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 137, Signal: 9, OOM: true}}}},
			changes: map[api.JobID]jobChange{2: ended(api.JobOutOfMemory, api.JobOutOfMemory, "OutOfMemory", 137, 9)},
		},
		{
			name: "a duplicate exit event is ignored",
			cmds: []Command{
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}},
				JobEvents{Now: cmdNow + 9, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 1}}},
			},
			changes: map[api.JobID]jobChange{2: ended(api.JobCompleted, api.JobCompleted, api.ReasonNone, 0, 0)},
		},
		{
			name: "an exit for an older run is ignored",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Run: 1, Kind: api.EventExited}}}},
		},
		{
			name: "an event from a node outside the allocation is ignored",
			cmds: []Command{
				JobEvents{Now: cmdNow, Node: "n2", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}},
				JobEvents{Now: cmdNow, Node: "n2", Events: []api.JobEvent{{JobID: 2, Node: "n1", Kind: api.EventExited}}},
				JobEvents{Now: cmdNow, Events: []api.JobEvent{{JobID: 2, Node: "n3", Kind: api.EventExited}}},
			},
		},
		{
			name: "started and events for unknown jobs change nothing",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{
				{JobID: 2, Kind: api.EventStarted}, {JobID: 42, Kind: api.EventExited},
			}}},
		},
		{
			name: "exit after cancel ends CANCELLED",
			cmds: []Command{
				CancelJob{Now: cmdNow, ID: 2},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, Signal: 15}}},
			},
			changes: map[api.JobID]jobChange{2: ended(api.JobCancelled, api.JobCancelled, api.ReasonCancelled, 0, 15)},
		},
		{
			name: "exit after time limit ends TIMEOUT",
			cmds: []Command{
				KillJob{Now: cmdNow, ID: 2, Kill: api.KillRequest{State: api.JobTimeout}},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, Signal: 9}}},
			},
			changes: map[api.JobID]jobChange{2: ended(api.JobTimeout, api.JobTimeout, api.ReasonTimeLimit, 0, 9)},
		},
		{
			name: "exit after requeue returns the job to pending; the old run's events are then ignored",
			cmds: []Command{
				RequeueJob{Now: cmdNow, ID: 2},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, Signal: 15}}},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 1}}},
			},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				requeued(api.JobRequeued, api.ReasonRequeued)(j)
				j.Runs[0].Signal = 15
			}},
		},
		{
			name: "a preempted requeueable job goes back to pending, the run recorded PREEMPTED",
			cmds: []Command{
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 2, Reason: "reclaim", For: 1}}}},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}},
			},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				requeued(api.JobPreempted, "Preempted (reclaim) for job 1")(j)
				j.Runs[0].LostGPUSecs = 1 * (cmdNow - setupNow) // its GPU since its start
			}},
		},
		{
			name:       "preemption asks with the checkpoint signal and the partition's grace",
			cmds:       []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 2, Reason: "priority"}, {JobID: 5}, {JobID: 1}}}}},
			wantResult: []api.JobID{},
			changes: map[api.JobID]jobChange{
				2: withKill(api.KillRequest{State: api.JobPreempted, Requeue: true, Reason: "Preempted (priority)", Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow,
					Preemption: "priority"}),
				5: withKill(api.KillRequest{State: api.JobPreempted, Requeue: false, Reason: "Preempted; not requeued: the job was submitted with --no-requeue",
					Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, Preemption: "other"}),
			},
		},
		{
			name: "a preempted job that exits during its grace time with any code is requeued, the run recorded PREEMPTED with its code",
			cmds: []Command{
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 2, Reason: "priority", For: 1}}}},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited, ExitCode: 3}}},
			},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				requeued(api.JobPreempted, "Preempted (priority) for job 1")(j)
				j.Runs[0].ExitCode = 3
				j.Runs[0].LostGPUSecs = 1 * (cmdNow - setupNow)
			}},
		},
		{
			name: "a job preempted with --no-requeue ends PREEMPTED and says why it was not requeued",
			cmds: []Command{
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 5, Reason: "reclaim", For: 1}}}},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 5, Kind: api.EventExited, Signal: 15}}},
			},
			changes: map[api.JobID]jobChange{5: func(j *api.Job) {
				ended(api.JobPreempted, api.JobPreempted, "Preempted (reclaim) for job 1; not requeued: the job was submitted with --no-requeue", 0, 15)(j)
				j.Runs[0].LostGPUSecs = 1 * (cmdNow - setupNow)
			}},
		},
		{
			name: "scontrol requeue of a job being preempted ends its grace time; a second one changes nothing",
			cmds: []Command{
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 2, Reason: "reclaim", For: 1}}}},
				RequeueJob{Now: cmdNow + 3, ID: 2},
				RequeueJob{Now: cmdNow + 4, ID: 2},
			},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				withKill(api.KillRequest{State: api.JobPreempted, Requeue: true, Reason: "Preempted (reclaim) for job 1",
					Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, For: 1, Preemption: "reclaim", EndGrace: true, EndGraceAt: cmdNow + 3})(j)
				j.LastCheckpoint = cmdNow + 3 // it saved its checkpoint
			}},
		},
		{
			name: "checkpoint done ends the grace time of a job being preempted, even one not requeued",
			cmds: []Command{
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 5, Reason: "reclaim", For: 1}}}},
				EndGrace{Now: cmdNow + 2, ID: 5},
			},
			changes: map[api.JobID]jobChange{5: func(j *api.Job) {
				withKill(api.KillRequest{State: api.JobPreempted,
					Reason: "Preempted (reclaim) for job 1; not requeued: the job was submitted with --no-requeue",
					Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, For: 1, Preemption: "reclaim", EndGrace: true, EndGraceAt: cmdNow + 2})(j)
				j.LastCheckpoint = cmdNow + 2
			}},
		},
		{
			name:    "scontrol requeue of a job being preempted without requeue is a conflict",
			cmds:    []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 5}}}}, RequeueJob{Now: cmdNow, ID: 5}},
			wantErr: ErrConflict,
			wantMsg: "job 5 is already being stopped (PREEMPTED)",
			changes: map[api.JobID]jobChange{5: withKill(api.KillRequest{State: api.JobPreempted,
				Reason: "Preempted; not requeued: the job was submitted with --no-requeue", Signal: "USR1", GraceSecs: 30, RequestedAt: cmdNow, Preemption: "other"})},
		},
		{
			name: "scancel --signal records a numbered request for the node, without stopping the job",
			cmds: []Command{SignalJob{Now: cmdNow, ID: 2, Signal: "USR1"}, SignalJob{Now: cmdNow + 1, ID: 2, Signal: "USR2"}},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				j.SignalReq = &api.SignalRequest{Seq: 2, Signal: "USR2", At: cmdNow + 1}
			}},
		},
		{
			name:    "scancel --signal of a pending job is a conflict",
			cmds:    []Command{SignalJob{Now: cmdNow, ID: 1, Signal: "USR1"}},
			wantErr: ErrConflict,
			wantMsg: "job 1 is PENDING: scancel --signal reaches running jobs only",
		},
		{
			name:    "checkpoint done of a job not being stopped is a conflict",
			cmds:    []Command{EndGrace{Now: cmdNow, ID: 2}},
			wantErr: ErrConflict,
			wantMsg: "job 2 is RUNNING and not being stopped: there is no grace time to end (fairway checkpoint done ends the grace time of a job being preempted or requeued)",
		},
		{
			name:    "checkpoint done of a pending job is a conflict",
			cmds:    []Command{EndGrace{Now: cmdNow, ID: 1}},
			wantErr: ErrConflict,
			wantMsg: "job 1 is PENDING: there is no grace time to end (fairway checkpoint done ends the grace time of a job being preempted or requeued)",
		},
		{
			name:    "launch failure fails the job",
			cmds:    []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventLaunchFail, ExitCode: 1, Message: "no such image"}}}},
			changes: map[api.JobID]jobChange{2: ended(api.JobFailed, api.JobFailed, "LaunchFailed: no such image", 1, 0)},
		},
		{
			name: "a lost requeueable job is requeued, a lost other one ends NODE_FAIL",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{
				{JobID: 2, Kind: api.EventLost, Message: "rebooted"}, {JobID: 5, Kind: api.EventLost},
			}}},
			changes: map[api.JobID]jobChange{
				2: requeued(api.JobNodeFail, "NodeFail: job lost by node n1: rebooted"),
				5: ended(api.JobNodeFail, api.JobNodeFail, "NodeFail: job lost by node n1", 0, 0),
			},
		},
		{
			name: "a lost job being cancelled ends CANCELLED rather than coming back",
			cmds: []Command{
				CancelJob{Now: cmdNow, ID: 2},
				JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventLost}}},
			},
			changes: map[api.JobID]jobChange{2: ended(api.JobCancelled, api.JobCancelled, api.ReasonCancelled, 0, 0)},
		},
		{
			name:       "plan start runs the job with UUIDs filled and %N expanded",
			cmds:       []Command{startJob1(2)},
			wantResult: []api.JobID{1},
			changes: map[api.JobID]jobChange{1: func(j *api.Job) {
				j.State, j.Reason, j.StartTime = api.JobRunning, api.ReasonNone, cmdNow
				j.TimeLimitSecs = api.DefaultTimeLimitSecs
				j.Alloc = []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 500, GPUs: []int{2}, GPUUUIDs: []string{"GPU-2"}}}
				j.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: cmdNow, State: api.JobRunning}}
				j.StdoutPath, j.StderrPath = "/home/ann/pend-n1-1.out", "/home/ann/pend-n1-1.out"
			}},
		},
		{
			name:       "plan start on a GPU in use is dropped",
			cmds:       []Command{startJob1(1)},
			wantResult: []api.JobID{},
		},
		{
			name:       "plan start on a GPU the node lacks is dropped",
			cmds:       []Command{startJob1(7)},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start with wrong GPU UUIDs is dropped",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, GPUs: []int{2}, GPUUUIDs: []string{"GPU-3"}}}},
			}}}},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start on an unhealthy GPU is dropped",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n3", CPUs: 1, GPUs: []int{0}}}},
			}}}},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start beyond the free CPUs or memory is dropped",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 5, MemoryMB: 10}}},
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 30001}}},
			}}}},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start outside the partition, on an unknown node or with too many nodes is dropped",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 10}}},
				{JobID: 1, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 10}}},
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n9", CPUs: 1, MemoryMB: 10}}},
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}, {Node: "n3", CPUs: 1, MemoryMB: 10}}},
			}}}},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start of a held, running or finished job is dropped",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 3, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
				{JobID: 2, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
				{JobID: 4, Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 10}}},
			}}}},
			wantResult: []api.JobID{},
		},
		{
			name: "plan start on a DOWN node is dropped",
			cmds: []Command{
				MarkNodeDown{Now: cmdNow, Node: "n3", Reason: "no heartbeat"},
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n3", CPUs: 1, MemoryMB: 10}}}}}},
			},
			wantResult: []api.JobID{},
		},
		{
			name: "a start of a job already running is dropped; the other starts",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{3}}}},
				{JobID: 5, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{3}}}},
			}}}},
			wantResult: []api.JobID{1},
			changes: map[api.JobID]jobChange{1: func(j *api.Job) {
				j.State, j.Reason, j.StartTime = api.JobRunning, api.ReasonNone, cmdNow
				j.TimeLimitSecs = api.DefaultTimeLimitSecs
				j.Partition = "gpu"
				j.Alloc = []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{3}, GPUUUIDs: []string{"GPU-3"}}}
				j.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: cmdNow, State: api.JobRunning}}
				j.StdoutPath, j.StderrPath = "/home/ann/pend-n1-1.out", "/home/ann/pend-n1-1.out"
			}},
		},
		{
			name: "plan pending info sets reason, priority and estimate; a held job keeps its reason",
			cmds: []Command{ApplyPlan{Plan: api.Plan{Now: cmdNow, Pending: []api.PendingInfo{
				{JobID: 1, Reason: api.ReasonResources, Priority: 77, ExpectedStart: 5000},
				{JobID: 3, Reason: api.ReasonResources, Priority: 12, ExpectedStart: 6000},
				{JobID: 2, Reason: api.ReasonResources, Priority: 1},
			}}}},
			wantResult: []api.JobID{},
			changes: map[api.JobID]jobChange{
				1: func(j *api.Job) { j.Reason, j.Priority, j.ExpectedStart = api.ReasonResources, 77, 5000 },
				3: func(j *api.Job) { j.Priority = 12 },
			},
		},
		{
			name:       "node down requeues its requeueable jobs and ends the others NODE_FAIL",
			cmds:       []Command{MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "no heartbeat for 60s"}},
			wantResult: []api.JobID{2, 5},
			changes: map[api.JobID]jobChange{
				2: requeued(api.JobNodeFail, "NodeFail: node n1 down: no heartbeat for 60s"),
				5: ended(api.JobNodeFail, api.JobNodeFail, "NodeFail: node n1 down: no heartbeat for 60s", 0, 0),
			},
		},
		{
			name:       "node down with a fencing deadline records the runs fenced, ending at the deadline",
			cmds:       []Command{MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "Not responding", FencedBy: cmdNow - 10}},
			wantResult: []api.JobID{2, 5},
			changes: map[api.JobID]jobChange{
				2: fencedRun(requeued(api.JobNodeFail, "NodeFail: node n1 down: Not responding"+fencedNote), cmdNow-10, true),
				5: fencedRun(ended(api.JobNodeFail, api.JobNodeFail, "NodeFail: node n1 down: Not responding"+fencedNote, 0, 0), cmdNow-10, true),
			},
		},
		{
			name: "the node's later report of a fenced run's stop time replaces the bound; a second report or an unfenced one changes nothing",
			cmds: []Command{
				MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "Not responding", FencedBy: cmdNow - 10},
				JobEvents{Now: cmdNow + 5, Node: "n1", Events: []api.JobEvent{
					{JobID: 2, Run: 0, Kind: api.EventLost, Fenced: true, StoppedAt: cmdNow - 14},
					{JobID: 2, Run: 0, Kind: api.EventLost, Fenced: true, StoppedAt: cmdNow - 12},
					{JobID: 5, Run: 0, Kind: api.EventExited, ExitCode: 1},
				}},
			},
			changes: map[api.JobID]jobChange{
				2: fencedRun(requeued(api.JobNodeFail, "NodeFail: node n1 down: Not responding"+fencedNote), cmdNow-14, false),
				5: fencedRun(ended(api.JobNodeFail, api.JobNodeFail, "NodeFail: node n1 down: Not responding"+fencedNote, 0, 0), cmdNow-10, true),
			},
		},
		{
			name: "a fenced run reported by a node that came back before it was DOWN is requeued, ending when it stopped",
			cmds: []Command{JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{
				{JobID: 2, Run: 0, Kind: api.EventLost, Message: "fenced", Fenced: true, StoppedAt: cmdNow - 3},
			}}},
			changes: map[api.JobID]jobChange{
				2: fencedRun(requeued(api.JobNodeFail, "NodeFail: job lost by node n1: fenced"), cmdNow-3, false),
			},
		},
		{
			name:    "node down of an unknown node is not found",
			cmds:    []Command{MarkNodeDown{Now: cmdNow, Node: "n9"}},
			wantErr: ErrNotFound,
		},
		{
			name:       "expire deletes finished jobs that ended before the cutoff",
			cmds:       []Command{ExpireJobs{Now: cmdNow, Before: setupNow}, ExpireJobs{Now: cmdNow, Before: setupNow + 1}},
			wantResult: 1,
			deleted:    []api.JobID{4},
		},
	}
	runJobCommandCases(t, tests)
}

// jobCommandCase is a list of commands applied to the setup state and the
// jobs expected afterwards.
type jobCommandCase struct {
	name       string
	cmds       []Command
	wantResult any    // the last command's ApplyResult.IDs ([]api.JobID) or Count (int); nil: not checked
	wantErr    error  // errors.Is target for the last command's error
	wantMsg    string // the last command's error text, if set
	wantField  string // the *api.FieldError field the last command must fail with
	changes    map[api.JobID]jobChange
	added      []*api.Job  // jobs expected to be new
	deleted    []api.JobID // jobs expected to be gone
	// setup builds the state the commands start from; nil: setup.
	setup func(testing.TB) *harness
}

// stepIDResult is a wantResult naming the last command's
// ApplyResult.StepID.
type stepIDResult int

// runJobCommandCases runs each case on a fresh setup state.
func runJobCommandCases(t *testing.T, tests []jobCommandCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := tt.setup
			if mk == nil {
				mk = setup
			}
			h := mk(t)
			before := h.state()
			var res ApplyResult
			var err error
			for i, c := range tt.cmds {
				res, err = h.apply(c)
				if err != nil && i < len(tt.cmds)-1 {
					t.Fatalf("command %d (%T): %v", i, c, err)
				}
			}
			checkErr(t, err, tt.wantErr, tt.wantField, tt.wantMsg)
			if tt.wantResult != nil {
				got := any(res.IDs)
				switch tt.wantResult.(type) {
				case int:
					got = res.Count
				case stepIDResult:
					got = stepIDResult(res.StepID)
				}
				if diff := cmp.Diff(tt.wantResult, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			}
			var want []*api.Job
			for _, j := range before.Jobs() {
				if slices.Contains(tt.deleted, j.ID) {
					continue
				}
				if change := tt.changes[j.ID]; change != nil {
					change(j)
				}
				want = append(want, j)
			}
			want = append(want, tt.added...)
			after := h.state()
			if diff := cmp.Diff(want, after.Jobs()); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if after.Index() != h.idx {
				t.Errorf("state index = %d, want %d", after.Index(), h.idx)
			}
		})
	}
}

// checkErr checks an apply error against the expectations of a test case.
func checkErr(t *testing.T, err, wantErr error, wantField, wantMsg string) {
	t.Helper()
	switch {
	case wantField != "":
		var fe *api.FieldError
		if !errors.As(err, &fe) || fe.Field != wantField {
			t.Errorf("error = %v, want a FieldError for %q", err, wantField)
		}
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Errorf("error = %v, want %v", err, wantErr)
		}
	case err != nil:
		t.Errorf("unexpected error: %v", err)
	}
	// The message for people is the handler's; the *ApplyError around it
	// names the command and the index.
	var ae *ApplyError
	if err != nil && !errors.As(err, &ae) {
		t.Errorf("error %v (%T) is not an *ApplyError", err, err)
	}
	if wantMsg != "" && (ae == nil || ae.Err.Error() != wantMsg) {
		t.Errorf("error text = %v, want %q", err, wantMsg)
	}
}
