package sched_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

// The production report's scenarios, driven over virtual time.

// prodAccounts: 100 GPUs, ProdExp1 guaranteed 60 and ProdExp2 40.
func prodAccounts() []api.Account {
	return []api.Account{
		{Name: "ProdExp1", Shares: 60, Guarantees: map[string]int{"gpu": 60}},
		{Name: "ProdExp2", Shares: 40, Guarantees: map[string]int{"gpu": 40}},
	}
}

// TestBorrowAndReclaim: ProdExp2 uses 25; ProdExp1, with more demand, grows
// to 75. ProdExp2 then submits work for its full 40: ProdExp1's jobs are
// preempted down to 60, and ProdExp2 reaches 40.
func TestBorrowAndReclaim(t *testing.T) {
	c := newCluster(onePartition(prodAccounts()...), gpuNodes("n", 20, 5, "h100", "gpu"))
	job := func(acct string) api.JobSpec { return spec(acct, "u"+acct, 1, 5, 24*hour) }
	for range 5 {
		c.Submit(job("ProdExp2"), 20*hour)
	}
	var exp1 []api.JobID
	for range 20 {
		exp1 = append(exp1, c.Submit(job("ProdExp1"), 20*hour))
	}
	c.RunUntil(t0 + hour)
	if diff := cmp.Diff(map[string]int{"ProdExp1": 75, "ProdExp2": 25}, gpusByAccount(c, "ProdExp1", "ProdExp2")); diff != "" {
		t.Fatalf("after borrowing, GPUs per account (-want +got):\n%s", diff)
	}
	if p := preemptions(c); len(p) > 0 {
		t.Fatalf("preemptions while borrowing idle GPUs: %v", p)
	}

	// ProdExp2 wants its full 40.
	var exp2 []api.JobID
	for range 3 {
		exp2 = append(exp2, c.Submit(job("ProdExp2"), 20*hour))
	}
	c.RunUntil(t0 + 2*hour)
	// The three ProdExp1 jobs started last (they borrowed) are the
	// victims: same priority, same run time, newest first.
	want := []preemption{
		{exp1[14], exp2[0], "reclaim"},
		{exp1[13], exp2[1], "reclaim"},
		{exp1[12], exp2[2], "reclaim"},
	}
	if diff := cmp.Diff(want, preemptions(c)); diff != "" {
		t.Errorf("preemptions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"ProdExp1": 60, "ProdExp2": 40}, gpusByAccount(c, "ProdExp1", "ProdExp2")); diff != "" {
		t.Errorf("after reclaim, GPUs per account (-want +got):\n%s", diff)
	}
	for _, id := range exp2 {
		if j := c.Job(id); j.State != api.JobRunning {
			t.Errorf("ProdExp2 job %d is %s (%s), want RUNNING", id, j.State, j.Reason)
		}
	}
	for _, v := range want {
		if j := c.Job(v.Job); j.State != api.JobPending || j.RestartCount != 1 {
			t.Errorf("victim %d is %s with restart count %d, want PENDING (requeued) with 1", v.Job, j.State, j.RestartCount)
		}
	}
	// Nothing more happens while both stay at their guarantees.
	c.RunUntil(t0 + 10*hour)
	if got := len(c.Events(schedtest.Preempted)); got != 3 {
		t.Errorf("%d preemptions in all, want 3", got)
	}
	if len(c.Errors) > 0 {
		t.Errorf("plan errors: %v", c.Errors)
	}
}

// TestPriorityPreemptionInsideAccount: ProdExp1 at its 60 with jobs of
// priority 80, 50, 30 and 10 running; a priority-90 job needing 15
// arrives: exactly the priority-10 job is preempted if it frees enough,
// else the fewest lowest-priority jobs that do, and ProdExp1 stays at 60.
// ProdExp2's jobs are never touched.
func TestPriorityPreemptionInsideAccount(t *testing.T) {
	type running struct {
		prio, nodes int // 5 GPUs per node
	}
	for _, tc := range []struct {
		name    string
		running []running
		victims []int // priorities of the preempted jobs
		exp1    int   // ProdExp1's GPUs at the end
	}{
		{"lowest frees enough", []running{{80, 3}, {50, 3}, {30, 3}, {10, 3}}, []int{10}, 60},
		{"lowest frees more than enough", []running{{80, 3}, {50, 3}, {30, 2}, {10, 4}}, []int{10}, 55},
		{"lowest alone too small", []running{{80, 4}, {50, 3}, {30, 3}, {10, 2}}, []int{30}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(onePartition(prodAccounts()...), gpuNodes("n", 20, 5, "h100", "gpu"))
			byPrio := map[api.JobID]int{}
			for _, r := range tc.running {
				id := c.Submit(with(spec("ProdExp1", "alice", r.nodes, 5, 48*hour), func(s *api.JobSpec) { s.Priority = r.prio }), 40*hour)
				byPrio[id] = r.prio
			}
			for range 8 {
				c.Submit(spec("ProdExp2", "bob", 1, 5, 48*hour), 40*hour)
			}
			c.RunUntil(t0 + hour)
			if diff := cmp.Diff(map[string]int{"ProdExp1": 60, "ProdExp2": 40}, gpusByAccount(c, "ProdExp1", "ProdExp2")); diff != "" {
				t.Fatalf("before, GPUs per account (-want +got):\n%s", diff)
			}
			urgent := c.Submit(with(spec("ProdExp1", "alice", 3, 5, 48*hour), func(s *api.JobSpec) { s.Priority = 90 }), 40*hour)
			c.RunUntil(t0 + 2*hour)
			var got []int
			for _, p := range preemptions(c) {
				if p.For != urgent || p.Reason != "priority" {
					t.Errorf("preemption %+v, want reason priority for job %d", p, urgent)
				}
				got = append(got, byPrio[p.Job])
			}
			if diff := cmp.Diff(tc.victims, got); diff != "" {
				t.Errorf("priorities of the victims (-want +got):\n%s", diff)
			}
			if j := c.Job(urgent); j.State != api.JobRunning {
				t.Errorf("priority-90 job is %s (%s), want RUNNING", j.State, j.Reason)
			}
			if diff := cmp.Diff(map[string]int{"ProdExp1": tc.exp1, "ProdExp2": 40}, gpusByAccount(c, "ProdExp1", "ProdExp2")); diff != "" {
				t.Errorf("after, GPUs per account (-want +got):\n%s", diff)
			}
			if len(c.Errors) > 0 {
				t.Errorf("plan errors: %v", c.Errors)
			}
		})
	}
}

