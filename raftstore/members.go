package raftstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Suffrage names of a controller's raft suffrage, as the API shows them.
const (
	SuffrageVoter    = "voter"
	SuffrageNonvoter = "nonvoter"
	SuffrageStaging  = "staging"
)

// Member is a controller of the raft configuration as this replica sees
// it.
type Member struct {
	ID       string
	RaftAddr string
	// HTTPAddr is the API address the controller recorded in the
	// replicated controllers table ("" until it has led once or joined).
	HTTPAddr string
	Suffrage string // SuffrageVoter, SuffrageNonvoter or SuffrageStaging
	Leader   bool   // the leader this replica knows
	// Unreachable is set on the leader for a peer its heartbeats fail to
	// reach; Since is then the last successful contact (or the start of
	// this leadership when there was none).
	Unreachable bool
	Since       time.Time
}

// LocalView is this replica's own raft view.
type LocalView struct {
	Role        string    // "leader", "follower", "candidate", "shutdown"
	Term        uint64    // current raft term
	CommitIndex uint64    // raft commit index known here
	Applied     uint64    // index of the last command the state machine applied
	LastContact time.Time // last contact with a leader (zero: never; the leader: now)
}

// Local returns this replica's raft role, term, indexes and last contact
// with a leader.
func (s *Store) Local() LocalView {
	applied, _ := s.fsm.watch()
	v := LocalView{
		Role:        roleName(s.raft.State()),
		Term:        s.raft.CurrentTerm(),
		CommitIndex: s.raft.CommitIndex(),
		Applied:     applied,
		LastContact: s.raft.LastContact(),
	}
	if s.raft.State() == raft.Leader {
		v.LastContact = time.Now()
	}
	return v
}

// roleName is the API's name of a raft state.
func roleName(st raft.RaftState) string {
	switch st {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	case raft.Shutdown:
		return "shutdown"
	}
	return "unknown"
}

// suffrageName is the API's name of a raft suffrage.
func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return SuffrageVoter
	case raft.Nonvoter:
		return SuffrageNonvoter
	}
	return SuffrageStaging
}

// Members returns the raft configuration with what this replica knows of
// each controller, in configuration order, and the configuration's index.
func (s *Store) Members() ([]Member, uint64, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, 0, fmt.Errorf("raft configuration: %w", err)
	}
	leader := s.LeaderID()
	isLeader := s.IsLeader()
	st := s.State()
	var out []Member
	for _, srv := range f.Configuration().Servers {
		m := Member{
			ID:       string(srv.ID),
			RaftAddr: string(srv.Address),
			HTTPAddr: st.controllerAddr(string(srv.ID)),
			Suffrage: suffrageName(srv.Suffrage),
			Leader:   string(srv.ID) == leader,
		}
		if isLeader {
			m.Since, m.Unreachable = s.health.failingSince(srv.ID)
		}
		out = append(out, m)
	}
	return out, f.Index(), nil
}

// RemoveController removes controller id from the raft configuration. Only
// the leader can (ErrNotLeader). The removal is refused (an error matching
// ErrConflict, nothing changed) when CheckRemoval refuses it with the
// leader's view of which controllers answer its heartbeats, minVoters being
// the fewest voters to keep (0: no minimum); an unknown id matches
// ErrNotFound.
func (s *Store) RemoveController(ctx context.Context, id string, minVoters int) error {
	if !s.IsLeader() {
		return ErrNotLeader
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("remove controller %s: raft configuration: %w", id, err)
	}
	var servers []RemovalServer
	for _, srv := range f.Configuration().Servers {
		_, down := s.health.failingSince(srv.ID)
		servers = append(servers, RemovalServer{
			ID:      string(srv.ID),
			Voter:   srv.Suffrage == raft.Voter,
			Healthy: srv.ID == raft.ServerID(s.cfg.ID) || !down,
		})
	}
	if err := CheckRemoval(servers, id, minVoters); err != nil {
		return fmt.Errorf("remove controller %s: %w", id, err)
	}
	// The configuration's index makes raft refuse the removal when the
	// configuration changed since the check.
	rf := s.raft.RemoveServer(raft.ServerID(id), f.Index(), timeoutFrom(ctx))
	if err := waitFuture(ctx, rf); err != nil {
		return fmt.Errorf("remove controller %s: %w", id, err)
	}
	s.log.Info("removed a controller from the raft configuration", "id", id, "configuration_index", f.Index())
	return nil
}

// RemovalServer is one controller of the configuration for CheckRemoval.
type RemovalServer struct {
	ID      string
	Voter   bool
	Healthy bool // answers the leader's heartbeats (the leader itself is)
}

// CheckRemoval decides whether controller id may be removed from a
// configuration, like Consul's autopilot: a non-voter always may; a voter
// may not when it is the last, when fewer than minVoters voters would
// remain (minVoters 0: no minimum), or when the healthy voters that remain
// would not be a quorum of the voters that remain (the cluster could not
// commit any more). The error matches ErrNotFound for an unknown id and
// ErrConflict for a refusal.
func CheckRemoval(servers []RemovalServer, id string, minVoters int) error {
	var target *RemovalServer
	voters, healthy := 0, 0
	for i := range servers {
		srv := &servers[i]
		if srv.ID == id {
			target = srv
			continue
		}
		if srv.Voter {
			voters++
			if srv.Healthy {
				healthy++
			}
		}
	}
	switch {
	case target == nil:
		return notFoundf("controller %s is not in the raft configuration", id)
	case !target.Voter:
		return nil
	case voters == 0:
		return conflictf("controller %s is the last voter: removing it would leave no cluster", id)
	case minVoters > 0 && voters < minVoters:
		return conflictf("removing controller %s would leave %d voters, fewer than the minimum of %d", id, voters, minVoters)
	case healthy < voters/2+1:
		return conflictf("removing controller %s would leave %d voters of which only %d answer the leader, below their quorum of %d", id, voters, healthy, voters/2+1)
	}
	return nil
}

// peerHealth is the leader's view of its peers: those whose heartbeats
// fail, with their last successful contact. raft reports heartbeat failures
// and recoveries to an observer (observePeers); the view is reset on every
// leadership change.
type peerHealth struct {
	mu      sync.Mutex
	failing map[raft.ServerID]time.Time
}

func newPeerHealth() *peerHealth {
	return &peerHealth{failing: map[raft.ServerID]time.Time{}}
}

// failingSince returns the last successful contact of a peer whose
// heartbeats fail, and whether they fail.
func (h *peerHealth) failingSince(id raft.ServerID) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.failing[id]
	return t, ok
}

// observe records one raft observation.
func (h *peerHealth) observe(o raft.Observation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch d := o.Data.(type) {
	case raft.FailedHeartbeatObservation:
		if _, ok := h.failing[d.PeerID]; !ok {
			since := d.LastContact
			if since.IsZero() {
				since = time.Now()
			}
			h.failing[d.PeerID] = since
		}
	case raft.ResumedHeartbeatObservation:
		delete(h.failing, d.PeerID)
	case raft.LeaderObservation:
		clear(h.failing)
	}
}

// observePeers feeds raft's heartbeat and leadership observations into
// s.health until the store closes.
func (s *Store) observePeers() {
	defer s.wg.Done()
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation, raft.LeaderObservation:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(obs)
	defer s.raft.DeregisterObserver(obs)
	for {
		select {
		case <-s.ctx.Done():
			return
		case o := <-ch:
			s.health.observe(o)
		}
	}
}
