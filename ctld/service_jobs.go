package ctld

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// SubmitResult is what Submit committed.
type SubmitResult struct {
	IDs   []api.JobID // in the order of the specs
	Index uint64
}

// Submit checks and completes the specs (api.PrepareSpec against the
// replicated configuration), makes them run as the caller (submitAs: an
// authenticated caller's user, uid and groups replace the spec's; a spec
// claiming another user is refused), authorizes them (authorizeSubmit),
// refuses a request no partition's registered nodes could ever hold
// (api.CheckNodeConfiguration) and commits them atomically: all are
// accepted or none.
func (s *Service) Submit(ctx context.Context, caller Identity, specs []api.JobSpec, key string) (SubmitResult, error) {
	if len(key) > 128 || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return SubmitResult{}, invalid("key", "the submission key must be at most 128 printable ASCII characters")
	}
	if len(specs) == 0 {
		return SubmitResult{}, invalid("jobs", "the request has no jobs")
	}
	st := s.store.State()
	cfg := st.Config()
	// The nodes' configuration, not their derived state: what they have,
	// not what is free (api.CheckNodeConfiguration).
	nodes := s.nodeCfg.get(s.store)
	for i := range specs {
		if e := s.checkSubmission(caller, st, &cfg, nodes, &specs[i]); e != nil {
			if len(specs) > 1 {
				return SubmitResult{}, &Error{Kind: e.Kind, Field: e.Field, Msg: fmt.Sprintf("job %d of %d: %s", i+1, len(specs), e.Msg), Err: e.Err}
			}
			return SubmitResult{}, e
		}
	}
	res, err := s.apply(ctx, raftstore.SubmitJobs{Now: s.now().Unix(), Specs: specs, Key: key})
	if err != nil {
		return SubmitResult{}, err
	}
	s.metrics.submissions.Add(float64(len(res.IDs)))
	return SubmitResult{IDs: res.IDs, Index: s.store.Index()}, nil
}

// checkDependencyJobs refuses a dependency on a job the controller does
// not know, as Slurm refuses the submission ("Job dependency problem")
// rather than let the job pend forever.
func checkDependencyJobs(st *raftstore.State, spec *api.JobSpec) error {
	if spec.Dependency == "" {
		return nil
	}
	dep, err := api.ParseDependency(spec.Dependency)
	if err != nil {
		return err
	}
	for _, term := range dep.Terms {
		for _, ref := range term.Jobs {
			if _, found := st.JobRef(ref); !found {
				return invalid("--dependency", "Job dependency problem")
			}
		}
	}
	return nil
}

// checkNodeNames refuses a --nodelist or --exclude naming a node the
// cluster does not have, as Slurm does ("Invalid node name specified").
func checkNodeNames(spec *api.JobSpec, known map[string]bool) error {
	for _, l := range []struct {
		field string
		names []string
	}{{"--nodelist", spec.NodeList}, {"--exclude", spec.Exclude}} {
		for _, name := range l.names {
			if !known[name] {
				return invalid(l.field, "Invalid node name specified")
			}
		}
	}
	return nil
}

// denied logs a request refused by authorization.
func (s *Service) denied(caller Identity, action string, err *Error) {
	s.log.Warn("request denied", "user", caller.User, "uid", caller.UID, "node", caller.Node, "action", action, "reason", err.Msg)
}

// authorizeRef checks that the caller may act on the job ref names (see
// authorizeJob). An unknown job passes: the command then reports it as
// Slurm does.
func (s *Service) authorizeRef(caller Identity, ref api.JobRef, action JobAction) error {
	st := s.store.State()
	j, found := st.JobRef(ref)
	if !found {
		return nil
	}
	cfg := st.Config()
	if err := authorizeJob(caller, &cfg, action, j); err != nil {
		s.denied(caller, string(action), err)
		return err
	}
	return nil
}

// CancelOptions are the options of Cancel.
type CancelOptions struct {
	// JobOnly cancels the job named and not the rest of its job array.
	JobOnly bool
}

// Cancel cancels a job: an array job ID cancels the whole array (unless
// JobOnly), ARRAYID_TASK one task.
func (s *Service) Cancel(ctx context.Context, caller Identity, ref api.JobRef, opts CancelOptions) (WriteResult, error) {
	if err := s.authorizeRef(caller, ref, ActionCancel); err != nil {
		return WriteResult{}, err
	}
	c := raftstore.CancelJob{Now: s.now().Unix(), ID: ref.ID, Task: ref.Task, JobOnly: opts.JobOnly, Reason: "cancelled by user"}
	if caller.User != "" {
		uid := caller.UID
		c.UID = &uid
	}
	return s.jobWrite(ctx, c)
}

// Signal commits a signal for a running job's node daemon to deliver to
// every process of the job (scancel --signal); the job keeps running.
func (s *Service) Signal(ctx context.Context, caller Identity, ref api.JobRef, signal string) (WriteResult, error) {
	if err := s.authorizeRef(caller, ref, ActionSignal); err != nil {
		return WriteResult{}, err
	}
	id := ref.ID
	if ref.Task != nil {
		task, found := s.store.State().ArrayTask(ref.ID, *ref.Task)
		if !found {
			return WriteResult{}, newError(KindNotFound, msgInvalidJobID)
		}
		id = task.ID
	}
	return s.jobWrite(ctx, raftstore.SignalJob{Now: s.now().Unix(), ID: id, Signal: signal})
}

