package slurmdata

import (
	"github.com/fairway-hpc/fairway/api"
)

// fixture is a small cluster: two partitions, three nodes, jobs in every
// state the converters tell apart.
type fixture struct {
	parts []api.Partition
	nodes []api.Node
	jobs  []*api.Job
	diag  api.DiagResponse
}

const fixtureNow = 1_700_000_000

func (f *fixture) opts() Options {
	return Options{Now: fixtureNow, Cluster: "fw", Command: []string{"squeue", "--json"}, ClientUser: "alice",
		ClientGroup: "users", GroupName: func(gid int) string {
			if gid == 100 {
				return "users"
			}
			return ""
		}}
}

// job returns a job of alice's with the fields every job has.
func job(id api.JobID, state api.JobState) *api.Job {
	return &api.Job{
		ID: id, State: state, Partition: "gpu", SubmitTime: fixtureNow - 600, Priority: 1000,
		Spec: api.JobSpec{Name: "train", User: "alice", UID: 1000, GID: 100, Account: "ml", Nodes: 1, NTasks: 1,
			CPUsPerTask: 4, MemoryMB: 8192, WorkDir: "/home/alice", Command: "/home/alice/train.sh",
			Env: map[string]string{"SECRET": "x"}, Script: "#!/bin/sh\necho secret\n"},
		StdoutPath: "/home/alice/slurm-%j.out", StderrPath: "/home/alice/slurm-%j.out",
	}
}

func newFixture() *fixture {
	f := &fixture{
		parts: []api.Partition{
			{Name: "gpu", Default: true, MaxTimeSecs: 86400, DefaultTimeSecs: 3600, PriorityTier: 1},
			{Name: "cpu", State: "DOWN", MaxNodes: 4},
		},
		nodes: []api.Node{
			{Name: "n1", Addr: "10.0.0.1:6818", Partitions: []string{"gpu"}, State: api.NodeMixed, BootTime: fixtureNow - 86400,
				Resources: api.NodeResources{CPUs: 16, MemoryMB: 65536, GPUs: []api.GPU{{Index: 0, Type: "h100"}, {Index: 1, Type: "h100"}}},
				Used:      api.NodeResources{CPUs: 4, MemoryMB: 8192, GPUs: []api.GPU{{Index: 1, Type: "h100"}}}},
			{Name: "n2", Addr: "10.0.0.2:6818", Partitions: []string{"gpu", "cpu"}, State: api.NodeDrain,
				Reason: "maintenance", ReasonUser: "root", ReasonTime: fixtureNow - 60,
				Resources: api.NodeResources{CPUs: 16, MemoryMB: 65536}},
			{Name: "n3", Addr: "10.0.0.3:6818", Partitions: []string{"cpu"}, State: api.NodeDown, Reason: "Not responding",
				Resources: api.NodeResources{CPUs: 8, MemoryMB: 32768}},
		},
		diag: api.DiagResponse{Now: fixtureNow, StatsSince: fixtureNow - 3600, JobsSubmitted: 7, JobsStarted: 5,
			JobsCompleted: 2, JobsFailed: 1, JobsCanceled: 1, JobsPending: 2, JobsRunning: 2,
			Sched: api.DiagSched{Cycles: 60, LastCycleUsec: 120, MaxCycleUsec: 900, MeanCycleUsec: 200, CyclesPerMin: 1,
				LastDepth: 3, MeanDepth: 2.5, LastQueueLen: 2, MeanQueueLen: 1.5, Backfilled: 1, LastCycleAt: fixtureNow - 5}},
	}

	pending := job(10, api.JobPending)
	pending.Reason = api.ReasonResources
	pending.ExpectedStart = fixtureNow + 300
	pending.Spec.Partitions = []string{"gpu", "cpu"}
	pending.Partition = "gpu"

	running := job(11, api.JobRunning)
	running.Spec.GPUs, running.Spec.GPUType = 1, "h100"
	running.StartTime, running.TimeLimitSecs = fixtureNow-120, 7200
	running.Spec.TimeLimitSecs = 7200
	running.Alloc = []api.NodeAlloc{{Node: "n1", CPUs: 4, MemoryMB: 8192, GPUs: []int{1}}}
	running.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: fixtureNow - 120, State: api.JobRunning}}

	completed := job(12, api.JobCompleted)
	completed.StartTime, completed.EndTime = fixtureNow-500, fixtureNow-400
	completed.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: fixtureNow - 500, EndTime: fixtureNow - 400,
		State: api.JobCompleted, Usage: &api.Usage{UserCPUMillis: 1500, SysCPUMillis: 250},
		Steps: []api.Step{{JobID: 12, ID: 0, Name: "python", Nodes: []string{"n1"}, TasksPerNode: []int{2},
			State: api.JobCompleted, StartTime: fixtureNow - 490, EndTime: fixtureNow - 410,
			Usage: &api.Usage{UserCPUMillis: 1000, SysCPUMillis: 100}}}}}

	failed := job(13, api.JobFailed)
	failed.StartTime, failed.EndTime, failed.ExitCode = fixtureNow-300, fixtureNow-200, 3
	failed.Reason = api.ReasonNonZeroExit
	failed.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: fixtureNow - 300, EndTime: fixtureNow - 200,
		State: api.JobFailed, ExitCode: 3}}

	cancelled := job(14, api.JobCancelled)
	cancelled.StartTime, cancelled.EndTime, cancelled.Signal = fixtureNow-300, fixtureNow-100, 15
	uid := 1000
	cancelled.CancelledBy = &uid
	cancelled.Runs = []api.JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: fixtureNow - 300, EndTime: fixtureNow - 100,
		State: api.JobCancelled, Signal: 15}}

	unlimited := job(15, api.JobPending)
	unlimited.Partition = "cpu"
	unlimited.Spec.Partitions = []string{"cpu"}
	unlimited.Spec.TimeLimitSecs = api.TimeLimitUnlimited
	unlimited.Reason = api.ReasonHeldUser
	unlimited.Spec.Hold = true

	array := job(20, api.JobPending)
	array.ArrayJobID, array.ArrayTaskID = 20, -1
	array.ArrayPending = api.TaskIDs{2, 3, 4, 5}
	array.ArrayMaxRun = 2
	array.Reason = api.ReasonPriority

	task := job(21, api.JobRunning)
	task.ArrayJobID, task.ArrayTaskID = 20, 1
	task.StartTime, task.TimeLimitSecs = fixtureNow-60, 3600
	task.Alloc = []api.NodeAlloc{{Node: "n1", CPUs: 4, MemoryMB: 8192}}

	f.jobs = []*api.Job{pending, running, completed, failed, cancelled, unlimited, array, task}
	return f
}
