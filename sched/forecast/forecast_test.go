package forecast_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/forecast"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	now  = 1_700_000_000
	hour = 3600
)

// nodes returns n up nodes of 8 GPUs in partition gpu.
func nodes(n int) []*api.Node {
	var out []*api.Node
	for i := 1; i <= n; i++ {
		out = append(out, schedtest.Node(fmt.Sprintf("n%d", i), 64, 64*8192, 8, "h100", "gpu"))
	}
	return out
}

func config() api.ClusterConfig {
	return api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", Default: true, GraceSecs: 60}},
		Accounts: []api.Account{{Name: "A", Shares: 1}, {Name: "B", Shares: 1}}}
}

func spec(acct string, gpus int, limit int64) api.JobSpec {
	return api.JobSpec{Name: "job", Account: acct, User: "u" + acct, Nodes: 1, NTasks: 1, CPUsPerTask: 8 * gpus,
		MemoryMB: int64(gpus) * 8192, GPUs: gpus, TimeLimitSecs: limit, Script: "#!/bin/sh\n"}
}

func pendingJob(id api.JobID, s api.JobSpec) *api.Job {
	return &api.Job{ID: id, State: api.JobPending, Spec: s, Partition: "gpu", SubmitTime: now - 1000 + int64(id)}
}

// runningJob holds gpus GPUs (from 0) of node, started ago seconds before
// now, with time limit limit.
func runningJob(id api.JobID, acct, node string, gpus int, ago, limit int64) *api.Job {
	a := api.NodeAlloc{Node: node, CPUs: 8 * gpus, MemoryMB: int64(gpus) * 8192}
	for g := range gpus {
		a.GPUs = append(a.GPUs, g)
		a.GPUUUIDs = append(a.GPUUUIDs, fmt.Sprintf("%s-gpu%d", node, g))
	}
	return &api.Job{ID: id, State: api.JobRunning, Partition: "gpu", Spec: spec(acct, gpus, limit),
		SubmitTime: now - ago - 10, StartTime: now - ago, TimeLimitSecs: limit, Alloc: []api.NodeAlloc{a}}
}

// finished returns n finished jobs of acct/user that each ran frac of a
// one-hour limit, in state state.
func finished(acct, user string, n int, frac float64, state api.JobState) []*api.Job {
	var out []*api.Job
	for i := range n {
		j := &api.Job{ID: api.JobID(10_000 + i), State: state, Spec: spec(acct, 1, hour), TimeLimitSecs: hour,
			StartTime: now - 10*hour, EndTime: now - 10*hour + int64(frac*hour)}
		j.Spec.User = user
		out = append(out, j)
	}
	return out
}

