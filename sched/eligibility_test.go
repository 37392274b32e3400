package sched_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/google/go-cmp/cmp"
)

// finished returns a finished job.
func finished(id api.JobID, state api.JobState, exit int) *api.Job {
	return &api.Job{ID: id, State: state, ExitCode: exit, StartTime: t0 - 2*hour, EndTime: t0 - hour,
		Spec: api.JobSpec{Name: "dep", User: "u", Nodes: 1, NTasks: 1, CPUsPerTask: 1}}
}

func dep(expr string) func(*api.JobSpec) { return func(s *api.JobSpec) { s.Dependency = expr } }

func TestEligibility(t *testing.T) {
	small := spec("a", "u", 1, 1, hour)
	running := runningOn(50, "n1", 8, 10*hour, 0)
	running.Spec.Name, running.Spec.User = "train", "u"
	retained := map[api.JobID]*api.Job{
		10: finished(10, api.JobCompleted, 0),
		11: finished(11, api.JobFailed, 1),
		12: finished(12, api.JobCancelled, 0),
		13: finished(13, api.JobTimeout, 0),
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*api.ClusterConfig)
		jobs    []*api.Job
		started []api.JobID
		reasons map[api.JobID]string
		expect  map[api.JobID]int64 // expected starts
	}{
		{
			name:    "held jobs wait with JobHeldUser or JobHeldAdmin and priority 0",
			jobs:    []*api.Job{pending(1, with(small, func(s *api.JobSpec) { s.Hold = true })), func() *api.Job { j := pending(2, small); j.Reason = api.ReasonHeldAdmin; return j }(), pending(3, small)},
			started: []api.JobID{3},
			reasons: map[api.JobID]string{1: api.ReasonHeldUser, 2: api.ReasonHeldAdmin},
		},
		{
			name:    "a begin time in the future",
			jobs:    []*api.Job{pending(1, with(small, func(s *api.JobSpec) { s.BeginTime = t0 + hour })), pending(2, with(small, func(s *api.JobSpec) { s.BeginTime = t0 }))},
			started: []api.JobID{2},
			reasons: map[api.JobID]string{1: api.ReasonBeginTime},
			expect:  map[api.JobID]int64{1: t0 + hour},
		},
		{
			name: "afterok, afternotok, afterany",
			jobs: []*api.Job{
				running,
				pending(1, with(small, dep("afterok:10"))),
				pending(2, with(small, dep("afterok:11"))),
				pending(3, with(small, dep("afterok:50"))),
				pending(4, with(small, dep("afternotok:11"))),
				pending(5, with(small, dep("afternotok:10"))),
				pending(6, with(small, dep("afternotok:13"))),
				pending(7, with(small, dep("afterany:12"))),
				pending(8, with(small, dep("afterany:50"))),
			},
			started: []api.JobID{1, 4, 6, 7},
			reasons: map[api.JobID]string{2: sched.ReasonDependencyNever, 3: api.ReasonDependency,
				5: sched.ReasonDependencyNever, 8: api.ReasonDependency},
		},
		{
			name: "after: started, with a delay in minutes",
			jobs: []*api.Job{
				running, // started at t0, now is t0+10min
				pending(1, with(small, dep("after:50"))),
				pending(2, with(small, dep("after:50+5"))),
				pending(3, with(small, dep("after:50+15"))),
				pending(4, with(small, dep("after:12"))), // cancelled before it started counts too
				pending(5, with(small, dep("after:6"))),  // pending itself
				pending(6, small),
			},
			started: []api.JobID{1, 2, 4, 6},
			reasons: map[api.JobID]string{3: api.ReasonDependency, 5: api.ReasonDependency},
		},
		{
			name: "all terms with ',' and any term with '?'",
			jobs: []*api.Job{
				running,
				pending(1, with(small, dep("afterok:10,afterany:12"))),
				pending(2, with(small, dep("afterok:10,afterok:50"))),
				pending(3, with(small, dep("afterok:10,afterok:11"))),
				pending(4, with(small, dep("afterok:11?afterany:12"))),
				pending(5, with(small, dep("afterok:11?afterok:50"))),
				pending(6, with(small, dep("afterok:11?afterok:13"))),
				pending(7, with(small, dep("afterok:10:11"))),
			},
			started: []api.JobID{1, 4},
			reasons: map[api.JobID]string{2: api.ReasonDependency, 3: sched.ReasonDependencyNever,
				5: api.ReasonDependency, 6: sched.ReasonDependencyNever, 7: sched.ReasonDependencyNever},
		},
		{
			name: "unknown jobs: after and afterany hold, afterok never",
			jobs: []*api.Job{
				pending(1, with(small, dep("afterany:999"))),
				pending(2, with(small, dep("afterok:999"))),
				pending(3, with(small, dep("afterok:bad"))),
			},
			started: []api.JobID{1},
			reasons: map[api.JobID]string{2: sched.ReasonDependencyNever, 3: sched.ReasonDependencyNever},
		},
		{
			name: "singleton: one at a time per name and user",
			jobs: []*api.Job{
				running, // "train" of u
				pending(1, with(small, func(s *api.JobSpec) { s.Name, s.Dependency = "train", "singleton" })),
				pending(2, with(small, func(s *api.JobSpec) { s.Name, s.Dependency = "eval", "singleton" })),
				pending(3, with(small, func(s *api.JobSpec) { s.Name, s.Dependency = "eval", "singleton" })),
				pending(4, with(small, func(s *api.JobSpec) { s.Name, s.User, s.Dependency = "eval", "v", "singleton" })),
			},
			started: []api.JobID{2, 4},
			reasons: map[api.JobID]string{1: api.ReasonDependency, 3: api.ReasonDependency},
		},
		{
			name: "partition state and limits",
			cfg: func(c *api.ClusterConfig) {
				c.Partitions = append(c.Partitions,
					api.Partition{Name: "down", State: "DOWN"},
					api.Partition{Name: "short", MaxTimeSecs: hour / 2})
			},
			jobs: []*api.Job{
				pending(1, with(small, func(s *api.JobSpec) { s.Partitions = []string{"down"} })),
				pending(2, with(small, func(s *api.JobSpec) { s.Partitions = []string{"short"} })),
				pending(3, with(small, func(s *api.JobSpec) { s.Partitions = []string{"gone"} })),
				pending(4, spec("a", "u", 5, 1, hour)),
				pending(5, with(small, func(s *api.JobSpec) { s.Partitions = []string{"down", "gpu"} })),
			},
			started: []api.JobID{5},
			reasons: map[api.JobID]string{1: api.ReasonPartitionDown, 2: api.ReasonPartitionLimit,
				3: sched.ReasonPartitionConfig, 4: sched.ReasonPartitionNodeLimit},
		},
		{
			name: "account and user limits, counted over the account's subtree",
			cfg: func(c *api.ClusterConfig) {
				c.Accounts = []api.Account{
					{Name: "org", MaxGPUs: 6},
					{Name: "a", Parent: "org", MaxRunningJobs: 3, MaxRunningJobsPerUser: 2},
					{Name: "b", Parent: "org", MaxGPUsPerUser: 2},
				}
			},
			jobs: []*api.Job{
				pending(1, spec("a", "u", 1, 1, hour)),
				pending(2, spec("a", "u", 1, 1, hour)),
				pending(3, spec("a", "u", 1, 1, hour)), // u's third in a
				pending(4, spec("a", "v", 1, 1, hour)),
				pending(5, spec("a", "w", 1, 1, hour)), // a's fourth
				pending(6, spec("b", "u", 1, 2, hour)),
				pending(7, spec("b", "u", 1, 1, hour)), // u's third GPU in b
				pending(8, spec("b", "v", 1, 2, hour)), // org's seventh GPU
			},
			started: []api.JobID{1, 2, 4, 6},
			reasons: map[api.JobID]string{3: sched.ReasonAssocMaxJobs, 5: sched.ReasonAssocGrpJobs,
				7: sched.ReasonAssocGrpGRES, 8: sched.ReasonAssocGrpGRES},
		},
		{
			name: "an association's own limits (sacctmgr MaxJobs and GrpTRES on a user)",
			cfg: func(c *api.ClusterConfig) {
				c.Accounts = []api.Account{{Name: "a", Users: []api.AccountUser{
					{Name: "u", Shares: 1, MaxRunningJobs: 1},
					{Name: "v", Shares: 1, MaxGPUs: 3},
				}}}
			},
			jobs: []*api.Job{
				pending(1, spec("a", "u", 1, 1, hour)),
				pending(2, spec("a", "u", 1, 1, hour)), // u's second
				pending(3, spec("a", "v", 1, 2, hour)),
				pending(4, spec("a", "v", 1, 2, hour)), // v's fourth GPU
				pending(5, spec("a", "w", 1, 1, hour)), // w has no association limits
			},
			started: []api.JobID{1, 3, 5},
			reasons: map[api.JobID]string{2: sched.ReasonAssocMaxJobs, 4: sched.ReasonAssocGrpGRES},
		},
		{
			name: "the first job blocked for resources waits for Resources, the others for Priority",
			jobs: []*api.Job{
				pending(1, spec("a", "u", 1, 8, hour)),
				pending(2, spec("a", "u", 1, 8, hour)),
				pending(3, spec("a", "u", 1, 8, hour)),
			},
			started: []api.JobID{1},
			reasons: map[api.JobID]string{2: api.ReasonResources, 3: api.ReasonPriority},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := onePartition()
			cfg.Scheduling.Backfill.Mode = api.BackfillEASY
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			in := sched.Input{Now: t0 + 600, Config: cfg, Nodes: gpuNodes("n", 1, 8, "h100", "gpu"), Jobs: tc.jobs,
				Lookup: func(id api.JobID) (*api.Job, bool) { j, ok := retained[id]; return j, ok }}
			plan := sched.New().Schedule(in)
			var got []api.JobID
			for _, s := range plan.Starts {
				got = append(got, s.JobID)
			}
			if diff := cmp.Diff(tc.started, got); diff != "" {
				t.Errorf("started (-want +got):\n%s", diff)
			}
			gotReasons := reasons(plan)
			for id, want := range tc.reasons {
				if gotReasons[id] != want {
					t.Errorf("job %d waits for %q, want %q", id, gotReasons[id], want)
				}
			}
			for _, pi := range plan.Pending {
				if want, ok := tc.expect[pi.JobID]; ok && pi.ExpectedStart != want {
					t.Errorf("job %d expected at %d, want %d", pi.JobID, pi.ExpectedStart, want)
				}
				if r := pi.Reason; (r == api.ReasonHeldUser || r == api.ReasonHeldAdmin) && pi.Priority != 0 {
					t.Errorf("held job %d has priority %d, want 0", pi.JobID, pi.Priority)
				}
			}
		})
	}
}

