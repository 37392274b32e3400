// Package planapply is the one model of what applying a scheduler's plan
// does to the cluster's state. The controller's state machine runs it inside
// its memdb write transaction (raftstore), the scheduler's virtual-time test
// driver (schedtest) and the trace simulator (sim) run it on an in-memory
// state (Mem), so what the simulator reports is what the controller would
// do.
//
// Apply takes a plan (api.Plan, made by sched.Scheduler.Schedule from a
// snapshot that may be stale by the time the plan is applied) and, in order:
//
//  1. Preemptions: each running job named is asked to stop (a kill request)
//     with its checkpoint signal (its --signal, else USR1) and the grace time
//     of its QOS, else its partition, requeued unless it was submitted with
//     --no-requeue or its preempt mode is cancel. A job that is no longer
//     running, is already being stopped, or whose preempt mode is off is
//     skipped. Its resources stay held until its node reports the exit.
//  2. Starts, each verified against the state including the starts before
//     it (as Nomad's plan applier does): the job is still pending, not held,
//     past its begin time, asked for the partition, which is up; for an array
//     task, the task is still pending and the array's throttle (%N) allows
//     one more; every node is registered, up, in the partition, named once,
//     and the allocation fits what the node has free (sched.CheckAlloc, the
//     rule the scheduler's placement follows). A verified array task is split
//     off its record (a job of its own with the next job ID; the array's last
//     task takes over the record). A started job gets its run, its time
//     limit in the partition and its output paths (OutputPaths). Starts that
//     do not verify are dropped and reported, not errors.
//  3. Pending information: the pass's priority, reason and expected start
//     for each pending job (a held job keeps JobHeldUser).
//
// Apply reads the clock only from the plan (Plan.Now) and never changes a
// stored job in place: it stores new versions (copy-on-write), so read views
// taken before stay intact.
package planapply

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
)

// State is the cluster state a plan is applied to. Jobs and nodes it
// returns are read-only: Apply stores changed copies with PutJob.
type State interface {
	// Config is the cluster configuration (read-only).
	Config() *api.ClusterConfig
	// Job returns a job, or nil when there is none.
	Job(id api.JobID) *api.Job
	// Node returns a registered node, or nil when there is none.
	Node(name string) *api.Node
	// RunningOn returns the RUNNING jobs (including those being stopped)
	// that hold resources on the node, reflecting every PutJob so far.
	RunningOn(node string) []*api.Job
	// RunningTasks counts the RUNNING tasks of the job array id.
	RunningTasks(array api.JobID) int
	// NewJobID returns the next job ID and advances the counter.
	NewJobID() (api.JobID, error)
	// PutJob stores a job (a new version; the stored one is not changed).
	PutJob(j *api.Job) error
}

// Refusal is a part of a plan that was not applied, and why.
type Refusal struct {
	JobID api.JobID
	// Task is the array task of a start, or -1.
	Task int
	Why  string
}

// Result says what applying a plan did.
type Result struct {
	// Started are the jobs started, in plan order (for an array task, the
	// task's own job ID).
	Started []api.JobID
	// Preempted are the jobs asked to stop.
	Preempted []api.JobID
	// Dropped are the starts that did not verify.
	Dropped []Refusal
	// Skipped are the preemptions not applied.
	Skipped []Refusal
}

// Apply applies plan p to st (see the package documentation). Its error is
// only a failure of the state's storage; the state is then partly changed,
// and the caller must abort its transaction.
func Apply(st State, p *api.Plan) (Result, error) {
	var res Result
	cfg := st.Config()
	for _, pr := range p.Preemptions {
		j := st.Job(pr.JobID)
		kill, why := KillFor(cfg, j, pr, p.Now)
		if kill == nil {
			res.Skipped = append(res.Skipped, Refusal{JobID: pr.JobID, Task: -1, Why: why})
			continue
		}
		nj := *j
		nj.Kill = kill
		if err := st.PutJob(&nj); err != nil {
			return res, fmt.Errorf("preempt job %d: %w", j.ID, err)
		}
		res.Preempted = append(res.Preempted, j.ID)
	}
	for _, s := range p.Starts {
		id, err := start(st, cfg, s, p.Now)
		var drop *dropError
		if errors.As(err, &drop) {
			task := -1
			if s.ArrayTaskID != nil {
				task = *s.ArrayTaskID
			}
			res.Dropped = append(res.Dropped, Refusal{JobID: s.JobID, Task: task, Why: drop.why})
			continue
		}
		if err != nil {
			return res, err
		}
		res.Started = append(res.Started, id)
	}
	for _, pi := range p.Pending {
		if err := setPending(st, pi); err != nil {
			return res, err
		}
	}
	return res, nil
}

// dropError is a start that did not verify.
type dropError struct{ why string }

func (e *dropError) Error() string { return e.why }

func dropf(format string, args ...any) error {
	return &dropError{why: fmt.Sprintf(format, args...)}
}

