package ctld_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// BenchmarkSubmitHTTP measures job submission through the whole write path:
// 16 concurrent clients, one job per request, over HTTP into a real
// single-node controller whose raft log is on disk (b.TempDir). It reports
// jobs/s and the p50 and p99 request latency.
func BenchmarkSubmitHTTP(b *testing.B) {
	const clients = 16
	ctl, _ := startController(b, func(cfg *ctld.Config) { cfg.SchedInterval = ctld.DefaultSchedInterval })
	cls := make([]*client.Client, clients)
	for i := range cls {
		cls[i] = client.New(ctl.Addr())
	}
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := spec("bench")
	// Warm up connections and the first raft entries.
	for _, cl := range cls {
		if _, err := cl.Submit(c, s); err != nil {
			b.Fatalf("warm-up submit: %v", err)
		}
	}

	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := cls[i].Submit(c, s); err != nil {
					b.Errorf("submit: %v", err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
