// Package api holds the types shared by the controller, the node daemon and the
// command-line tools: job specifications, jobs, nodes, partitions, accounts, the
// scheduler's plan and the HTTP request and response bodies of the /v1 API.
//
// The package has no logic beyond small helpers on these types; the HTTP client
// lives in api/client and the command implementations in cmd/fairway/cli.
package api

import (
	"fmt"
	"time"
)

// JobID identifies a job. IDs are assigned by the controller's state machine,
// start at 1 and are never reused.
type JobID uint64

// String formats the ID as Slurm prints it.
func (id JobID) String() string { return fmt.Sprintf("%d", uint64(id)) }

// JobState is a job's state, spelled as Slurm spells it.
type JobState string

// Job states. A job moves PENDING -> RUNNING -> one of the final states, or back to
// PENDING when it is requeued.
const (
	JobPending     JobState = "PENDING"
	JobRunning     JobState = "RUNNING"
	JobCompleted   JobState = "COMPLETED"
	JobFailed      JobState = "FAILED"
	JobCancelled   JobState = "CANCELLED"
	JobTimeout     JobState = "TIMEOUT"
	JobNodeFail    JobState = "NODE_FAIL"
	JobPreempted   JobState = "PREEMPTED"
	JobOutOfMemory JobState = "OUT_OF_MEMORY"
	JobRequeued    JobState = "REQUEUED" // only in a JobRun: the run ended and the job went back to PENDING
)

// Final reports whether the state is terminal for the job.
func (s JobState) Final() bool {
	switch s {
	case JobPending, JobRunning, JobRequeued:
		return false
	}
	return true
}

// Short returns Slurm's compact state code (squeue %t): PD, R, CD, F, CA, TO, NF, PR, OOM.
func (s JobState) Short() string {
	switch s {
	case JobPending:
		return "PD"
	case JobRunning:
		return "R"
	case JobCompleted:
		return "CD"
	case JobFailed:
		return "F"
	case JobCancelled:
		return "CA"
	case JobTimeout:
		return "TO"
	case JobNodeFail:
		return "NF"
	case JobPreempted:
		return "PR"
	case JobOutOfMemory:
		return "OOM"
	case JobRequeued:
		return "RQ"
	}
	return string(s)
}

// Pending reasons, as Slurm names them.
const (
	ReasonNone           = "None"
	ReasonPriority       = "Priority"
	ReasonResources      = "Resources"
	ReasonHeldUser       = "JobHeldUser"
	ReasonHeldAdmin      = "JobHeldAdmin"
	ReasonPartitionDown  = "PartitionDown"
	ReasonBeginTime      = "BeginTime"
	ReasonDependency     = "Dependency"
	ReasonNodeDown       = "NodeDown"
	ReasonCancelled      = "Cancelled"
	ReasonTimeLimit      = "TimeLimit"
	ReasonNonZeroExit    = "NonZeroExitCode"
	ReasonRequeued       = "Requeued"
	ReasonLaunchFailed   = "LaunchFailed"
	ReasonPartitionLimit = "PartitionTimeLimit"
)

// Mount is a bind mount into a container job (--container-mounts SRC:DST[:ro]).
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Signal is a job's --signal request: deliver Signal AtSeconds before the time
// limit (and use it as the checkpoint signal on preemption). BatchOnly is the B:
// prefix (signal the batch shell only).
type Signal struct {
	Name      string `json:"name"` // e.g. "USR1", without the SIG prefix
	AtSeconds int    `json:"at_seconds"`
	BatchOnly bool   `json:"batch_only,omitempty"`
}

