package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p, want float64
	}{{0, 1}, {50, 5.5}, {90, 9.1}, {99, 9.91}, {100, 10}} {
		if got := Percentile(s, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Percentile(1..10, %g) = %g, want %g", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %g, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize([]float64{4, 1, 3, 2})
	want := Summary{Count: 4, Mean: 2.5, P50: 2.5, P90: 3.7, P99: 3.97, Max: 4}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("Summarize (-want +got):\n%s", d)
	}
	if d := cmp.Diff(Summary{}, Summarize(nil)); d != "" {
		t.Errorf("Summarize(nil) (-want +got):\n%s", d)
	}
}

func TestHistogramQuantile(t *testing.T) {
	b := []Bucket{{0.1, 10}, {1, 60}, {10, 100}, {math.Inf(1), 100}}
	for _, tc := range []struct {
		q, want float64
	}{
		{0.05, 0.05}, // inside the first bucket, from 0
		{0.5, 0.82},  // 50th of 100: 40 of the 50 in (0.1, 1]
		{0.99, 9.775},
	} {
		if got := HistogramQuantile(tc.q, b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("HistogramQuantile(%g) = %g, want %g", tc.q, got, tc.want)
		}
	}
	inf := []Bucket{{1, 1}, {math.Inf(1), 10}}
	if got := HistogramQuantile(0.99, inf); got != 1 {
		t.Errorf("quantile in the +Inf bucket = %g, want the highest finite bound 1", got)
	}
	if got := HistogramQuantile(0.5, []Bucket{{1, 0}, {math.Inf(1), 0}}); !math.IsNaN(got) {
		t.Errorf("quantile of no observations = %g, want NaN", got)
	}
}

func TestSubtractBuckets(t *testing.T) {
	got := SubtractBuckets([]Bucket{{1, 5}, {2, 9}}, []Bucket{{1, 2}})
	if d := cmp.Diff([]Bucket{{1, 3}, {2, 9}}, got); d != "" {
		t.Errorf("SubtractBuckets (-want +got):\n%s", d)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP fairway_raft_apply_duration_seconds x
# TYPE fairway_raft_apply_duration_seconds histogram
fairway_raft_apply_duration_seconds_bucket{command="SubmitJobs",le="0.001"} 3
fairway_raft_apply_duration_seconds_bucket{command="SubmitJobs",le="+Inf"} 5
fairway_raft_apply_duration_seconds_bucket{command="JobEvents",le="0.001"} 1
fairway_raft_apply_duration_seconds_bucket{command="JobEvents",le="+Inf"} 1
fairway_raft_apply_duration_seconds_count{command="SubmitJobs"} 5
fairway_blocking_query_wakeups_total 42
fairway_x{a="b,c",d="e"} 1.5e3
`
	s, err := ParseMetrics(text)
	if err != nil {
		t.Fatal(err)
	}
	if got := Value(s, "fairway_blocking_query_wakeups_total", nil); got != 42 {
		t.Errorf("counter = %g, want 42", got)
	}
	if got := Value(s, "fairway_x", map[string]string{"a": "b,c", "d": "e"}); got != 1500 {
		t.Errorf("series with a comma in a label = %g, want 1500", got)
	}
	got := Buckets(s, "fairway_raft_apply_duration_seconds", map[string]string{"command": "SubmitJobs"})
	want := []Bucket{{0.001, 3}, {math.Inf(1), 5}}
	sortB := cmpopts.SortSlices(func(a, b Bucket) bool { return a.UpperBound < b.UpperBound })
	if d := cmp.Diff(want, got, sortB); d != "" {
		t.Errorf("Buckets (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"SubmitJobs", "JobEvents"}, LabelValues(s, "fairway_raft_apply_duration_seconds_bucket", "command")); d != "" {
		t.Errorf("LabelValues (-want +got):\n%s", d)
	}
	if _, err := ParseMetrics("fairway_y{a=\"b\"} notanumber\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad value: err = %v, want one naming line 1", err)
	}
}

func TestPassBands(t *testing.T) {
	got := PassBands([]float64{0.1, 0.2, 0.3, 1, 2}, []int{5, 500, 20_000, 150_000, 100_000})
	want := []BandRow{
		{Band: "0-999", Passes: 2, P50: 0.15, P99: 0.199},
		{Band: "10000-49999", Passes: 1, P50: 0.3, P99: 0.3},
		{Band: ">=100000", Passes: 2, P50: 1.5, P99: 1.99},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("PassBands (-want +got):\n%s", d)
	}
}

func TestRoutes(t *testing.T) {
	r := NewRoutes()
	r.Observe("GET /a", time.Second, nil)
	r.Observe("GET /a", 3*time.Second, errTest)
	r.Observe("POST /b", time.Second, nil)
	got := r.Table(2)
	want := []RouteRow{
		{Route: "GET /a", Requests: 2, Errors: 1, PerSec: 1, Latency: Summarize([]float64{1, 3})},
		{Route: "POST /b", Requests: 1, PerSec: 0.5, Latency: Summarize([]float64{1})},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Table (-want +got):\n%s", d)
	}
}

type testErr struct{}

func (testErr) Error() string { return "test" }

var errTest = testErr{}

func TestMarkdownShowsTheFigures(t *testing.T) {
	r := &Report{Params: map[string]string{"nodes": "20"}, SubmittedJobs: 200, SubmitRequests: 130,
		SubmitToStart: Summary{Count: 200, P50: 0.06, P99: 3.6}, BusyFraction: 0.912, BusyOfUsable: 0.987,
		Squeue:   []SqueueRow{{When: "end", Command: "squeue -t all -o '%i %t'", JobsHeld: 200, Lines: 201, WallSecs: 0.04}},
		Failover: &FailoverRow{Killed: "ctl3", NewLeader: "ctl1", NewLeaderSecs: 0.85}}
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| nodes | 20 |", "| jobs submitted | 200 in 130 requests", "p50 0.06 s, p99 3.60 s (200)",
		"91.2%", "| GPU-time held / GPU-time usable (held + asked by waiting jobs, at most all) | 98.7% |", "| end | `squeue -t all -o '%i %t'` | 200 | 201 | 0.04 s |", "| new leader | ctl1 after 0.85 s |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}
