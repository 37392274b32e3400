package slurmdata

// DiagResp is slurmrestd's v0.0.41_openapi_diag_resp.
type DiagResp struct {
	// statistics
	Statistics StatsMsg `json:"statistics" yaml:"statistics" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// StatsMsg is slurmrestd's v0.0.41_stats_msg.
type StatsMsg struct {
	// Zero if only RPC statistic included
	PartsPacked int32 `json:"parts_packed" yaml:"parts_packed"`
	// When the request was made (UNIX timestamp)
	ReqTime Uint64NoVal `json:"req_time" yaml:"req_time"`
	// When the data in the report started (UNIX timestamp)
	ReqTimeStart Uint64NoVal `json:"req_time_start" yaml:"req_time_start"`
	// Number of current active slurmctld threads
	ServerThreadCount int32 `json:"server_thread_count" yaml:"server_thread_count"`
	// Number of enqueued outgoing RPC requests in an internal retry list
	AgentQueueSize int32 `json:"agent_queue_size" yaml:"agent_queue_size"`
	// Number of agent threads
	AgentCount int32 `json:"agent_count" yaml:"agent_count"`
	// Total number of active threads created by all agent threads
	AgentThreadCount int32 `json:"agent_thread_count" yaml:"agent_thread_count"`
	// Number of messages for SlurmDBD that are queued
	DbdAgentQueueSize int32 `json:"dbd_agent_queue_size" yaml:"dbd_agent_queue_size"`
	// Latency of 1000 calls to the gettimeofday() syscall in microseconds, as measured at controller startup
	GettimeofdayLatency int32 `json:"gettimeofday_latency" yaml:"gettimeofday_latency"`
	// Max time of any scheduling cycle in microseconds since last reset
	ScheduleCycleMax int32 `json:"schedule_cycle_max" yaml:"schedule_cycle_max"`
	// Time in microseconds for last scheduling cycle
	ScheduleCycleLast int32 `json:"schedule_cycle_last" yaml:"schedule_cycle_last"`
	// Total run time in microseconds for all scheduling cycles since last reset
	ScheduleCycleSum int32 `json:"schedule_cycle_sum" yaml:"schedule_cycle_sum"`
	// Number of scheduling cycles since last reset
	ScheduleCycleTotal int32 `json:"schedule_cycle_total" yaml:"schedule_cycle_total"`
	// Mean time in microseconds for all scheduling cycles since last reset
	ScheduleCycleMean int64 `json:"schedule_cycle_mean" yaml:"schedule_cycle_mean"`
	// Mean of the number of jobs processed in a scheduling cycle
	ScheduleCycleMeanDepth int64 `json:"schedule_cycle_mean_depth" yaml:"schedule_cycle_mean_depth"`
	// Number of scheduling executions per minute
	ScheduleCyclePerMinute int64 `json:"schedule_cycle_per_minute" yaml:"schedule_cycle_per_minute"`
	// Total number of jobs processed in scheduling cycles
	ScheduleCycleDepth int32 `json:"schedule_cycle_depth" yaml:"schedule_cycle_depth"`
	// Reasons for which the scheduling cycle exited since last reset
	ScheduleExit ScheduleExitFields `json:"schedule_exit" yaml:"schedule_exit"`
	// Number of jobs pending in queue
	ScheduleQueueLength int32 `json:"schedule_queue_length" yaml:"schedule_queue_length"`
	// Number of jobs submitted since last reset
	JobsSubmitted int32 `json:"jobs_submitted" yaml:"jobs_submitted"`
	// Number of jobs started since last reset
	JobsStarted int32 `json:"jobs_started" yaml:"jobs_started"`
	// Number of jobs completed since last reset
	JobsCompleted int32 `json:"jobs_completed" yaml:"jobs_completed"`
	// Number of jobs canceled since the last reset
	JobsCanceled int32 `json:"jobs_canceled" yaml:"jobs_canceled"`
	// Number of jobs failed due to slurmd or other internal issues since last reset
	JobsFailed int32 `json:"jobs_failed" yaml:"jobs_failed"`
	// Number of jobs pending at the time of listed in job_state_ts
	JobsPending int32 `json:"jobs_pending" yaml:"jobs_pending"`
	// Number of jobs running at the time of listed in job_state_ts
	JobsRunning int32 `json:"jobs_running" yaml:"jobs_running"`
	// When the job state counts were gathered (UNIX timestamp)
	JobStatesTs Uint64NoVal `json:"job_states_ts" yaml:"job_states_ts"`
	// Number of jobs started through backfilling since last slurm start
	BfBackfilledJobs int32 `json:"bf_backfilled_jobs" yaml:"bf_backfilled_jobs"`
	// Number of jobs started through backfilling since last reset
	BfLastBackfilledJobs int32 `json:"bf_last_backfilled_jobs" yaml:"bf_last_backfilled_jobs"`
	// Number of heterogeneous job components started through backfilling since last Slurm start
	BfBackfilledHetJobs int32 `json:"bf_backfilled_het_jobs" yaml:"bf_backfilled_het_jobs"`
	// Number of backfill scheduling cycles since last reset
	BfCycleCounter int32 `json:"bf_cycle_counter" yaml:"bf_cycle_counter"`
	// Mean time in microseconds of backfilling scheduling cycles since last reset
	BfCycleMean int64 `json:"bf_cycle_mean" yaml:"bf_cycle_mean"`
	// Mean number of eligible to run jobs processed during all backfilling scheduling cycles since last reset
	BfDepthMean int64 `json:"bf_depth_mean" yaml:"bf_depth_mean"`
	// The subset of Depth Mean that the backfill scheduler attempted to schedule
	BfDepthMeanTry int64 `json:"bf_depth_mean_try" yaml:"bf_depth_mean_try"`
	// Total time in microseconds of backfilling scheduling cycles since last reset
	BfCycleSum int64 `json:"bf_cycle_sum" yaml:"bf_cycle_sum"`
	// Execution time in microseconds of last backfill scheduling cycle
	BfCycleLast int32 `json:"bf_cycle_last" yaml:"bf_cycle_last"`
	// Execution time in microseconds of longest backfill scheduling cycle
	BfCycleMax int32 `json:"bf_cycle_max" yaml:"bf_cycle_max"`
	// Reasons for which the backfill scheduling cycle exited since last reset
	BfExit BfExitFields `json:"bf_exit" yaml:"bf_exit"`
	// Number of processed jobs during last backfilling scheduling cycle
	BfLastDepth int32 `json:"bf_last_depth" yaml:"bf_last_depth"`
	// Number of processed jobs during last backfilling scheduling cycle that had a chance to start using available resources
	BfLastDepthTry int32 `json:"bf_last_depth_try" yaml:"bf_last_depth_try"`
	// Total number of jobs processed during all backfilling scheduling cycles since last reset
	BfDepthSum int32 `json:"bf_depth_sum" yaml:"bf_depth_sum"`
	// Subset of bf_depth_sum that the backfill scheduler attempted to schedule
	BfDepthTrySum int32 `json:"bf_depth_try_sum" yaml:"bf_depth_try_sum"`
	// Number of jobs pending to be processed by backfilling algorithm
	BfQueueLen int32 `json:"bf_queue_len" yaml:"bf_queue_len"`
	// Mean number of jobs pending to be processed by backfilling algorithm
	BfQueueLenMean int64 `json:"bf_queue_len_mean" yaml:"bf_queue_len_mean"`
	// Total number of jobs pending to be processed by backfilling algorithm since last reset
	BfQueueLenSum int32 `json:"bf_queue_len_sum" yaml:"bf_queue_len_sum"`
	// Number of different time slots tested by the backfill scheduler in its last iteration
	BfTableSize int32 `json:"bf_table_size" yaml:"bf_table_size"`
	// Total number of different time slots tested by the backfill scheduler
	BfTableSizeSum int32 `json:"bf_table_size_sum" yaml:"bf_table_size_sum"`
	// Mean number of different time slots tested by the backfill scheduler
	BfTableSizeMean int64 `json:"bf_table_size_mean" yaml:"bf_table_size_mean"`
	// When the last backfill scheduling cycle happened (UNIX timestamp)
	BfWhenLastCycle Uint64NoVal `json:"bf_when_last_cycle" yaml:"bf_when_last_cycle"`
	// Backfill scheduler currently running
	BfActive bool `json:"bf_active" yaml:"bf_active"`
	// Most frequently issued remote procedure calls (RPCs)
	RpcsByMessageType StatsMsgRpcsByType `json:"rpcs_by_message_type" yaml:"rpcs_by_message_type"`
	// RPCs issued by user ID
	RpcsByUser StatsMsgRpcsByUser `json:"rpcs_by_user" yaml:"rpcs_by_user"`
	// Pending RPC statistics
	PendingRpcs StatsMsgRpcsQueue `json:"pending_rpcs" yaml:"pending_rpcs"`
	// Pending RPCs hostlists
	PendingRpcsByHostlist StatsMsgRpcsDump `json:"pending_rpcs_by_hostlist" yaml:"pending_rpcs_by_hostlist"`
}

// ScheduleExitFields is slurmrestd's v0.0.41_schedule_exit_fields.
type ScheduleExitFields struct {
	// Reached end of queue
	EndJobQueue int32 `json:"end_job_queue" yaml:"end_job_queue"`
	// Reached number of jobs allowed to be tested
	DefaultQueueDepth int32 `json:"default_queue_depth" yaml:"default_queue_depth"`
	// Reached number of jobs allowed to start
	MaxJobStart int32 `json:"max_job_start" yaml:"max_job_start"`
	// Reached RPC limit
	MaxRPCCnt int32 `json:"max_rpc_cnt" yaml:"max_rpc_cnt"`
	// Reached maximum allowed scheduler time
	MaxSchedTime int32 `json:"max_sched_time" yaml:"max_sched_time"`
	// Blocked on licenses
	Licenses int32 `json:"licenses" yaml:"licenses"`
}

// BfExitFields is slurmrestd's v0.0.41_bf_exit_fields.
type BfExitFields struct {
	// Reached end of queue
	EndJobQueue int32 `json:"end_job_queue" yaml:"end_job_queue"`
	// Reached number of jobs allowed to start
	BfMaxJobStart int32 `json:"bf_max_job_start" yaml:"bf_max_job_start"`
	// Reached number of jobs allowed to be tested
	BfMaxJobTest int32 `json:"bf_max_job_test" yaml:"bf_max_job_test"`
	// Reached maximum allowed scheduler time
	BfMaxTime int32 `json:"bf_max_time" yaml:"bf_max_time"`
	// Reached table size limit
	BfNodeSpaceSize int32 `json:"bf_node_space_size" yaml:"bf_node_space_size"`
	// System state changed
	StateChanged int32 `json:"state_changed" yaml:"state_changed"`
}

// StatsMsgRpcsByType is slurmrestd's v0.0.41_stats_msg_rpcs_by_type.
type StatsMsgRpcsByType []StatsMsgRPCType

// StatsMsgRPCType is slurmrestd's v0.0.41_stats_msg_rpc_type.
type StatsMsgRPCType struct {
	// Message type as integer
	TypeID int32 `json:"type_id" yaml:"type_id" oas:"required"`
	// Message type as string
	MessageType string `json:"message_type" yaml:"message_type" oas:"required"`
	// Number of RPCs received
	Count int32 `json:"count" yaml:"count" oas:"required"`
	// Number of RPCs queued
	Queued int32 `json:"queued" yaml:"queued" oas:"required"`
	// Number of RPCs dropped
	Dropped int64 `json:"dropped" yaml:"dropped" oas:"required"`
	// Number of RPCs processed within the last RPC queue cycle
	CycleLast int32 `json:"cycle_last" yaml:"cycle_last" oas:"required"`
	// Maximum number of RPCs processed within a RPC queue cycle since start
	CycleMax int32 `json:"cycle_max" yaml:"cycle_max" oas:"required"`
	// Total time spent processing RPC in seconds
	TotalTime int64 `json:"total_time" yaml:"total_time" oas:"required"`
	// Average time spent processing RPC in seconds
	AverageTime Uint64NoVal `json:"average_time" yaml:"average_time" oas:"required"`
}

// StatsMsgRpcsByUser is slurmrestd's v0.0.41_stats_msg_rpcs_by_user.
type StatsMsgRpcsByUser []StatsMsgRPCUser

// StatsMsgRPCUser is slurmrestd's v0.0.41_stats_msg_rpc_user.
type StatsMsgRPCUser struct {
	// User ID (numeric)
	UserID int32 `json:"user_id" yaml:"user_id" oas:"required"`
	// User name
	User string `json:"user" yaml:"user" oas:"required"`
	// Number of RPCs received
	Count int32 `json:"count" yaml:"count" oas:"required"`
	// Total time spent processing RPC in seconds
	TotalTime int64 `json:"total_time" yaml:"total_time" oas:"required"`
	// Average time spent processing RPC in seconds
	AverageTime Uint64NoVal `json:"average_time" yaml:"average_time" oas:"required"`
}

// StatsMsgRpcsQueue is slurmrestd's v0.0.41_stats_msg_rpcs_queue.
type StatsMsgRpcsQueue []StatsMsgRPCQueue

// StatsMsgRPCQueue is slurmrestd's v0.0.41_stats_msg_rpc_queue.
type StatsMsgRPCQueue struct {
	// Message type as integer
	TypeID int32 `json:"type_id" yaml:"type_id" oas:"required"`
	// Message type as string
	MessageType string `json:"message_type" yaml:"message_type" oas:"required"`
	// Number of pending RPCs queued
	Count int32 `json:"count" yaml:"count" oas:"required"`
}

// StatsMsgRpcsDump is slurmrestd's v0.0.41_stats_msg_rpcs_dump.
type StatsMsgRpcsDump []StatsMsgRPCDump

// StatsMsgRPCDump is slurmrestd's v0.0.41_stats_msg_rpc_dump.
type StatsMsgRPCDump struct {
	// Message type as integer
	TypeID int32 `json:"type_id" yaml:"type_id" oas:"required"`
	// Message type as string
	MessageType string `json:"message_type" yaml:"message_type" oas:"required"`
	// Number of RPCs received
	Count HostlistString `json:"count" yaml:"count" oas:"required"`
}
