package ctld

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func TestNextEstimateIn(t *testing.T) {
	tests := []struct {
		name           string
		interval, took time.Duration
		want           time.Duration
	}{
		{name: "quick estimate waits the interval's rest", interval: time.Minute, took: time.Second, want: 59 * time.Second},
		{name: "a quarter of the interval", interval: time.Minute, took: 15 * time.Second, want: 45 * time.Second},
		{name: "long estimate spaces the next out", interval: time.Minute, took: 20 * time.Second, want: 60 * time.Second},
		{name: "short interval", interval: time.Second, took: 400 * time.Millisecond, want: 1200 * time.Millisecond},
		{name: "no estimate made", interval: time.Minute, took: 0, want: time.Minute},
	}
	for _, tc := range tests {
		if got := nextEstimateIn(tc.interval, tc.took); got != tc.want {
			t.Errorf("%s: nextEstimateIn(%v, %v) = %v, want %v", tc.name, tc.interval, tc.took, got, tc.want)
		}
	}
}

func TestFirstPending(t *testing.T) {
	job := func(id api.JobID, state api.JobState, prio uint32) *api.Job {
		return &api.Job{ID: id, State: state, Priority: prio}
	}
	jobs := []*api.Job{
		job(1, api.JobRunning, 0), job(2, api.JobPending, 10), job(3, api.JobPending, 50),
		job(4, api.JobPending, 50), job(5, api.JobRunning, 0), job(6, api.JobPending, 90),
	}
	tests := []struct {
		name  string
		limit int
		want  []api.JobID
	}{
		{name: "all fit", limit: 4, want: []api.JobID{1, 2, 3, 4, 5, 6}},
		{name: "no limit", limit: -1, want: []api.JobID{1, 2, 3, 4, 5, 6}},
		{name: "highest priorities, ties by ID, order kept", limit: 2, want: []api.JobID{1, 3, 5, 6}},
		{name: "three", limit: 3, want: []api.JobID{1, 3, 4, 5, 6}},
		{name: "running only", limit: 0, want: []api.JobID{1, 5}},
	}
	for _, tc := range tests {
		var got []api.JobID
		for _, j := range firstPending(jobs, tc.limit) {
			got = append(got, j.ID)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: firstPending(limit %d) (-want +got):\n%s", tc.name, tc.limit, d)
		}
	}
}
