package rlcompat

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/sched/sim/trace"
	"github.com/google/go-cmp/cmp"
)

// TestLublinTable reproduces the RLScheduler (SC'20) table on Lublin-1 to
// the digits the paper prints: average bounded slowdown and utilization of
// FCFS and SJF, without and with backfilling.
func TestLublinTable(t *testing.T) {
	f, err := os.Open("../testdata/lublin_256.swf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ BSLD, Util string }
	want := map[string]row{
		"FCFS":          {"7273.77", "0.657"},
		"SJF":           {"277.35", "0.762"},
		"FCFS+backfill": {"235.82", "0.868"},
		"SJF+backfill":  {"73.31", "0.778"},
	}
	got := map[string]row{}
	for _, bf := range []bool{false, true} {
		for _, p := range []string{FCFS, SJF} {
			r, err := Run(tr, p, bf)
			if err != nil {
				t.Fatal(err)
			}
			got[r.Name()] = row{fmt.Sprintf("%.2f", r.BoundedSlowdown), fmt.Sprintf("%.3f", r.Utilization)}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RLScheduler table (-paper +replay):\n%s", diff)
	}
}

// TestHeadStaysHead checks the protocol's head-of-line rule on a tiny
// machine: with SJF and no backfilling, a short job that arrives while the
// long head waits does not overtake it.
func TestHeadStaysHead(t *testing.T) {
	jobs := []trace.Job{
		{ID: 1, Submit: 0, Run: 100, Requested: 100, Procs: 2}, // fills the machine
		{ID: 2, Submit: 1, Run: 500, Requested: 500, Procs: 2}, // the head from t=1
		{ID: 3, Submit: 2, Run: 10, Requested: 10, Procs: 1},   // shorter, arrives later
	}
	m := trace.Machine{Nodes: 2, CPUsPerNode: 1}
	tests := []struct {
		policy   string
		backfill bool
		want     []int64
	}{
		{SJF, false, []int64{0, 100, 600}},
		{FCFS, false, []int64{0, 100, 600}},
		// With backfilling job 3 would end (12) before the head's
		// earliest start (100) but finds no free node at 2; it runs
		// after the head.
		{SJF, true, []int64{0, 100, 600}},
	}
	for _, tc := range tests {
		w, err := RunWindow(jobs, m, tc.policy, tc.backfill)
		if err != nil {
			t.Fatal(err)
		}
		var starts []int64
		for _, j := range w.Jobs {
			starts = append(starts, j.Start)
		}
		if diff := cmp.Diff(tc.want, starts); diff != "" {
			t.Errorf("%s backfill=%v starts (-want +got):\n%s", tc.policy, tc.backfill, diff)
		}
	}
}

// TestRestrictedBackfill: a job is backfilled only if it ends strictly
// before the head's earliest start, even where it would fit beside the
// head (no extra-nodes rule).
func TestRestrictedBackfill(t *testing.T) {
	m := trace.Machine{Nodes: 4, CPUsPerNode: 1}
	base := []trace.Job{
		{ID: 1, Submit: 0, Run: 100, Requested: 100, Procs: 2}, // 2 of 4 nodes until 100
		{ID: 2, Submit: 1, Run: 50, Requested: 50, Procs: 3},   // head: earliest start 100
	}
	tests := []struct {
		name string
		job  trace.Job
		want int64
	}{
		{"ends before the head starts", trace.Job{ID: 3, Submit: 2, Run: 97, Requested: 97, Procs: 1}, 2},
		{"ends exactly when the head starts", trace.Job{ID: 3, Submit: 2, Run: 98, Requested: 98, Procs: 1}, 100},
		{"would fit on the extra node but ends later", trace.Job{ID: 3, Submit: 2, Run: 500, Requested: 500, Procs: 1}, 100},
	}
	for _, tc := range tests {
		w, err := RunWindow(append(base[:2:2], tc.job), m, FCFS, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Jobs[2].Start; got != tc.want {
			t.Errorf("%s: job 3 starts at %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestLoadNeedsMachine(t *testing.T) {
	if _, err := Load(strings.NewReader("1 0 -1 10 1 -1 -1 -1 -1 -1 1 -1 -1 -1 -1 -1 -1 -1\n")); err == nil {
		t.Error("a log without MaxNodes/MaxProcs loaded without error")
	}
}
