package explain_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/explain"
	"github.com/google/go-cmp/cmp"
)

// now is 2026-12-06 14:02:20 UTC.
var now = time.Date(2026, 12, 6, 14, 2, 20, 0, time.UTC).Unix()

// cluster is three nodes of eight a100 GPUs in partition gpu, a down
// partition, and accounts with guarantees and limits.
func cluster() sched.Input {
	var nodes []*api.Node
	for i := 1; i <= 3; i++ {
		n := &api.Node{Name: fmt.Sprintf("n%d", i), Partitions: []string{"gpu"}, State: api.NodeIdle,
			Resources: api.NodeResources{CPUs: 64, MemoryMB: 512000}}
		for g := range 8 {
			n.Resources.GPUs = append(n.Resources.GPUs, api.GPU{Index: g, UUID: fmt.Sprintf("GPU-%d-%d", i, g), Type: "a100", Healthy: true})
		}
		nodes = append(nodes, n)
	}
	nodes = append(nodes, &api.Node{Name: "c1", Partitions: []string{"maint"}, State: api.NodeIdle, Resources: api.NodeResources{CPUs: 8, MemoryMB: 16000}})
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{
			{Name: "gpu", Default: true, MaxTimeSecs: 86400, DefaultTimeSecs: 3600, GraceSecs: 60},
			{Name: "maint", State: "DOWN"},
		},
		Accounts: []api.Account{
			{Name: "physics", Shares: 1, Guarantees: map[string]int{"gpu": 8}},
			{Name: "bio", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "chem", Shares: 1},
			{Name: "small", Shares: 1, MaxRunningJobs: 2, MaxGPUsPerUser: 4},
		},
		DefaultAccount: "chem",
	}
	return sched.Input{Now: now, Config: cfg, Nodes: nodes}
}

// running is a running job of user/account holding gpus GPUs (indices from
// first) on node, started ago seconds before now with a one-hour limit.
func running(id api.JobID, user, account, node string, first, gpus int, ago int64) *api.Job {
	a := api.NodeAlloc{Node: node, CPUs: 1, MemoryMB: 1000}
	for g := first; g < first+gpus; g++ {
		a.GPUs = append(a.GPUs, g)
	}
	return &api.Job{ID: id, State: api.JobRunning, Partition: "gpu", StartTime: now - ago, TimeLimitSecs: 3600,
		SubmitTime: now - ago - 100, Alloc: []api.NodeAlloc{a}, Runs: []api.JobRun{{Nodes: []string{node}, StartTime: now - ago, State: api.JobRunning}},
		Spec: api.JobSpec{Name: fmt.Sprintf("job%d", id), User: user, Account: account, Nodes: 1, NTasks: 1, CPUsPerTask: 1, GPUs: gpus, TimeLimitSecs: 3600}}
}

// pending is a pending job asking for gpus GPUs on one node.
func pending(id api.JobID, user, account string, gpus int, reason string, prio uint32) *api.Job {
	return &api.Job{ID: id, State: api.JobPending, Partition: "gpu", Reason: reason, Priority: prio, SubmitTime: now - 600 + int64(id),
		Spec: api.JobSpec{Name: fmt.Sprintf("job%d", id), User: user, Account: account, Nodes: 1, NTasks: 1, CPUsPerTask: 1, GPUs: gpus, TimeLimitSecs: 3600}}
}

// preempted marks a running job as being preempted for job forID since
// ago seconds with a grace of 60 s.
func preempted(j *api.Job, forID api.JobID, ago int64) *api.Job {
	j.Kill = &api.KillRequest{State: api.JobPreempted, Requeue: true, Reason: "preempted (reclaim)", Signal: "USR1", GraceSecs: 60, RequestedAt: now - ago, For: forID}
	return j
}

func with(in sched.Input, jobs ...*api.Job) sched.Input {
	in.Jobs = jobs
	return in
}

