package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

const now = 1_700_000_000

// node returns a node with cpus CPUs, mem MB and gpus GPUs of gpuType (UUIDs
// "<name>-gpu<i>"), in the given partitions.
func node(name string, cpus int, mem int64, gpus int, gpuType string, parts ...string) *api.Node {
	n := &api.Node{Name: name, Partitions: parts, State: api.NodeIdle,
		Resources: api.NodeResources{CPUs: cpus, MemoryMB: mem}}
	for i := range gpus {
		n.Resources.GPUs = append(n.Resources.GPUs, api.GPU{Index: i, UUID: fmt.Sprintf("%s-gpu%d", name, i), Type: gpuType, Healthy: true})
	}
	return n
}

// pend returns a pending job; edit adjusts its spec.
func pend(id api.JobID, submit int64, edit func(s *api.JobSpec)) *api.Job {
	j := &api.Job{ID: id, State: api.JobPending, SubmitTime: submit,
		Spec: api.JobSpec{Nodes: 1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 1000, User: "u", Script: "#!/bin/sh\n"}}
	if edit != nil {
		edit(&j.Spec)
	}
	return j
}

// running returns a running job holding the given allocations.
func running(id api.JobID, alloc ...api.NodeAlloc) *api.Job {
	return &api.Job{ID: id, State: api.JobRunning, StartTime: now - 10, Alloc: alloc}
}

func gpus(n int) func(s *api.JobSpec) { return func(s *api.JobSpec) { s.GPUs = n } }

func oneNode(name string, cpus int, mem int64, gpuIdx ...int) []api.NodeAlloc {
	a := api.NodeAlloc{Node: name, CPUs: cpus, MemoryMB: mem}
	for _, i := range gpuIdx {
		a.GPUs = append(a.GPUs, i)
		a.GPUUUIDs = append(a.GPUUUIDs, fmt.Sprintf("%s-gpu%d", name, i))
	}
	return []api.NodeAlloc{a}
}

func start(id api.JobID, part string, alloc ...[]api.NodeAlloc) api.Start {
	s := api.Start{JobID: id, Partition: part}
	for _, a := range alloc {
		s.Alloc = append(s.Alloc, a...)
	}
	return s
}

func mainConfig() api.ClusterConfig {
	return api.ClusterConfig{Partitions: []api.Partition{{Name: "main", Default: true}}}
}

