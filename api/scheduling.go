package api

// Scheduling configuration and fair-share types: the multifactor priority
// weights, the fair-share algorithm and usage decay, backfill, QOS, and users'
// associations with accounts.

// Fair-share algorithms.
const (
	FairShareFairTree = "fair_tree" // Slurm's Fair Tree (default)
	FairShareClassic  = "classic"   // Slurm's classic F = 2^(-UE/S)
)

// Queue orders: the order in which the scheduler considers pending jobs.
const (
	QueuePriority = "priority" // multifactor priority (default)
	QueueFCFS     = "fcfs"     // submit time only
	QueueSJF      = "sjf"      // shortest time limit first
)

// Backfill modes.
const (
	BackfillNone         = "none"         // strict priority order: nothing passes a blocked job
	BackfillEASY         = "easy"         // one reservation (the top blocked job)
	BackfillConservative = "conservative" // a reservation for every blocked job in the window
	BackfillWindowed     = "windowed"     // Reservations reservations (default 8)
)

// PriorityWeights are Slurm's PriorityWeight* settings. Each factor is in
// [0,1]; a job's priority is the weighted sum minus its nice value.
type PriorityWeights struct {
	Age       float64 `json:"age,omitempty"`
	FairShare float64 `json:"fair_share,omitempty"`
	JobSize   float64 `json:"job_size,omitempty"`
	Partition float64 `json:"partition,omitempty"`
	QOS       float64 `json:"qos,omitempty"`
	// TRES weights per resource ("cpu", "mem", "gpu", "gpu:h100"): factor is
	// the job's share of the partition's total of that resource.
	TRES map[string]float64 `json:"tres,omitempty"`
	// MaxAgeSecs caps the age factor (Slurm's PriorityMaxAge, default 7 days).
	MaxAgeSecs int64 `json:"max_age_secs,omitempty"`
	// FavorSmall makes the job-size factor favour small jobs (PriorityFavorSmall).
	FavorSmall bool `json:"favor_small,omitempty"`
}

// BackfillConfig configures backfill.
type BackfillConfig struct {
	Mode string `json:"mode,omitempty"` // BackfillNone/EASY/Conservative/Windowed; default windowed
	// Reservations is the number of blocked top jobs that get a reservation
	// (windowed mode); default 8.
	Reservations int `json:"reservations,omitempty"`
	// WindowSecs is how far ahead the timeline looks (bf_window); default 1 day.
	WindowSecs int64 `json:"window_secs,omitempty"`
	// MaxJobs caps the pending jobs considered per pass (bf_max_job_test); 0 = all.
	MaxJobs int `json:"max_jobs,omitempty"`
}

// QOS is a quality of service: a priority factor and preemption settings.
type QOS struct {
	Name        string      `json:"name"`
	Priority    int         `json:"priority,omitempty"` // normalized by the largest QOS priority
	PreemptMode PreemptMode `json:"preempt_mode,omitempty"`
	GraceSecs   int         `json:"grace_secs,omitempty"`
	// MinRuntimeSecs: a job of this QOS is not preempted before it has run this long.
	MinRuntimeSecs int64 `json:"min_runtime_secs,omitempty"`
}

// SchedulingConfig is the scheduler's part of the cluster configuration.
type SchedulingConfig struct {
	Weights PriorityWeights `json:"weights"`
	// FairShare is FairShareFairTree (default) or FairShareClassic.
	FairShare string `json:"fair_share,omitempty"`
	// UsageHalfLifeSecs is the half-life of usage decay (PriorityDecayHalfLife,
	// default 7 days); 0 with UsageNoDecay means no decay.
	UsageHalfLifeSecs int64 `json:"usage_half_life_secs,omitempty"`
	UsageNoDecay      bool  `json:"usage_no_decay,omitempty"`
	// UsageResetSecs, when set, resets all usage every this many seconds
	// (PriorityUsageResetPeriod), counted from the epoch.
	UsageResetSecs int64 `json:"usage_reset_secs,omitempty"`
	// BillingWeights per resource ("cpu", "mem" per GB, "gpu", "gpu:TYPE"):
	// usage accrues as sum(weight * amount) * seconds. Default gpu=1, cpu=0.
	BillingWeights map[string]float64 `json:"billing_weights,omitempty"`
	Backfill       BackfillConfig     `json:"backfill"`
	// QueueOrder is QueuePriority (default), QueueFCFS or QueueSJF.
	QueueOrder string `json:"queue_order,omitempty"`
	// PreemptMinRuntimeSecs: no job is preempted before it ran this long
	// (a QOS or partition may set more).
	PreemptMinRuntimeSecs int64 `json:"preempt_min_runtime_secs,omitempty"`
	// CheckpointDirBase is where per-job checkpoint directories live: a job
	// gets CheckpointDirBase/ID as its FAIRWAY_CHECKPOINT_DIR, the same for
	// every run. Put it on storage every node shares, so that a job
	// requeued onto another node finds its checkpoint. Empty: each node
	// daemon's own base (default /var/lib/fairway/checkpoints), which only
	// helps jobs that come back to the same node.
	CheckpointDirBase string `json:"checkpoint_dir_base,omitempty"`
	// VictimOrder is how preemption chooses among the running jobs the
	// rules allow it to stop, after their --priority: VictimWorkLost
	// (default), the least work lost (GPUs x time since the job's last
	// checkpoint, or its start), or VictimRuntime, the least run time
	// (the latest start).
	VictimOrder string `json:"victim_order,omitempty"`
}

// Victim orders (SchedulingConfig.VictimOrder).
const (
	VictimWorkLost = "work_lost"
	VictimRuntime  = "runtime"
)

// AccountUser is a user's association with an account: a leaf of the
// fair-share tree. A job whose user is not listed under its account gets an
// implicit leaf with 1 share.
type AccountUser struct {
	Name   string `json:"name"`
	Shares int    `json:"shares"`
	// SharesParent is Slurm's FairShare=parent: the user competes with its
	// account's siblings' users directly (Level FS +Inf in Fair Tree).
	SharesParent bool `json:"shares_parent,omitempty"`
	// MaxRunningJobs and MaxGPUs limit this user's running jobs and their
	// GPUs in the account (sacctmgr's MaxJobs and GrpTRES=gres/gpu=N on a
	// user); 0 = none. The account's per-user limits apply as well.
	MaxRunningJobs int `json:"max_running_jobs,omitempty"`
	MaxGPUs        int `json:"max_gpus,omitempty"`
	// MaxSubmitJobs limits this user's pending and running jobs in the
	// account (sacctmgr's MaxSubmitJobs); 0 = none.
	MaxSubmitJobs int `json:"max_submit_jobs,omitempty"`
	// Default marks the user's default account: the account of the user's
	// jobs that name none (sacctmgr's DefaultAccount). At most one of a
	// user's associations is the default.
	Default bool `json:"default,omitempty"`
}

// AssocKey names a fair-share leaf (a user in an account) in usage maps.
func AssocKey(account, user string) string { return account + "/" + user }
