package noded

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// Outcomes counted by fairway_noded_jobs_ended_total's "state" label.
const (
	outcomeCompleted    = "completed"
	outcomeFailed       = "failed"
	outcomeSignaled     = "signaled"
	outcomeOutOfMemory  = "out_of_memory"
	outcomeLaunchFailed = "launch_failed"
	outcomeLost         = "lost"
)

// metrics are the daemon's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg          *prometheus.Registry
	launched     *prometheus.CounterVec
	ended        *prometheus.CounterVec
	running      prometheus.Gauge
	reportErrors prometheus.Counter
	// grace is the grace time of stops with a checkpoint signal: granted,
	// and used (until the job exited, said it was done, or the time ran out).
	grace *prometheus.HistogramVec
	// graceEndings counts how those grace times ended.
	graceEndings *prometheus.CounterVec
	// collectors are what reg holds (the GPU collector is added by run).
	collectors []prometheus.Collector
}

// MetricNames lists the names of every metric family the node daemon's
// /metrics can serve (its GPU metrics included), read from the
// descriptions of the collectors its registry holds, for checks of
// dashboards and alert rules. A histogram's series add _bucket, _sum and
// _count to its name.
func MetricNames() []string {
	m := newMetrics("node")
	cs := append(m.collectors, gpu.NewCollector(nil, nil, nil))
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		s := d.String()
		const key = `fqName: "`
		if i := strings.Index(s, key); i >= 0 {
			s = s[i+len(key):]
			out = append(out, s[:strings.IndexByte(s, '"')])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func newMetrics(node string) *metrics {
	labels := prometheus.Labels{"node": node}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		launched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairway_noded_jobs_launched_total", Help: "Job runs launched, by executor.",
			ConstLabels: labels,
		}, []string{"executor"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairway_noded_jobs_ended_total", Help: "Job runs ended, by outcome.",
			ConstLabels: labels,
		}, []string{"state"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fairway_noded_running_jobs", Help: "Job runs running on the node.",
			ConstLabels: labels,
		}),
		reportErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairway_noded_event_report_errors_total", Help: "Failed attempts to report job events.",
			ConstLabels: labels,
		}),
	}
	m.grace = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "fairway_noded_preemption_grace_seconds",
		Help:        "Grace time of jobs stopped with a checkpoint signal (preemptions): granted, and used until the job exited, said it had saved its checkpoint, or the time ran out.",
		ConstLabels: labels,
		Buckets:     []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600},
	}, []string{"kind"})
	m.graceEndings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fairway_noded_preemption_grace_endings_total", Help: "How grace times after a checkpoint signal ended: exited (the job stopped), ended_early (it said it saved its checkpoint) or expired (SIGTERM followed).",
		ConstLabels: labels,
	}, []string{"how"})
	m.collectors = []prometheus.Collector{m.launched, m.ended, m.running, m.reportErrors, m.grace, m.graceEndings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	m.reg.MustRegister(m.collectors...)
	for _, how := range []string{graceExited, graceEndedEarly, graceExpired} {
		m.graceEndings.WithLabelValues(how)
	}
	for _, o := range []string{outcomeCompleted, outcomeFailed, outcomeSignaled, outcomeOutOfMemory, outcomeLaunchFailed, outcomeLost} {
		m.ended.WithLabelValues(o)
	}
	return m
}

// observeGrace records one grace time: granted, used, and how it ended.
func (m *metrics) observeGrace(granted, used time.Duration, how string) {
	m.grace.WithLabelValues("granted").Observe(granted.Seconds())
	m.grace.WithLabelValues("used").Observe(used.Seconds())
	m.graceEndings.WithLabelValues(how).Inc()
}

// outcome classifies a final event for the ended counter.
func outcome(ev *api.JobEvent) string {
	switch {
	case ev.Kind == api.EventLaunchFail:
		return outcomeLaunchFailed
	case ev.Kind == api.EventLost:
		return outcomeLost
	case ev.OOM:
		return outcomeOutOfMemory
	case ev.Signal != 0:
		return outcomeSignaled
	case ev.ExitCode != 0:
		return outcomeFailed
	}
	return outcomeCompleted
}

// handler serves /metrics and /healthz.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