func TestExplain(t *testing.T) {
	type fact struct {
		Kind, Text string
		Jobs       []api.JobID
	}
	failed := &api.Job{ID: 40, State: api.JobFailed, ExitCode: 1, StartTime: now - 900, EndTime: now - 300, Partition: "gpu",
		Spec: api.JobSpec{Name: "prep", User: "alice", Account: "physics", Nodes: 1, GPUs: 1}}
	finished := &api.Job{ID: 41, State: api.JobCompleted, StartTime: now - 3900, EndTime: now - 300, Partition: "gpu",
		Runs: []api.JobRun{{Nodes: []string{"n2"}, StartTime: now - 3900, EndTime: now - 300, State: api.JobCompleted}},
		Spec: api.JobSpec{Name: "train", User: "alice", Account: "physics", Nodes: 1, GPUs: 4}}
	lookup := func(id api.JobID) (*api.Job, bool) {
		switch id {
		case 40:
			return failed, true
		case 41:
			return finished, true
		}
		return nil, false
	}
	tests := []struct {
		name        string
		in          sched.Input
		job         *api.Job
		summary     string
		facts       []fact
		reservation int64
	}{
		{
			name: "guarantee reclaim pending",
			in: with(cluster(),
				running(3, "alice", "physics", "n1", 0, 2, 1800), running(5, "carol", "bio", "n1", 2, 6, 1700),
				preempted(running(7, "bob", "bio", "n2", 0, 4, 1200), 12, 0), preempted(running(9, "bob", "bio", "n2", 4, 4, 1100), 12, 20),
				running(11, "carol", "bio", "n3", 0, 8, 600),
				pending(12, "alice", "physics", 6, api.ReasonResources, 5000)),
			summary: "Job 12 waits for its account physics to take back its guarantee on partition gpu: it holds 2 of 8 guaranteed GPUs; " +
				"jobs 7 and 9 (account bio, borrowing) are being preempted for it and stop by 14:03:20 UTC.",
			facts: []fact{
				{Kind: api.FactGuarantee, Text: "Account physics is guaranteed 8 GPUs on partition gpu, holds 2 and this job needs 6."},
				{Kind: api.FactReclaim, Text: "Job 7 (bob/bio, 4 GPUs on n2) got its checkpoint signal USR1 at 14:02:20 UTC; its grace of 00:01:00 ends at 14:03:20 UTC.", Jobs: []api.JobID{7}},
				{Kind: api.FactReclaim, Text: "Job 9 (bob/bio, 4 GPUs on n2) got its checkpoint signal USR1 at 14:02:00 UTC; its grace of 00:01:00 ends at 14:03:00 UTC.", Jobs: []api.JobID{9}},
			},
		},
		{
			name: "priority preemption inside the account",
			in: with(cluster(),
				preempted(running(3, "alice", "physics", "n1", 0, 8, 1800), 12, 10),
				pending(12, "bob", "physics", 8, api.ReasonResources, 5000)),
			summary: "Job 12 waits for job 3 of its own account physics, of lower --priority, to stop: it is being preempted for it and stops by 14:03:10 UTC.",
			facts: []fact{
				{Kind: api.FactGuarantee, Text: "Account physics is guaranteed 8 GPUs on partition gpu, holds 0 and this job needs 8."},
				{Kind: api.FactReclaim, Text: "Job 3 (alice/physics, 8 GPUs on n1) got its checkpoint signal USR1 at 14:02:10 UTC; its grace of 00:01:00 ends at 14:03:10 UTC.", Jobs: []api.JobID{3}},
			},
		},
		{
			name: "waiting for a reservation",
			in: with(cluster(),
				running(3, "alice", "physics", "n1", 0, 8, 3000), running(4, "bob", "physics", "n2", 0, 8, 2400),
				running(5, "carol", "bio", "n3", 0, 6, 600),
				// Being stopped for another job: not what job 20 waits for.
				preempted(running(6, "carol", "bio", "n1", 0, 2, 600), 21, 10),
				func() *api.Job {
					j := pending(20, "dave", "chem", 8, api.ReasonResources, 3000)
					j.ExpectedStart = now - 3000 + 3600
					return j
				}()),
			summary: "Job 20 has a backfill reservation to start at 14:12:20 UTC (in 00:10:00), when running job 3 reaches its time limit; " +
				"it needs 8 GPUs on 1 node. Jobs that end before their time limits bring it forward.",
			reservation: now + 600,
			facts: []fact{
				{Kind: api.FactReservation, Text: "Reserved start 14:12:20 UTC, after running job 3 (alice/physics, 8 GPUs, ends 14:12:20 UTC).", Jobs: []api.JobID{3}},
				{Kind: api.FactResources, Text: "It needs 8 GPUs on 1 node; partition gpu has 2 GPUs free now (at most 2 on one node, n3)."},
			},
		},
		{
			name: "resources without a reservation",
			in: with(cluster(),
				running(3, "alice", "physics", "n1", 0, 6, 3000), running(5, "carol", "bio", "n2", 0, 7, 600),
				func() *api.Job {
					j := pending(21, "dave", "chem", 4, api.ReasonResources, 3000)
					j.Spec.GPUType, j.Spec.Nodes = "a100", 3
					return j
				}()),
			summary: "Job 21 waits for resources: it needs 4 GPUs of type a100 on each of 3 nodes (12 in all), and partition gpu has 11 a100 GPUs free now (at most 8 on one node, n3).",
			facts: []fact{
				{Kind: api.FactResources, Text: "It needs 4 GPUs of type a100 on each of 3 nodes (12 in all); partition gpu has 11 a100 GPUs free now (at most 8 on one node, n3)."},
			},
		},
		{
			name: "behind jobs of higher priority",
			in: with(cluster(),
				running(3, "alice", "physics", "n1", 0, 8, 3000), running(4, "alice", "physics", "n2", 0, 8, 3000), running(5, "carol", "bio", "n3", 0, 8, 60),
				pending(30, "erin", "chem", 4, api.ReasonResources, 9000), pending(31, "bob", "bio", 2, api.ReasonPriority, 8000),
				pending(32, "dave", "chem", 1, api.ReasonPriority, 100), pending(33, "dave", "chem", 1, api.ReasonDependency, 9999)),
			job:     nil, // job 32, set below
			summary: "Job 32 waits behind 2 jobs of higher priority in partition gpu: jobs 30 (erin/chem, 4 GPUs) and 31 (bob/bio, 2 GPUs). It needs 1 GPU on 1 node.",
			facts: []fact{
				{Kind: api.FactAhead, Text: "Ahead of it in the queue (higher priority, same partition): jobs 30 (erin/chem, 4 GPUs) and 31 (bob/bio, 2 GPUs).", Jobs: []api.JobID{30, 31}},
				{Kind: api.FactResources, Text: "It needs 1 GPU on 1 node; partition gpu has 0 GPUs free now."},
			},
		},
		{
			name: "account limit",
			in: with(cluster(),
				running(3, "alice", "small", "n1", 0, 1, 300), running(4, "bob", "small", "n1", 1, 1, 200),
				pending(50, "alice", "small", 1, sched.ReasonAssocGrpJobs, 100)),
			summary: "Job 50 waits because account small may run at most 2 jobs at once (max_running_jobs) and runs 2 now; it starts when one of them ends.",
			facts: []fact{
				{Kind: api.FactLimit, Text: "Limit max_running_jobs of account small = 2; in use now: 2, by jobs 3 (alice/small, 1 GPU) and 4 (bob/small, 1 GPU).", Jobs: []api.JobID{3, 4}},
			},
		},
		{
			name: "user GPU limit",
			in: with(cluster(),
				running(3, "alice", "small", "n1", 0, 3, 300),
				pending(51, "alice", "small", 2, sched.ReasonAssocGrpGRES, 100)),
			summary: "Job 51 waits because user alice may use at most 4 GPUs at once in account small (max_gpus_per_user): the user's jobs hold 3 and this one needs 2 more.",
			facts: []fact{
				{Kind: api.FactLimit, Text: "Limit max_gpus_per_user of account small = 4; in use now: 3, by job 3 (alice/small, 3 GPUs).", Jobs: []api.JobID{3}},
			},
		},
		{
			name: "the association's own job limit (sacctmgr MaxJobs on a user)",
			in: func() sched.Input {
				in := with(cluster(), running(3, "carol", "chem", "n1", 0, 1, 300), pending(52, "carol", "chem", 1, sched.ReasonAssocMaxJobs, 100))
				in.Config.Accounts[2].Users = []api.AccountUser{{Name: "carol", Shares: 1, MaxRunningJobs: 1}}
				return in
			}(),
			summary: "Job 52 waits because user carol may run at most 1 job at once in account chem (MaxJobs of the association) and runs 1 now; it starts when one of them ends.",
			facts: []fact{
				{Kind: api.FactLimit, Text: "Limit MaxJobs of user carol in account chem = 1; in use now: 1, by job 3 (carol/chem, 1 GPU).", Jobs: []api.JobID{3}},
			},
		},
		{
			name: "dependency on a running job",
			in: with(cluster(),
				running(3, "alice", "physics", "n1", 0, 1, 300),
				func() *api.Job {
					j := pending(60, "alice", "physics", 1, api.ReasonDependency, 100)
					j.Spec.Dependency = "afterok:3:41"
					return j
				}()),
			summary: "Job 60 waits for its dependency afterok:3:41: it waits for job 3 (afterok, now RUNNING).",
			facts: []fact{
				{Kind: api.FactDependency, Text: "afterok:3: job 3 is RUNNING; satisfied if it completes with exit code 0.", Jobs: []api.JobID{3}},
				{Kind: api.FactDependency, Text: "afterok:41: job 41 is COMPLETED; completed: satisfied.", Jobs: []api.JobID{41}},
			},
		},
		{
			name: "dependency that can never be satisfied",
			in: with(cluster(), func() *api.Job {
				j := pending(61, "alice", "physics", 1, sched.ReasonDependencyNever, 0)
				j.Spec.Dependency = "afterok:40"
				return j
			}()),
			summary: "Job 61 can never start: its dependency afterok:40 cannot be satisfied any more, because job 40 is FAILED (exit code 1). " +
				"Cancel it with scancel 61 and submit it again.",
			facts: []fact{
				{Kind: api.FactDependency, Text: "afterok:40: job 40 is FAILED (exit code 1); it did not complete successfully, so afterok can never be satisfied.", Jobs: []api.JobID{40}},
			},
		},
		{
			name: "held by its user",
			in: with(cluster(), func() *api.Job {
				j := pending(70, "alice", "physics", 1, api.ReasonHeldUser, 0)
				j.Spec.Hold = true
				return j
			}()),
			summary: "Job 70 is held by its user: it will not start until it is released with scontrol release 70.",
			facts: []fact{
				{Kind: api.FactHeld, Text: "Held by user alice (sbatch --hold or scontrol hold, JobHeldUser); its owner, a coordinator of account physics, an operator or an administrator may release it."},
			},
		},
		{
			name:    "held by an administrator",
			in:      with(cluster(), pending(71, "alice", "physics", 1, api.ReasonHeldAdmin, 0)),
			summary: "Job 71 is held by an administrator: it will not start until an operator or an administrator releases it with scontrol release 71.",
			facts:   []fact{{Kind: api.FactHeld, Text: "Held by an administrator (JobHeldAdmin); its owner cannot release it."}},
		},
		{
			name: "begin time",
			in: with(cluster(), func() *api.Job {
				j := pending(72, "alice", "physics", 1, api.ReasonBeginTime, 0)
				j.Spec.BeginTime = now + 2*3600
				return j
			}()),
			summary: "Job 72 may not start before 16:02:20 UTC, the time its --begin asks for (in 02:00:00).",
			facts:   []fact{{Kind: api.FactBeginTime, Text: "--begin=2026-12-06T16:02:20 UTC"}},
		},
		{
			name: "partition down",
			in: with(cluster(), func() *api.Job {
				j := pending(73, "alice", "physics", 0, api.ReasonPartitionDown, 0)
				j.Spec.Partitions = []string{"maint"}
				return j
			}()),
			summary: "Job 73 waits because its partition maint is down; it can start when an administrator sets the partition UP.",
			facts:   []fact{{Kind: api.FactPartition, Text: "Partition maint is DOWN: no job starts there until an administrator sets it UP."}},
		},
		{
			name: "partition time limit",
			in: with(cluster(), func() *api.Job {
				j := pending(74, "alice", "physics", 1, api.ReasonPartitionLimit, 0)
				j.Spec.TimeLimitSecs = 2 * 86400
				return j
			}()),
			summary: "Job 74 cannot start: its time limit (2-00:00:00) is more than its partitions allow; cancel it and submit it again with a shorter --time.",
			facts:   []fact{{Kind: api.FactPartition, Text: "Partition gpu allows at most 1-00:00:00; the job asks for 2-00:00:00."}},
		},
		{
			name:    "bad constraints",
			in:      with(cluster(), pending(75, "alice", "physics", 16, sched.ReasonBadConstraints, 0)),
			summary: "Job 75 cannot start: it needs 16 GPUs on 1 node, and no node of its partitions has that much even when empty.",
			facts:   []fact{{Kind: api.FactPartition, Text: "Partition gpu: the job needs 16 GPUs, 1 CPU and 1024 MB on one node; its largest node has 8 GPUs (n1), at most 64 CPUs and 512000 MB."}},
		},
		{
			name: "array throttle",
			in: with(cluster(),
				func() *api.Job {
					j := running(81, "alice", "physics", "n1", 0, 1, 60)
					j.ArrayJobID, j.ArrayTaskID = 80, 0
					return j
				}(),
				func() *api.Job {
					j := running(82, "alice", "physics", "n1", 1, 1, 60)
					j.ArrayJobID, j.ArrayTaskID = 80, 1
					return j
				}(),
				func() *api.Job {
					j := pending(80, "alice", "physics", 1, sched.ReasonArrayTaskLimit, 0)
					j.ArrayJobID, j.ArrayTaskID, j.ArrayPending, j.ArrayMaxRun = 80, -1, api.TaskIDs{2, 3}, 2
					return j
				}()),
			summary: "Job array 80 runs 2 tasks at once, the most its %2 throttle allows: its next task starts when one of them ends.",
			facts:   []fact{{Kind: api.FactLimit, Text: "Running tasks: jobs 81 and 82.", Jobs: []api.JobID{81, 82}}},
		},
		{
			name:    "running",
			in:      with(cluster(), running(3, "alice", "physics", "n1", 0, 2, 1800)),
			summary: "Job 3 is running since 13:32:20 UTC on n1 (partition gpu); its time limit ends it at 14:32:20 UTC.",
		},
		{
			name: "running and being preempted",
			in:   with(cluster(), preempted(running(7, "bob", "bio", "n2", 0, 4, 1200), 12, 0), pending(12, "alice", "physics", 6, api.ReasonResources, 0)),
			summary: "Job 7 is running since 13:42:20 UTC on n2 (partition gpu). It is being stopped (requeued, preempted (reclaim)) since 14:02:20 UTC, " +
				"to make room for job 12; its grace time ends at 14:03:20 UTC.",
			facts: []fact{{Kind: api.FactReclaim, Text: "It is being stopped (requeued, preempted (reclaim)) since 14:02:20 UTC, to make room for job 12; its grace time ends at 14:03:20 UTC.", Jobs: []api.JobID{12}}},
		},
		{
			name:    "finished",
			in:      with(cluster()),
			job:     finished,
			summary: "Job 41 ended COMPLETED (exit code 0) at 13:57:20 UTC after running 01:00:00 on n2.",
		},
	}
	var readme strings.Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Lookup = lookup
			j := tc.job
			if j == nil {
				j = pick(tc.in.Jobs, tc.name)
			}
			got := explain.Explain(tc.in, j, explain.Options{Location: time.UTC})
			if got.JobID != j.ID || got.State != j.State || got.Reason != j.Reason {
				t.Errorf("header = %d %s %s, want %d %s %s", got.JobID, got.State, got.Reason, j.ID, j.State, j.Reason)
			}
			if got.Summary != tc.summary {
				t.Errorf("summary:\n got: %s\nwant: %s", got.Summary, tc.summary)
			}
			var facts []fact
			for _, f := range got.Facts {
				facts = append(facts, fact{f.Kind, f.Text, f.Jobs})
			}
			if diff := cmp.Diff(tc.facts, facts); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			if got.Reservation != tc.reservation {
				t.Errorf("reservation = %d, want %d", got.Reservation, tc.reservation)
			}
			fmt.Fprintf(&readme, "%s:\n  %s\n", tc.name, got.Summary)
			for _, f := range got.Facts {
				fmt.Fprintf(&readme, "    - %s\n", f.Text)
			}
		})
	}
	if os.Getenv("EXPLAIN_PRINT") != "" {
		t.Log("\n" + readme.String())
	}
}

