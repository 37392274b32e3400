package ctld

import (
	"context"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// checkNode verifies that a node daemon acts as the node it names. With
// TLS the caller must have presented a node certificate naming that node
// (KindUnauthenticated without one, KindForbidden for another node's);
// without TLS (insecure mode) the claimed node is trusted.
func (s *Service) checkNode(caller Identity, node string) error {
	switch {
	case caller.Verified && caller.IsNode():
		if caller.Node != node {
			return newError(KindForbidden, "the node certificate names node %s; it cannot act as node %s", caller.Node, node)
		}
		return nil
	case s.daemonCerts:
		return newError(KindUnauthenticated, "node %s: node requests need the node's client certificate (fairway://node/%s) from the cluster CA", node, node)
	case caller.IsNode() && caller.Node != node:
		return invalid("name", "node %s cannot act as node %s", caller.Node, node)
	}
	return nil
}

// checkNodeWrite is checkNode for the requests only a node daemon makes
// (register, heartbeat, events): a verified user is refused too, unless
// identify let an operator act as the node (without TLS).
func (s *Service) checkNodeWrite(caller Identity, node string) error {
	if err := s.checkNode(caller, node); err != nil {
		return err
	}
	if caller.Verified && !caller.IsNode() {
		return newError(KindForbidden, "user %s may not act as node %s: node requests come from its node daemon", caller.User, node)
	}
	return nil
}

// RegisterNode registers or re-registers a node (a DOWN node becomes usable
// again). A node that names no partitions joins the default partition when
// no partition lists its nodes explicitly. Its heartbeat timer starts.
func (s *Service) RegisterNode(ctx context.Context, caller Identity, req api.RegisterNodeRequest) (api.RegisterNodeResponse, error) {
	if err := s.checkNodeWrite(caller, req.Name); err != nil {
		return api.RegisterNodeResponse{}, err
	}
	cfg := s.store.State().Config()
	if err := api.ValidateRegistration(&req, &cfg); err != nil {
		return api.RegisterNodeResponse{}, s.classify(err)
	}
	api.DefaultRegistration(&req, &cfg)
	now := s.now()
	if _, err := s.apply(ctx, raftstore.RegisterNode{Now: now.Unix(), Req: req}); err != nil {
		return api.RegisterNodeResponse{}, err
	}
	s.live.seen(req.Name, now)
	st := s.store.State()
	resp := api.RegisterNodeResponse{Index: st.Index()}
	if n, ok := st.Node(req.Name); ok {
		resp.Node = *n
	}
	s.log.Info("node registered", "node", req.Name, "cpus", req.Resources.CPUs,
		"memory_mb", req.Resources.MemoryMB, "gpus", len(req.Resources.GPUs))
	return resp, nil
}

// Heartbeat records a node's heartbeat in the leader's memory; nothing is
// committed. An unknown node is told to register first, and so is a node
// the controller marked DOWN (registering makes it usable again): both are
// KindNotFound.
func (s *Service) Heartbeat(ctx context.Context, caller Identity, node string, req api.HeartbeatRequest) (api.HeartbeatResponse, error) {
	if err := s.checkNodeWrite(caller, node); err != nil {
		return api.HeartbeatResponse{}, err
	}
	// The lease is granted only by a leader a quorum still follows: a
	// deposed leader that has not noticed yet must not extend it.
	if err := s.store.VerifyLeader(ctx); err != nil {
		return api.HeartbeatResponse{}, s.classify(err)
	}
	st := s.store.State()
	mark, ok := st.NodeMark(node)
	switch {
	case !ok:
		return api.HeartbeatResponse{}, newError(KindNotFound, "unknown node %s: register first", node)
	case mark.State == api.NodeDown && mark.ReasonUser == "":
		// An administrator's DOWN (scontrol update) is not lifted by
		// registering: such a node goes on heartbeating.
		return api.HeartbeatResponse{}, newError(KindNotFound, "node %s is DOWN (%s): register again", node, mark.Reason)
	}
	s.live.heartbeat(node, s.now(), req)
	lease, grace := st.LeaseTerms()
	return api.HeartbeatResponse{Index: st.Index(), LeaseSecs: lease, FenceGraceSecs: grace}, nil
}

// ReportEvents commits the job events a node reports (api.ValidateEvents);
// the FSM ignores events that do not concern a job's current run, so a
// node may resend them.
func (s *Service) ReportEvents(ctx context.Context, caller Identity, node string, events []api.JobEvent) (WriteResult, error) {
	if err := s.checkNodeWrite(caller, node); err != nil {
		return WriteResult{}, err
	}
	if err := api.ValidateEvents(node, events); err != nil {
		return WriteResult{}, s.classify(err)
	}
	if !s.nodeCfg.get(s.store).names[node] { // registered: no need to derive its usage
		return WriteResult{}, newError(KindNotFound, "unknown node %s: register first", node)
	}
	if len(events) > 0 {
		if err := s.commitEvents(ctx, node, events); err != nil {
			return WriteResult{}, s.classify(err)
		}
		s.metrics.starts.record(events)
	}
	return WriteResult{Index: s.store.Index()}, nil
}

// Nodes lists the nodes (a blocking query waits on the nodes table, which
// changes with the nodes' running jobs too). The leader adds each node's
// free memory and load from its latest heartbeat (kept in memory, never
// replicated); a follower has none (the HTTP layer forwards the request to
// the leader when one is known).
func (s *Service) Nodes(ctx context.Context, caller Identity, q Query) (api.NodesResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicNodes)
	if err != nil {
		return api.NodesResponse{}, err
	}
	nodes := st.Nodes()
	if nodes == nil {
		nodes = []*api.Node{}
	}
	if s.store.IsLeader() {
		// Free memory and load live in the leader's memory only.
		s.live.fill(nodes)
	}
	return api.NodesResponse{Index: st.Index(), Now: s.now().Unix(), Nodes: nodes}, nil
}

