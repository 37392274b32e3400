package raftstore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// createStep applies CreateStep.
func (w *writer) createStep(c *CreateStep) (int, error) {
	j, err := w.job(c.JobID)
	if err != nil {
		return 0, err
	}
	if j.State != api.JobRunning {
		return 0, conflictf("job %d is %s: steps are created in running jobs only", c.JobID, j.State)
	}
	if err := checkStepRequest(j, &c.Req); err != nil {
		return 0, err
	}
	nj := writeCopy(j)
	r := pastRun(nj, nj.RestartCount)
	if r == nil {
		return 0, conflictf("job %d is RUNNING but has no record of run %d", c.JobID, nj.RestartCount)
	}
	req := c.Req
	dist := req.Distribution
	if dist == "" {
		dist = "block"
	}
	st := api.Step{
		JobID:        nj.ID,
		ID:           len(r.Steps),
		Name:         req.Name,
		Nodes:        slices.Clone(req.Nodes),
		TasksPerNode: slices.Clone(req.TasksPerNode),
		Distribution: dist,
		CPUsPerTask:  req.CPUsPerTask,
		GPUsPerTask:  req.GPUsPerTask,
		GPUsPerNode:  req.GPUsPerNode,
		Command:      slices.Clone(req.Command),
		State:        api.JobRunning,
		StartTime:    c.Now,
	}
	r.Steps = append(r.Steps, st)
	if err := w.put(tableJobs, nj); err != nil {
		return 0, fmt.Errorf("job %d step %d: %w", nj.ID, st.ID, err)
	}
	return st.ID, nil
}

// checkStepRequest checks that a step request fits the job's allocation:
// its nodes a non-empty subset named once each, one task count of at least
// 1 per node, and on each node the tasks' CPUs and GPUs within what the job
// holds there. Errors are *api.FieldError naming the request's field.
func checkStepRequest(j *api.Job, req *api.StepRequest) error {
	alloc := make(map[string]*api.NodeAlloc, len(j.Alloc))
	for i := range j.Alloc {
		alloc[j.Alloc[i].Node] = &j.Alloc[i]
	}
	allocNames := strings.Join(j.NodeNames(), ",")
	switch {
	case len(req.Nodes) == 0:
		return &api.FieldError{Field: "nodes", Value: "", Msg: "a step needs at least one node of the job's allocation (" + allocNames + ")"}
	case len(req.TasksPerNode) != len(req.Nodes):
		return &api.FieldError{Field: "tasks_per_node", Value: intList(req.TasksPerNode),
			Msg: fmt.Sprintf("needs one task count per node: %d nodes, %d counts", len(req.Nodes), len(req.TasksPerNode))}
	case req.CPUsPerTask < 0:
		return &api.FieldError{Field: "cpus_per_task", Value: strconv.Itoa(req.CPUsPerTask), Msg: "must be 0 (one CPU per task) or more"}
	case req.GPUsPerTask < 0:
		return &api.FieldError{Field: "gpus_per_task", Value: strconv.Itoa(req.GPUsPerTask), Msg: "must be 0 or more"}
	case req.GPUsPerNode < 0:
		return &api.FieldError{Field: "gpus_per_node", Value: strconv.Itoa(req.GPUsPerNode), Msg: "must be 0 or more"}
	case req.Distribution != "" && req.Distribution != "block" && req.Distribution != "cyclic":
		return &api.FieldError{Field: "distribution", Value: req.Distribution, Msg: "must be block or cyclic"}
	case len(req.Command) == 0 || req.Command[0] == "":
		return &api.FieldError{Field: "command", Value: "", Msg: "a step needs a command to run"}
	}
	seen := make(map[string]bool, len(req.Nodes))
	for i, n := range req.Nodes {
		a := alloc[n]
		switch {
		case a == nil:
			return &api.FieldError{Field: "nodes", Value: n, Msg: fmt.Sprintf("not in job %d's allocation (%s)", j.ID, allocNames)}
		case seen[n]:
			return &api.FieldError{Field: "nodes", Value: n, Msg: "a node is named once per step"}
		}
		seen[n] = true
		tasks := req.TasksPerNode[i]
		cpt := max(req.CPUsPerTask, 1)
		switch {
		case tasks < 1:
			return &api.FieldError{Field: "tasks_per_node", Value: strconv.Itoa(tasks), Msg: fmt.Sprintf("node %s: each node of a step runs at least one task", n)}
		case req.CPUsPerTask > a.CPUs:
			return &api.FieldError{Field: "cpus_per_task", Value: strconv.Itoa(req.CPUsPerTask),
				Msg: fmt.Sprintf("node %s: the job holds %d CPUs there", n, a.CPUs)}
		case tasks > a.CPUs || tasks*cpt > a.CPUs:
			field, value := "tasks_per_node", strconv.Itoa(tasks)
			if req.CPUsPerTask > 0 {
				field, value = "cpus_per_task", strconv.Itoa(req.CPUsPerTask)
			}
			return &api.FieldError{Field: field, Value: value,
				Msg: fmt.Sprintf("node %s: %d tasks of %d CPUs need more than the %d CPUs the job holds there", n, tasks, cpt, a.CPUs)}
		case req.GPUsPerNode > len(a.GPUs):
			return &api.FieldError{Field: "gpus_per_node", Value: strconv.Itoa(req.GPUsPerNode),
				Msg: fmt.Sprintf("node %s: the job holds %d GPUs there", n, len(a.GPUs))}
		case req.GPUsPerTask > len(a.GPUs) || req.GPUsPerTask*tasks > len(a.GPUs):
			return &api.FieldError{Field: "gpus_per_task", Value: strconv.Itoa(req.GPUsPerTask),
				Msg: fmt.Sprintf("node %s: %d tasks of %d GPUs need more than the %d GPUs the job holds there", n, tasks, req.GPUsPerTask, len(a.GPUs))}
		}
	}
	return nil
}

