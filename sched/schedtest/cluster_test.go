package schedtest_test

import (
	"slices"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

const t0 = 1_700_000_000

func job(account string, gpus int, limit int64) api.JobSpec {
	return api.JobSpec{Name: "j", Account: account, User: "u", Nodes: 1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 1024,
		GPUs: gpus, TimeLimitSecs: limit}
}

// TestLifecycle: jobs run their run time (or until their limit), array tasks
// split off, usage accrues, and a preempted job goes back to pending after
// its grace time.
func TestLifecycle(t *testing.T) {
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, GraceSecs: 30}},
		Accounts: []api.Account{
			{Name: "a", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "b", Shares: 1},
		},
		Scheduling: api.SchedulingConfig{UsageNoDecay: true},
	}
	c := schedtest.New(cfg, []*api.Node{schedtest.Node("n1", 8, 8192, 2, "h100", "gpu")}, sched.New(), t0)
	short := c.Submit(job("b", 1, 600), 300) // ends after 300 s
	long := c.Submit(job("b", 1, 600), 900)  // times out at 600 s
	arr := c.Submit(with(job("b", 1, 600), "0-1"), 100)
	c.RunUntil(t0 + 1000)
	if got := c.Job(short); got.State != api.JobCompleted || got.EndTime != t0+300 {
		t.Errorf("short job %s at t0%+d, want COMPLETED at t0+300", got.State, got.EndTime-t0)
	}
	if got := c.Job(long); got.State != api.JobTimeout || got.EndTime != t0+600 {
		t.Errorf("long job %s at t0%+d, want TIMEOUT at t0+600", got.State, got.EndTime-t0)
	}
	var tasks []int
	for _, j := range c.Jobs() {
		if j.ArrayJobID == arr {
			tasks = append(tasks, j.ArrayTaskID)
			if j.State != api.JobCompleted {
				t.Errorf("task %d is %s", j.ArrayTaskID, j.State)
			}
		}
	}
	slices.Sort(tasks) // the last task takes over the record's ID
	if diff := cmp.Diff([]int{0, 1}, tasks); diff != "" {
		t.Errorf("array tasks (-want +got):\n%s", diff)
	}
	// 300 + 600 + 2*100 GPU-seconds for b.
	if got := c.Usage[api.AssocKey("b", "u")]; got != 1100 {
		t.Errorf("b's usage %v, want 1100", got)
	}

	// b borrows both GPUs; a reclaims one.
	c.Submit(job("b", 1, 3600), 3600)
	victim := c.Submit(job("b", 1, 3600), 3600)
	c.RunUntil(t0 + 1100)
	a := c.Submit(job("a", 1, 3600), 3600)
	c.RunUntil(t0 + 1200)
	want := []schedtest.Event{{Time: t0 + 1100, Kind: schedtest.Preempted, Job: victim, For: a, Reason: "reclaim"}}
	if diff := cmp.Diff(want, c.Events(schedtest.Preempted)); diff != "" {
		t.Errorf("preemptions (-want +got):\n%s", diff)
	}
	if got := c.Job(victim); got.State != api.JobPending || got.RestartCount != 1 {
		t.Errorf("victim %s with %d restarts, want PENDING with 1", got.State, got.RestartCount)
	}
	if got := c.Job(a); got.State != api.JobRunning || got.StartTime != t0+1130 {
		t.Errorf("a's job %s since t0%+d, want RUNNING since t0+1130", got.State, got.StartTime-t0)
	}
	if len(c.Errors) > 0 {
		t.Errorf("errors: %v", c.Errors)
	}
}

func with(s api.JobSpec, array string) api.JobSpec {
	s.Array = array
	return s
}
