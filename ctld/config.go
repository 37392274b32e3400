package ctld

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/alerts"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched"
)

// Defaults of the controller's settings.
const (
	// DefaultSchedInterval is how often the leader runs a scheduling pass when
	// nothing changes.
	DefaultSchedInterval = time.Second
	// DefaultNodeDownAfter is used when the cluster configuration sets no
	// NodeDownAfterSecs.
	DefaultNodeDownAfter = time.Duration(api.DefaultNodeDownAfterSecs) * time.Second
	// DefaultJobRetention is used when the cluster configuration sets no
	// JobRetentionSecs.
	DefaultJobRetention = 7 * 24 * time.Hour
	// MaxBlockingWait caps the wait of a blocking query; it is also the wait
	// of a query that gives an index and no wait.
	MaxBlockingWait = 5 * time.Minute
	// DefaultUsageInterval is how often the leader commits the fair-share
	// usage accrual (raftstore.AccrueUsage).
	DefaultUsageInterval = 30 * time.Second
)

// Config configures one controller.
type Config struct {
	// ID names this controller in the raft configuration.
	ID string
	// DataDir holds the raft log, stable store and snapshots.
	DataDir string
	// HTTPAddr is the host:port the API listens on and the address other
	// controllers forward writes to; it must be reachable by them.
	HTTPAddr string
	// Listener, when set, is used for the API instead of listening on
	// HTTPAddr (tests pass a listener on 127.0.0.1:0). HTTPAddr defaults to
	// its address.
	Listener net.Listener
	// RaftAddr is the host:port of the raft transport.
	RaftAddr string
	// Bootstrap creates a new cluster of Peers (or of this controller alone
	// when Peers is empty) if DataDir holds no raft state yet.
	Bootstrap bool
	// Peers is the initial raft configuration for Bootstrap, this controller
	// included.
	Peers []raftstore.Peer
	// Join, when set, is the HTTP address of a running controller; this
	// controller asks it (POST /v1/cluster/join) to add it as a voter, and
	// retries until that succeeds.
	Join string
	// RaftTimingMultiplier scales raft's timeouts (raftstore.Config's
	// TimingMultiplier: 500 ms at 1, the default) for controllers starved
	// of CPU or far apart; every controller of a cluster should use the
	// same.
	RaftTimingMultiplier int
	// ClusterConfigFile is a JSON api.ClusterConfig applied by the first
	// leader when the replicated state has no configuration yet. Without it,
	// DefaultClusterConfig is applied.
	ClusterConfigFile string
	// SchedInterval is how often the leader schedules when nothing changes
	// (DefaultSchedInterval when 0). Any state change also triggers a pass,
	// debounced by 50 ms.
	SchedInterval time.Duration
	// NodeDownAfter, when non-zero, overrides the cluster configuration's
	// NodeDownAfterSecs. It must be more than the configuration's fencing
	// deadline (api.ClusterConfig.FenceDeadline; 17 s by default); the
	// leader never uses less than a second past it.
	NodeDownAfter time.Duration
	// Scheduler computes the plans (sched.New(), the multifactor scheduler,
	// when nil).
	Scheduler sched.Scheduler
	// UsageInterval is how often the leader accrues fair-share usage
	// (DefaultUsageInterval when 0). Usage is also accrued when a controller
	// becomes leader; runs that end in between are charged as they end.
	UsageInterval time.Duration
	// Clock returns the current time (time.Now when nil). Submit times,
	// heartbeats, time limits and liveness use it.
	Clock func() time.Time
	// Logger receives the controller's logs (slog.Default when nil).
	Logger *slog.Logger

	// identify, when set, replaces Controller.identify (tests give callers
	// identities with it; see export_test.go).
	identify func(*http.Request) Identity
	// MungeSocket is the socket of the munged that decodes users' MUNGE
	// credentials (munge.DefaultSocket when empty). It must share the
	// cluster's munge key with the hosts users submit from.
	MungeSocket string
	// JWTKeyFile is the cluster's HS256 key for Slurm auth/jwt tokens
	// (Slurm's jwt_hs256.key, at least 32 bytes). Without it, tokens are
	// neither accepted nor issued.
	JWTKeyFile string
	// InsecureNoAuth trusts requests without credentials for who they claim
	// to be (the job spec's user, the node in the path), as before
	// authentication existed. Requests with credentials are still verified.
	// For tests and single-user setups only; a warning is logged at start.
	InsecureNoAuth bool
	// TLS, when set, are the controller's credentials: a certificate naming
	// fairway://controller/<ID> under the cluster CA. The API is then served
	// over HTTPS, requesting (not requiring) client certificates and
	// verifying those presented against the CA; node routes require the
	// node's certificate, joining requires a controller's; forwarding to the
	// leader and joining present this certificate; raft is mutual TLS. Nil
	// serves plain HTTP and raft over plain TCP, trusting every claim
	// (insecure: a warning is logged).
	TLS *pki.Credentials

	// DeadControllerRemoveAfter, when non-zero, makes the leader remove a
	// controller whose heartbeats have failed for longer from the raft
	// configuration (like Consul autopilot's dead server cleanup), never
	// leaving fewer than MinQuorum voters nor breaking the quorum of the
	// controllers that answer. 0 (the default) never removes one.
	DeadControllerRemoveAfter time.Duration
	// MinQuorum is the fewest voters the dead-controller removal leaves
	// (DefaultMinQuorum when 0).
	MinQuorum int

	// PrometheusURL and GrafanaURL, when set, are linked from the web
	// dashboard (absolute http or https URLs).
	PrometheusURL string
	GrafanaURL    string
	// HistoryInterval is how often the controller measures its state for
	// the dashboard's history and evaluates its alerts
	// (DefaultHistoryInterval when 0).
	HistoryInterval time.Duration
	// Alerts are the thresholds of the alerts the controller evaluates
	// itself (GET /v1/alerts); zero fields take alerts' defaults.
	Alerts alerts.Rules
	// Estimates configures the leader's start-time estimates and what-if
	// replays (see EstimateConfig).
	Estimates EstimateConfig
}