// Hold holds a pending job.
func (s *Service) Hold(ctx context.Context, caller Identity, ref api.JobRef) (WriteResult, error) {
	return s.taskWrite(ctx, caller, ActionHold, ref, func(_ int64, id api.JobID) raftstore.Command { return raftstore.HoldJob{ID: id} })
}

// Release releases a held job.
func (s *Service) Release(ctx context.Context, caller Identity, ref api.JobRef) (WriteResult, error) {
	return s.taskWrite(ctx, caller, ActionRelease, ref, func(_ int64, id api.JobID) raftstore.Command { return raftstore.ReleaseJob{ID: id} })
}

// Requeue puts a job back to PENDING (a running job is asked to stop; one
// already being requeued has its grace time ended).
func (s *Service) Requeue(ctx context.Context, caller Identity, ref api.JobRef) (WriteResult, error) {
	return s.taskWrite(ctx, caller, ActionRequeue, ref, func(now int64, id api.JobID) raftstore.Command { return raftstore.RequeueJob{Now: now, ID: id} })
}

// EndGrace ends the grace time of a job being stopped (fairway checkpoint
// done).
func (s *Service) EndGrace(ctx context.Context, caller Identity, ref api.JobRef) (WriteResult, error) {
	return s.taskWrite(ctx, caller, ActionEndGrace, ref, func(now int64, id api.JobID) raftstore.Command { return raftstore.EndGrace{Now: now, ID: id} })
}

// RecordCheckpoint records that a running job completed a checkpoint
// (fairway checkpoint done): its LastCheckpoint becomes now, so a
// preemption loses only the work done since; a job being stopped also has
// its grace time ended, as EndGrace. Allowed to whoever may end the job's
// grace time; a job that is not running is a conflict.
func (s *Service) RecordCheckpoint(ctx context.Context, caller Identity, ref api.JobRef) (WriteResult, error) {
	return s.taskWrite(ctx, caller, ActionCheckpoint, ref, func(now int64, id api.JobID) raftstore.Command {
		return raftstore.RecordCheckpoint{Now: now, ID: id}
	})
}

// taskWrite commits the command mk builds for the job ref names (a started
// array task's own job for ARRAYID_TASK) once the caller is allowed the
// action on it.
func (s *Service) taskWrite(ctx context.Context, caller Identity, action JobAction, ref api.JobRef, mk func(now int64, id api.JobID) raftstore.Command) (WriteResult, error) {
	if err := s.authorizeRef(caller, ref, action); err != nil {
		return WriteResult{}, err
	}
	id, err := s.taskJobID(s.store.State(), ref)
	if err != nil {
		return WriteResult{}, err
	}
	return s.jobWrite(ctx, mk(s.now().Unix(), id))
}

// jobWrite commits a command about a job; an unknown job is Slurm's
// "Invalid job id specified".
func (s *Service) jobWrite(ctx context.Context, cmd raftstore.Command) (WriteResult, error) {
	if _, err := s.apply(ctx, cmd); err != nil {
		var se *Error
		if errors.As(err, &se) && se.Kind == KindNotFound {
			return WriteResult{}, &Error{Kind: KindNotFound, Msg: msgInvalidJobID, Err: se}
		}
		return WriteResult{}, err
	}
	return WriteResult{Index: s.store.Index()}, nil
}

// taskJobID resolves ARRAYID_TASK to the task's own job; a plain job ID is
// returned as it is. A task that has not started yet is a conflict: act on
// the whole array.
func (s *Service) taskJobID(st *raftstore.State, ref api.JobRef) (api.JobID, error) {
	if ref.Task == nil {
		return ref.ID, nil
	}
	j, ok := st.ArrayTask(ref.ID, *ref.Task)
	switch {
	case !ok:
		return 0, newError(KindNotFound, msgInvalidJobID)
	case j.IsArrayRecord():
		return 0, newError(KindConflict, "task %s has not started yet; act on the whole array with %d", ref, ref.ID)
	}
	return j.ID, nil
}

// JobFilter selects the jobs Jobs lists. The controller applies every
// field, so that a command showing a few jobs of 200,000 (squeue -u) gets
// those alone; a job must pass each field that is set.
type JobFilter struct {
	IDs  []api.JobID // these jobs (an array job ID: its record and tasks); empty: all
	All  bool        // finished jobs too
	User string      // only this user's jobs; "": everyone's
	// Users are more users (names or numeric uids) whose jobs are listed,
	// besides User.
	Users []string
	// States are the only states listed (with All unset, the PENDING and
	// RUNNING among them); empty: PENDING and RUNNING, or with All every
	// state.
	States []api.JobState
	// Accounts, Partitions (the job's partition or any it asked for) and
	// Names (job names): only jobs with one of them; empty: any.
	Accounts   []string
	Partitions []string
	Names      []string
	// Brief is set when the answer is written in the brief view
	// (api.AppendBriefJob), which carries no scripts, environments or
	// arguments: the list then holds the stored jobs themselves, not
	// redacted copies, and must only be read.
	Brief bool
}

