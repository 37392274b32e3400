package raftstore

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/planapply"
	memdb "github.com/hashicorp/go-memdb"
)

// writer applies one command inside a memdb write transaction. Stored
// objects are never modified: a handler copies an object, changes the copy
// and inserts it (copy-on-write), so read views taken earlier stay intact.
type writer struct {
	txn *memdb.Txn
	log *slog.Logger
	// intern, when set, makes new jobs share equal scripts and
	// environments (see interner).
	intern *interner
}

// meta returns the meta row (read-only).
func (w *writer) meta() *meta { return getMeta(w.txn) }

// put inserts or replaces an object.
func (w *writer) put(table string, obj any) error {
	if err := w.txn.Insert(table, obj); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// job returns a stored job (read-only) or an ErrNotFound error.
func (w *writer) job(id api.JobID) (*api.Job, error) {
	j := getJob(w.txn, id)
	if j == nil {
		return nil, notFoundf("job %d not found", id)
	}
	return j, nil
}

// submitJobs applies SubmitJobs.
func (w *writer) submitJobs(c *SubmitJobs) ([]api.JobID, error) {
	if len(c.Specs) == 0 {
		return nil, &api.FieldError{Field: "jobs", Value: "", Msg: "at least one job is required"}
	}
	if c.Key != "" {
		if raw, err := w.txn.First(tableSubmitKeys, indexID, c.Key); err == nil && raw != nil {
			if k := raw.(*SubmitKey); k.UID == c.Specs[0].UID {
				return slices.Clone(k.IDs), nil
			}
			return nil, &api.FieldError{Field: "key", Value: c.Key, Msg: "this submission key was used by another user"}
		}
	}
	m := *w.meta()
	ids := make([]api.JobID, 0, len(c.Specs))
	var active *api.ActiveAssocJobs // counted once a MaxSubmitJobs limit applies
	for _, spec := range c.Specs {
		j, err := newJob(w.txn, &m.Config, m.NextJobID, c.Now, spec, &active)
		if err != nil {
			return nil, err
		}
		if w.intern != nil {
			w.intern.spec(&j.Spec)
		}
		if err := w.put(tableJobs, j); err != nil {
			return nil, fmt.Errorf("submit job %d: %w", j.ID, err)
		}
		ids = append(ids, j.ID)
		m.NextJobID++
	}
	if err := w.put(tableMeta, &m); err != nil {
		return nil, fmt.Errorf("submit jobs: %w", err)
	}
	if c.Key != "" {
		if err := w.put(tableSubmitKeys, &SubmitKey{Key: c.Key, UID: c.Specs[0].UID, IDs: slices.Clone(ids), Time: c.Now}); err != nil {
			return nil, fmt.Errorf("submit jobs: %w", err)
		}
	}
	return ids, nil
}

// newJob makes the record of a job submitted at now with ID id, or
// refuses it as SubmitJobs does: an unknown partition, a MaxSubmitJobs
// limit (active counts the jobs already pending or running, those of the
// same submission included; counted from txn on first need), a bad array.
// It reads txn and writes nothing.
func newJob(txn *memdb.Txn, cfg *api.ClusterConfig, id api.JobID, now int64, spec api.JobSpec, active **api.ActiveAssocJobs) (*api.Job, error) {
	part, err := submitPartition(cfg, &spec)
	if err != nil {
		return nil, err
	}
	if limit, _ := cfg.SubmitLimit(spec.Account, spec.User); limit > 0 {
		if *active == nil {
			a := api.CountActiveJobs(append(jobsInState(txn, api.JobPending), jobsInState(txn, api.JobRunning)...))
			*active = &a
		}
		n := 1
		if spec.Array != "" {
			if arr, err := api.ParseArray(spec.Array, cfg.MaxArraySizeOrDefault()); err == nil {
				n = max(len(arr.Tasks), 1)
			}
		}
		if err := checkSubmitLimit(cfg, &spec, *active, n); err != nil {
			return nil, err
		}
		(*active).Add(spec.Account, spec.User, spec.QOS, n)
	}
	j := &api.Job{
		ID:         id,
		Spec:       copySpec(spec),
		State:      api.JobPending,
		Reason:     api.ReasonPriority,
		Partition:  part,
		SubmitTime: now,
	}
	if spec.Hold {
		j.Reason = api.ReasonHeldUser
	}
	if spec.Array != "" {
		arr, err := api.ParseArray(spec.Array, cfg.MaxArraySizeOrDefault())
		if err != nil {
			return nil, err
		}
		j.ArrayJobID, j.ArrayTaskID = j.ID, -1
		j.ArrayPending, j.ArrayMaxRun = arr.Tasks, arr.MaxRun
	}
	j.StdoutPath, j.StderrPath = planapply.OutputPaths(j, "")
	j.StdinPath = planapply.InputPath(j, "")
	j.CheckpointDir = planapply.CheckpointDir(cfg, j.ID)
	return j, nil
}

// TrySubmit makes the record the job of spec would get if it were
// submitted at now (the next job ID, its partition, paths), or the error
// SubmitJobs would refuse it with (sbatch --test-only). It changes
// nothing.
func (st *State) TrySubmit(now int64, spec api.JobSpec) (*api.Job, error) {
	var active *api.ActiveAssocJobs
	return newJob(st.txn, &st.meta.Config, st.meta.NextJobID, now, spec, &active)
}

// submitPartition returns the partition a new job is listed in: the first it
// names, or the default one. Named partitions must exist when the
// configuration has any.
func submitPartition(cfg *api.ClusterConfig, spec *api.JobSpec) (string, error) {
	if len(spec.Partitions) == 0 {
		p, _ := cfg.DefaultPartition()
		return p.Name, nil
	}
	if len(cfg.Partitions) > 0 {
		for _, name := range spec.Partitions {
			if _, ok := cfg.Partition(name); !ok {
				names := make([]string, len(cfg.Partitions))
				for i, p := range cfg.Partitions {
					names[i] = p.Name
				}
				return "", &api.FieldError{
					Field: "partition",
					Value: name,
					Msg:   "no such partition; known partitions: " + strings.Join(names, ","),
				}
			}
		}
	}
	return spec.Partitions[0], nil
}

// cancelJob applies CancelJob.
func (w *writer) cancelJob(c *CancelJob) error {
	if c.Task != nil {
		return w.cancelTask(c, *c.Task)
	}
	j := getJob(w.txn, c.ID)
	switch {
	case j == nil && !c.JobOnly && len(arrayJobs(w.txn, c.ID)) > 0:
		return w.cancelArray(c) // the record expired; tasks remain
	case j == nil:
		return notFoundf("job %d not found", c.ID)
	case j.ArrayJobID == j.ID && !c.JobOnly:
		return w.cancelArray(c)
	}
	return w.cancelOne(c, j)
}

// cancelArray cancels every active job of the array c.ID: the record with
// the tasks that have not started, and the tasks pending or running. It is
// an ErrConflict when none is active.
func (w *writer) cancelArray(c *CancelJob) error {
	jobs := arrayJobs(w.txn, c.ID)
	cancelled := false
	for _, j := range jobs {
		if j.State.Final() {
			continue
		}
		if err := w.cancelOne(c, j); err != nil {
			return err
		}
		cancelled = true
	}
	if !cancelled {
		if rec := getJob(w.txn, c.ID); rec != nil {
			return conflictf("job array %d already %s", c.ID, rec.State)
		}
		return conflictf("job array %d already ended", c.ID)
	}
	return nil
}

// cancelTask cancels one task of the array c.ID: its own job when it has
// one, else it is split off the array's record and ends CANCELLED.
func (w *writer) cancelTask(c *CancelJob, task int) error {
	for _, j := range arrayJobs(w.txn, c.ID) {
		if j.IsArrayTask() && j.ArrayTaskID == task {
			return w.cancelOne(c, j)
		}
	}
	rec := getJob(w.txn, c.ID)
	if rec == nil || !rec.IsArrayRecord() || rec.State != api.JobPending || !rec.ArrayPending.Contains(task) {
		return notFoundf("job %d_%d not found", c.ID, task)
	}
	nj, err := planapply.SplitTask(planState{w}, rec, task)
	if err != nil {
		return err
	}
	return w.cancelOne(c, nj)
}

// cancelOne cancels one job (not its array).
func (w *writer) cancelOne(c *CancelJob, j *api.Job) error {
	nj := writeCopy(j)
	if c.UID != nil && !j.State.Final() {
		uid := *c.UID
		nj.CancelledBy = &uid
	}
	switch j.State {
	case api.JobPending:
		nj.State = api.JobCancelled
		nj.Reason = c.Reason
		if nj.Reason == "" {
			nj.Reason = api.ReasonNone
		}
		nj.EndTime = c.Now
		nj.ExpectedStart = 0
	case api.JobRunning:
		if k := j.Kill; k != nil && !k.Requeue && k.State == api.JobCancelled {
			return nil // already being cancelled
		}
		nj.Kill = &api.KillRequest{State: api.JobCancelled, Reason: c.Reason, RequestedAt: c.Now}
	default:
		return conflictf("job %d already %s", j.ID, j.State)
	}
	return w.put(tableJobs, nj)
}

// holdJob applies HoldJob.
func (w *writer) holdJob(c *HoldJob) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobPending {
		return conflictf("job %d is %s: only pending jobs can be held", c.ID, j.State)
	}
	if j.Spec.Hold {
		return nil
	}
	nj := writeCopy(j)
	nj.Spec.Hold = true
	nj.Reason = api.ReasonHeldUser
	nj.ExpectedStart = 0
	return w.put(tableJobs, nj)
}