// DefaultHistoryInterval is how often a controller samples its history and
// evaluates its alerts when Config.HistoryInterval is 0.
const DefaultHistoryInterval = 15 * time.Second

// DefaultMinQuorum is the fewest voters the leader's dead-controller
// removal leaves when Config.MinQuorum is 0.
const DefaultMinQuorum = 3

// DefaultClusterConfig is the configuration a new cluster starts with when
// no ClusterConfigFile is given: one default partition "main" without a
// maximum time limit, a default time limit of one hour and requeue on
// preemption; nodes DOWN after 30 s without heartbeat; finished jobs kept for
// seven days.
func DefaultClusterConfig() api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{{
			Name:            "main",
			Default:         true,
			DefaultTimeSecs: 3600,
			PreemptMode:     api.PreemptRequeue,
		}},
		NodeDownAfterSecs: int64(DefaultNodeDownAfter / time.Second),
		JobRetentionSecs:  int64(DefaultJobRetention / time.Second),
	}
}

// LoadClusterConfig reads and validates a JSON cluster configuration file.
// Unknown fields are errors, so that a misspelt setting is not ignored.
func LoadClusterConfig(path string) (api.ClusterConfig, error) {
	var cfg api.ClusterConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read cluster config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("parse cluster config %s: %w", path, err)
	}
	if err := api.ValidateConfig(&cfg); err != nil {
		return cfg, fmt.Errorf("cluster config %s: %w", path, err)
	}
	return cfg, nil
}