// KillFor is the kill request a preemption puts on job j at time now, or nil
// and why not: j is missing, not running, already being stopped, or its
// preempt mode is off. The request carries the checkpoint signal, the grace
// time of the job's QOS or partition (sched.PreemptSettings), and requeues
// the job unless it was submitted with --no-requeue or the mode is cancel
// (then it ends PREEMPTED, its reason saying why it was not requeued).
func KillFor(cfg *api.ClusterConfig, j *api.Job, pr api.Preemption, now int64) (*api.KillRequest, string) {
	switch {
	case j == nil:
		return nil, "no such job"
	case j.State != api.JobRunning:
		return nil, fmt.Sprintf("job is %s", j.State)
	case j.Kill != nil:
		return nil, "job is already being stopped"
	}
	mode, grace := sched.PreemptSettings(cfg, j)
	if mode == api.PreemptOff {
		return nil, "the job's preempt mode is off"
	}
	reason := "Preempted"
	if pr.Reason != "" {
		reason += " (" + pr.Reason + ")"
	}
	if pr.For != 0 {
		reason += fmt.Sprintf(" for job %d", pr.For)
	}
	requeue := j.Spec.Requeueable() && mode != api.PreemptCancel
	switch {
	case !j.Spec.Requeueable():
		reason += "; not requeued: the job was submitted with --no-requeue"
	case !requeue:
		reason += "; not requeued: preempt mode cancel"
	}
	return &api.KillRequest{
		State:       api.JobPreempted,
		Requeue:     requeue,
		Reason:      reason,
		Signal:      j.CheckpointSignal(),
		GraceSecs:   grace,
		RequestedAt: now,
		For:         pr.For,
		Preemption:  cmp.Or(pr.Reason, PreemptOther),
	}, ""
}

// StopDeadline is when a job with kill request k has left its nodes at the
// latest, as the scheduler's timeline assumes: the request time plus the
// grace (sched.DefaultKillGraceSecs when the request has none).
func StopDeadline(k *api.KillRequest) int64 {
	g := int64(k.GraceSecs)
	if g <= 0 {
		g = sched.DefaultKillGraceSecs
	}
	return k.RequestedAt + g
}

// start verifies one start and applies it, returning the started job's ID;
// a start that does not verify is a *dropError.
func start(st State, cfg *api.ClusterConfig, s api.Start, now int64) (api.JobID, error) {
	j := st.Job(s.JobID)
	switch {
	case j == nil:
		return 0, dropf("no such job")
	case j.State != api.JobPending:
		return 0, dropf("job is %s", j.State)
	case j.Spec.Hold:
		return 0, dropf("job is held")
	case j.Spec.BeginTime > now:
		return 0, dropf("job may not start before %d", j.Spec.BeginTime)
	case j.IsArrayRecord() && s.ArrayTaskID == nil:
		return 0, dropf("the start of job array %d names no task", j.ID)
	case j.IsArrayRecord() && !j.ArrayPending.Contains(*s.ArrayTaskID):
		return 0, dropf("task %d of job array %d is not pending", *s.ArrayTaskID, j.ID)
	case j.IsArrayRecord() && j.ArrayMaxRun > 0 && st.RunningTasks(j.ID) >= j.ArrayMaxRun:
		return 0, dropf("job array %d already runs %d tasks, its limit (%%%d)", j.ID, j.ArrayMaxRun, j.ArrayMaxRun)
	case !j.IsArrayRecord() && s.ArrayTaskID != nil && !(j.IsArrayTask() && j.ArrayTaskID == *s.ArrayTaskID):
		return 0, dropf("job is not task %d of a job array", *s.ArrayTaskID)
	}
	part := s.Partition
	if part == "" {
		part = j.Partition
	}
	if !mayRunIn(cfg, j, part) {
		return 0, dropf("job did not ask for partition %q", part)
	}
	pc, _ := cfg.Partition(part)
	if !pc.Up() {
		return 0, dropf("partition %s is %s", part, pc.State)
	}
	if want := max(j.Spec.Nodes, 1); len(s.Alloc) != want {
		return 0, dropf("allocation has %d nodes, the job needs %d", len(s.Alloc), want)
	}
	need := sched.NeedIn(&j.Spec, pc)
	alloc := make([]api.NodeAlloc, len(s.Alloc))
	for i, a := range s.Alloc {
		if slices.ContainsFunc(s.Alloc[:i], func(b api.NodeAlloc) bool { return b.Node == a.Node }) {
			return 0, dropf("node %s appears twice", a.Node)
		}
		n := st.Node(a.Node)
		switch {
		case n == nil:
			return 0, dropf("node %q is not registered", a.Node)
		case !InPartition(cfg, part, n):
			return 0, dropf("node %s is not in partition %s", a.Node, part)
		}
		na, err := sched.CheckAlloc(n, sched.NodeUsage(n, st.RunningOn(n.Name)), need, a)
		if err != nil {
			return 0, dropf("%v", err)
		}
		alloc[i] = na
	}
	if j.IsArrayRecord() {
		task, err := splitTask(st, cfg, j, *s.ArrayTaskID)
		if err != nil {
			return 0, err
		}
		j = task
	}
	nj := *j
	nj.State = api.JobRunning
	nj.Reason = api.ReasonNone
	nj.Partition = part
	nj.StartTime = now
	if s.Priority != 0 {
		nj.Priority = s.Priority
	}
	nj.EndTime = 0
	nj.ExpectedStart = 0
	nj.ExitCode = 0
	nj.Signal = 0
	nj.Kill = nil
	nj.Alloc = alloc
	nj.TimeLimitSecs = nj.Spec.TimeLimitIn(pc)
	nj.Runs = append(slices.Clip(j.Runs), api.JobRun{
		Run:       nj.RestartCount,
		Nodes:     nj.NodeNames(),
		StartTime: now,
		State:     api.JobRunning,
	})
	nj.StdoutPath, nj.StderrPath = OutputPaths(&nj, alloc[0].Node)
	nj.StdinPath = InputPath(&nj, alloc[0].Node)
	if err := st.PutJob(&nj); err != nil {
		return 0, fmt.Errorf("start job %d: %w", nj.ID, err)
	}
	return nj.ID, nil
}

