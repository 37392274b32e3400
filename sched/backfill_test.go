package sched_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
)

// randomWorkload builds a random cluster (4-12 nodes of 4 or 8 GPUs, some of
// type a100, the rest h100) and a random stream of jobs (1-3 nodes, 1 to 8
// GPUs per node, or none; some of a GPU type; time limits of 10 minutes to
// 8 hours; arriving over the first hours). Every job runs exactly its time
// limit.
func randomWorkload(rng *rand.Rand, mode string) *schedtest.Cluster {
	cfg := onePartition()
	cfg.Scheduling.QueueOrder = api.QueueFCFS
	cfg.Scheduling.Backfill = api.BackfillConfig{Mode: mode, Reservations: 3, WindowSecs: 365 * 24 * hour}
	var nodes []*api.Node
	per := []int{4, 8}[rng.IntN(2)]
	for i := range 4 + rng.IntN(9) {
		typ := "h100"
		if rng.IntN(4) == 0 {
			typ = "a100"
		}
		nodes = append(nodes, schedtest.Node(fmt.Sprintf("n%d", i), 8*per, int64(per)*65536, per, typ, "gpu"))
	}
	c := newCluster(cfg, nodes)
	for range 20 + rng.IntN(60) {
		n := 1 + rng.IntN(3)*rng.IntN(2)
		g := 1 + rng.IntN(per)
		if rng.IntN(8) == 0 {
			g = 0
		}
		limit := int64(10+rng.IntN(48)*10) * 60
		s := spec("a", "u", n, g, limit)
		if g > 0 && rng.IntN(5) == 0 {
			s.GPUType = "h100"
		}
		at := t0 + int64(rng.IntN(4*hour))
		if rng.IntN(2) == 0 {
			at = t0
		}
		c.SubmitAt(at, s, limit)
	}
	return c
}

// TestBackfillNeverDelaysAReservation: over random workloads whose jobs
// run exactly their time limits, every job that got a reservation (an
// expected start) starts no later than the first one it got, in EASY,
// windowed and conservative modes. Jobs are ordered first come, first
// served, so a later job never outranks a reserved one.
func TestBackfillNeverDelaysAReservation(t *testing.T) {
	for _, mode := range []string{api.BackfillEASY, api.BackfillWindowed, api.BackfillConservative} {
		t.Run(mode, func(t *testing.T) {
			reserved := 0
			for seed := range uint64(60) {
				rng := rand.New(rand.NewPCG(seed, 7))
				c := randomWorkload(rng, mode)
				first := map[api.JobID]int64{}
				c.OnPlan = func(_ sched.Input, p api.Plan) {
					for _, pi := range p.Pending {
						if _, ok := first[pi.JobID]; !ok && pi.ExpectedStart > 0 {
							first[pi.JobID] = pi.ExpectedStart
						}
					}
				}
				if !c.RunUntilIdle(t0 + 1000*hour) {
					for _, j := range c.Active() {
						if j.Reason != sched.ReasonBadConstraints {
							t.Fatalf("seed %d: job %d left %s (%s)", seed, j.ID, j.State, j.Reason)
						}
					}
				}
				if len(c.Errors) > 0 {
					t.Fatalf("seed %d: plan errors: %v", seed, c.Errors)
				}
				for _, ev := range c.Events(schedtest.Started) {
					want, ok := first[ev.Job]
					if !ok {
						continue
					}
					reserved++
					if ev.Time > want {
						t.Errorf("seed %d: job %d reserved for t0+%d started at t0+%d", seed, ev.Job, want-t0, ev.Time-t0)
					}
				}
			}
			if reserved < 100 {
				t.Errorf("only %d jobs got a reservation: the workloads do not exercise backfill", reserved)
			}
		})
	}
}

// TestBackfillStartsAtLeastPriorityOrder: from the same state, a backfill
// pass starts every job a strict priority-order pass starts (the same jobs
// come first, placed the same way) and usually more.
func TestBackfillStartsAtLeastPriorityOrder(t *testing.T) {
	more := 0
	states := 0
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 11))
		c := randomWorkload(rng, api.BackfillEASY)
		c.OnPlan = func(in sched.Input, bf api.Plan) {
			strict := in
			strict.Config.Scheduling.Backfill.Mode = api.BackfillNone
			plain := sched.New().Schedule(strict)
			states++
			if len(bf.Starts) > len(plain.Starts) {
				more++
			}
			for _, s := range plain.Starts {
				if !slices.ContainsFunc(bf.Starts, func(b api.Start) bool { return b.JobID == s.JobID }) {
					t.Errorf("seed %d t0+%d: strict order starts job %d, backfill does not", seed, in.Now-t0, s.JobID)
				}
			}
		}
		c.RunUntilIdle(t0 + 1000*hour)
	}
	if more == 0 {
		t.Errorf("backfill never started more jobs than strict order in %d passes", states)
	}
}
