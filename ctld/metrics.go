package ctld

import (
	"fmt"
	"strings"

	"github.com/fairway-hpc/fairway/api"
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
}

func newMetrics(store *raftstore.Store) *metrics {
	m := &metrics{
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
	m.reg.MustRegister(m.submissions, m.schedPass, m.applyLatency, m.preemptions, m.preemptionWait,
		stateCollector{store: store},
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fairway_blocking_query_wakeups_total",
			Help: "Times a blocking query was woken by a change of what it watches (one per watcher per relevant commit, not per commit).",
		}, func() float64 { return float64(store.WatchWakeups()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// commandName is a command's type name without the package, e.g. "SubmitJobs".
func commandName(cmd raftstore.Command) string {
	name := fmt.Sprintf("%T", cmd)
	return name[strings.LastIndexByte(name, '.')+1:]
}

var (
	jobsDesc   = prometheus.NewDesc("fairway_jobs", "Jobs in the state store, by state.", []string{"state"}, nil)
	nodesDesc  = prometheus.NewDesc("fairway_nodes", "Registered nodes, by state.", []string{"state"}, nil)
	leaderDesc = prometheus.NewDesc("fairway_raft_leader", "1 if this controller is the raft leader.", nil, nil)
	indexDesc  = prometheus.NewDesc("fairway_raft_applied_index", "Raft index the state reflects.", nil, nil)
)

// stateCollector reports gauges computed from the state at scrape time.
type stateCollector struct{ store *raftstore.Store }

// Describe implements prometheus.Collector.
func (s stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- nodesDesc
	ch <- leaderDesc
	ch <- indexDesc
}

// Collect implements prometheus.Collector.
func (s stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.store.State()
	jobs := map[api.JobState]int{api.JobPending: 0, api.JobRunning: 0}
	for _, j := range st.Jobs() {
		jobs[j.State]++
	}
	for state, n := range jobs {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), string(state))
	}
	nodes := map[api.NodeState]int{}
	for _, n := range st.Nodes() {
		nodes[n.State]++
	}
	for state, n := range nodes {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(n), string(state))
	}
	leader := 0.0
	if s.store.IsLeader() {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(indexDesc, prometheus.GaugeValue, float64(st.Index()))
}
