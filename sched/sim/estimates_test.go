package sim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestEstimatesAtSubmission: on one 8-GPU node, three whole-node jobs
// with time limits twice their run times. Job 2 waits behind job 1 with no
// history yet: the estimate assumes job 1 runs to its limit, like the
// reservation. Job 3 waits behind job 2 when job 1 has finished at half
// its limit: the estimate samples that history and is exact, while the
// reservation still assumes the limit.
func TestEstimatesAtSubmission(t *testing.T) {
	jobs := []trace.Job{
		{ID: 1, Submit: 0, Run: 50, Requested: 100, GPUs: 8, User: "u"},
		{ID: 2, Submit: 10, Run: 100, Requested: 200, GPUs: 8, User: "u"},
		{ID: 3, Submit: 60, Run: 10, Requested: 20, GPUs: 8, User: "u"},
	}
	res, err := Run(context.Background(), Options{Jobs: jobs, Cluster: Homogeneous(trace.Machine{Nodes: 1, CPUsPerNode: 32, GPUsPerNode: 8}),
		Policy: PolicyEASY, EstimateEvery: 1, EstimateReplays: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("plan errors: %v", res.Errors)
	}
	want := []EstimateRecord{
		{ID: 1, Submit: 0, StartedAtSubmit: true, P50: -1, P90: -1, Reservation: -1, Start: 0},
		{ID: 2, Submit: 10, P50: 100, P90: 100, Reservation: 100, Start: 50},
		{ID: 3, Submit: 60, P50: 150, P90: 150, Reservation: 250, Start: 150},
	}
	if diff := gocmp.Diff(want, res.Estimates, cmpopts.IgnoreFields(EstimateRecord{}, "WallSecs")); diff != "" {
		t.Errorf("estimate records (-want +got):\n%s", diff)
	}
	wantSum := &EstimateSummary{Every: 1, Replays: 5, Sampled: 3, StartedAtSubmit: 1, Estimated: 2, WaitMedianSecs: 40,
		InP90: 1, WithP90: 1, P50AbsErrMedianSecs: 0, WithP50: 1, WithReservation: 1, ResvAbsErrMedianSecs: 50, ResvStartedByIt: 1}
	if diff := gocmp.Diff(wantSum, Summarize(res).Estimates, cmpopts.IgnoreFields(EstimateSummary{}, "EstimateWallMeanSecs")); diff != "" {
		t.Errorf("estimate summary (-want +got):\n%s", diff)
	}
}

// TestVictimOrderInReplay: account "small" borrows the whole node with two
// 4-GPU jobs: job 1 checkpoints every 100 s (CheckpointMix gives it 100),
// job 2, started later, never does (0). At t=250 "big" reclaims 4 GPUs.
// By least work lost the scheduler stops job 1 (50 s since its checkpoint
// at 200), which loses the 60 s from then to the end of its grace; by run
// time it stops job 2, the later start, which loses its whole 210 s run.
func TestVictimOrderInReplay(t *testing.T) {
	jobs := []trace.Job{
		{ID: 1, Submit: 0, Run: 1000, Requested: 2000, GPUs: 4, User: "small"},
		{ID: 2, Submit: 50, Run: 1000, Requested: 2000, GPUs: 4, User: "small"},
		{ID: 3, Submit: 250, Run: 100, Requested: 200, GPUs: 4, User: "big"},
	}
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: PartitionName, Default: true, PreemptMode: api.PreemptRequeue, GraceSecs: 10}},
		Accounts: []api.Account{
			{Name: "big", Shares: 1, Guarantees: map[string]int{PartitionName: 8}},
			{Name: "small", Shares: 1},
		},
	}
	opt := Options{Jobs: jobs, Cluster: Homogeneous(trace.Machine{Nodes: 1, CPUsPerNode: 32, GPUsPerNode: 8}), Policy: PolicyFairway,
		Account: func(j trace.Job) string { return j.User }, CheckpointMix: []int64{100, 0}}
	if checkpointInterval(opt, 1) != 100 || checkpointInterval(opt, 2) != 0 {
		t.Fatalf("checkpoint intervals of jobs 1 and 2: %d and %d, want 100 and 0", checkpointInterval(opt, 1), checkpointInterval(opt, 2))
	}
	for _, tc := range []struct {
		order string
		lost  map[int64]int64 // trace ID -> lost seconds
	}{
		{api.VictimWorkLost, map[int64]int64{1: 60, 2: 0, 3: 0}},
		{api.VictimRuntime, map[int64]int64{1: 0, 2: 210, 3: 0}},
	} {
		t.Run(tc.order, func(t *testing.T) {
			o := opt
			o.Config = cfg
			o.Config.Scheduling.VictimOrder = tc.order
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("plan errors: %v", res.Errors)
			}
			got := map[int64]int64{}
			for _, j := range res.Jobs {
				got[j.Trace.ID] = j.LostSecs
			}
			if diff := gocmp.Diff(tc.lost, got); diff != "" {
				t.Errorf("seconds lost per job (-want +got):\n%s", diff)
			}
		})
	}
}

const smallPhilly = `job_id,user,num_gpu,submit_time,duration
1,vc_a,8,0,50
2,vc_a,8,10,100
3,vc_b,8,60,10
4,vc_b,8,70,10
`