// pick is the job a case explains: the pending job the case's name is
// about (the last pending one, or the only/first job).
func pick(jobs []*api.Job, name string) *api.Job {
	if name == "behind jobs of higher priority" {
		for _, j := range jobs {
			if j.ID == 32 {
				return j
			}
		}
	}
	if strings.HasPrefix(name, "running") {
		return jobs[0]
	}
	for i := len(jobs) - 1; i >= 0; i-- {
		if jobs[i].State == api.JobPending {
			return jobs[i]
		}
	}
	return jobs[0]
}

func TestWithEstimate(t *testing.T) {
	e := api.Explanation{JobID: 12, State: api.JobPending}
	est := api.StartEstimate{MadeAt: now, P50: now + 3*60, P90: now + 98*60, Horizon: now + 7*86400, Replays: 20, Started: 20}
	explain.WithEstimate(&e, est, explain.Options{Location: time.UTC})
	want := []api.ExplainFact{{Kind: api.FactEstimate, Text: "Expected start between 14:05:20 UTC and 15:40:20 UTC (P50-P90 from 20 replays of the queue made at 14:02:20 UTC)."}}
	if diff := cmp.Diff(want, e.Facts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	if e.Estimate == nil || *e.Estimate != est {
		t.Errorf("estimate = %+v, want %+v", e.Estimate, est)
	}
	noStart := api.StartEstimate{MadeAt: now, Horizon: now + 86400, Replays: 20, Started: 3}
	if got, want := explain.EstimateText(noStart, time.UTC), "No start expected before Mon 7 Dec 14:02:20 UTC: it started in 3 of 20 replays (from 20 replays of the queue made at 14:02:20 UTC)."; got != want {
		t.Errorf("EstimateText = %q, want %q", got, want)
	}
	running := api.Explanation{JobID: 3, State: api.JobRunning}
	explain.WithEstimate(&running, est, explain.Options{})
	if running.Estimate != nil || len(running.Facts) != 0 {
		t.Errorf("a running job got an estimate: %+v", running)
	}
}

func TestAccuracy(t *testing.T) {
	job := func(id api.JobID, est *api.StartEstimate, starts ...int64) *api.Job {
		j := &api.Job{ID: id, FirstEstimate: est, State: api.JobCompleted}
		for _, s := range starts {
			j.Runs = append(j.Runs, api.JobRun{StartTime: s})
		}
		return j
	}
	est := func(p50, p90 int64) *api.StartEstimate {
		return &api.StartEstimate{MadeAt: 1000, P50: p50, P90: p90, Replays: 20}
	}
	tests := []struct {
		name string
		jobs []*api.Job
		want api.EstimateAccuracy
	}{
		{name: "none", want: api.EstimateAccuracy{}},
		{
			name: "in and out of range, median of an even count",
			jobs: []*api.Job{
				job(1, est(1100, 1200), 1150),       // in range, error 50
				job(2, est(1100, 1200), 1300),       // late, error 200
				job(3, est(0, 0), 5000),             // no P50: unbounded range
				job(4, est(1500, 2000), 1400, 9000), // first run counts: in range, error 100
				job(5, est(1100, 1200)),             // never started: not measured
				job(6, nil, 1100),                   // no estimate
				job(7, est(2000, 3000), 900),        // started before the estimate was made
			},
			want: api.EstimateAccuracy{Jobs: 5, InRange: 3, WithP50: 4, MedianAbsErrorSecs: 150},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, explain.Accuracy(tc.jobs)); diff != "" {
				t.Errorf("accuracy (-want +got):\n%s", diff)
			}
		})
	}
}
