package sim

import (
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// Options configure one replay.
type Options struct {
	// Jobs are the trace's jobs (after trace.Filter), in submit order.
	Jobs []trace.Job
	// Cluster is the simulated machine.
	Cluster Cluster
	// Policy is one of Policies().
	Policy string
	// Config is the base cluster configuration: accounts (shares,
	// guarantees in PartitionName, limits), QOS, priority weights, fair
	// share and decay settings. The policy sets queue order and backfill.
	Config api.ClusterConfig
	// Account maps a trace job to its account; nil: DefaultAccount.
	Account func(trace.Job) string
	// Priority maps a trace job to its --priority (0-99); nil: 0.
	Priority func(trace.Job) int
	// CheckpointSecs is how preempted jobs keep their work: 0, they
	// checkpoint never and a requeued run starts over (all its work is
	// lost); N > 0, they checkpoint every N seconds of run time and lose
	// the work since the last checkpoint; -1, they checkpoint on the
	// preemption signal and lose nothing.
	CheckpointSecs int64
	// SampleSecs, when positive, is the spacing of the time series
	// samples (utilization and per-account usage); 0 picks about 2,000
	// samples over the replay.
	SampleSecs int64
	// Progress, when set, is called now and then with the jobs finished
	// and the total.
	Progress func(done, total int)
	// Scheduler makes the plans; nil: sched.New().
	Scheduler sched.Scheduler
	// CheckpointMix, when set, gives each job its own checkpoint interval
	// (as CheckpointSecs, 0 or more), chosen from the list by a hash of
	// its ID; CheckpointSecs is then ignored. Running jobs with periodic
	// checkpoints report each one (Job.LastCheckpoint), so that the
	// scheduler's victim order sees the work a preemption loses.
	CheckpointMix []int64
	// EstimateEvery, when positive, makes a start-time estimate
	// (forecast.Estimate with a history model of the jobs finished so
	// far) for every EstimateEvery-th job, after the pass that follows its
	// arrival, and records it with the pass's backfill reservation
	// (Result.Estimates). EstimateReplays is its replays (default 20).
	EstimateEvery   int
	EstimateReplays int
	// EstimateArrivalsSecs, when positive, gives the estimates an arrival
	// model (forecast.Options.Arrivals) made from the jobs submitted in
	// the last EstimateArrivalsSecs of virtual time before the estimate
	// (fewer at the trace's start: the window since its first job), never
	// from later ones.
	EstimateArrivalsSecs int64
}

// JobResult is what happened to one job.
type JobResult struct {
	// Trace is the job as the trace gave it (submit and run time in trace
	// seconds).
	Trace trace.Job
	// ID is the job's ID in the replay (arrival order, from 1).
	ID api.JobID
	// Account and User are the job's association.
	Account, User string
	// Nodes, CPUs and GPUs are what the job held while running.
	Nodes, CPUs, GPUs int
	// Limit is the job's time limit (seconds; api.TimeLimitUnlimited for
	// none).
	Limit int64
	// Start is the first start, End the final end (trace seconds).
	Start, End int64
	// State is how the job ended (COMPLETED, TIMEOUT).
	State api.JobState
	// Backfilled: the job started while a job that arrived before it was
	// waiting for resources.
	Backfilled bool
	// Preemptions counts the times the job was preempted (and requeued).
	Preemptions int
	// LostSecs is the run time of its runs that was lost to preemption
	// (seconds of work redone).
	LostSecs int64
	// HeldSecs is the total time it held its resources, over all runs.
	HeldSecs int64
}

// Wait is the time from submit to first start.
func (r *JobResult) Wait() int64 { return r.Start - r.Trace.Submit }

// Turnaround is the time from submit to the final end.
func (r *JobResult) Turnaround() int64 { return r.End - r.Trace.Submit }

// BoundedSlowdown is max(1, turnaround / max(run, tau)) with the job's
// trace run time.
func (r *JobResult) BoundedSlowdown(tau int64) float64 {
	return max(1, float64(r.Turnaround())/float64(max(r.Trace.Run, tau)))
}

// Sample is the cluster at one instant of the time series.
type Sample struct {
	// Time is trace seconds.
	Time int64
	// CPUs and GPUs are the resources held by running jobs.
	CPUs, GPUs int
	// Pending is the number of pending jobs.
	Pending int
	// ByAccount is what each account holds (GPUs on a GPU cluster, CPUs
	// otherwise), in the order of Result.Accounts.
	ByAccount []int
	// WantByAccount is what each account's pending jobs ask for, in the
	// same unit and order.
	WantByAccount []int
}

// Stats describe the replay itself.
type Stats struct {
	// Events counts arrivals, job ends and preempted jobs leaving.
	Events int
	// Passes counts scheduling passes.
	Passes int
	// PassTime is the wall time spent in the scheduler.
	PassTime time.Duration
	// Wall is the wall time of the whole replay.
	Wall time.Duration
	// MaxPending is the longest queue a pass saw.
	MaxPending int
	// PreemptionsByReason counts the preemptions the plans made, by
	// reason (reclaim, priority).
	PreemptionsByReason map[string]int
}

// Result is the outcome of a replay.
type Result struct {
	// Policy is the policy replayed.
	Policy string
	// Jobs are the jobs that ran, by ID.
	Jobs []JobResult
	// Dropped counts jobs taken out of the replay because the scheduler
	// said they can never start, by reason.
	Dropped trace.Counts
	// CPUs and GPUs are the cluster's capacity.
	CPUs, GPUs int
	// GPUCluster: the cluster has GPUs and accounts are measured in GPUs.
	GPUCluster bool
	// Accounts are the accounts, sorted; Shares their guaranteed fraction
	// of the cluster (0 without a guarantee).
	Accounts []string
	Shares   []float64
	// Samples is the time series, every SampleStep seconds.
	Samples    []Sample
	SampleStep int64
	// Stats describe the replay.
	Stats Stats
	// Errors are plan entries the simulator refused (scheduler bugs).
	Errors []string
	// Estimates are the start-time estimates made (Options.EstimateEvery),
	// in the order made; EstimateEvery and EstimateReplays their options.
	Estimates            []EstimateRecord
	EstimateEvery        int
	EstimateReplays      int
	EstimateArrivalsSecs int64
}
