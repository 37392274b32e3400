package raftstore_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// BenchmarkRestart measures issue 15's restart: a controller whose raft
// directory holds a state of N jobs (bigstate's mix: 45% finished, 1%
// running, the rest pending, with scripts and environments) in a snapshot
// plus the log after it is opened again, and the time until it serves
// reads (Ready: the snapshot restored, the log replayed, leadership and the
// barrier passed, as a lone voter) is the time per operation. It reports
// the snapshot's size and how long taking it took. The state without jobs
// (the same 1,000 nodes) is the baseline: most of its time is the lone
// voter's election.
//
//	go test ./raftstore -run '^$' -bench BenchmarkRestart -benchtime 3x
func BenchmarkRestart(b *testing.B) {
	for _, n := range []int{0, 20_000, 200_000} {
		b.Run(itoaK(n), func(b *testing.B) { benchRestart(b, n) })
	}
}

func itoaK(n int) string {
	return map[int]string{0: "0-jobs", 20_000: "20k", 200_000: "200k"}[n]
}

func benchRestart(b *testing.B, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := raftstore.Config{ID: "solo", RaftAddr: addr, DataDir: dir, Bootstrap: true, Logger: quiet}
	openReady := func() *raftstore.Store {
		s, err := raftstore.Open(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		for !s.Ready() {
			if ctx.Err() != nil {
				b.Fatalf("store not ready: %s", s.ReadyReason())
			}
			time.Sleep(time.Millisecond)
		}
		return s
	}

	s := openReady()
	apply := func(cmd raftstore.Command) (raftstore.ApplyResult, error) { return s.Apply(ctx, cmd) }
	if err := bigstate.Apply(bigstate.Default(n), apply); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := s.SnapshotNow(); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	snapBytes := dirSize(b, filepath.Join(dir, "snapshots"))

	b.ResetTimer()
	for range b.N {
		s := openReady()
		b.StopTimer()
		if got := len(s.State().Jobs()); got != n {
			b.Fatalf("restarted with %d jobs, want %d", got, n)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(snapBytes)/1e6, "snapshot-MB")
	b.ReportMetric(took.Seconds(), "snapshot-take-s")
}

// dirSize is the size of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