// JobSpec is what a user asks for. It is validated by Validate in the client and
// again by the controller before anything is committed.
type JobSpec struct {
	Name       string   `json:"name"`
	Partitions []string `json:"partitions,omitempty"` // empty: the default partition
	Account    string   `json:"account,omitempty"`
	User       string   `json:"user"`
	UID        int      `json:"uid"`
	GID        int      `json:"gid"`
	// GIDs are the user's group IDs (getgrouplist on the controller: the
	// primary group and the supplementary ones), set by the controller from
	// the authenticated identity (a body's value is replaced); the node
	// daemon runs the job with them as its supplementary groups.
	GIDs []int `json:"gids,omitempty"`

	Nodes  int `json:"nodes"`  // -N, at least 1
	NTasks int `json:"ntasks"` // -n, at least 1
	// NTasksPerNode is --ntasks-per-node when given (0 otherwise): the
	// batch job's SLURM_NTASKS_PER_NODE, set only then, as Slurm does.
	NTasksPerNode int    `json:"ntasks_per_node,omitempty"`
	CPUsPerTask   int    `json:"cpus_per_task"`  // -c, at least 1
	MemoryMB      int64  `json:"memory_mb"`      // --mem, per node; 0 = partition default
	GPUs          int    `json:"gpus,omitempty"` // GPUs per node (--gres=gpu:N / --gpus spread over nodes)
	GPUType       string `json:"gpu_type,omitempty"`
	TimeLimitSecs int64  `json:"time_limit_secs"` // 0 = partition default

	Script  string   `json:"script,omitempty"` // full batch script text (for --wrap, a generated one); omitted from job lists
	Args    []string `json:"args,omitempty"`   // arguments after the script name (sbatch script.sh ARGS...): $1, $2, ...
	WorkDir string   `json:"work_dir"`
	Stdout  string   `json:"stdout,omitempty"` // pattern with %j %x %A %a %u %N; empty = slurm-%j.out
	Stderr  string   `json:"stderr,omitempty"` // empty = same file as stdout
	// Stdin is the batch script's standard input (sbatch -i/--input): a
	// file name pattern with Slurm's symbols (%j %A %a %x %u %N %%),
	// relative to the work directory; empty = /dev/null.
	Stdin      string            `json:"stdin,omitempty"`
	Env        map[string]string `json:"env,omitempty"` // the environment the job starts with
	SubmitHost string            `json:"submit_host,omitempty"`

	Hold     bool    `json:"hold,omitempty"`
	Priority int     `json:"priority,omitempty"` // 0-99, orders jobs inside the account
	Nice     int     `json:"nice,omitempty"`
	Requeue  *bool   `json:"requeue,omitempty"` // nil = partition default (requeue)
	Signal   *Signal `json:"signal,omitempty"`
	// Retry is the job's --retry policy (see ParseRetry): how many times a
	// failed run is run again and on which failures. Empty: the partition's
	// default (Partition.Retry); "0": never.
	Retry string `json:"retry,omitempty"`

	ContainerImage  string  `json:"container_image,omitempty"` // oci-archive:PATH, docker-archive:PATH, dir:ROOTFS or a registry reference
	ContainerMounts []Mount `json:"container_mounts,omitempty"`

	Dependency string `json:"dependency,omitempty"` // Slurm --dependency expression: after, afterok, afternotok, afterany, singleton; "," = all, "?" = any
	BeginTime  int64  `json:"begin_time,omitempty"` // unix seconds
	QOS        string `json:"qos,omitempty"`
	// Array is the --array expression ("0-15:4%4", "1,3,5"); empty for a plain job.
	Array string `json:"array,omitempty"`

	// Command is the batch script's path as sbatch was given it (squeue's
	// %o); empty for --wrap.
	Command string `json:"command,omitempty"`
	// NodeList are nodes the job must run on, all of them (sbatch
	// -w/--nodelist); the job gets at least as many nodes as listed.
	NodeList []string `json:"nodelist,omitempty"`
	// Exclude are nodes the job must not run on (sbatch -x/--exclude).
	Exclude []string `json:"exclude,omitempty"`
	// Exclusive: the job's nodes run no other job (sbatch --exclusive).
	Exclusive bool `json:"exclusive,omitempty"`
}

// Requeueable reports whether the job goes back to PENDING (rather than ending)
// when its node fails or it is preempted.
func (s *JobSpec) Requeueable() bool { return s.Requeue == nil || *s.Requeue }