// releaseJob applies ReleaseJob.
func (w *writer) releaseJob(c *ReleaseJob) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobPending {
		return conflictf("job %d is %s: only pending jobs can be released", c.ID, j.State)
	}
	if !j.Spec.Hold {
		return nil
	}
	nj := writeCopy(j)
	nj.Spec.Hold = false
	nj.Reason = api.ReasonPriority
	return w.put(tableJobs, nj)
}

// requeueJob applies RequeueJob.
func (w *writer) requeueJob(c *RequeueJob) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	nj := writeCopy(j)
	switch {
	case j.State == api.JobPending:
		return nil
	case j.State == api.JobRunning:
		if k := j.Kill; k != nil {
			if !k.Requeue {
				return conflictf("job %d is already being stopped (%s)", c.ID, k.State)
			}
			if k.EndGrace {
				return nil
			}
			// The job asks for the requeue it is already getting (a job
			// that saved its checkpoint during its grace time, as
			// submitit and PyTorch Lightning do): it is done, the grace
			// time ends now.
			nk := *k
			nk.EndGrace, nk.EndGraceAt = true, c.Now
			nj.Kill = &nk
			nj.LastCheckpoint = c.Now
			return w.put(tableJobs, nj)
		}
		nj.Kill = &api.KillRequest{
			State:       api.JobPending,
			Requeue:     true,
			Reason:      api.ReasonRequeued,
			RequestedAt: c.Now,
		}
	default: // finished: back to pending at once, as scontrol requeue does
		nj.RestartCount++
		resetForRequeue(nj)
	}
	return w.put(tableJobs, nj)
}