func TestFirstFit(t *testing.T) {
	tests := []struct {
		name  string
		cfg   api.ClusterConfig
		nodes []*api.Node
		jobs  []*api.Job
		want  api.Plan
	}{
		{
			name:  "nothing to do",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 8, 8000, 0, "", "main")},
			want:  api.Plan{Now: now},
		},
		{
			name:  "job starts with concrete GPUs",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 8, 8000, 4, "h100", "main")},
			jobs:  []*api.Job{pend(1, now, gpus(2))},
			want:  api.Plan{Now: now, Starts: []api.Start{start(1, "main", oneNode("n1", 1, 1000, 0, 1))}},
		},
		{
			name:  "running jobs' resources are taken",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 8, 8000, 4, "h100", "main")},
			jobs: []*api.Job{
				running(1, oneNode("n1", 4, 4000, 0, 2)...),
				pend(2, now, gpus(2)),
			},
			want: api.Plan{Now: now, Starts: []api.Start{start(2, "main", oneNode("n1", 1, 1000, 1, 3))}},
		},
		{
			name:  "priority order: first blocked job waits for Resources, the rest for Priority",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 2, 8000, 0, "", "main")},
			jobs: []*api.Job{
				pend(1, now-30, nil),
				pend(2, now-20, func(s *api.JobSpec) { s.Priority = 50 }),
				pend(3, now-10, func(s *api.JobSpec) { s.CPUsPerTask = 2 }),
				pend(4, now-5, nil),
			},
			want: api.Plan{Now: now,
				Starts: []api.Start{start(2, "main", oneNode("n1", 1, 1000)), start(1, "main", oneNode("n1", 1, 1000))},
				Pending: []api.PendingInfo{
					{JobID: 3, Reason: api.ReasonResources, Priority: 1},
					{JobID: 4, Reason: api.ReasonPriority, Priority: 1},
				}},
		},
		{
			name:  "a small job does not pass a blocked big one",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 4, 8000, 0, "", "main")},
			jobs: []*api.Job{
				running(1, oneNode("n1", 2, 1000)...),
				pend(2, now-20, func(s *api.JobSpec) { s.CPUsPerTask = 4 }),
				pend(3, now-10, nil),
			},
			want: api.Plan{Now: now, Pending: []api.PendingInfo{
				{JobID: 2, Reason: api.ReasonResources, Priority: 1},
				{JobID: 3, Reason: api.ReasonPriority, Priority: 1},
			}},
		},
		{
			name: "partition tier before job priority; other partitions are not blocked",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "low", Default: true}, {Name: "high", PriorityTier: 2}, {Name: "other"},
			}},
			nodes: []*api.Node{node("n1", 1, 8000, 0, "", "low", "high"), node("n2", 1, 8000, 0, "", "other")},
			jobs: []*api.Job{
				pend(1, now-30, func(s *api.JobSpec) { s.Priority = 99 }),
				pend(2, now-10, func(s *api.JobSpec) { s.Partitions = []string{"high"} }),
				pend(3, now-5, func(s *api.JobSpec) { s.Partitions = []string{"other"} }),
			},
			want: api.Plan{Now: now,
				Starts: []api.Start{start(2, "high", oneNode("n1", 1, 1000)), start(3, "other", oneNode("n2", 1, 1000))},
				Pending: []api.PendingInfo{
					{JobID: 1, Reason: api.ReasonResources, Priority: 100},
				}},
		},
		{
			name:  "multi-node job gets all its nodes or none",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 8, 8000, 8, "h100", "main"), node("n2", 8, 8000, 8, "h100", "main"), node("n3", 8, 8000, 8, "h100", "main")},
			jobs: []*api.Job{
				running(1, oneNode("n2", 1, 1000, 0, 1, 2, 3, 4, 5, 6, 7)...),
				pend(2, now-20, func(s *api.JobSpec) { s.Nodes, s.NTasks, s.GPUs = 2, 16, 8 }),
				pend(3, now-10, func(s *api.JobSpec) { s.Nodes, s.NTasks, s.GPUs = 3, 3, 8 }),
			},
			want: api.Plan{Now: now,
				Starts: []api.Start{start(2, "main", oneNode("n1", 8, 1000, 0, 1, 2, 3, 4, 5, 6, 7), oneNode("n3", 8, 1000, 0, 1, 2, 3, 4, 5, 6, 7))},
				Pending: []api.PendingInfo{
					{JobID: 3, Reason: api.ReasonResources, Priority: 1},
				}},
		},
		{
			name: "held and future jobs are skipped and block nothing",
			cfg:  mainConfig(),
			nodes: []*api.Node{
				node("n1", 1, 8000, 0, "", "main"),
			},
			jobs: []*api.Job{
				pend(1, now-30, func(s *api.JobSpec) { s.Hold = true }),
				func() *api.Job { j := pend(2, now-25, nil); j.Reason = api.ReasonHeldAdmin; return j }(),
				pend(3, now-20, func(s *api.JobSpec) { s.BeginTime = now + 60 }),
				pend(4, now-10, nil),
			},
			want: api.Plan{Now: now,
				Starts: []api.Start{start(4, "main", oneNode("n1", 1, 1000))},
				Pending: []api.PendingInfo{
					{JobID: 1, Reason: api.ReasonHeldUser},
					{JobID: 2, Reason: api.ReasonHeldAdmin},
					{JobID: 3, Reason: api.ReasonBeginTime, Priority: 1},
				}},
		},
		{
			name: "down partition, time limit above every partition's max, removed partition",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "main", Default: true, MaxTimeSecs: 3600}, {Name: "off", State: "DOWN"},
			}},
			nodes: []*api.Node{node("n1", 8, 8000, 0, "", "main", "off")},
			jobs: []*api.Job{
				pend(1, now-30, func(s *api.JobSpec) { s.Partitions = []string{"off"} }),
				pend(2, now-20, func(s *api.JobSpec) { s.TimeLimitSecs = 7200 }),
				pend(3, now-10, func(s *api.JobSpec) { s.Partitions = []string{"gone"} }),
			},
			want: api.Plan{Now: now, Pending: []api.PendingInfo{
				{JobID: 1, Reason: api.ReasonPartitionDown, Priority: 1},
				{JobID: 2, Reason: api.ReasonPartitionLimit, Priority: 1},
				{JobID: 3, Reason: ReasonPartitionConfig, Priority: 1},
			}},
		},
		{
			name: "time limit picks the partition that allows it",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "short", Default: true, MaxTimeSecs: 3600}, {Name: "long"},
			}},
			nodes: []*api.Node{node("n1", 8, 8000, 0, "", "short"), node("n2", 8, 8000, 0, "", "long")},
			jobs: []*api.Job{
				pend(1, now, func(s *api.JobSpec) { s.Partitions, s.TimeLimitSecs = []string{"short", "long"}, 7200 }),
			},
			want: api.Plan{Now: now, Starts: []api.Start{start(1, "long", oneNode("n2", 1, 1000))}},
		},
		{
			name:  "a job that never fits blocks nobody",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 8, 8000, 8, "h100", "main")},
			jobs: []*api.Job{
				pend(1, now-30, gpus(16)),
				pend(2, now-20, func(s *api.JobSpec) { s.GPUs, s.GPUType = 1, "a100" }),
				pend(3, now-10, func(s *api.JobSpec) { s.MemoryMB = 9000 }),
				pend(4, now-5, gpus(8)),
			},
			want: api.Plan{Now: now,
				Starts: []api.Start{start(4, "main", oneNode("n1", 1, 1000, 0, 1, 2, 3, 4, 5, 6, 7))},
				Pending: []api.PendingInfo{
					{JobID: 1, Reason: ReasonBadConstraints, Priority: 1},
					{JobID: 2, Reason: ReasonBadConstraints, Priority: 1},
					{JobID: 3, Reason: ReasonBadConstraints, Priority: 1},
				}},
		},
		{
			name: "GPU type is matched case-insensitively; unhealthy GPUs, down and drained nodes are skipped",
			cfg:  mainConfig(),
			nodes: []*api.Node{
				func() *api.Node { n := node("n1", 8, 8000, 2, "a100", "main"); n.State = api.NodeDown; return n }(),
				func() *api.Node { n := node("n2", 8, 8000, 2, "a100", "main"); n.State = api.NodeDrain; return n }(),
				node("n3", 8, 8000, 2, "h100", "main"),
				func() *api.Node {
					n := node("n4", 8, 8000, 2, "a100", "main")
					n.Resources.GPUs[0].Healthy = false
					return n
				}(),
			},
			jobs: []*api.Job{pend(1, now, func(s *api.JobSpec) { s.GPUs, s.GPUType = 1, "A100" })},
			want: api.Plan{Now: now, Starts: []api.Start{start(1, "main", oneNode("n4", 1, 1000, 1))}},
		},
		{
			name: "memory defaults to the partition's, then 1024 MB",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "main", Default: true, DefMemPerNodeMB: 4096}, {Name: "plain"},
			}},
			nodes: []*api.Node{node("n1", 8, 8000, 0, "", "main", "plain")},
			jobs: []*api.Job{
				pend(1, now-20, func(s *api.JobSpec) { s.MemoryMB = 0 }),
				pend(2, now-10, func(s *api.JobSpec) { s.MemoryMB, s.Partitions = 0, []string{"plain"} }),
			},
			want: api.Plan{Now: now, Starts: []api.Start{
				start(1, "main", oneNode("n1", 1, 4096)), start(2, "plain", oneNode("n1", 1, 1024)),
			}},
		},
		{
			name: "next partition when the first is full; partition node list order",
			cfg: api.ClusterConfig{Partitions: []api.Partition{
				{Name: "a", Default: true}, {Name: "b", Nodes: []string{"n3", "n2"}},
			}},
			nodes: []*api.Node{node("n1", 1, 8000, 0, "", "a"), node("n2", 1, 8000, 0, ""), node("n3", 1, 8000, 0, "")},
			jobs: []*api.Job{
				pend(1, now-20, func(s *api.JobSpec) { s.Partitions = []string{"a", "b"} }),
				pend(2, now-10, func(s *api.JobSpec) { s.Partitions = []string{"a", "b"} }),
			},
			want: api.Plan{Now: now, Starts: []api.Start{
				start(1, "a", oneNode("n1", 1, 1000)), start(2, "b", oneNode("n3", 1, 1000)),
			}},
		},
		{
			name:  "nodes in natural name order",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("node10", 1, 8000, 0, "", "main"), node("node9", 1, 8000, 0, "", "main")},
			jobs:  []*api.Job{pend(1, now, nil)},
			want:  api.Plan{Now: now, Starts: []api.Start{start(1, "main", oneNode("node9", 1, 1000))}},
		},
		{
			name: "a partition without nodes yet: Resources, then Priority",
			cfg:  mainConfig(),
			jobs: []*api.Job{pend(1, now-20, nil), pend(2, now-10, nil)},
			want: api.Plan{Now: now, Pending: []api.PendingInfo{
				{JobID: 1, Reason: api.ReasonResources, Priority: 1},
				{JobID: 2, Reason: api.ReasonPriority, Priority: 1},
			}},
		},
		{
			name:  "tasks spread over nodes and CPUs per task",
			cfg:   mainConfig(),
			nodes: []*api.Node{node("n1", 6, 8000, 0, "", "main"), node("n2", 8, 8000, 0, "", "main")},
			jobs:  []*api.Job{pend(1, now, func(s *api.JobSpec) { s.NTasks, s.CPUsPerTask = 4, 2 })},
			want:  api.Plan{Now: now, Starts: []api.Start{start(1, "main", oneNode("n2", 8, 1000))}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FirstFit{}.Schedule(Input{Now: now, Config: tt.cfg, Nodes: tt.nodes, Jobs: tt.jobs})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFirstFitDeterministic checks that the order of the input does not
// change the plan.
func TestFirstFitDeterministic(t *testing.T) {
	var nodes []*api.Node
	for i := range 6 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), 16, 64000, 4, "h100", "main"))
	}
	var jobs []*api.Job
	for i := range 40 {
		jobs = append(jobs, pend(api.JobID(i+1), now-int64(i%7), func(s *api.JobSpec) {
			s.GPUs, s.Priority, s.Nodes, s.NTasks = i%5, i%3, 1+i%2, 1+i%2
		}))
	}
	in := Input{Now: now, Config: mainConfig(), Nodes: nodes, Jobs: jobs}
	want := FirstFit{}.Schedule(in)
	if len(want.Starts) == 0 || len(want.Pending) == 0 {
		t.Fatalf("want a plan with starts and pending jobs, got %d starts, %d pending", len(want.Starts), len(want.Pending))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		in.Nodes = append([]*api.Node(nil), nodes...)
		in.Jobs = append([]*api.Job(nil), jobs...)
		r.Shuffle(len(in.Nodes), func(i, j int) { in.Nodes[i], in.Nodes[j] = in.Nodes[j], in.Nodes[i] })
		r.Shuffle(len(in.Jobs), func(i, j int) { in.Jobs[i], in.Jobs[j] = in.Jobs[j], in.Jobs[i] })
		if diff := cmp.Diff(want, FirstFit{}.Schedule(in)); diff != "" {
			t.Fatalf("plan depends on input order (-first +shuffled):\n%s", diff)
		}
	}
}

