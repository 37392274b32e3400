package cli

import (
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// fixture fills the fake controller with a small cluster: a default gpu
// partition of four nodes, a cpu partition of two and an empty debug one, and
// jobs in every interesting state.
func (f *fakeCtld) fixture() *fakeCtld {
	now := f.now
	h100 := func(n int) []api.GPU {
		var g []api.GPU
		for i := 0; i < n; i++ {
			g = append(g, api.GPU{Index: i, Type: "h100", Healthy: true})
		}
		return g
	}
	gpuNode := func(name string, state api.NodeState, usedCPUs int, usedGPUs int) *api.Node {
		return &api.Node{
			Name: name, Addr: name + ":6818", Partitions: []string{"gpu"}, State: state, LastHeartbeat: now - 5,
			Resources: api.NodeResources{CPUs: 16, MemoryMB: 65536, GPUs: h100(4)},
			Used:      api.NodeResources{CPUs: usedCPUs, MemoryMB: int64(usedCPUs) * 2048, GPUs: h100(usedGPUs)},
		}
	}
	f.parts = []api.Partition{
		{Name: "gpu", Default: true, MaxTimeSecs: 86400, DefaultTimeSecs: 3600, PreemptMode: api.PreemptRequeue, GraceSecs: 60},
		{Name: "cpu"},
		{Name: "debug", MaxTimeSecs: 1800, State: "DOWN"},
	}
	f.nodes = []*api.Node{
		gpuNode("node2", api.NodeAllocated, 16, 4),
		gpuNode("node1", api.NodeMixed, 8, 2),
		gpuNode("node3", api.NodeIdle, 0, 0),
		gpuNode("node4", api.NodeIdle, 0, 0),
		{Name: "cpu1", Partitions: []string{"cpu"}, State: api.NodeIdle, Resources: api.NodeResources{CPUs: 32, MemoryMB: 131072}},
		{Name: "cpu2", Partitions: []string{"cpu"}, State: api.NodeDown, Reason: "Not responding", Resources: api.NodeResources{CPUs: 32, MemoryMB: 131072}},
	}
	f.jobs = []*api.Job{
		{
			ID: 1, State: api.JobRunning, Partition: "gpu", Priority: 1000, RestartCount: 1,
			Spec: api.JobSpec{Name: "train", User: "alice", UID: 1000, GID: 1000, Account: "ml", Partitions: []string{"gpu"},
				Nodes: 2, NTasks: 2, CPUsPerTask: 8, MemoryMB: 32768, GPUs: 2, GPUType: "h100", TimeLimitSecs: 7200,
				WorkDir: "/home/alice/run", SubmitHost: "login1", Signal: &api.Signal{Name: "USR1", AtSeconds: 120}},
			SubmitTime: now - 8000, StartTime: now - 3725,
			Alloc: []api.NodeAlloc{
				{Node: "node1", CPUs: 8, MemoryMB: 32768, GPUs: []int{0, 1}},
				{Node: "node2", CPUs: 8, MemoryMB: 32768, GPUs: []int{0, 1}},
			},
			Runs: []api.JobRun{
				{Run: 0, Nodes: []string{"node3"}, StartTime: now - 7200, EndTime: now - 5000, State: api.JobPreempted, Signal: 15, Reason: "reclaim"},
				{Run: 1, Nodes: []string{"node1", "node2"}, StartTime: now - 3725, State: api.JobRunning},
			},
			StdoutPath: "/home/alice/run/slurm-1.out", StderrPath: "/home/alice/run/slurm-1.out",
		},
		{
			ID: 2, State: api.JobPending, Partition: "gpu", Reason: api.ReasonResources, Priority: 500,
			Spec: api.JobSpec{Name: "a-very-long-job-name", User: "bob", UID: 1001, GID: 1001, Partitions: []string{"gpu", "cpu"},
				Nodes: 1, NTasks: 1, CPUsPerTask: 4, GPUs: 1, WorkDir: "/home/bob"},
			SubmitTime: now - 60, ExpectedStart: now + 1800,
		},
		{
			ID: 3, State: api.JobPending, Partition: "gpu", Reason: api.ReasonHeldUser,
			Spec: api.JobSpec{Name: "held", User: "alice", UID: 1000, GID: 1000, Nodes: 1, NTasks: 1, CPUsPerTask: 1,
				Hold: true, WorkDir: "/home/alice", Stdout: "held-%j.out"},
			// The controller stores the expanded paths at submit.
			StdoutPath: "/home/alice/held-3.out", StderrPath: "/home/alice/held-3.out",
			SubmitTime: now - 30,
		},
		{
			ID: 4, State: api.JobCompleted, Partition: "cpu",
			Spec: api.JobSpec{Name: "done", User: "alice", UID: 1000, GID: 1000, Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1,
				CPUsPerTask: 1, MemoryMB: 1000, TimeLimitSecs: api.TimeLimitUnlimited, WorkDir: "/home/alice"},
			SubmitTime: now - 700, StartTime: now - 600, EndTime: now - 300,
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"cpu1"}, StartTime: now - 600, EndTime: now - 300, State: api.JobCompleted}},
		},
		{
			ID: 5, State: api.JobFailed, Partition: "cpu", Reason: api.ReasonNonZeroExit, ExitCode: 3,
			Spec: api.JobSpec{Name: "bad", User: "alice", UID: 1000, GID: 1000, Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1,
				CPUsPerTask: 2, TimeLimitSecs: 600, WorkDir: "/home/alice", Stdout: "bad-%N-%j.out", Stderr: "/tmp/bad-%4j.err"},
			// ... and again at start, when %N (the first node) is known.
			StdoutPath: "/home/alice/bad-cpu1-5.out", StderrPath: "/tmp/bad-0005.err",
			SubmitTime: now - 200, StartTime: now - 100, EndTime: now - 95,
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"cpu1"}, StartTime: now - 100, EndTime: now - 95, State: api.JobFailed, ExitCode: 3}},
		},
	}
	return f
}

// lines joins lines with newlines, ending with one.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
