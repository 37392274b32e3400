package sim

import (
	"context"
	"os"
	"testing"

	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// kthJobs reads the KTH-SP2 log of testdata as `fairway sim` does.
func kthJobs(tb testing.TB) ([]trace.Job, trace.Machine) {
	tb.Helper()
	f, err := os.Open("testdata/KTH-SP2.predictsim-filtered.swf")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tr, err := trace.ReadSWF(f, trace.SWFOptions{CapRunAtRequested: true})
	if err != nil {
		tb.Fatal(err)
	}
	jobs, _ := trace.Filter(tr.Jobs, tr.Machine, trace.FilterOptions{NeedRequested: true})
	return jobs, tr.Machine
}

// BenchmarkReplayKTH replays the whole KTH-SP2 log (28,481 jobs, 100
// processors) with each policy; fcfs (no backfill: the cheapest pass per
// job, but the longest queue) is the baseline measured in the same run. It
// reports events per second of wall time and the mean time of one
// scheduling pass.
func BenchmarkReplayKTH(b *testing.B) {
	jobs, m := kthJobs(b)
	for _, policy := range []string{PolicyFCFS, PolicyEASY, PolicyConservative, PolicyFairway} {
		b.Run(policy, func(b *testing.B) {
			var res *Result
			for b.Loop() {
				var err error
				res, err = Run(context.Background(), Options{Jobs: jobs, Cluster: Pool(m), Policy: policy})
				if err != nil {
					b.Fatal(err)
				}
			}
			st := res.Stats
			b.ReportMetric(float64(st.Events)/st.Wall.Seconds(), "events/s")
			b.ReportMetric(float64(st.PassTime.Microseconds())/float64(st.Passes), "µs/pass")
			b.ReportMetric(float64(st.Passes), "passes")
			b.ReportMetric(float64(st.MaxPending), "max-queue")
		})
	}
}

// TestReplayKTHFast replays KTH-SP2 with EASY (skipped with -short): all
// 28,481 jobs run, none dropped.
func TestReplayKTHFast(t *testing.T) {
	if testing.Short() {
		t.Skip("full-trace replay; run without -short")
	}
	jobs, m := kthJobs(t)
	res, err := Run(context.Background(), Options{Jobs: jobs, Cluster: Pool(m), Policy: PolicyEASY})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 28481 || len(res.Dropped) > 0 || len(res.Errors) > 0 {
		t.Fatalf("%d jobs ran, dropped %v, errors %v", len(res.Jobs), res.Dropped, res.Errors[:min(len(res.Errors), 3)])
	}
	s := Summarize(res)
	t.Logf("KTH-SP2 EASY: %d events in %.1f s (%.0f events/s), %.0f µs/pass; mean wait %.0f s, bsld %.2f, utilization %.3f",
		s.Sim.Events, s.Sim.WallSecs, s.Sim.EventsPerSec, s.Sim.PassMicros, s.WaitSecs.Mean, s.BoundedSlowdown.Mean, s.Utilization)
}
