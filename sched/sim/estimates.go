package sim

import (
	"context"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/forecast"
)

// EstimatesFile is the per-job estimate records of a run with
// Options.EstimateEvery.
const EstimatesFile = "estimates.csv"

// EstimateRecord is the start-time estimate made for one job at its
// submission (after the pass that followed its arrival) and how it
// turned out. Times are trace seconds.
type EstimateRecord struct {
	ID     api.JobID
	Submit int64
	// StartedAtSubmit: the pass that followed the job's arrival started
	// it; no estimate was made (there was nothing to estimate).
	StartedAtSubmit bool
	// P50 and P90 are forecast.Estimate's range (-1: none, the job started
	// in fewer than half or 90% of the replays before the horizon).
	P50, P90 int64
	// Reservation is the backfill reservation the pass gave the job
	// (Job.ExpectedStart, what squeue --start shows); -1 when none.
	Reservation int64
	// Start is the job's actual first start; -1 when it never started.
	Start int64
	// WallSecs is the wall time the estimate took.
	WallSecs float64
}

// EstimateSummary measures the estimates of a run against the actual
// starts (summary.json "estimates").
type EstimateSummary struct {
	// Every is Options.EstimateEvery; Replays the replays per estimate.
	Every   int `json:"every"`
	Replays int `json:"replays"`
	// ArrivalsWindowSecs is Options.EstimateArrivalsSecs (0: the replays
	// had no arrivals).
	ArrivalsWindowSecs int64 `json:"arrivals_window_secs,omitempty"`
	// Sampled counts the jobs sampled (every Every-th arrival);
	// StartedAtSubmit how many of them the pass after their arrival
	// started; Estimated how many were still pending and got an estimate
	// (and started later: the figures below are over them).
	Sampled         int `json:"sampled"`
	StartedAtSubmit int `json:"started_at_submit"`
	Estimated       int `json:"estimated"`
	// WaitMedianSecs is the median actual wait of the estimated jobs.
	WaitMedianSecs float64 `json:"wait_median_secs"`
	// InP90 is the fraction of estimated jobs that started within
	// [submit, P90] (a job without a P90 counts as outside); WithP90 the
	// fraction that had a P90.
	InP90   float64 `json:"in_p90"`
	WithP90 float64 `json:"with_p90"`
	// P50AbsErrMedianSecs is the median |P50 - actual start| over the jobs
	// with a P50 (WithP50 of them, a fraction).
	P50AbsErrMedianSecs float64 `json:"p50_abs_err_median_secs"`
	WithP50             float64 `json:"with_p50"`
	// WithReservation is the fraction of estimated jobs that had a
	// backfill reservation; ResvAbsErrMedianSecs the median |reservation -
	// actual start| over them, ResvStartedByIt the fraction of them that
	// started at or before it.
	WithReservation      float64 `json:"with_reservation"`
	ResvAbsErrMedianSecs float64 `json:"reservation_abs_err_median_secs"`
	ResvStartedByIt      float64 `json:"reservation_started_by_it"`
	// P50AbsErrOnResvMedianSecs is the median |P50 - actual| over the jobs
	// that had both a reservation and a P50: the two on the same jobs.
	P50AbsErrOnResvMedianSecs float64 `json:"p50_abs_err_on_reserved_median_secs"`
	// EstimateWallMeanSecs is the mean wall time of one estimate.
	EstimateWallMeanSecs float64 `json:"estimate_wall_mean_secs"`
}

// summarizeEstimates measures the records; nil when there are none.
func summarizeEstimates(res *Result) *EstimateSummary {
	if len(res.Estimates) == 0 {
		return nil
	}
	s := &EstimateSummary{Every: res.EstimateEvery, Replays: res.EstimateReplays, ArrivalsWindowSecs: res.EstimateArrivalsSecs}
	var waits, p50err, resvErr, p50OnResv []float64
	var inP90, withP90, withResv, byResv int
	wall := 0.0
	for _, e := range res.Estimates {
		s.Sampled++
		if e.StartedAtSubmit {
			s.StartedAtSubmit++
			continue
		}
		if e.Start < 0 {
			continue
		}
		s.Estimated++
		wall += e.WallSecs
		waits = append(waits, float64(e.Start-e.Submit))
		if e.P90 >= 0 {
			withP90++
			if e.Start <= e.P90 {
				inP90++
			}
		}
		if e.P50 >= 0 {
			p50err = append(p50err, float64(abs(e.P50-e.Start)))
		}
		if e.Reservation >= 0 {
			withResv++
			resvErr = append(resvErr, float64(abs(e.Reservation-e.Start)))
			if e.Start <= e.Reservation {
				byResv++
			}
			if e.P50 >= 0 {
				p50OnResv = append(p50OnResv, float64(abs(e.P50-e.Start)))
			}
		}
	}
	if s.Estimated == 0 {
		return s
	}
	n := float64(s.Estimated)
	s.WaitMedianSecs = median(waits)
	s.InP90, s.WithP90 = float64(inP90)/n, float64(withP90)/n
	s.P50AbsErrMedianSecs, s.WithP50 = median(p50err), float64(len(p50err))/n
	s.WithReservation = float64(withResv) / n
	s.ResvAbsErrMedianSecs = median(resvErr)
	if withResv > 0 {
		s.ResvStartedByIt = float64(byResv) / float64(withResv)
	}
	s.P50AbsErrOnResvMedianSecs = median(p50OnResv)
	s.EstimateWallMeanSecs = wall / n
	return s
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return percentile(s, 50)
}