// TotalCPUsPerNode is the number of CPUs the job needs on each of its nodes.
func (s *JobSpec) TotalCPUsPerNode() int {
	nodes := max(s.Nodes, 1)
	tasks := max(s.NTasks, 1)
	perNode := (tasks + nodes - 1) / nodes
	return perNode * max(s.CPUsPerTask, 1)
}

// NodeAlloc is what a job holds on one node.
type NodeAlloc struct {
	Node     string   `json:"node"`
	CPUs     int      `json:"cpus"`
	MemoryMB int64    `json:"memory_mb"`
	GPUs     []int    `json:"gpus,omitempty"`      // GPU indices on the node
	GPUUUIDs []string `json:"gpu_uuids,omitempty"` // matching UUIDs
}

// JobRun is one execution of a job; a requeued job has several. sacct prints one
// line per run.
type JobRun struct {
	Run       int      `json:"run"` // 0 for the first run; equals the job's RestartCount while it runs
	Nodes     []string `json:"nodes"`
	StartTime int64    `json:"start_time"` // unix seconds
	EndTime   int64    `json:"end_time,omitempty"`
	State     JobState `json:"state"`
	ExitCode  int      `json:"exit_code"`
	Signal    int      `json:"signal,omitempty"` // signal that ended it, Slurm's "0:15"
	Reason    string   `json:"reason,omitempty"`
	// Fenced: the run's node lost its lease and stopped the run itself.
	// EndTime is then the time the node reported the run's last process
	// gone, or, until it has (EndBound), the latest time the run can have
	// been alive: the node's lease, grace and kill wait after its last
	// acknowledged heartbeat.
	Fenced   bool `json:"fenced,omitempty"`
	EndBound bool `json:"end_bound,omitempty"`
	// Usage is what the batch step used, as its node reported it.
	Usage *Usage `json:"usage,omitempty"`
	// LostGPUSecs is the work a preempted run lost: its GPUs x the time
	// from its last checkpoint (or its start, when it never reported one
	// in this run) to its end. Set only on runs ended by a preemption.
	LostGPUSecs int64 `json:"lost_gpu_secs,omitempty"`
	// Steps are the run's srun steps.
	Steps []Step `json:"steps,omitempty"`
}

// KillRequest tells the node daemon to stop a running job and why. The final
// state the job reaches when it stops is State (CANCELLED, TIMEOUT, PREEMPTED)
// or, for requeues, PENDING again.
type KillRequest struct {
	State       JobState `json:"state"`   // the state the job ends in
	Requeue     bool     `json:"requeue"` // return the job to PENDING instead
	Reason      string   `json:"reason"`
	Signal      string   `json:"signal,omitempty"` // first signal to send; empty = TERM
	GraceSecs   int      `json:"grace_secs,omitempty"`
	RequestedAt int64    `json:"requested_at"`
	// For is the job a preemption makes room for.
	For JobID `json:"for,omitempty"`
	// Preemption is the reason of the plan preemption that made the
	// request (api.Preemption.Reason: "reclaim", "priority"; "other" when
	// the plan named none); empty for every other kill request (scancel,
	// time limit, requeue). The preemption totals are kept by it.
	Preemption string `json:"preemption,omitempty"`
	// EndGrace is set when the job said, during its grace time, that it has
	// saved its checkpoint (scontrol requeue of a job being requeued, or
	// fairway checkpoint done): the node daemon ends the grace time at once
	// and goes on with SIGTERM, then SIGKILL. GraceSecs stays what was
	// granted.
	EndGrace bool `json:"end_grace,omitempty"`
	// EndGraceAt is when EndGrace was set (unix seconds, the leader's clock).
	EndGraceAt int64 `json:"end_grace_at,omitempty"`
}

// SignalRequest asks the node to send a signal to every process of a running
// job without stopping it (scancel --signal).
type SignalRequest struct {
	Seq    int    `json:"seq"`    // raised by each request; the node delivers each once
	Signal string `json:"signal"` // e.g. "USR1"
	At     int64  `json:"at"`
}

