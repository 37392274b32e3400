// Package client is the Go client of the Fairway controller's /v1 HTTP API, used
// by the node daemon and the command-line tools.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
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
	// attemptTimeout bounds one request to one controller.
	attemptTimeout time.Duration
	// retryFor is how long a request no controller could take is retried.
	retryFor time.Duration
	// err is a configuration error (an unreadable CA bundle), returned by
	// every request.
	err error
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
	// AttemptTimeout bounds one request to one controller; 0 means
	// AttemptTimeout.
	AttemptTimeout time.Duration
	// RetryFor is how long a request no controller could take is retried;
	// 0 means RetryUnavailable, a negative value not at all.
	RetryFor time.Duration
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
	c := &Client{http: &http.Client{}, auth: DefaultAuth(), attemptTimeout: opts.AttemptTimeout}
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
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		c.http.Transport = tr
	}
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

// Addrs returns the controller base URLs the client uses.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// do sends a request to the first controller that answers and decodes the JSON
// answer into out (if non-nil). It returns the response's raft index header.
//
// While no controller can answer because none knows a raft leader yet (an
// election, or a controller catching up after a restart: 503), it retries for
// up to RetryUnavailable.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (uint64, error) {
	deadline := time.Now().Add(c.retryFor)
	for {
		idx, err := c.doOnce(ctx, method, path, in, out)
		if err == nil || !retryable(ctx, err) || time.Now().After(deadline) {
			return idx, err
		}
		select {
		case <-ctx.Done():
			return idx, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// RetryUnavailable is how long a request is retried while no controller
// can take it: every controller answers 503 (an election, a replica
// catching up) or cannot be reached.
const RetryUnavailable = 15 * time.Second

// AttemptTimeout is the default bound on one request to one controller
// (Options.AttemptTimeout; blocking queries, which name their own wait,
// excepted): a frozen controller must not stall a command.
const AttemptTimeout = 10 * time.Second

// unreachedError is a request no controller received (every connection
// failed): it can be sent again without being applied twice.
type unreachedError struct{ err error }

func (e *unreachedError) Error() string { return e.err.Error() }
func (e *unreachedError) Unwrap() error { return e.err }

// retryable reports whether a request that failed with err may be sent
// again: no controller received it, or the controllers answered 503 (not
// applied, no leader yet).
func retryable(ctx context.Context, err error) bool {
	var apiErr *Error
	var unreached *unreachedError
	switch {
	case errors.As(err, &unreached):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Status == http.StatusServiceUnavailable || apiErr.Status == http.StatusInternalServerError && isIdempotent(ctx)
	}
	// A keyed submission that reached a controller without an answer.
	return isIdempotent(ctx)
}

// doOnce tries the controllers in turn. A controller that cannot be
// reached, answers 503, or (for reads) fails in any other way is skipped
// for the next. A write that reached a controller but got no answer is not
// sent elsewhere: it may have been applied, and the error says so.
func (c *Client) doOnce(ctx context.Context, method, path string, in, out any) (uint64, error) {
	if c.err != nil {
		return 0, c.err
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
	}
	// A write that may have been applied is not sent again, unless it is
	// idempotent (a keyed submission).
	write := method != http.MethodGet && method != http.MethodHead && !isIdempotent(ctx)
	blocking := strings.Contains(path, "wait=")
	var unavailable, lastErr error
	reached := false
	for _, base := range c.addrs {
		idx, sent, err := c.attempt(ctx, method, base, path, body, in != nil, out, blocking)
		if err == nil {
			return idx, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		var apiErr *Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
			unavailable, reached = err, true // not applied here; try the next controller
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusInternalServerError && isIdempotent(ctx):
			unavailable, reached = err, true // outcome unknown: the key makes sending it again safe
		case errors.As(err, &apiErr):
			return idx, err
		case !sent:
			lastErr = err // never reached this controller
		case write:
			return 0, fmt.Errorf("%w: the request may or may not have been applied; check before sending it again", err)
		default:
			lastErr, reached = err, true
		}
	}
	switch {
	case unavailable != nil:
		return 0, unavailable
	case lastErr == nil:
		return 0, errors.New("no controller address configured")
	case !reached:
		return 0, &unreachedError{err: lastErr}
	}
	return 0, lastErr
}

// attempt sends one request to one controller. sent is false when the
// connection could not be made (the controller did not receive it).
func (c *Client) attempt(ctx context.Context, method, base, path string, body []byte, hasBody bool, out any, blocking bool) (idx uint64, sent bool, err error) {
	if !blocking {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.attemptTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	authErr := c.auth.Authenticate(ctx, req, body)
	resp, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		dialFailed := errors.As(err, &opErr) && opErr.Op == "dial"
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", c.attemptTimeout)
		}
		return 0, !dialFailed, fmt.Errorf("controller %s: %w", base, err)
	}
	idx, err = decode(resp, out)
	var apiErr *Error
	if err != nil && authErr != nil && errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		apiErr.Msg += " (" + authErr.Error() + ")"
	}
	return idx, true, err
}

func decode(resp *http.Response, out any) (uint64, error) {
	defer resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 64)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return idx, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e api.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return idx, &Error{Status: resp.StatusCode, Msg: e.Error, Field: e.Field}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return idx, fmt.Errorf("decode response: %w", err)
		}
	}
	return idx, nil
}

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

// idempotentKey marks a request context whose write may be sent again.
type idempotentKey struct{}

func withIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func isIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// JobFilter selects jobs in Jobs.
type JobFilter struct {
	All  bool // include finished jobs still retained
	IDs  []api.JobID
	User string
}

// Jobs lists jobs.
func (c *Client) Jobs(ctx context.Context, f JobFilter, q QueryOptions) (*api.JobsResponse, error) {
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
	if f.User != "" {
		v.Set("user", f.User)
	}
	var resp api.JobsResponse
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/jobs", q.values(v)), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
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
func (c *Client) Heartbeat(ctx context.Context, node string, req api.HeartbeatRequest) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/heartbeat", req, nil)
	return err
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
