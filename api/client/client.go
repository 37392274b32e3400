// Package client is the Go client of the Fairway controller's /v1 HTTP API, used
// by the node daemon and the command-line tools.
package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/pki"
)

// EnvAddr names the environment variable holding the controller address(es),
// a comma-separated list of base URLs or host:port pairs.
const EnvAddr = "FAIRWAY_ADDR"

// EnvCA names the environment variable holding the cluster CA bundle that
// verifies the controllers' certificates: a PEM file's path, or the PEM text
// itself (the node daemon hands jobs the text, which needs no file inside a
// container).
const EnvCA = "FAIRWAY_CA"

// EnvRetrySecs names the environment variable that bounds, in seconds, how
// long the commands retry a request no controller could take (elections,
// restarts); 0 does not retry. Default RetryUnavailable.
const EnvRetrySecs = "FAIRWAY_RETRY_SECS"

// EnvConsistent names the environment variable that turns the commands'
// linearizable reads (Options.Consistent) off ("0", "false") or on for
// every command ("1", "true"); unset, squeue, sacct and scontrol read
// consistently.
const EnvConsistent = "FAIRWAY_CONSISTENT"

// EnvCheckpointDone names the environment variable the node daemon sets in
// every job: the command that reports a completed checkpoint to the
// controller ("/path/to/fairway checkpoint done"; the client binary's path
// as the job sees it, without quotes), for a job to run unquoted,
// $FAIRWAY_CHECKPOINT_DONE, after each checkpoint it saves.
const EnvCheckpointDone = "FAIRWAY_CHECKPOINT_DONE"

// DefaultCAFile is the CA bundle used when neither Options.CA nor
// FAIRWAY_CA names one and the file exists.
const DefaultCAFile = "/etc/fairway/ca.pem"

// DefaultAddr is used when neither an address nor FAIRWAY_ADDR is given
// (https://127.0.0.1:6817 when a CA bundle is configured).
const DefaultAddr = "http://127.0.0.1:6817"

// Error is an error answered by the controller.
type Error struct {
	Status int
	Msg    string
	Field  string
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

// IsNotFound reports whether err is a 404 from the controller.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Client talks to one or more controllers. Requests go to the first address
// that answers; a controller that is not the leader forwards writes itself.
type Client struct {
	addrs []string
	http  *http.Client
	auth  Auth
	// attemptTimeout bounds one request to one controller's silence:
	// before its answer starts and between reads of it.
	attemptTimeout time.Duration
	// retryFor is how long a request no controller could take is retried.
	retryFor time.Duration
	// err is a configuration error (an unreadable CA bundle), returned by
	// every request.
	err error
	// consistent makes every GET a linearizable read (?consistent=1).
	consistent bool
	// preferred is the index in addrs of the controller that answered last:
	// requests try it first, so a frozen or unreachable controller costs
	// one timeout, not one per request. Shared by the client's copies.
	preferred *atomic.Int32
}

// Options configure a Client.
type Options struct {
	// Addrs is the comma-separated list of controller addresses; "" means
	// $FAIRWAY_ADDR, then DefaultAddr. An address without a scheme gets
	// https:// when TLS is configured, else http://.
	Addrs string
	// CA is the CA bundle verifying the controllers' certificates: a PEM
	// file's path or PEM text. "" means DefaultCAFile when it exists, else
	// the system's roots (and plain http:// for addresses without a scheme).
	// Ignored when TLS is set.
	CA string
	// TLS, when set, is the TLS configuration used as is (the daemons':
	// their client certificate, the CA, the controller identity check).
	TLS *tls.Config
	// AttemptTimeout bounds how long one controller may stay silent on a
	// request: before its answer starts, and between reads of the answer;
	// 0 means AttemptTimeout.
	AttemptTimeout time.Duration
	// RetryFor is how long a request no controller could take is retried;
	// 0 means RetryUnavailable, a negative value not at all.
	RetryFor time.Duration
	// Consistent makes every read linearizable (?consistent=1): the leader
	// answers (a follower forwards the read) after confirming its
	// leadership, from a state that includes every write acknowledged
	// before the read, at the price of a quorum round trip. Without it a
	// read may be answered by any controller from its replica, which can
	// lag the leader by a few milliseconds.
	Consistent bool
}

// New returns a client for the given comma-separated addresses; empty means
// $FAIRWAY_ADDR, then DefaultAddr. The CA bundle comes from $FAIRWAY_CA, then
// DefaultCAFile.
func New(addrs string) *Client {
	return NewWithOptions(Options{Addrs: addrs, CA: os.Getenv(EnvCA)})
}

// NewWithOptions returns a client configured by opts. A CA bundle that
// cannot be read makes every request fail with the reason.
func NewWithOptions(opts Options) *Client {
	c := &Client{http: &http.Client{}, auth: DefaultAuth(), attemptTimeout: opts.AttemptTimeout, consistent: opts.Consistent,
		preferred: new(atomic.Int32)}
	if c.attemptTimeout <= 0 {
		c.attemptTimeout = AttemptTimeout
	}
	switch c.retryFor = opts.RetryFor; {
	case c.retryFor == 0:
		c.retryFor = RetryUnavailable
	case c.retryFor < 0:
		c.retryFor = 0
	}
	tlsCfg := opts.TLS
	if tlsCfg == nil {
		var err error
		if tlsCfg, err = caConfig(opts.CA); err != nil {
			c.err = err
		}
	}
	scheme := "http://"
	if tlsCfg != nil {
		scheme = "https://"
	}
	c.http.Transport = NewTransport(tlsCfg)
	addrs := opts.Addrs
	if addrs == "" {
		addrs = os.Getenv(EnvAddr)
	}
	if addrs == "" {
		addrs = strings.TrimPrefix(DefaultAddr, "http://")
	}
	for _, a := range strings.Split(addrs, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = scheme + a
		}
		c.addrs = append(c.addrs, strings.TrimRight(a, "/"))
	}
	return c
}