// WriteEstimatesCSV writes the estimate records: job_id, submit,
// started_at_submit, p50, p90, reservation, start, estimate_wall_secs
// (trace seconds; -1: none).
func WriteEstimatesCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"job_id", "submit", "started_at_submit", "p50", "p90", "reservation", "start", "estimate_wall_secs"})
	for _, e := range res.Estimates {
		_ = cw.Write([]string{strconv.FormatInt(int64(e.ID), 10), strconv.FormatInt(e.Submit, 10), strconv.FormatBool(e.StartedAtSubmit),
			strconv.FormatInt(e.P50, 10), strconv.FormatInt(e.P90, 10), strconv.FormatInt(e.Reservation, 10),
			strconv.FormatInt(e.Start, 10), strconv.FormatFloat(e.WallSecs, 'f', 4, 64)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("estimates csv: %w", err)
	}
	return nil
}

// estimateArrivals makes the estimates of the jobs that arrived at now
// (every EstimateEvery-th job by arrival), after the pass that followed
// their arrival.
func (r *runner) estimateArrivals(ctx context.Context, arrived []*simJob) error {
	every := r.opt.EstimateEvery
	for _, sj := range arrived {
		if every <= 0 || int(sj.job.ID)%every != 0 {
			continue
		}
		rec := EstimateRecord{ID: sj.job.ID, Submit: sj.job.SubmitTime - Epoch, P50: -1, P90: -1, Reservation: -1, Start: -1}
		if sj.job.State != api.JobPending || sj.dropped {
			rec.StartedAtSubmit = sj.started
			if sj.started {
				r.estIdx[sj.job.ID] = len(r.res.Estimates)
				r.res.Estimates = append(r.res.Estimates, rec)
			}
			continue
		}
		if sj.job.ExpectedStart > 0 {
			rec.Reservation = sj.job.ExpectedStart - Epoch
		}
		var jobs []*api.Job
		for _, a := range r.active {
			if !a.finished && !a.dropped && (a.job.State == api.JobPending || a.job.State == api.JobRunning) {
				jobs = append(jobs, a.job)
			}
		}
		snap := forecast.Snapshot{Now: r.now, Config: r.cfg, Nodes: r.nodes, Jobs: jobs, Usage: maps.Clone(r.usage)}
		t0 := time.Now()
		arr, err := r.arrivalModel()
		if err != nil {
			return fmt.Errorf("estimate for job %d: %w", sj.job.ID, err)
		}
		est, err := forecast.Estimate(ctx, snap, forecast.NewHistoryModel(r.finishedJobs),
			forecast.Options{Replays: r.opt.EstimateReplays, Seed: uint64(sj.job.ID), Jobs: []api.JobID{sj.job.ID}, Arrivals: arr})
		if err != nil {
			return fmt.Errorf("estimate for job %d: %w", sj.job.ID, err)
		}
		rec.WallSecs = time.Since(t0).Seconds()
		if e, ok := est[sj.job.ID]; ok {
			if e.P50 > 0 {
				rec.P50 = e.P50 - Epoch
			}
			if e.P90 > 0 {
				rec.P90 = e.P90 - Epoch
			}
		}
		r.estIdx[sj.job.ID] = len(r.res.Estimates)
		r.res.Estimates = append(r.res.Estimates, rec)
	}
	return nil
}

// arrivalModel is the estimates' arrival model at now: the jobs submitted
// in the last Options.EstimateArrivalsSecs (since the trace's first job
// when it began less long ago), none submitted after now; nil without.
func (r *runner) arrivalModel() (*forecast.ArrivalModel, error) {
	w := r.opt.EstimateArrivalsSecs
	if w <= 0 || r.next == 0 {
		return nil, nil
	}
	w = min(w, r.now-r.jobs[0].job.SubmitTime)
	if w <= 0 {
		return nil, nil
	}
	var recent []*api.Job
	for i := r.next - 1; i >= 0 && r.jobs[i].job.SubmitTime >= r.now-w; i-- {
		if !r.jobs[i].dropped {
			recent = append(recent, r.jobs[i].job)
		}
	}
	m, err := forecast.NewArrivalModel(recent, r.now, w)
	if err != nil {
		return nil, fmt.Errorf("arrival model: %w", err)
	}
	return m, nil
}

// checkpointInterval is a job's checkpoint interval: Options.CheckpointSecs,
// or its entry of Options.CheckpointMix, chosen by a hash of its ID so that
// every policy and victim order gives the job the same one.
func checkpointInterval(opt Options, id api.JobID) int64 {
	if len(opt.CheckpointMix) == 0 {
		return opt.CheckpointSecs
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(strconv.FormatInt(int64(id), 10)))
	return opt.CheckpointMix[h.Sum64()%uint64(len(opt.CheckpointMix))]
}

// checkpoint sets a running job's LastCheckpoint to its last periodic
// checkpoint before now, as a job reporting each checkpoint would, so that
// the scheduler sees the work a preemption would lose.
func (r *runner) checkpoint(sj *simJob) {
	j := sj.job
	c := sj.ckpt
	if c <= 0 || j.State != api.JobRunning || r.now-j.StartTime < c {
		return
	}
	if at := j.StartTime + (r.now-j.StartTime)/c*c; at > j.LastCheckpoint {
		r.update(sj, func(j *api.Job) { j.LastCheckpoint = at })
	}
}

// endRun records the end of a job's current run in its run list (a
// copy: run lists are shared between versions).
func endRun(j *api.Job, end int64, state api.JobState) {
	if len(j.Runs) == 0 {
		return
	}
	j.Runs = slices.Clone(j.Runs)
	last := &j.Runs[len(j.Runs)-1]
	last.EndTime, last.State = end, state
}
