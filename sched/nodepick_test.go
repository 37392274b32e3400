package sched_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

// TestReservationsHonorNodeChoice: a pending job's backfill reservation
// (its expected start, and the nodes later jobs must keep clear) is placed
// only on nodes the job may use: none of its -x/--exclude, all of its
// -w/--nodelist, none its retry avoids while other nodes could take it.
// n1 frees at +1h, n2 at +2h, n3 at +3h (every GPU busy); n4 has half its
// GPUs free now and the rest at +1h.
func TestReservationsHonorNodeChoice(t *testing.T) {
	nodes := func() []*api.Node {
		var out []*api.Node
		for _, n := range []string{"n1", "n2", "n3", "n4"} {
			out = append(out, schedtest.Node(n, 64, 512*1024, 8, "h100", "gpu"))
		}
		return out
	}
	running := func() []*api.Job {
		return []*api.Job{
			runningOn(100, "n1", 8, 1*hour, 0, 1, 2, 3, 4, 5, 6, 7),
			runningOn(101, "n2", 8, 2*hour, 0, 1, 2, 3, 4, 5, 6, 7),
			runningOn(102, "n3", 8, 3*hour, 0, 1, 2, 3, 4, 5, 6, 7),
			runningOn(103, "n4", 8, 1*hour, 0, 1, 2, 3),
		}
	}
	big := func(nodes int, edit func(*api.JobSpec)) *api.Job {
		return pending(1, with(spec("a", "u", nodes, 8, hour), edit))
	}
	none := func(*api.JobSpec) {}
	// small fits n4's free half now for 3 hours: it may start only where
	// it delays no reservation.
	small := pending(2, spec("a", "u", 1, 4, 3*hour))
	smallOnN4 := []placed{{Job: 2, Task: -1, Part: "gpu", Nodes: map[string][]int{"n4": {4, 5, 6, 7}}}}
	for _, tc := range []struct {
		name     string
		jobs     []*api.Job
		expected int64 // job 1's expected start
		want     []placed
	}{
		{name: "no choice: the first node to free (n1)", jobs: []*api.Job{big(1, none)}, expected: t0 + hour},
		{name: "-x n1,n4: n2", jobs: []*api.Job{big(1, func(s *api.JobSpec) { s.Exclude = []string{"n1", "n4"} })}, expected: t0 + 2*hour},
		{name: "-w n3: n3", jobs: []*api.Job{big(1, func(s *api.JobSpec) { s.NodeList = []string{"n3"} })}, expected: t0 + 3*hour},
		{name: "-x n1,n2,n4: n3", jobs: []*api.Job{big(1, func(s *api.JobSpec) { s.Exclude = []string{"n1", "n2", "n4"} })}, expected: t0 + 3*hour},
		{name: "-N2: n1 and n4", jobs: []*api.Job{big(2, none)}, expected: t0 + hour},
		{name: "-N2 -w n3: n3 and another", jobs: []*api.Job{big(2, func(s *api.JobSpec) { s.NodeList = []string{"n3"} })}, expected: t0 + 3*hour},
		{name: "-N2 -w n2,n4: both", jobs: []*api.Job{big(2, func(s *api.JobSpec) { s.NodeList = []string{"n2", "n4"} })}, expected: t0 + 2*hour},
		{name: "-N2 -x n1: n2 and n4", jobs: []*api.Job{big(2, func(s *api.JobSpec) { s.Exclude = []string{"n1"} })}, expected: t0 + 2*hour},
		{
			name:     "reserved on n4: a later job may not take n4's free half",
			jobs:     []*api.Job{big(1, func(s *api.JobSpec) { s.Exclude = []string{"n1", "n2", "n3"} }), small},
			expected: t0 + hour,
		},
		{
			name:     "n4 excluded: the later job backfills onto n4 now",
			jobs:     []*api.Job{big(1, func(s *api.JobSpec) { s.Exclude = []string{"n1", "n4"} }), small},
			expected: t0 + 2*hour,
			want:     smallOnN4,
		},
		{
			name: "a retry avoids the failed run's node n1: n2",
			jobs: []*api.Job{func() *api.Job {
				j := big(1, none)
				j.AvoidNodes, j.Retries = []string{"n1", "n4"}, 1
				return j
			}()},
			expected: t0 + 2*hour,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs := append(running(), tc.jobs...)
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: onePartition(), Nodes: nodes(), Jobs: jobs})
			if diff := cmp.Diff(tc.want, starts(plan)); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			var got int64
			for _, pi := range plan.Pending {
				if pi.JobID == 1 {
					got = pi.ExpectedStart
				}
			}
			if got != tc.expected {
				t.Errorf("job 1 expected to start at t0%+ds, want t0%+ds", got-t0, tc.expected-t0)
			}
		})
	}
}

// TestRetryAvoidsFailedNodes: a job its retry policy sent back after a
// failed run (api.Job.AvoidNodes) starts elsewhere when another node can
// take it, and on the failed node when none other could ever host it or
// its --nodelist names it.
func TestRetryAvoidsFailedNodes(t *testing.T) {
	small := func() []*api.Node {
		return []*api.Node{
			schedtest.Node("n1", 64, 512*1024, 8, "h100", "gpu"),
			schedtest.Node("n2", 64, 512*1024, 8, "h100", "gpu"),
			schedtest.Node("n3", 16, 128*1024, 2, "h100", "gpu"),
		}
	}
	retried := func(gpus int, avoid []string, edit func(*api.JobSpec)) *api.Job {
		j := pending(1, with(spec("a", "u", 1, gpus, hour), edit))
		j.Retries, j.RestartCount, j.AvoidNodes = 1, 1, avoid
		return j
	}
	none := func(*api.JobSpec) {}
	for _, tc := range []struct {
		name   string
		nodes  func() []*api.Node
		jobs   []*api.Job
		want   []placed
		reason string // job 1's, when it waits
	}{
		{
			name:  "not a retry: the fullest node that fits (n1)",
			nodes: small, jobs: []*api.Job{retried(1, nil, none)},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}}}},
		},
		{
			name:  "failed on n3: another node",
			nodes: small, jobs: []*api.Job{retried(1, []string{"n3"}, none)},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0}}}},
		},
		{
			name:  "failed on n1 with n2 busy: waits for n2 rather than going back",
			nodes: small,
			jobs: []*api.Job{
				runningOn(100, "n2", 8, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				retried(8, []string{"n1"}, none),
			},
			reason: api.ReasonResources,
		},
		{
			name:  "failed on n1 and n2, the only nodes big enough: back on one of them",
			nodes: small, jobs: []*api.Job{retried(8, []string{"n1", "n2"}, none)},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0, 1, 2, 3, 4, 5, 6, 7}}}},
		},
		{
			name:  "failed on n1, n2 drained: back on n1",
			nodes: func() []*api.Node { n := small(); n[1].State = api.NodeDrain; return n },
			jobs:  []*api.Job{retried(8, []string{"n1"}, none)},
			want:  []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0, 1, 2, 3, 4, 5, 6, 7}}}},
		},
		{
			name:  "failed on n3, which --nodelist names: n3",
			nodes: small, jobs: []*api.Job{retried(1, []string{"n3"}, func(s *api.JobSpec) { s.NodeList = []string{"n3"} })},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: onePartition(), Nodes: tc.nodes(), Jobs: tc.jobs})
			if diff := cmp.Diff(tc.want, starts(plan)); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			if tc.reason != "" {
				if got := reasons(plan)[1]; got != tc.reason {
					t.Errorf("job 1 waits for %q, want %q", got, tc.reason)
				}
			}
		})
	}
}