func TestEstimate(t *testing.T) {
	history := forecast.NewHistoryModel(append(finished("A", "uA", 5, 0.25, api.JobCompleted), finished("A", "uA", 5, 0.75, api.JobCompleted)...))
	for _, tc := range []struct {
		name    string
		nodes   int
		jobs    []*api.Job
		model   forecast.RuntimeModel
		horizon int64
		want    map[api.JobID]api.StartEstimate // MadeAt, Horizon and Replays filled in
	}{
		{
			name:  "an empty cluster: the job starts now",
			nodes: 1,
			jobs:  []*api.Job{pendingJob(1, spec("A", 4, hour))},
			model: forecast.Constant(1),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now, P90: now, Started: 20}},
		},
		{
			name:  "behind a job that runs to its limit: it starts at that end",
			nodes: 1,
			jobs:  []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), pendingJob(1, spec("A", 8, hour))},
			model: forecast.Constant(1),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + 2*hour, P90: now + 2*hour, Started: 20}},
		},
		{
			name:  "a queue of two behind it: the second starts after the first's limit",
			nodes: 1,
			jobs: []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour),
				pendingJob(1, spec("A", 8, hour)), pendingJob(2, spec("A", 8, hour))},
			model: forecast.Constant(1),
			want: map[api.JobID]api.StartEstimate{
				1: {P50: now + 2*hour, P90: now + 2*hour, Started: 20},
				2: {P50: now + 3*hour, P90: now + 3*hour, Started: 20},
			},
		},
		{
			name:  "half the limit: the running job ends halfway through its limit",
			nodes: 1,
			jobs:  []*api.Job{runningJob(100, "B", "n1", 8, 0, 4*hour), pendingJob(1, spec("A", 8, hour))},
			model: forecast.Constant(0.5),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + 2*hour, P90: now + 2*hour, Started: 20}},
		},
		{
			name:  "a running job that ran longer than its history: it runs to its limit",
			nodes: 1,
			jobs: []*api.Job{func() *api.Job {
				j := runningJob(100, "A", "n1", 8, 54*60, hour) // ran 0.9 of its limit; history says 0.25 or 0.75
				j.Spec.User = "uA"
				return j
			}(), pendingJob(1, spec("B", 8, hour))},
			model: history,
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + 6*60, P90: now + 6*60, Started: 20}},
		},
		{
			name:    "the horizon: a start past it is no start",
			nodes:   1,
			jobs:    []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), pendingJob(1, spec("A", 8, hour))},
			model:   forecast.Constant(1),
			horizon: hour,
			want:    map[api.JobID]api.StartEstimate{1: {Started: 0}},
		},
		{
			name:  "a job being stopped leaves when its grace is over",
			nodes: 1,
			jobs: []*api.Job{func() *api.Job {
				j := runningJob(100, "B", "n1", 8, hour, 10*hour)
				j.Kill = &api.KillRequest{State: api.JobPreempted, Requeue: true, RequestedAt: now - 20, GraceSecs: 60, For: 1}
				return j
			}(), pendingJob(1, spec("A", 8, hour))},
			model: forecast.Constant(1),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + 40, P90: now + 40, Started: 20}},
		},
		{
			name:  "a job array: its first task's start",
			nodes: 1,
			jobs: []*api.Job{runningJob(100, "B", "n1", 4, hour, 2*hour), func() *api.Job {
				j := pendingJob(1, spec("A", 8, hour))
				j.Spec.Array = "0-3"
				j.ArrayJobID, j.ArrayTaskID, j.ArrayPending = 1, -1, api.TaskIDs{0, 1, 2, 3}
				return j
			}()},
			model: forecast.Constant(1),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + hour, P90: now + hour, Started: 20}},
		},
		{
			name:  "a begin time: not before it",
			nodes: 1,
			jobs: []*api.Job{func() *api.Job {
				j := pendingJob(1, spec("A", 1, hour))
				j.Spec.BeginTime = now + 30*60
				return j
			}()},
			model: forecast.Constant(1),
			want:  map[api.JobID]api.StartEstimate{1: {P50: now + 30*60, P90: now + 30*60, Started: 20}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(tc.nodes), Jobs: tc.jobs}
			opt := forecast.Options{Seed: 1, HorizonSecs: tc.horizon}
			got, err := forecast.Estimate(context.Background(), snap, tc.model, opt)
			if err != nil {
				t.Fatal(err)
			}
			horizon := tc.horizon
			if horizon == 0 {
				horizon = forecast.DefaultHorizonSecs
			}
			for id, e := range tc.want {
				e.MadeAt, e.Horizon, e.Replays = now, now+horizon, forecast.DefaultReplays
				tc.want[id] = e
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("estimates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEstimateSpread: with a history of run times of a quarter and three
// quarters of the limit, the job behind starts at one of the two ends, and
// P90 is the later one when it is the more likely in a tenth of replays.
func TestEstimateSpread(t *testing.T) {
	history := forecast.NewHistoryModel(append(finished("B", "uB", 5, 0.25, api.JobCompleted), finished("B", "uB", 5, 0.75, api.JobCompleted)...))
	snap := forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(1),
		Jobs: []*api.Job{runningJob(100, "B", "n1", 8, 0, 4*hour), pendingJob(1, spec("A", 8, hour))}}
	got, err := forecast.Estimate(context.Background(), snap, history, forecast.Options{Seed: 7, Replays: 50})
	if err != nil {
		t.Fatal(err)
	}
	e := got[1]
	if e.Started != 50 || e.P50 != now+hour && e.P50 != now+3*hour || e.P90 != now+3*hour {
		t.Errorf("estimate %+v: want P50 at +1h or +3h, P90 at +3h, started in all 50 replays", e)
	}
}

func TestEstimateDeterministic(t *testing.T) {
	snap := benchSnapshot(t, 10, 40, 60)
	model := benchModel()
	run := func(seed uint64, workers int) map[api.JobID]api.StartEstimate {
		got, err := forecast.Estimate(context.Background(), snap, model, forecast.Options{Seed: seed, Replays: 5, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b, c := run(3, 1), run(3, 1), run(3, 3)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two estimates with the same seed differ (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(a, c); diff != "" {
		t.Errorf("three workers give another estimate than one (-one +three):\n%s", diff)
	}
	if len(a) != 60 {
		t.Errorf("%d estimates, want one per pending job (60)", len(a))
	}
	for _, j := range snap.Jobs {
		if j.State == api.JobRunning && j.Kill != nil || j.State == api.JobRunning && j.StartTime == 0 {
			t.Fatalf("the snapshot's job %d was changed", j.ID)
		}
	}
}

func TestEstimateCancelled(t *testing.T) {
	snap := benchSnapshot(t, 10, 40, 60)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := forecast.Estimate(ctx, snap, forecast.Constant(1), forecast.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("estimate with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestWhatIf: A's job is first in submit order, but A has used much more
// than B: under fcfs A's job starts first, under fair share B's.
func TestWhatIf(t *testing.T) {
	cur := config()
	cur.Scheduling.QueueOrder = api.QueueFCFS
	proposed := config()
	proposed.Scheduling.Weights = api.PriorityWeights{FairShare: 10000}
	snap := forecast.Snapshot{Now: now, Config: cur, Nodes: nodes(1),
		Jobs:  []*api.Job{runningJob(100, "B", "n1", 8, 0, hour), pendingJob(1, spec("A", 8, hour)), pendingJob(2, spec("B", 8, hour))},
		Usage: map[string]float64{api.AssocKey("A", "uA"): 1e9}}
	got, err := forecast.WhatIf(context.Background(), snap, forecast.Constant(1), proposed, forecast.Options{Replays: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := api.WhatIfResult{Now: now, Replays: 3, HorizonSecs: forecast.DefaultHorizonSecs, Accounts: []api.AccountWhatIf{
		{Account: "A", Jobs: 1, CurrentMeanWait: hour, ProposedMeanWait: 2 * hour, CurrentP90Wait: hour, ProposedP90Wait: 2 * hour},
		{Account: "B", Jobs: 1, CurrentMeanWait: 2 * hour, ProposedMeanWait: hour, CurrentP90Wait: 2 * hour, ProposedP90Wait: hour},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what-if (-want +got):\n%s", diff)
	}
}

func TestHistoryModel(t *testing.T) {
	var jobs []*api.Job
	jobs = append(jobs, finished("A", "alice", 5, 0.2, api.JobCompleted)...)
	jobs = append(jobs, finished("A", "bob", 2, 0.9, api.JobCompleted)...)  // too few for bob's own
	jobs = append(jobs, finished("A", "carol", 5, 0.001, api.JobFailed)...) // failed at launch (3.6 s)
	jobs = append(jobs, finished("A", "dave", 5, 0.5, api.JobPreempted)...) // not ended by itself
	jobs = append(jobs, finished("B", "erin", 5, 0.6, api.JobTimeout)...)
	unlimited := finished("B", "frank", 5, 0.1, api.JobCompleted)
	for _, j := range unlimited {
		j.TimeLimitSecs, j.Spec.TimeLimitSecs = api.TimeLimitUnlimited, api.TimeLimitUnlimited
	}
	jobs = append(jobs, unlimited...)
	// Runs recorded per run: a requeued run does not count, the last does.
	withRuns := finished("C", "gina", 5, 0.3, api.JobCompleted)
	for _, j := range withRuns {
		j.Runs = []api.JobRun{
			{StartTime: now - 20*hour, EndTime: now - 20*hour + 60, State: api.JobRequeued},
			{Run: 1, StartTime: j.StartTime, EndTime: j.EndTime, State: api.JobCompleted},
		}
	}
	jobs = append(jobs, withRuns...)
	m := forecast.NewHistoryModel(jobs)
	job := func(acct, user string) *api.Job {
		j := pendingJob(1, spec(acct, 1, hour))
		j.Spec.User = user
		return j
	}
	cond, ok := m.(forecast.ConditionalModel)
	if !ok {
		t.Fatal("the history model samples no run time conditioned on what a job ran")
	}
	for _, tc := range []struct {
		name  string
		job   *api.Job
		above float64
		want  []float64 // at u = 0, 0.5, 0.99
	}{
		{"a user's own history", job("A", "alice"), 0, []float64{0.2, 0.2, 0.2}},
		{"too few runs of the user: the account's", job("A", "bob"), 0, []float64{0.2, 0.2, 0.9}},
		{"an unknown user: the account's", job("A", "zoe"), 0, []float64{0.2, 0.2, 0.9}},
		{"TIMEOUT runs count", job("B", "erin"), 0, []float64{0.6, 0.6, 0.6}},
		{"per-run records", job("C", "gina"), 0, []float64{0.3, 0.3, 0.3}},
		{"an unknown account: the cluster's", job("D", "x"), 0, []float64{0.2, 0.3, 0.9}},
		{"conditioned on what it ran", job("A", "bob"), 0.5, []float64{0.9, 0.9, 0.9}},
		{"ran longer than any: to its limit", job("A", "alice"), 0.95, []float64{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []float64
			for _, u := range []float64{0, 0.5, 0.99} {
				got = append(got, cond.FractionAbove(tc.job, tc.above, u))
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-3)); diff != "" {
				t.Errorf("fractions (-want +got):\n%s", diff)
			}
		})
	}
	if f := forecast.NewHistoryModel(nil).Fraction(job("A", "alice"), 0.5); f != 1 {
		t.Errorf("no history: fraction %v, want 1 (the job runs to its limit)", f)
	}
}

// benchModel is a history of 400 finished runs of varied fractions.
func benchModel() forecast.RuntimeModel {
	rng := rand.New(rand.NewPCG(1, 2))
	var jobs []*api.Job
	for i := range 400 {
		acct := []string{"A", "B", "C", "D"}[i%4]
		j := &api.Job{ID: api.JobID(100_000 + i), State: api.JobCompleted, Spec: spec(acct, 1, hour), TimeLimitSecs: hour,
			StartTime: now - 10*hour, EndTime: now - 10*hour + 60 + rng.Int64N(hour-60)}
		j.Spec.User = fmt.Sprintf("u%d", i%20)
		jobs = append(jobs, j)
	}
	return forecast.NewHistoryModel(jobs)
}

// benchSnapshot builds a cluster of n 8-GPU nodes with running jobs started
// by the scheduler (run times in the past spread over their limits) and
// pending ones behind them.
func benchSnapshot(tb testing.TB, n, running, pending int) forecast.Snapshot {
	cfg := config()
	cfg.Accounts = []api.Account{{Name: "A", Shares: 1}, {Name: "B", Shares: 1}, {Name: "C", Shares: 2}, {Name: "D", Shares: 1}}
	ns := nodes(n)
	rng := rand.New(rand.NewPCG(5, 6))
	mem := planapply.NewMem(&cfg, ns)
	mk := func(id api.JobID) *api.Job {
		gpus := []int{1, 1, 1, 2, 2, 4, 8}[rng.IntN(7)]
		s := spec([]string{"A", "B", "C", "D"}[rng.IntN(4)], gpus, int64(1+rng.IntN(24))*hour)
		s.User = fmt.Sprintf("u%d", rng.IntN(20))
		return pendingJob(id, s)
	}
	for i := range running {
		j := mk(api.JobID(i + 1))
		j.Spec.GPUs = min(j.Spec.GPUs, 2)
		j.Spec.CPUsPerTask, j.Spec.MemoryMB = 8*j.Spec.GPUs, int64(j.Spec.GPUs)*8192
		if err := mem.PutJob(j); err != nil {
			tb.Fatal(err)
		}
	}
	plan := sched.New().Schedule(sched.Input{Now: now, Config: cfg, Nodes: ns, Jobs: mem.Jobs()})
	if _, err := planapply.Apply(mem, &plan); err != nil {
		tb.Fatal(err)
	}
	var jobs []*api.Job
	for _, j := range mem.Jobs() {
		if j.State != api.JobRunning {
			continue
		}
		c := *j
		c.StartTime = now - rng.Int64N(c.TimeLimitSecs)
		jobs = append(jobs, &c)
	}
	if len(jobs) < running*9/10 {
		tb.Fatalf("only %d of %d jobs started on %d nodes", len(jobs), running, n)
	}
	for i := range pending {
		jobs = append(jobs, mk(api.JobID(running+i+1)))
	}
	return forecast.Snapshot{Now: now, Config: cfg, Nodes: ns, Jobs: jobs}
}

// BenchmarkEstimate: 100 nodes of 8 GPUs, 500 running jobs, 1000 pending,
// 20 replays (one Estimate per iteration).
func BenchmarkEstimate(b *testing.B) {
	snap := benchSnapshot(b, 100, 500, 1000)
	model := benchModel()
	b.ResetTimer()
	for b.Loop() {
		got, err := forecast.Estimate(context.Background(), snap, model, forecast.Options{Seed: 1, Replays: 20})
		if err != nil {
			b.Fatal(err)
		}
		started := 0
		for _, e := range got {
			if e.P50 != 0 {
				started++
			}
		}
		b.ReportMetric(float64(started), "with-P50")
	}
}

// TestEstimateBounds: coarse time makes a start late by at most a
// sixteenth of its wait (exact with Resolution -1), and a replay stops
// after MaxPasses passes.
func TestEstimateBounds(t *testing.T) {
	const end = now + 3*hour + 7
	snap := forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(1),
		Jobs: []*api.Job{runningJob(100, "B", "n1", 8, 0, 3*hour+7), pendingJob(1, spec("A", 8, hour))}}
	for _, tc := range []struct {
		name     string
		opt      forecast.Options
		min, max int64 // P50
	}{
		{"exact times", forecast.Options{Resolution: -1}, end, end},
		{"coarse times", forecast.Options{}, end, end + (end-now)/forecast.DefaultResolution},
		{"one pass only", forecast.Options{MaxPasses: 1}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := forecast.Estimate(context.Background(), snap, forecast.Constant(1), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if p := got[1].P50; p < tc.min || p > tc.max {
				t.Errorf("P50 at now%+d, want in [now%+d, now%+d]", p-now, tc.min-now, tc.max-now)
			}
		})
	}
}