// endGrace applies EndGrace.
func (w *writer) endGrace(c *EndGrace) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobRunning || j.Kill == nil {
		what := string(j.State)
		if j.State == api.JobRunning {
			what = "RUNNING and not being stopped"
		}
		return conflictf("job %d is %s: there is no grace time to end (fairway checkpoint done ends the grace time of a job being preempted or requeued)", c.ID, what)
	}
	if j.Kill.EndGrace {
		return nil
	}
	nj := writeCopy(j)
	nj.Kill.EndGrace, nj.Kill.EndGraceAt = true, c.Now
	nj.LastCheckpoint = c.Now // it has saved its checkpoint
	return w.put(tableJobs, nj)
}

// recordCheckpoint applies RecordCheckpoint.
func (w *writer) recordCheckpoint(c *RecordCheckpoint) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobRunning {
		return conflictf("job %d is %s: only a running job records checkpoints (fairway checkpoint done runs inside the job)", c.ID, j.State)
	}
	nj := writeCopy(j)
	nj.LastCheckpoint = c.Now
	if nj.Kill != nil && !nj.Kill.EndGrace {
		// Saved during its grace time: the job is done, as EndGrace.
		nj.Kill.EndGrace, nj.Kill.EndGraceAt = true, c.Now
	}
	return w.put(tableJobs, nj)
}

// signalJob applies SignalJob.
func (w *writer) signalJob(c *SignalJob) error {
	if !api.ValidSignalName(c.Signal) {
		return &api.FieldError{Field: "--signal", Value: c.Signal, Msg: "must be a signal name such as USR1 or a number"}
	}
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobRunning {
		return conflictf("job %d is %s: scancel --signal reaches running jobs only", c.ID, j.State)
	}
	nj := writeCopy(j)
	seq := 1
	if j.SignalReq != nil {
		seq = j.SignalReq.Seq + 1
	}
	nj.SignalReq = &api.SignalRequest{Seq: seq, Signal: c.Signal, At: c.Now}
	return w.put(tableJobs, nj)
}