// TestWeightFactorShares: shares HIGHPRI, MIDPRI, LOWPRI with weights 1, 3
// and 5 (lower weight, larger share) and equal past usage: jobs submitted
// together run MID before LOW, and a HIGH job submitted later runs before
// the waiting ones.
func TestWeightFactorShares(t *testing.T) {
	cfg := onePartition(
		api.Account{Name: "HIGHPRI", WeightFactor: 1},
		api.Account{Name: "MIDPRI", WeightFactor: 3},
		api.Account{Name: "LOWPRI", WeightFactor: 5},
	)
	cfg.Scheduling.Weights = api.PriorityWeights{FairShare: 10000, Age: 100}
	c := newCluster(cfg, gpuNodes("n", 1, 2, "h100", "gpu"))
	for _, a := range []string{"HIGHPRI", "MIDPRI", "LOWPRI"} {
		c.Usage[api.AssocKey(a, "u")] = 100 * hour
	}
	var low, mid []api.JobID
	for range 4 {
		low = append(low, c.Submit(spec("LOWPRI", "u", 1, 1, hour), hour))
	}
	for range 4 {
		mid = append(mid, c.Submit(spec("MIDPRI", "u", 1, 1, hour), hour))
	}
	c.RunUntil(t0 + hour/2)
	high := c.Submit(spec("HIGHPRI", "u", 1, 1, hour), hour)
	c.RunUntil(t0 + 10*hour)

	var order []api.JobID
	for _, e := range c.Events(schedtest.Started) {
		order = append(order, e.Job)
	}
	// Two GPUs: two MID jobs, then HIGH (submitted later) with the third
	// MID, then the last MID, then LOW.
	want := []api.JobID{mid[0], mid[1], high, mid[2], mid[3], low[0], low[1], low[2], low[3]}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
}
