package ctld

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched/explain"
	"github.com/fairway-hpc/fairway/sched/forecast"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the start-time estimates (EstimateConfig).
const (
	// DefaultEstimateInterval is how often the leader estimates the start
	// of every pending job (less often when an estimate takes more than a
	// quarter of it).
	DefaultEstimateInterval = time.Minute
	// DefaultEstimateTimeout bounds one estimate (all its replays).
	DefaultEstimateTimeout = 20 * time.Second
	// DefaultWhatIfTimeout bounds one what-if request.
	DefaultWhatIfTimeout = time.Minute
	// MaxWhatIfReplays and MaxWhatIfHorizon bound what a what-if request
	// may ask for.
	MaxWhatIfReplays = 50
	MaxWhatIfHorizon = 30 * 24 * time.Hour
	// DefaultEstimateMaxJobs bounds the pending jobs an estimate replays
	// (EstimateConfig.MaxJobs).
	DefaultEstimateMaxJobs = 5000
	// accuracyCacheFor is how long the accuracy metrics reuse one
	// computation over the retained jobs.
	accuracyCacheFor = 30 * time.Second
)

// EstimateConfig configures the leader's start-time estimates (fairway
// explain, squeue --start) and what-if replays (fairway sim --from-live).
type EstimateConfig struct {
	// Interval is how often the leader replays the queue forward to
	// estimate every pending job's start (DefaultEstimateInterval when 0;
	// negative: no estimates).
	Interval time.Duration
	// Replays is the number of sampled replays per estimate (0: the
	// forecast's default, 20).
	Replays int
	// Horizon is how far past now a replay goes (0: the forecast's
	// default, a week).
	Horizon time.Duration
	// Timeout bounds one estimate (DefaultEstimateTimeout when 0).
	Timeout time.Duration
	// WhatIfTimeout bounds one what-if request (DefaultWhatIfTimeout when 0).
	WhatIfTimeout time.Duration
	// MaxJobs bounds the pending jobs an estimate replays: the first ones
	// by the priority the last pass gave them, as Slurm's backfill tests at
	// most bf_max_job_test jobs; the others get no estimate until they move
	// up (DefaultEstimateMaxJobs when 0; negative: all). At 10,000 nodes
	// and 10,000 pending jobs, replaying them all took more than the
	// estimate's 20 s.
	MaxJobs int
	// ArrivalsWindow: replays add arrivals resampled from the jobs
	// submitted in the last ArrivalsWindow, at their rate, so that jobs
	// submitted later can overtake (DefaultArrivalsWindow when 0;
	// negative: no arrivals).
	ArrivalsWindow time.Duration
}

// DefaultArrivalsWindow is the window of recent submissions the replays'
// arrivals are drawn from (docs/sim/estimates.md measured an hour).
const DefaultArrivalsWindow = time.Hour

// withDefaults fills the zero settings.
func (c EstimateConfig) withDefaults() EstimateConfig {
	if c.Interval == 0 {
		c.Interval = DefaultEstimateInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultEstimateTimeout
	}
	if c.WhatIfTimeout <= 0 {
		c.WhatIfTimeout = DefaultWhatIfTimeout
	}
	if c.ArrivalsWindow == 0 {
		c.ArrivalsWindow = DefaultArrivalsWindow
	}
	if c.MaxJobs == 0 {
		c.MaxJobs = DefaultEstimateMaxJobs
	}
	return c
}

// estimator keeps the leader's latest start-time estimates in memory, and
// the accuracy of the recorded first estimates for the metrics.
type estimator struct {
	cfg EstimateConfig

	mu       sync.Mutex
	latest   map[api.JobID]api.StartEstimate
	madeAt   time.Time
	duration time.Duration
	err      error // the last estimate's error, logged once per change

	accMu sync.Mutex
	acc   api.EstimateAccuracy
	accAt time.Time

	// whatIf admits one what-if replay at a time; willRun one
	// --test-only forecast.
	whatIf  chan struct{}
	willRun chan struct{}

	// estimateFn and whatIfFn are the forecast's functions
	// (forecast.Estimate, forecast.WhatIf); tests replace them.
	fnMu       sync.Mutex
	estimateFn func(context.Context, forecast.Snapshot, forecast.RuntimeModel, forecast.Options) (map[api.JobID]api.StartEstimate, error)
	whatIfFn   func(context.Context, forecast.Snapshot, forecast.RuntimeModel, api.ClusterConfig, forecast.Options) (api.WhatIfResult, error)
}

// forecasts returns the forecast's functions in use.
func (e *estimator) forecasts() (
	func(context.Context, forecast.Snapshot, forecast.RuntimeModel, forecast.Options) (map[api.JobID]api.StartEstimate, error),
	func(context.Context, forecast.Snapshot, forecast.RuntimeModel, api.ClusterConfig, forecast.Options) (api.WhatIfResult, error),
) {
	e.fnMu.Lock()
	defer e.fnMu.Unlock()
	return e.estimateFn, e.whatIfFn
}

