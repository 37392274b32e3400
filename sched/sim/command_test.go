package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/sched/sim/trace"
	gocmp "github.com/google/go-cmp/cmp"
)

const smallSWF = `; Acknowledge: a test site
; MaxNodes: 4
; MaxProcs: 4
1  0 -1 100 3 -1 -1 3 100 -1 1 1 1 -1 -1 -1 -1 -1
2  1 -1 100 4 -1 -1 4 100 -1 1 2 1 -1 -1 -1 -1 -1
3  2 -1  50 1 -1 -1 1  50 -1 1 3 1 -1 -1 -1 -1 -1
4  3 -1  10 9 -1 -1 9  50 -1 1 3 1 -1 -1 -1 -1 -1
5  4 -1   0 1 -1 -1 1  50 -1 1 3 1 -1 -1 -1 -1 -1
`

// TestCommandOutputs runs `fairway sim` end to end on a small SWF log and
// checks every output a user reads.
func TestCommandOutputs(t *testing.T) {
	dir := t.TempDir()
	tracePath := filepath.Join(dir, "small.swf")
	if err := os.WriteFile(tracePath, []byte(smallSWF), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, p := range []string{PolicyFCFS, PolicyEASY} {
		out := filepath.Join(dir, p)
		runs = append(runs, out)
		s, _, err := Command{Trace: tracePath, Policy: p, Out: out, Charts: true}.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantFiltered := map[string]map[string]int{
			StageReader:  {trace.ReasonZeroRun: 1},
			StageMachine: {trace.ReasonTooManyProcs: 1},
		}
		if diff := gocmp.Diff(wantFiltered, s.Filtered); diff != "" {
			t.Errorf("%s: filtered (-want +got):\n%s", p, diff)
		}
		if s.Jobs != 3 || s.Resource != "cpu" || s.Capacity != 4 {
			t.Errorf("%s: jobs %d resource %s capacity %d", p, s.Jobs, s.Resource, s.Capacity)
		}
		for _, f := range []string{JobsFile, SummaryFile, ScheduleFile, TimeSeriesFile, UtilizationChart, WaitsChart} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	// jobs.csv: Batsim's columns, then Fairway's; job 3 backfilled under EASY.
	f, err := os.Open(filepath.Join(runs[1], JobsFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(JobColumns, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	wantJob3 := []string{"3", "2", "1", "50", "2", "50", "52", "0", "50", "1.000000", "default", "0", "1.000000", "true", "0", "u3", "COMPLETED", "0"}
	if diff := gocmp.Diff(wantJob3, rows[3]); diff != "" {
		t.Errorf("job 3 (-want +got):\n%s", diff)
	}
	// schedule.swf keeps the site's notice and reads back with the
	// simulated waits.
	b, err := os.ReadFile(filepath.Join(runs[0], ScheduleFile))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadSWF(bytes.NewReader(b), trace.SWFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waits := map[int64]int64{}
	for _, j := range tr.Jobs {
		waits[j.ID] = j.Wait
	}
	if diff := gocmp.Diff(map[int64]int64{1: 0, 2: 99, 3: 198}, waits); diff != "" {
		t.Errorf("FCFS schedule waits (-want +got):\n%s", diff)
	}
	if tr.HeaderFields["Acknowledge"] != "a test site" {
		t.Errorf("schedule.swf lost the site's notice: %q", tr.Header)
	}
	// Charts are real PNGs.
	cf, err := os.Open(filepath.Join(runs[0], UtilizationChart))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(cf)
	cf.Close()
	if err != nil || img.Bounds().Dx() < 400 {
		t.Errorf("utilization chart: %v, bounds %v", err, img.Bounds())
	}
	// compare: one column per run.
	var out bytes.Buffer
	chartsDir := filepath.Join(dir, "cmp")
	if err := Compare(&out, runs, chartsDir, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"policy", "fcfs", "easy", "mean bounded slowdown", "utilization"} {
		if !strings.Contains(text, want) {
			t.Errorf("compare output lacks %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(filepath.Join(chartsDir, WaitsChart)); err != nil {
		t.Error(err)
	}
	out.Reset()
	if err := Compare(&out, runs, "", true); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[2], "| small.swf | fcfs | 3 |") {
		t.Errorf("markdown comparison:\n%s", out.String())
	}
}

// TestPhillyStudySetup: the Philly virtual clusters become accounts with
// guarantees proportional to their node counts that add up to the cluster.
func TestPhillyStudySetup(t *testing.T) {
	accts, err := VCAccounts("testdata/philly-vc-nodes.csv", 1304)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	sum := 0
	for _, a := range accts {
		got[a.Name] = a.Guarantees[PartitionName]
		sum += a.Guarantees[PartitionName]
	}
	if sum != 1304 || len(accts) != 11 {
		t.Fatalf("%d accounts guaranteed %d GPUs, want 11 and 1304", len(accts), sum)
	}
	// 64 of 352 nodes: 237.1 GPUs; 8 of 352: 29.6.
	if got["vc_6214e9"] < 237 || got["vc_6214e9"] > 238 || got["vc_ed69ec"] < 29 || got["vc_ed69ec"] > 30 {
		t.Errorf("guarantees %v", got)
	}
}

func TestSummaryNumbers(t *testing.T) {
	if got := Jain([]float64{1, 1, 1, 1}); got != 1 {
		t.Errorf("Jain(equal) = %v", got)
	}
	if got := Jain([]float64{1, 0, 0, 0}); got != 0.25 {
		t.Errorf("Jain(one takes all) = %v", got)
	}
	d := distOf([]float64{5, 1, 3, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	if diff := gocmp.Diff(Dist{Mean: 10.5, Median: 10, P95: 19, Max: 20}, d); diff != "" {
		t.Errorf("dist (-want +got):\n%s", diff)
	}
	if got := Render("x", 1, 4, 8); got != "x [==      ]  25% 1/4 jobs" {
		t.Errorf("progress bar %q", got)
	}
}