// caConfig is the TLS configuration for a CA bundle (a path or PEM text;
// "": DefaultCAFile if it exists), or nil for none.
func caConfig(ca string) (*tls.Config, error) {
	var data []byte
	switch {
	case strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN"):
		data = []byte(ca)
	case ca != "":
		var err error
		if data, err = os.ReadFile(ca); err != nil {
			return nil, fmt.Errorf("CA bundle ($%s): %w", EnvCA, err)
		}
	default:
		var err error
		if data, err = os.ReadFile(DefaultCAFile); err != nil {
			return nil, nil
		}
		ca = DefaultCAFile
	}
	pool, err := pki.ParseCAPool(data)
	if err != nil {
		return nil, fmt.Errorf("CA bundle %s: %w", caName(ca), err)
	}
	return pki.ServerCAConfig(pool), nil
}

// caName names a CA setting in messages: a path, or "($FAIRWAY_CA)" for PEM
// text.
func caName(ca string) string {
	if strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN") {
		return "($" + EnvCA + ")"
	}
	return ca
}

// WithConsistent returns a copy of the client whose reads are linearizable
// (on) or may be answered by any controller's replica (off); see
// Options.Consistent.
func (c *Client) WithConsistent(on bool) *Client {
	cp := *c
	cp.consistent = on
	return &cp
}

// Addrs returns the controller base URLs the client uses.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// QueryOptions are the blocking-query parameters of a read.
type QueryOptions struct {
	WaitIndex uint64        // return when the state index exceeds this
	WaitTime  time.Duration // at most this long
}

