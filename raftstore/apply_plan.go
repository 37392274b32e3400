package raftstore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
)

// errStartDropped marks a plan start that did not verify.
var errStartDropped = errors.New("start dropped")

// applyPlan applies ApplyPlan: preemptions first (they only ask jobs to
// stop; their resources are freed when the jobs exit), then each start that
// still verifies against the state including the starts before it, then the
// pending jobs' reasons and estimates.
func (w *writer) applyPlan(c *ApplyPlan) ([]api.JobID, error) {
	p := &c.Plan
	cfg := w.meta().Config
	for _, pr := range p.Preemptions {
		if err := w.preempt(&cfg, pr, p.Now); err != nil {
			return nil, err
		}
	}
	started := []api.JobID{}
	for _, s := range p.Starts {
		nj, err := w.verifyStart(&cfg, s, p.Now)
		if errors.Is(err, errStartDropped) {
			w.log.Info("raftstore: plan start dropped", "job", s.JobID, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := w.put(tableJobs, nj); err != nil {
			return nil, fmt.Errorf("start job %d: %w", nj.ID, err)
		}
		started = append(started, nj.ID)
	}
	for _, pi := range p.Pending {
		if err := w.setPending(pi); err != nil {
			return nil, err
		}
	}
	return started, nil
}

// preemptSettings returns the preempt mode and grace time of a job: its
// QOS's where the QOS sets them, else its partition's.
func preemptSettings(cfg *api.ClusterConfig, j *api.Job) (api.PreemptMode, int) {
	part, _ := cfg.Partition(j.Partition)
	mode, grace := part.PreemptMode, part.GraceSecs
	if j.Spec.QOS != "" {
		for _, q := range cfg.QOS {
			if q.Name != j.Spec.QOS {
				continue
			}
			if q.PreemptMode != "" {
				mode = q.PreemptMode
			}
			if q.GraceSecs > 0 {
				grace = q.GraceSecs
			}
		}
	}
	return mode, grace
}

// checkpointSignal is the signal a preempted job gets first: its --signal,
// else USR1.
func checkpointSignal(j *api.Job) string {
	if j.Spec.Signal != nil && j.Spec.Signal.Name != "" {
		return j.Spec.Signal.Name
	}
	return "USR1"
}

// preempt asks a running job to stop for a plan's preemption: with its
// checkpoint signal (its --signal, else USR1) and the grace time of its QOS
// or partition, requeued unless the job or the preempt mode says not. A job
// whose preempt mode is off is not preempted.
func (w *writer) preempt(cfg *api.ClusterConfig, pr api.Preemption, now int64) error {
	j := getJob(w.txn, pr.JobID)
	if j == nil || j.State != api.JobRunning || j.Kill != nil {
		w.log.Info("raftstore: plan preemption skipped: job not running or already stopping", "job", pr.JobID)
		return nil
	}
	mode, grace := preemptSettings(cfg, j)
	if mode == api.PreemptOff {
		w.log.Info("raftstore: plan preemption skipped: the job's preempt mode is off", "job", pr.JobID)
		return nil
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
	nj := copyJob(j)
	nj.Kill = &api.KillRequest{
		State:       api.JobPreempted,
		Requeue:     requeue,
		Reason:      reason,
		Signal:      checkpointSignal(j),
		GraceSecs:   grace,
		RequestedAt: now,
		For:         pr.For,
	}
	return w.put(tableJobs, nj)
}

// verifyStart checks a plan start against the current state and returns the
// started job. The error wraps errStartDropped when the start does not
// verify: the job is not pending or is held, the partition is not the job's
// or is down, a node is missing, DOWN, DRAIN or outside the partition, or the
// allocation does not fit what the node has free; for a job array, the task
// is not pending or the array already runs as many tasks as its throttle
// allows. A verified start of an array task splits the task off the record
// (see splitTask) before it starts.
func (w *writer) verifyStart(cfg *api.ClusterConfig, s api.Start, now int64) (*api.Job, error) {
	drop := func(format string, args ...any) error {
		return fmt.Errorf("job %d: %s: %w", s.JobID, fmt.Sprintf(format, args...), errStartDropped)
	}
	j := getJob(w.txn, s.JobID)
	switch {
	case j == nil:
		return nil, drop("no such job")
	case j.State != api.JobPending:
		return nil, drop("job is %s", j.State)
	case j.Spec.Hold:
		return nil, drop("job is held")
	case j.IsArrayRecord() && s.ArrayTaskID == nil:
		return nil, drop("the start of job array %d names no task", j.ID)
	case j.IsArrayRecord() && !j.ArrayPending.Contains(*s.ArrayTaskID):
		return nil, drop("task %d of job array %d is not pending", *s.ArrayTaskID, j.ID)
	case j.IsArrayRecord() && j.ArrayMaxRun > 0 && runningTasks(w.txn, j.ID) >= j.ArrayMaxRun:
		return nil, drop("job array %d already runs %d tasks, its limit (%%%d)", j.ID, j.ArrayMaxRun, j.ArrayMaxRun)
	case !j.IsArrayRecord() && s.ArrayTaskID != nil && !(j.IsArrayTask() && j.ArrayTaskID == *s.ArrayTaskID):
		return nil, drop("job is not task %d of a job array", *s.ArrayTaskID)
	}
	part := s.Partition
	if part == "" {
		part = j.Partition
	}
	if !jobMayRunIn(cfg, j, part) {
		return nil, drop("job did not ask for partition %q", part)
	}
	if pc, ok := cfg.Partition(part); ok && pc.State == "DOWN" {
		return nil, drop("partition %s is DOWN", part)
	}
	if want := max(j.Spec.Nodes, 1); len(s.Alloc) != want {
		return nil, drop("allocation has %d nodes, the job needs %d", len(s.Alloc), want)
	}
	alloc := make([]api.NodeAlloc, len(s.Alloc))
	for i, a := range s.Alloc {
		if slices.ContainsFunc(s.Alloc[:i], func(b api.NodeAlloc) bool { return b.Node == a.Node }) {
			return nil, drop("node %s appears twice", a.Node)
		}
		na, err := w.verifyAlloc(cfg, part, a)
		if err != nil {
			return nil, drop("%v", err)
		}
		alloc[i] = na
	}
	if j.IsArrayRecord() {
		task, err := w.splitTask(j, *s.ArrayTaskID)
		if err != nil {
			return nil, err
		}
		j = task
	}
	nj := copyJob(j)
	nj.State = api.JobRunning
	nj.Reason = api.ReasonNone
	nj.Partition = part
	nj.StartTime = now
	nj.EndTime = 0
	nj.ExpectedStart = 0
	nj.ExitCode = 0
	nj.Signal = 0
	nj.Kill = nil
	nj.Alloc = alloc
	if pc, ok := cfg.Partition(part); ok {
		nj.TimeLimitSecs = nj.Spec.TimeLimitIn(pc)
	} else {
		nj.TimeLimitSecs = nj.Spec.TimeLimitSecs
	}
	nj.Runs = append(nj.Runs, api.JobRun{
		Run:       nj.RestartCount,
		Nodes:     nj.NodeNames(),
		StartTime: now,
		State:     api.JobRunning,
	})
	nj.StdoutPath, nj.StderrPath = outputPaths(nj, alloc[0].Node)
	return nj, nil
}

// jobMayRunIn reports whether the job asked for the partition (or, naming
// none, whether it is its listed or the default partition).
func jobMayRunIn(cfg *api.ClusterConfig, j *api.Job, part string) bool {
	if len(j.Spec.Partitions) > 0 {
		return slices.Contains(j.Spec.Partitions, part)
	}
	if part == j.Partition {
		return true
	}
	def, ok := cfg.DefaultPartition()
	return ok && def.Name == part
}

// verifyAlloc checks one node of a start and returns the allocation with the
// GPU UUIDs filled from the node's inventory.
func (w *writer) verifyAlloc(cfg *api.ClusterConfig, part string, a api.NodeAlloc) (api.NodeAlloc, error) {
	n := getNode(w.txn, a.Node)
	switch {
	case n == nil:
		return a, fmt.Errorf("node %q is not registered", a.Node)
	case n.State == api.NodeDown || n.State == api.NodeDrain:
		return a, fmt.Errorf("node %s is %s", a.Node, n.State)
	case !nodeInPartition(cfg, part, n):
		return a, fmt.Errorf("node %s is not in partition %s", a.Node, part)
	case a.CPUs < 1:
		return a, fmt.Errorf("node %s: allocation of %d CPUs", a.Node, a.CPUs)
	case a.MemoryMB < 0:
		return a, fmt.Errorf("node %s: allocation of %d MB", a.Node, a.MemoryMB)
	}
	used := nodeUsage(n, runningJobsOnNode(w.txn, n.Name))
	if free := n.Resources.CPUs - used.CPUs; a.CPUs > free {
		return a, fmt.Errorf("node %s has %d CPUs free, the start needs %d", a.Node, free, a.CPUs)
	}
	if free := n.Resources.MemoryMB - used.MemoryMB; a.MemoryMB > free {
		return a, fmt.Errorf("node %s has %d MB free, the start needs %d", a.Node, free, a.MemoryMB)
	}
	if len(a.GPUUUIDs) > 0 && len(a.GPUUUIDs) != len(a.GPUs) {
		return a, fmt.Errorf("node %s: %d GPU UUIDs for %d GPUs", a.Node, len(a.GPUUUIDs), len(a.GPUs))
	}
	out := copyAlloc(a)
	if len(a.GPUs) > 0 {
		out.GPUUUIDs = make([]string, len(a.GPUs))
	}
	for i, idx := range a.GPUs {
		if slices.Contains(a.GPUs[:i], idx) {
			return a, fmt.Errorf("node %s: GPU %d allocated twice", a.Node, idx)
		}
		k := slices.IndexFunc(n.Resources.GPUs, func(g api.GPU) bool { return g.Index == idx })
		if k < 0 {
			return a, fmt.Errorf("node %s has no GPU %d", a.Node, idx)
		}
		g := n.Resources.GPUs[k]
		if !g.Healthy {
			return a, fmt.Errorf("node %s: GPU %d is unhealthy", a.Node, idx)
		}
		if slices.ContainsFunc(used.GPUs, func(u api.GPU) bool { return u.Index == idx }) {
			return a, fmt.Errorf("node %s: GPU %d is in use", a.Node, idx)
		}
		if len(a.GPUUUIDs) > 0 && a.GPUUUIDs[i] != g.UUID {
			return a, fmt.Errorf("node %s: GPU %d is %s, not %s", a.Node, idx, g.UUID, a.GPUUUIDs[i])
		}
		out.GPUUUIDs[i] = g.UUID
	}
	return out, nil
}

// nodeInPartition reports whether a node belongs to a partition: listed in
// the partition's Nodes, or, when the partition lists none (or is not
// configured), naming the partition when it registered.
func nodeInPartition(cfg *api.ClusterConfig, part string, n *api.Node) bool {
	if pc, ok := cfg.Partition(part); ok && len(pc.Nodes) > 0 {
		return slices.Contains(pc.Nodes, n.Name)
	}
	return slices.Contains(n.Partitions, part)
}

// setPending records the scheduler's priority, reason and expected start
// for a pending job. A held job keeps the reason JobHeldUser.
func (w *writer) setPending(pi api.PendingInfo) error {
	j := getJob(w.txn, pi.JobID)
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
	nj := copyJob(j)
	nj.Priority = pi.Priority
	nj.Reason = reason
	nj.ExpectedStart = expected
	if err := w.put(tableJobs, nj); err != nil {
		return fmt.Errorf("pending job %d: %w", pi.JobID, err)
	}
	return nil
}

// arrayJobs returns the stored jobs (read-only) of the job array id — its
// record and its tasks — ordered by ID.
func arrayJobs(txn *memdb.Txn, id api.JobID) []*api.Job {
	jobs := collectJobs(txn.Get(tableJobs, indexArray, id))
	slices.SortFunc(jobs, func(a, b *api.Job) int { return cmpID(a.ID, b.ID) })
	return jobs
}

// runningTasks counts the RUNNING tasks of the job array id.
func runningTasks(txn *memdb.Txn, id api.JobID) int {
	n := 0
	for _, j := range collectJobs(txn.Get(tableJobs, indexArray, id)) {
		if j.State == api.JobRunning {
			n++
		}
	}
	return n
}
