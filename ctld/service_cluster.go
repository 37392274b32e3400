package ctld

import (
	"context"
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// Config returns the cluster configuration (a blocking query waits on it).
func (s *Service) Config(ctx context.Context, caller Identity, q Query) (api.ClusterConfig, uint64, error) {
	st, err := s.read(ctx, q, raftstore.TopicConfig)
	if err != nil {
		return api.ClusterConfig{}, 0, err
	}
	return st.Config(), st.Index(), nil
}

// SetConfig validates (api.ValidateConfig) and commits a new cluster
// configuration; only administrators may.
func (s *Service) SetConfig(ctx context.Context, caller Identity, cfg api.ClusterConfig) (WriteResult, error) {
	current := s.store.State().Config()
	if err := authorizeAdmin(caller, &current, "change the cluster configuration"); err != nil {
		s.denied(caller, "set-config", err)
		return WriteResult{}, err
	}
	if err := api.ValidateConfig(&cfg); err != nil {
		return WriteResult{}, s.classify(err)
	}
	if _, err := s.apply(ctx, raftstore.SetConfig{Config: cfg}); err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Index: s.store.Index()}, nil
}

// Status describes this controller and the leader it knows.
func (s *Service) Status(ctx context.Context, caller Identity, q Query) (api.StatusResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicAll)
	if err != nil {
		return api.StatusResponse{}, err
	}
	local := s.store.Local()
	return api.StatusResponse{
		ID:            s.id,
		Leader:        s.store.IsLeader(),
		LeaderID:      s.store.LeaderID(),
		LeaderAddr:    s.store.LeaderHTTPAddr(),
		Index:         st.Index(),
		Now:           s.now().Unix(),
		Role:          local.Role,
		Term:          local.Term,
		LastContactMS: sinceMS(local.LastContact),
		CommitIndex:   local.CommitIndex,
	}, nil
}

// mayManageCluster is the hook deciding who may change the raft
// membership besides a controller acting for itself: administrators by
// their admin certificate. User authorization (operators, administrators by
// user name) can extend it.
func (s *Service) mayManageCluster(caller Identity) bool {
	return caller.Verified && caller.Admin != ""
}

// checkJoin verifies that the caller may add controller id to the raft
// configuration: with TLS, the controller itself by its certificate, or an
// administrator (mayManageCluster); without TLS, anyone (insecure mode).
func (s *Service) checkJoin(caller Identity, id string) error {
	switch {
	case !s.daemonCerts || s.mayManageCluster(caller):
		return nil
	case caller.Verified && caller.Controller != "":
		if caller.Controller != id {
			return newError(KindForbidden, "the controller certificate names controller %s; it cannot add controller %s", caller.Controller, id)
		}
		return nil
	case caller.Verified:
		return newError(KindForbidden, "joining the raft cluster needs a controller certificate or an administrator")
	}
	return newError(KindUnauthenticated, "joining the raft cluster needs the controller's client certificate (fairway://controller/%s) from the cluster CA", id)
}

// AddController adds a controller to the raft configuration as a voter.
// With TLS only the controller itself (by its certificate) or an
// administrator may.
func (s *Service) AddController(ctx context.Context, caller Identity, req JoinRequest) (WriteResult, error) {
	switch {
	case req.ID == "":
		return WriteResult{}, invalid("id", "the joining controller's id is required")
	case req.RaftAddr == "":
		return WriteResult{}, invalid("raft_addr", "the joining controller's raft_addr is required")
	}
	if err := s.checkJoin(caller, req.ID); err != nil {
		return WriteResult{}, err
	}
	if err := s.store.AddVoter(ctx, req.ID, req.RaftAddr); err != nil {
		return WriteResult{}, s.classify(fmt.Errorf("add voter %s at %s: %w", req.ID, req.RaftAddr, err))
	}
	if req.HTTPAddr != "" {
		if _, err := s.apply(ctx, raftstore.SetControllerAddr{ID: req.ID, HTTPAddr: req.HTTPAddr}); err != nil {
			return WriteResult{}, err
		}
	}
	s.log.Info("controller joined", "id", req.ID, "raft", req.RaftAddr, "http", req.HTTPAddr)
	return WriteResult{Index: s.store.Index()}, nil
}
