// Package sched decides which pending jobs start where, and which running
// jobs are stopped to make room. It is pure: a Scheduler is a function of its
// Input (the cluster at one instant), does no I/O, reads no clock and starts
// no goroutines, so the controller, the trace simulator and unit tests all
// drive the same code, and the same Input always gives the same Plan.
//
// # One pass
//
// New returns the production scheduler. One pass (Schedule):
//
//  1. Priorities: Slurm's multifactor priority for every pending job (see
//     Priorities), then, inside each account, the job's own --priority
//     (0-99) orders the account's jobs.
//  2. Queue: pending jobs sorted by partition PriorityTier, priority, submit
//     time and job ID (or by submit time only, or by time limit, when
//     Scheduling.QueueOrder is fcfs or sjf). Jobs that stay within their
//     account's guaranteed share of a partition are taken first (see
//     Guarantees below), then all others in the same order.
//  3. Each job in turn: eligibility (hold, begin time, dependencies,
//     partition state and limits, account and user limits, array throttle),
//     then an immediate start if it fits now without delaying any
//     reservation, else preemption (reclaim of a guaranteed share, or
//     priority inside an account at its quota), else a backfill reservation
//     (while the mode's reservation budget lasts) at the earliest time the
//     timeline offers.
//
// # Placement
//
// GPUs are assigned by concrete device (index and UUID). A job takes the
// nodes with the fewest free GPUs (of its type) that fit it, so that whole
// nodes stay free for whole-node jobs; ties go to the node that sorts first
// (names with numbers compare numerically). A multi-node job (gang) starts on
// all its nodes or not at all. A job that names several partitions starts in
// the first (in the order it named them) where it fits now; else it is
// reserved where it can start earliest. Nodes are indexed per partition and
// GPU type in buckets by free GPU count, so a placement does not scan the
// cluster.
//
// # Backfill
//
// The timeline is, per node, the releases of running jobs (at StartTime plus
// the time limit; a job being stopped at its kill request plus grace) and the
// claims of reservations. A reservation picks the earliest time at which the
// job fits for its whole time limit, by a sweep over the partition's events
// in time order (a node can only become able to host a job when something on
// it ends), and the nodes it would take then by the same rule as an
// immediate start; the other nodes that could host it then are its
// alternatives. A lower job starts now (or is reserved) only where it fits
// for its whole time limit beside every claim, and never runs across the
// start of a reservation on one of its alternatives, so that no later pass
// can prefer another node for the reservation (see altMark). With run times
// equal to time limits and an unchanged order, a reserved job therefore
// starts no later than its reservation. Backfill.Mode sets the reservations
// per partition: none (strict priority order: nothing passes a job blocked
// for resources), easy (1), windowed (Reservations, default 8) or
// conservative (every blocked job within the window). Backfill.MaxJobs caps
// the jobs tested once a job is blocked; WindowSecs (default a day) bounds
// how far the timeline looks. Pending jobs with a reservation report it as
// their ExpectedStart.
//
// # Guarantees and preemption
//
// Account.Guarantees[partition] is a number of guaranteed GPUs, covering the
// account's subtree: a job counts against the nearest account, from its own
// up, that has a guarantee in the partition. Idle capacity is always lent.
// Jobs whose start keeps their account within its guarantee are scheduled
// first (in queue order), then all the others, so that a guaranteed share
// freed by a job ending goes back to its owner before anyone borrows it.
//
// A pending job of an account below its guarantee that does not fit
// preempts ("reclaim") running jobs of accounts above theirs, never taking
// such an account below its own guarantee. An account at or above its
// guarantee (of more than 0) whose job does not fit preempts ("priority") its
// own running jobs of lower --priority; other accounts are untouched.
// Victims are chosen to lose the least work: a job's work lost is its GPUs x
// the time since its last reported checkpoint (Job.LastCheckpoint), or since
// its start when it reported none in this run. Victims are taken lowest
// --priority first, then least work lost per GPU freed toward the waiting
// job's per-node need (work lost / min(GPUs, need): the greedy rule for
// covering a need at least cost), then least work lost, then the newest job;
// the set is then minimized, dropping the victims that lose the most work
// first, so that no victim could be spared. Scheduling.VictimOrder runtime
// keeps the older rule: lowest --priority, then least run time lost (the
// latest start), then the newest job, minimized from the last taken. A preemption is planned only when the waiting job
// then fits. Preempt mode off (partition or QOS) protects a job, as does a
// minimum run time (Scheduling.PreemptMinRuntimeSecs, QOS MinRuntimeSecs).
// No cycle can form: a reclaim victim's account stays at or above its
// guarantee, so it cannot reclaim back, and a priority victim has a lower
// --priority than the job it makes room for. The waiting job does not start
// in the same plan: its victims free their resources when they stop, and
// until then those resources are promised to it (Kill.For): no other job
// gets them and nothing more is preempted for it. At most 64 victim searches
// are made per pass.
package sched

