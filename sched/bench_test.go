package sched_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
)

// benchInput is one full pass's input on a large cluster: 10,000 nodes x 8
// H100 GPUs (128 CPUs, 1 TB), about 95% busy with a mixed running workload,
// and `pending` pending jobs of a mixed workload: 1, 2, 4 and 8-GPU jobs,
// 2-4 node gangs of 8 GPUs, CPU-only jobs, holds, dependencies, a few job
// arrays, 20 accounts (4 with guarantees) of 10 users with fair-share usage.
func benchInput(pending int) sched.Input {
	rng := rand.New(rand.NewPCG(42, uint64(pending)))
	const nodes, gpus = 10000, 8
	now := int64(t0)
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, MaxTimeSecs: 7 * 24 * hour, GraceSecs: 120}},
		Scheduling: api.SchedulingConfig{
			Weights:  api.PriorityWeights{Age: 1000, FairShare: 10000, JobSize: 500, QOS: 2000},
			Backfill: api.BackfillConfig{Mode: api.BackfillWindowed, Reservations: 8, WindowSecs: 2 * 24 * hour},
		},
		QOS: []api.QOS{{Name: "normal"}, {Name: "high", Priority: 100}},
	}
	for a := range 20 {
		acct := api.Account{Name: fmt.Sprintf("acct%02d", a), Shares: 1 + a%5}
		for u := range 10 {
			acct.Users = append(acct.Users, api.AccountUser{Name: fmt.Sprintf("u%02d_%d", a, u), Shares: 1})
		}
		cfg.Accounts = append(cfg.Accounts, acct)
	}
	var nodeList []*api.Node
	for i := range nodes {
		nodeList = append(nodeList, schedtest.Node(fmt.Sprintf("gpu%05d", i), 128, 1024*1024, gpus, "h100", "gpu"))
	}
	in := sched.Input{Now: now, Config: cfg, Nodes: nodeList, Usage: map[string]float64{}}
	owner := func() (string, string) {
		a := rng.IntN(20)
		return fmt.Sprintf("acct%02d", a), fmt.Sprintf("u%02d_%d", a, rng.IntN(10))
	}
	for _, acct := range cfg.Accounts {
		for _, u := range acct.Users {
			in.Usage[api.AssocKey(acct.Name, u.Name)] = rng.Float64() * 1e6
		}
	}
	id := api.JobID(1)
	limits := []int64{hour, 2 * hour, 4 * hour, 8 * hour, 12 * hour, 24 * hour, 48 * hour}
	// Running jobs: fill each node with jobs of 1, 2, 4 or 8 GPUs, leaving
	// about 5% of the GPUs free.
	for _, n := range nodeList {
		free := gpus
		next := 0
		for free > 0 {
			if rng.IntN(20) == 0 {
				free--
				next++
				continue
			}
			g := min([]int{1, 2, 4, 8}[rng.IntN(4)], free)
			a := api.NodeAlloc{Node: n.Name, CPUs: 16 * g, MemoryMB: int64(g) * 128 * 1024}
			for k := 0; k < g; k++ {
				a.GPUs = append(a.GPUs, next)
				a.GPUUUIDs = append(a.GPUUUIDs, n.Resources.GPUs[next].UUID)
				next++
			}
			free -= g
			acct, user := owner()
			limit := limits[rng.IntN(len(limits))]
			in.Jobs = append(in.Jobs, &api.Job{ID: id, State: api.JobRunning, Partition: "gpu",
				Spec: api.JobSpec{Name: "train", Account: acct, User: user, Nodes: 1, NTasks: 1, CPUsPerTask: 16 * g,
					MemoryMB: int64(g) * 128 * 1024, GPUs: g, TimeLimitSecs: limit, Priority: 50 + rng.IntN(50)},
				SubmitTime: now - 2*limit, StartTime: now - rng.Int64N(limit), Alloc: []api.NodeAlloc{a}})
			id++
		}
	}
	// Accounts 0-3 are guaranteed 90% of what they run: slightly above
	// their guarantee, so their jobs of higher --priority preempt their
	// own lower ones.
	used := map[string]int{}
	for _, j := range in.Jobs {
		used[j.Spec.Account] += j.Spec.GPUs
	}
	for a := range 4 {
		acct := &in.Config.Accounts[a]
		acct.Guarantees = map[string]int{"gpu": used[acct.Name] * 9 / 10}
	}
	firstPending := id
	for i := 0; i < pending; i++ {
		acct, user := owner()
		s := api.JobSpec{Name: fmt.Sprintf("job%d", rng.IntN(1000)), Account: acct, User: user, Nodes: 1, NTasks: 1,
			TimeLimitSecs: limits[rng.IntN(len(limits))], Priority: rng.IntN(100)}
		switch r := rng.IntN(100); {
		case r < 40:
			s.GPUs = 1
		case r < 60:
			s.GPUs = 2
		case r < 75:
			s.GPUs = 4
		case r < 90:
			s.GPUs = 8
		case r < 97:
			s.GPUs, s.Nodes, s.NTasks = 8, 2+rng.IntN(3), 2+rng.IntN(3)
		}
		s.CPUsPerTask = max(16*s.GPUs, 4)
		s.MemoryMB = int64(max(s.GPUs, 1)) * 64 * 1024
		if rng.IntN(10) == 0 {
			s.QOS = "high"
		}
		j := &api.Job{ID: id, State: api.JobPending, Partition: "gpu", Spec: s, SubmitTime: now - rng.Int64N(7*24*hour)}
		switch r := rng.IntN(100); {
		case r < 2:
			j.Spec.Hold = true
		case r < 4:
			j.Spec.Dependency = fmt.Sprintf("afterok:%d", firstPending+api.JobID(rng.IntN(i+1)))
		case r < 5 && pending >= 1000:
			// A job array of 100 tasks (%10 throttle) every hundred jobs.
			j.Spec.Array = "0-99%10"
			j.ArrayJobID, j.ArrayTaskID, j.ArrayMaxRun = id, -1, 10
			for t := range 100 {
				j.ArrayPending = append(j.ArrayPending, t)
			}
		}
		in.Jobs = append(in.Jobs, j)
		id++
	}
	return in
}