// killJob applies KillJob.
func (w *writer) killJob(c *KillJob) error {
	k := c.Kill
	if k.Requeue {
		if k.State == "" {
			k.State = api.JobPending
		}
		if k.State != api.JobPending && k.State != api.JobPreempted {
			return &api.FieldError{Field: "kill.state", Value: string(k.State), Msg: "a requeue ends in PENDING or PREEMPTED"}
		}
	} else if !k.State.Final() {
		return &api.FieldError{Field: "kill.state", Value: string(k.State), Msg: "must be a final state such as CANCELLED, TIMEOUT or PREEMPTED"}
	}
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	if j.State != api.JobRunning {
		return conflictf("job %d is %s, not RUNNING", c.ID, j.State)
	}
	if j.Kill != nil {
		return nil
	}
	if k.RequestedAt == 0 {
		k.RequestedAt = c.Now
	}
	if k.State == api.JobPreempted {
		cfg := w.meta().Config
		_, grace := sched.PreemptSettings(&cfg, j)
		if k.Signal == "" {
			k.Signal = j.CheckpointSignal()
		}
		if k.GraceSecs == 0 {
			k.GraceSecs = grace
		}
	}
	nj := writeCopy(j)
	nj.Kill = &k
	if reason := planapply.PreemptionReason(&k); reason != "" {
		// A preemption for another job, as a plan's: counted alike.
		if err := w.addPreemptionTotal(j.Spec.Account, reason, 1, 0); err != nil {
			return err
		}
	}
	return w.put(tableJobs, nj)
}

// expireJobs applies ExpireJobs.
func (w *writer) expireJobs(c *ExpireJobs) (int, error) {
	n := 0
	for _, j := range allJobs(w.txn) {
		if !j.State.Final() || j.EndTime >= c.Before {
			continue
		}
		if err := w.txn.Delete(tableJobs, j); err != nil {
			return 0, fmt.Errorf("expire job %d: %w", j.ID, err)
		}
		n++
	}
	// Submission keys are remembered SubmitKeyTTLSecs.
	if c.Now > 0 {
		var old []any
		if it, err := w.txn.Get(tableSubmitKeys, indexID); err == nil {
			for raw := it.Next(); raw != nil; raw = it.Next() {
				if raw.(*SubmitKey).Time < c.Now-SubmitKeyTTLSecs {
					old = append(old, raw)
				}
			}
		}
		for _, k := range old {
			if err := w.txn.Delete(tableSubmitKeys, k); err != nil {
				return 0, fmt.Errorf("expire submission key: %w", err)
			}
		}
	}
	return n, nil
}