// arrayRecord returns a job array record with the given pending tasks and
// throttle.
func arrayRecord(id api.JobID, s api.JobSpec, maxRun int, tasks ...int) *api.Job {
	j := pending(id, s)
	j.ArrayJobID, j.ArrayTaskID, j.ArrayPending, j.ArrayMaxRun = id, -1, tasks, maxRun
	return j
}

func TestJobArrays(t *testing.T) {
	one := spec("a", "u", 1, 1, hour)
	task := func(id, array api.JobID, taskID int) *api.Job {
		j := runningOn(id, "n1", 8, hour, int(id-100))
		j.ArrayJobID, j.ArrayTaskID = array, taskID
		return j
	}
	for _, tc := range []struct {
		name   string
		jobs   []*api.Job
		want   []placed
		reason string // the array record's reason
	}{
		{
			name: "several tasks start in one pass, lowest first",
			jobs: []*api.Job{arrayRecord(1, one, 0, 0, 4, 8, 12)},
			want: []placed{
				{Job: 1, Task: 0, Part: "gpu", Nodes: map[string][]int{"n1": {0}}},
				{Job: 1, Task: 4, Part: "gpu", Nodes: map[string][]int{"n1": {1}}},
				{Job: 1, Task: 8, Part: "gpu", Nodes: map[string][]int{"n1": {2}}},
				{Job: 1, Task: 12, Part: "gpu", Nodes: map[string][]int{"n1": {3}}},
			},
		},
		{
			name: "the throttle counts running tasks",
			jobs: []*api.Job{
				task(100, 1, 0), task(101, 1, 1),
				arrayRecord(1, one, 3, 2, 3, 4, 5),
			},
			want:   []placed{{Job: 1, Task: 2, Part: "gpu", Nodes: map[string][]int{"n1": {2}}}},
			reason: sched.ReasonArrayTaskLimit,
		},
		{
			name: "tasks stop at the resources; the rest wait for them",
			jobs: []*api.Job{
				runningOn(100, "n1", 8, hour, 0, 1, 2, 3, 4, 5),
				arrayRecord(1, one, 0, 7, 8, 9),
			},
			want: []placed{
				{Job: 1, Task: 7, Part: "gpu", Nodes: map[string][]int{"n1": {6}}},
				{Job: 1, Task: 8, Part: "gpu", Nodes: map[string][]int{"n1": {7}}},
			},
			reason: api.ReasonResources,
		},
		{
			name: "a requeued task keeps its array's throttle",
			jobs: []*api.Job{
				task(100, 1, 0),
				arrayRecord(1, one, 1, 2, 3),
				func() *api.Job { j := pending(5, one); j.ArrayJobID, j.ArrayTaskID = 1, 1; return j }(),
			},
			reason: sched.ReasonArrayTaskLimit,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := onePartition()
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: cfg, Nodes: gpuNodes("n", 1, 8, "h100", "gpu"), Jobs: tc.jobs})
			if diff := cmp.Diff(tc.want, starts(plan)); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			if tc.reason != "" {
				if got := reasons(plan)[1]; got != tc.reason {
					t.Errorf("array waits for %q, want %q", got, tc.reason)
				}
			}
		})
	}
}

// TestHugeArrayCostsWhatStarts: a 100,000-task array on a cluster with room
// for a few tasks is one queue entry; a pass starts what fits and reports
// the record once.
func TestHugeArrayCostsWhatStarts(t *testing.T) {
	tasks := make([]int, 100000)
	for i := range tasks {
		tasks[i] = i
	}
	rec := arrayRecord(1, spec("a", "u", 1, 1, hour), 0, tasks...)
	plan := sched.New().Schedule(sched.Input{Now: t0, Config: onePartition(), Nodes: gpuNodes("n", 2, 8, "h100", "gpu"), Jobs: []*api.Job{rec}})
	if len(plan.Starts) != 16 || *plan.Starts[15].ArrayTaskID != 15 {
		t.Errorf("%d starts, want tasks 0-15", len(plan.Starts))
	}
	if len(plan.Pending) != 1 || plan.Pending[0].Reason != api.ReasonResources {
		t.Errorf("pending %+v, want the record once, waiting for Resources", plan.Pending)
	}
}