// TestFirstFitNeverOvercommits schedules a random workload pass after pass and
// checks that no node ever gives out more than it has, and no GPU twice.
func TestFirstFitNeverOvercommits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var nodes []*api.Node
	for i := range 5 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), 8, 32000, 4, "h100", "main"))
	}
	var jobs []*api.Job
	for i := range 200 {
		jobs = append(jobs, pend(api.JobID(i+1), now, func(s *api.JobSpec) {
			s.Nodes = 1 + r.IntN(2)
			s.NTasks, s.CPUsPerTask, s.GPUs, s.MemoryMB = s.Nodes, 1+r.IntN(4), r.IntN(5), int64(1000+r.IntN(16000))
		}))
	}
	byID := map[api.JobID]*api.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	for pass := range 50 {
		plan := FirstFit{}.Schedule(Input{Now: now + int64(pass), Config: mainConfig(), Nodes: nodes, Jobs: jobs})
		for _, s := range plan.Starts {
			j := byID[s.JobID]
			j.State, j.Alloc = api.JobRunning, s.Alloc
			if len(s.Alloc) != j.Spec.Nodes {
				t.Fatalf("job %d got %d nodes, asked %d", j.ID, len(s.Alloc), j.Spec.Nodes)
			}
		}
		cpus, mem, gpu := map[string]int{}, map[string]int64{}, map[string]bool{}
		for _, j := range jobs {
			if j.State != api.JobRunning {
				continue
			}
			for _, a := range j.Alloc {
				cpus[a.Node] += a.CPUs
				mem[a.Node] += a.MemoryMB
				for _, u := range a.GPUUUIDs {
					if gpu[u] {
						t.Fatalf("pass %d: GPU %s given twice", pass, u)
					}
					gpu[u] = true
				}
			}
		}
		for _, n := range nodes {
			if cpus[n.Name] > n.Resources.CPUs || mem[n.Name] > n.Resources.MemoryMB {
				t.Fatalf("pass %d: node %s overcommitted: %d CPUs, %d MB", pass, n.Name, cpus[n.Name], mem[n.Name])
			}
		}
		// Finish a few running jobs before the next pass.
		for _, j := range jobs {
			if j.State == api.JobRunning && r.IntN(3) == 0 {
				j.State, j.Alloc = api.JobCompleted, nil
			}
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"node2", "node10", -1}, {"node10", "node2", 1}, {"a", "b", -1}, {"n1", "n1", 0},
		{"gpu-a10", "gpu-a9", 1}, {"n1x", "n1", 1}, {"n007", "n7", 0},
	}
	for _, tt := range tests {
		if got := naturalCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("naturalCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
