package ctld

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// peerStatusTimeout bounds the status request to each other controller
// when listing the cluster.
const peerStatusTimeout = 2 * time.Second

// sinceMS is the time since t in milliseconds, or -1 for the zero time.
func sinceMS(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return max(time.Since(t).Milliseconds(), 0)
}

// Cluster lists the controllers of the raft configuration. The
// configuration, suffrages, addresses and the leader's view of unreachable
// controllers come from this replica; each other controller's role, term,
// last contact with the leader and applied index come from its own
// /v1/status (hashicorp/raft does not expose a follower's applied index or
// replication state to the leader), asked in parallel with a short timeout.
// A controller that does not answer is shown with role "unknown", the
// reason in Error and, on the leader, the time since its last successful
// heartbeat. Anyone authenticated may list the cluster.
func (s *Service) Cluster(ctx context.Context, caller Identity, q Query) (api.ClusterResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicAll)
	if err != nil {
		return api.ClusterResponse{}, err
	}
	members, _, err := s.store.Members()
	if err != nil {
		return api.ClusterResponse{}, s.classify(fmt.Errorf("list controllers: %w", err))
	}
	out := make([]api.ControllerInfo, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		info := api.ControllerInfo{
			ID: m.ID, RaftAddr: m.RaftAddr, HTTPAddr: m.HTTPAddr, Suffrage: m.Suffrage,
			Role: "unknown", LastContactMS: -1, Unreachable: m.Unreachable,
		}
		if m.Unreachable {
			info.LastContactMS = sinceMS(m.Since)
		}
		switch {
		case m.ID == s.id:
			local := s.store.Local()
			info.Role, info.Term, info.Applied = local.Role, local.Term, local.Applied
			info.LastContactMS = sinceMS(local.LastContact)
		case m.HTTPAddr == "":
			info.Error = "no HTTP address recorded (it has not led or joined through this cluster's API)"
		case s.peerStatus == nil:
			info.Error = "cannot ask other controllers"
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, peerStatusTimeout)
				defer cancel()
				ps, err := s.peerStatus(pctx, info.HTTPAddr)
				if err != nil {
					info.Error = err.Error()
				} else {
					info.Role, info.Term, info.Applied, info.LastContactMS = ps.Role, ps.Term, ps.Index, ps.LastContactMS
					if info.Role == "" {
						info.Role = "unknown"
					}
				}
				out[i] = info
			}()
			continue
		}
		out[i] = info
	}
	wg.Wait()
	return api.ClusterResponse{Controllers: out, Index: st.Index()}, nil
}

// mayRemoveController reports whether the caller may remove controllers:
// an administrator, by an admin certificate or by the cluster
// configuration's administrators (authorizeAdmin).
func (s *Service) mayRemoveController(caller Identity) *Error {
	if s.mayManageCluster(caller) {
		return nil
	}
	cfg := s.store.State().Config()
	return authorizeAdmin(caller, &cfg, "remove a controller from the raft cluster")
}

// RemoveController removes a controller from the raft configuration.
// Only administrators may. It is refused (409, nothing changes) when the
// controller is the last voter, or when the voters that would remain and
// answer the leader's heartbeats would not be a quorum of the voters that
// would remain (raftstore.CheckRemoval; the minimum number of voters of the
// dead-controller removal does not apply to an administrator's request).
func (s *Service) RemoveController(ctx context.Context, caller Identity, req api.RemoveControllerRequest) (WriteResult, error) {
	if req.ID == "" {
		return WriteResult{}, invalid("id", "the id of the controller to remove is required")
	}
	if err := s.mayRemoveController(caller); err != nil {
		s.denied(caller, "remove-controller", err)
		return WriteResult{}, err
	}
	if err := s.store.RemoveController(ctx, req.ID, 0); err != nil {
		return WriteResult{}, s.classify(err)
	}
	s.log.Info("controller removed from the raft cluster", "id", req.ID, "by", who(caller))
	return WriteResult{Index: s.store.Index()}, nil
}

// autopilot runs on the established leader while ctx lasts when
// Config.DeadControllerRemoveAfter is set: every quarter of that time (at
// most every 10 s) it removes the controllers whose heartbeats have failed
// for longer, as long as raftstore.CheckRemoval allows with MinQuorum.
func (c *Controller) autopilot(ctx context.Context) {
	after := c.cfg.DeadControllerRemoveAfter
	if after <= 0 {
		return
	}
	every := min(max(after/4, 100*time.Millisecond), 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	refused := map[string]string{} // the last refusal logged per controller
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.removeDead(ctx, after, refused)
	}
}

