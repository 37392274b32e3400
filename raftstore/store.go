package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// Peer is a controller of the cluster: its raft server ID and raft address.
type Peer struct{ ID, RaftAddr string }

// Config configures a Store.
type Config struct {
	ID        string // this controller's raft server ID
	DataDir   string // holds raft.db (log and stable store) and snapshots/
	RaftAddr  string // bind and advertise address for raft TCP, e.g. 127.0.0.1:6818
	HTTPAddr  string // this controller's advertised HTTP API address, recorded for followers
	Bootstrap bool   // bootstrap a new cluster if there is no existing state
	Peers     []Peer // initial voters when bootstrapping (empty: just this one)
	Logger    *slog.Logger
	// TLS, when set, makes the raft transport mutual TLS under its CA: peers
	// must present a controller certificate, and dialed peers must serve
	// one. Nil means plain TCP (insecure).
	TLS *pki.Credentials
	// LeaderCommit, when set, asks the current leader for its commit index
	// (the controller asks the leader's API). A restarted or lagging
	// follower is Ready only once it has applied that index: its own commit
	// index, learned from the leader's heartbeats and appends, can lag
	// behind the leader's while it catches up. When the leader cannot be
	// asked for leaderCommitFallback, the follower's own commit index is
	// used instead.
	LeaderCommit func(ctx context.Context) (uint64, error)
	// TimingMultiplier scales raft's heartbeat, election and leader lease
	// timeouts (500 ms each at 1) and with them MaxLeaderSilence, as
	// Consul's and Nomad's raft_multiplier: a larger value tolerates
	// controllers that are starved of CPU or far apart, at the cost of a
	// slower failover. 0 means 1; at most MaxTimingMultiplier.
	TimingMultiplier int
}

// MaxTimingMultiplier is the largest Config.TimingMultiplier.
const MaxTimingMultiplier = 10

// timing is raft's timeouts under Config.TimingMultiplier.
type timing struct {
	heartbeat, election, leaderLease time.Duration
}

// timingFor returns the timeouts of a multiplier (0 means 1), refusing one
// outside 0..MaxTimingMultiplier.
func timingFor(multiplier int) (timing, error) {
	if multiplier < 0 || multiplier > MaxTimingMultiplier {
		return timing{}, fmt.Errorf("raft timing multiplier %d: must be 1 to %d", multiplier, MaxTimingMultiplier)
	}
	m := time.Duration(max(multiplier, 1))
	return timing{heartbeat: m * heartbeatTimeout, election: m * electionTimeout, leaderLease: m * leaderLeaseTimeout}, nil
}

// maxLeaderSilence is MaxLeaderSilence under the store's multiplier.
func (s *Store) maxLeaderSilence() time.Duration {
	return time.Duration(max(s.cfg.TimingMultiplier, 1)) * MaxLeaderSilence
}

// Raft settings for a small cluster of controllers on a fast network
// (the timeouts are scaled by Config.TimingMultiplier).
const (
	heartbeatTimeout   = 500 * time.Millisecond
	electionTimeout    = 500 * time.Millisecond
	leaderLeaseTimeout = 500 * time.Millisecond
	commitTimeout      = 5 * time.Millisecond
	maxAppendEntries   = 256
	// logCacheEntries is how many of the last raft log entries are kept in
	// memory for replication (raft.NewLogCache): two of the largest
	// appends (maxAppendEntries).
	logCacheEntries   = 2 * maxAppendEntries
	snapshotThreshold = 8192
	trailingLogs      = 10240
	snapshotsRetained = 2
	transportPool     = 3
	transportTimeout  = 10 * time.Second
	boltOpenTimeout   = time.Second
	barrierTimeout    = 30 * time.Second
	leaderRetryDelay  = 250 * time.Millisecond
	waitLeaderPoll    = 20 * time.Millisecond
)

// Store is a controller's replica of the cluster state: a raft node whose
// state machine is the go-memdb state store. Writes go through Apply on the
// leader; reads use State on any replica.
type Store struct {
	cfg   Config
	log   *slog.Logger
	fsm   *fsm
	raft  *raft.Raft
	trans *raft.NetworkTransport
	bolt  *raftboltdb.BoltStore

	// leaderCheck coalesces concurrent VerifyLeader calls.
	leaderCheck leaderCheck

	// bootIndex is the index of the last command entry in the raft log on
	// disk when the store opened; the replica is Ready once its state
	// machine has applied it.
	bootIndex uint64

	leaderCh chan bool
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	shutdownOnce sync.Once
	shutdown     raft.Future // raft's shutdown, started by Close or a halt

	haltedCh chan struct{} // closed when the replica halts

	// leading is true while this controller leads and its barrier has
	// passed: its state reflects every earlier leader's commits.
	leading atomic.Bool
	// catchUp is a follower's readiness (see Ready).
	catchUp catchUp
	// health is the leader's view of its peers' heartbeats.
	health *peerHealth
}

