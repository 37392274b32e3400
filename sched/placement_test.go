package sched_test

import (
	"fmt"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

// pending returns a pending job submitted at t0 (ID order = queue order).
func pending(id api.JobID, s api.JobSpec) *api.Job {
	return &api.Job{ID: id, State: api.JobPending, Spec: s, SubmitTime: t0 - 100 + int64(id)}
}

// runningOn returns a running job holding GPUs gpus (and cpus CPUs, 1 GB) of
// node, with time limit limit, started at t0.
func runningOn(id api.JobID, node string, cpus int, limit int64, gpus ...int) *api.Job {
	a := api.NodeAlloc{Node: node, CPUs: cpus, MemoryMB: 1024}
	for _, g := range gpus {
		a.GPUs = append(a.GPUs, g)
		a.GPUUUIDs = append(a.GPUUUIDs, fmt.Sprintf("%s-gpu%d", node, g))
	}
	return &api.Job{ID: id, State: api.JobRunning, Partition: "gpu", StartTime: t0,
		Spec:  api.JobSpec{User: "other", Nodes: 1, NTasks: 1, CPUsPerTask: cpus, GPUs: len(gpus), TimeLimitSecs: limit},
		Alloc: []api.NodeAlloc{a}}
}

// placed summarizes a start: node and GPU indices per node.
type placed struct {
	Job   api.JobID
	Task  int
	Part  string
	Nodes map[string][]int
}

func starts(p api.Plan) []placed {
	var out []placed
	for _, s := range p.Starts {
		pl := placed{Job: s.JobID, Task: -1, Part: s.Partition, Nodes: map[string][]int{}}
		if s.ArrayTaskID != nil {
			pl.Task = *s.ArrayTaskID
		}
		for _, a := range s.Alloc {
			pl.Nodes[a.Node] = append([]int{}, a.GPUs...)
			if a.GPUs == nil {
				pl.Nodes[a.Node] = []int{}
			}
		}
		out = append(out, pl)
	}
	return out
}

func reasons(p api.Plan) map[api.JobID]string {
	out := map[api.JobID]string{}
	for _, pi := range p.Pending {
		out[pi.JobID] = pi.Reason
	}
	return out
}

func TestPlacement(t *testing.T) {
	eight := func(names ...string) []*api.Node {
		var out []*api.Node
		for _, n := range names {
			out = append(out, schedtest.Node(n, 64, 512*1024, 8, "h100", "gpu"))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		cfg     api.ClusterConfig
		nodes   []*api.Node
		jobs    []*api.Job
		want    []placed
		reasons map[api.JobID]string
	}{
		{
			name:  "a small job goes to the fullest node that fits, keeping whole nodes free",
			nodes: eight("n1", "n2", "n3"),
			jobs: []*api.Job{
				runningOn(100, "n2", 8, hour, 0, 1, 2, 3, 4),
				pending(1, spec("a", "u", 1, 2, hour)),
				pending(2, spec("a", "u", 1, 8, hour)),
				pending(3, spec("a", "u", 1, 1, hour)),
			},
			want: []placed{
				{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n2": {5, 6}}},
				{Job: 2, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0, 1, 2, 3, 4, 5, 6, 7}}},
				{Job: 3, Task: -1, Part: "gpu", Nodes: map[string][]int{"n2": {7}}},
			},
		},
		{
			name:  "GPUs are the lowest free indices; unhealthy ones are skipped",
			nodes: []*api.Node{func() *api.Node { n := eight("n1")[0]; n.Resources.GPUs[1].Healthy = false; return n }()},
			jobs: []*api.Job{
				runningOn(100, "n1", 8, hour, 0, 2),
				pending(1, spec("a", "u", 1, 3, hour)),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {3, 4, 5}}}},
		},
		{
			name:  "a gang starts on all its nodes at once",
			nodes: eight("n1", "n2", "n3"),
			jobs: []*api.Job{
				runningOn(100, "n3", 8, hour, 0),
				pending(1, spec("a", "u", 2, 8, hour)),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0, 1, 2, 3, 4, 5, 6, 7}, "n2": {0, 1, 2, 3, 4, 5, 6, 7}}}},
		},
		{
			name:  "a gang that fits on fewer nodes than it needs starts nowhere",
			nodes: eight("n1", "n2", "n3"),
			jobs: []*api.Job{
				runningOn(100, "n3", 8, hour, 0),
				pending(1, spec("a", "u", 3, 8, hour)),
			},
			reasons: map[api.JobID]string{1: api.ReasonResources},
		},
		{
			name: "GPU types: a typed job takes its type only, an untyped one any",
			nodes: []*api.Node{
				schedtest.Node("a1", 64, 512*1024, 8, "a100", "gpu"),
				schedtest.Node("h1", 64, 512*1024, 8, "h100", "gpu"),
			},
			jobs: []*api.Job{
				runningOn(100, "a1", 8, hour, 0, 1, 2, 3, 4, 5),
				pending(1, with(spec("a", "u", 1, 4, hour), func(s *api.JobSpec) { s.GPUType = "h100" })),
				pending(2, spec("a", "u", 1, 2, hour)),
				pending(3, with(spec("a", "u", 1, 4, hour), func(s *api.JobSpec) { s.GPUType = "a100" })),
			},
			want: []placed{
				{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"h1": {0, 1, 2, 3}}},
				{Job: 2, Task: -1, Part: "gpu", Nodes: map[string][]int{"a1": {6, 7}}},
			},
			reasons: map[api.JobID]string{3: api.ReasonResources},
		},
		{
			name: "a node with two GPU types gives a typed job GPUs of its type",
			nodes: []*api.Node{func() *api.Node {
				n := eight("m1")[0]
				for i := 4; i < 8; i++ {
					n.Resources.GPUs[i].Type = "a100"
				}
				return n
			}()},
			jobs: []*api.Job{pending(1, with(spec("a", "u", 1, 3, hour), func(s *api.JobSpec) { s.GPUType = "a100" }))},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"m1": {4, 5, 6}}}},
		},
		{
			name:    "a job asking more GPUs of a type than any node has waits with BadConstraints",
			nodes:   eight("n1"),
			jobs:    []*api.Job{pending(1, with(spec("a", "u", 1, 2, hour), func(s *api.JobSpec) { s.GPUType = "b200" }))},
			reasons: map[api.JobID]string{1: sched.ReasonBadConstraints},
		},
		{
			name: "DOWN and DRAIN nodes take no job",
			nodes: func() []*api.Node {
				ns := eight("n1", "n2", "n3")
				ns[0].State = api.NodeDown
				ns[1].State = api.NodeDrain
				return ns
			}(),
			jobs:    []*api.Job{pending(1, spec("a", "u", 1, 8, hour)), pending(2, spec("a", "u", 1, 1, hour))},
			want:    []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0, 1, 2, 3, 4, 5, 6, 7}}}},
			reasons: map[api.JobID]string{2: api.ReasonResources},
		},
		{
			name: "several partitions: the first named where the job fits now",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "a100", Default: true, Nodes: []string{"a1"}},
				{Name: "h100", Nodes: []string{"h1"}},
			}},
			nodes: []*api.Node{
				schedtest.Node("a1", 64, 512*1024, 8, "a100"),
				schedtest.Node("h1", 64, 512*1024, 8, "h100"),
			},
			jobs: []*api.Job{
				func() *api.Job { j := runningOn(100, "a1", 8, hour, 0, 1, 2, 3, 4, 5); j.Partition = "a100"; return j }(),
				pending(1, with(spec("a", "u", 1, 4, hour), func(s *api.JobSpec) { s.Partitions = []string{"a100", "h100"} })),
				pending(2, with(spec("a", "u", 1, 2, hour), func(s *api.JobSpec) { s.Partitions = []string{"h100", "a100"} })),
				pending(3, with(spec("a", "u", 1, 2, hour), func(s *api.JobSpec) { s.Partitions = []string{"a100", "h100"} })),
			},
			want: []placed{
				{Job: 1, Task: -1, Part: "h100", Nodes: map[string][]int{"h1": {0, 1, 2, 3}}},
				{Job: 2, Task: -1, Part: "h100", Nodes: map[string][]int{"h1": {4, 5}}},
				{Job: 3, Task: -1, Part: "a100", Nodes: map[string][]int{"a1": {6, 7}}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Partitions == nil {
				cfg = onePartition()
			}
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: tc.nodes, Jobs: tc.jobs})
			if diff := cmp.Diff(tc.want, starts(plan)); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			got := reasons(plan)
			for id, want := range tc.reasons {
				if got[id] != want {
					t.Errorf("job %d waits for %q, want %q", id, got[id], want)
				}
			}
		})
	}
}

