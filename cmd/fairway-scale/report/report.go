package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Report is one scale run's figures.
type Report struct {
	Params  map[string]string `json:"params"`
	Machine string            `json:"machine"`

	// Submission phase.
	SubmittedJobs    int     `json:"submitted_jobs"`      // jobs (array tasks count one each)
	SubmitRequests   int     `json:"submit_requests"`     // POST /v1/jobs answered
	SubmitErrors     int     `json:"submit_errors"`       // POST /v1/jobs refused or failed
	SubmitSecs       float64 `json:"submit_secs"`         // wall time of the submission phase
	SubmitJobsPerSec float64 `json:"submit_jobs_per_sec"` // achieved
	StartedJobs      int     `json:"started_jobs"`
	FinishedJobs     int     `json:"finished_jobs"`
	RunSecs          float64 `json:"run_secs"`
	BusyFraction     float64 `json:"busy_fraction"`    // GPU-seconds held by started jobs / GPUs x window
	BusyWindowSecs   float64 `json:"busy_window_secs"` // from the first start to the end of submission
	// BusyOfUsable is, over the same samples, the GPUs held over the GPUs
	// that could have been held: those held plus those the waiting jobs
	// asked for, at most all. Below 1 the scheduler left GPUs idle that
	// waiting jobs could have used; BusyFraction is lower than it when the
	// submissions did not ask for the whole cluster.
	BusyOfUsable      float64 `json:"busy_of_usable"`
	PeakPending       int     `json:"peak_pending"`
	SubmitToStart     Summary `json:"submit_to_start_seconds"`
	SubmitToStartBusy Summary `json:"submit_to_start_queued_seconds"` // starts while jobs were pending

	SchedPass        Summary     `json:"sched_pass_seconds"`           // from /v1/diag samples (one pass per sample)
	SchedPassHist    HistSummary `json:"sched_pass_histogram_seconds"` // the leader's histogram
	SchedPassByQueue []BandRow   `json:"sched_pass_by_queue"`

	Controllers []ControllerRow `json:"controllers"`
	RaftApply   []CommandRow    `json:"raft_apply"`
	Snapshots   SnapshotRow     `json:"snapshots"`
	Routes      []RouteRow      `json:"routes"`
	Watch       WatchRow        `json:"watch"`
	Memory      MemoryRow       `json:"memory"`
	Squeue      []SqueueRow     `json:"squeue"`
	Failover    *FailoverRow    `json:"failover,omitempty"`
	Series      []Sample        `json:"series"`
	Notes       []string        `json:"notes,omitempty"`
}

