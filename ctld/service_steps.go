package ctld

import (
	"context"
	"errors"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// ActionStep is creating a step in a job (srun inside an allocation): the
// step's tasks run as the job's user, so only the job's user, an operator
// or an administrator may (not a coordinator of its account).
const ActionStep JobAction = "create a step in"

// authorizeStep allows creating a step in a job to its owner, an operator
// or an administrator; others (node daemons included) get a KindForbidden
// error saying so.
func authorizeStep(id Identity, cfg *api.ClusterConfig, j *api.Job) *Error {
	if owns(id, &j.Spec) || roleOf(id, cfg) >= RoleOperator {
		return nil
	}
	return newError(KindForbidden, "%s may not %s job %d of user %s: only its owner, an operator or an administrator may",
		who(id), ActionStep, j.ID, j.Spec.User)
}

// CreateStep records a step of a running job (srun inside an allocation)
// and returns it with its ID. ARRAYID_TASK names a started task. The
// request must fit the job's allocation (KindInvalid naming the field);
// a job that is not RUNNING is a KindConflict, an unknown one
// KindNotFound.
func (s *Service) CreateStep(ctx context.Context, caller Identity, ref api.JobRef, req api.StepRequest) (*api.Step, error) {
	st := s.store.State()
	id, err := s.taskJobID(st, ref)
	if err != nil {
		return nil, err
	}
	j, found := st.Job(id)
	if !found {
		return nil, newError(KindNotFound, msgInvalidJobID)
	}
	cfg := st.Config()
	if ae := authorizeStep(caller, &cfg, j); ae != nil {
		s.denied(caller, "create-step", ae)
		return nil, ae
	}
	res, err := s.apply(ctx, raftstore.CreateStep{Now: s.now().Unix(), JobID: id, Req: req})
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Kind == KindNotFound {
			return nil, &Error{Kind: KindNotFound, Msg: msgInvalidJobID, Err: se}
		}
		return nil, err
	}
	j, found = s.store.State().Job(id)
	if !found {
		return nil, newError(KindNotFound, msgInvalidJobID)
	}
	if n := len(j.Runs); n > 0 && j.Runs[n-1].Run == j.RestartCount && res.StepID < len(j.Runs[n-1].Steps) {
		step := j.Runs[n-1].Steps[res.StepID]
		return &step, nil
	}
	return nil, newError(KindInternal, "job %d: step %d was committed but is not in the job's current run", id, res.StepID)
}

// Steps lists the steps of a job's current or last run (a blocking query
// waits on the jobs table). As with a job's details, the steps' commands
// are there only for callers allowed to read the job.
func (s *Service) Steps(ctx context.Context, caller Identity, ref api.JobRef, q Query) (api.StepsResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicJobs)
	if err != nil {
		return api.StepsResponse{}, err
	}
	j, found := st.JobRef(ref)
	if !found {
		return api.StepsResponse{}, newError(KindNotFound, msgInvalidJobID)
	}
	cfg := st.Config()
	if authorizeJob(caller, &cfg, ActionRead, j) != nil {
		j = redact(j)
	}
	steps := []*api.Step{}
	if n := len(j.Runs); n > 0 {
		for i := range j.Runs[n-1].Steps {
			step := j.Runs[n-1].Steps[i]
			steps = append(steps, &step)
		}
	}
	return api.StepsResponse{Index: st.Index(), Steps: steps}, nil
}

// ReportStep commits a node daemon's report of its part of a step. Only the
// node itself may report (as for events), only for a step of the job's
// current or last run that runs on it: an unknown job or step is
// KindNotFound, a step without this node KindForbidden. A second report
// from the same node changes nothing.
func (s *Service) ReportStep(ctx context.Context, caller Identity, node string, rep api.StepReport) (WriteResult, error) {
	if err := s.checkNodeWrite(caller, node); err != nil {
		return WriteResult{}, err
	}
	if rep.StepID < 0 {
		return WriteResult{}, invalid("step_id", "invalid step_id %d: reports are for srun's steps (0 or more); the batch step's usage comes with the job's end event", rep.StepID)
	}
	st := s.store.State()
	if _, ok := st.Node(node); !ok {
		return WriteResult{}, newError(KindNotFound, "unknown node %s: register first", node)
	}
	j, ok := st.Job(rep.JobID)
	if !ok || len(j.Runs) == 0 {
		return WriteResult{}, newError(KindNotFound, "%s: job %d", msgInvalidJobID, rep.JobID)
	}
	r := j.Runs[len(j.Runs)-1]
	if rep.StepID >= len(r.Steps) {
		return WriteResult{}, newError(KindNotFound, "job %d has no step %d", rep.JobID, rep.StepID)
	}
	if !slices.Contains(r.Steps[rep.StepID].Nodes, node) {
		e := newError(KindForbidden, "node %s may not report step %d.%d: the step does not run on it", node, rep.JobID, rep.StepID)
		s.denied(caller, "report-step", e)
		return WriteResult{}, e
	}
	if _, err := s.apply(ctx, raftstore.ReportStep{Now: s.now().Unix(), Node: node, Report: rep}); err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Index: s.store.Index()}, nil
}