func newEstimator(cfg EstimateConfig) *estimator {
	return &estimator{cfg: cfg.withDefaults(), whatIf: make(chan struct{}, 1), willRun: make(chan struct{}, 1), estimateFn: forecast.Estimate, whatIfFn: forecast.WhatIf}
}

// get returns a job's latest estimate.
func (e *estimator) get(id api.JobID) (api.StartEstimate, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	est, ok := e.latest[id]
	return est, ok
}

// all returns the latest estimates (the map is never modified once set)
// and when they were made.
func (e *estimator) all() (map[api.JobID]api.StartEstimate, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.latest, e.madeAt
}

// set replaces the latest estimates.
func (e *estimator) set(est map[api.JobID]api.StartEstimate, at time.Time, took time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latest, e.madeAt, e.duration = est, at, took
}

// clear forgets the estimates (leadership lost: they would go stale).
func (e *estimator) clear() { e.set(nil, time.Time{}, 0) }

// options are the forecast's bounds, with arrivals drawn from the jobs
// of st submitted in the last ArrivalsWindow.
func (e *estimator) options(st *raftstore.State, now time.Time) forecast.Options {
	opt := forecast.Options{Replays: e.cfg.Replays, HorizonSecs: int64(e.cfg.Horizon / time.Second), Seed: uint64(now.Unix())}
	opt.Arrivals = e.arrivals(st, now)
	return opt
}

// arrivals is the arrival model of the jobs submitted in the last
// ArrivalsWindow; nil when arrivals are off.
func (e *estimator) arrivals(st *raftstore.State, now time.Time) *forecast.ArrivalModel {
	if e.cfg.ArrivalsWindow <= 0 {
		return nil
	}
	m, err := forecast.NewArrivalModel(st.RetainedJobsShared(), now.Unix(), int64(e.cfg.ArrivalsWindow/time.Second))
	if err != nil {
		return nil
	}
	return m
}

// estimateLoop runs on the leader: an estimate at once and then every
// Interval, until the leadership (ctx) ends. An estimate that took long
// spaces the next one out to estimateSpacing times its duration, so that
// a long queue on many nodes costs the leader a bounded share of its time
// (a 20 s replay is then repeated every 80 s at most often, not every
// Interval), as the scheduling passes are bounded.
func (c *Controller) estimateLoop(ctx context.Context) {
	e := c.estimates
	if e.cfg.Interval < 0 {
		return
	}
	defer e.clear()
	for {
		took := c.estimate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(nextEstimateIn(e.cfg.Interval, took)):
		}
	}
}

// estimateSpacing is the least time between the starts of two estimates,
// in durations of the last one: estimates take at most about a quarter
// of the leader's time, as the passes (which wait three times their
// duration). A tenth spaced the estimates of a loaded test machine's
// small cluster out past a minute.
const estimateSpacing = 4

// nextEstimateIn is how long after an estimate that took took the next one
// starts: the interval, or longer after a long estimate.
func nextEstimateIn(interval, took time.Duration) time.Duration {
	return max(interval, estimateSpacing*took) - took
}

// snapshot is the forecast's view of a state, read the way the scheduling
// pass reads it, and the finished jobs whose run times the model samples.
func snapshot(st *raftstore.State, now time.Time) (forecast.Snapshot, []*api.Job) {
	cfg := st.Config()
	in := schedInput(st, now.Unix(), cfg, st.NodesShared(), st.ActiveJobsShared())
	var finished []*api.Job
	for _, j := range st.RetainedJobsShared() {
		if j.State.Final() || len(j.Runs) > 0 {
			finished = append(finished, j)
		}
	}
	return forecast.Snapshot{Now: in.Now, Config: in.Config, Nodes: in.Nodes, Jobs: in.Jobs, Usage: in.Usage, Lookup: in.Lookup}, finished
}

// estimate makes one estimate of every pending job's start, keeps it for
// explain, and records the first estimate of the jobs that have none. It
// returns how long the replays took.
func (c *Controller) estimate(ctx context.Context) time.Duration {
	e := c.estimates
	st := c.store.State()
	if cfg := st.Config(); len(cfg.Partitions) == 0 {
		return 0
	}
	now := c.now()
	snap, finished := snapshot(st, now)
	snap.Jobs = firstPending(snap.Jobs, e.cfg.MaxJobs)
	ectx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	start := time.Now()
	estimateFn, _ := e.forecasts()
	est, err := estimateFn(ectx, snap, forecast.NewHistoryModel(finished), e.options(st, now))
	took := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return took
		}
		e.mu.Lock()
		changed := e.err == nil || e.err.Error() != err.Error()
		e.err = err
		e.mu.Unlock()
		if changed {
			c.log.Warn("start-time estimate failed", "err", err, "took", took)
		}
		return took
	}
	e.mu.Lock()
	e.err = nil
	e.mu.Unlock()
	e.set(est, now, took)
	c.log.Debug("start times estimated", "jobs", len(est), "took", took)
	var rec []raftstore.JobEstimate
	for _, j := range snap.Jobs {
		if j.State != api.JobPending || j.FirstEstimate != nil || len(j.Runs) > 0 || j.IsArrayRecord() {
			continue
		}
		if x, ok := est[j.ID]; ok {
			rec = append(rec, raftstore.JobEstimate{JobID: j.ID, Estimate: x})
		}
	}
	if len(rec) == 0 {
		return took
	}
	if _, err := c.apply(ctx, raftstore.RecordEstimates{Now: now.Unix(), Estimates: rec}); err != nil && ctx.Err() == nil {
		c.log.Warn("cannot record first start estimates", "jobs", len(rec), "err", err)
	}
	return took
}

