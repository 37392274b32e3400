package ctld

import (
	"context"
	"log/slog"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// Service holds the controller's rules: defaults, validation and (later)
// authorization of every request, the raft commands they propose, and the
// reads with their blocking queries. Each method takes the caller's
// Identity and returns a typed result or an *Error; the HTTP layer only
// decodes, calls and encodes.
type Service struct {
	id      string // this controller's ID, for messages
	store   *raftstore.Store
	log     *slog.Logger
	metrics *metrics
	live    *liveness
	clock   func() time.Time
	stopCtx context.Context // ends blocking queries when the controller stops
	auth    *authenticator  // issues tokens, looks users up
	// daemonCerts is true when the controller serves TLS: node and
	// controller routes then require the caller's certificate.
	daemonCerts bool
	// peerStatus asks another controller's API for its status (GET
	// /v1/status at its HTTP address); nil in tests without HTTP.
	peerStatus func(ctx context.Context, httpAddr string) (api.StatusResponse, error)
	// observe is the dashboard's history and alerts (observe.go).
	observe *observer

	// estimates are the leader's start estimates (explain, what-if).
	estimates *estimator
	// nodeCfg is the stored nodes submissions are checked against.
	nodeCfg nodeConfigCache
	// events is the group commit of the nodes' event reports.
	events eventBatch
}

// newService returns the service of a controller.
func newService(c *Controller) *Service {
	return &Service{
		id:      c.cfg.ID,
		store:   c.store,
		log:     c.log,
		metrics: c.metrics,
		live:    c.live,
		clock:   c.cfg.Clock,
		stopCtx: c.stopCtx,
		auth:    c.auth,

		daemonCerts: c.cfg.TLS != nil,
		peerStatus:  c.peerStatus,

		estimates: c.estimates,
	}
}

// Query asks a read to block (a blocking query): with Index > 0 the read
// waits until what it answers has changed after that raft index, or Wait
// (at most MaxBlockingWait; 0: MaxBlockingWait) has passed.
//
// Consistent makes the read linearizable: the leader confirms its
// leadership with a quorum and waits until its state has applied the commit
// index it saw when the read arrived (raftstore.Store.ReadIndex), so the
// read sees every write acknowledged before it. The HTTP layer forwards a
// consistent read that reaches a follower to the leader.
type Query struct {
	Index      uint64
	Wait       time.Duration
	Consistent bool
}

// WriteResult acknowledges a committed change: the raft index the state
// reflects after it.
type WriteResult struct {
	Index uint64
}

// now is the controller's clock.
func (s *Service) now() time.Time { return s.clock() }

// apply commits a command and records its latency. Errors are *Error.
func (s *Service) apply(ctx context.Context, cmd raftstore.Command) (raftstore.ApplyResult, error) {
	start := time.Now()
	res, err := s.store.Apply(ctx, cmd)
	s.metrics.applyLatency.WithLabelValues(commandName(cmd)).Observe(time.Since(start).Seconds())
	if err != nil {
		return res, s.classify(err)
	}
	return res, nil
}

// read returns the state to answer a read from: at once, or, for a blocking
// query, once one of the topics changed after q.Index (or the wait ended).
// A replica that has not replayed the log it held at start, or that has
// halted, is unavailable: it would show a state older than what it
// acknowledged.
func (s *Service) read(ctx context.Context, q Query, topics ...raftstore.Topic) (*raftstore.State, error) {
	if err := s.store.Err(); err != nil {
		return nil, s.classify(err)
	}
	if q.Consistent {
		if _, err := s.store.ReadIndex(ctx); err != nil {
			return nil, s.classify(err)
		}
	} else if why := s.store.ReadyReason(); why != "" {
		return nil, newError(KindUnavailable, "controller %s is not serving reads (%s); retry", s.id, why)
	}
	if q.Index == 0 {
		return s.store.State(), nil
	}
	wait := MaxBlockingWait
	if q.Wait > 0 {
		wait = min(q.Wait, MaxBlockingWait)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	return s.store.Wait(ctx, q.Index, topics...), nil
}
