package slurmdata

// JobInfoResp is slurmrestd's v0.0.41_openapi_job_info_resp.
type JobInfoResp struct {
	// List of jobs
	Jobs JobInfoMsg `json:"jobs" yaml:"jobs" oas:"required"`
	// Time of last backfill scheduler run (UNIX timestamp)
	LastBackfill Uint64NoVal `json:"last_backfill" yaml:"last_backfill" oas:"required"`
	// Time of last job change (UNIX timestamp)
	LastUpdate Uint64NoVal `json:"last_update" yaml:"last_update" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// JobInfoMsg is slurmrestd's v0.0.41_job_info_msg.
type JobInfoMsg []JobInfo

// JobInfoPower is an object inline in Slurm's schema.
type JobInfoPower struct {
	Flags []string `json:"flags" yaml:"flags"`
}

// JobInfo is slurmrestd's v0.0.41_job_info.
type JobInfo struct {
	// Account associated with the job
	Account string `json:"account" yaml:"account"`
	// When the job started accruing age priority (UNIX timestamp)
	AccrueTime Uint64NoVal `json:"accrue_time" yaml:"accrue_time"`
	// Arbitrary comment made by administrator
	AdminComment string `json:"admin_comment" yaml:"admin_comment"`
	// Local node making the resource allocation
	AllocatingNode string `json:"allocating_node" yaml:"allocating_node"`
	// Job ID of job array, or 0 if N/A
	ArrayJobID Uint32NoVal `json:"array_job_id" yaml:"array_job_id"`
	// Task ID of this task in job array
	ArrayTaskID Uint32NoVal `json:"array_task_id" yaml:"array_task_id"`
	// Maximum number of simultaneously running array tasks, 0 if no limit
	ArrayMaxTasks Uint32NoVal `json:"array_max_tasks" yaml:"array_max_tasks"`
	// String expression of task IDs in this record
	ArrayTaskString string `json:"array_task_string" yaml:"array_task_string"`
	// Unique identifier for the association
	AssociationID int32 `json:"association_id" yaml:"association_id"`
	// Features required for batch script's node
	BatchFeatures string `json:"batch_features" yaml:"batch_features"`
	// True if batch job
	BatchFlag bool `json:"batch_flag" yaml:"batch_flag"`
	// Name of host running batch script
	BatchHost string `json:"batch_host" yaml:"batch_host"`
	// Job flags
	Flags []string `json:"flags" yaml:"flags" oas:"enum=job_flags"`
	// Burst buffer specifications
	BurstBuffer string `json:"burst_buffer" yaml:"burst_buffer"`
	// Burst buffer state details
	BurstBufferState string `json:"burst_buffer_state" yaml:"burst_buffer_state"`
	// Cluster name
	Cluster string `json:"cluster" yaml:"cluster"`
	// List of required cluster features
	ClusterFeatures string `json:"cluster_features" yaml:"cluster_features"`
	// Executed command
	Command string `json:"command" yaml:"command"`
	// Arbitrary comment
	Comment string `json:"comment" yaml:"comment"`
	// Absolute path to OCI container bundle
	Container string `json:"container" yaml:"container"`
	// OCI container ID
	ContainerID string `json:"container_id" yaml:"container_id"`
	// True if job requires contiguous nodes
	Contiguous bool `json:"contiguous" yaml:"contiguous"`
	// Specialized core count
	CoreSpec int32 `json:"core_spec" yaml:"core_spec"`
	// Specialized thread count
	ThreadSpec int32 `json:"thread_spec" yaml:"thread_spec"`
	// Cores per socket required
	CoresPerSocket Uint16NoVal `json:"cores_per_socket" yaml:"cores_per_socket"`
	// Billable TRES
	BillableTRES Float64NoVal `json:"billable_tres" yaml:"billable_tres"`
	// Number of CPUs required by each task
	CPUsPerTask Uint16NoVal `json:"cpus_per_task" yaml:"cpus_per_task"`
	// Minimum CPU frequency
	CPUFrequencyMinimum Uint32NoVal `json:"cpu_frequency_minimum" yaml:"cpu_frequency_minimum"`
	// Maximum CPU frequency
	CPUFrequencyMaximum Uint32NoVal `json:"cpu_frequency_maximum" yaml:"cpu_frequency_maximum"`
	// CPU frequency governor
	CPUFrequencyGovernor Uint32NoVal `json:"cpu_frequency_governor" yaml:"cpu_frequency_governor"`
	// Semicolon delimited list of TRES=# values indicating how many CPUs should be allocated for each specified TRES (currently only used for gres/gpu)
	CPUsPerTRES string `json:"cpus_per_tres" yaml:"cpus_per_tres"`
	// Time specification for scrontab job
	Cron string `json:"cron" yaml:"cron"`
	// Latest time that the job may start (UNIX timestamp)
	Deadline Uint64NoVal `json:"deadline" yaml:"deadline"`
	// Number of seconds after job eligible start that nodes will be rebooted to satisfy feature specification
	DelayBoot Uint32NoVal `json:"delay_boot" yaml:"delay_boot"`
	// Other jobs that must meet certain criteria before this job can start
	Dependency string `json:"dependency" yaml:"dependency"`
	// Highest exit code of all job steps
	DerivedExitCode ProcessExitCodeVerbose `json:"derived_exit_code" yaml:"derived_exit_code"`
	// Time when the job became eligible to run (UNIX timestamp)
	EligibleTime Uint64NoVal `json:"eligible_time" yaml:"eligible_time"`
	// End time, real or expected (UNIX timestamp)
	EndTime Uint64NoVal `json:"end_time" yaml:"end_time"`
	// Comma separated list of nodes that may not be used
	ExcludedNodes string `json:"excluded_nodes" yaml:"excluded_nodes"`
	// Exit code of the job
	ExitCode ProcessExitCodeVerbose `json:"exit_code" yaml:"exit_code"`
	// Arbitrary string used for node filtering if extra constraints are enabled
	Extra string `json:"extra" yaml:"extra"`
	// Name of node that caused job failure
	FailedNode string `json:"failed_node" yaml:"failed_node"`
	// Comma separated list of features that are required
	Features string `json:"features" yaml:"features"`
	// Origin cluster's name (when using federation)
	FederationOrigin string `json:"federation_origin" yaml:"federation_origin"`
	// Active sibling job names
	FederationSiblingsActive string `json:"federation_siblings_active" yaml:"federation_siblings_active"`
	// Viable sibling job names
	FederationSiblingsViable string `json:"federation_siblings_viable" yaml:"federation_siblings_viable"`
	// List of GRES index and counts allocated per node
	GresDetail JobInfoGresDetail `json:"gres_detail" yaml:"gres_detail"`
	// Group ID of the user that owns the job
	GroupID int32 `json:"group_id" yaml:"group_id"`
	// Group name of the user that owns the job
	GroupName string `json:"group_name" yaml:"group_name"`
	// Heterogeneous job ID, if applicable
	HetJobID Uint32NoVal `json:"het_job_id" yaml:"het_job_id"`
	// Job ID range for all heterogeneous job components
	HetJobIDSet string `json:"het_job_id_set" yaml:"het_job_id_set"`
	// Unique sequence number applied to this component of the heterogeneous job
	HetJobOffset Uint32NoVal `json:"het_job_offset" yaml:"het_job_offset"`
	// Job ID
	JobID int32 `json:"job_id" yaml:"job_id"`
	// Resources used by the job
	JobResources *JobRes `json:"job_resources,omitempty" yaml:"job_resources,omitempty"`
	// Number of nodes (in a range) required for this job
	JobSizeStr CSVString `json:"job_size_str" yaml:"job_size_str"`
	// Current state
	JobState []string `json:"job_state" yaml:"job_state" oas:"enum=job_state"`
	// Last time job was evaluated for scheduling (UNIX timestamp)
	LastSchedEvaluation Uint64NoVal `json:"last_sched_evaluation" yaml:"last_sched_evaluation"`
	// License(s) required by the job
	Licenses string `json:"licenses" yaml:"licenses"`
	// Mail event type(s)
	MailType []string `json:"mail_type" yaml:"mail_type" oas:"enum=mail_type"`
	// User to receive email notifications
	MailUser string `json:"mail_user" yaml:"mail_user"`
	// Maximum number of CPUs usable by the job
	MaxCPUs Uint32NoVal `json:"max_cpus" yaml:"max_cpus"`
	// Maximum number of nodes usable by the job
	MaxNodes Uint32NoVal `json:"max_nodes" yaml:"max_nodes"`
	// Multi-Category Security label on the job
	McsLabel string `json:"mcs_label" yaml:"mcs_label"`
	// Semicolon delimited list of TRES=# values indicating how much memory in megabytes should be allocated for each specified TRES (currently only used for gres/gpu)
	MemoryPerTRES string `json:"memory_per_tres" yaml:"memory_per_tres"`
	// Job name
	Name string `json:"name" yaml:"name"`
	// Network specs for the job
	Network string `json:"network" yaml:"network"`
	// Node(s) allocated to the job
	Nodes string `json:"nodes" yaml:"nodes"`
	// Requested job priority change
	Nice int32 `json:"nice" yaml:"nice"`
	// Number of tasks invoked on each core
	TasksPerCore Uint16NoVal `json:"tasks_per_core" yaml:"tasks_per_core"`
	// Number of tasks that can assess each GPU
	TasksPerTRES Uint16NoVal `json:"tasks_per_tres" yaml:"tasks_per_tres"`
	// Number of tasks invoked on each node
	TasksPerNode Uint16NoVal `json:"tasks_per_node" yaml:"tasks_per_node"`
	// Number of tasks invoked on each socket
	TasksPerSocket Uint16NoVal `json:"tasks_per_socket" yaml:"tasks_per_socket"`
	// Number of tasks invoked on each board
	TasksPerBoard Uint16NoVal `json:"tasks_per_board" yaml:"tasks_per_board"`
	// Minimum number of CPUs required
	CPUs Uint32NoVal `json:"cpus" yaml:"cpus"`
	// Minimum number of nodes required
	NodeCount Uint32NoVal `json:"node_count" yaml:"node_count"`
	// Number of tasks
	Tasks Uint32NoVal `json:"tasks" yaml:"tasks"`
	// Partition assigned to the job
	Partition string `json:"partition" yaml:"partition"`
	// Feature(s) the job requested but that are not required
	Prefer string `json:"prefer" yaml:"prefer"`
	// Minimum memory in megabytes per allocated CPU
	MemoryPerCPU Uint64NoVal `json:"memory_per_cpu" yaml:"memory_per_cpu"`
	// Minimum memory in megabytes per allocated node
	MemoryPerNode Uint64NoVal `json:"memory_per_node" yaml:"memory_per_node"`
	// Minimum number of CPUs per node
	MinimumCPUsPerNode Uint16NoVal `json:"minimum_cpus_per_node" yaml:"minimum_cpus_per_node"`
	// Minimum tmp disk space required per node
	MinimumTmpDiskPerNode Uint32NoVal  `json:"minimum_tmp_disk_per_node" yaml:"minimum_tmp_disk_per_node"`
	Power                 JobInfoPower `json:"power" yaml:"power"`
	// Time job received preemption signal (UNIX timestamp)
	PreemptTime Uint64NoVal `json:"preempt_time" yaml:"preempt_time"`
	// Time job becomes eligible for preemption (UNIX timestamp)
	PreemptableTime Uint64NoVal `json:"preemptable_time" yaml:"preemptable_time"`
	// Total run time prior to last suspend in seconds
	PreSusTime Uint64NoVal `json:"pre_sus_time" yaml:"pre_sus_time"`
	// Hold (true) or release (false) job
	Hold bool `json:"hold" yaml:"hold"`
	// Request specific job priority
	Priority Uint32NoVal `json:"priority" yaml:"priority"`
	// Profile used by the acct_gather_profile plugin
	Profile []string `json:"profile" yaml:"profile" oas:"enum=profile"`
	// Quality of Service assigned to the job
	QOS string `json:"qos" yaml:"qos"`
	// Node reboot requested before start
	Reboot bool `json:"reboot" yaml:"reboot"`
	// Comma separated list of required nodes
	RequiredNodes string `json:"required_nodes" yaml:"required_nodes"`
	// Maximum number of switches (the 'minimum' in the key is incorrect)
	MinimumSwitches int32 `json:"minimum_switches" yaml:"minimum_switches"`
	// Determines whether the job may be requeued
	Requeue bool `json:"requeue" yaml:"requeue"`
	// Time of last size change (UNIX timestamp)
	ResizeTime Uint64NoVal `json:"resize_time" yaml:"resize_time"`
	// Number of job restarts
	RestartCnt int32 `json:"restart_cnt" yaml:"restart_cnt"`
	// Name of reservation to use
	ResvName string `json:"resv_name" yaml:"resv_name"`
	// List of nodes scheduled to be used for the job
	ScheduledNodes string `json:"scheduled_nodes" yaml:"scheduled_nodes"`
	// SELinux context
	SelinuxContext string `json:"selinux_context" yaml:"selinux_context"`
	// How the job can share resources with other jobs, if at all
	Shared        []string `json:"shared" yaml:"shared" oas:"enum=shared"`
	Exclusive     []string `json:"exclusive" yaml:"exclusive" oas:"enum=exclusive"`
	Oversubscribe bool     `json:"oversubscribe" yaml:"oversubscribe"`
	// Job details shown in this response
	ShowFlags []string `json:"show_flags" yaml:"show_flags" oas:"enum=show_flags"`
	// Number of sockets per board required
	SocketsPerBoard int32 `json:"sockets_per_board" yaml:"sockets_per_board"`
	// Number of sockets per node required
	SocketsPerNode Uint16NoVal `json:"sockets_per_node" yaml:"sockets_per_node"`
	// Time execution began, or is expected to begin (UNIX timestamp)
	StartTime Uint64NoVal `json:"start_time" yaml:"start_time"`
	// Optional details for state_reason
	StateDescription string `json:"state_description" yaml:"state_description"`
	// Reason for current Pending or Failed state
	StateReason string `json:"state_reason" yaml:"state_reason"`
	// Path to stderr file
	StandardError string `json:"standard_error" yaml:"standard_error"`
	// Path to stdin file
	StandardInput string `json:"standard_input" yaml:"standard_input"`
	// Path to stdout file
	StandardOutput string `json:"standard_output" yaml:"standard_output"`
	// Time when the job was submitted (UNIX timestamp)
	SubmitTime Uint64NoVal `json:"submit_time" yaml:"submit_time"`
	// Time the job was last suspended or resumed (UNIX timestamp)
	SuspendTime Uint64NoVal `json:"suspend_time" yaml:"suspend_time"`
	// Arbitrary comment from slurmctld
	SystemComment string `json:"system_comment" yaml:"system_comment"`
	// Maximum run time in minutes
	TimeLimit Uint32NoVal `json:"time_limit" yaml:"time_limit"`
	// Minimum run time in minutes
	TimeMinimum Uint32NoVal `json:"time_minimum" yaml:"time_minimum"`
	// Number of processor threads per CPU core required
	ThreadsPerCore Uint16NoVal `json:"threads_per_core" yaml:"threads_per_core"`
	// Task to TRES binding directives
	TRESBind string `json:"tres_bind" yaml:"tres_bind"`
	// TRES frequency directives
	TRESFreq string `json:"tres_freq" yaml:"tres_freq"`
	// Comma separated list of TRES=# values to be allocated per job
	TRESPerJob string `json:"tres_per_job" yaml:"tres_per_job"`
	// Comma separated list of TRES=# values to be allocated per node
	TRESPerNode string `json:"tres_per_node" yaml:"tres_per_node"`
	// Comma separated list of TRES=# values to be allocated per socket
	TRESPerSocket string `json:"tres_per_socket" yaml:"tres_per_socket"`
	// Comma separated list of TRES=# values to be allocated per task
	TRESPerTask string `json:"tres_per_task" yaml:"tres_per_task"`
	// TRES requested by the job
	TRESReqStr string `json:"tres_req_str" yaml:"tres_req_str"`
	// TRES used by the job
	TRESAllocStr string `json:"tres_alloc_str" yaml:"tres_alloc_str"`
	// User ID that owns the job
	UserID int32 `json:"user_id" yaml:"user_id"`
	// User name that owns the job
	UserName string `json:"user_name" yaml:"user_name"`
	// Maximum time to wait for switches in seconds
	MaximumSwitchWaitTime int32 `json:"maximum_switch_wait_time" yaml:"maximum_switch_wait_time"`
	// Workload characterization key
	Wckey string `json:"wckey" yaml:"wckey"`
	// Working directory to use for the job
	CurrentWorkingDirectory string `json:"current_working_directory" yaml:"current_working_directory"`
}

// JobInfoGresDetail is slurmrestd's v0.0.41_job_info_gres_detail.
type JobInfoGresDetail []string

// JobResNodesInfo is the nodes object of JobRes.
type JobResNodesInfo struct {
	// Number of allocated nodes
	Count int32 `json:"count" yaml:"count" oas:"required"`
	// Node scheduling selection method
	SelectType []string `json:"select_type" yaml:"select_type" oas:"enum=node_select_type,required"`
	// Node(s) allocated to the job
	List string `json:"list" yaml:"list" oas:"required"`
	// Whether whole nodes were allocated
	Whole bool `json:"whole" yaml:"whole" oas:"required"`
	// Allocated node resources
	Allocation JobResNodes `json:"allocation" yaml:"allocation" oas:"required"`
}

// JobRes is slurmrestd's v0.0.41_job_res.
type JobRes struct {
	// Scheduler consumable resource selection type
	SelectType []string        `json:"select_type" yaml:"select_type" oas:"enum=select_type,required"`
	Nodes      JobResNodesInfo `json:"nodes" yaml:"nodes" oas:"required"`
	// Number of allocated CPUs
	CPUs int32 `json:"cpus" yaml:"cpus" oas:"required"`
	// Number of processor threads per CPU core
	ThreadsPerCore Uint16NoVal `json:"threads_per_core" yaml:"threads_per_core" oas:"required"`
}

// JobResNodes is slurmrestd's v0.0.41_job_res_nodes.
type JobResNodes []JobResNode

// JobResNodeCPUs is an object inline in Slurm's schema.
type JobResNodeCPUs struct {
	// Total number of CPUs assigned to job
	Count int32 `json:"count" yaml:"count" oas:"required"`
	// Total number of CPUs used by job
	Used int32 `json:"used" yaml:"used" oas:"required"`
}

// JobResNodeMemory is an object inline in Slurm's schema.
type JobResNodeMemory struct {
	// Total memory (MiB) used by job
	Used int64 `json:"used" yaml:"used" oas:"required"`
	// Total memory (MiB) allocated to job
	Allocated int64 `json:"allocated" yaml:"allocated" oas:"required"`
}

// JobResNode is slurmrestd's v0.0.41_job_res_node.
type JobResNode struct {
	// Node index
	Index int32 `json:"index" yaml:"index" oas:"required"`
	// Node name
	Name   string           `json:"name" yaml:"name" oas:"required"`
	CPUs   JobResNodeCPUs   `json:"cpus" yaml:"cpus" oas:"required"`
	Memory JobResNodeMemory `json:"memory" yaml:"memory" oas:"required"`
	// Socket allocations in node
	Sockets JobResSocketArray `json:"sockets" yaml:"sockets" oas:"required"`
}

// JobResSocketArray is slurmrestd's v0.0.41_job_res_socket_array.
type JobResSocketArray []JobResSocket

// JobResSocket is slurmrestd's v0.0.41_job_res_socket.
type JobResSocket struct {
	// Core index
	Index int32 `json:"index" yaml:"index" oas:"required"`
	// Core in socket
	Cores JobResCoreArray `json:"cores" yaml:"cores" oas:"required"`
}

// JobResCoreArray is slurmrestd's v0.0.41_job_res_core_array.
type JobResCoreArray []JobResCore

// JobResCore is slurmrestd's v0.0.41_job_res_core.
type JobResCore struct {
	// Core index
	Index int32 `json:"index" yaml:"index" oas:"required"`
	// Core status
	Status []string `json:"status" yaml:"status" oas:"enum=core_status,required"`
}