// Job is a submitted job and everything the controller knows about it.
type Job struct {
	ID        JobID    `json:"id"`
	Spec      JobSpec  `json:"spec"`
	State     JobState `json:"state"`
	Reason    string   `json:"reason,omitempty"` // pending reason, or why it ended
	Partition string   `json:"partition"`        // the partition it runs or ran in; first requested while pending

	SubmitTime int64 `json:"submit_time"` // unix seconds; kept across requeues
	StartTime  int64 `json:"start_time,omitempty"`
	EndTime    int64 `json:"end_time,omitempty"`
	// ExpectedStart is the scheduler's estimate for a pending job (unix seconds, 0 = unknown).
	ExpectedStart int64 `json:"expected_start,omitempty"`

	Alloc        []NodeAlloc  `json:"alloc,omitempty"` // while RUNNING; the first node runs the batch script
	RestartCount int          `json:"restart_count"`
	Runs         []JobRun     `json:"runs,omitempty"`
	Kill         *KillRequest `json:"kill,omitempty"` // set while a running job is being stopped

	// CancelledBy is the uid of the user who cancelled the job (sacct's
	// "CANCELLED by UID"); nil when the job was not cancelled by a user.
	CancelledBy *int `json:"cancelled_by,omitempty"`

	// SignalReq is the latest scancel --signal for the running job; the node
	// daemon delivers each Seq once.
	SignalReq *SignalRequest `json:"signal_request,omitempty"`
	// Retries is how many times the job's retry policy sent it back to
	// PENDING after a failed run (each also counts in RestartCount).
	Retries int `json:"retries,omitempty"`
	// AvoidNodes are the nodes of the run the retry policy last retried
	// (set when a failed run sends the job back to PENDING, cleared by any
	// other requeue): the scheduler keeps the next attempt off them when
	// other nodes could take it (sched: the nodes a retry avoids).
	AvoidNodes []string `json:"avoid_nodes,omitempty"`

	ExitCode int `json:"exit_code"`
	Signal   int `json:"signal,omitempty"`

	// TimeLimitSecs is the time limit of the current or last run, set when
	// it starts: the job's --time, else its partition's default. The node
	// daemon delivers the --signal warning that many seconds before it.
	TimeLimitSecs int64 `json:"time_limit_secs,omitempty"`
	// CheckpointDir is the job's FAIRWAY_CHECKPOINT_DIR, the same for every
	// run: CheckpointDirBase/ID when the cluster configures a base
	// (Scheduling.CheckpointDirBase), set when the job gets its ID; empty
	// means the node daemon's own base (noded.Config.CheckpointDirBase).
	CheckpointDir string `json:"checkpoint_dir,omitempty"`
	// LastCheckpoint is when the job last said it completed a checkpoint
	// (fairway checkpoint done; unix seconds, the leader's clock; 0 never).
	// Work since then, or since its run's start when later, is what a
	// preemption loses.
	LastCheckpoint int64 `json:"last_checkpoint,omitempty"`
	// FirstEstimate is the first start-time estimate the controller made
	// for the job while it was pending, kept so that its error against the
	// actual start can be measured (fairway explain --accuracy).
	FirstEstimate *StartEstimate `json:"first_estimate,omitempty"`

	// ArrayJobID and ArrayTaskID are set on a task of a job array. The array's
	// own record (ID == ArrayJobID, ArrayTaskID < 0) holds the tasks not yet
	// started in ArrayPending, so a 100,000-task array costs one record until
	// its tasks start. A task that starts is split off into a job of its own
	// with a new ID; the last one takes over the record itself (as in Slurm,
	// the array job ID then names that task). See IsArrayRecord, IsArrayTask.
	ArrayJobID   JobID   `json:"array_job_id,omitempty"`
	ArrayTaskID  int     `json:"array_task_id,omitempty"`
	ArrayPending TaskIDs `json:"array_pending,omitempty"` // on the array record: task ids not yet started, ascending (JSON: a range list such as "4-15")
	ArrayMaxRun  int     `json:"array_max_run,omitempty"` // the %N throttle; 0 = none

	Priority uint32 `json:"priority"` // as last computed by the scheduler
	// StdoutPath and StderrPath are the patterns expanded for this job (empty %N until it runs).
	StdoutPath string `json:"stdout_path"`
	StderrPath string `json:"stderr_path"`
	// StdinPath is Spec.Stdin expanded as the output patterns are (empty:
	// /dev/null); see StdinShown.
	StdinPath string `json:"stdin_path,omitempty"`
}

