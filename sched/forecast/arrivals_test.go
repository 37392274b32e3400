package forecast_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/forecast"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// submitted returns n jobs of acct/user with 8 GPUs and a one-hour limit,
// submitted evenly over the hour before now (IDs from first).
func submitted(acct, user string, n int, first api.JobID) []*api.Job {
	var out []*api.Job
	for i := range n {
		s := spec(acct, 8, hour)
		s.User = user
		out = append(out, &api.Job{ID: first + api.JobID(i), State: api.JobCompleted, Spec: s, Partition: "gpu",
			SubmitTime: now - hour + int64(i+1)*hour/int64(n)})
	}
	return out
}

func mustArrivals(t testing.TB, recent []*api.Job, window int64) *forecast.ArrivalModel {
	t.Helper()
	m, err := forecast.NewArrivalModel(recent, now, window)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEstimateArrivals: one node, full until +1h; job 1 of account A,
// which has used much more than B, waits for all of it. Jobs of B keep
// arriving (each the whole node for an hour): they go first,
// and job 1 waits behind as many as arrive before it starts. Jobs of A's
// own user arriving later go after it.
func TestEstimateArrivals(t *testing.T) {
	cfg := config()
	cfg.Scheduling.Weights = api.PriorityWeights{FairShare: 10000}
	snap := forecast.Snapshot{Now: now, Config: cfg, Nodes: nodes(1),
		Jobs:  []*api.Job{runningJob(100, "B", "n1", 8, 0, hour), pendingJob(1, spec("A", 8, hour))},
		Usage: map[string]float64{api.AssocKey("A", "uA"): 1e9}}
	byB := submitted("B", "uB", 4, 200)
	byA := submitted("A", "uA", 4, 300)
	manyB := submitted("B", "uB", 8, 400)
	for _, tc := range []struct {
		name     string
		arrivals *forecast.ArrivalModel
		max      int
		replays  int               // default 100
		want     api.StartEstimate // MadeAt, Horizon and Replays filled in
	}{
		{
			name: "no arrivals: it starts when the node frees",
			want: api.StartEstimate{P50: now + hour, P90: now + hour, Started: 100},
		},
		{
			name:     "arrivals of lower priority (its own user, later): no delay",
			arrivals: mustArrivals(t, byA, hour),
			want:     api.StartEstimate{P50: now + hour, P90: now + hour, Started: 100},
		},
		{
			name:     "higher-priority arrivals, at most one a replay: one hour later",
			arrivals: mustArrivals(t, byB, hour),
			max:      1,
			want:     api.StartEstimate{P50: now + 2*hour, P90: now + 2*hour, Started: 100},
		},
		{
			name:     "higher-priority arrivals, at most three a replay: up to three hours later",
			arrivals: mustArrivals(t, byB, hour),
			max:      3,
			want:     api.StartEstimate{P50: now + 4*hour, P90: now + 4*hour, Started: 100},
		},
		{
			name:     "an endless stream of higher-priority arrivals (8 an hour): no start before the horizon",
			arrivals: mustArrivals(t, manyB, hour),
			want:     api.StartEstimate{Started: 0},
		},
		{
			name:     "the same jobs at one every two hours: P50 unchanged (most replays see none before +1h), P90 two hours later",
			arrivals: mustArrivals(t, byB, 8*hour),
			want:     api.StartEstimate{P50: now + hour, P90: now + 3*hour, Started: 100},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replays := cmp.Or(tc.replays, 100)
			opt := forecast.Options{Seed: 1, Replays: replays, Arrivals: tc.arrivals, MaxArrivals: tc.max}
			got, err := forecast.Estimate(context.Background(), snap, forecast.Constant(1), opt)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.MadeAt, tc.want.Horizon, tc.want.Replays = now, now+forecast.DefaultHorizonSecs, replays
			if diff := gocmp.Diff(map[api.JobID]api.StartEstimate{1: tc.want}, got); diff != "" {
				t.Errorf("estimates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArrivalsKeepRealIDs: job 2 depends on job 5, which completed and is
// only retained (Snapshot.Lookup), and begins in 10 minutes. Arrivals take
// no real job's ID, so the dependency stays satisfied and job 2 starts at
// its begin time.
func TestArrivalsKeepRealIDs(t *testing.T) {
	done := &api.Job{ID: 5, State: api.JobCompleted, Spec: spec("A", 1, hour), StartTime: now - hour, EndTime: now - 10}
	dep := spec("A", 1, hour)
	dep.Dependency, dep.BeginTime = "afterok:5", now+600
	snap := forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(2),
		Jobs: []*api.Job{pendingJob(2, dep)},
		Lookup: func(id api.JobID) (*api.Job, bool) {
			if id == 5 {
				return done, true
			}
			return nil, false
		}}
	// Five arrivals of one GPU in the first seconds: room is left for job 2.
	recent := submitted("B", "uB", 3600, 1000)
	for _, j := range recent {
		j.Spec.GPUs, j.Spec.CPUsPerTask, j.Spec.MemoryMB = 1, 8, 8192
	}
	got, err := forecast.Estimate(context.Background(), snap, forecast.Constant(1),
		forecast.Options{Seed: 1, Replays: 5, Arrivals: mustArrivals(t, recent, 60), MaxArrivals: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := map[api.JobID]api.StartEstimate{2: {MadeAt: now, Horizon: now + forecast.DefaultHorizonSecs, Replays: 5, P50: now + 600, P90: now + 600, Started: 5}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("estimates (-want +got):\n%s", diff)
	}
}

// TestEstimateArrivalsDeterministic: with arrivals, the same seed gives the
// same estimates, with one worker or three; arrivals delay some jobs.
func TestEstimateArrivalsDeterministic(t *testing.T) {
	snap := benchSnapshot(t, 10, 40, 60)
	model := benchModel()
	arr := mustArrivals(t, benchRecent(200), 4*hour)
	run := func(seed uint64, workers int, arr *forecast.ArrivalModel) map[api.JobID]api.StartEstimate {
		got, err := forecast.Estimate(context.Background(), snap, model,
			forecast.Options{Seed: seed, Replays: 5, Workers: workers, Arrivals: arr})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b, c := run(3, 1, arr), run(3, 1, arr), run(3, 3, arr)
	if diff := gocmp.Diff(a, b); diff != "" {
		t.Errorf("two estimates with the same seed differ (-first +second):\n%s", diff)
	}
	if diff := gocmp.Diff(a, c); diff != "" {
		t.Errorf("three workers give another estimate than one (-one +three):\n%s", diff)
	}
	none := run(3, 1, nil)
	later, earlier := 0, 0
	for id, e := range a {
		switch n := none[id]; {
		case e.P50 == 0 && n.P50 != 0 || e.P50 > n.P50 && n.P50 != 0:
			later++
		case e.P50 < n.P50 && e.P50 != 0 || e.P50 != 0 && n.P50 == 0:
			earlier++
		}
	}
	if later == 0 || later < 4*earlier {
		t.Errorf("with arrivals %d P50s later and %d earlier than without: want most of those that moved later", later, earlier)
	}
}

func TestNewArrivalModel(t *testing.T) {
	recent := submitted("B", "uB", 4, 200) // at -45, -30, -15 and 0 min
	old := submitted("B", "uB", 1, 300)[0]
	old.SubmitTime = now - 2*hour
	future := submitted("B", "uB", 1, 301)[0]
	future.SubmitTime = now + 1
	array := submitted("A", "uA", 1, 400)[0]
	array.ArrayJobID, array.ArrayTaskID, array.ArrayPending = 400, -1, api.TaskIDs{3, 4, 5}
	drained := submitted("A", "uA", 1, 500)[0]
	drained.ArrayJobID, drained.ArrayTaskID = 500, -1
	type summary struct {
		Submissions int
		PerHour     float64
	}
	for _, tc := range []struct {
		name   string
		jobs   []*api.Job
		window int64
		want   summary
	}{
		{"the window's submissions", recent, hour, summary{4, 4}},
		{"a shorter window", recent, 20 * 60, summary{2, 6}},
		{"older and future submissions are not counted", append([]*api.Job{old, future}, recent...), hour, summary{4, 4}},
		{"an array record counts its pending tasks", []*api.Job{array, drained}, hour, summary{3, 3}},
		{"no submissions: no arrivals", nil, hour, summary{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustArrivals(t, tc.jobs, tc.window)
			got := summary{m.Submissions(), m.Rate() * hour}
			if diff := gocmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("model (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := forecast.NewArrivalModel(recent, now, 0); err == nil || !strings.Contains(err.Error(), "window_secs") {
		t.Errorf("a zero window: error %v, want one naming window_secs", err)
	}
}

// benchRecent is n submissions over the four hours before now, of the
// shapes and accounts of benchSnapshot's jobs.
func benchRecent(n int) []*api.Job {
	rng := rand.New(rand.NewPCG(7, 8))
	var out []*api.Job
	for i := range n {
		gpus := []int{1, 1, 1, 2, 2, 4, 8}[rng.IntN(7)]
		s := spec([]string{"A", "B", "C", "D"}[rng.IntN(4)], gpus, int64(1+rng.IntN(24))*hour)
		s.User = fmt.Sprintf("u%d", rng.IntN(20))
		out = append(out, &api.Job{ID: api.JobID(50_000 + i), State: api.JobCompleted, Spec: s, Partition: "gpu",
			SubmitTime: now - 4*hour + int64(i+1)*4*hour/int64(n)})
	}
	return out
}

// BenchmarkEstimateArrivals: BenchmarkEstimate's cluster and queue with
// arrivals at 50 an hour (200 submissions in the last four hours).
func BenchmarkEstimateArrivals(b *testing.B) {
	snap := benchSnapshot(b, 100, 500, 1000)
	model := benchModel()
	arr := mustArrivals(b, benchRecent(200), 4*hour)
	b.ResetTimer()
	for b.Loop() {
		got, err := forecast.Estimate(context.Background(), snap, model, forecast.Options{Seed: 1, Replays: 20, Arrivals: arr})
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