// BenchmarkSchedule measures one full pass on 10,000 nodes x 8 GPUs with
// 1,000, 10,000 and 100,000 pending jobs.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := benchInput(n)
			s := sched.New()
			var plan api.Plan
			for b.Loop() {
				plan = s.Schedule(in)
			}
			reserved := 0
			for _, p := range plan.Pending {
				if p.ExpectedStart > 0 {
					reserved++
				}
			}
			b.ReportMetric(float64(len(plan.Starts)), "starts")
			b.ReportMetric(float64(len(plan.Preemptions)), "preemptions")
			b.ReportMetric(float64(reserved), "reserved")
		})
	}
}

// BenchmarkArray: a pass over one job array record on 100 idle 8-GPU
// nodes costs what its started tasks cost (800 start), not what the array
// holds: 1,000 and 100,000 tasks take the same time.
func BenchmarkArray(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("%dk-tasks", n/1000), func(b *testing.B) {
			tasks := make(api.TaskIDs, n)
			for i := range tasks {
				tasks[i] = i
			}
			rec := &api.Job{ID: 1, State: api.JobPending, SubmitTime: t0, ArrayJobID: 1, ArrayTaskID: -1, ArrayPending: tasks,
				Spec: spec("a", "u", 1, 1, hour)}
			in := sched.Input{Now: t0, Config: onePartition(), Nodes: gpuNodes("n", 100, 8, "h100", "gpu"), Jobs: []*api.Job{rec}}
			s := sched.New()
			var plan api.Plan
			for b.Loop() {
				plan = s.Schedule(in)
			}
			b.ReportMetric(float64(len(plan.Starts)), "starts")
		})
	}
}
