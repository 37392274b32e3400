package sim

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
	gocmp "github.com/google/go-cmp/cmp"
)

// starts runs jobs on a pool of cpus processors and returns each job's
// (trace ID -> first start).
func starts(t *testing.T, policy string, cpus int, jobs []trace.Job) (map[int64]int64, *Result) {
	t.Helper()
	res, err := Run(context.Background(), Options{Jobs: jobs, Cluster: Pool(trace.Machine{Nodes: 1, CPUsPerNode: cpus}), Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("plan errors: %v", res.Errors)
	}
	out := map[int64]int64{}
	for _, j := range res.Jobs {
		out[j.Trace.ID] = j.Start
	}
	return out, res
}

// TestPolicies checks the textbook policies on a workload small enough to
// schedule by hand: on 4 processors, A (3 procs, 100 s) arrives at 0, B (4
// procs, 100 s) at 1 and C (1 proc, 50 s) at 2. FCFS runs them in order;
// SJF and the backfilling policies let C run beside A, since it ends (at
// 52) before B can start (at 100).
func TestPolicies(t *testing.T) {
	jobs := []trace.Job{
		{ID: 1, Submit: 0, Run: 100, Requested: 100, Procs: 3, User: "1"},
		{ID: 2, Submit: 1, Run: 100, Requested: 100, Procs: 4, User: "2"},
		{ID: 3, Submit: 2, Run: 50, Requested: 50, Procs: 1, User: "3"},
	}
	tests := []struct {
		policy     string
		want       map[int64]int64
		backfilled int
	}{
		{PolicyFCFS, map[int64]int64{1: 0, 2: 100, 3: 200}, 0},
		{PolicySJF, map[int64]int64{1: 0, 2: 100, 3: 2}, 0}, // C is first in SJF order: not a backfill
		{PolicyEASY, map[int64]int64{1: 0, 2: 100, 3: 2}, 1},
		{PolicyConservative, map[int64]int64{1: 0, 2: 100, 3: 2}, 1},
		{PolicyFairway, map[int64]int64{1: 0, 2: 100, 3: 2}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			got, res := starts(t, tc.policy, 4, jobs)
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			s := Summarize(res)
			if s.Backfilled != tc.backfilled {
				t.Errorf("backfilled = %d, want %d", s.Backfilled, tc.backfilled)
			}
		})
	}
}

// randomJobs is a random CPU workload for a machine of cpus processors.
func randomJobs(seed uint64, n, cpus int) []trace.Job {
	rng := rand.New(rand.NewPCG(seed, 7))
	var jobs []trace.Job
	at := int64(0)
	for i := range n {
		at += rng.Int64N(60)
		run := 1 + rng.Int64N(600)
		jobs = append(jobs, trace.Job{ID: int64(i + 1), Submit: at, Run: run, Requested: run + rng.Int64N(300),
			Procs: 1 + rng.IntN(cpus), User: fmt.Sprint(rng.IntN(5))})
	}
	return jobs
}

// TestReplayInvariants replays random workloads with every textbook policy
// and checks what any correct schedule satisfies: every job runs once, for
// its run time, never before its submit time, and the processors in use
// never exceed the machine.
func TestReplayInvariants(t *testing.T) {
	const cpus = 16
	for seed := range uint64(3) {
		jobs := randomJobs(seed, 300, cpus)
		for _, policy := range []string{PolicyFCFS, PolicySJF, PolicyEASY, PolicyConservative, PolicyFairway} {
			t.Run(fmt.Sprintf("%s/seed%d", policy, seed), func(t *testing.T) {
				_, res := starts(t, policy, cpus, jobs)
				if len(res.Jobs) != len(jobs) || len(res.Dropped) > 0 {
					t.Fatalf("%d of %d jobs ran, dropped %v", len(res.Jobs), len(jobs), res.Dropped)
				}
				type edge struct {
					at    int64
					delta int
				}
				var edges []edge
				for _, j := range res.Jobs {
					if j.Start < j.Trace.Submit || j.End-j.Start != j.Trace.Run || j.State != api.JobCompleted {
						t.Errorf("job %d: submit %d start %d end %d run %d state %s", j.Trace.ID, j.Trace.Submit, j.Start, j.End, j.Trace.Run, j.State)
					}
					edges = append(edges, edge{j.Start, j.CPUs}, edge{j.End, -j.CPUs})
				}
				slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta)) })
				used := 0
				for _, e := range edges {
					if used += e.delta; used > cpus {
						t.Fatalf("t=%d: %d processors in use on a machine of %d", e.at, used, cpus)
					}
				}
				s := Summarize(res)
				if s.Utilization <= 0 || s.Utilization > 1 {
					t.Errorf("utilization %v outside (0, 1]", s.Utilization)
				}
			})
		}
	}
}

