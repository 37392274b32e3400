package history

import (
	"context"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// Sampler measures on a ticker and adds each measurement to a History.
type Sampler struct {
	// History receives the measurements.
	History *History
	// Interval is the time between two measurements.
	Interval time.Duration
	// Clock is the time measurements are taken at (time.Now when nil).
	Clock func() time.Time
	// Measure takes one measurement at now; ok false skips it (the state
	// is not readable yet).
	Measure func(now time.Time) (p api.HistoryPoint, ok bool)
	// After, when set, runs after each measurement with its time (the
	// controller evaluates its alerts on the same ticker).
	After func(now time.Time)
}

// Run measures at once and then every Interval until ctx is done.
func (s *Sampler) Run(ctx context.Context) {
	clock := s.Clock
	if clock == nil {
		clock = time.Now
	}
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	for {
		s.SampleAt(clock())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SampleAt takes one measurement at now.
func (s *Sampler) SampleAt(now time.Time) {
	if p, ok := s.Measure(now); ok {
		s.History.Add(p)
	}
	if s.After != nil {
		s.After(now)
	}
}
