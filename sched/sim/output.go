package sim

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// Output file names in a run's directory.
const (
	JobsFile       = "jobs.csv"
	SummaryFile    = "summary.json"
	ScheduleFile   = "schedule.swf"
	TimeSeriesFile = "timeseries.csv"
)

// JobColumns are the per-job CSV columns: Batsim's, then Fairway's.
var JobColumns = []string{"job_id", "submission_time", "requested_number_of_resources", "requested_time",
	"starting_time", "execution_time", "finish_time", "waiting_time", "turnaround_time", "stretch",
	"account", "gpus", "bounded_slowdown", "backfilled", "preemptions", "user", "final_state", "lost_secs"}

// WriteJobsCSV writes one line per job: its trace ID, times in trace
// seconds (starting_time is the first start, finish_time the final end,
// execution_time = finish - start as Batsim has it, stretch = turnaround /
// execution), the resources it asked for (GPUs on a GPU cluster, else
// processors) and Fairway's columns.
func WriteJobsCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(JobColumns); err != nil {
		return fmt.Errorf("write jobs csv: %w", err)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for i := range res.Jobs {
		j := &res.Jobs[i]
		reqRes := j.Trace.Procs
		if res.GPUCluster {
			reqRes = j.Trace.GPUs
		}
		limit := j.Limit
		if api.Unlimited(limit) {
			limit = -1
		}
		exec := j.End - j.Start
		stretch := 0.0
		if exec > 0 {
			stretch = float64(j.Turnaround()) / float64(exec)
		}
		rec := []string{i64(j.Trace.ID), i64(j.Trace.Submit), strconv.Itoa(reqRes), i64(limit),
			i64(j.Start), i64(exec), i64(j.End), i64(j.Wait()), i64(j.Turnaround()), f(stretch),
			j.Account, strconv.Itoa(j.GPUs), f(j.BoundedSlowdown(BoundedSlowdownTau)), strconv.FormatBool(j.Backfilled),
			strconv.Itoa(j.Preemptions), j.User, string(j.State), i64(j.LostSecs)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write jobs csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write jobs csv: %w", err)
	}
	return nil
}

// WriteTimeSeriesCSV writes the samples: time, resources in use, pending
// jobs, and what each account holds.
func WriteTimeSeriesCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	head := []string{"time", "cpus_used", "gpus_used", "pending"}
	for _, a := range res.Accounts {
		head = append(head, "acct:"+a)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("write time series: %w", err)
	}
	for _, s := range res.Samples {
		rec := []string{strconv.FormatInt(s.Time, 10), strconv.Itoa(s.CPUs), strconv.Itoa(s.GPUs), strconv.Itoa(s.Pending)}
		for _, v := range s.ByAccount {
			rec = append(rec, strconv.Itoa(v))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write time series: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write time series: %w", err)
	}
	return nil
}

// WriteScheduleSWF writes the simulated schedule as SWF: the trace's header
// comments (the site's notice) and a note on the replay, then one line per
// job with the simulated wait, the trace run time and the processors (or
// GPUs) it held. Status is 1 for completed jobs and 0 otherwise.
func WriteScheduleSWF(w io.Writer, res *Result, header []string) error {
	h := append([]string{}, header...)
	h = append(h, fmt.Sprintf(" Fairway sim: schedule of policy %q, %d jobs; wait = simulated wait, run = trace run time, procs = resources held (%s)",
		res.Policy, len(res.Jobs), map[bool]string{true: "GPUs", false: "CPUs"}[res.GPUCluster]))
	recs := make([]trace.SWFRecord, 0, len(res.Jobs))
	for i := range res.Jobs {
		j := &res.Jobs[i]
		procs := j.CPUs
		req := j.Trace.Procs
		if res.GPUCluster {
			procs, req = j.GPUs, j.Trace.GPUs
		}
		status := 0
		if j.State == api.JobCompleted {
			status = 1
		}
		limit := j.Limit
		if api.Unlimited(limit) {
			limit = -1
		}
		user, _ := strconv.ParseInt(strings.TrimPrefix(j.User, "u"), 10, 64)
		group, _ := strconv.ParseInt(j.Trace.Group, 10, 64)
		if user == 0 {
			user = -1
		}
		if group == 0 {
			group = -1
		}
		recs = append(recs, trace.SWFRecord{Job: j.Trace.ID, Submit: j.Trace.Submit, Wait: j.Wait(), Run: j.Trace.Run,
			Procs: procs, ReqProcs: req, ReqTime: limit, Status: status, User: user, Group: group, Queue: -1, Part: -1})
	}
	return trace.WriteSWF(w, h, recs)
}

// WriteSummary writes summary.json.
func WriteSummary(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// ReadSummary reads DIR/summary.json.
func ReadSummary(dir string) (Summary, error) {
	var s Summary
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return s, fmt.Errorf("read summary: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read summary %s: %w", dir, err)
	}
	return s, nil
}

// WriteRun writes every output of a run into dir (created if needed):
// jobs.csv, timeseries.csv, schedule.swf and summary.json (and
// estimates.csv when estimates were made).
func WriteRun(dir string, res *Result, s Summary, swfHeader []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{JobsFile, func(w io.Writer) error { return WriteJobsCSV(w, res) }},
		{TimeSeriesFile, func(w io.Writer) error { return WriteTimeSeriesCSV(w, res) }},
		{ScheduleFile, func(w io.Writer) error { return WriteScheduleSWF(w, res, swfHeader) }},
		{SummaryFile, func(w io.Writer) error { return WriteSummary(w, s) }},
	}
	if len(res.Estimates) > 0 {
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{EstimatesFile, func(w io.Writer) error { return WriteEstimatesCSV(w, res) }})
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return bw.Flush()
}