// Open starts the raft node described by cfg, restoring its state from
// cfg.DataDir. With cfg.Bootstrap and no existing state it bootstraps a new
// cluster of cfg.Peers (this controller included). Open does not wait for a
// leader: see WaitLeader.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	switch {
	case cfg.ID == "":
		return nil, fmt.Errorf("open raft store: a server ID is required")
	case cfg.DataDir == "":
		return nil, fmt.Errorf("open raft store %s: a data directory is required", cfg.ID)
	case cfg.RaftAddr == "":
		return nil, fmt.Errorf("open raft store %s: a raft address is required", cfg.ID)
	}
	if _, err := timingFor(cfg.TimingMultiplier); err != nil {
		return nil, fmt.Errorf("open raft store %s: %w", cfg.ID, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	cfg.Logger = logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open raft store %s: %w", cfg.ID, err)
	}
	s := &Store{cfg: cfg, log: logger.With("component", "raftstore"), leaderCh: make(chan bool, 1), haltedCh: make(chan struct{})}
	f, err := newFSM(s.log, s.onHalt)
	if err != nil {
		return nil, fmt.Errorf("open raft store %s: %w", cfg.ID, err)
	}
	s.fsm = f
	if err := s.start(); err != nil {
		s.closeResources()
		return nil, fmt.Errorf("open raft store %s: %w", cfg.ID, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.health = newPeerHealth()
	s.wg.Add(3)
	go s.watchLeadership()
	go s.observePeers()
	go s.askLeaderCommit()
	return s, nil
}

// start opens the stores and the transport, bootstraps if asked, and starts
// raft.
func (s *Store) start() error {
	cfg := s.cfg
	hlog := newHCLog(cfg.Logger, "raft")
	dbPath := filepath.Join(cfg.DataDir, "raft.db")
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        dbPath,
		BoltOptions: &bolt.Options{Timeout: boltOpenTimeout},
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	s.bolt = store
	if s.bootIndex, err = lastCommandIndex(store); err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, snapshotsRetained, hlog)
	if err != nil {
		return fmt.Errorf("snapshot store: %w", err)
	}
	trans, err := newTransport(cfg, hlog)
	if err != nil {
		return fmt.Errorf("raft transport on %s: %w", cfg.RaftAddr, err)
	}
	s.trans = trans

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	t, err := timingFor(cfg.TimingMultiplier)
	if err != nil {
		return err
	}
	rc.HeartbeatTimeout = t.heartbeat
	rc.ElectionTimeout = t.election
	rc.LeaderLeaseTimeout = t.leaderLease
	rc.CommitTimeout = commitTimeout
	rc.MaxAppendEntries = maxAppendEntries
	rc.BatchApplyCh = true
	rc.SnapshotThreshold = snapshotThreshold
	rc.TrailingLogs = trailingLogs

	if cfg.Bootstrap {
		has, err := raft.HasExistingState(store, store, snaps)
		if err != nil {
			return fmt.Errorf("check existing state: %w", err)
		}
		if !has {
			if err := raft.BootstrapCluster(rc, store, store, snaps, trans, bootstrapConfiguration(cfg)); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		}
	}
	// The leader sends followers the entries it has just written: a cache
	// of the last ones spares reading each back from bolt and decoding it.
	logs, err := raft.NewLogCache(logCacheEntries, store)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, store, snaps, trans)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	return nil
}

// bootstrapConfiguration lists the initial voters: the peers, with this
// controller added if they do not name it.
func bootstrapConfiguration(cfg Config) raft.Configuration {
	var c raft.Configuration
	self := false
	for _, p := range cfg.Peers {
		self = self || p.ID == cfg.ID
		c.Servers = append(c.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(p.ID),
			Address:  raft.ServerAddress(p.RaftAddr),
		})
	}
	if !self {
		c.Servers = append(c.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(cfg.ID),
			Address:  raft.ServerAddress(cfg.RaftAddr),
		})
	}
	return c
}

// Ready reports whether this replica may serve reads: its state is not
// older than what the cluster already acknowledged. It requires that the
// state machine has applied every command it held in its log on disk when
// it opened (a restarted controller replays its log only once a leader
// commits again), and then:
//
//   - on the leader, that its leadership barrier has passed (its state
//     reflects every earlier leader's commits);
//   - on a follower, that it has heard from a leader, and that after that
//     contact its state machine has once applied everything up to the
//     commit index it knew at that moment. A follower that hears nothing
//     from a leader for longer than MaxLeaderSilence stops being ready and
//     catches up again when contact returns.
//
// It compares with the state machine's own applied index, not raft's
// AppliedIndex, which moves when entries are handed to the state machine,
// before they are applied. See ReadyReason for why a replica is not ready.
func (s *Store) Ready() bool { return s.ReadyReason() == "" }