// TestBackfillBeatsFCFS: on random workloads, backfilling never makes the
// mean bounded slowdown worse than strict FCFS by much, and usually much
// better (the literature's headline result).
func TestBackfillBeatsFCFS(t *testing.T) {
	jobs := randomJobs(42, 400, 16)
	_, fcfs := starts(t, PolicyFCFS, 16, jobs)
	_, easy := starts(t, PolicyEASY, 16, jobs)
	f, e := Summarize(fcfs), Summarize(easy)
	if e.BoundedSlowdown.Mean >= f.BoundedSlowdown.Mean {
		t.Errorf("EASY mean bounded slowdown %.2f, FCFS %.2f: backfill did not help", e.BoundedSlowdown.Mean, f.BoundedSlowdown.Mean)
	}
	if e.Backfilled == 0 {
		t.Error("EASY backfilled no job")
	}
}

// gpuJobs is a GPU workload of two accounts: "big" (guaranteed 12 of 16
// GPUs) arrives late, after "small" filled the cluster.
func gpuOptions(policy string, checkpoint int64) Options {
	var jobs []trace.Job
	id := int64(0)
	for i := range 8 { // small: 8 x 2 GPUs for 1000 s at t=0
		id++
		jobs = append(jobs, trace.Job{ID: id, Submit: int64(i), Run: 1000, Requested: 2000, GPUs: 2, User: "small"})
	}
	for i := range 3 { // big: 3 x 4 GPUs at t=100
		id++
		jobs = append(jobs, trace.Job{ID: id, Submit: 100 + int64(i), Run: 500, Requested: 1000, GPUs: 4, User: "big"})
	}
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: PartitionName, Default: true, PreemptMode: api.PreemptRequeue, GraceSecs: 10}},
		Accounts: []api.Account{
			{Name: "big", Shares: 3, Guarantees: map[string]int{PartitionName: 12}},
			{Name: "small", Shares: 1, Guarantees: map[string]int{PartitionName: 4}},
		},
	}
	return Options{Jobs: jobs, Cluster: Homogeneous(trace.Machine{Nodes: 2, CPUsPerNode: 32, GPUsPerNode: 8}), Policy: policy,
		Config: cfg, Account: func(j trace.Job) string { return j.User }, CheckpointSecs: checkpoint}
}

// TestReclaim: the late account below its guarantee takes it back by
// preemption under Fairway, and waits for the borrowers to finish under
// EASY; the preempted work is lost or kept by the checkpoint setting.
func TestReclaim(t *testing.T) {
	tests := []struct {
		name         string
		policy       string
		checkpoint   int64
		wantBigWait  int64 // each big job's wait at most
		wantPreempts int
	}{
		{"easy waits", PolicyEASY, 0, 1000, 0},
		{"fairway reclaims, no checkpoint", PolicyFairway, 0, 20, 6},
		{"fairway reclaims, checkpoint on signal", PolicyFairway, -1, 20, 6},
		{"fairway reclaims, checkpoint every 60 s", PolicyFairway, 60, 20, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), gpuOptions(tc.policy, tc.checkpoint))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("plan errors: %v", res.Errors)
			}
			preempts := 0
			for _, j := range res.Jobs {
				if j.Account == "big" && j.Wait() > tc.wantBigWait {
					t.Errorf("big job %d waited %d s, want at most %d", j.Trace.ID, j.Wait(), tc.wantBigWait)
				}
				preempts += j.Preemptions
				// Held time is the work done plus the work redone.
				if j.HeldSecs != j.Trace.Run+j.LostSecs {
					t.Errorf("job %d: held %d s for a run of %d s with %d s lost", j.Trace.ID, j.HeldSecs, j.Trace.Run, j.LostSecs)
				}
				switch c := tc.checkpoint; {
				case j.Preemptions == 0 && j.LostSecs != 0:
					t.Errorf("job %d: never preempted but lost %d s", j.Trace.ID, j.LostSecs)
				case j.Preemptions > 0 && c == 0 && (j.LostSecs < 90 || j.LostSecs > 130):
					t.Errorf("job %d: without checkpoints lost %d s, want its whole first run (about 100-120 s)", j.Trace.ID, j.LostSecs)
				case j.Preemptions > 0 && c < 0 && j.LostSecs != 0:
					t.Errorf("job %d: checkpointed on the signal but lost %d s", j.Trace.ID, j.LostSecs)
				case j.Preemptions > 0 && c > 0 && (j.LostSecs >= c || j.LostSecs < 0):
					t.Errorf("job %d: checkpoints every %d s but lost %d s", j.Trace.ID, c, j.LostSecs)
				}
				if j.State != api.JobCompleted {
					t.Errorf("job %d ended %s", j.Trace.ID, j.State)
				}
			}
			if preempts != tc.wantPreempts {
				t.Errorf("preemptions = %d, want %d", preempts, tc.wantPreempts)
			}
			s := Summarize(res)
			for _, a := range s.Accounts {
				if a.Name == "big" && tc.policy == PolicyFairway && a.ShortfallHours > 0.05 {
					// At most the grace time (10 s) of 12 GPUs, plus the
					// arrivals' spread.
					t.Errorf("big's guarantee shortfall %.3f h under Fairway", a.ShortfallHours)
				}
				if a.Name == "big" && tc.policy == PolicyEASY && a.ShortfallHours < 1 {
					t.Errorf("big's guarantee shortfall %.3f h under EASY, want the wait for the borrowers", a.ShortfallHours)
				}
			}
		})
	}
}

