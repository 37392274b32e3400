package raftstore

import (
	"context"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

// BenchmarkSubmitApply measures committed single-job submissions per second
// on a single-voter store, with many concurrent callers (their entries are
// batched into shared raft appends and fsyncs).
func BenchmarkSubmitApply(b *testing.B) {
	ctx := testCtx(b)
	s := open(b, Config{ID: "bench", RaftAddr: freeAddrs(b, 1)[0], DataDir: b.TempDir(), Bootstrap: true})
	waitLeaderAmong(ctx, b, []*Store{s})
	cmd := SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("bench")}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Apply(context.Background(), cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if got := len(s.State().Jobs()); got < b.N {
		b.Fatalf("%d jobs in the state after %d submissions", got, b.N)
	}
}