// lastCommandIndex returns the index of the last command entry in the log
// (0 when there is none after the snapshot). Raft's own entries (no-ops,
// configurations) never reach the state machine, so waiting for a trailing
// one would never end.
func lastCommandIndex(logs raft.LogStore) (uint64, error) {
	last, err := logs.LastIndex()
	if err != nil {
		return 0, fmt.Errorf("read last log index: %w", err)
	}
	return lastCommandUpTo(logs, last)
}

// Close stops the raft node and closes its stores. It is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		var errs []error
		if err := s.shutdownRaft().Error(); err != nil {
			errs = append(errs, fmt.Errorf("shut down raft: %w", err))
		}
		s.wg.Wait()
		if err := s.closeResources(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close raft store %s: %w", s.cfg.ID, err)
		}
	})
	return s.closeErr
}

// shutdownRaft starts raft's shutdown once and returns its future.
func (s *Store) shutdownRaft() raft.Future {
	s.shutdownOnce.Do(func() { s.shutdown = s.raft.Shutdown() })
	return s.shutdown
}

// onHalt is the state machine's halt hook: it reports the halt and shuts
// the raft node down. It runs in raft's FSM goroutine, which raft's shutdown
// waits for, so the shutdown is started in its own goroutine.
func (s *Store) onHalt(h *HaltError) {
	close(s.haltedCh)
	go s.shutdownRaft()
}

// Halted is closed when the replica halts: it met a log entry it cannot
// apply safely (see HaltError and Err). The raft node is shut down; the
// controller should stop and report Err.
func (s *Store) Halted() <-chan struct{} { return s.haltedCh }

// Err returns the *HaltError of a halted replica, or nil.
func (s *Store) Err() error {
	if h := s.fsm.halted.Load(); h != nil {
		return h
	}
	return nil
}

// closeResources closes the transport and the log store (after raft has
// shut down, or when it never started).
func (s *Store) closeResources() error {
	var errs []error
	if s.trans != nil {
		if err := s.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close transport: %w", err))
		}
	}
	if s.bolt != nil {
		if err := s.bolt.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raft.db: %w", err))
		}
	}
	return errors.Join(errs...)
}

// IsLeader reports whether this controller is the raft leader.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// LeaderID returns the raft server ID of the current leader, or "" if none
// is known.
func (s *Store) LeaderID() string {
	_, id := s.raft.LeaderWithID()
	return string(id)
}

// Servers returns the raft configuration: every controller with its raft
// address, in configuration order.
func (s *Store) Servers() ([]Peer, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	var peers []Peer
	for _, srv := range f.Configuration().Servers {
		peers = append(peers, Peer{ID: string(srv.ID), RaftAddr: string(srv.Address)})
	}
	return peers, nil
}

// LeaderHTTPAddr returns the HTTP address the current leader recorded in the
// replicated controllers table, or "" if unknown.
func (s *Store) LeaderHTTPAddr() string {
	id := s.LeaderID()
	if id == "" {
		return ""
	}
	return s.State().controllerAddr(id)
}

// LeaderCh delivers true when this controller has become the leader and its
// state reflects every earlier leader's commits (after a raft barrier and the
// recording of its HTTP address), and false when it loses leadership. Only
// the latest value is kept when the receiver is slow; use one receiver.
func (s *Store) LeaderCh() <-chan bool { return s.leaderCh }

// WaitLeader blocks until the cluster has a leader (this controller or
// another) or ctx is done.
func (s *Store) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(waitLeaderPoll)
	defer t.Stop()
	for s.LeaderID() == "" {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for raft leader: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// AddVoter adds a controller to the cluster as a voter. Only the leader can.
func (s *Store) AddVoter(ctx context.Context, id, raftAddr string) error {
	if !s.IsLeader() {
		return ErrNotLeader
	}
	f := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, timeoutFrom(ctx))
	if err := waitFuture(ctx, f); err != nil {
		return fmt.Errorf("add voter %s at %s: %w", id, raftAddr, err)
	}
	return nil
}