// TestStatic: under static partitions an account never holds more than its
// part of the nodes, and a job larger than its partition is counted as
// unable to run.
func TestStatic(t *testing.T) {
	opt := gpuOptions(PolicyStatic, 0)
	// 4 nodes of 4 GPUs, split 12:4: big gets 3 nodes, small 1.
	opt.Cluster = Homogeneous(trace.Machine{Nodes: 4, CPUsPerNode: 16, GPUsPerNode: 4})
	opt.Jobs = append(opt.Jobs, trace.Job{ID: 99, Submit: 5, Run: 10, Requested: 10, GPUs: 8, User: "small"})
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	limit := map[string]int{"big": 12, "small": 4}
	most := map[string]int{}
	for _, s := range res.Samples {
		for i, a := range res.Accounts {
			most[a] = max(most[a], s.ByAccount[i])
		}
	}
	if diff := gocmp.Diff(limit, most); diff != "" {
		t.Errorf("most GPUs held per account (-partition +got):\n%s", diff)
	}
	if diff := gocmp.Diff(trace.Counts{"cannot run on the cluster (PartitionNodeLimit)": 1}, res.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if len(res.Jobs) != 11 {
		t.Errorf("%d jobs ran, want 11", len(res.Jobs))
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		total   int
		weights []float64
		want    []int
	}{
		{10, []float64{1, 1}, []int{5, 5}},
		{2, []float64{3, 1}, []int{2, 0}},
		{163, []float64{64, 32, 16, 64, 64, 16, 32, 16, 8, 8, 32}, []int{30, 15, 7, 30, 29, 7, 15, 7, 4, 4, 15}},
		{5, []float64{0, 0}, []int{0, 0}},
	}
	for _, tc := range tests {
		got := Apportion(tc.total, tc.weights)
		if diff := gocmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Apportion(%d, %v) (-want +got):\n%s", tc.total, tc.weights, diff)
		}
	}
}

func TestNodesForLoad(t *testing.T) {
	// 100 GPU-hours of work arriving over 10 hours on 8-GPU nodes at load
	// 0.5: 20 GPUs busy on average, 2.5 nodes -> 3 (rounded).
	jobs := []trace.Job{{Submit: 0, GPUs: 10, Run: 5 * 3600}, {Submit: 10 * 3600, GPUs: 10, Run: 5 * 3600}}
	if got := NodesForLoad(jobs, 8, 0.5); got != 3 {
		t.Errorf("NodesForLoad = %d, want 3", got)
	}
}

func TestPolicyConfig(t *testing.T) {
	base := api.ClusterConfig{Accounts: []api.Account{{Name: "a", Guarantees: map[string]int{PartitionName: 4}}}}
	for _, p := range Policies() {
		cfg, err := PolicyConfig(p, base)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, ok := cfg.Partition(PartitionName); !ok {
			t.Errorf("%s: no partition %s", p, PartitionName)
		}
		if keeps := len(cfg.Accounts[0].Guarantees) > 0; keeps != (p == PolicyFairway) {
			t.Errorf("%s: guarantees kept = %v", p, keeps)
		}
	}
	if base.Accounts[0].Guarantees == nil {
		t.Error("PolicyConfig changed its base configuration")
	}
	if _, err := PolicyConfig("lottery", base); err == nil {
		t.Error("unknown policy: no error")
	}
}
