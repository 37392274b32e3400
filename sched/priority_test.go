package sched_test

import (
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPriorities(t *testing.T) {
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, PriorityFactor: 1}, {Name: "hi", PriorityFactor: 2}},
		Accounts:   []api.Account{{Name: "a", Shares: 1, Users: []api.AccountUser{{Name: "u", Shares: 1}, {Name: "v", Shares: 1}}}},
		QOS:        []api.QOS{{Name: "normal"}, {Name: "high", Priority: 100}},
		Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{
			Age: 1000, MaxAgeSecs: 1000, FairShare: 10000, JobSize: 100, Partition: 500, QOS: 2000,
			TRES: map[string]float64{"gpu": 300},
		}},
	}
	nodes := gpuNodes("n", 2, 8, "h100", "gpu", "hi") // 64 CPUs and 8 GPUs each
	job := func(id api.JobID, age int64, edit func(*api.JobSpec)) *api.Job {
		s := spec("a", "u", 1, 4, hour) // 32 CPUs, 4 GPUs
		if edit != nil {
			edit(&s)
		}
		return &api.Job{ID: id, State: api.JobPending, Spec: s, SubmitTime: t0 - age}
	}
	in := sched.Input{
		Now: t0, Config: cfg, Nodes: nodes,
		Usage: map[string]float64{api.AssocKey("a", "u"): 100}, // v has none: v ranks first
		Jobs: []*api.Job{
			job(1, 500, func(s *api.JobSpec) { s.QOS = "high" }),
			job(2, 2000, func(s *api.JobSpec) { s.User, s.Nice = "v", 100 }),
			job(3, 0, func(s *api.JobSpec) { s.Partitions = []string{"hi"}; s.Hold = true }),
		},
	}
	// Job 1: age 500/1000, fair share 1/2 (u has usage, v none), size
	// max(1/2 nodes, 32/128 CPUs, 4/16 GPUs), partition 1/2, QOS 1, GPUs 4/16.
	want := []sched.PriorityRow{
		{JobID: 1, Partition: "gpu", User: "u", Account: "a", QOSName: "high", Priority: 500 + 5000 + 50 + 250 + 2000 + 75,
			Age: 500, FairShare: 5000, JobSize: 50, PartitionF: 250, QOS: 2000, TRES: map[string]float64{"gpu": 75}},
		{JobID: 2, Partition: "gpu", User: "v", Account: "a", Priority: 1000 + 10000 + 50 + 250 + 75 - 100,
			Age: 1000, FairShare: 10000, JobSize: 50, PartitionF: 250, Nice: 100, TRES: map[string]float64{"gpu": 75}},
		{JobID: 3, Partition: "hi", User: "u", Account: "a", Priority: 0,
			Age: 0, FairShare: 5000, JobSize: 50, PartitionF: 500, TRES: map[string]float64{"gpu": 75}},
	}
	if diff := cmp.Diff(want, sched.Priorities(in), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("priorities (-want +got):\n%s", diff)
	}
}

// TestJobPriorityOrdersAnAccount: inside an account --priority orders the
// jobs, without moving them ahead of other accounts' jobs.
func TestJobPriorityOrdersAnAccount(t *testing.T) {
	cfg := onePartition(api.Account{Name: "a", Shares: 1}, api.Account{Name: "b", Shares: 1})
	cfg.Scheduling.Weights = api.PriorityWeights{Age: 1000, MaxAgeSecs: 1000}
	job := func(id api.JobID, acct string, age int64, prio int) *api.Job {
		s := spec(acct, "u", 1, 8, hour)
		s.Priority = prio
		return &api.Job{ID: id, State: api.JobPending, Spec: s, SubmitTime: t0 - age}
	}
	in := sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 1, 8, "h100", "gpu"), Jobs: []*api.Job{
		job(1, "a", 900, 0),
		job(2, "b", 800, 0),
		job(3, "a", 700, 0),
		job(4, "a", 100, 99), // newest, but the highest --priority of a
	}}
	got := map[api.JobID]float64{}
	for _, r := range sched.Priorities(in) {
		got[r.JobID] = r.Priority
	}
	// a's values 900, 700, 100 go to jobs 4, 1, 3; b keeps 800.
	if diff := cmp.Diff(map[api.JobID]float64{1: 700, 2: 800, 3: 100, 4: 900}, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("priorities (-want +got):\n%s", diff)
	}
	plan := sched.New().Schedule(in)
	if len(plan.Starts) != 1 || plan.Starts[0].JobID != 4 {
		t.Errorf("started %v, want job 4", starts(plan))
	}
}

// TestDeterminism: the same input gives the same plan, whatever the order
// of its jobs and nodes.
func TestDeterminism(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		c := randomWorkload(rng, api.BackfillConservative)
		c.Config.Accounts = []api.Account{{Name: "a", Shares: 1, Guarantees: map[string]int{"gpu": 8}}, {Name: "b", Shares: 1}}
		c.Config.Scheduling.QueueOrder = ""
		var checked int
		c.OnPlan = func(in sched.Input, plan api.Plan) {
			if checked++; checked%5 != 0 {
				return
			}
			shuffled := in
			shuffled.Jobs = append([]*api.Job{}, in.Jobs...)
			shuffled.Nodes = append([]*api.Node{}, in.Nodes...)
			rng.Shuffle(len(shuffled.Jobs), func(i, j int) { shuffled.Jobs[i], shuffled.Jobs[j] = shuffled.Jobs[j], shuffled.Jobs[i] })
			rng.Shuffle(len(shuffled.Nodes), func(i, j int) { shuffled.Nodes[i], shuffled.Nodes[j] = shuffled.Nodes[j], shuffled.Nodes[i] })
			again := sched.New().Schedule(shuffled)
			if diff := cmp.Diff(plan, again); diff != "" {
				t.Fatalf("seed %d t0%+d: a shuffled input gives another plan (-first +second):\n%s", seed, in.Now-t0, diff)
			}
		}
		c.RunUntilIdle(t0 + 1000*hour)
	}
}