import (
	"github.com/fairway-hpc/fairway/api"
)

// Input is the cluster as one scheduling pass sees it.
type Input struct {
	// Now is the pass's time, unix seconds (the leader's clock or virtual time).
	Now int64
	// Config is the cluster configuration: partitions, accounts, QOS and the
	// scheduling settings.
	Config api.ClusterConfig
	// Nodes are the registered nodes (DOWN and DRAIN included). Their Used
	// field is ignored: usage is derived from the RUNNING jobs in Jobs, so
	// that the input is consistent.
	Nodes []*api.Node
	// Jobs are the active jobs: PENDING ones to schedule (including job
	// array records with pending tasks) and RUNNING ones holding resources
	// (including those being stopped, with Kill set), each once (IDs are
	// unique). Finished jobs are ignored.
	Jobs []*api.Job
	// Usage is the decayed fair-share usage per leaf, keyed by
	// api.AssocKey(account, user).
	Usage map[string]float64
	// Lookup finds any retained job, finished ones included, for
	// dependencies. Nil: only Jobs are known.
	Lookup func(id api.JobID) (*api.Job, bool)
}

// Scheduler computes a plan for one pass. Implementations must be
// deterministic: the same Input gives the same Plan.
type Scheduler interface {
	Schedule(in Input) api.Plan
}

// New returns the production scheduler: multifactor priority with fair share,
// guaranteed shares with reclaim and priority preemption, backfill and
// packing GPU placement, configured by Input.Config.Scheduling.
func New() Scheduler { return multifactor{} }

// multifactor is the production scheduler.
type multifactor struct{}

// Schedule implements Scheduler.
func (multifactor) Schedule(in Input) api.Plan {
	return newPass(in).schedule()
}

// Pending reasons the scheduler gives besides those of the api package, as
// Slurm names them.
const (
	// ReasonBadConstraints: the job does not fit any node of its partitions
	// even when they are empty (too many nodes, CPUs, memory or GPUs of the
	// type asked for), so it cannot start until the cluster changes.
	ReasonBadConstraints = "BadConstraints"
	// ReasonPartitionConfig: none of the job's partitions exists any more.
	ReasonPartitionConfig = "PartitionConfig"
	// ReasonPartitionNodeLimit: the job asks for more nodes than its
	// partitions have.
	ReasonPartitionNodeLimit = "PartitionNodeLimit"
	// ReasonDependencyNever: a dependency can never be satisfied (an afterok
	// job failed, an afternotok job completed, or a job is unknown).
	ReasonDependencyNever = "DependencyNeverSatisfied"
	// ReasonAssocGrpJobs: the account (or an ancestor) runs its
	// MaxRunningJobs.
	ReasonAssocGrpJobs = "AssocGrpJobsLimit"
	// ReasonAssocMaxJobs: the user runs the account's MaxRunningJobsPerUser.
	ReasonAssocMaxJobs = "AssocMaxJobsLimit"
	// ReasonAssocGrpGRES: the account's MaxGPUs (or the user's
	// MaxGPUsPerUser in the account) would be exceeded.
	ReasonAssocGrpGRES = "AssocGrpGRES"
	// ReasonArrayTaskLimit: the job array runs as many tasks as its %N
	// throttle allows.
	ReasonArrayTaskLimit = "JobArrayTaskLimit"
)

// Preemption reasons (api.Preemption.Reason).
const (
	// PreemptReclaim: an account below its guaranteed share takes it back
	// from an account above its own.
	PreemptReclaim = "reclaim"
	// PreemptPriority: an account at its quota makes room for a job of
	// higher --priority among its own jobs.
	PreemptPriority = "priority"
)

// DefaultKillGraceSecs is the grace the timeline assumes for a job being
// stopped whose KillRequest sets none.
const DefaultKillGraceSecs = 5
