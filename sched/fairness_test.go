package sched_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/schedtest"
)

// TestFairnessConverges: accounts with random shares, some busy (always 20
// random jobs waiting) and some idle, on 32 GPUs for a day with a one-hour
// usage half-life. Over the second half of the day each busy account gets
// about its share of the GPUs among the busy ones.
// With guarantees proportional to the shares as well, the same holds, no
// two jobs preempt each other, no account reclaims from an account that
// reclaims from it in the same pass, and preemptions stay under 10% of the
// starts.
func TestFairnessConverges(t *testing.T) {
	for _, guarantees := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarantees=%v", guarantees), func(t *testing.T) {
			worst := 0.0
			for seed := range uint64(12) {
				worst = max(worst, fairnessRun(t, seed, guarantees))
			}
			t.Logf("largest gap between an account's GPU share and its fair share: %.3f", worst)
		})
	}
}

// fairnessRun runs one random workload and returns the largest gap between a
// busy account's fraction of the GPU time and its fair share.
func fairnessRun(t *testing.T, seed uint64, guarantees bool) float64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	const gpus = 32
	nAcct := 3 + rng.IntN(3)
	shares := make([]int, nAcct)
	busy := make([]bool, nAcct)
	total, busyShares, nBusy := 0, 0, 0
	for i := range shares {
		shares[i] = 1 + rng.IntN(10)
		total += shares[i]
		busy[i] = i < 2 || rng.IntN(4) > 0
	}
	var accounts []api.Account
	for i := range shares {
		a := api.Account{Name: fmt.Sprintf("acct%d", i), Shares: shares[i]}
		if guarantees {
			a.Guarantees = map[string]int{"gpu": gpus * shares[i] / total}
		}
		accounts = append(accounts, a)
		if busy[i] {
			busyShares += shares[i]
			nBusy++
		}
	}
	cfg := onePartition(accounts...)
	cfg.Scheduling.Weights = api.PriorityWeights{FairShare: 10000, Age: 10}
	cfg.Scheduling.UsageHalfLifeSecs = hour
	c := newCluster(cfg, gpuNodes("n", 4, 8, "h100", "gpu"))
	// Busy accounts keep 20 jobs waiting: the backlog is topped up every
	// ten minutes.
	topUp := func() {
		waiting := map[string]int{}
		for _, j := range c.Active() {
			if j.State == api.JobPending {
				waiting[j.Spec.Account]++
			}
		}
		for i, a := range accounts {
			for n := waiting[a.Name]; busy[i] && n < 20; n++ {
				g := []int{1, 1, 2, 4, 8}[rng.IntN(5)]
				run := int64(10+rng.IntN(50)) * 60
				c.Submit(spec(a.Name, "u", 1, g, run), run)
			}
		}
	}
	var from int64
	for step := int64(1); step <= 24*6; step++ {
		topUp()
		c.RunUntil(t0 + step*600)
		if step == 12*6 {
			from = c.Now
		}
	}
	if len(c.Errors) > 0 {
		t.Fatalf("seed %d: plan errors: %v", seed, c.Errors)
	}

	// GPU time per account over the second day, from the event log.
	gpuSecs := map[string]float64{}
	startAt := map[api.JobID]int64{}
	gpusOf := map[api.JobID]int{}
	account := func(id api.JobID) string { return c.Job(id).Spec.Account }
	charge := func(id api.JobID, end int64) {
		if s, ok := startAt[id]; ok {
			gpuSecs[account(id)] += float64(gpusOf[id]) * float64(max(end, from)-max(s, from))
			delete(startAt, id)
		}
	}
	for _, e := range c.Log {
		switch e.Kind {
		case schedtest.Started:
			startAt[e.Job], gpusOf[e.Job] = e.Time, e.GPUs
		case schedtest.Ended, schedtest.Stopped:
			if e.Time >= from {
				charge(e.Job, e.Time)
			} else {
				delete(startAt, e.Job)
			}
		}
	}
	for id := range startAt {
		charge(id, c.Now)
	}
	sum := 0.0
	for _, v := range gpuSecs {
		sum += v
	}
	if util := sum / (gpus * float64(c.Now-from)); util < 0.8 {
		t.Errorf("seed %d: GPU utilization %.2f over the second half, want at least 0.8", seed, util)
	}
	worst := 0.0
	for i, a := range accounts {
		if !busy[i] {
			continue
		}
		got, want := gpuSecs[a.Name]/sum, float64(shares[i])/float64(busyShares)
		worst = max(worst, math.Abs(got-want))
		if math.Abs(got-want) > 0.1 {
			t.Errorf("seed %d: %s (shares %d of %d busy) got %.3f of the GPU time, want %.3f", seed, a.Name, shares[i], busyShares, got, want)
		}
	}

	// Preemptions: never back and forth, and few.
	preempted := map[[2]api.JobID]bool{}
	byPass := map[int64]map[[2]string]bool{}
	for _, e := range c.Events(schedtest.Preempted) {
		if preempted[[2]api.JobID{e.For, e.Job}] {
			t.Errorf("seed %d: job %d preempted job %d, which had preempted it", seed, e.For, e.Job)
		}
		preempted[[2]api.JobID{e.Job, e.For}] = true
		pair := [2]string{account(e.For), account(e.Job)}
		if byPass[e.Time] == nil {
			byPass[e.Time] = map[[2]string]bool{}
		}
		if e.Reason == "reclaim" {
			if byPass[e.Time][[2]string{pair[1], pair[0]}] {
				t.Errorf("seed %d t0%+d: %s and %s reclaim from each other", seed, e.Time-t0, pair[0], pair[1])
			}
			byPass[e.Time][pair] = true
		}
	}
	// Accounts borrow whatever is idle and dip below their guarantee
	// whenever a job of theirs ends, so some reclaim is the policy; it
	// stays a small fraction of the starts.
	if n, starts := len(c.Events(schedtest.Preempted)), len(c.Events(schedtest.Started)); n > starts/10 {
		t.Errorf("seed %d: %d preemptions for %d starts, want at most 10%%", seed, n, starts)
	}
	if !guarantees && len(c.Events(schedtest.Preempted)) > 0 {
		t.Errorf("seed %d: preemptions without guarantees", seed)
	}
	return worst
}
