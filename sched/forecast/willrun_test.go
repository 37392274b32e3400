package forecast_test

import (
	"context"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/forecast"
	"github.com/google/go-cmp/cmp"
)

// TestWillRun: the start and placement of a job that is not submitted
// (sbatch --test-only), from the replays of the live queue with the job
// added: where it would start now, behind whom, on which nodes (its -w/-x
// honored), and never before the horizon.
func TestWillRun(t *testing.T) {
	type view struct {
		Started   bool
		Start     int64
		Placement forecast.Placement
		P50       int64
	}
	with := func(s api.JobSpec, edit func(*api.JobSpec)) api.JobSpec { edit(&s); return s }
	for _, tc := range []struct {
		name    string
		jobs    []*api.Job
		horizon int64
		want    view
	}{
		{
			name: "an idle cluster: now, on the fullest node that fits",
			jobs: []*api.Job{runningJob(100, "B", "n2", 4, hour, 3*hour), pendingJob(1, spec("A", 2, hour))},
			want: view{true, now, forecast.Placement{Partition: "gpu", Nodes: []string{"n2"}, CPUs: 16}, now},
		},
		{
			name: "full: at the first end, on that node",
			jobs: []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), runningJob(101, "B", "n2", 8, hour, 2*hour),
				pendingJob(1, spec("A", 8, hour))},
			want: view{true, now + hour, forecast.Placement{Partition: "gpu", Nodes: []string{"n2"}, CPUs: 64}, now + hour},
		},
		{
			name: "full, -x n2: at n1's end",
			jobs: []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), runningJob(101, "B", "n2", 8, hour, 2*hour),
				pendingJob(1, with(spec("A", 8, hour), func(s *api.JobSpec) { s.Exclude = []string{"n2"} }))},
			want: view{true, now + 2*hour, forecast.Placement{Partition: "gpu", Nodes: []string{"n1"}, CPUs: 64}, now + 2*hour},
		},
		{
			name: "behind a queued job of higher priority",
			jobs: []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), runningJob(101, "B", "n2", 8, hour, 2*hour),
				pendingJob(1, spec("A", 8, hour)), pendingJob(2, spec("A", 8, hour))},
			want: view{true, now + 2*hour, forecast.Placement{Partition: "gpu", Nodes: []string{"n1"}, CPUs: 64}, now + 2*hour},
		},
		{
			name:    "past the horizon: no start",
			jobs:    []*api.Job{runningJob(100, "B", "n1", 8, hour, 3*hour), runningJob(101, "B", "n2", 8, hour, 3*hour), pendingJob(1, spec("A", 8, hour))},
			horizon: hour,
			want:    view{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.jobs[len(tc.jobs)-1].ID
			snap := forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(2), Jobs: tc.jobs}
			res, err := forecast.WillRun(context.Background(), snap, forecast.Constant(1), forecast.Options{Seed: 1, HorizonSecs: tc.horizon, Replays: 5}, id)
			if err != nil {
				t.Fatal(err)
			}
			got := view{res.Started, res.Start, res.Placement, res.Estimate.P50}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("will run (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := forecast.WillRun(context.Background(), forecast.Snapshot{Now: now, Config: config(), Nodes: nodes(1)},
		forecast.Constant(1), forecast.Options{}, 7); err == nil {
		t.Error("WillRun of a job the snapshot lacks: no error")
	}
}
