package raftstore

import (
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/planapply"
	memdb "github.com/hashicorp/go-memdb"
)

// applyPlan applies ApplyPlan with the one plan-apply model
// (planapply.Apply) inside the command's transaction: preemptions, verified
// starts, pending reasons. Starts and preemptions that no longer apply are
// logged and dropped.
func (w *writer) applyPlan(c *ApplyPlan) ([]api.JobID, error) {
	res, err := planapply.Apply(planState{w}, &c.Plan)
	if err != nil {
		return nil, fmt.Errorf("apply plan: %w", err)
	}
	for _, d := range res.Dropped {
		w.log.Info("plan start dropped", "job", d.JobID, "task", d.Task, "why", d.Why)
	}
	for _, s := range res.Skipped {
		w.log.Info("plan preemption skipped", "job", s.JobID, "why", s.Why)
	}
	for _, id := range res.Preempted {
		j := getJob(w.txn, id)
		if j == nil {
			continue
		}
		if err := w.addPreemptionTotal(j.Spec.Account, planapply.PreemptionReason(j.Kill), 1, 0); err != nil {
			return nil, fmt.Errorf("apply plan: %w", err)
		}
	}
	if res.Started == nil {
		res.Started = []api.JobID{}
	}
	return res.Started, nil
}

// planState is the planapply.State of a write transaction.
type planState struct{ w *writer }

func (s planState) Config() *api.ClusterConfig { return &s.w.meta().Config }

func (s planState) Job(id api.JobID) *api.Job { return getJob(s.w.txn, id) }

func (s planState) Node(name string) *api.Node { return getNode(s.w.txn, name) }

func (s planState) RunningOn(node string) []*api.Job { return runningJobsOnNode(s.w.txn, node) }

func (s planState) RunningTasks(array api.JobID) int { return runningTasks(s.w.txn, array) }

func (s planState) PutJob(j *api.Job) error { return s.w.put(tableJobs, j) }

func (s planState) NewJobID() (api.JobID, error) {
	m := *s.w.meta()
	id := m.NextJobID
	m.NextJobID++
	if err := s.w.put(tableMeta, &m); err != nil {
		return 0, fmt.Errorf("next job ID: %w", err)
	}
	return id, nil
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