func (q QueryOptions) values(v url.Values) url.Values {
	if v == nil {
		v = url.Values{}
	}
	if q.WaitIndex > 0 {
		v.Set("index", strconv.FormatUint(q.WaitIndex, 10))
	}
	if q.WaitTime > 0 {
		v.Set("wait", q.WaitTime.String())
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// Submit submits jobs atomically and returns their IDs.
//
// The submission carries a random idempotency key, so it is safe to send
// again when its answer was lost (a controller that froze or lost its
// leadership after proposing it): the controller returns the jobs the first
// one created. Submit therefore retries such submissions too, on every
// controller, within the retry window.
func (c *Client) Submit(ctx context.Context, specs ...api.JobSpec) ([]api.JobID, error) {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("submission key: %w", err)
	}
	var resp api.SubmitResponse
	req := api.SubmitRequest{Jobs: specs, Key: hex.EncodeToString(key[:])}
	if _, err := c.do(withIdempotent(ctx), http.MethodPost, "/v1/jobs", req, &resp); err != nil {
		return nil, err
	}
	return resp.IDs, nil
}

// JobFilter selects jobs in Jobs. The controller applies every field that
// is set (a job must pass each), so a command that shows a few jobs gets
// those alone instead of every job. Controllers before these filters
// existed apply only All, IDs and one user name (User, or Users with one
// name) and ignore the rest, so callers keep filtering what they show
// themselves.
type JobFilter struct {
	All  bool // include finished jobs still retained
	IDs  []api.JobID
	User string
	// Users are more users (names or numeric uids), besides User.
	Users []string
	// States are the only states listed (with All unset, the PENDING and
	// RUNNING among them).
	States []api.JobState
	// Accounts, Partitions (the job's or any it asked for) and Names (job
	// names): only jobs with one of them.
	Accounts   []string
	Partitions []string
	Names      []string
}

// Jobs lists jobs.
func (c *Client) Jobs(ctx context.Context, f JobFilter, q QueryOptions) (*api.JobsResponse, error) {
	var resp api.JobsResponse
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/jobs", q.values(f.values())), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// values is the filter as GET /v1/jobs's query parameters.
func (f JobFilter) values() url.Values {
	v := url.Values{}
	if f.All {
		v.Set("all", "1")
	}
	if len(f.IDs) > 0 {
		ids := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id.String()
		}
		v.Set("id", strings.Join(ids, ","))
	}
	users := f.Users
	if f.User != "" {
		users = append([]string{f.User}, f.Users...)
	}
	switch {
	case len(users) == 1:
		v.Set("user", users[0])
	case len(users) > 1:
		// A controller before the list filters compares user= with each
		// job's user name; it ignores users=.
		v.Set("users", strings.Join(users, ","))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		v.Set("state", strings.Join(states, ","))
	}
	for _, p := range []struct {
		key  string
		list []string
	}{{"account", f.Accounts}, {"partition", f.Partitions}, {"name", f.Names}} {
		if len(p.list) > 0 {
			v.Set(p.key, strings.Join(p.list, ","))
		}
	}
	return v
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id api.JobID) (*api.Job, error) {
	var job api.Job
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+id.String(), nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// Cancel cancels a job, or sends it a signal when signal is non-empty.
func (c *Client) Cancel(ctx context.Context, id api.JobID, signal string) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+id.String()+"/cancel", api.CancelRequest{Signal: signal}, nil)
	return err
}

// CancelRef cancels (or, with req.Signal, signals) a job or one task of a
// job array: ref "12" is job 12 — every task of the array when 12 is an
// array job ID, unless req.JobOnly — and "12_3" is task 3 of array 12 only.
func (c *Client) CancelRef(ctx context.Context, ref api.JobRef, req api.CancelRequest) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+ref.String()+"/cancel", req, nil)
	return err
}

// JobRef returns a job by reference: a job ID, or ARRAYID_TASK for a task of
// a job array (the array's record while the task has not started).
func (c *Client) JobRef(ctx context.Context, ref api.JobRef) (*api.Job, error) {
	var job api.Job
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+ref.String(), nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// JobAction holds, releases or requeues (action "hold", "release",
// "requeue") a job or a started task of a job array ("12_3").
func (c *Client) JobAction(ctx context.Context, ref api.JobRef, action string) error {
	switch action {
	case "hold", "release", "requeue":
	default:
		return fmt.Errorf("job action %q: want hold, release or requeue", action)
	}
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+ref.String()+"/"+action, nil, nil)
	return err
}

// PriorityFilter selects the pending jobs Priorities reports.
type PriorityFilter struct {
	IDs   []api.JobID
	Users []string
}

// Priorities returns the priority factors of pending jobs (sprio).
func (c *Client) Priorities(ctx context.Context, f PriorityFilter) (*api.PrioritiesResponse, error) {
	v := url.Values{}
	if len(f.IDs) > 0 {
		ids := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id.String()
		}
		v.Set("id", strings.Join(ids, ","))
	}
	if len(f.Users) > 0 {
		v.Set("user", strings.Join(f.Users, ","))
	}
	var resp api.PrioritiesResponse
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/priorities", v), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Shares returns the fair-share tree with usage (sshare).
func (c *Client) Shares(ctx context.Context) (*api.SharesResponse, error) {
	var resp api.SharesResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/shares", nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Hold holds a pending job.
func (c *Client) Hold(ctx context.Context, id api.JobID) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+id.String()+"/hold", nil, nil)
	return err
}

// Release releases a held job.
func (c *Client) Release(ctx context.Context, id api.JobID) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+id.String()+"/release", nil, nil)
	return err
}

// Requeue stops a running job and returns it to PENDING with the same ID.
func (c *Client) Requeue(ctx context.Context, id api.JobID) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+id.String()+"/requeue", nil, nil)
	return err
}

// EndGrace tells the controller that a job being stopped (preempted,
// requeued) has saved its checkpoint: its node ends the grace time at once
// (fairway checkpoint done). ref is a job ID or a started array task
// ("12_3"). It is a 409 error when the job is not being stopped.
func (c *Client) EndGrace(ctx context.Context, ref api.JobRef) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+ref.String()+"/end-grace", nil, nil)
	return err
}