// TestPackingKeepsWholeNodesFree: a stream of small jobs on a cluster
// where jobs end at various times leaves whole nodes for 8-GPU jobs, where
// first fit would have fragmented them.
func TestPackingKeepsWholeNodesFree(t *testing.T) {
	nodes := gpuNodes("n", 4, 8, "h100", "gpu")
	jobs := []*api.Job{
		// n1 and n3 are partly busy; n2 and n4 are empty.
		runningOn(100, "n1", 8, hour, 0, 1, 2, 3, 4, 5),
		runningOn(101, "n3", 8, hour, 0, 1, 2, 3),
	}
	for i := range 6 {
		jobs = append(jobs, pending(api.JobID(i+1), spec("a", "u", 1, 1, hour)))
	}
	jobs = append(jobs, pending(7, spec("a", "u", 1, 8, hour)), pending(8, spec("a", "u", 1, 8, hour)))
	plan := sched.New().Schedule(sched.Input{Now: t0, Config: onePartition(), Nodes: nodes, Jobs: jobs})
	perNode := map[string]int{}
	for _, s := range plan.Starts {
		for _, a := range s.Alloc {
			perNode[a.Node] += len(a.GPUs)
		}
	}
	// The six 1-GPU jobs fill n1 (2 free) and n3 (4 free); the 8-GPU jobs
	// take n2 and n4.
	if diff := cmp.Diff(map[string]int{"n1": 2, "n2": 8, "n3": 4, "n4": 8}, perNode); diff != "" {
		t.Errorf("GPUs started per node (-want +got):\n%s", diff)
	}
}

