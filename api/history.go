package api

// The dashboard's reads (served by every controller from its own replicated
// state; any authenticated user may read them):
//
//	GET  /v1/history                   -> HistoryResponse (the recent history the dashboard's charts draw, and the figures now)
//	GET  /v1/alerts                    -> AlertsResponse (conditions the controller sees in its state)
//	GET  /v1/dashboard                 -> DashboardInfo (links and settings of the web dashboard)
//	GET  /ui/                          the web dashboard (static; it signs in with a token)

// HistoryPoint is the cluster's GPU figures at one time: measured from the
// state, or the mean of the measurements of a downsampled interval (so the
// counts may be fractional).
type HistoryPoint struct {
	// Time is the measurement's time, or the start of the interval the
	// point averages (unix seconds).
	Time int64 `json:"time"`
	// GPUsTotal is every GPU of the registered nodes; GPUsUsable those
	// jobs could use (healthy, on nodes neither DOWN nor DRAIN);
	// GPUsAllocated those held by running jobs.
	GPUsTotal     float64 `json:"gpus_total"`
	GPUsUsable    float64 `json:"gpus_usable"`
	GPUsAllocated float64 `json:"gpus_allocated"`
	// Running and Pending count jobs (an array's record with pending tasks
	// counts its tasks); PendingGPUs is the GPUs the pending jobs ask for.
	Running     float64 `json:"running"`
	Pending     float64 `json:"pending"`
	PendingGPUs float64 `json:"pending_gpus"`
	// Partitions are the same figures per partition, by name.
	Partitions []PartitionPoint `json:"partitions,omitempty"`
	// Accounts are the GPUs each account holds in each partition against
	// its guarantee, ordered by partition, then account.
	Accounts []AccountPoint `json:"accounts,omitempty"`
}

// PartitionPoint is one partition's GPU figures in a HistoryPoint. A node
// in several partitions counts in each.
type PartitionPoint struct {
	Partition     string  `json:"partition"`
	GPUsTotal     float64 `json:"gpus_total"`
	GPUsUsable    float64 `json:"gpus_usable"`
	GPUsAllocated float64 `json:"gpus_allocated"`
	Running       float64 `json:"running"`
	Pending       float64 `json:"pending"`
	PendingGPUs   float64 `json:"pending_gpus"`
}

// AccountPoint is one account's GPUs in one partition: the production
// report's Figure 1. Running jobs count against the nearest account, from
// their own up, with a guarantee in the partition (as the scheduler counts
// them); accounts with no guarantee anywhere above them count as
// themselves.
type AccountPoint struct {
	Account   string `json:"account"`
	Partition string `json:"partition"`
	// Guarantee is the account's guaranteed GPUs in the partition (0: none).
	Guarantee float64 `json:"guarantee"`
	// InUse is the GPUs its running jobs hold.
	InUse float64 `json:"in_use"`
	// Borrowed is what it holds beyond its guarantee (InUse - Guarantee
	// when positive).
	Borrowed float64 `json:"borrowed"`
	// Lent is the part of its unused guarantee that other accounts'
	// borrowing occupies: the partition's borrowing beyond its unguaranteed
	// GPUs, shared among the accounts below their guarantee in proportion
	// to what each leaves unused. It is what a reclaim can take back.
	Lent float64 `json:"lent"`
	// Pending is its pending jobs in the partition; PendingGPUs the GPUs
	// they ask for.
	Pending     float64 `json:"pending"`
	PendingGPUs float64 `json:"pending_gpus"`
}

// HistorySeries is the history at one resolution: points StepSecs apart
// (each the mean of its interval's measurements), oldest first, covering
// at most SpanSecs. The last point may cover an interval not yet over.
type HistorySeries struct {
	StepSecs int64          `json:"step_secs"`
	SpanSecs int64          `json:"span_secs"`
	Points   []HistoryPoint `json:"points"`
}

// HistoryResponse is GET /v1/history: the figures now (measured for the
// request) and the controller's recent history, finest resolution first.
// The history is kept in each controller's memory from its own replicated
// state, so it starts again when the controller restarts.
type HistoryResponse struct {
	Index  uint64          `json:"index"`
	Now    HistoryPoint    `json:"now"`
	Series []HistorySeries `json:"series"`
	// Controller is the controller that kept this history.
	Controller string `json:"controller"`
}

// Alert names (Alert.Name).
const (
	AlertNodeDown       = "NodeDown"
	AlertNodeDrained    = "NodeDrained"
	AlertGPUUnhealthy   = "GPUUnhealthy"
	AlertIdleGPUsWait   = "IdleGPUsWhileJobsWait"
	AlertLongPendingJob = "LongPendingJob"
)

// Alert severities.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
)

// Alert is a condition the controller sees in its state.
type Alert struct {
	// Name is the rule (AlertNodeDown, ...); Severity critical or warning.
	Name     string `json:"name"`
	Severity string `json:"severity"`
	// Summary says what is wrong, in words.
	Summary string `json:"summary"`
	// The object the alert is about, where it names one.
	Node      string `json:"node,omitempty"`
	GPU       *int   `json:"gpu,omitempty"` // GPU index on Node
	Partition string `json:"partition,omitempty"`
	Account   string `json:"account,omitempty"`
	JobID     JobID  `json:"job_id,omitempty"`
	// Since is when this controller first saw the condition (unix
	// seconds); ForSecs is how long it must hold before the alert fires.
	Since   int64 `json:"since"`
	ForSecs int64 `json:"for_secs,omitempty"`
	// Firing is true once the condition has held for ForSecs; before, the
	// alert is pending.
	Firing bool `json:"firing"`
}

// AlertsResponse is GET /v1/alerts: firing alerts first (critical before
// warning), then pending ones.
type AlertsResponse struct {
	Index  uint64  `json:"index"`
	Now    int64   `json:"now"`
	Alerts []Alert `json:"alerts"`
}

// DashboardInfo is GET /v1/dashboard: what the web dashboard shows around
// the cluster's data.
type DashboardInfo struct {
	// Controller is the controller answering.
	Controller string `json:"controller"`
	// PrometheusURL and GrafanaURL link to the cluster's Prometheus and
	// Grafana when configured (ctld --prometheus-url, --grafana-url).
	PrometheusURL string `json:"prometheus_url,omitempty"`
	GrafanaURL    string `json:"grafana_url,omitempty"`
	// HistoryIntervalSecs is how often the controller samples its history.
	HistoryIntervalSecs int64 `json:"history_interval_secs"`
	// ExplainPending is how many pending jobs of a queue page the
	// dashboard explains (GET /v1/jobs/{id}/explain) for their start range.
	ExplainPending int `json:"explain_pending"`
}