// StdinShown is the batch script's standard input as Slurm shows it
// (scontrol's StdIn=, squeue %..., sacct's StdIn): the expanded --input,
// else /dev/null.
func (j *Job) StdinShown() string {
	if j.StdinPath == "" {
		return "/dev/null"
	}
	return j.StdinPath
}

// NodeNames lists the nodes of the job's allocation.
func (j *Job) NodeNames() []string {
	names := make([]string, len(j.Alloc))
	for i, a := range j.Alloc {
		names[i] = a.Node
	}
	return names
}

// RunTime is how long the current or last run has been running at now.
func (j *Job) RunTime(now time.Time) time.Duration {
	if j.StartTime == 0 {
		return 0
	}
	end := now.Unix()
	if j.State != JobRunning && j.EndTime != 0 {
		end = j.EndTime
	}
	if end < j.StartTime {
		return 0
	}
	return time.Duration(end-j.StartTime) * time.Second
}

// NodeState is a node's state as sinfo shows it.
type NodeState string

// Node states. IDLE, MIXED and ALLOCATED are derived from allocations; DOWN and
// DRAIN are set by liveness checks and administrators.
const (
	NodeIdle      NodeState = "IDLE"
	NodeMixed     NodeState = "MIXED"
	NodeAllocated NodeState = "ALLOCATED"
	NodeDown      NodeState = "DOWN"
	NodeDrain     NodeState = "DRAIN"
	NodeUnknown   NodeState = "UNKNOWN"
)

// GPU is one GPU device on a node.
type GPU struct {
	Index    int    `json:"index"`
	UUID     string `json:"uuid"`
	Type     string `json:"type"` // e.g. "h100"
	Minor    int    `json:"minor"`
	MemoryMB int64  `json:"memory_mb,omitempty"`
	Healthy  bool   `json:"healthy"`
	// HealthReason says why an unhealthy GPU was withdrawn (an XID error,
	// ECC errors, the GPU fell off the bus); empty while it is healthy.
	HealthReason string `json:"health_reason,omitempty"`
}

// NodeResources is what a node offers to jobs.
type NodeResources struct {
	CPUs     int   `json:"cpus"`
	MemoryMB int64 `json:"memory_mb"`
	GPUs     []GPU `json:"gpus,omitempty"`
}

// Node is a registered node daemon.
type Node struct {
	Name       string        `json:"name"`
	Addr       string        `json:"addr"`                // host:port of the node daemon's HTTP server (metrics)
	StepAddr   string        `json:"step_addr,omitempty"` // host:port of its step server (srun)
	Resources  NodeResources `json:"resources"`
	Partitions []string      `json:"partitions"`
	State      NodeState     `json:"state"` // DOWN/DRAIN stored; IDLE/MIXED/ALLOCATED derived when read
	Reason     string        `json:"reason,omitempty"`
	// ReasonUser and ReasonTime are who set Reason and when (unix
	// seconds, the leader's clock): the administrator of scontrol update
	// State=DRAIN|DOWN, or "root" for the controller's own reasons (a node
	// not responding). An administrator's DRAIN or DOWN survives the
	// node's re-registration and heartbeats until State=RESUME.
	ReasonUser    string `json:"reason_user,omitempty"`
	ReasonTime    int64  `json:"reason_time,omitempty"`
	LastHeartbeat int64  `json:"last_heartbeat"` // unix seconds, from the leader's clock
	BootTime      int64  `json:"boot_time,omitempty"`
	// Used is derived from running jobs when the node is read through the API.
	Used NodeResources `json:"used"`
	// FreeMemMB (available memory, MB) and CPULoad (5-minute load
	// average, as slurmd's CPULoad) are the figures of the node's latest heartbeat to the
	// leader, which keeps them in memory only: they are never
	// replicated, and nil (Slurm's N/A) from a follower, from a new
	// leader before the node's next heartbeat, or when the node could
	// not read them.
	FreeMemMB *int64   `json:"free_mem_mb,omitempty"`
	CPULoad   *float64 `json:"cpu_load,omitempty"`
}