// TestMultiPartitionReservation: a job that fits nowhere now is expected in
// the partition where it can start first.
func TestMultiPartitionReservation(t *testing.T) {
	cfg := api.ClusterConfig{Partitions: []api.Partition{
		{Name: "a100", Default: true, Nodes: []string{"a1"}},
		{Name: "h100", Nodes: []string{"h1"}},
	}}
	nodes := []*api.Node{schedtest.Node("a1", 64, 512*1024, 8, "a100"), schedtest.Node("h1", 64, 512*1024, 8, "h100")}
	onA := runningOn(100, "a1", 8, 4*hour, 0, 1, 2, 3, 4, 5, 6, 7)
	onA.Partition = "a100"
	onH := runningOn(101, "h1", 8, 2*hour, 0, 1, 2, 3, 4, 5, 6, 7)
	onH.Partition = "h100"
	job := pending(1, with(spec("a", "u", 1, 8, hour), func(s *api.JobSpec) { s.Partitions = []string{"a100", "h100"} }))
	plan := sched.New().Schedule(sched.Input{Now: t0 + 10, Config: cfg, Nodes: nodes, Jobs: []*api.Job{onA, onH, job}})
	want := []api.PendingInfo{{JobID: 1, Reason: api.ReasonResources, ExpectedStart: t0 + 2*hour}}
	if diff := cmp.Diff(want, plan.Pending, cmpIgnorePriority); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}
