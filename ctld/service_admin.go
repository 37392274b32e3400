package ctld

import (
	"context"
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// UpdateJob changes a job (scontrol update JobId=N ...): the caller must
// be allowed to act on the job (authorizeJob) and the change
// (authorizeJobUpdate: only operators and administrators set a priority or
// raise a time limit); a changed node count must still fit a partition's
// registered nodes. The FSM validates the updated spec again and changes
// nothing on error. ARRAYID_TASK names a started task's own job; a plain
// array ID its record (the tasks not started).
func (s *Service) UpdateJob(ctx context.Context, caller Identity, ref api.JobRef, u api.JobUpdate) (WriteResult, error) {
	if err := s.authorizeRef(caller, ref, ActionUpdate); err != nil {
		return WriteResult{}, err
	}
	st := s.store.State()
	id, err := s.taskJobID(st, ref)
	if err != nil {
		return WriteResult{}, err
	}
	j, ok := st.Job(id)
	if !ok {
		return WriteResult{}, newError(KindNotFound, msgInvalidJobID)
	}
	cfg := st.Config()
	current := j.TimeLimitSecs
	if j.State != api.JobRunning || current <= 0 {
		p, _ := cfg.Partition(j.Partition)
		current = j.Spec.TimeLimitIn(p)
	}
	next := j.Spec
	if err := u.ApplyTo(&next, current); err != nil {
		return WriteResult{}, s.classify(err)
	}
	if ae := authorizeJobUpdate(caller, &cfg, j, &u, &next, current); ae != nil {
		s.denied(caller, string(ActionUpdate), ae)
		return WriteResult{}, ae
	}
	if u.Nodes != nil && j.State == api.JobPending {
		if err := api.CheckNodeConfiguration(&next, &cfg, st.Nodes()); err != nil {
			return WriteResult{}, s.classify(api.UpdateFieldError(err))
		}
	}
	return s.jobWrite(ctx, raftstore.UpdateJob{Now: s.now().Unix(), ID: id, Update: u})
}

// UpdateNodesResult is what UpdateNodes committed: the jobs a DOWN
// requeued or ended.
type UpdateNodesResult struct {
	Index    uint64
	Affected []api.JobID
}

// UpdateNodes changes the state of nodes (scontrol update NodeName=...
// State=DRAIN|RESUME|UNDRAIN|DOWN Reason=...); only operators and
// administrators may. The reason is recorded with the caller's user name
// and the leader's time.
func (s *Service) UpdateNodes(ctx context.Context, caller Identity, u api.NodeUpdate) (UpdateNodesResult, error) {
	cfg := s.store.State().Config()
	if ae := authorizeOperator(caller, &cfg, "change the state of nodes"); ae != nil {
		s.denied(caller, "update-nodes", ae)
		return UpdateNodesResult{}, ae
	}
	if err := api.ValidateNodeUpdate(&u); err != nil {
		return UpdateNodesResult{}, s.classify(err)
	}
	res, err := s.apply(ctx, raftstore.UpdateNodes{Now: s.now().Unix(), User: reasonUser(caller), Update: u})
	if err != nil {
		return UpdateNodesResult{}, err
	}
	s.log.Info("nodes updated", "nodes", u.Nodes, "state", u.State, "reason", u.Reason, "user", reasonUser(caller), "jobs_affected", len(res.IDs))
	return UpdateNodesResult{Index: s.store.Index(), Affected: res.IDs}, nil
}

// reasonUser names the caller in a node's reason: its user name, root for
// uid 0 and for callers of a cluster without authentication.
func reasonUser(id Identity) string {
	switch {
	case id.User != "":
		return id.User
	case id.UID == 0:
		return "root"
	}
	return fmt.Sprintf("uid%d", id.UID)
}

// UpdatePartition changes a partition of the configuration (scontrol
// update PartitionName=...); only administrators may.
func (s *Service) UpdatePartition(ctx context.Context, caller Identity, u api.PartitionUpdate) (WriteResult, error) {
	cfg := s.store.State().Config()
	if ae := authorizeAdmin(caller, &cfg, "change partition "+u.Name); ae != nil {
		s.denied(caller, "update-partition", ae)
		return WriteResult{}, ae
	}
	if _, err := s.apply(ctx, raftstore.UpdatePartition{Update: u}); err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Index: s.store.Index()}, nil
}

// Diag returns the scheduling and raft statistics (sdiag). Every user may
// read them, as in Slurm (unless PrivateData, which Fairway lacks).
func (s *Service) Diag(ctx context.Context, caller Identity) (api.DiagResponse, error) {
	now := s.now()
	sched, since := s.metrics.passes.diag(now)
	st := s.store.State()
	d := api.DiagResponse{Now: now.Unix(), ControllerID: s.id, Leader: s.store.IsLeader(), Sched: sched}
	if !since.IsZero() {
		d.StatsSince = since.Unix()
	}
	diagJobs(&d, st.RetainedJobsShared(), d.StatsSince) // read only: no copies
	l := s.store.Local()
	d.Raft = api.DiagRaft{Role: l.Role, LeaderID: s.store.LeaderID(), Term: l.Term, CommitIndex: l.CommitIndex,
		AppliedIndex: l.Applied, LastContactMS: -1}
	if !l.LastContact.IsZero() {
		d.Raft.LastContactMS = max(now.Sub(l.LastContact), 0).Milliseconds()
	}
	if members, _, err := s.store.Members(); err == nil {
		for _, m := range members {
			if m.Suffrage != raftstore.SuffrageVoter {
				continue
			}
			d.Raft.Voters++
			if !m.Unreachable {
				d.Raft.Reachable++
			}
		}
	}
	return d, nil
}

// ResetDiag resets the scheduling statistics sdiag shows (sdiag -r):
// only operators and administrators may, as in Slurm. The statistics are
// this controller's own, in its memory (the HTTP layer sends the request
// to the leader, whose figures sdiag reads); nothing is committed, and the
// Prometheus counters go on.
func (s *Service) ResetDiag(ctx context.Context, caller Identity) error {
	cfg := s.store.State().Config()
	if ae := authorizeOperator(caller, &cfg, "reset the scheduling statistics"); ae != nil {
		s.denied(caller, "reset-diag", ae)
		return ae
	}
	s.metrics.passes.reset(s.now())
	s.log.Info("scheduling statistics reset", "by", who(caller))
	return nil
}

// diagJobs counts sdiag's job figures from the jobs the state holds: runs
// started and ended at or after since (when the controller never led,
// since is 0 and every run counts), jobs submitted since, jobs pending and
// running now.
func diagJobs(d *api.DiagResponse, jobs []*api.Job, since int64) {
	for _, j := range jobs {
		switch {
		case j.IsArrayRecord():
			d.JobsPending += len(j.ArrayPending)
		case j.State == api.JobPending:
			d.JobsPending++
		case j.State == api.JobRunning:
			d.JobsRunning++
		}
		if j.SubmitTime >= since && (!j.IsArrayTask() || j.IsArrayRecord()) {
			d.JobsSubmitted++
		}
		for _, r := range j.Runs {
			if r.StartTime >= since && r.StartTime > 0 {
				d.JobsStarted++
			}
			if r.EndTime < since || r.EndTime == 0 {
				continue
			}
			switch r.State {
			case api.JobCompleted:
				d.JobsCompleted++
			case api.JobCancelled:
				d.JobsCanceled++
			case api.JobFailed, api.JobTimeout, api.JobNodeFail, api.JobOutOfMemory:
				d.JobsFailed++
			}
		}
	}
}