// PreemptMode says what happens to a preempted job.
type PreemptMode string

// Preemption modes.
const (
	PreemptOff     PreemptMode = "off"
	PreemptRequeue PreemptMode = "requeue"
	PreemptCancel  PreemptMode = "cancel"
)

// Partition is a pool of nodes with limits and defaults.
type Partition struct {
	Name            string      `json:"name"`
	Nodes           []string    `json:"nodes,omitempty"` // empty: every node that names this partition when it registers
	Default         bool        `json:"default,omitempty"`
	MaxTimeSecs     int64       `json:"max_time_secs,omitempty"`     // 0 = unlimited
	DefaultTimeSecs int64       `json:"default_time_secs,omitempty"` // 0 = MaxTimeSecs, or one hour when both are 0
	DefMemPerNodeMB int64       `json:"def_mem_per_node_mb,omitempty"`
	PriorityTier    int         `json:"priority_tier,omitempty"`
	PriorityFactor  float64     `json:"priority_factor,omitempty"`
	PreemptMode     PreemptMode `json:"preempt_mode,omitempty"`
	GraceSecs       int         `json:"grace_secs,omitempty"`
	// State is UP (the default, empty), DOWN (jobs are queued but none
	// starts), DRAIN (no new submissions; queued jobs still start) or
	// INACTIVE (neither), as Slurm's partition states.
	State string `json:"state,omitempty"`
	// MaxNodes is the most nodes a job of the partition may ask for; 0
	// is unlimited.
	MaxNodes int `json:"max_nodes,omitempty"`
	// Retry is the retry policy (--retry syntax, see ParseRetry) of jobs
	// that run in this partition and set none; empty: no retries.
	Retry string `json:"retry,omitempty"`
}

// Account is a node of the fair-share tree. Users are leaves named "user@account"
// or plain accounts without children.
type Account struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"` // empty: child of root
	Shares int    `json:"shares"`
	// Guarantees maps partition name to guaranteed GPUs (the scheduler issue uses it).
	Guarantees map[string]int `json:"guarantees,omitempty"`
	// MaxRunningJobs and MaxGPUs are limits; 0 = none.
	MaxRunningJobs int `json:"max_running_jobs,omitempty"`
	MaxGPUs        int `json:"max_gpus,omitempty"`
	// MaxRunningJobsPerUser and MaxGPUsPerUser limit each user of the account; 0 = none.
	MaxRunningJobsPerUser int `json:"max_running_jobs_per_user,omitempty"`
	MaxGPUsPerUser        int `json:"max_gpus_per_user,omitempty"`
	// MaxSubmitJobsPerUser limits each user's pending and running jobs in
	// the account (Slurm's MaxSubmitJobs on an account); 0 = none. A
	// submission beyond it is refused.
	MaxSubmitJobsPerUser int `json:"max_submit_jobs_per_user,omitempty"`
	// QOS, when not empty, are the QOS the account's jobs may name (Slurm's
	// association QOS); a sub-account without a list uses its parent's.
	QOS []string `json:"qos,omitempty"`
	// DefaultQOS is the QOS of the account's jobs that name none (Slurm's
	// DefaultQOS); a sub-account without one uses its parent's.
	DefaultQOS string `json:"default_qos,omitempty"`
	// Description and Organization are free text (sacctmgr's).
	Description  string `json:"description,omitempty"`
	Organization string `json:"organization,omitempty"`
	// SharesParent is Slurm's FairShare=parent: the account is flattened into
	// its parent's level.
	SharesParent bool `json:"shares_parent,omitempty"`
	// WeightFactor, when set, replaces shares AWS Batch style: an account's
	// share is proportional to 1/WeightFactor among its siblings.
	WeightFactor float64 `json:"weight_factor,omitempty"`
	// Users are the account's user associations (fair-share leaves). When
	// the list is not empty, only these users may submit under the account.
	Users []AccountUser `json:"users,omitempty"`
	// Coordinators are Slurm's account coordinators: user names (or @group
	// for members of a Unix group) that may read and act on the jobs of this
	// account and of its sub-accounts.
	Coordinators []string `json:"coordinators,omitempty"`
}