// NodeJobs lists the RUNNING jobs allocated on a node (those being stopped
// included): the node daemon's assignments. A blocking query returns when
// this node's assignments change, not on other commits. An unknown node is
// told to register first (KindNotFound).
func (s *Service) NodeJobs(ctx context.Context, caller Identity, node string, q Query) (api.JobsResponse, error) {
	if err := s.checkNode(caller, node); err != nil {
		return api.JobsResponse{}, err
	}
	// An unknown node learns it at once, before any blocking.
	st, err := s.read(ctx, Query{})
	if err != nil {
		return api.JobsResponse{}, err
	}
	// The assignments carry scripts and environments: only the node itself
	// (or an operator or administrator) reads them.
	if cfg := st.Config(); caller.Node != node && roleOf(caller, &cfg) < RoleOperator {
		e := newError(KindForbidden, "%s may not read the jobs assigned to node %s: only the node itself, an operator or an administrator may", who(caller), node)
		s.denied(caller, "node-jobs", e)
		return api.JobsResponse{}, e
	}
	if _, known := st.Node(node); !known {
		return api.JobsResponse{}, newError(KindNotFound, "unknown node %s: register first", node)
	}
	if q.Index > 0 {
		if st, err = s.read(ctx, q, raftstore.NodeJobsTopic(node)); err != nil {
			return api.JobsResponse{}, err
		}
	}
	jobs := slices.DeleteFunc(st.JobsOnNode(node), func(j *api.Job) bool { return j.State != api.JobRunning })
	if jobs == nil {
		jobs = []*api.Job{}
	}
	return api.JobsResponse{Index: st.Index(), Now: s.now().Unix(), Jobs: jobs}, nil
}

// Partitions lists the partitions with their nodes: the configured list, or
// the registered nodes that name the partition.
func (s *Service) Partitions(ctx context.Context, caller Identity, q Query) (api.PartitionsResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicConfig, raftstore.TopicNodes)
	if err != nil {
		return api.PartitionsResponse{}, err
	}
	cfg := st.Config()
	nodes := st.Nodes()
	parts := cfg.Partitions
	for i := range parts {
		if len(parts[i].Nodes) > 0 {
			continue
		}
		for _, n := range nodes {
			if slices.Contains(n.Partitions, parts[i].Name) {
				parts[i].Nodes = append(parts[i].Nodes, n.Name)
			}
		}
	}
	if parts == nil {
		parts = []api.Partition{}
	}
	return api.PartitionsResponse{Index: st.Index(), Partitions: parts}, nil
}
