// Package ctld is the Fairway controller: the /v1 HTTP API over the
// raft-replicated state (writes on a follower are forwarded to the leader),
// and, on the leader, the scheduling loop that commits plans, the time-limit
// and node-liveness checks, and the garbage collection of old jobs.
package ctld

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// Controller is a running controller. Create it with Start and stop it with
// Close (or use Run).
type Controller struct {
	// established is true while this controller leads and has set up the
	// cluster (initial configuration applied, heartbeat timers reset);
	// writes wait for it, so that, for example, a node cannot register
	// before the partitions it joins exist.
	established atomic.Bool

	cfg     Config
	log     *slog.Logger
	store   *raftstore.Store
	svc     *Service
	metrics *metrics
	preempt *preemptionWatch
	observe *observer // the dashboard's history and alerts
	live    *liveness
	initial api.ClusterConfig // applied by the first leader when the state has none

	ln        net.Listener
	advertise string // HTTP host:port other controllers reach us at
	srv       *http.Server
	transport *http.Transport // forwarding to the leader

	stopCtx context.Context // cancelled by Close: ends loops and blocking queries
	stop    context.CancelFunc
	auth    *authenticator // verifies callers' credentials (identify)
	wg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool

	// estimates are the leader's start-time estimates (estimator.go).
	estimates *estimator

	// prioritiesWrittenAt is when the leader last committed every pending
	// job's changed priority (priorityRewrite); only the leader loop's
	// goroutine uses it.
	prioritiesWrittenAt time.Time
}

// Run starts a controller and blocks until ctx is done, then shuts it down
// cleanly (background loops stopped, HTTP requests drained, raft closed).
// When the replica halts (a raft log entry it cannot apply safely, see
// raftstore.HaltError) it shuts down too and returns the halt error.
func Run(ctx context.Context, cfg Config) error {
	c, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return c.Close()
	case <-c.store.Halted():
	}
	halt := c.store.Err()
	c.log.Error("the replica halted; stopping the controller", "err", halt)
	if err := c.Close(); err != nil {
		return fmt.Errorf("controller %s: %w (and closing: %v)", c.cfg.ID, halt, err)
	}
	return fmt.Errorf("controller %s: %w", c.cfg.ID, halt)
}

// Service is the controller's service layer (for tests and embedding
// tools that call it without HTTP).
func (c *Controller) Service() *Service { return c.svc }

// apply commits a command through the service (latency metrics, typed
// errors).
func (c *Controller) apply(ctx context.Context, cmd raftstore.Command) (raftstore.ApplyResult, error) {
	return c.svc.apply(ctx, cmd)
}

// Start opens the raft store, starts serving the API and the leadership
// watcher, and returns once the API listens. ctx bounds only the start; the
// controller runs until Close.
func Start(ctx context.Context, cfg Config) (*Controller, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	initial := DefaultClusterConfig()
	if cfg.ClusterConfigFile != "" {
		if initial, err = LoadClusterConfig(cfg.ClusterConfigFile); err != nil {
			return nil, err
		}
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("controller %s: listen on %s: %w", cfg.ID, cfg.HTTPAddr, err)
		}
	}
	advertise := cfg.HTTPAddr
	if advertise == "" || strings.HasSuffix(advertise, ":0") {
		advertise = ln.Addr().String()
	}
	base := cfg.Logger.With("controller", cfg.ID)
	log := base.With("component", "ctld")
	auth, err := newAuthenticator(cfg, log)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("controller %s: %w", cfg.ID, err)
	}
	// Requests forwarded to the leader share HTTP/2 connections (a forward
	// abandoned resets its stream, not the connection) and resume TLS
	// sessions when a connection is made again.
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS.HTTPServerConfig())
		transport.TLSClientConfig = cfg.TLS.ClientConfig()
		transport.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	} else {
		log.Warn("INSECURE: serving plain HTTP and raft over plain TCP; anyone who reaches these ports can act as any node or controller",
			"http", advertise, "raft", cfg.RaftAddr)
	}
	// self is the controller once built: the store asks the leader's commit
	// index through its API (leaderCommit) while it catches up.
	var self atomic.Pointer[Controller]
	store, err := raftstore.Open(ctx, raftstore.Config{
		ID:               cfg.ID,
		DataDir:          cfg.DataDir,
		RaftAddr:         cfg.RaftAddr,
		HTTPAddr:         advertise,
		Bootstrap:        cfg.Bootstrap,
		Peers:            cfg.Peers,
		Logger:           base,
		TimingMultiplier: cfg.RaftTimingMultiplier,
		TLS:              cfg.TLS,
		LeaderCommit: func(ctx context.Context) (uint64, error) {
			c := self.Load()
			if c == nil {
				return 0, errors.New("controller starting")
			}
			return c.leaderCommit(ctx)
		},
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("controller %s: %w", cfg.ID, err)
	}
	stopCtx, stop := context.WithCancel(context.Background())
	c := &Controller{
		cfg:       cfg,
		log:       log,
		store:     store,
		live:      newLiveness(),
		initial:   initial,
		ln:        ln,
		advertise: advertise,
		transport: transport,
		stopCtx:   stopCtx,
		stop:      stop,
		auth:      auth,
	}
	c.metrics = newMetrics(store, cfg.Clock)
	c.preempt = newPreemptionWatch()
	c.estimates = newEstimator(cfg.Estimates)
	c.registerEstimateMetrics()
	c.svc = newService(c)
	c.observe = newObserver(cfg)
	c.svc.observe = c.observe
	self.Store(c)
	c.srv = &http.Server{
		Handler:           c.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server failed", "err", err)
		}
	}()
	go func() {
		defer c.wg.Done()
		c.watchLeadership(stopCtx)
	}()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runSampler(stopCtx)
	}()
	if cfg.Join == "" {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.announce(stopCtx)
		}()
	}
	if cfg.Join != "" {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.join(stopCtx)
		}()
	}
	log.Info("controller started", "http", advertise, "raft", cfg.RaftAddr, "tls", cfg.TLS != nil)
	return c, nil
}

