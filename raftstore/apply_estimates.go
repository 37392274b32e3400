package raftstore

import (
	"fmt"

	"github.com/fairway-hpc/fairway/api"
)

// cmdRecordEstimates is RecordEstimates's type byte (see commandType: never
// renumbered).
const cmdRecordEstimates commandType = 20

// RecordEstimates records the first start-time estimate of pending jobs
// (Job.FirstEstimate), so that the estimate's error against the actual
// start can be measured. An entry is applied only to a job that is PENDING,
// has never started (no runs: the first run's start is what the estimate is
// measured against), is not a job array's record (its tasks split off as
// jobs of their own), and has no first estimate yet: a later estimate never
// replaces the first. Other entries, and jobs no longer known (ended or
// expired between the estimate and the commit), are skipped. Its result
// Count is the number of jobs that got their first estimate.
//
// Older replicas may skip the command (flagIgnoreUnknown): a first
// estimate is a measurement that no scheduling decision reads, so a
// controller that has not been upgraded yet only lacks some estimates
// instead of halting when the upgraded leader records them.
type RecordEstimates struct {
	Now       int64         `json:"now"`
	Estimates []JobEstimate `json:"estimates"`
}

// JobEstimate is one job's estimate in RecordEstimates.
type JobEstimate struct {
	JobID    api.JobID         `json:"job_id"`
	Estimate api.StartEstimate `json:"estimate"`
}

func (RecordEstimates) commandType() commandType { return cmdRecordEstimates }

func (RecordEstimates) ignorableIfUnknown() bool { return true }

// recordEstimates applies RecordEstimates.
func (w *writer) recordEstimates(c *RecordEstimates) (int, error) {
	n := 0
	for i, e := range c.Estimates {
		if e.JobID == 0 {
			return 0, &api.FieldError{Field: fmt.Sprintf("estimates[%d].job_id", i), Value: "0", Msg: "a job ID is required"}
		}
	}
	for _, e := range c.Estimates {
		j := getJob(w.txn, e.JobID)
		if j == nil || j.State != api.JobPending || len(j.Runs) > 0 || j.IsArrayRecord() || j.FirstEstimate != nil {
			continue
		}
		nj := writeCopy(j)
		est := e.Estimate
		nj.FirstEstimate = &est
		if err := w.put(tableJobs, nj); err != nil {
			return 0, fmt.Errorf("job %d first estimate: %w", nj.ID, err)
		}
		n++
	}
	return n, nil
}

// RetainedJobsShared returns every retained job (finished ones included),
// ordered by ID, as stored: not copied, so the caller must not modify them.
// The estimator reads the finished jobs' run times from it once a minute,
// where copying a long history would cost more than reading it.
func (st *State) RetainedJobsShared() []*api.Job { return allJobs(st.txn) }
