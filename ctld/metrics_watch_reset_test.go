package ctld

import (
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestPassWatchReset: after sdiag -r the pass figures sdiag shows count
// from the reset (cycles, mean and max cycle, depths, queue lengths, the
// jobs backfilled since the reset) while the backfilled jobs since the
// start and the Prometheus counters go on.
func TestPassWatchReset(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	w := &passWatch{}
	w.lead(t0)
	pass := func(at time.Time, d time.Duration, tested, bf, bfStarts, pending int) {
		w.record(api.PassStats{Tested: tested, BackfillTested: bf, BackfillStarts: bfStarts, Pending: pending}, d, at)
	}
	pass(t0.Add(time.Second), 8*time.Millisecond, 10, 4, 3, 20)
	pass(t0.Add(2*time.Second), 2*time.Millisecond, 6, 2, 1, 10)
	w.reset(t0.Add(time.Minute))
	pass(t0.Add(61*time.Second), 4*time.Millisecond, 2, 1, 1, 4)
	got, since := w.diag(t0.Add(62 * time.Second))
	want := api.DiagSched{Cycles: 1, LastCycleUsec: 4000, MaxCycleUsec: 4000, MeanCycleUsec: 4000,
		LastCycleAt: t0.Add(61 * time.Second).Unix(), CyclesPerMin: 2, // a rate over the last minute, not a counter
		LastDepth: 2, MeanDepth: 2, LastBfDepth: 1, MeanBfDepth: 1, LastQueueLen: 4, MeanQueueLen: 4,
		Backfilled: 5, BackfilledSinceReset: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sdiag's figures after the reset (-want +got):\n%s", diff)
	}
	if !since.Equal(t0.Add(time.Minute)) {
		t.Errorf("data since %v, want the reset's time %v", since, t0.Add(time.Minute))
	}
	if w.passes != 3 || w.bfStarts != 5 {
		t.Errorf("Prometheus counters: %d passes, %d backfill starts; want 3 and 5 (never reset)", w.passes, w.bfStarts)
	}
}