// Addr is the HTTP address (host:port) the controller serves and advertises.
func (c *Controller) Addr() string { return c.advertise }

// URL is the controller's API base URL: https://host:port with TLS, else
// http://host:port.
func (c *Controller) URL() string { return c.scheme() + "://" + c.advertise }

// scheme is the URL scheme of the controllers' APIs: https when this one
// serves TLS (the cluster's controllers share the setting).
func (c *Controller) scheme() string {
	if c.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// Store is the controller's raft store (for tests and embedding tools).
func (c *Controller) Store() *raftstore.Store { return c.store }

// Close stops the controller: the leader loop ends, the HTTP server stops
// accepting and waits (up to 10 s) for requests in flight, blocking queries
// return at once, and the raft store is closed. It is safe to call twice.
func (c *Controller) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	httpErr := c.srv.Shutdown(ctx)
	c.wg.Wait()
	c.transport.CloseIdleConnections()
	storeErr := c.store.Close()
	c.log.Info("controller stopped")
	if httpErr != nil {
		return fmt.Errorf("controller %s: shut down HTTP: %w", c.cfg.ID, httpErr)
	}
	if storeErr != nil {
		return fmt.Errorf("controller %s: close store: %w", c.cfg.ID, storeErr)
	}
	return nil
}

// now is the controller's clock.
func (c *Controller) now() time.Time { return c.cfg.Clock() }

// JoinRequest asks the leader to add a controller to the raft configuration
// as a voter (POST /v1/cluster/join).
type JoinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	// HTTPAddr, when set, is the joining controller's API address, recorded
	// in the replicated controllers table (GET /v1/cluster shows it).
	HTTPAddr string `json:"http_addr,omitempty"`
}

// join asks the controller at cfg.Join to add this one as a voter, retrying
// every second until it succeeds or ctx ends. With TLS the request carries
// this controller's certificate, which the leader requires.
func (c *Controller) join(ctx context.Context) {
	body, _ := json.Marshal(JoinRequest{ID: c.cfg.ID, RaftAddr: c.cfg.RaftAddr, HTTPAddr: c.advertise})
	url := c.cfg.Join
	if !strings.Contains(url, "://") {
		url = c.scheme() + "://" + url
	}
	url = strings.TrimRight(url, "/") + "/v1/cluster/join"
	client := &http.Client{Transport: c.transport, Timeout: 30 * time.Second}
	for {
		err := func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				var e api.ErrorResponse
				_ = json.NewDecoder(resp.Body).Decode(&e)
				return fmt.Errorf("%s: %s", resp.Status, e.Error)
			}
			return nil
		}()
		if err == nil {
			c.log.Info("joined the cluster", "via", c.cfg.Join)
			return
		}
		c.log.Warn("join failed; retrying", "via", c.cfg.Join, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
