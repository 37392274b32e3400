package sched_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

// TestNodeChoice: sbatch -w/--nodelist, -x/--exclude and --exclusive as
// Slurm documents them: the job runs on every listed node, never on an
// excluded one, and an exclusive job shares its nodes with no other.
func TestNodeChoice(t *testing.T) {
	nodes := func() []*api.Node {
		var out []*api.Node
		for _, n := range []string{"n1", "n2", "n3"} {
			out = append(out, schedtest.Node(n, 64, 512*1024, 8, "h100", "gpu"))
		}
		return out
	}
	with := func(s api.JobSpec, edit func(*api.JobSpec)) api.JobSpec {
		edit(&s)
		return s
	}
	exclusiveOn := func(id api.JobID, node string) *api.Job {
		j := runningOn(id, node, 1, hour, 0)
		j.Spec.Exclusive = true
		return j
	}
	for _, tc := range []struct {
		name    string
		jobs    []*api.Job
		want    []placed
		reasons map[api.JobID]string
	}{
		{
			name: "--nodelist: the listed node, not the fullest",
			jobs: []*api.Job{
				runningOn(100, "n2", 8, hour, 0, 1, 2, 3),
				pending(1, with(spec("a", "u", 1, 1, hour), func(s *api.JobSpec) { s.NodeList = []string{"n3"} })),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}}}},
		},
		{
			name: "--nodelist with more nodes than listed: the listed ones and others",
			jobs: []*api.Job{
				pending(1, with(spec("a", "u", 2, 1, hour), func(s *api.JobSpec) { s.NodeList = []string{"n3"} })),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}, "n1": {0}}}},
		},
		{
			name: "--nodelist: a listed node that is full keeps the job pending",
			jobs: []*api.Job{
				runningOn(100, "n1", 8, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				pending(1, with(spec("a", "u", 1, 1, hour), func(s *api.JobSpec) { s.NodeList = []string{"n1"} })),
			},
			reasons: map[api.JobID]string{1: api.ReasonResources},
		},
		{
			name: "--exclude: never on an excluded node",
			jobs: []*api.Job{
				pending(1, with(spec("a", "u", 1, 1, hour), func(s *api.JobSpec) { s.Exclude = []string{"n1", "n2"} })),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}}}},
		},
		{
			name: "--exclusive: only an empty node",
			jobs: []*api.Job{
				runningOn(100, "n1", 1, hour, 0),
				runningOn(101, "n2", 1, hour, 0),
				pending(1, with(spec("a", "u", 1, 1, hour), func(s *api.JobSpec) { s.Exclusive = true })),
			},
			want: []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n3": {0}}}},
		},
		{
			name: "no other job on a node an exclusive job runs on",
			jobs: []*api.Job{
				exclusiveOn(100, "n1"),
				runningOn(101, "n2", 1, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				runningOn(102, "n3", 1, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				pending(1, spec("a", "u", 1, 1, hour)),
			},
			reasons: map[api.JobID]string{1: api.ReasonResources},
		},
		{
			name: "an exclusive job started in the pass keeps later ones off its node",
			jobs: []*api.Job{
				runningOn(101, "n2", 1, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				runningOn(102, "n3", 1, hour, 0, 1, 2, 3, 4, 5, 6, 7),
				pending(1, with(spec("a", "u", 1, 1, hour), func(s *api.JobSpec) { s.Exclusive = true })),
				pending(2, spec("a", "u", 1, 1, hour)),
			},
			want:    []placed{{Job: 1, Task: -1, Part: "gpu", Nodes: map[string][]int{"n1": {0}}}},
			reasons: map[api.JobID]string{2: api.ReasonResources},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := sched.New().Schedule(sched.Input{Now: t0, Config: onePartition(), Nodes: nodes(), Jobs: tc.jobs})
			if diff := cmp.Diff(tc.want, starts(plan)); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
			got := reasons(plan)
			for id, want := range tc.reasons {
				if got[id] != want {
					t.Errorf("job %d waits for %q, want %q", id, got[id], want)
				}
			}
		})
	}
}
