package ctld

import (
	"fmt"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the controller's Prometheus metrics, in its own registry.
type metrics struct {
	reg          *prometheus.Registry
	submissions  prometheus.Counter
	schedPass    prometheus.Histogram
	applyLatency *prometheus.HistogramVec
	// preemptions counts the preemptions of committed plans by reason
	// (reclaim, priority).
	preemptions *prometheus.CounterVec
	// preemptionWait is the time from the first preemption made for a job
	// to that job's start.
	preemptionWait prometheus.Histogram
	// waits are the jobs' waits, observed at their start (observeStarts).
	waits *prometheus.HistogramVec
	// passes keeps the scheduler passes' figures.
	passes *passWatch
	// starts keeps the node start reports the leader has seen.
	starts *startWatch
	// collectors are what reg holds.
	collectors []prometheus.Collector
}

func newMetrics(store *raftstore.Store, now func() time.Time) *metrics {
	m := &metrics{
		passes: &passWatch{},
		starts: newStartWatch(),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fairway_job_wait_seconds",
			Help:    "Time jobs waited before they started, observed by the leader at each start: from submission, or from the end of the run before for a requeued job; by account and partition.",
			Buckets: []float64{1, 10, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 16 * 3600, 24 * 3600, 48 * 3600, 96 * 3600, 7 * 24 * 3600},
		}, []string{"account", "partition"}),
		reg: prometheus.NewRegistry(),
		submissions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairway_job_submissions_total",
			Help: "Jobs accepted by this controller (as leader).",
		}),
		schedPass: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fairway_scheduler_pass_duration_seconds",
			Help:    "Time the scheduler takes to compute one plan.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		applyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fairway_raft_apply_duration_seconds",
			Help:    "Time from proposing a raft command to its application on the leader, by command.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 3, 12),
		}, []string{"command"}),
		preemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairway_preemptions_total",
			Help: "Running jobs preempted by committed plans (as leader), by reason: reclaim (an account takes its guarantee back) or priority (inside an account at its quota).",
		}, []string{"reason"}),
		preemptionWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fairway_preemption_to_start_seconds",
			Help:    "Time from the first preemption made for a job to that job's start (the victims' grace time and stop included).",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600},
		}),
	}
	for _, r := range []string{"reclaim", "priority"} {
		m.preemptions.WithLabelValues(r)
	}
	m.collectors = []prometheus.Collector{m.waits, m.submissions, m.schedPass, m.applyLatency, m.preemptions, m.preemptionWait,
		stateCollector{store: store, now: now, ends: newEndWatch(), starts: m.starts},
		m.passes,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fairway_blocking_query_wakeups_total",
			Help: "Times a blocking query was woken by a change of what it watches (one per watcher per relevant commit, not per commit).",
		}, func() float64 { return float64(store.WatchWakeups()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	m.reg.MustRegister(m.collectors...)
	return m
}

// commandName is a command's type name without the package, e.g. "SubmitJobs".
func commandName(cmd raftstore.Command) string {
	name := fmt.Sprintf("%T", cmd)
	return name[strings.LastIndexByte(name, '.')+1:]
}

var (
	leaderDesc = prometheus.NewDesc("fairway_raft_leader", "1 if this controller is the raft leader.", nil, nil)
	indexDesc  = prometheus.NewDesc("fairway_raft_applied_index", "Raft index the state reflects.", nil, nil)
)

// stateCollector reports what is computed from the state at scrape time:
// the cluster's figures (clusterMetrics), the job ends (ends) and raft's
// health (raftMetrics).
type stateCollector struct {
	store  *raftstore.Store
	now    func() time.Time
	ends   *endWatch
	starts *startWatch
}

// Describe implements prometheus.Collector.
func (s stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range clusterDescs() {
		ch <- d
	}
	ch <- leaderDesc
	ch <- indexDesc
	ch <- jobEndsDesc
	for _, d := range raftDescs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one read of the state, one pass
// over its nodes and one over its jobs.
func (s stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.store.State()
	jobs := st.Jobs()
	v := clusterView{now: s.now(), cfg: st.Config(), nodes: st.Nodes(), jobs: jobs,
		preemptions: st.PreemptionTotals(), started: s.starts.started}
	s.starts.prune(jobs)
	clusterMetrics(&v, ch)
	s.ends.collect(jobs, v.cfg.DefaultAccount, ch)
	leader := 0.0
	if s.store.IsLeader() {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(indexDesc, prometheus.GaugeValue, float64(st.Index()))
	raftMetrics(s.store, ch)
}
