package raftstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// registerNode applies RegisterNode.
func (w *writer) registerNode(c *RegisterNode) error {
	req := c.Req
	if req.Name == "" {
		return &api.FieldError{Field: "name", Value: "", Msg: "a node name is required"}
	}
	n := &api.Node{
		Name:          req.Name,
		Addr:          req.Addr,
		StepAddr:      req.StepAddr,
		Resources:     copyResources(req.Resources),
		Partitions:    slices.Clone(req.Partitions),
		State:         api.NodeIdle,
		LastHeartbeat: c.Now,
		BootTime:      req.BootTime,
	}
	// A drained node stays drained; a node an administrator set DOWN
	// (UpdateNodes) stays DOWN: both keep who set the reason and when.
	if old := getNode(w.txn, req.Name); old != nil && (old.State == api.NodeDrain || old.State == api.NodeDown && old.ReasonUser != "") {
		n.State, n.Reason, n.ReasonUser, n.ReasonTime = old.State, old.Reason, old.ReasonUser, old.ReasonTime
	}
	if n.Reason == "" {
		n.Reason = unhealthyGPUReason(n.Resources.GPUs)
	}
	if err := w.put(tableNodes, n); err != nil {
		return fmt.Errorf("register node %s: %w", req.Name, err)
	}
	return nil
}

// markNodeDown applies MarkNodeDown: the node goes DOWN and each job
// running on it is requeued (run recorded NODE_FAIL) or ends NODE_FAIL.
func (w *writer) markNodeDown(c *MarkNodeDown) ([]api.JobID, error) {
	n := getNode(w.txn, c.Node)
	if n == nil {
		return nil, notFoundf("node %q not found", c.Node)
	}
	nn := copyNode(n)
	nn.State = api.NodeDown
	nn.Reason, nn.ReasonUser, nn.ReasonTime = c.Reason, "", c.Now
	if err := w.put(tableNodes, nn); err != nil {
		return nil, fmt.Errorf("mark node %s down: %w", c.Node, err)
	}
	reason := "NodeFail: node " + c.Node + " down"
	if c.Reason != "" {
		reason += ": " + c.Reason
	}
	if c.FencedBy > 0 {
		reason += "; fenced: the node stops its jobs when its lease runs out"
	}
	var affected []api.JobID
	for _, j := range runningJobsOnNode(w.txn, c.Node) {
		if err := w.chargeRun(j, c.Now); err != nil {
			return nil, fmt.Errorf("mark node %s down: job %d: %w", c.Node, j.ID, err)
		}
		nj := writeCopy(j)
		// The steps on the node fail with it; the job's other steps end
		// CANCELLED with the run.
		if r := pastRun(nj, j.RestartCount); r != nil {
			endSteps(r, api.JobNodeFail, "node "+c.Node+" down", c.Now, func(st *api.Step) bool { return slices.Contains(st.Nodes, c.Node) })
		}
		endRun(nj, withRetry(&w.meta().Config, j, lostOutcome(j, reason)), c.Now)
		if c.FencedBy > 0 {
			if r := pastRun(nj, j.RestartCount); r != nil {
				r.Fenced, r.EndBound = true, true
				r.EndTime = max(r.StartTime, min(c.FencedBy, c.Now))
				for i := range r.Steps {
					if st := &r.Steps[i]; st.EndTime == c.Now {
						st.EndTime = max(st.StartTime, r.EndTime)
					}
				}
				if nj.State != api.JobPending {
					nj.EndTime = r.EndTime
				}
			}
		}
		if err := w.put(tableJobs, nj); err != nil {
			return nil, fmt.Errorf("mark node %s down: job %d: %w", c.Node, j.ID, err)
		}
		affected = append(affected, j.ID)
	}
	return affected, nil
}

// setConfig applies SetConfig. Partition names must be given and unique.
func (w *writer) setConfig(c *SetConfig) error {
	seen := map[string]bool{}
	for _, p := range c.Config.Partitions {
		if p.Name == "" {
			return &api.FieldError{Field: "partitions", Value: "", Msg: "every partition needs a name"}
		}
		if seen[p.Name] {
			return &api.FieldError{Field: "partitions", Value: p.Name, Msg: "partition names must be unique"}
		}
		seen[p.Name] = true
	}
	m := *w.meta()
	m.Config = copyConfig(c.Config)
	if err := w.put(tableMeta, &m); err != nil {
		return fmt.Errorf("set config: %w", err)
	}
	return nil
}

// setControllerAddr applies SetControllerAddr.
func (w *writer) setControllerAddr(c *SetControllerAddr) error {
	if c.ID == "" {
		return &api.FieldError{Field: "id", Value: "", Msg: "a controller ID is required"}
	}
	if err := w.put(tableControllers, &Controller{ID: c.ID, HTTPAddr: c.HTTPAddr}); err != nil {
		return fmt.Errorf("set controller %s address: %w", c.ID, err)
	}
	return nil
}

// unhealthyGPUReason is the node reason naming its withdrawn GPUs, as sinfo
// -R and scontrol show node print it: "gpu 2 unhealthy: XID 79 critical
// error; gpu 3 unhealthy: ...". Empty when every GPU is healthy.
func unhealthyGPUReason(gpus []api.GPU) string {
	var parts []string
	for _, g := range gpus {
		if g.Healthy {
			continue
		}
		p := fmt.Sprintf("gpu %d unhealthy", g.Index)
		if g.HealthReason != "" {
			p += ": " + g.HealthReason
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// pastRun returns the record of run n of a job (a copy being changed), or
// nil.
func pastRun(j *api.Job, n int) *api.JobRun {
	for i := len(j.Runs) - 1; i >= 0; i-- {
		if j.Runs[i].Run == n {
			return &j.Runs[i]
		}
	}
	return nil
}

// fencedStop records, on a fenced run whose end is only bounded, the time
// its node reports its last process was gone. It reports whether it changed
// the job (a copy being changed).
func fencedStop(j *api.Job, ev api.JobEvent) bool {
	r := pastRun(j, ev.Run)
	if r == nil || !r.Fenced || !r.EndBound || !ev.Fenced || ev.StoppedAt <= 0 {
		return false
	}
	r.EndTime = max(r.StartTime, min(ev.StoppedAt, r.EndTime))
	r.EndBound = false
	if j.State.Final() && j.RestartCount == ev.Run {
		j.EndTime = r.EndTime
	}
	return true
}
