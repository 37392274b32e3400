package raftstore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// The administration commands (scontrol update). 27 is reserved for the
// next of them.
const (
	cmdUpdateJob       commandType = 24
	cmdUpdateNodes     commandType = 25
	cmdUpdatePartition commandType = 26
)

// UpdateJob changes a job (scontrol update JobId=N ...). A pending job
// takes every field of api.JobUpdate; a running one only its time limit
// (Job.TimeLimitSecs and the spec's follow, so the leader's time-limit
// check and the node daemon's --signal warning use the new limit); any
// other state is an ErrConflict ("Job is no longer pending execution").
// The changed spec is validated again against the configuration
// (api.ValidateSpec; a changed partition list must also name a partition
// that accepts jobs): an error names the scontrol field (TimeLimit,
// Partition, ...) and changes nothing. Authorization (who may raise a
// time limit, set a priority) is the controller's, before it proposes.
//
// For a job array's record the change applies to the tasks that have not
// started; ID may name a started task's own job.
type UpdateJob struct {
	Now    int64         `json:"now"`
	ID     api.JobID     `json:"id"`
	Update api.JobUpdate `json:"update"`
}

// UpdateNodes changes the state of nodes (scontrol update NodeName=LIST
// State=...), all or none: every node must exist (else ErrNotFound).
//
//   - DRAIN: the node takes no new jobs and finishes its running ones
//     (shown DRAINING while they run, DRAINED after); Reason, ReasonUser
//     (User) and ReasonTime (Now) are recorded.
//   - DOWN: as MarkNodeDown (its jobs are requeued or end NODE_FAIL), with
//     the reason, user and time recorded; the node stays DOWN through its
//     heartbeats and re-registration until RESUME.
//   - RESUME: a DRAIN or DOWN node returns to service, its reason cleared
//     (a node with unhealthy GPUs keeps their reason); UNDRAIN does the
//     same for a drained node only and leaves a DOWN one as it is.
//
// Its result is the []api.JobID of the jobs a DOWN affected.
type UpdateNodes struct {
	Now    int64          `json:"now"`
	User   string         `json:"user"`
	Update api.NodeUpdate `json:"update"`
}

// UpdatePartition changes a partition of the configuration (scontrol update
// PartitionName=P State=... MaxTime=... DefaultTime=... MaxNodes=...). The
// new configuration is validated (api.ValidateConfig); an error names the
// field and changes nothing. An unknown partition is an ErrNotFound.
type UpdatePartition struct {
	Update api.PartitionUpdate `json:"update"`
}

func (UpdateJob) commandType() commandType       { return cmdUpdateJob }
func (UpdateNodes) commandType() commandType     { return cmdUpdateNodes }
func (UpdatePartition) commandType() commandType { return cmdUpdatePartition }

// updateJob applies UpdateJob.
func (w *writer) updateJob(c *UpdateJob) error {
	j, err := w.job(c.ID)
	if err != nil {
		return err
	}
	u := c.Update
	if len(u.Fields()) == 0 {
		return &api.FieldError{Field: "JobId", Value: fmt.Sprint(c.ID), Msg: "no field to update; name one such as TimeLimit=1:00:00"}
	}
	switch {
	case j.State == api.JobRunning && !u.OnlyTimeLimit():
		return conflictf("Job is no longer pending execution: job %d is RUNNING; only its TimeLimit may change", c.ID)
	case j.State == api.JobRunning && j.Kill != nil:
		return conflictf("Job/step already completing or completed: job %d is being stopped", c.ID)
	case j.State != api.JobPending && j.State != api.JobRunning:
		return conflictf("Job is no longer pending execution: job %d is %s", c.ID, j.State)
	}
	cfg := w.meta().Config
	nj := writeCopy(j)
	current := nj.TimeLimitSecs
	if j.State == api.JobPending || current <= 0 {
		p, _ := cfg.Partition(nj.Partition)
		current = nj.Spec.TimeLimitIn(p)
	}
	if err := u.ApplyTo(&nj.Spec, current); err != nil {
		return err
	}
	if err := api.ValidateSpec(&nj.Spec, nil); err != nil {
		return api.UpdateFieldError(err)
	}
	if j.State == api.JobRunning {
		// A running job keeps its partition; an administrator may set a
		// limit beyond the partition's MaxTime, as in Slurm.
		nj.TimeLimitSecs = nj.Spec.TimeLimitSecs
		return w.put(tableJobs, nj)
	}
	if err := api.ValidateSpec(&nj.Spec, &cfg); err != nil {
		return api.UpdateFieldError(err)
	}
	if u.Partitions != nil {
		if err := api.CheckPartitionsAccepting(&nj.Spec, &cfg); err != nil {
			return api.UpdateFieldError(err)
		}
		part, err := submitPartition(&cfg, &nj.Spec)
		if err != nil {
			return api.UpdateFieldError(err)
		}
		nj.Partition = part
	}
	nj.ExpectedStart = 0
	return w.put(tableJobs, nj)
}

