package sched_test

import (
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/google/go-cmp/cmp"
)

// TestPreemptionRules: one pass on two 8-GPU nodes; account A is
// guaranteed 8 GPUs and B 8 GPUs, B runs more than its share and A wants
// its share back.
func TestPreemptionRules(t *testing.T) {
	// B's job on node node of gpus GPUs, started ago seconds before now.
	bJob := func(id api.JobID, node string, ago int64, prio int, gpus ...int) *api.Job {
		j := runningOn(id, node, 8*len(gpus), 10*hour, gpus...)
		j.Spec.Account, j.Spec.User, j.Spec.Priority = "B", "b", prio
		j.StartTime = t0 - ago
		return j
	}
	aWants := func(id api.JobID, gpus int) *api.Job { return pending(id, spec("A", "a", 1, gpus, hour)) }
	cfgWith := func(edit func(*api.ClusterConfig)) func(*api.ClusterConfig) { return edit }
	for _, tc := range []struct {
		name  string
		cfg   func(*api.ClusterConfig)
		jobs  []*api.Job
		want  []api.Preemption
		later map[api.JobID]int64 // expected starts
	}{
		{
			name: "reclaim takes the lowest priority, then the shortest run, just enough",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 5, 0, 1, 2, 3),
				bJob(102, "n1", 2*hour, 1, 4, 5),
				bJob(103, "n1", hour, 1, 6, 7),
				bJob(104, "n2", hour, 9, 0, 1, 2, 3, 4, 5, 6, 7),
				aWants(1, 2),
			},
			want:  []api.Preemption{{JobID: 103, Reason: sched.PreemptReclaim, For: 1}},
			later: map[api.JobID]int64{1: t0 + 60},
		},
		{
			name: "victims only from accounts above their guarantee, never below it",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 0, 0, 1, 2, 3, 4, 5), // B holds 6+6 = 12, 4 above its 8
				bJob(102, "n2", hour, 0, 0, 1, 2, 3, 4, 5),
				func() *api.Job { j := runningOn(103, "n1", 8, 10*hour, 6, 7); j.Spec.Account = "A"; return j }(),
				func() *api.Job { j := runningOn(104, "n2", 8, 10*hour, 6, 7); j.Spec.Account = "A"; return j }(),
				aWants(1, 4),
			},
			want: nil, // a 6-GPU victim would take B to 6, below its 8
		},
		{
			name: "a job that needs a whole node gets one",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 0, 0, 1, 2, 3),
				bJob(102, "n1", hour, 0, 4, 5, 6, 7),
				bJob(103, "n2", hour, 0, 0, 1, 2, 3),
				bJob(104, "n2", hour, 0, 4, 5, 6, 7),
				aWants(1, 8), // a whole node: two victims on the same node
				aWants(2, 8), // beyond A's guarantee once job 1 has its GPUs
			},
			want: []api.Preemption{
				{JobID: 104, Reason: sched.PreemptReclaim, For: 1},
				{JobID: 103, Reason: sched.PreemptReclaim, For: 1},
			},
		},
		{
			name: "no preemption that would not let the waiting job start",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 0, 0, 1, 2, 3),
				bJob(102, "n2", hour, 0, 0, 1, 2, 3),
				bJob(103, "n1", hour, 0, 4, 5),
				bJob(104, "n2", hour, 0, 4, 5),
				aWants(1, 8), // either node would need 6 GPUs of B's, 2 more than B has above its guarantee
			},
		},
		{
			name: "preempt mode off in the partition protects every job",
			cfg:  cfgWith(func(c *api.ClusterConfig) { c.Partitions[0].PreemptMode = api.PreemptOff }),
			jobs: []*api.Job{bJob(101, "n1", hour, 0, 0, 1, 2, 3, 4, 5, 6, 7), bJob(102, "n2", hour, 0, 0, 1, 2, 3, 4, 5, 6, 7), aWants(1, 1)},
		},
		{
			name: "a QOS with preempt mode off protects its jobs",
			cfg:  cfgWith(func(c *api.ClusterConfig) { c.QOS = []api.QOS{{Name: "safe", PreemptMode: api.PreemptOff}} }),
			jobs: []*api.Job{
				func() *api.Job { j := bJob(101, "n1", 60, 0, 0, 1, 2, 3, 4, 5, 6, 7); j.Spec.QOS = "safe"; return j }(),
				bJob(102, "n2", hour, 0, 0, 1, 2, 3, 4, 5, 6, 7),
				aWants(1, 1),
			},
			want: []api.Preemption{{JobID: 102, Reason: sched.PreemptReclaim, For: 1}},
		},
		{
			name: "a job is not preempted before its minimum run time",
			cfg:  cfgWith(func(c *api.ClusterConfig) { c.Scheduling.PreemptMinRuntimeSecs = 600 }),
			jobs: []*api.Job{
				bJob(101, "n1", 300, 0, 0, 1, 2, 3, 4, 5, 6, 7),
				bJob(102, "n2", 900, 0, 0, 1, 2, 3, 4, 5, 6, 7),
				aWants(1, 1),
			},
			want: []api.Preemption{{JobID: 102, Reason: sched.PreemptReclaim, For: 1}},
		},
		{
			name: "while victims stop, nothing more is preempted for the job, and nobody else gets their resources",
			jobs: []*api.Job{
				func() *api.Job {
					j := bJob(101, "n1", hour, 0, 0, 1, 2, 3, 4, 5, 6, 7)
					j.Kill = &api.KillRequest{State: api.JobPreempted, Requeue: true, RequestedAt: t0 - 30, GraceSecs: 60, For: 2}
					return j
				}(),
				bJob(102, "n2", hour, 0, 0, 1, 2, 3, 4, 5, 6, 7),
				// A job of higher priority than the one the victim stops
				// for, that would fit where the victim was.
				func() *api.Job { j := pending(1, spec("C", "c", 1, 8, hour)); j.SubmitTime = t0 - 7*24*hour; return j }(),
				aWants(2, 8),
			},
			later: map[api.JobID]int64{2: t0 + 30},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := onePartition(
				api.Account{Name: "A", Shares: 1, Guarantees: map[string]int{"gpu": 8}},
				api.Account{Name: "B", Shares: 1, Guarantees: map[string]int{"gpu": 8}},
				api.Account{Name: "C", Shares: 1},
			)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 2, 8, "h100", "gpu"), Jobs: tc.jobs})
			if diff := cmp.Diff(tc.want, plan.Preemptions); diff != "" {
				t.Errorf("preemptions (-want +got):\n%s", diff)
			}
			if len(plan.Starts) > 0 {
				t.Errorf("starts %v, want none (the cluster is full)", starts(plan))
			}
			for _, pi := range plan.Pending {
				if want, ok := tc.later[pi.JobID]; ok && pi.ExpectedStart != want {
					t.Errorf("job %d expected at t0%+d, want t0%+d", pi.JobID, pi.ExpectedStart-t0, want-t0)
				}
				// Job 2 starts on the freed GPUs at t0+30 for its hour:
				// nobody else may have them before it ends.
				if pi.JobID == 1 && tc.name[:5] == "while" && pi.ExpectedStart != 0 && pi.ExpectedStart < t0+30+hour {
					t.Errorf("job 1 expected at t0%+d: it was given the promised GPUs", pi.ExpectedStart-t0)
				}
			}
		})
	}
}