// removeDead is one autopilot round.
func (c *Controller) removeDead(ctx context.Context, after time.Duration, refused map[string]string) {
	members, _, err := c.store.Members()
	if err != nil {
		c.log.Warn("autopilot cannot read the raft configuration", "err", err)
		return
	}
	for _, m := range members {
		if !m.Unreachable || m.ID == c.cfg.ID || time.Since(m.Since) < after {
			continue
		}
		err := c.store.RemoveController(ctx, m.ID, c.cfg.MinQuorum)
		if err != nil {
			if refused[m.ID] != err.Error() {
				c.log.Warn("autopilot not removing an unreachable controller", "id", m.ID,
					"unreachable_for", time.Since(m.Since).Round(time.Second), "min_quorum", c.cfg.MinQuorum, "err", err)
				refused[m.ID] = err.Error()
			}
			continue
		}
		delete(refused, m.ID)
		c.log.Warn("autopilot removed a controller unreachable for longer than dead_controller_remove_after",
			"id", m.ID, "raft", m.RaftAddr, "unreachable_for", time.Since(m.Since).Round(time.Second), "after", after)
		return // one removal per round: the next sees the new configuration
	}
}

// peerStatus asks the controller at httpAddr for its status (GET
// /v1/status), over TLS with this controller's certificate when it serves
// TLS.
func (c *Controller) peerStatus(ctx context.Context, httpAddr string) (api.StatusResponse, error) {
	var st api.StatusResponse
	url := c.scheme() + "://" + httpAddr + "/v1/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", httpAddr, err)
	}
	resp, err := (&http.Client{Transport: c.transport}).Do(req)
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", httpAddr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorResponse
		_ = json.NewDecoder(io.LimitReader(resp.Body, smallBodyBytes)).Decode(&e)
		return st, fmt.Errorf("status of %s: %s %s", httpAddr, resp.Status, e.Error)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, smallBodyBytes)).Decode(&st); err != nil {
		return st, fmt.Errorf("status of %s: decode: %w", httpAddr, err)
	}
	return st, nil
}

func (c *Controller) handleCluster(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	resp, err := c.svc.Cluster(r.Context(), callerOf(r), q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeRead(w, resp.Index, resp)
}

func (c *Controller) handleRemoveController(w http.ResponseWriter, r *http.Request) {
	var req api.RemoveControllerRequest
	if err := decodeBody(w, r, &req, false, smallBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	res, err := c.svc.RemoveController(r.Context(), callerOf(r), req)
	c.writeAction(w, r, res, err)
}

// leaderCommit asks the leader's API for its raft commit index (GET
// /v1/status), for a follower catching up (raftstore.Config.LeaderCommit).
func (c *Controller) leaderCommit(ctx context.Context) (uint64, error) {
	addr := c.store.LeaderHTTPAddr()
	if addr == "" || addr == c.advertise {
		return 0, errors.New("the leader's HTTP address is not known yet")
	}
	st, err := c.peerStatus(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("ask the leader for its commit index: %w", err)
	}
	if !st.Leader {
		return 0, fmt.Errorf("controller %s at %s is not the leader any more", st.ID, addr)
	}
	return st.CommitIndex, nil
}

// announceEvery is how often a follower whose HTTP address is not recorded
// asks the leader to record it.
const announceEvery = time.Second

// announce records this controller's HTTP address in the replicated
// controllers table when it is a follower from the bootstrap configuration
// (the leader records its own; a joining controller sends its own with the
// join): it sends the leader a join request for itself, which the leader
// answers by recording the address. It runs until the address is recorded
// or ctx ends.
func (c *Controller) announce(ctx context.Context) {
	t := time.NewTicker(announceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.store.IsLeader() || !c.store.Ready() {
			continue
		}
		members, _, err := c.store.Members()
		if err != nil {
			continue
		}
		i := slices.IndexFunc(members, func(m raftstore.Member) bool { return m.ID == c.cfg.ID })
		if i >= 0 && members[i].HTTPAddr == c.advertise {
			return
		}
		leader := c.store.LeaderHTTPAddr()
		if leader == "" {
			continue
		}
		if err := c.postJoin(ctx, leader); err != nil {
			c.log.Debug("recording this controller's HTTP address failed; retrying", "leader", leader, "err", err)
		}
	}
}

// postJoin sends this controller's join request (with its HTTP address) to
// the controller at addr.
func (c *Controller) postJoin(ctx context.Context, addr string) error {
	body, err := json.Marshal(JoinRequest{ID: c.cfg.ID, RaftAddr: c.cfg.RaftAddr, HTTPAddr: c.advertise})
	if err != nil {
		return fmt.Errorf("encode join request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.scheme()+"://"+addr+"/v1/cluster/join", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("join request to %s: %w", addr, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: c.transport, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("join request to %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorResponse
		_ = json.NewDecoder(io.LimitReader(resp.Body, smallBodyBytes)).Decode(&e)
		return fmt.Errorf("join request to %s: %s %s", addr, resp.Status, e.Error)
	}
	return nil
}
