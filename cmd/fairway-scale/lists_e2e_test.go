//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/cmd/fairway-scale/report"
)

// TestListsSmoke runs -mode lists small (2,000 jobs, 2 runs of each
// command) so that it cannot rot: the controller starts on the written
// snapshot with its jobs, is restarted and serves them again, and every
// command lists what the state holds. No figure is asserted.
func TestListsSmoke(t *testing.T) {
	fairwayd, fairway := buildBinaries(t)

	out := t.TempDir()
	o, err := parseFlags([]string{"-mode", "lists", "-list-jobs", "2000", "-list-runs", "2",
		"-fairwayd", fairwayd, "-fairway", fairway,
		"-dir", t.TempDir(), "-out", out, "-ip-prefix", "127.77.17", "-max-run", "2m", "-failover-wait", "1m"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := mainLists(ctx, o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		t.Fatalf("lists: %v", err)
	}
	rep, err := os.ReadFile(filepath.Join(out, "lists.json"))
	if err != nil {
		t.Fatal(err)
	}
	lists := readListsReport(t, rep)
	if len(lists.Sizes) != 1 {
		t.Fatalf("%d sizes reported, want 1", len(lists.Sizes))
	}
	s := lists.Sizes[0]
	if s.Err != "" || s.SnapshotBytes == 0 || s.RestartReadableSecs == 0 || s.RestartLeaderSecs == 0 {
		t.Errorf("size: %+v", s)
	}
	// bigstate.Default(2000): 900 finished, 20 running, 1,080 pending, 100
	// of the probe user's (news); sacct lists a job and its batch step for
	// each finished job, the job alone for the others, under 2 header lines.
	want := map[string]int{
		"squeue":                               1 + 1_100,
		"squeue -t all -o '%i %t'":             1 + 2_000,
		"squeue -t all -u news":                1 + 100,
		"sacct -a -S 2027-01-14 -E 2027-01-17": 2 + 2*900 + 1_100,
	}
	got := map[string]int{}
	for _, c := range s.Commands {
		if c.Err != "" {
			t.Errorf("%s: %s", c.Command, c.Err)
		}
		if len(c.Walls) != 2 {
			t.Errorf("%s: %d runs timed, want 2", c.Command, len(c.Walls))
		}
		got[c.Command] = c.Lines
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("lines of output (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(out, "lists.md")); err != nil {
		t.Error(err)
	}
}

// readListsReport decodes lists.json.
func readListsReport(t *testing.T, data []byte) report.Lists {
	t.Helper()
	var l report.Lists
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("lists.json: %v", err)
	}
	return l
}