// HistSummary are quantiles of a Prometheus histogram.
type HistSummary struct {
	Count float64 `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
}

// BandRow is the scheduler pass time for one band of queue sizes.
type BandRow struct {
	Band   string  `json:"band"`
	Passes int     `json:"passes"`
	P50    float64 `json:"p50_seconds"`
	P99    float64 `json:"p99_seconds"`
}

// ControllerRow is one controller process over the run.
type ControllerRow struct {
	ID          string  `json:"id"`
	Leader      bool    `json:"leader"`   // at the end of the load
	CPUMean     float64 `json:"cpu_mean"` // cores (1.0 = one core busy)
	CPUMax      float64 `json:"cpu_max"`
	RSSMaxMB    float64 `json:"rss_max_mb"`
	RSSEndMB    float64 `json:"rss_end_mb"`
	RaftDBBytes int64   `json:"raft_db_bytes"`
	SnapBytes   int64   `json:"snapshot_bytes"`
}

// CommandRow is one raft command's proposal-to-apply latency on the leader.
type CommandRow struct {
	Command string  `json:"command"`
	Count   float64 `json:"count"`
	P50     float64 `json:"p50_seconds"`
	P99     float64 `json:"p99_seconds"`
}

// SnapshotRow describes the snapshots taken during the run.
type SnapshotRow struct {
	Taken         int     `json:"taken"`            // new snapshot directories seen on the leader
	LastBytes     int64   `json:"last_bytes"`       // size of the newest
	Durations     Summary `json:"duration_seconds"` // from the controllers' logs
	IntervalSecs  float64 `json:"interval_secs"`    // mean time between snapshots
	RaftDBEndByte int64   `json:"raft_db_end_bytes"`
}

// WatchRow compares the node watches' wake-ups with the commits.
type WatchRow struct {
	Wakeups          int64   `json:"wakeups"`        // watch answers with a new index, all simulated nodes
	UsefulWakeups    int64   `json:"useful_wakeups"` // of those, answers whose run list changed for the node
	Timeouts         int64   `json:"timeouts"`       // answers at the wait's end, index unchanged
	Commits          uint64  `json:"commits"`        // raft index advance over the run
	WakeupsPerCommit float64 `json:"wakeups_per_commit"`
	ServerWakeups    float64 `json:"server_wakeups"` // fairway_blocking_query_wakeups_total advance (leader)
}

// MemoryRow estimates the leader's memory per job.
type MemoryRow struct {
	BaselineRSSMB    float64 `json:"baseline_rss_mb"` // after the nodes registered, before jobs
	PeakPendingRSSMB float64 `json:"peak_pending_rss_mb"`
	BytesPerPending  float64 `json:"bytes_per_pending_job"`
	EndRSSMB         float64 `json:"end_rss_mb"`
	JobsHeldAtEnd    int     `json:"jobs_held_at_end"`
	BytesPerHeldJob  float64 `json:"bytes_per_held_job"`
}

// SqueueRow is one timed run of the client binary.
type SqueueRow struct {
	When     string  `json:"when"`
	Command  string  `json:"command"`
	JobsHeld int     `json:"jobs_held"`
	Lines    int     `json:"lines"`
	WallSecs float64 `json:"wall_secs"`
	Err      string  `json:"error,omitempty"`
}

// FailoverRow is the kill -9 of the leader and its restart.
type FailoverRow struct {
	Killed            string  `json:"killed"`
	NewLeader         string  `json:"new_leader"`
	NewLeaderSecs     float64 `json:"new_leader_secs"`               // from the kill
	RestartServesSecs float64 `json:"restart_serves_reads_secs"`     // from the restart
	RestartCaughtSecs float64 `json:"restart_caught_up_secs"`        // applied index >= leader's commit at restart
	RestartLeaderSecs float64 `json:"restart_leader_secs,omitempty"` // when it became leader again, if it did
	SnapshotBytes     int64   `json:"snapshot_bytes"`
	RaftDBBytes       int64   `json:"raft_db_bytes"`
	Err               string  `json:"error,omitempty"`
}

// Sample is one point of the run's time series.
type Sample struct {
	T           float64 `json:"t"` // seconds since the load began
	Submitted   int     `json:"submitted"`
	Pending     int     `json:"pending"`
	Running     int     `json:"running"`
	GPUsBusy    int     `json:"gpus_busy"`
	CommitIndex uint64  `json:"commit_index"`
	Wakeups     int64   `json:"wakeups"`
	LeaderCPU   float64 `json:"leader_cpu"`
	LeaderRSSMB float64 `json:"leader_rss_mb"`
	PassSecs    float64 `json:"last_pass_secs"`
	PassQueue   int     `json:"last_pass_queue"`
}

// QueueBands are the bands of queue size the pass times are grouped by.
var queueBands = []int{0, 1_000, 10_000, 50_000, 100_000}

// BandOf names the band of a queue of n pending jobs.
func BandOf(n int) string {
	for i := len(queueBands) - 1; i >= 0; i-- {
		if n >= queueBands[i] {
			if i == len(queueBands)-1 {
				return fmt.Sprintf(">=%d", queueBands[i])
			}
			return fmt.Sprintf("%d-%d", queueBands[i], queueBands[i+1]-1)
		}
	}
	return "0"
}

// PassBands groups pass samples (seconds, queue length) by queue band, in
// band order, leaving out empty bands.
func PassBands(secs []float64, queue []int) []BandRow {
	by := map[string][]float64{}
	for i, s := range secs {
		b := BandOf(queue[i])
		by[b] = append(by[b], s)
	}
	var out []BandRow
	for i := range queueBands {
		b := BandOf(queueBands[i])
		if v := by[b]; len(v) > 0 {
			s := Summarize(v)
			out = append(out, BandRow{Band: b, Passes: s.Count, P50: s.P50, P99: s.P99})
		}
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report JSON: %w", err)
	}
	return nil
}

// ms formats seconds as milliseconds.
func ms(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", s*1000)
}

// secs formats seconds.
func secs(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.2f s", s)
}

// WriteMarkdown writes the report as Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p("## Run\n\n| parameter | value |\n|---|---|\n")
	for _, k := range keys {
		p("| %s | %s |\n", k, r.Params[k])
	}
	if r.Machine != "" {
		p("| machine | %s |\n", r.Machine)
	}
	p("\n## Load\n\n| figure | value |\n|---|---|\n")
	p("| jobs submitted | %d in %d requests (%d refused or failed) |\n", r.SubmittedJobs, r.SubmitRequests, r.SubmitErrors)
	p("| submission phase | %s, %.0f jobs/s achieved |\n", secs(r.SubmitSecs), r.SubmitJobsPerSec)
	p("| jobs started / finished | %d / %d |\n", r.StartedJobs, r.FinishedJobs)
	p("| peak pending | %d |\n", r.PeakPending)
	p("| cluster busy (GPU-time held / GPU-time available) | %.1f%% over %s |\n", 100*r.BusyFraction, secs(r.BusyWindowSecs))
	p("| GPU-time held / GPU-time usable (held + asked by waiting jobs, at most all) | %.1f%% |\n", 100*r.BusyOfUsable)
	p("| submit-to-start, all starts | p50 %s, p99 %s (%d) |\n", secs(r.SubmitToStart.P50), secs(r.SubmitToStart.P99), r.SubmitToStart.Count)
	p("| submit-to-start, while jobs were pending | p50 %s, p99 %s (%d) |\n", secs(r.SubmitToStartBusy.P50), secs(r.SubmitToStartBusy.P99), r.SubmitToStartBusy.Count)
	p("| scheduler pass (leader histogram) | p50 %s, p99 %s (%.0f passes) |\n", ms(r.SchedPassHist.P50), ms(r.SchedPassHist.P99), r.SchedPassHist.Count)
	p("\n## Scheduler pass by queue size (sampled from /v1/diag)\n\n| pending jobs | passes sampled | p50 | p99 |\n|---|---|---|---|\n")
	for _, row := range r.SchedPassByQueue {
		p("| %s | %d | %s | %s |\n", row.Band, row.Passes, ms(row.P50), ms(row.P99))
	}
	p("\n## Controllers\n\n| controller | leader at end | CPU mean (cores) | CPU max | RSS max | RSS end | raft.db | snapshot |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Controllers {
		p("| %s | %v | %.2f | %.2f | %.0f MB | %.0f MB | %.1f MB | %.1f MB |\n", c.ID, c.Leader, c.CPUMean, c.CPUMax, c.RSSMaxMB, c.RSSEndMB,
			float64(c.RaftDBBytes)/1e6, float64(c.SnapBytes)/1e6)
	}
	m := r.Memory
	p("\n## Leader memory per job\n\n| figure | value |\n|---|---|\n")
	p("| RSS after registration, before jobs | %.0f MB |\n| RSS at peak pending | %.0f MB |\n| bytes per pending job | %.0f |\n", m.BaselineRSSMB, m.PeakPendingRSSMB, m.BytesPerPending)
	p("| RSS at end | %.0f MB holding %d jobs |\n| bytes per held (mostly finished) job | %.0f |\n", m.EndRSSMB, m.JobsHeldAtEnd, m.BytesPerHeldJob)
	p("\n## Raft\n\n| command | applied | p50 | p99 |\n|---|---|---|---|\n")
	for _, c := range r.RaftApply {
		p("| %s | %.0f | %s | %s |\n", c.Command, c.Count, ms(c.P50), ms(c.P99))
	}
	s := r.Snapshots
	p("\n| snapshots | value |\n|---|---|\n| taken (leader) | %d |\n| mean interval | %s |\n| duration p50 / max | %s / %s |\n| newest snapshot | %.1f MB |\n| raft.db at end | %.1f MB |\n",
		s.Taken, secs(s.IntervalSecs), secs(s.Durations.P50), secs(s.Durations.Max), float64(s.LastBytes)/1e6, float64(s.RaftDBEndByte)/1e6)
	wt := r.Watch
	p("\n## Node watches\n\n| figure | value |\n|---|---|\n| wake-ups (new index) | %d |\n| of which the node's runs changed | %d |\n| wait timeouts | %d |\n| raft commits | %d |\n| wake-ups per commit | %.2f |\n| server-side wake-ups (leader counter) | %.0f |\n",
		wt.Wakeups, wt.UsefulWakeups, wt.Timeouts, wt.Commits, wt.WakeupsPerCommit, wt.ServerWakeups)
	p("\n## HTTP requests by route (sent by the harness)\n\n| route | requests | per second | errors | p50 | p99 |\n|---|---|---|---|---|---|\n")
	for _, rt := range r.Routes {
		p("| %s | %d | %.1f | %d | %s | %s |\n", rt.Route, rt.Requests, rt.PerSec, rt.Errors, ms(rt.Latency.P50), ms(rt.Latency.P99))
	}
	p("\n## squeue (bin/fairway, wall time)\n\n| when | command | jobs held | lines | wall |\n|---|---|---|---|---|\n")
	for _, q := range r.Squeue {
		wall := secs(q.WallSecs)
		if q.Err != "" {
			wall += " (" + q.Err + ")"
		}
		p("| %s | `%s` | %d | %d | %s |\n", q.When, q.Command, q.JobsHeld, q.Lines, wall)
	}
	if f := r.Failover; f != nil {
		p("\n## Leader killed (SIGKILL) and restarted\n\n| figure | value |\n|---|---|\n| killed | %s |\n| new leader | %s after %s |\n| restarted controller serves reads | %s after its start |\n| restarted controller caught up | %s after its start |\n| its snapshot / raft.db | %.1f MB / %.1f MB |\n",
			f.Killed, f.NewLeader, secs(f.NewLeaderSecs), secs(f.RestartServesSecs), secs(f.RestartCaughtSecs), float64(f.SnapshotBytes)/1e6, float64(f.RaftDBBytes)/1e6)
		if f.Err != "" {
			p("| error | %s |\n", f.Err)
		}
	}
	for _, n := range r.Notes {
		p("\n- %s", n)
	}
	p("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report markdown: %w", err)
	}
	return nil
}