// ClusterConfig is the replicated cluster configuration.
type ClusterConfig struct {
	Partitions []Partition `json:"partitions"`
	Accounts   []Account   `json:"accounts,omitempty"`
	// NodeDownAfterSecs: a node that has not heartbeated for this long is
	// marked DOWN and its jobs are requeued (or end NODE_FAIL). It must be
	// more than NodeLeaseSecs + FenceGraceSecs + FenceKillWaitSecs, so that a
	// node cut off from the controllers has stopped its jobs by then.
	NodeDownAfterSecs int64 `json:"node_down_after_secs"`
	// NodeLeaseSecs: each heartbeat the leader acknowledges (after checking
	// with a quorum that it still leads) grants the node a lease this long,
	// counted from when the node sent it. A node whose lease runs out stops
	// its jobs itself (fencing). 0: DefaultNodeLeaseSecs.
	NodeLeaseSecs int64 `json:"node_lease_secs,omitempty"`
	// FenceGraceSecs: a node fencing its jobs sends each its checkpoint
	// signal and kills what is left this long after. 0: DefaultFenceGraceSecs.
	FenceGraceSecs int64 `json:"fence_grace_secs,omitempty"`
	// JobRetentionSecs: finished jobs stay queryable this long (sacct, squeue -t all).
	JobRetentionSecs int64 `json:"job_retention_secs"`
	// DefaultAccount is used when a job names none.
	DefaultAccount string `json:"default_account,omitempty"`
	// QOS lists the qualities of service; a job names one with --qos.
	QOS []QOS `json:"qos,omitempty"`
	// Scheduling configures priorities, fair share, backfill and preemption.
	Scheduling SchedulingConfig `json:"scheduling"`
	// MaxArraySize caps the tasks of one job array (Slurm's MaxArraySize, default 100001: indices 0-100000).
	MaxArraySize int `json:"max_array_size,omitempty"`
	// MaxScriptBytes caps a batch script's size (Slurm's max_script_size,
	// default DefaultMaxScriptBytes, 4 MB).
	MaxScriptBytes int64 `json:"max_script_bytes,omitempty"`
	// Administrators and Operators are Slurm's AdminLevel roles: user names,
	// or @group for every member of a Unix group. Administrators may do
	// anything (uid 0 always is one); operators may read and act on every
	// job and set a negative nice. See ctld/authz.go.
	Administrators []string `json:"administrators,omitempty"`
	Operators      []string `json:"operators,omitempty"`
}

// DefaultPartition returns the partition marked default, else the first one.
func (c *ClusterConfig) DefaultPartition() (Partition, bool) {
	for _, p := range c.Partitions {
		if p.Default {
			return p, true
		}
	}
	if len(c.Partitions) > 0 {
		return c.Partitions[0], true
	}
	return Partition{}, false
}

// Partition finds a partition by name.
func (c *ClusterConfig) Partition(name string) (Partition, bool) {
	for _, p := range c.Partitions {
		if p.Name == name {
			return p, true
		}
	}
	return Partition{}, false
}

