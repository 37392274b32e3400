package api

// Explanation is fairway explain's answer for one job: why it waits, in
// words with the facts behind them, and when it is expected to start.
type Explanation struct {
	JobID JobID    `json:"job_id"`
	State JobState `json:"state"`
	// Reason is the Slurm pending reason code (squeue's %r).
	Reason string `json:"reason"`
	// Summary says in one sentence why the job waits (or that it does not).
	Summary string `json:"summary"`
	// Facts are the details behind the summary, most important first.
	Facts []ExplainFact `json:"facts,omitempty"`
	// Reservation is the backfill reservation's start time (what Slurm's
	// squeue --start shows), unix seconds; 0 when the job has none.
	Reservation int64 `json:"reservation,omitempty"`
	// Estimate is the start-time range from replaying the queue forward;
	// nil when none was made yet (or the job is not pending).
	Estimate *StartEstimate `json:"estimate,omitempty"`
}

// Fact kinds of an ExplainFact.
const (
	FactAhead       = "ahead"       // jobs ahead of it in the queue, and whose
	FactResources   = "resources"   // what it needs against what is free
	FactGuarantee   = "guarantee"   // its account's guarantee, use, borrowing
	FactReclaim     = "reclaim"     // jobs being preempted to make room for it
	FactReservation = "reservation" // the backfill reservation it waits for
	FactLimit       = "limit"       // an account, user, QOS or partition limit
	FactDependency  = "dependency"  // the jobs it depends on and their states
	FactHeld        = "held"        // who held it
	FactBeginTime   = "begin_time"  // --begin
	FactPartition   = "partition"   // partition state or configuration
	FactEstimate    = "estimate"    // how the start range was made
)

// ExplainFact is one fact behind an explanation.
type ExplainFact struct {
	Kind string `json:"kind"`
	// Text is the fact in words, for people.
	Text string `json:"text"`
	// Jobs are the jobs the fact names (ahead, victims, dependencies).
	Jobs []JobID `json:"jobs,omitempty"`
}

// StartEstimate is a pending job's expected start as a range, from
// replaying the live queue forward through the scheduler on virtual time
// with run times sampled from each user's (else account's, else the
// cluster's) history of actual run time against time limit.
type StartEstimate struct {
	// MadeAt is when the estimate was made (unix seconds).
	MadeAt int64 `json:"made_at"`
	// P50 and P90 are the median and 90th percentile start times over the
	// replays (unix seconds); 0 when the job started in fewer than half
	// (P50) or 90% (P90) of them before Horizon.
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	// Horizon is the end of the replayed time (unix seconds).
	Horizon int64 `json:"horizon"`
	// Replays is the number of replays; Started how many of them started
	// the job before Horizon.
	Replays int `json:"replays"`
	Started int `json:"started"`
}

// EstimateAccuracy measures recorded first estimates against the actual
// starts of the jobs that had one and started (fairway explain --accuracy).
type EstimateAccuracy struct {
	// Jobs is the jobs measured.
	Jobs int `json:"jobs"`
	// InRange is how many started within [MadeAt, P90] (a P90 of 0 counts
	// as unbounded).
	InRange int `json:"in_range"`
	// MedianAbsErrorSecs is the median of |actual start - P50| over the
	// jobs whose estimate had a P50.
	MedianAbsErrorSecs int64 `json:"median_abs_error_secs"`
	// WithP50 is how many jobs had a P50.
	WithP50 int `json:"with_p50"`
}

// WhatIfRequest asks the controller to replay the live queue and running
// jobs under a proposed configuration (fairway sim --from-live).
type WhatIfRequest struct {
	// Config is the proposed cluster configuration; nil replays the
	// current one against itself.
	Config *ClusterConfig `json:"config,omitempty"`
	// Replays is the number of sampled replays (default 10, at most 50).
	Replays int `json:"replays,omitempty"`
	// HorizonSecs bounds the replayed time (default a week).
	HorizonSecs int64 `json:"horizon_secs,omitempty"`
}

// WhatIfResult compares waits per account under the current and the
// proposed configuration.
type WhatIfResult struct {
	Now         int64           `json:"now"`
	Replays     int             `json:"replays"`
	HorizonSecs int64           `json:"horizon_secs"`
	Accounts    []AccountWhatIf `json:"accounts"`
}

// AccountWhatIf is one account's waits (of the jobs pending now, from now
// to their start; mean and P90 over replays and jobs, seconds) under the
// current and the proposed configuration. Jobs not started within the
// horizon count with the horizon as their wait and in Unstarted.
type AccountWhatIf struct {
	Account           string  `json:"account"`
	Jobs              int     `json:"jobs"`
	CurrentMeanWait   float64 `json:"current_mean_wait_secs"`
	ProposedMeanWait  float64 `json:"proposed_mean_wait_secs"`
	CurrentP90Wait    float64 `json:"current_p90_wait_secs"`
	ProposedP90Wait   float64 `json:"proposed_p90_wait_secs"`
	CurrentUnstarted  float64 `json:"current_unstarted"`
	ProposedUnstarted float64 `json:"proposed_unstarted"`
}

// PreemptionTotal is the preemptions of one account for one reason since
// the cluster began, and the work they lost (JobRun.LostGPUSecs summed).
type PreemptionTotal struct {
	Account     string `json:"account"`
	Reason      string `json:"reason"` // "reclaim", "priority"
	Count       int64  `json:"count"`
	LostGPUSecs int64  `json:"lost_gpu_secs"`
}
