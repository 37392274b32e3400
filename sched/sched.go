// Package sched decides which pending jobs start where. It is pure: a
// Scheduler is a function of its Input (the cluster at one instant), does no
// I/O, reads no clock and starts no goroutines, so the controller, the trace
// simulator and unit tests all drive the same code.
package sched

import "github.com/fairway-hpc/fairway/api"

// Input is the cluster as one scheduling pass sees it.
type Input struct {
	// Now is the pass's time, unix seconds (the leader's clock or virtual time).
	Now int64
	// Config is the cluster configuration: partitions and accounts.
	Config api.ClusterConfig
	// Nodes are the registered nodes. Their Used field is ignored: usage is
	// derived from the RUNNING jobs in Jobs, so that the input is consistent.
	Nodes []*api.Node
	// Jobs are the active jobs: PENDING ones to schedule and RUNNING ones
	// holding resources (including those being stopped). Finished jobs are
	// ignored.
	Jobs []*api.Job
}

// Scheduler computes a plan for one pass. Implementations must be
// deterministic: the same Input gives the same Plan.
type Scheduler interface {
	Schedule(in Input) api.Plan
}

// Pending reasons the scheduler gives besides those of the api package.
const (
	// ReasonBadConstraints: the job does not fit any node of its partitions
	// even when they are empty (too many nodes, CPUs, memory or GPUs of the
	// type asked for), so it cannot start until the cluster changes.
	ReasonBadConstraints = "BadConstraints"
	// ReasonPartitionConfig: none of the job's partitions exists any more.
	ReasonPartitionConfig = "PartitionConfig"
)