// TestVictimOrder: which running job of B a reclaim for A stops, under
// each victim order, on two 8-GPU nodes (A and B guaranteed 8 GPUs each,
// B running on both).
func TestVictimOrder(t *testing.T) {
	// B's job on node of gpus GPUs, started ago seconds before now, last
	// checkpoint ckptAgo seconds before now (0: never).
	bJob := func(id api.JobID, node string, ago, ckptAgo int64, prio int, gpus ...int) *api.Job {
		j := runningOn(id, node, 8*len(gpus), 10*hour, gpus...)
		j.Spec.Account, j.Spec.User, j.Spec.Priority = "B", "b", prio
		j.StartTime = t0 - ago
		if ckptAgo > 0 {
			j.LastCheckpoint = t0 - ckptAgo
		}
		return j
	}
	full := bJob(199, "n2", 2*hour, 0, 9, 0, 1, 2, 3, 4, 5, 6, 7) // n2 full, 8 GPUs x 2 h lost, --priority 9
	aWants := func(id api.JobID, gpus int) *api.Job { return pending(id, spec("A", "a", 1, gpus, hour)) }
	reclaim := func(ids ...api.JobID) []api.Preemption {
		var out []api.Preemption
		for _, id := range ids {
			out = append(out, api.Preemption{JobID: id, Reason: sched.PreemptReclaim, For: 1})
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		jobs        []*api.Job
		workLost    []api.Preemption // default order
		runtimeRule []api.Preemption // victim_order runtime
	}{
		{
			name: "a job that checkpointed a minute ago goes before one that started later and never checkpointed",
			jobs: []*api.Job{
				bJob(101, "n1", 3*hour, 60, 0, 0, 1, 2, 3), // loses 4 GPUs x 1 min
				bJob(102, "n1", hour, 0, 0, 4, 5, 6, 7),    // loses 4 GPUs x 1 h
				full, aWants(1, 4),
			},
			workLost:    reclaim(101),
			runtimeRule: reclaim(102),
		},
		{
			name: "GPUs count: two GPUs for two hours lose less than six for one hour",
			jobs: []*api.Job{
				bJob(101, "n1", 2*hour, 0, 0, 0, 1),           // 2 x 2 h
				bJob(102, "n1", hour, 0, 0, 2, 3, 4, 5, 6, 7), // 6 x 1 h
				full, aWants(1, 2),
			},
			workLost:    reclaim(101),
			runtimeRule: reclaim(102),
		},
		{
			name: "one 4-GPU job 40 min past its checkpoint loses less than four 1-GPU jobs an hour into their runs",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 0, 0, 0), bJob(102, "n1", hour, 0, 0, 1),
				bJob(103, "n1", hour, 0, 0, 2), bJob(104, "n1", hour, 0, 0, 3),
				bJob(105, "n1", 2*hour, 40*60, 0, 4, 5, 6, 7), // 4 x 40 min against 4 x 1 h
				full, aWants(1, 4),
			},
			workLost:    reclaim(105),
			runtimeRule: reclaim(104, 103, 102, 101),
		},
		{
			name: "a checkpoint from before the run's start (an earlier run) does not count",
			jobs: []*api.Job{
				bJob(101, "n1", 30*60, 2*hour, 0, 0, 1, 2, 3), // loses 30 min since its start
				bJob(102, "n1", 2*hour, hour, 0, 4, 5, 6, 7),  // loses 1 h since its checkpoint
				full, aWants(1, 4),
			},
			workLost:    reclaim(101),
			runtimeRule: reclaim(101),
		},
		{
			name: "--priority comes first: the lower priority job goes though it loses more",
			jobs: []*api.Job{
				bJob(101, "n1", 3*hour, 0, 1, 0, 1, 2, 3),
				bJob(102, "n1", hour, 60, 5, 4, 5, 6, 7),
				full, aWants(1, 4),
			},
			workLost:    reclaim(101),
			runtimeRule: reclaim(101),
		},
		{
			name: "equal work lost: the newest job goes",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 0, 0, 0, 1, 2, 3),
				bJob(102, "n1", 3*hour, hour, 0, 4, 5, 6, 7),
				full, aWants(1, 4),
			},
			workLost:    reclaim(102),
			runtimeRule: reclaim(101),
		},
		{
			name: "the set is minimized: a cheap victim that is not needed is spared",
			jobs: []*api.Job{
				bJob(101, "n1", hour, 60, 0, 0, 1),            // cheapest, taken first, then dropped
				bJob(102, "n1", hour, 0, 0, 2, 3, 4, 5, 6, 7), // enough alone
				full, aWants(1, 6),
			},
			workLost:    reclaim(102),
			runtimeRule: reclaim(102),
		},
	} {
		for _, order := range []string{"", api.VictimWorkLost, api.VictimRuntime} {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				cfg := onePartition(
					api.Account{Name: "A", Shares: 1, Guarantees: map[string]int{"gpu": 8}},
					api.Account{Name: "B", Shares: 1, Guarantees: map[string]int{"gpu": 8}},
				)
				cfg.Scheduling.VictimOrder = order
				if err := api.ValidateConfig(&cfg); err != nil {
					t.Fatalf("config: %v", err)
				}
				want := tc.workLost
				if order == api.VictimRuntime {
					want = tc.runtimeRule
				}
				plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 2, 8, "h100", "gpu"), Jobs: tc.jobs})
				if diff := cmp.Diff(want, plan.Preemptions); diff != "" {
					t.Errorf("preemptions (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestVictimOrderPriority: an account at its quota makes room for its own
// high --priority job by stopping the job of its own that loses least.
func TestVictimOrderPriority(t *testing.T) {
	aJob := func(id api.JobID, ago, ckptAgo int64, gpus ...int) *api.Job {
		j := runningOn(id, "n1", 8*len(gpus), 10*hour, gpus...)
		j.Spec.Account, j.Spec.User, j.Spec.Priority = "A", "a", 10
		j.StartTime, j.LastCheckpoint = t0-ago, t0-ckptAgo
		return j
	}
	cfg := onePartition(api.Account{Name: "A", Shares: 1, Guarantees: map[string]int{"gpu": 8}})
	jobs := []*api.Job{
		aJob(101, 3*hour, 5*60, 0, 1, 2, 3), // checkpointed 5 min ago
		aJob(102, hour, hour, 4, 5, 6, 7),   // never since its start
		pending(1, with(spec("A", "a", 1, 4, hour), func(s *api.JobSpec) { s.Priority = 50 })),
	}
	plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 1, 8, "h100", "gpu"), Jobs: jobs})
	want := []api.Preemption{{JobID: 101, Reason: sched.PreemptPriority, For: 1}}
	if diff := cmp.Diff(want, plan.Preemptions); diff != "" {
		t.Errorf("preemptions (-want +got):\n%s", diff)
	}
}