// Jobs lists jobs (a blocking query waits on the jobs table). Every caller
// may list every job; the list carries no scripts, environments or
// arguments.
func (s *Service) Jobs(ctx context.Context, caller Identity, f JobFilter, q Query) (api.JobsResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicJobs)
	if err != nil {
		return api.JobsResponse{}, err
	}
	return api.JobsResponse{Index: st.Index(), Now: s.now().Unix(), Jobs: listJobs(st, f)}, nil
}

// listJobs returns the jobs f selects, ordered by ID, redacted (Jobs). It
// reads the stored jobs without deep copies and filters them before
// anything is copied; redact copies only what it changes.
func listJobs(st *raftstore.State, f JobFilter) []*api.Job {
	states := f.States
	if !f.All {
		states = []api.JobState{api.JobPending, api.JobRunning}
		if len(f.States) > 0 {
			states = slices.DeleteFunc(slices.Clone(f.States), func(s api.JobState) bool { return s.Final() })
			if len(states) == 0 {
				return []*api.Job{}
			}
		}
	}
	users := f.Users
	if f.User != "" {
		users = append([]string{f.User}, f.Users...)
	}
	var jobs []*api.Job
	switch {
	case len(f.IDs) > 0:
		// A job array's id lists the whole array: its record and its tasks.
		seen := map[api.JobID]bool{}
		for _, id := range f.IDs {
			j, ok := st.JobShared(id)
			if !ok {
				continue
			}
			members := []*api.Job{j}
			if j.ArrayJobID == j.ID {
				members = st.ArrayJobsShared(id)
			}
			for _, m := range members {
				if !seen[m.ID] {
					seen[m.ID] = true
					jobs = append(jobs, m)
				}
			}
		}
	case len(users) == 1 && !isUID(users[0]):
		// One user named: that user's jobs alone, through the user index.
		jobs = st.JobsShared(users[0], states...)
	default:
		jobs = jobsInStates(st, states)
	}
	m := newJobMatcher(f, states, users)
	out := make([]*api.Job, 0, len(jobs))
	for _, j := range jobs {
		if m.match(j) {
			// Lists never carry scripts, environments or arguments: read
			// a job to see them (Job). The brief view writes none.
			if !f.Brief {
				j = redact(j)
			}
			out = append(out, j)
		}
	}
	return out
}

// isUID reports whether a user filter is a numeric uid.
func isUID(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// jobMatcher is a JobFilter's tests on one job (its IDs aside).
type jobMatcher struct {
	states                     map[api.JobState]bool
	users, accounts, parts, nm map[string]bool
}

// newJobMatcher returns the matcher of f with the states and users
// listJobs settled on.
func newJobMatcher(f JobFilter, states []api.JobState, users []string) jobMatcher {
	m := jobMatcher{users: setOf(users), accounts: setOf(f.Accounts), parts: setOf(f.Partitions), nm: setOf(f.Names)}
	if len(states) > 0 {
		m.states = map[api.JobState]bool{}
		for _, s := range states {
			m.states[s] = true
		}
	}
	return m
}

// setOf is a set of the items, nil when there are none.
func setOf(items []string) map[string]bool {
	if len(items) == 0 {
		return nil
	}
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// match reports whether the job passes every test: a user by name or
// numeric uid (as squeue -u), a partition the job is in or asked for.
func (m jobMatcher) match(j *api.Job) bool {
	switch {
	case m.states != nil && !m.states[j.State]:
		return false
	case m.users != nil && !m.users[j.Spec.User] && !m.users[strconv.Itoa(j.Spec.UID)]:
		return false
	case m.accounts != nil && !m.accounts[j.Spec.Account]:
		return false
	case m.nm != nil && !m.nm[j.Spec.Name]:
		return false
	case m.parts != nil && !m.parts[j.Partition] && !slices.ContainsFunc(j.Spec.Partitions, func(p string) bool { return m.parts[p] }):
		return false
	}
	return true
}

// JobResult is one job and the index of the state it was read from.
type JobResult struct {
	Job   *api.Job
	Index uint64
}

// Job returns one job; ARRAYID_TASK names a task of a job array (its own
// job once started, the array's record while it is pending there). Its
// script, environment and arguments are there only for callers allowed to
// read the job (authorizeJob); others get the job without them.
func (s *Service) Job(ctx context.Context, caller Identity, ref api.JobRef, q Query) (JobResult, error) {
	st, err := s.read(ctx, q, raftstore.TopicJobs)
	if err != nil {
		return JobResult{}, err
	}
	j, found := st.JobRef(ref)
	if !found {
		return JobResult{}, newError(KindNotFound, msgInvalidJobID)
	}
	cfg := st.Config()
	if authorizeJob(caller, &cfg, ActionRead, j) != nil {
		j = redact(j)
	}
	return JobResult{Job: j, Index: st.Index()}, nil
}
