package slurmdata

// enumValues lists the values Slurm's schema allows in a string array
// field tagged oas:"enum=KEY"; nil for an unknown key.
func enumValues(key string) []string {
	switch key {
	case "job_flags":
		return []string{"KILL_INVALID_DEPENDENCY", "NO_KILL_INVALID_DEPENDENCY", "HAS_STATE_DIRECTORY", "TESTING_BACKFILL", "GRES_BINDING_ENFORCED", "TEST_NOW_ONLY", "SEND_JOB_ENVIRONMENT", "SPREAD_JOB", "PREFER_MINIMUM_NODE_COUNT", "JOB_KILL_HURRY", "SKIP_TRES_STRING_ACCOUNTING", "SIBLING_CLUSTER_UPDATE_ONLY", "HETEROGENEOUS_JOB", "EXACT_TASK_COUNT_REQUESTED", "EXACT_CPU_COUNT_REQUESTED", "TESTING_WHOLE_NODE_BACKFILL", "TOP_PRIORITY_JOB", "ACCRUE_COUNT_CLEARED", "GRES_BINDING_DISABLED", "JOB_WAS_RUNNING", "JOB_ACCRUE_TIME_RESET", "CRON_JOB", "EXACT_MEMORY_REQUESTED", "USING_DEFAULT_ACCOUNT", "USING_DEFAULT_PARTITION", "USING_DEFAULT_QOS", "USING_DEFAULT_WCKEY", "DEPENDENT", "MAGNETIC", "PARTITION_ASSIGNED", "BACKFILL_ATTEMPTED", "SCHEDULING_ATTEMPTED", "STEPMGR_ENABLED"}
	case "job_state":
		return []string{"PENDING", "RUNNING", "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "LAUNCH_FAILED", "UPDATE_DB", "REQUEUED", "REQUEUE_HOLD", "SPECIAL_EXIT", "RESIZING", "CONFIGURING", "COMPLETING", "STOPPED", "RECONFIG_FAIL", "POWER_UP_NODE", "REVOKED", "REQUEUE_FED", "RESV_DEL_HOLD", "SIGNALING", "STAGE_OUT"}
	case "mail_type":
		return []string{"BEGIN", "END", "FAIL", "REQUEUE", "TIME=100%", "TIME=90%", "TIME=80%", "TIME=50%", "STAGE_OUT", "ARRAY_TASKS", "INVALID_DEPENDENCY"}
	case "profile":
		return []string{"NOT_SET", "NONE", "ENERGY", "LUSTRE", "NETWORK", "TASK"}
	case "shared":
		return []string{"none", "oversubscribe", "user", "mcs", "topo"}
	case "exclusive":
		return []string{"true", "false", "user", "mcs", "topo"}
	case "show_flags":
		return []string{"ALL", "DETAIL", "MIXED", "LOCAL", "SIBLING", "FEDERATION", "FUTURE"}
	case "exit_status":
		return []string{"INVALID", "PENDING", "SUCCESS", "ERROR", "SIGNALED", "CORE_DUMPED"}
	case "select_type":
		return []string{"CPU", "SOCKET", "CORE", "BOARD", "MEMORY", "ONE_TASK_PER_CORE", "PACK_NODES", "CORE_DEFAULT_DIST_BLOCK", "LLN", "LINEAR"}
	case "node_select_type":
		return []string{"AVAILABLE", "ONE_ROW", "RESERVED"}
	case "core_status":
		return []string{"INVALID", "UNALLOCATED", "ALLOCATED", "IN_USE"}
	case "node_state":
		return []string{"INVALID", "UNKNOWN", "DOWN", "IDLE", "ALLOCATED", "ERROR", "MIXED", "FUTURE", "RESERVED", "UNDRAIN", "CLOUD", "RESUME", "DRAIN", "COMPLETING", "NOT_RESPONDING", "POWERED_DOWN", "FAIL", "POWERING_UP", "MAINTENANCE", "REBOOT_REQUESTED", "REBOOT_CANCELED", "POWERING_DOWN", "DYNAMIC_FUTURE", "REBOOT_ISSUED", "PLANNED", "INVALID_REG", "POWER_DOWN", "POWER_UP", "POWER_DRAIN", "DYNAMIC_NORM"}
	case "oversubscribe_flags":
		return []string{"force"}
	case "partition_state":
		return []string{"INACTIVE", "UNKNOWN", "UP", "DOWN", "DRAIN"}
	case "db_job_flags":
		return []string{"NONE", "CLEAR_SCHEDULING", "NOT_SET", "STARTED_ON_SUBMIT", "STARTED_ON_SCHEDULE", "STARTED_ON_BACKFILL", "START_RECEIVED"}
	case "wckey_flags":
		return []string{"ASSIGNED_DEFAULT"}
	}
	return nil
}