// TestVictimOrderValidation: an unknown victim order is refused, naming
// the field.
func TestVictimOrderValidation(t *testing.T) {
	cfg := onePartition()
	cfg.Scheduling.VictimOrder = "cheapest"
	err := api.ValidateConfig(&cfg)
	if err == nil || !strings.Contains(err.Error(), "scheduling.victim_order") {
		t.Fatalf("ValidateConfig with victim_order %q: %v, want an error naming scheduling.victim_order", "cheapest", err)
	}
}

// TestReservationBesidePromise: a job that victims are being stopped for
// gets a reservation on their GPUs; a later job's reservation counts those
// GPUs once, not once for the promise and again for the reservation.
func TestReservationBesidePromise(t *testing.T) {
	// One node of 4 GPUs. B's job on GPUs 0-1 runs until t0+hour; B's job
	// on GPUs 2-3 is being stopped for A's job 2 (its grace ends at t0+60).
	longer := runningOn(101, "n1", 4, hour, 0, 1)
	longer.Spec.Account, longer.Spec.User, longer.StartTime = "B", "b", t0
	victim := runningOn(102, "n1", 4, 10*hour, 2, 3)
	victim.Spec.Account, victim.Spec.User, victim.StartTime = "B", "b", t0-hour
	victim.Kill = &api.KillRequest{State: api.JobPreempted, Requeue: true, RequestedAt: t0, GraceSecs: 60, For: 2}
	jobs := []*api.Job{longer, victim,
		pending(2, spec("A", "a", 1, 2, hour)),
		pending(3, spec("B", "b", 1, 2, hour)),
	}
	cfg := onePartition(
		api.Account{Name: "A", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
		api.Account{Name: "B", Shares: 1},
	)
	plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 1, 4, "h100", "gpu"), Jobs: jobs})
	got := map[api.JobID]int64{}
	for _, pi := range plan.Pending {
		got[pi.JobID] = pi.ExpectedStart - t0
	}
	// Job 2 starts when the victim is gone; job 3 when job 101 reaches
	// its time limit (GPUs 0-1), while job 2 runs on GPUs 2-3.
	want := map[api.JobID]int64{2: 60, 3: hour}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expected starts, seconds after now (-want +got):\n%s", diff)
	}
}
