package alerts

import (
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

var cfg = &api.ClusterConfig{
	Partitions: []api.Partition{{Name: "gpu", Default: true}, {Name: "cpu"}},
	Accounts:   []api.Account{{Name: "prod"}, {Name: "research"}},
}

func node(name string, state api.NodeState, reason string, gpus ...api.GPU) *api.Node {
	return &api.Node{Name: name, State: state, Reason: reason, Partitions: []string{"gpu"}, Resources: api.NodeResources{GPUs: gpus}}
}

func gpu(i int) api.GPU { return api.GPU{Index: i, UUID: "GPU-" + string(rune('a'+i)), Healthy: true} }

func sick(i int, reason string) api.GPU {
	g := gpu(i)
	g.Healthy, g.HealthReason = false, reason
	return g
}

func runningOn(id api.JobID, node string, gpus ...int) *api.Job {
	return &api.Job{ID: id, State: api.JobRunning, Partition: "gpu", Spec: api.JobSpec{Account: "prod", GPUs: len(gpus)},
		Alloc: []api.NodeAlloc{{Node: node, GPUs: gpus}}}
}

func waiting(id api.JobID, account, reason string, gpus int, submitted int64) *api.Job {
	return &api.Job{ID: id, State: api.JobPending, Partition: "gpu", Reason: reason, SubmitTime: submitted,
		Spec: api.JobSpec{Account: account, User: "ann", GPUs: gpus, Nodes: 1}}
}

func intp(i int) *int { return &i }

func TestEvaluate(t *testing.T) {
	now := time.Unix(100_000, 0)
	for _, tc := range []struct {
		name  string
		nodes []*api.Node
		jobs  []*api.Job
		want  []api.Alert
	}{
		{name: "healthy and busy: nothing",
			nodes: []*api.Node{node("n1", api.NodeAllocated, "", gpu(0), gpu(1))},
			jobs:  []*api.Job{runningOn(1, "n1", 0, 1), waiting(2, "prod", api.ReasonResources, 1, now.Unix()-60)},
		},
		{name: "node down and node drained",
			nodes: []*api.Node{node("n2", api.NodeDrain, "maintenance", gpu(0)), node("n1", api.NodeDown, "Not responding", gpu(0), gpu(1))},
			want: []api.Alert{
				{Name: api.AlertNodeDown, Severity: api.SeverityCritical, Node: "n1", Summary: "node n1 is down (Not responding); its 2 GPUs are withdrawn"},
				{Name: api.AlertNodeDrained, Severity: api.SeverityWarning, Node: "n2", Summary: "node n2 is drained (maintenance); its GPU is out of scheduling"},
			},
		},
		{name: "unhealthy GPU with its reason",
			nodes: []*api.Node{node("n1", api.NodeIdle, "", gpu(0), sick(1, "XID 79: GPU has fallen off the bus"))},
			want: []api.Alert{{Name: api.AlertGPUUnhealthy, Severity: api.SeverityCritical, Node: "n1", GPU: intp(1),
				Summary: "GPU 1 of node n1 (GPU-b) is unhealthy: XID 79: GPU has fallen off the bus"}},
		},
		{name: "idle GPUs while GPU jobs wait; unhealthy, drained and held do not count",
			nodes: []*api.Node{
				node("n1", api.NodeMixed, "", gpu(0), gpu(1), gpu(2)),
				node("n2", api.NodeDrain, "", gpu(0)),
			},
			jobs: []*api.Job{
				runningOn(1, "n1", 0),
				waiting(2, "prod", api.ReasonResources, 4, now.Unix()),
				waiting(3, "research", api.ReasonPriority, 1, now.Unix()),
				waiting(4, "research", api.ReasonHeldUser, 8, now.Unix()),
				{ID: 5, State: api.JobPending, Partition: "cpu", Reason: api.ReasonResources, SubmitTime: now.Unix()},
			},
			want: []api.Alert{
				{Name: api.AlertNodeDrained, Severity: api.SeverityWarning, Node: "n2", Summary: "node n2 is drained; its GPU is out of scheduling"},
				{Name: api.AlertIdleGPUsWait, Severity: api.SeverityWarning, Partition: "gpu", ForSecs: 600,
					Summary: "partition gpu: 2 idle GPUs while 2 GPU jobs wait for 5 GPUs"},
			},
		},
		{name: "oldest pending job per account over the age; held and dependent jobs wait for themselves",
			jobs: []*api.Job{
				waiting(2, "prod", api.ReasonResources, 0, now.Unix()-2*3600),
				waiting(3, "prod", api.ReasonPriority, 0, now.Unix()-3*3600-300),
				waiting(4, "research", api.ReasonHeldUser, 0, now.Unix()-9*3600),
				waiting(5, "research", api.ReasonDependency, 0, now.Unix()-9*3600),
				waiting(6, "research", api.ReasonPriority, 0, now.Unix()-1800),
			},
			want: []api.Alert{{Name: api.AlertLongPendingJob, Severity: api.SeverityWarning, Account: "prod", JobID: 3,
				Summary: "account prod: job 3 of user ann has waited 3h 05m (Priority), more than 1h 00m"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(Rules{}, Input{Config: cfg, Nodes: tc.nodes, Jobs: tc.jobs, Now: now})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTracker: a condition with a duration is pending until it has held
// that long, then fires; one without fires at once; firing alerts come
// first; a condition that clears is forgotten and starts again.
func TestTracker(t *testing.T) {
	tr := NewTracker(Rules{IdleGPUsFor: 5 * time.Minute})
	clock := time.Unix(50_000, 0)
	idle := Input{Config: cfg, Now: clock,
		Nodes: []*api.Node{node("n1", api.NodeIdle, "", gpu(0), sick(1, "ECC"))},
		Jobs:  []*api.Job{waiting(2, "prod", api.ReasonResources, 2, clock.Unix())}}
	summaries := func(alerts []api.Alert) []string {
		var out []string
		for _, a := range alerts {
			state := "pending"
			if a.Firing {
				state = "firing"
			}
			out = append(out, a.Name+" "+state+" since "+time.Unix(a.Since, 0).UTC().Format("15:04:05"))
		}
		return out
	}
	steps := []struct {
		after time.Duration
		clear bool
		want  []string
	}{
		{0, false, []string{"GPUUnhealthy firing since 13:53:20", "IdleGPUsWhileJobsWait pending since 13:53:20"}},
		{4 * time.Minute, false, []string{"GPUUnhealthy firing since 13:53:20", "IdleGPUsWhileJobsWait pending since 13:53:20"}},
		{5 * time.Minute, false, []string{"GPUUnhealthy firing since 13:53:20", "IdleGPUsWhileJobsWait firing since 13:53:20"}},
		{6 * time.Minute, true, []string{"GPUUnhealthy firing since 13:53:20"}},
		{7 * time.Minute, false, []string{"GPUUnhealthy firing since 13:53:20", "IdleGPUsWhileJobsWait pending since 14:00:20"}},
	}
	for _, s := range steps {
		in := idle
		in.Now = clock.Add(s.after)
		if s.clear {
			in.Jobs = nil
		}
		if diff := cmp.Diff(s.want, summaries(tr.Update(in))); diff != "" {
			t.Errorf("after %v (-want +got):\n%s", s.after, diff)
		}
	}
}

func TestDuration(t *testing.T) {
	for secs, want := range map[int64]string{0: "0s", 59: "59s", 60: "1m", 3599: "59m", 3600: "1h 00m", 47*3600 + 60: "47h 01m", 50 * 3600: "2d 2h"} {
		if got := Duration(secs); got != want {
			t.Errorf("Duration(%d) = %q, want %q", secs, got, want)
		}
	}
}