// withDefaults fills the zero settings and checks the required ones.
func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		return c, fmt.Errorf("controller config: ID is required")
	}
	if c.DataDir == "" {
		return c, fmt.Errorf("controller config: DataDir is required")
	}
	if c.RaftAddr == "" {
		return c, fmt.Errorf("controller config: RaftAddr is required")
	}
	if c.HTTPAddr == "" && c.Listener == nil {
		return c, fmt.Errorf("controller config: HTTPAddr is required")
	}
	if c.TLS != nil && c.TLS.Identity != pki.Controller(c.ID) {
		return c, fmt.Errorf("controller config: the TLS certificate names %s, not %s", c.TLS.Identity, pki.Controller(c.ID))
	}
	if c.NodeDownAfter > 0 {
		cluster := DefaultClusterConfig()
		if c.ClusterConfigFile != "" {
			var err error
			if cluster, err = LoadClusterConfig(c.ClusterConfigFile); err != nil {
				return c, fmt.Errorf("controller config: %w", err)
			}
		}
		if deadline := time.Duration(cluster.FenceDeadline()) * time.Second; c.NodeDownAfter <= deadline {
			return c, fmt.Errorf("controller config: node-down-after %s must be more than the nodes' lease + fence grace + kill wait (%s): "+
				"a node cut off from the controllers must have stopped its jobs before they are requeued", c.NodeDownAfter, deadline)
		}
	}
	if c.DeadControllerRemoveAfter < 0 {
		return c, fmt.Errorf("controller config: DeadControllerRemoveAfter is %v; it must be 0 (off) or positive", c.DeadControllerRemoveAfter)
	}
	switch {
	case c.MinQuorum < 0:
		return c, fmt.Errorf("controller config: MinQuorum is %d; it must be 0 (the default, %d) or positive", c.MinQuorum, DefaultMinQuorum)
	case c.MinQuorum == 0:
		c.MinQuorum = DefaultMinQuorum
	}
	for _, u := range []struct{ flag, value string }{{"prometheus-url", c.PrometheusURL}, {"grafana-url", c.GrafanaURL}} {
		if err := checkLinkURL(u.value); err != nil {
			return c, fmt.Errorf("controller config: --%s %q: %w", u.flag, u.value, err)
		}
	}
	if c.HistoryInterval < 0 {
		return c, fmt.Errorf("controller config: --history-interval %v: it must be positive (0: %v)", c.HistoryInterval, DefaultHistoryInterval)
	}
	if c.HistoryInterval == 0 {
		c.HistoryInterval = DefaultHistoryInterval
	}
	if c.Alerts.PendingAge < 0 || c.Alerts.IdleGPUsFor < 0 {
		return c, fmt.Errorf("controller config: alert durations must be positive (0: the default), not %v and %v", c.Alerts.PendingAge, c.Alerts.IdleGPUsFor)
	}
	if c.SchedInterval <= 0 {
		c.SchedInterval = DefaultSchedInterval
	}
	if c.Scheduler == nil {
		c.Scheduler = sched.New()
	}
	if c.UsageInterval <= 0 {
		c.UsageInterval = DefaultUsageInterval
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// nodeDownAfter is how long a node may go without heartbeat before it is
// marked DOWN.
//
// It is never less than a second past the fencing deadline (lease, fence
// grace and kill wait): a node cut off from the controllers must have
// stopped its jobs before they are requeued. ValidateConfig refuses cluster
// configurations that break this, and New refuses a NodeDownAfter override
// that does; the floor here holds when a later configuration raises the
// lease under an override.
func (c *Controller) nodeDownAfter(cfg *api.ClusterConfig) time.Duration {
	after := time.Duration(cfg.NodeDownAfter()) * time.Second
	if c.cfg.NodeDownAfter > 0 {
		after = c.cfg.NodeDownAfter
	}
	return max(after, time.Duration(cfg.FenceDeadline()+1)*time.Second)
}

// jobRetention is how long finished jobs are kept.
func jobRetention(cfg *api.ClusterConfig) time.Duration {
	if cfg.JobRetentionSecs > 0 {
		return time.Duration(cfg.JobRetentionSecs) * time.Second
	}
	return DefaultJobRetention
}

// checkLinkURL accepts "" or an absolute http(s) URL (a dashboard link).
func checkLinkURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an absolute http:// or https:// URL")
	}
	return nil
}
