package ctld

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func TestMergeByID(t *testing.T) {
	jobs := func(ids ...api.JobID) []*api.Job {
		out := []*api.Job{}
		for _, id := range ids {
			out = append(out, &api.Job{ID: id})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		runs [][]*api.Job
		want []api.JobID
	}{
		{"none", nil, []api.JobID{}},
		{"empty runs", [][]*api.Job{jobs(), jobs()}, []api.JobID{}},
		{"one run", [][]*api.Job{jobs(1, 2, 9)}, []api.JobID{1, 2, 9}},
		{"one after the other", [][]*api.Job{jobs(5, 6), jobs(1, 2)}, []api.JobID{1, 2, 5, 6}},
		{"interleaved", [][]*api.Job{jobs(1, 4, 7, 8), jobs(2, 3, 9), jobs(), jobs(5, 6, 10)},
			[]api.JobID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"long stretches", [][]*api.Job{jobs(1, 2, 3, 4, 5, 100), jobs(50, 51, 52), jobs(6)},
			[]api.JobID{1, 2, 3, 4, 5, 6, 50, 51, 52, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []api.JobID{}
			for _, j := range mergeByID(tc.runs) {
				got = append(got, j.ID)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("merged (-want +got):\n%s", d)
			}
		})
	}
}

// TestListJobsManyStates checks that a list naming several states (squeue
// -t all names every state) lists each job once, in ID order, whatever the
// order and repetitions of the states.
func TestListJobsManyStates(t *testing.T) {
	st := listState(t)
	for _, tc := range []struct {
		query string
		want  []api.JobID
	}{
		{"state=CANCELLED,PENDING&all=1", []api.JobID{1, 2, 3, 4, 5}},
		{"state=CANCELLED,PENDING,RUNNING,PENDING,COMPLETED,FAILED,TIMEOUT,NODE_FAIL,PREEMPTED,OUT_OF_MEMORY,REQUEUED&all=1",
			[]api.JobID{1, 2, 3, 4, 5}},
		{"state=CANCELLED,RUNNING&all=1", []api.JobID{2}},
		{"state=CANCELLED,PENDING&all=1&user=ann", []api.JobID{1, 2}},
		{"state=CANCELLED,PENDING&all=1&user=ann,bob", []api.JobID{1, 2, 3, 4}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			f, err := parseJobFilter(httptest.NewRequest("GET", "/v1/jobs?"+tc.query, nil))
			if err != nil {
				t.Fatal(err)
			}
			got := []api.JobID{}
			for _, j := range listJobs(st, f) {
				got = append(got, j.ID)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("jobs listed (-want +got):\n%s", d)
			}
		})
	}
}