// CompareRow is one run in a comparison.
type CompareRow struct {
	Dir     string
	Summary Summary
}

// WriteCompare prints a side-by-side table of runs: one column per run,
// one row per measure.
func WriteCompare(w io.Writer, runs []CompareRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, cell func(s *Summary) string) {
		fmt.Fprint(tw, name+"\t")
		for i := range runs {
			fmt.Fprint(tw, cell(&runs[i].Summary)+"\t")
		}
		fmt.Fprintln(tw)
	}
	f0 := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	f3 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	fmt.Fprint(tw, "run\t")
	for _, r := range runs {
		fmt.Fprint(tw, filepath.Base(filepath.Clean(r.Dir))+"\t")
	}
	fmt.Fprintln(tw)
	row("policy", func(s *Summary) string { return s.Policy })
	row("jobs", func(s *Summary) string { return strconv.Itoa(s.Jobs) })
	row("mean wait (s)", func(s *Summary) string { return f0(s.WaitSecs.Mean) })
	row("median wait (s)", func(s *Summary) string { return f0(s.WaitSecs.Median) })
	row("p95 wait (s)", func(s *Summary) string { return f0(s.WaitSecs.P95) })
	row("mean turnaround (s)", func(s *Summary) string { return f0(s.TurnaroundSecs.Mean) })
	row("mean bounded slowdown", func(s *Summary) string { return f2(s.BoundedSlowdown.Mean) })
	row("p95 bounded slowdown", func(s *Summary) string { return f2(s.BoundedSlowdown.P95) })
	row("utilization", func(s *Summary) string { return f3(s.Utilization) })
	row("utilization (arrivals)", func(s *Summary) string { return f3(s.ArrivalUtilization) })
	row("useful utilization", func(s *Summary) string { return f3(s.UsefulUtilization) })
	row("makespan (s)", func(s *Summary) string { return strconv.FormatInt(s.Makespan, 10) })
	row("backfilled jobs", func(s *Summary) string { return strconv.Itoa(s.Backfilled) })
	row("preemptions", func(s *Summary) string { return strconv.Itoa(s.Preemptions) })
	row("lost resource-hours", func(s *Summary) string { return f2(s.LostHours) })
	row("guarantee shortfall (h)", func(s *Summary) string { return f2(s.ShortfallHours) })
	row("Jain (usage/share)", func(s *Summary) string {
		if s.JainUsageOverShare == 0 {
			return "-"
		}
		return f3(s.JainUsageOverShare)
	})
	row("Jain (account bsld)", func(s *Summary) string { return f3(s.JainSlowdown) })
	row("sim events/s", func(s *Summary) string { return f0(s.Sim.EventsPerSec) })
	row("mean pass (µs)", func(s *Summary) string { return f0(s.Sim.PassMicros) })
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteCompareMarkdown prints the runs as a Markdown table, one row per
// run: the numbers the README's tables show.
func WriteCompareMarkdown(w io.Writer, runs []CompareRow) error {
	gpu := false
	for _, r := range runs {
		gpu = gpu || r.Summary.Resource == "gpu"
	}
	head := "| trace | policy | jobs | mean wait (s) | p95 wait (s) | mean bounded slowdown | utilization |"
	sep := "|---|---|---:|---:|---:|---:|---:|"
	if gpu {
		head += " utilization while jobs arrive | preemptions | GPU-h lost | guarantee shortfall (GPU-h) | Jain (account bsld) |"
		sep += "---:|---:|---:|---:|---:|"
	}
	var b strings.Builder
	b.WriteString(head + "\n" + sep + "\n")
	for _, r := range runs {
		s := r.Summary
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.0f | %.2f | %.3f |", s.Trace, filepath.Base(filepath.Clean(r.Dir)), s.Jobs,
			s.WaitSecs.Mean, s.WaitSecs.P95, s.BoundedSlowdown.Mean, s.Utilization)
		if gpu {
			fmt.Fprintf(&b, " %.3f | %d | %.1f | %.1f | %.3f |", s.ArrivalUtilization, s.Preemptions, s.LostHours, s.ShortfallHours, s.JainSlowdown)
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