// updateNodes applies UpdateNodes.
func (w *writer) updateNodes(c *UpdateNodes) ([]api.JobID, error) {
	u := c.Update
	if err := api.ValidateNodeUpdate(&u); err != nil {
		return nil, err
	}
	var nodes []*api.Node
	for _, name := range u.Nodes {
		n := getNode(w.txn, name)
		if n == nil {
			return nil, notFoundf("Invalid node name specified: node %q not found", name)
		}
		nodes = append(nodes, n)
	}
	var affected []api.JobID
	for _, n := range nodes {
		nn := copyNode(n)
		switch u.State {
		case api.NodeStateDrain:
			nn.State = api.NodeDrain
			nn.Reason, nn.ReasonUser, nn.ReasonTime = u.Reason, c.User, c.Now
		case api.NodeStateDown:
			ids, err := w.markNodeDown(&MarkNodeDown{Now: c.Now, Node: n.Name, Reason: u.Reason})
			if err != nil {
				return nil, err
			}
			affected = append(affected, ids...)
			nn = copyNode(getNode(w.txn, n.Name))
			nn.ReasonUser, nn.ReasonTime = c.User, c.Now
		case api.NodeStateUndrain:
			if n.State != api.NodeDrain {
				continue
			}
			resume(nn)
		case api.NodeStateResume:
			if n.State != api.NodeDrain && n.State != api.NodeDown {
				continue
			}
			resume(nn)
		}
		if err := w.put(tableNodes, nn); err != nil {
			return nil, fmt.Errorf("update node %s: %w", n.Name, err)
		}
	}
	return affected, nil
}

// resume returns a node to service: IDLE (the state read derives the
// rest), its reason cleared but for its unhealthy GPUs'.
func resume(n *api.Node) {
	n.State = api.NodeIdle
	n.Reason, n.ReasonUser, n.ReasonTime = unhealthyGPUReason(n.Resources.GPUs), "", 0
}

// updatePartition applies UpdatePartition.
func (w *writer) updatePartition(c *UpdatePartition) error {
	m := *w.meta()
	cfg := copyConfig(m.Config)
	i := slices.IndexFunc(cfg.Partitions, func(p api.Partition) bool { return p.Name == c.Update.Name })
	if i < 0 {
		return notFoundf("Invalid partition name specified: partition %q not found", c.Update.Name)
	}
	c.Update.ApplyTo(&cfg.Partitions[i])
	if err := api.ValidateConfig(&cfg); err != nil {
		var fe *api.FieldError
		if errors.As(err, &fe) {
			return &api.FieldError{Field: partitionField(fe.Field), Value: fe.Value, Msg: fe.Msg}
		}
		return err
	}
	m.Config = cfg
	if err := w.put(tableMeta, &m); err != nil {
		return fmt.Errorf("update partition %s: %w", c.Update.Name, err)
	}
	return nil
}

// partitionField names a partition validation error's field as scontrol
// update does (partitions[1].max_time_secs becomes MaxTime).
func partitionField(field string) string {
	for suffix, name := range map[string]string{
		".state": "State", ".max_time_secs": "MaxTime", ".default_time_secs": "DefaultTime", ".max_nodes": "MaxNodes",
	} {
		if len(field) > len(suffix) && field[len(field)-len(suffix):] == suffix {
			return name
		}
	}
	return field
}
