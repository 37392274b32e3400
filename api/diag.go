package api

// DiagResponse is the controller's scheduling and raft statistics
// (GET /v1/diag, sdiag): what this controller counted since StatsSince, its
// start as leader or the last reset (POST /v1/diag/reset, sdiag -r). Times are unix seconds; cycle times microseconds.
type DiagResponse struct {
	// Now is when the statistics were taken (sdiag's "sdiag output at").
	Now int64 `json:"now"`
	// StatsSince is when this controller began counting ("Data since"):
	// when it first became the leader, or when sdiag -r last reset the
	// statistics; 0 when neither happened.
	StatsSince int64 `json:"stats_since"`
	// ControllerID is the controller that answered; Leader whether it is
	// the leader (a follower has no scheduler figures).
	ControllerID string `json:"controller_id"`
	Leader       bool   `json:"leader"`

	// Jobs submitted, started, completed, cancelled and failed since
	// StatsSince, counted from the jobs the state still holds (runs that
	// started since; runs that ended since, by how they ended).
	JobsSubmitted int `json:"jobs_submitted"`
	JobsStarted   int `json:"jobs_started"`
	JobsCompleted int `json:"jobs_completed"`
	JobsCanceled  int `json:"jobs_canceled"`
	JobsFailed    int `json:"jobs_failed"`
	// JobsPending and JobsRunning are the jobs in those states now (an
	// array's record counts once per task not started).
	JobsPending int `json:"jobs_pending"`
	JobsRunning int `json:"jobs_running"`

	Sched DiagSched `json:"sched"`
	Raft  DiagRaft  `json:"raft"`
}

// DiagSched are the scheduler passes' figures. Fairway's pass does the main
// and the backfill scheduling at once, so both of sdiag's sections read
// them.
type DiagSched struct {
	Cycles        int     `json:"cycles"`
	LastCycleUsec int64   `json:"last_cycle_usec"`
	MaxCycleUsec  int64   `json:"max_cycle_usec"`
	MeanCycleUsec int64   `json:"mean_cycle_usec"`
	LastCycleAt   int64   `json:"last_cycle_at,omitempty"`
	CyclesPerMin  int     `json:"cycles_per_minute"`
	LastDepth     int     `json:"last_depth"`      // jobs the last pass tested
	MeanDepth     float64 `json:"mean_depth"`      // jobs tested per pass
	LastBfDepth   int     `json:"last_bf_depth"`   // jobs tested after the first blocked one
	MeanBfDepth   float64 `json:"mean_bf_depth"`   // the same per pass
	LastQueueLen  int     `json:"last_queue_len"`  // pending jobs the last pass saw
	MeanQueueLen  float64 `json:"mean_queue_len"`  // per pass
	Backfilled    int     `json:"backfilled_jobs"` // starts that passed a blocked job, since the controller started
	// BackfilledSinceReset are the backfilled starts since the
	// statistics were last reset (sdiag -r), else since it started.
	BackfilledSinceReset int `json:"backfilled_jobs_since_reset"`
	LastReserved         int `json:"last_reservations"`
}

// DiagRaft is raft's state as the answering controller sees it.
type DiagRaft struct {
	Role          string `json:"role"`
	LeaderID      string `json:"leader_id"`
	Term          uint64 `json:"term"`
	CommitIndex   uint64 `json:"commit_index"`
	AppliedIndex  uint64 `json:"applied_index"`
	LastContactMS int64  `json:"last_contact_ms"` // -1: never
	Voters        int    `json:"voters"`
	Reachable     int    `json:"voters_reachable"` // on the leader
}