// jobEvents applies JobEvents. Events that do not match the current run of a
// running job on the reporting node are ignored.
func (w *writer) jobEvents(c *JobEvents) error {
	for _, ev := range c.Events {
		node := c.Node
		if node == "" {
			node = ev.Node
		}
		ignore := func(why string) {
			w.log.Debug("ignoring job event", "job", ev.JobID, "run", ev.Run, "kind", ev.Kind, "node", node, "why", why)
		}
		if ev.Node != "" && ev.Node != node {
			ignore("event names node " + ev.Node)
			continue
		}
		j := getJob(w.txn, ev.JobID)
		if j != nil && (j.State != api.JobRunning || ev.Run != j.RestartCount) {
			// A run the controller already ended (when the node went
			// DOWN): a fenced node now says when it really stopped, and
			// an end event brings the batch step's usage.
			nj := writeCopy(j)
			fenced := ev.Fenced && fencedStop(nj, ev)
			usage := lateRunUsage(nj, ev, node)
			if fenced || usage {
				if err := w.put(tableJobs, nj); err != nil {
					return fmt.Errorf("job %d ended run %d: %w", ev.JobID, ev.Run, err)
				}
				continue
			}
		}
		switch {
		case j == nil:
			ignore("no such job")
			continue
		case j.State != api.JobRunning:
			ignore("job is " + string(j.State))
			continue
		case ev.Run != j.RestartCount:
			ignore(fmt.Sprintf("current run is %d", j.RestartCount))
			continue
		case !slices.Contains(j.NodeNames(), node):
			ignore("node is not in the job's allocation")
			continue
		}
		var o outcome
		switch ev.Kind {
		case api.EventStarted:
			continue
		case api.EventExited:
			o = exitOutcome(j, ev)
		case api.EventLaunchFail:
			o = outcome{
				runState: api.JobFailed,
				jobState: api.JobFailed,
				reason:   api.ReasonLaunchFailed + ": " + ev.Message,
				exitCode: ev.ExitCode,
				signal:   ev.Signal,
				failure:  &api.RunFailure{Kind: api.FailLaunchFail},
			}
		case api.EventLost:
			reason := "NodeFail: job lost by node " + node
			if ev.Message != "" {
				reason += ": " + ev.Message
			}
			o = lostOutcome(j, reason)
		default:
			ignore("unknown event kind")
			continue
		}
		if err := w.chargeRun(j, c.Now); err != nil {
			return fmt.Errorf("job %d event %s: %w", ev.JobID, ev.Kind, err)
		}
		o = withRetry(&w.meta().Config, j, o)
		nj := writeCopy(j)
		endRun(nj, o, c.Now)
		// A run that exits while a plan's preemption stops it lost the
		// work since its last checkpoint. A lost run (its node, a fence)
		// did not end by the preemption.
		if reason := planapply.PreemptionReason(j.Kill); reason != "" && ev.Kind == api.EventExited && !ev.Fenced {
			if r := pastRun(nj, ev.Run); r != nil {
				r.LostGPUSecs = planapply.LostGPUSecs(planapply.AllocGPUs(j.Alloc), r.StartTime, r.EndTime, j.LastCheckpoint)
				if err := w.addPreemptionTotal(j.Spec.Account, reason, 0, r.LostGPUSecs); err != nil {
					return fmt.Errorf("job %d event %s: %w", ev.JobID, ev.Kind, err)
				}
			}
		}
		if r := pastRun(nj, ev.Run); r != nil && ev.Usage != nil {
			r.Usage = copyUsage(ev.Usage)
		}
		if r := pastRun(nj, ev.Run); ev.Fenced && r != nil {
			r.Fenced = true
			if ev.StoppedAt > 0 {
				r.EndTime = max(r.StartTime, min(ev.StoppedAt, r.EndTime))
				if nj.State != api.JobPending {
					nj.EndTime = r.EndTime
				}
			}
		}
		if err := w.put(tableJobs, nj); err != nil {
			return fmt.Errorf("job %d event %s: %w", ev.JobID, ev.Kind, err)
		}
	}
	return nil
}

// outcome is how a run ends: the state recorded in the run and the state the
// job moves to (PENDING: requeued).
type outcome struct {
	runState api.JobState
	jobState api.JobState
	reason   string
	exitCode int
	signal   int
	// failure is how the run failed, for the retry policy; nil when it
	// completed or was stopped (cancelled, timed out, preempted, requeued).
	failure *api.RunFailure
	// retry: the job's retry policy sends it back to PENDING (Retries+1).
	retry bool
}

// exitOutcome decides how a run that exited ends.
func exitOutcome(j *api.Job, ev api.JobEvent) outcome {
	var o outcome
	switch {
	case j.Kill != nil:
		o = killOutcome(j.Kill)
	case ev.OOM:
		o = outcome{runState: api.JobOutOfMemory, jobState: api.JobOutOfMemory, reason: "OutOfMemory",
			failure: &api.RunFailure{Kind: api.FailOOM}}
	case ev.ExitCode == 0 && ev.Signal == 0:
		o = outcome{runState: api.JobCompleted, jobState: api.JobCompleted, reason: api.ReasonNone}
	case ev.Signal != 0:
		o = outcome{runState: api.JobFailed, jobState: api.JobFailed, reason: fmt.Sprintf("RaisedSignal:%d", ev.Signal),
			failure: &api.RunFailure{Kind: api.FailSignal, Signal: ev.Signal}}
	default:
		o = outcome{runState: api.JobFailed, jobState: api.JobFailed, reason: api.ReasonNonZeroExit,
			failure: &api.RunFailure{Kind: api.FailExit, ExitCode: ev.ExitCode}}
	}
	o.exitCode, o.signal = ev.ExitCode, ev.Signal
	return o
}