// RecordCheckpoint tells the controller that a running job completed a
// checkpoint (fairway checkpoint done): the controller records the time
// (Job.LastCheckpoint), so a preemption loses only the work since; a job
// being stopped (preempted, requeued) also has its grace time ended, as
// EndGrace. ref is a job ID or a started array task ("12_3"). It is a 409
// error when the job is not running.
func (c *Client) RecordCheckpoint(ctx context.Context, ref api.JobRef) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+ref.String()+"/checkpoint", nil, nil)
	return err
}

// Nodes lists nodes.
func (c *Client) Nodes(ctx context.Context, q QueryOptions) (*api.NodesResponse, error) {
	var resp api.NodesResponse
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/nodes", q.values(nil)), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Partitions lists partitions.
func (c *Client) Partitions(ctx context.Context) (*api.PartitionsResponse, error) {
	var resp api.PartitionsResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/partitions", nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Config returns the cluster configuration.
func (c *Client) Config(ctx context.Context) (*api.ClusterConfig, error) {
	var cfg api.ClusterConfig
	if _, err := c.do(ctx, http.MethodGet, "/v1/config", nil, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// SetConfig replaces the cluster configuration.
func (c *Client) SetConfig(ctx context.Context, cfg api.ClusterConfig) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/config", cfg, nil)
	return err
}

// ChangeAssociations sends a sacctmgr change (add, modify or delete of
// accounts, users' associations or QOS; POST /v1/assoc) and returns what
// it changed, or with req.DryRun what it would change.
func (c *Client) ChangeAssociations(ctx context.Context, req api.AssocRequest) (*api.AssocResult, error) {
	var res api.AssocResult
	if _, err := c.do(ctx, http.MethodPost, "/v1/assoc", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Status describes the controller that answers.
func (c *Client) Status(ctx context.Context) (*api.StatusResponse, error) {
	var s api.StatusResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// RegisterNode registers (or re-registers) a node daemon.
func (c *Client) RegisterNode(ctx context.Context, req api.RegisterNodeRequest) (*api.RegisterNodeResponse, error) {
	var resp api.RegisterNodeResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/register", req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Heartbeat tells the controller the node is alive.
func (c *Client) Heartbeat(ctx context.Context, node string, req api.HeartbeatRequest) (api.HeartbeatResponse, error) {
	var out api.HeartbeatResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/heartbeat", req, &out)
	return out, err
}

// ReportEvents sends job events; they are committed when it returns nil.
func (c *Client) ReportEvents(ctx context.Context, node string, events []api.JobEvent) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/events", api.EventsRequest{Events: events}, nil)
	return err
}

// NodeJobs returns the jobs allocated on a node, blocking per q.
func (c *Client) NodeJobs(ctx context.Context, node string, q QueryOptions) (*api.JobsResponse, error) {
	var resp api.JobsResponse
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/nodes/"+url.PathEscape(node)+"/jobs", q.values(nil)), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Join asks the controllers to add controller id, at raftAddr, to the raft
// configuration as a voter (POST /v1/cluster/join). With TLS the caller must
// present that controller's certificate or an administrator's.
func (c *Client) Join(ctx context.Context, id, raftAddr string) error {
	req := struct {
		ID       string `json:"id"`
		RaftAddr string `json:"raft_addr"`
	}{id, raftAddr}
	_, err := c.do(ctx, http.MethodPost, "/v1/cluster/join", req, nil)
	return err
}

// Cluster lists the controllers of the raft configuration with their role,
// term, last contact and applied index (GET /v1/cluster).
func (c *Client) Cluster(ctx context.Context) (*api.ClusterResponse, error) {
	var resp api.ClusterResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/cluster", nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// RemoveController asks the leader to remove controller id from the raft
// configuration (POST /v1/cluster/remove); administrators only. It is
// refused (409) when the removal would break the quorum.
func (c *Client) RemoveController(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/cluster/remove", api.RemoveControllerRequest{ID: id}, nil)
	return err
}

// CreateStep records a new step of a running job (srun in an allocation)
// and returns it with its ID.
func (c *Client) CreateStep(ctx context.Context, job api.JobID, req api.StepRequest) (*api.Step, error) {
	var out api.Step
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+job.String()+"/steps", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Steps lists a job's steps (of its current or last run).
func (c *Client) Steps(ctx context.Context, job api.JobID) (*api.StepsResponse, error) {
	var out api.StepsResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+job.String()+"/steps", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportStep sends a node daemon's report of its part of a step.
func (c *Client) ReportStep(ctx context.Context, node string, rep api.StepReport) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/steps", rep, nil)
	return err
}
