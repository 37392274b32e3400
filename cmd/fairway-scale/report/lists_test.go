package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestListCommandMedianMin(t *testing.T) {
	for _, tc := range []struct {
		walls         []float64
		median, least float64
	}{
		{nil, 0, 0},
		{[]float64{0.3}, 0.3, 0.3},
		{[]float64{0.5, 0.1, 0.3}, 0.3, 0.1},
		{[]float64{0.4, 0.1, 0.3, 0.2}, 0.25, 0.1},
	} {
		c := ListCommand{Walls: tc.walls}
		if got := c.Median(); got < tc.median-1e-9 || got > tc.median+1e-9 {
			t.Errorf("Median(%v) = %g, want %g", tc.walls, got, tc.median)
		}
		if got := c.Min(); got != tc.least {
			t.Errorf("Min(%v) = %g, want %g", tc.walls, got, tc.least)
		}
	}
	// Median must not reorder the walls the report keeps in run order.
	c := ListCommand{Walls: []float64{0.5, 0.1, 0.3}}
	c.Median()
	if diff := cmp.Diff([]float64{0.5, 0.1, 0.3}, c.Walls); diff != "" {
		t.Errorf("walls after Median (-want +got):\n%s", diff)
	}
}

func listsFixture() *Lists {
	return &Lists{Machine: "2 CPUs", Params: map[string]string{"runs": "3"}, Sizes: []ListSize{
		{Jobs: 20_000, BuildSecs: 1, WriteSecs: 0.5, SnapshotBytes: 16_000_000, FirstStartSecs: 1.5, RestartReadableSecs: 1.2,
			RestartLeaderSecs: 1.1, RaftDBBytes: 64_000, RSSRestartMB: 200, RSSEndMB: 250, Commands: []ListCommand{
				{Command: "squeue", Lines: 10_801, Walls: []float64{0.2, 0.1, 0.3}},
				{Command: "squeue -t all -u alice", Lines: 101, Walls: []float64{0.02}},
			}},
		{Jobs: 200_000, BuildSecs: 10, WriteSecs: 5, SnapshotBytes: 160_000_000, FirstStartSecs: 12, RestartReadableSecs: 12,
			RestartLeaderSecs: 11, RaftDBBytes: 64_000, RSSRestartMB: 2000, RSSEndMB: 2500, Commands: []ListCommand{
				{Command: "squeue", Lines: 108_001, Walls: []float64{2, 1, 3}},
				{Command: "squeue -t all -u alice", Err: "exit status 1: timeout"},
				{Command: "sacct -a", Lines: 5, Walls: []float64{0.5}, Failed: 1, Err: "deadline"},
			}},
	}}
}

func TestListsTable(t *testing.T) {
	want := [][]string{
		{"figure", "20000 jobs", "200000 jobs", "200000 / 20000"},
		{"`squeue` median (min; lines)", "0.200 s (0.100 s; 10801)", "2.000 s (1.000 s; 108001)", "10.0x"},
		{"`squeue -t all -u alice` median (min; lines)", "0.020 s (0.020 s; 101)", "failed: exit status 1: timeout", "-"},
		{"`sacct -a` median (min; lines)", "-", "0.500 s (0.500 s; 5); 1 of 2 runs failed: deadline", "-"},
		{"restart: until it serves `GET /v1/jobs/1`", "1.200 s", "12.000 s", "10.0x"},
		{"restart: until it leads", "1.100 s", "11.000 s", "10.0x"},
		{"first start on the written snapshot: until it leads", "1.500 s", "12.000 s", "8.0x"},
		{"snapshot (state.bin)", "16.0 MB", "160.0 MB", "10.0x"},
		{"raft.db at the restart", "0.1 MB", "0.1 MB", "1.0x"},
		{"controller RSS after the restart", "200.0 MB", "2000.0 MB", "10.0x"},
		{"controller RSS after the commands", "250.0 MB", "2500.0 MB", "10.0x"},
		{"harness: build the state / write the snapshot", "1.50 s", "15.00 s", "10.0x"},
	}
	if diff := cmp.Diff(want, ListsTable(listsFixture())); diff != "" {
		t.Errorf("ListsTable (-want +got):\n%s", diff)
	}
	one := &Lists{Sizes: listsFixture().Sizes[:1]}
	if got := ListsTable(one)[0]; len(got) != 2 {
		t.Errorf("one size: header %q, want no ratio column", got)
	}
}

func TestListsMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := listsFixture().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| figure | 20000 jobs | 200000 jobs | 200000 / 20000 |\n| --- | --- | --- | --- |\n",
		"- runs: 3\n", "| `squeue` median (min; lines) | 0.200 s (0.100 s; 10801) |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}