// Start is one job start in a scheduler plan.
type Start struct {
	JobID JobID `json:"job_id"`
	// ArrayTaskID, for a start of a job array's record, is the task that starts:
	// the FSM splits it off into a job of its own with a new ID.
	ArrayTaskID *int        `json:"array_task_id,omitempty"`
	Partition   string      `json:"partition"`
	Alloc       []NodeAlloc `json:"alloc"`
	// Priority is the job's priority in the pass that starts it: a
	// running job keeps it (squeue %Q, scontrol's Priority=; 0 would mean
	// held). Absent in plans from controllers before it existed.
	Priority uint32 `json:"priority,omitempty"`
}

// Preemption is one job the plan stops to make room.
type Preemption struct {
	JobID  JobID  `json:"job_id"`
	Reason string `json:"reason"` // "reclaim" or "priority"
	For    JobID  `json:"for"`    // the job it makes room for
}

// PendingInfo is the scheduler's explanation for a job it did not start.
type PendingInfo struct {
	JobID         JobID  `json:"job_id"`
	Reason        string `json:"reason"`
	Priority      uint32 `json:"priority"`
	ExpectedStart int64  `json:"expected_start,omitempty"`
}

// Plan is the outcome of one scheduling pass. It is committed through raft and
// verified against the state at apply time: a start that no longer fits is dropped.
type Plan struct {
	Now         int64         `json:"now"`
	Starts      []Start       `json:"starts,omitempty"`
	Preemptions []Preemption  `json:"preemptions,omitempty"`
	Pending     []PendingInfo `json:"pending,omitempty"`
	// Stats describe the pass that made the plan, for metrics; they are
	// not part of the raft command.
	Stats PassStats `json:"-"`
}

// PassStats count what one scheduling pass did (Slurm's sdiag figures).
type PassStats struct {
	// Pending is the pending jobs (array records once) the pass saw.
	Pending int
	// Tested is the jobs it tested for a start, a preemption or a
	// reservation (its depth).
	Tested int
	// BackfillTested is the jobs tested after the first job blocked for
	// resources (the backfill depth).
	BackfillTested int
	// Reservations is the backfill reservations it made.
	Reservations int
	// BackfillStarts is the starts of jobs that passed a blocked one.
	BackfillStarts int
}

// JobEventKind says what happened to a job on its node.
type JobEventKind string

// Job event kinds reported by node daemons.
const (
	EventStarted    JobEventKind = "started"
	EventExited     JobEventKind = "exited"
	EventLaunchFail JobEventKind = "launch_failed"
	// EventLost: the node was assigned the run but has no trace of it (for
	// example after a reboot); the job is requeued or ends NODE_FAIL.
	EventLost JobEventKind = "lost"
)

// CheckpointSignal is the signal a job being stopped to be resumed later
// (preempted, or fenced by a node that lost its lease) gets first: its
// --signal, else USR1.
func (j *Job) CheckpointSignal() string {
	if j.Spec.Signal != nil && j.Spec.Signal.Name != "" {
		return j.Spec.Signal.Name
	}
	return "USR1"
}

// JobEvent is a node daemon's report about one run of a job. Events are
// idempotent: the controller ignores an event for a run that is not current, or
// an exit for a run that already ended.
type JobEvent struct {
	JobID    JobID        `json:"job_id"`
	Run      int          `json:"run"` // the job's RestartCount when the run started
	Node     string       `json:"node"`
	Kind     JobEventKind `json:"kind"`
	ExitCode int          `json:"exit_code"`
	Signal   int          `json:"signal,omitempty"`
	OOM      bool         `json:"oom,omitempty"`
	Message  string       `json:"message,omitempty"`
	// Fenced: the node stopped the run itself because its lease with the
	// controllers ran out; StoppedAt (unix seconds) is when its last
	// process was gone, 0 when unknown.
	Fenced    bool  `json:"fenced,omitempty"`
	StoppedAt int64 `json:"stopped_at,omitempty"`
	// Usage is what the run's batch step used (its cgroup), on an end
	// event.
	Usage *Usage `json:"usage,omitempty"`
}