// mayRunIn reports whether the job asked for the partition (or, naming
// none, whether it is its listed or the default partition).
func mayRunIn(cfg *api.ClusterConfig, j *api.Job, part string) bool {
	if len(j.Spec.Partitions) > 0 {
		return slices.Contains(j.Spec.Partitions, part)
	}
	if part == j.Partition {
		return true
	}
	def, ok := cfg.DefaultPartition()
	return ok && def.Name == part
}

// InPartition reports whether a node belongs to a partition: listed in the
// partition's Nodes, or, when the partition lists none (or is not
// configured), named by the node when it registered.
func InPartition(cfg *api.ClusterConfig, part string, n *api.Node) bool {
	if pc, ok := cfg.Partition(part); ok && len(pc.Nodes) > 0 {
		return slices.Contains(pc.Nodes, n.Name)
	}
	return slices.Contains(n.Partitions, part)
}

// SplitTask takes a pending task off a job array's record and returns it as
// a PENDING job of its own, stored with the updated record: a new job ID,
// the record's spec with Array cleared, its submit time, partition,
// priority and reason. When it is the record's last pending task the record
// itself becomes the task (its ID is the array job ID), as Slurm does with
// an array's last task. Scancel of one pending task uses it too.
func SplitTask(st State, rec *api.Job, task int) (*api.Job, error) {
	return splitTask(st, st.Config(), rec, task)
}

func splitTask(st State, cfg *api.ClusterConfig, rec *api.Job, task int) (*api.Job, error) {
	var t *api.Job
	if len(rec.ArrayPending) == 1 {
		c := *rec
		t = &c
	} else {
		id, err := st.NewJobID()
		if err != nil {
			return nil, fmt.Errorf("split task %d_%d: %w", rec.ID, task, err)
		}
		t = &api.Job{
			ID:         id,
			Spec:       rec.Spec,
			State:      api.JobPending,
			Reason:     rec.Reason,
			Partition:  rec.Partition,
			SubmitTime: rec.SubmitTime,
			Priority:   rec.Priority,
			ArrayJobID: rec.ID,
		}
		nr := *rec // the task list is never modified in place: sharing it is safe
		nr.ArrayPending = rec.ArrayPending.Without(task)
		if err := st.PutJob(&nr); err != nil {
			return nil, fmt.Errorf("split task %d_%d: %w", rec.ID, task, err)
		}
	}
	t.Spec.Array = ""
	t.CheckpointDir = CheckpointDir(cfg, t.ID)
	t.ArrayTaskID = task
	t.ArrayPending, t.ArrayMaxRun = nil, 0
	t.ExpectedStart = 0
	t.StdoutPath, t.StderrPath = OutputPaths(t, "")
	t.StdinPath = InputPath(t, "")
	if err := st.PutJob(t); err != nil {
		return nil, fmt.Errorf("split task %d_%d: %w", rec.ID, task, err)
	}
	return t, nil
}

// setPending records the pass's priority, reason and expected start for a
// pending job. A held job keeps the reason JobHeldUser.
func setPending(st State, pi api.PendingInfo) error {
	j := st.Job(pi.JobID)
	if j == nil || j.State != api.JobPending {
		return nil
	}
	reason, expected := pi.Reason, pi.ExpectedStart
	if reason == "" {
		reason = j.Reason
	}
	if j.Spec.Hold {
		reason, expected = api.ReasonHeldUser, 0
	}
	if j.Priority == pi.Priority && j.Reason == reason && j.ExpectedStart == expected {
		return nil
	}
	nj := *j
	nj.Priority = pi.Priority
	nj.Reason = reason
	nj.ExpectedStart = expected
	if err := st.PutJob(&nj); err != nil {
		return fmt.Errorf("pending job %d: %w", pi.JobID, err)
	}
	return nil
}
