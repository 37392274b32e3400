//go:build e2e

package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSmoke runs the harness small (3 controllers, 20 simulated nodes,
// 200 jobs) so that it cannot rot: every job submitted through the API
// starts on a simulated node and ends, squeue answers, and a killed
// leader is replaced and restarted. No figure is asserted.
func TestSmoke(t *testing.T) {
	fairwayd, fairway := buildBinaries(t)

	out := t.TempDir()
	o, err := parseFlags([]string{"-fairwayd", fairwayd, "-fairway", fairway,
		"-dir", t.TempDir(), "-out", out, "-ip-prefix", "127.77.16", "-nodes", "20", "-jobs", "200", "-rate", "50",
		"-mean-runtime", "1s", "-min-runtime", "500ms", "-max-runtime", "3s", "-probe-jobs", "10",
		"-drain", "30s", "-max-run", "90s", "-profile-secs", "2", "-failover-wait", "30s", "-sample-interval", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := run(ctx, o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := writeReport(out, "report", rep); err != nil {
		t.Fatal(err)
	}
	if rep.SubmittedJobs != 200 || rep.FinishedJobs != 200 {
		t.Errorf("submitted %d, finished %d jobs; want 200 and 200", rep.SubmittedJobs, rep.FinishedJobs)
	}
	if rep.SubmitToStart.Count != 200 {
		t.Errorf("submit-to-start measured for %d jobs, want 200", rep.SubmitToStart.Count)
	}
	for _, q := range rep.Squeue {
		if q.Err != "" {
			t.Errorf("%s (%s): %s", q.Command, q.When, q.Err)
		}
		if q.Command == "squeue -t all -u news" && q.Lines != 11 {
			t.Errorf("%s: %d lines, want a header and the probe user's 10 jobs", q.Command, q.Lines)
		}
	}
	if f := rep.Failover; f == nil || f.Err != "" || f.NewLeader == "" || f.NewLeader == f.Killed {
		t.Errorf("failover: %+v", f)
	}
	for _, f := range []string{"report.json", "report.md", "leader-cpu.pprof", "leader-cpu-top.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output: %v", err)
		}
	}
}