// Apply commits a command through raft and returns its result once it is
// applied here. Only the leader can apply: others get ErrNotLeader. A
// command the state rejects returns an *ApplyError wrapping its validation
// error (an *api.FieldError, or one matching ErrNotFound or ErrConflict) and
// changes nothing. When ctx ends first, or leadership is lost, the command
// may still be committed: the error matches ErrOutcomeUnknown. A halted
// replica answers an error matching ErrHalted.
func (s *Store) Apply(ctx context.Context, cmd Command) (ApplyResult, error) {
	data, err := encodeCommand(cmd)
	if err != nil {
		return ApplyResult{}, err
	}
	name := commandName(cmd)
	if err := ctx.Err(); err != nil {
		return ApplyResult{}, fmt.Errorf("apply %s: %w", name, err)
	}
	if err := s.Err(); err != nil {
		return ApplyResult{}, fmt.Errorf("apply %s: %w", name, err)
	}
	if !s.IsLeader() {
		return ApplyResult{}, ErrNotLeader
	}
	f := s.raft.Apply(data, timeoutFrom(ctx))
	if err := waitFuture(ctx, f); err != nil {
		return ApplyResult{}, fmt.Errorf("apply %s: %w", name, err)
	}
	res, ok := f.Response().(*applyResult)
	if !ok {
		return ApplyResult{}, fmt.Errorf("apply %s: unexpected response %T", name, f.Response())
	}
	if res.err != nil {
		return ApplyResult{}, res.err
	}
	return res.res, nil
}

// ApplyAs commits a command like Store.Apply and returns the field of its
// result that get selects, for callers that want one value:
//
//	ids, err := raftstore.ApplyAs(ctx, s, cmd, raftstore.ResultIDs)
func ApplyAs[T any](ctx context.Context, s *Store, cmd Command, get func(ApplyResult) T) (T, error) {
	res, err := s.Apply(ctx, cmd)
	if err != nil {
		var zero T
		return zero, err
	}
	return get(res), nil
}

// ResultIDs selects ApplyResult.IDs (for ApplyAs).
func ResultIDs(r ApplyResult) []api.JobID { return r.IDs }

// timeoutFrom is the time left before ctx's deadline, or 0 (no limit).
func timeoutFrom(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}

// waitFuture waits for a raft future or ctx, mapping raft's not-leader
// errors to ErrNotLeader.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return &outcomeUnknownError{err: ctx.Err()}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost):
		return &outcomeUnknownError{err: err}
	}
	return err
}

// VerifyLeader checks with a quorum that this controller is still the
// leader; it returns ErrNotLeader when it is not.
//
// Concurrent calls share quorum rounds (leaderCheck): each is answered by a
// round that began after it was made.
func (s *Store) VerifyLeader(ctx context.Context) error {
	return s.leaderCheck.verify(ctx, s.raft.VerifyLeader)
}

// State returns a consistent read-only view of the current state.
func (s *Store) State() *State { return s.fsm.state() }

// Index returns the raft index of the last command applied here.
func (s *Store) Index() uint64 {
	idx, _ := s.fsm.watch()
	return idx
}

// WaitIndex blocks until a command after index after has been applied here,
// or ctx is done, and returns the applied index.
func (s *Store) WaitIndex(ctx context.Context, after uint64) uint64 {
	for {
		idx, changed := s.fsm.watch()
		if idx > after {
			return idx
		}
		select {
		case <-ctx.Done():
			return idx
		case <-changed:
		}
	}
}

// watchLeadership follows raft's leadership changes. On gaining leadership
// it waits for a barrier (so the state reflects every commit of earlier
// leaders), records this controller's HTTP address, and only then reports
// true on LeaderCh.
func (s *Store) watchLeadership() {
	defer s.wg.Done()
	raftCh := s.raft.LeaderCh()
	var retry <-chan time.Time
	leader := false
	for {
		select {
		case <-s.ctx.Done():
			return
		case leader = <-raftCh:
		case <-retry:
		}
		retry = nil
		if !leader {
			s.leading.Store(false)
			s.notifyLeader(false)
			continue
		}
		if s.raft.State() != raft.Leader {
			continue // a false notification follows
		}
		if err := s.establishLeadership(); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("establishing leadership failed; retrying", "err", err)
			retry = time.After(leaderRetryDelay)
			continue
		}
		s.log.Info("this controller is the leader", "id", s.cfg.ID)
		s.leading.Store(true)
		s.notifyLeader(true)
	}
}

// establishLeadership runs a barrier and records this controller's HTTP
// address unless the state already has it.
func (s *Store) establishLeadership() error {
	if err := waitFuture(s.ctx, s.raft.Barrier(barrierTimeout)); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	if c, ok := s.State().controller(s.cfg.ID); ok && c.HTTPAddr == s.cfg.HTTPAddr {
		return nil
	}
	if _, err := s.Apply(s.ctx, SetControllerAddr{ID: s.cfg.ID, HTTPAddr: s.cfg.HTTPAddr}); err != nil {
		return fmt.Errorf("record HTTP address: %w", err)
	}
	return nil
}

// notifyLeader puts v on LeaderCh, replacing an unread value.
func (s *Store) notifyLeader(v bool) {
	select {
	case s.leaderCh <- v:
		return
	default:
	}
	select {
	case <-s.leaderCh:
	default:
	}
	s.leaderCh <- v
}