// intList writes numbers comma-separated, for error values.
func intList(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// reportStep applies ReportStep.
func (w *writer) reportStep(c *ReportStep) error {
	rep := c.Report
	u := rep.Usage
	switch {
	case c.Node == "":
		return &api.FieldError{Field: "node", Value: "", Msg: "the reporting node is required"}
	case rep.StepID < 0:
		return &api.FieldError{Field: "step_id", Value: strconv.Itoa(rep.StepID), Msg: "must be a step of srun (0 or more)"}
	case u.MaxRSSBytes < 0 || u.AveRSSBytes < 0 || u.MaxVMSizeBytes < 0 || u.UserCPUMillis < 0 || u.SysCPUMillis < 0 || u.GPUs < 0 || u.Tasks < 0:
		return &api.FieldError{Field: "usage", Value: "", Msg: "usage figures cannot be negative"}
	}
	ignore := func(why string) error {
		w.log.Debug("ignoring step report", "job", rep.JobID, "step", rep.StepID, "node", c.Node, "why", why)
		return nil
	}
	j := getJob(w.txn, rep.JobID)
	if j == nil || len(j.Runs) == 0 {
		return ignore("no such job or run")
	}
	nj := writeCopy(j)
	r := &nj.Runs[len(nj.Runs)-1]
	if rep.StepID >= len(r.Steps) {
		return ignore("no such step")
	}
	st := &r.Steps[rep.StepID]
	switch {
	case !slices.Contains(st.Nodes, c.Node):
		return ignore("node is not in the step")
	case slices.Contains(st.Reported, c.Node):
		return ignore("node already reported")
	}
	endedWithRun := st.State != api.JobRunning
	st.Reported = append(st.Reported, c.Node)
	st.Usage = mergeUsage(st.Usage, u, len(st.Reported)-1)
	st.ExitCode = max(st.ExitCode, rep.ExitCode)
	if st.Signal == 0 {
		st.Signal = rep.Signal
	}
	if st.Reason == "" && rep.Reason != "" {
		st.Reason = c.Node + ": " + rep.Reason
	}
	if len(st.Reported) == len(st.Nodes) {
		stopping := j.State == api.JobRunning && j.Kill != nil
		switch {
		case !endedWithRun:
			st.State = stepOutcome(st, stopping)
			st.EndTime = c.Now
		case st.State == api.JobCancelled:
			// Ended with its run before its nodes reported: the reports say
			// how it really ended (a signal: the run's end killed it).
			st.State = stepOutcome(st, true)
		}
	}
	if err := w.put(tableJobs, nj); err != nil {
		return fmt.Errorf("job %d step %d report from %s: %w", rep.JobID, rep.StepID, c.Node, err)
	}
	return nil
}

// stepOutcome is the state of a step every node has reported: COMPLETED
// for exit 0 without a signal or failure, CANCELLED for a signal while the
// job was being stopped, else FAILED.
func stepOutcome(st *api.Step, stopping bool) api.JobState {
	switch {
	case st.Signal != 0 && stopping:
		return api.JobCancelled
	case st.ExitCode == 0 && st.Signal == 0 && st.Reason == "":
		return api.JobCompleted
	}
	return api.JobFailed
}

// mergeUsage adds one node's usage to a step's (nil before the first
// report), prior being the number of nodes merged before: CPU times,
// tasks and GPUs are summed, Max* take the largest, and AveRSS is the
// average weighted by tasks (a node that counts no tasks weighs one).
func mergeUsage(sum *api.Usage, u api.Usage, prior int) *api.Usage {
	if sum == nil {
		c := u
		return &c
	}
	out := *sum
	wOld := int64(max(sum.Tasks, prior, 1))
	wNew := int64(max(u.Tasks, 1))
	out.AveRSSBytes = (sum.AveRSSBytes*wOld + u.AveRSSBytes*wNew) / (wOld + wNew)
	out.MaxRSSBytes = max(sum.MaxRSSBytes, u.MaxRSSBytes)
	out.MaxVMSizeBytes = max(sum.MaxVMSizeBytes, u.MaxVMSizeBytes)
	out.UserCPUMillis += u.UserCPUMillis
	out.SysCPUMillis += u.SysCPUMillis
	out.GPUs += u.GPUs
	out.Tasks += u.Tasks
	return &out
}

// endSteps ends the RUNNING steps of a run (of a job copy being changed)
// that match (nil: all) in state, with reason, at now. A step's Reason
// holds only why it failed (a node's report, its node down), so that late
// reports can still tell how a step that ended with its run really ended.
func endSteps(r *api.JobRun, state api.JobState, reason string, now int64, match func(*api.Step) bool) {
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.State != api.JobRunning || (match != nil && !match(st)) {
			continue
		}
		st.State, st.Reason, st.EndTime = state, reason, now
	}
}

// lateRunUsage records the batch usage an end event carries for a run that
// already ended without it (ended by MarkNodeDown, say, before the node
// reported), when the node ran it. It reports whether it changed the job
// (a copy being changed).
func lateRunUsage(j *api.Job, ev api.JobEvent, node string) bool {
	r := pastRun(j, ev.Run)
	if ev.Usage == nil || r == nil || r.Usage != nil || r.State == api.JobRunning || !slices.Contains(r.Nodes, node) {
		return false
	}
	r.Usage = copyUsage(ev.Usage)
	return true
}
