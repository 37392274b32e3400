package slurmdata

// SlurmdbdJobsResp is slurmrestd's v0.0.41_openapi_slurmdbd_jobs_resp.
type SlurmdbdJobsResp struct {
	// jobs
	Jobs DBJobList `json:"jobs" yaml:"jobs" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// DBJobList is slurmrestd's v0.0.41_job_list.
type DBJobList []DBJob

// DBJobComment is an object inline in Slurm's schema.
type DBJobComment struct {
	// Arbitrary comment made by administrator
	Administrator string `json:"administrator" yaml:"administrator"`
	// Arbitrary comment made by user
	Job string `json:"job" yaml:"job"`
	// Arbitrary comment from slurmctld
	System string `json:"system" yaml:"system"`
}

// DBJobArrayLimitsMaxRunning is an object inline in Slurm's schema.
type DBJobArrayLimitsMaxRunning struct {
	// Maximum number of simultaneously running tasks, 0 if no limit
	Tasks int32 `json:"tasks" yaml:"tasks"`
}

// DBJobArrayLimitsMax is an object inline in Slurm's schema.
type DBJobArrayLimitsMax struct {
	Running DBJobArrayLimitsMaxRunning `json:"running" yaml:"running"`
}

// DBJobArrayLimits is an object inline in Slurm's schema.
type DBJobArrayLimits struct {
	Max DBJobArrayLimitsMax `json:"max" yaml:"max"`
}

// DBJobArray is an object inline in Slurm's schema.
type DBJobArray struct {
	// Job ID of job array, or 0 if N/A
	JobID  int32            `json:"job_id" yaml:"job_id"`
	Limits DBJobArrayLimits `json:"limits" yaml:"limits"`
	// Task ID of this task in job array
	TaskID Uint32NoVal `json:"task_id" yaml:"task_id"`
	// String expression of task IDs in this record
	Task string `json:"task" yaml:"task"`
}

// DBJobTimeSystem is an object inline in Slurm's schema.
type DBJobTimeSystem struct {
	// System CPU time used by the job in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// System CPU time used by the job in microseconds
	Microseconds int64 `json:"microseconds" yaml:"microseconds"`
}

// DBJobTimeTotal is an object inline in Slurm's schema.
type DBJobTimeTotal struct {
	// Sum of System and User CPU time used by the job in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// Sum of System and User CPU time used by the job in microseconds
	Microseconds int64 `json:"microseconds" yaml:"microseconds"`
}

// DBJobTimeUser is an object inline in Slurm's schema.
type DBJobTimeUser struct {
	// User CPU time used by the job in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// User CPU time used by the job in microseconds
	Microseconds int64 `json:"microseconds" yaml:"microseconds"`
}

// DBJobTime is an object inline in Slurm's schema.
type DBJobTime struct {
	// Elapsed time in seconds
	Elapsed int32 `json:"elapsed" yaml:"elapsed"`
	// Time when the job became eligible to run (UNIX timestamp)
	Eligible int64 `json:"eligible" yaml:"eligible"`
	// End time (UNIX timestamp)
	End int64 `json:"end" yaml:"end"`
	// Time required to start job after becoming eligible to run in seconds
	Planned Uint64NoVal `json:"planned" yaml:"planned"`
	// Time execution began (UNIX timestamp)
	Start int64 `json:"start" yaml:"start"`
	// Time when the job was submitted (UNIX timestamp)
	Submission int64 `json:"submission" yaml:"submission"`
	// Total time in suspended state in seconds
	Suspended int32           `json:"suspended" yaml:"suspended"`
	System    DBJobTimeSystem `json:"system" yaml:"system"`
	// Maximum run time in minutes
	Limit Uint32NoVal    `json:"limit" yaml:"limit"`
	Total DBJobTimeTotal `json:"total" yaml:"total"`
	User  DBJobTimeUser  `json:"user" yaml:"user"`
}

// DBJobHet is an object inline in Slurm's schema.
type DBJobHet struct {
	// Heterogeneous job ID, if applicable
	JobID int32 `json:"job_id" yaml:"job_id"`
	// Unique sequence number applied to this component of the heterogeneous job
	JobOffset Uint32NoVal `json:"job_offset" yaml:"job_offset"`
}

// DBJobMcs is an object inline in Slurm's schema.
type DBJobMcs struct {
	// Multi-Category Security label on the job
	Label string `json:"label" yaml:"label"`
}

// DBJobRequired is an object inline in Slurm's schema.
type DBJobRequired struct {
	// Minimum number of CPUs required
	CPUs int32 `json:"CPUs" yaml:"CPUs"`
	// Minimum memory in megabytes per allocated CPU
	MemoryPerCPU Uint64NoVal `json:"memory_per_cpu" yaml:"memory_per_cpu"`
	// Minimum memory in megabytes per allocated node
	MemoryPerNode Uint64NoVal `json:"memory_per_node" yaml:"memory_per_node"`
}

// DBJobReservation is an object inline in Slurm's schema.
type DBJobReservation struct {
	// Unique identifier of requested reservation
	ID int32 `json:"id" yaml:"id"`
	// Name of reservation to use
	Name string `json:"name" yaml:"name"`
}

// DBJobState is an object inline in Slurm's schema.
type DBJobState struct {
	// Current state
	Current []string `json:"current" yaml:"current" oas:"enum=job_state"`
	// Reason for previous Pending or Failed state
	Reason string `json:"reason" yaml:"reason"`
}

// DBJobTRES is an object inline in Slurm's schema.
type DBJobTRES struct {
	// Trackable resources allocated to the job
	Allocated TRESList `json:"allocated" yaml:"allocated"`
	// Trackable resources requested by job
	Requested TRESList `json:"requested" yaml:"requested"`
}

// DBJob is slurmrestd's v0.0.41_job.
type DBJob struct {
	// Account the job ran under
	Account string       `json:"account" yaml:"account"`
	Comment DBJobComment `json:"comment" yaml:"comment"`
	// List of nodes allocated to the job
	AllocationNodes int32      `json:"allocation_nodes" yaml:"allocation_nodes"`
	Array           DBJobArray `json:"array" yaml:"array"`
	// Unique identifier for the association
	Association AssocShort `json:"association" yaml:"association"`
	// The name of the block to be used (used with Blue Gene systems)
	Block string `json:"block" yaml:"block"`
	// Cluster name
	Cluster string `json:"cluster" yaml:"cluster"`
	// Feature(s) the job requested as a constraint
	Constraints string `json:"constraints" yaml:"constraints"`
	// Absolute path to OCI container bundle
	Container string `json:"container" yaml:"container"`
	// Highest exit code of all job steps
	DerivedExitCode ProcessExitCodeVerbose `json:"derived_exit_code" yaml:"derived_exit_code"`
	Time            DBJobTime              `json:"time" yaml:"time"`
	// Exit code
	ExitCode ProcessExitCodeVerbose `json:"exit_code" yaml:"exit_code"`
	// Arbitrary string used for node filtering if extra constraints are enabled
	Extra string `json:"extra" yaml:"extra"`
	// Name of node that caused job failure
	FailedNode string `json:"failed_node" yaml:"failed_node"`
	// Flags associated with the job
	Flags []string `json:"flags" yaml:"flags" oas:"enum=db_job_flags"`
	// Group ID of the user that owns the job
	Group string   `json:"group" yaml:"group"`
	Het   DBJobHet `json:"het" yaml:"het"`
	// Job ID
	JobID int32 `json:"job_id" yaml:"job_id"`
	// Job name
	Name string `json:"name" yaml:"name"`
	// License(s) required by the job
	Licenses string   `json:"licenses" yaml:"licenses"`
	Mcs      DBJobMcs `json:"mcs" yaml:"mcs"`
	// Node(s) allocated to the job
	Nodes string `json:"nodes" yaml:"nodes"`
	// Partition assigned to the job
	Partition string `json:"partition" yaml:"partition"`
	// Hold (true) or release (false) job
	Hold bool `json:"hold" yaml:"hold"`
	// Request specific job priority
	Priority Uint32NoVal `json:"priority" yaml:"priority"`
	// Quality of Service assigned to the job
	QOS      string        `json:"qos" yaml:"qos"`
	Required DBJobRequired `json:"required" yaml:"required"`
	// User ID that requested termination of the job
	KillRequestUser string           `json:"kill_request_user" yaml:"kill_request_user"`
	Reservation     DBJobReservation `json:"reservation" yaml:"reservation"`
	// Job batch script; only the first component in a HetJob is populated or honored
	Script string `json:"script" yaml:"script"`
	// Job stdin with expanded fields
	StdinExpanded string `json:"stdin_expanded" yaml:"stdin_expanded"`
	// Job stdout with expanded fields
	StdoutExpanded string `json:"stdout_expanded" yaml:"stdout_expanded"`
	// Job stderr with expanded fields
	StderrExpanded string `json:"stderr_expanded" yaml:"stderr_expanded"`
	// Path to stdout file
	Stdout string `json:"stdout" yaml:"stdout"`
	// Path to stderr file
	Stderr string `json:"stderr" yaml:"stderr"`
	// Path to stdin file
	Stdin string     `json:"stdin" yaml:"stdin"`
	State DBJobState `json:"state" yaml:"state"`
	// Individual steps in the job
	Steps DBStepList `json:"steps" yaml:"steps"`
	// Command used to submit the job
	SubmitLine string    `json:"submit_line" yaml:"submit_line"`
	TRES       DBJobTRES `json:"tres" yaml:"tres"`
	// Generic resources used by job
	UsedGres string `json:"used_gres" yaml:"used_gres"`
	// User that owns the job
	User string `json:"user" yaml:"user"`
	// Workload characterization key
	Wckey WckeyTagStruct `json:"wckey" yaml:"wckey"`
	// Path to current working directory
	WorkingDirectory string `json:"working_directory" yaml:"working_directory"`
}

// AssocShort is slurmrestd's v0.0.41_assoc_short.
type AssocShort struct {
	// Account
	Account string `json:"account" yaml:"account"`
	// Cluster
	Cluster string `json:"cluster" yaml:"cluster"`
	// Partition
	Partition string `json:"partition" yaml:"partition"`
	// User name
	User string `json:"user" yaml:"user" oas:"required"`
	// Numeric association ID
	ID int32 `json:"id" yaml:"id"`
}

// DBStepList is slurmrestd's v0.0.41_step_list.
type DBStepList []DBStep

// DBStepTimeSystem is an object inline in Slurm's schema.
type DBStepTimeSystem struct {
	// System CPU time used by the step in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// System CPU time used by the step in microseconds
	Microseconds int32 `json:"microseconds" yaml:"microseconds"`
}

// DBStepTimeTotal is an object inline in Slurm's schema.
type DBStepTimeTotal struct {
	// Total CPU time used by the step in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// Total CPU time used by the step in microseconds
	Microseconds int32 `json:"microseconds" yaml:"microseconds"`
}

// DBStepTimeUser is an object inline in Slurm's schema.
type DBStepTimeUser struct {
	// User CPU time used by the step in seconds
	Seconds int64 `json:"seconds" yaml:"seconds"`
	// User CPU time used by the step in microseconds
	Microseconds int32 `json:"microseconds" yaml:"microseconds"`
}

// DBStepTime is an object inline in Slurm's schema.
type DBStepTime struct {
	// Elapsed time in seconds
	Elapsed int32 `json:"elapsed" yaml:"elapsed"`
	// End time (UNIX timestamp)
	End Uint64NoVal `json:"end" yaml:"end"`
	// Time execution began (UNIX timestamp)
	Start Uint64NoVal `json:"start" yaml:"start"`
	// Time in suspended state in seconds
	Suspended int32            `json:"suspended" yaml:"suspended"`
	System    DBStepTimeSystem `json:"system" yaml:"system"`
	Total     DBStepTimeTotal  `json:"total" yaml:"total"`
	User      DBStepTimeUser   `json:"user" yaml:"user"`
}

// DBStepNodes is an object inline in Slurm's schema.
type DBStepNodes struct {
	// Number of nodes in the job step
	Count int32 `json:"count" yaml:"count"`
	// Node(s) allocated to the job step
	Range string `json:"range" yaml:"range"`
	// List of nodes used by the step
	List Hostlist `json:"list" yaml:"list"`
}

// DBStepTasks is an object inline in Slurm's schema.
type DBStepTasks struct {
	// Total number of tasks
	Count int32 `json:"count" yaml:"count"`
}

// DBStepCPURequestedFrequency is an object inline in Slurm's schema.
type DBStepCPURequestedFrequency struct {
	// Minimum requested CPU frequency in kHz
	Min Uint32NoVal `json:"min" yaml:"min"`
	// Maximum requested CPU frequency in kHz
	Max Uint32NoVal `json:"max" yaml:"max"`
}

// DBStepCPU is an object inline in Slurm's schema.
type DBStepCPU struct {
	RequestedFrequency DBStepCPURequestedFrequency `json:"requested_frequency" yaml:"requested_frequency"`
	// Requested CPU frequency governor in kHz
	Governor string `json:"governor" yaml:"governor"`
}

// DBStepStatisticsCPU is an object inline in Slurm's schema.
type DBStepStatisticsCPU struct {
	// Average weighted CPU frequency of all tasks in kHz
	ActualFrequency int64 `json:"actual_frequency" yaml:"actual_frequency"`
}

// DBStepStatisticsEnergy is an object inline in Slurm's schema.
type DBStepStatisticsEnergy struct {
	// Total energy consumed by all tasks in a job in joules
	Consumed Uint64NoVal `json:"consumed" yaml:"consumed"`
}

// DBStepStatistics is an object inline in Slurm's schema.
type DBStepStatistics struct {
	CPU    DBStepStatisticsCPU    `json:"CPU" yaml:"CPU"`
	Energy DBStepStatisticsEnergy `json:"energy" yaml:"energy"`
}

// DBStepStep is an object inline in Slurm's schema.
type DBStepStep struct {
	// Step ID
	ID string `json:"id" yaml:"id"`
	// Step name
	Name string `json:"name" yaml:"name"`
}

// DBStepTask is an object inline in Slurm's schema.
type DBStepTask struct {
	// The layout of the step was when it was running
	Distribution string `json:"distribution" yaml:"distribution"`
}

// DBStepTRESRequested is an object inline in Slurm's schema.
type DBStepTRESRequested struct {
	// Maximum TRES usage requested among all tasks
	Max StepTRESReqMax `json:"max" yaml:"max"`
	// Minimum TRES usage requested among all tasks
	Min StepTRESReqMin `json:"min" yaml:"min"`
	// Average TRES usage requested among all tasks
	Average TRESList `json:"average" yaml:"average"`
	// Total TRES usage requested among all tasks
	Total TRESList `json:"total" yaml:"total"`
}

// DBStepTRESConsumed is an object inline in Slurm's schema.
type DBStepTRESConsumed struct {
	// Maximum TRES usage consumed among all tasks
	Max StepTRESUsageMax `json:"max" yaml:"max"`
	// Minimum TRES usage consumed among all tasks
	Min StepTRESUsageMin `json:"min" yaml:"min"`
	// Average TRES usage consumed among all tasks
	Average TRESList `json:"average" yaml:"average"`
	// Total TRES usage consumed among all tasks
	Total TRESList `json:"total" yaml:"total"`
}

// DBStepTRES is an object inline in Slurm's schema.
type DBStepTRES struct {
	Requested DBStepTRESRequested `json:"requested" yaml:"requested"`
	Consumed  DBStepTRESConsumed  `json:"consumed" yaml:"consumed"`
	// Trackable resources allocated to the step
	Allocated TRESList `json:"allocated" yaml:"allocated"`
}

// DBStep is slurmrestd's v0.0.41_step.
type DBStep struct {
	Time DBStepTime `json:"time" yaml:"time"`
	// Exit code
	ExitCode ProcessExitCodeVerbose `json:"exit_code" yaml:"exit_code"`
	Nodes    DBStepNodes            `json:"nodes" yaml:"nodes"`
	Tasks    DBStepTasks            `json:"tasks" yaml:"tasks"`
	// Process ID
	Pid string    `json:"pid" yaml:"pid"`
	CPU DBStepCPU `json:"CPU" yaml:"CPU"`
	// User ID that requested termination of the step
	KillRequestUser string `json:"kill_request_user" yaml:"kill_request_user"`
	// Current state
	State      []string         `json:"state" yaml:"state" oas:"enum=job_state"`
	Statistics DBStepStatistics `json:"statistics" yaml:"statistics"`
	Step       DBStepStep       `json:"step" yaml:"step"`
	Task       DBStepTask       `json:"task" yaml:"task"`
	TRES       DBStepTRES       `json:"tres" yaml:"tres"`
}

// Hostlist is slurmrestd's v0.0.41_hostlist.
type Hostlist []string

// StepTRESReqMax is slurmrestd's v0.0.41_step_tres_req_max.
type StepTRESReqMax []TRES

// TRES is slurmrestd's v0.0.41_tres.
type TRES struct {
	// TRES type (CPU, MEM, etc)
	Type string `json:"type" yaml:"type" oas:"required"`
	// TRES name (if applicable)
	Name string `json:"name" yaml:"name"`
	// ID used in database
	ID int32 `json:"id" yaml:"id"`
	// TRES count (0 if listed generically)
	Count int64 `json:"count" yaml:"count"`
}

// StepTRESReqMin is slurmrestd's v0.0.41_step_tres_req_min.
type StepTRESReqMin []TRES

// TRESList is slurmrestd's v0.0.41_tres_list.
type TRESList []TRES

// StepTRESUsageMax is slurmrestd's v0.0.41_step_tres_usage_max.
type StepTRESUsageMax []TRES

// StepTRESUsageMin is slurmrestd's v0.0.41_step_tres_usage_min.
type StepTRESUsageMin []TRES

// WckeyTagStruct is slurmrestd's v0.0.41_wckey_tag_struct.
type WckeyTagStruct struct {
	// WCKey name
	Wckey string `json:"wckey" yaml:"wckey" oas:"required"`
	// Active flags
	Flags []string `json:"flags" yaml:"flags" oas:"enum=wckey_flags,required"`
}