// killOutcome is how a run that was asked to stop ends: requeued (recorded
// as PREEMPTED or REQUEUED) or in the kill's state.
func killOutcome(k *api.KillRequest) outcome {
	if k.Requeue {
		o := outcome{runState: api.JobRequeued, jobState: api.JobPending, reason: k.Reason}
		if k.State == api.JobPreempted {
			o.runState = api.JobPreempted
		}
		if o.reason == "" {
			o.reason = api.ReasonRequeued
		}
		return o
	}
	st := k.State
	if !st.Final() {
		st = api.JobCancelled
	}
	o := outcome{runState: st, jobState: st, reason: k.Reason}
	if o.reason == "" {
		switch st {
		case api.JobTimeout:
			o.reason = api.ReasonTimeLimit
		case api.JobCancelled:
			o.reason = api.ReasonCancelled
		default:
			o.reason = string(st)
		}
	}
	return o
}

// lostOutcome is how a run whose node lost it (or went down) ends: recorded
// NODE_FAIL, and the job requeued if it may be, else ending NODE_FAIL. A job
// that was being stopped for good (cancelled, timed out) ends as the stop
// asked instead of coming back.
func lostOutcome(j *api.Job, reason string) outcome {
	if k := j.Kill; k != nil && !k.Requeue {
		return killOutcome(k)
	}
	o := outcome{runState: api.JobNodeFail, jobState: api.JobNodeFail, reason: reason,
		failure: &api.RunFailure{Kind: api.FailNodeFail}}
	if j.Kill != nil || j.Spec.Requeueable() {
		o.jobState = api.JobPending
	}
	return o
}

// withRetry applies the job's retry policy (its --retry, else the default of
// the partition the run ran in) to how a run that was not asked to stop
// ends: a failure the policy names, with retries left, sends the job back to
// PENDING instead of ending it. The run keeps its own state (FAILED,
// NODE_FAIL, OUT_OF_MEMORY) and exit code, and its reason says which retry
// follows. A run already being requeued (a node failure of a requeueable
// job) is a requeue, not a retry, and uses none of the policy's retries.
func withRetry(cfg *api.ClusterConfig, j *api.Job, o outcome) outcome {
	if o.failure == nil || !o.jobState.Final() || j.Kill != nil {
		return o
	}
	p, _ := cfg.Partition(j.Partition)
	d := api.DecideRetry(j.Spec.RetryIn(p), j.Retries, *o.failure)
	if !d.Retry {
		return o
	}
	switch o.failure.Kind {
	case api.FailNodeFail, api.FailLaunchFail:
		o.reason = d.Reason + "; " + o.reason // the node's message says more
	default:
		o.reason = d.Reason
	}
	o.jobState, o.retry = api.JobPending, true
	return o
}

// endRun ends the current run of a job (a copy being changed): the run is
// recorded, and the job either ends or goes back to PENDING with its restart
// count raised. Alloc and Kill are cleared either way. The run's steps
// still RUNNING end CANCELLED.
func endRun(j *api.Job, o outcome, now int64) {
	for i := len(j.Runs) - 1; i >= 0; i-- {
		if j.Runs[i].Run == j.RestartCount {
			r := &j.Runs[i]
			r.State = o.runState
			r.EndTime = now
			r.ExitCode = o.exitCode
			r.Signal = o.signal
			r.Reason = o.reason
			endSteps(r, api.JobCancelled, "", now, nil)
			break
		}
	}
	if o.jobState == api.JobPending {
		var failedOn []string
		if o.retry {
			j.Retries++
			for _, r := range j.Runs {
				if r.Run == j.RestartCount {
					failedOn = slices.Clone(r.Nodes)
				}
			}
		}
		j.RestartCount++
		resetForRequeue(j)
		j.AvoidNodes = failedOn
		return
	}
	j.State = o.jobState
	j.Reason = o.reason
	j.EndTime = now
	j.ExitCode = o.exitCode
	j.Signal = o.signal
	j.Alloc = nil
	j.Kill = nil
	j.AvoidNodes = nil
}

// resetForRequeue makes a job PENDING for its next run. SubmitTime, Runs and
// RestartCount are kept.
func resetForRequeue(j *api.Job) {
	j.State = api.JobPending
	j.Reason = api.ReasonRequeued
	j.StartTime = 0
	j.EndTime = 0
	j.ExpectedStart = 0
	j.ExitCode = 0
	j.Signal = 0
	j.Alloc = nil
	j.Kill = nil
	j.AvoidNodes = nil
}