// firstPending returns the active jobs with at most limit pending ones (an
// array's pending record counts one): those the last pass gave the highest
// priority, ties by ID; every other job is kept, and the order is kept.
// A negative limit keeps them all.
func firstPending(jobs []*api.Job, limit int) []*api.Job {
	var pending []*api.Job
	for _, j := range jobs {
		if j.State == api.JobPending {
			pending = append(pending, j)
		}
	}
	if limit < 0 || len(pending) <= limit {
		return jobs
	}
	slices.SortFunc(pending, func(a, b *api.Job) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.ID, b.ID))
	})
	keep := make(map[api.JobID]bool, limit)
	for _, j := range pending[:limit] {
		keep[j.ID] = true
	}
	out := make([]*api.Job, 0, len(jobs)-len(pending)+limit)
	for _, j := range jobs {
		if j.State != api.JobPending || keep[j.ID] {
			out = append(out, j)
		}
	}
	return out
}

// accuracy is the accuracy of the recorded first estimates over the
// retained jobs, computed at most every accuracyCacheFor.
func (e *estimator) accuracy(st *raftstore.State, now time.Time, fresh bool) api.EstimateAccuracy {
	e.accMu.Lock()
	defer e.accMu.Unlock()
	if fresh || e.accAt.IsZero() || now.Sub(e.accAt) >= accuracyCacheFor || now.Before(e.accAt) {
		e.acc, e.accAt = explain.Accuracy(st.RetainedJobsShared()), now
	}
	return e.acc
}

// estimateCollector exports the estimates' quality from the state at
// scrape time.
type estimateCollector struct {
	c        *Controller
	jobs     *prometheus.Desc
	inRange  *prometheus.Desc
	medAbs   *prometheus.Desc
	pending  *prometheus.Desc
	duration *prometheus.Desc
}

// registerEstimateMetrics adds the estimate metrics to the controller's
// registry.
func (c *Controller) registerEstimateMetrics() {
	c.metrics.reg.MustRegister(&estimateCollector{c: c,
		jobs: prometheus.NewDesc("fairway_start_estimate_measured_jobs",
			"Retained jobs that had a first start estimate and started (what the estimate error is measured on).", nil, nil),
		inRange: prometheus.NewDesc("fairway_start_estimate_in_range_ratio",
			"Fraction of the measured jobs that started inside their first estimate's range [made at, P90].", nil, nil),
		medAbs: prometheus.NewDesc("fairway_start_estimate_p50_abs_error_seconds",
			"Median absolute error of the first estimate's P50 against the actual start, over the measured jobs with a P50.", nil, nil),
		pending: prometheus.NewDesc("fairway_start_estimates",
			"Pending jobs with a current start estimate on this controller (the leader makes them).", nil, nil),
		duration: prometheus.NewDesc("fairway_start_estimate_duration_seconds",
			"Time the last start estimate (all its replays) took on this controller.", nil, nil),
	})
}

// Describe implements prometheus.Collector.
func (ec *estimateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ec.jobs
	ch <- ec.inRange
	ch <- ec.medAbs
	ch <- ec.pending
	ch <- ec.duration
}

// Collect implements prometheus.Collector.
func (ec *estimateCollector) Collect(ch chan<- prometheus.Metric) {
	e := ec.c.estimates
	acc := e.accuracy(ec.c.store.State(), time.Now(), false)
	ch <- prometheus.MustNewConstMetric(ec.jobs, prometheus.GaugeValue, float64(acc.Jobs))
	if acc.Jobs > 0 {
		ch <- prometheus.MustNewConstMetric(ec.inRange, prometheus.GaugeValue, float64(acc.InRange)/float64(acc.Jobs))
	}
	if acc.WithP50 > 0 {
		ch <- prometheus.MustNewConstMetric(ec.medAbs, prometheus.GaugeValue, float64(acc.MedianAbsErrorSecs))
	}
	e.mu.Lock()
	n, took := len(e.latest), e.duration
	e.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(ec.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(ec.duration, prometheus.GaugeValue, took.Seconds())
}