// TestCommandEstimatesAndLimits runs the command on a small Philly CSV:
// the estimates land in summary.json and estimates.csv, --first-jobs
// keeps the first jobs, --estimate-factor-max spreads the time limits
// within their bounds, and bad victim orders and checkpoint intervals are
// refused by name.
func TestCommandEstimatesAndLimits(t *testing.T) {
	dir := t.TempDir()
	tracePath := filepath.Join(dir, "small-philly.csv")
	if err := os.WriteFile(tracePath, []byte(smallPhilly), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	s, res, err := Command{Trace: tracePath, Policy: PolicyEASY, Nodes: 1, Out: out, FirstJobs: 3,
		EstimateEvery: 1, EstimateReplays: 3, EstimateFactor: 1.5, EstimateFactorMax: 4}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Jobs != 3 || s.Filtered[StageReader]["after the first 3 jobs (--first-jobs)"] != 1 {
		t.Errorf("jobs %d, filtered %v: want the first 3 jobs kept, 1 counted out", s.Jobs, s.Filtered)
	}
	if s.Estimates == nil || s.Estimates.Sampled != 3 || s.Estimates.Estimated == 0 {
		t.Errorf("estimates summary %+v: want 3 sampled, some estimated", s.Estimates)
	}
	limits := map[int64]bool{}
	for _, j := range res.Jobs {
		if f := float64(j.Limit) / float64(j.Trace.Run); f < 1.5 || f > 4.01 {
			t.Errorf("job %d: limit %d s for a run of %d s, want 1.5 to 4 times", j.Trace.ID, j.Limit, j.Trace.Run)
		}
		limits[j.Limit*1000/j.Trace.Run] = true
	}
	if len(limits) < 2 {
		t.Errorf("every job has the same limit factor: %v", limits)
	}
	b, err := os.ReadFile(filepath.Join(out, EstimatesFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != 4 {
		t.Errorf("%s has %d lines, want a header and 3 rows:\n%s", EstimatesFile, lines, b)
	}
	for _, c := range []struct {
		cmd  Command
		want string
	}{
		{Command{Trace: tracePath, Policy: PolicyFairway, VictimOrder: "cheapest"}, "victim order"},
		{Command{Trace: tracePath, Policy: PolicyFairway, CheckpointMix: []int64{600, -1}}, "checkpoint mix"},
		{Command{Trace: tracePath, Policy: PolicyFairway, EstimateArrivalsSecs: -3600}, "estimate arrivals window"},
	} {
		if _, err := c.cmd.Setup(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("setup %+v: %v, want an error naming the %s", c.cmd, err, c.want)
		}
	}
}

// TestEstimatesWithArrivals: one 8-GPU node under Fairway's policy. User
// a's job 1 holds it until t=1000; user b submits a 200 s whole-node job
// every 300 s; a's job 5 arrives at t=950. b has used less, so b's jobs go
// before job 5, also two submitted after it: job 5 starts at 2000 (when b
// has used about as much as a), not when the three b jobs already queued
// are done (1600; the estimate without arrivals says 1610, coarse time). With arrivals resampled from the jobs
// submitted so far, the estimate moves later and its P90 covers the
// start. The estimate uses no job submitted after it: without the jobs
// that come later, it is the same.
func TestEstimatesWithArrivals(t *testing.T) {
	jobs := []trace.Job{{ID: 1, Submit: 0, Run: 1000, Requested: 1000, GPUs: 8, User: "a"}}
	for i, at := range []int64{300, 600, 900} {
		jobs = append(jobs, trace.Job{ID: int64(2 + i), Submit: at, Run: 200, Requested: 200, GPUs: 8, User: "b"})
	}
	jobs = append(jobs, trace.Job{ID: 5, Submit: 950, Run: 100, Requested: 100, GPUs: 8, User: "a"})
	past := slices.Clone(jobs)
	for i, at := range []int64{1200, 1500, 1800, 2100} {
		jobs = append(jobs, trace.Job{ID: int64(6 + i), Submit: at, Run: 200, Requested: 200, GPUs: 8, User: "b"})
	}
	run := func(jobs []trace.Job, window int64) EstimateRecord {
		t.Helper()
		res, err := Run(context.Background(), Options{Jobs: jobs, Cluster: Homogeneous(trace.Machine{Nodes: 1, CPUsPerNode: 32, GPUsPerNode: 8}),
			Policy: PolicyFairway, EstimateEvery: 5, EstimateReplays: 20, EstimateArrivalsSecs: window})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("plan errors: %v", res.Errors)
		}
		if len(res.Estimates) != 1 || res.Estimates[0].ID != 5 {
			t.Fatalf("estimates %+v: want one, for job 5", res.Estimates)
		}
		return res.Estimates[0]
	}
	opts := cmpopts.IgnoreFields(EstimateRecord{}, "WallSecs")
	without, with := run(jobs, 0), run(jobs, 3600)
	type outcome struct {
		Start, P50 int64
		InP90      bool
	}
	got := map[string]outcome{
		"without arrivals": {without.Start, without.P50, without.Start <= without.P90},
		"with arrivals":    {with.Start, with.P50, with.P90 >= with.Start},
	}
	want := map[string]outcome{
		"without arrivals": {Start: 2000, P50: 1610, InP90: false},
		"with arrivals":    {Start: 2000, P50: with.P50, InP90: true},
	}
	if with.P50 <= without.P50 {
		t.Errorf("P50 with arrivals %d, without %d: want later with arrivals", with.P50, without.P50)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("job 5 (-want +got):\n%s", diff)
	}
	blind := run(past, 3600)
	blind.Start = with.Start // the start differs: the later jobs are gone
	if diff := gocmp.Diff(with, blind, opts); diff != "" {
		t.Errorf("the estimate changes with the jobs submitted after it (-with them +without):\n%s", diff)
	}
}
