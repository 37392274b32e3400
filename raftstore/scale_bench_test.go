package raftstore_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkJobMemory reports the heap the state holds per job (bytes/job:
// the live heap after building the jobs, less that of the same state
// without them, over the number of jobs), for 20,000 jobs all PENDING and
// all COMPLETED (one run with its usage). Each iteration builds the state
// anew.
func BenchmarkJobMemory(b *testing.B) {
	const n = 20_000
	for _, bc := range []struct {
		name string
		mix  bigstate.Mix
	}{
		{"pending", bigstate.Mix{Jobs: n, Nodes: 100, Users: 50}},
		{"finished", bigstate.Mix{Jobs: n, Finished: n, Nodes: 100, Users: 50}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var perJob float64
			for b.Loop() {
				empty := bc.mix
				empty.Jobs, empty.Finished = 0, 0
				base, err := bigstate.Build(empty)
				if err != nil {
					b.Fatal(err)
				}
				before := heapInUse()
				full, err := bigstate.Build(bc.mix)
				if err != nil {
					b.Fatal(err)
				}
				after := heapInUse()
				perJob = (float64(after) - float64(before)) / n
				if got := len(full.State().Jobs()); got != n {
					b.Fatalf("%d jobs, want %d", got, n)
				}
				runtime.KeepAlive(base)
				runtime.KeepAlive(full)
			}
			b.ReportMetric(perJob, "bytes/job")
		})
	}
}

// BenchmarkSnapshot200k measures writing and restoring the snapshot of a
// state of 200,000 jobs (bigstate.Default): ns/op is one write or one
// restore; MB is the snapshot's size.
func BenchmarkSnapshot200k(b *testing.B) {
	const n = 200_000
	l, err := bigstate.Build(bigstate.Default(n))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.WriteSnapshot(&buf); err != nil {
		b.Fatal(err)
	}
	size := float64(buf.Len()) / 1e6
	b.Run("write", func(b *testing.B) {
		var out bytes.Buffer
		out.Grow(buf.Len())
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			if err := l.WriteSnapshot(&out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.Len())/1e6, "MB")
	})
	b.Run("restore", func(b *testing.B) {
		r, err := raftstore.NewLocal(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Restore(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
		if got := len(r.State().Jobs()); got != n {
			b.Fatalf("restored %d jobs, want %d", got, n)
		}
		b.ReportMetric(size, "MB")
	})
}

// TestBigState checks the synthetic state the benchmarks measure: its
// jobs in the states and of the users the mix asks for.
func TestBigState(t *testing.T) {
	m := bigstate.Default(10_000)
	l, err := bigstate.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, j := range l.State().Jobs() {
		counts[string(j.State)]++
		if j.Spec.User == m.FocusUser {
			counts["user="+m.FocusUser]++
		}
	}
	want := map[string]int{"COMPLETED": 4500, "RUNNING": 100, "PENDING": 5400, "user=alice": 100}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d jobs, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
}
