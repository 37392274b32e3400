package slurmdata

// NodesResp is slurmrestd's v0.0.41_openapi_nodes_resp.
type NodesResp struct {
	// List of nodes
	Nodes Nodes `json:"nodes" yaml:"nodes" oas:"required"`
	// Time of last node change (UNIX timestamp)
	LastUpdate Uint64NoVal `json:"last_update" yaml:"last_update" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// Nodes is slurmrestd's v0.0.41_nodes.
type Nodes []Node

// NodeExternalSensors is an object inline in Slurm's schema.
type NodeExternalSensors struct {
}

// NodePower is an object inline in Slurm's schema.
type NodePower struct {
}

// Node is slurmrestd's v0.0.41_node.
type Node struct {
	// Computer architecture
	Architecture string `json:"architecture" yaml:"architecture"`
	// Alternate network path to be used for sbcast network traffic
	BurstbufferNetworkAddress string `json:"burstbuffer_network_address" yaml:"burstbuffer_network_address"`
	// Number of Baseboards in nodes with a baseboard controller
	Boards int32 `json:"boards" yaml:"boards"`
	// Time when the node booted (UNIX timestamp)
	BootTime Uint64NoVal `json:"boot_time" yaml:"boot_time"`
	// Cluster name (only set in federated environments)
	ClusterName string `json:"cluster_name" yaml:"cluster_name"`
	// Number of cores in a single physical processor socket
	Cores int32 `json:"cores" yaml:"cores"`
	// Number of cores reserved for system use
	SpecializedCores int32 `json:"specialized_cores" yaml:"specialized_cores"`
	// Default method for binding tasks to allocated CPUs
	CPUBinding int32 `json:"cpu_binding" yaml:"cpu_binding"`
	// CPU load as reported by the OS
	CPULoad int32 `json:"cpu_load" yaml:"cpu_load"`
	// Total memory in MB currently free as reported by the OS
	FreeMem Uint64NoVal `json:"free_mem" yaml:"free_mem"`
	// Total CPUs, including cores and threads
	CPUs int32 `json:"cpus" yaml:"cpus"`
	// Number of effective CPUs (excluding specialized CPUs)
	EffectiveCPUs int32 `json:"effective_cpus" yaml:"effective_cpus"`
	// Abstract CPU IDs on this node reserved for exclusive use by slurmd and slurmstepd
	SpecializedCPUs string `json:"specialized_cpus" yaml:"specialized_cpus"`
	// Energy usage data
	Energy          AcctGatherEnergy    `json:"energy" yaml:"energy"`
	ExternalSensors NodeExternalSensors `json:"external_sensors" yaml:"external_sensors"`
	// Arbitrary string used for node filtering if extra constraints are enabled
	Extra string    `json:"extra" yaml:"extra"`
	Power NodePower `json:"power" yaml:"power"`
	// Available features
	Features CSVString `json:"features" yaml:"features"`
	// Currently active features
	ActiveFeatures CSVString `json:"active_features" yaml:"active_features"`
	// CPU cores reserved for jobs that also use a GPU
	GPUSpec string `json:"gpu_spec" yaml:"gpu_spec"`
	// Generic resources
	Gres string `json:"gres" yaml:"gres"`
	// Drained generic resources
	GresDrained string `json:"gres_drained" yaml:"gres_drained"`
	// Generic resources currently in use
	GresUsed string `json:"gres_used" yaml:"gres_used"`
	// Cloud instance ID
	InstanceID string `json:"instance_id" yaml:"instance_id"`
	// Cloud instance type
	InstanceType string `json:"instance_type" yaml:"instance_type"`
	// Time when the node was last busy (UNIX timestamp)
	LastBusy Uint64NoVal `json:"last_busy" yaml:"last_busy"`
	// Multi-Category Security label
	McsLabel string `json:"mcs_label" yaml:"mcs_label"`
	// Combined memory limit, in MB, for Slurm compute node daemons
	SpecializedMemory int64 `json:"specialized_memory" yaml:"specialized_memory"`
	// NodeName
	Name string `json:"name" yaml:"name"`
	// The state the node will be assigned after rebooting
	NextStateAfterReboot []string `json:"next_state_after_reboot" yaml:"next_state_after_reboot" oas:"enum=node_state"`
	// NodeAddr, used to establish a communication path
	Address string `json:"address" yaml:"address"`
	// NodeHostname
	Hostname string `json:"hostname" yaml:"hostname"`
	// Node state(s) applicable to this node
	State []string `json:"state" yaml:"state" oas:"enum=node_state"`
	// Operating system reported by the node
	OperatingSystem string `json:"operating_system" yaml:"operating_system"`
	// User allowed to run jobs on this node (unset if no restriction)
	Owner string `json:"owner" yaml:"owner"`
	// Partitions containing this node
	Partitions CSVString `json:"partitions" yaml:"partitions"`
	// TCP port number of the slurmd
	Port int32 `json:"port" yaml:"port"`
	// Total memory in MB on the node
	RealMemory int64 `json:"real_memory" yaml:"real_memory"`
	// Number of CPU cores per GPU restricted to GPU jobs
	ResCoresPerGPU int32 `json:"res_cores_per_gpu" yaml:"res_cores_per_gpu"`
	// Arbitrary comment
	Comment string `json:"comment" yaml:"comment"`
	// Describes why the node is in a "DOWN", "DRAINED", "DRAINING", "FAILING" or "FAIL" state
	Reason string `json:"reason" yaml:"reason"`
	// When the reason changed (UNIX timestamp)
	ReasonChangedAt Uint64NoVal `json:"reason_changed_at" yaml:"reason_changed_at"`
	// User who set the reason
	ReasonSetByUser string `json:"reason_set_by_user" yaml:"reason_set_by_user"`
	// Number of seconds after the node's state is updated to "DOWN" or "DRAIN" before scheduling a node state resume
	ResumeAfter Uint64NoVal `json:"resume_after" yaml:"resume_after"`
	// Name of reservation containing this node
	Reservation string `json:"reservation" yaml:"reservation"`
	// Total memory in MB currently allocated for jobs
	AllocMemory int64 `json:"alloc_memory" yaml:"alloc_memory"`
	// Total number of CPUs currently allocated for jobs
	AllocCPUs int32 `json:"alloc_cpus" yaml:"alloc_cpus"`
	// Total number of idle CPUs
	AllocIdleCPUs int32 `json:"alloc_idle_cpus" yaml:"alloc_idle_cpus"`
	// Trackable resources currently allocated for jobs
	TRESUsed string `json:"tres_used" yaml:"tres_used"`
	// Weighted number of billable trackable resources allocated
	TRESWeighted float64 `json:"tres_weighted" yaml:"tres_weighted"`
	// Time when the slurmd started (UNIX timestamp)
	SlurmdStartTime Uint64NoVal `json:"slurmd_start_time" yaml:"slurmd_start_time"`
	// Number of physical processor sockets/chips on the node
	Sockets int32 `json:"sockets" yaml:"sockets"`
	// Number of logical threads in a single physical core
	Threads int32 `json:"threads" yaml:"threads"`
	// Total size in MB of temporary disk storage in TmpFS
	TemporaryDisk int32 `json:"temporary_disk" yaml:"temporary_disk"`
	// Weight of the node for scheduling purposes
	Weight int32 `json:"weight" yaml:"weight"`
	// Configured trackable resources
	TRES string `json:"tres" yaml:"tres"`
	// Slurmd version
	Version string `json:"version" yaml:"version"`
}

// PartitionResp is slurmrestd's v0.0.41_openapi_partition_resp.
type PartitionResp struct {
	// List of partitions
	Partitions PartitionInfoMsg `json:"partitions" yaml:"partitions" oas:"required"`
	// Time of last partition change (UNIX timestamp)
	LastUpdate Uint64NoVal `json:"last_update" yaml:"last_update" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// PartitionInfoMsg is slurmrestd's v0.0.41_partition_info_msg.
type PartitionInfoMsg []PartitionInfo

// PartitionInfoNodes is an object inline in Slurm's schema.
type PartitionInfoNodes struct {
	// AllocNodes
	AllowedAllocation string `json:"allowed_allocation" yaml:"allowed_allocation"`
	// Nodes
	Configured string `json:"configured" yaml:"configured"`
	// TotalNodes
	Total int32 `json:"total" yaml:"total"`
}

// PartitionInfoAccounts is an object inline in Slurm's schema.
type PartitionInfoAccounts struct {
	// AllowAccounts
	Allowed string `json:"allowed" yaml:"allowed"`
	// DenyAccounts
	Deny string `json:"deny" yaml:"deny"`
}

// PartitionInfoGroups is an object inline in Slurm's schema.
type PartitionInfoGroups struct {
	// AllowGroups
	Allowed string `json:"allowed" yaml:"allowed"`
}

// PartitionInfoQOS is an object inline in Slurm's schema.
type PartitionInfoQOS struct {
	// AllowQOS
	Allowed string `json:"allowed" yaml:"allowed"`
	// DenyQOS
	Deny string `json:"deny" yaml:"deny"`
	// QOS
	Assigned string `json:"assigned" yaml:"assigned"`
}

// PartitionInfoTRES is an object inline in Slurm's schema.
type PartitionInfoTRES struct {
	// TRESBillingWeights
	BillingWeights string `json:"billing_weights" yaml:"billing_weights"`
	// TRES
	Configured string `json:"configured" yaml:"configured"`
}

// PartitionInfoCPUs is an object inline in Slurm's schema.
type PartitionInfoCPUs struct {
	// CPUBind
	TaskBinding int32 `json:"task_binding" yaml:"task_binding"`
	// TotalCPUs
	Total int32 `json:"total" yaml:"total"`
}

// PartitionInfoDefaults is an object inline in Slurm's schema.
type PartitionInfoDefaults struct {
	// DefMemPerCPU or DefMemPerNode
	MemoryPerCPU int64 `json:"memory_per_cpu" yaml:"memory_per_cpu"`
	// DefMemPerCPU
	PartitionMemoryPerCPU Uint64NoVal `json:"partition_memory_per_cpu" yaml:"partition_memory_per_cpu"`
	// DefMemPerNode
	PartitionMemoryPerNode Uint64NoVal `json:"partition_memory_per_node" yaml:"partition_memory_per_node"`
	// DefaultTime in minutes
	Time Uint32NoVal `json:"time" yaml:"time"`
	// JobDefaults
	Job string `json:"job" yaml:"job"`
}

// PartitionInfoMaximumsOversubscribe is an object inline in Slurm's schema.
type PartitionInfoMaximumsOversubscribe struct {
	// Maximum number of jobs allowed to oversubscribe resources
	Jobs int32 `json:"jobs" yaml:"jobs"`
	// Flags applicable to the OverSubscribe setting
	Flags []string `json:"flags" yaml:"flags" oas:"enum=oversubscribe_flags"`
}

// PartitionInfoMaximums is an object inline in Slurm's schema.
type PartitionInfoMaximums struct {
	// MaxCPUsPerNode
	CPUsPerNode Uint32NoVal `json:"cpus_per_node" yaml:"cpus_per_node"`
	// MaxCPUsPerSocket
	CPUsPerSocket Uint32NoVal `json:"cpus_per_socket" yaml:"cpus_per_socket"`
	// MaxMemPerCPU or MaxMemPerNode
	MemoryPerCPU int64 `json:"memory_per_cpu" yaml:"memory_per_cpu"`
	// MaxMemPerCPU
	PartitionMemoryPerCPU Uint64NoVal `json:"partition_memory_per_cpu" yaml:"partition_memory_per_cpu"`
	// MaxMemPerNode
	PartitionMemoryPerNode Uint64NoVal `json:"partition_memory_per_node" yaml:"partition_memory_per_node"`
	// MaxNodes
	Nodes Uint32NoVal `json:"nodes" yaml:"nodes"`
	// OverSubscribe
	Shares        int32                              `json:"shares" yaml:"shares"`
	Oversubscribe PartitionInfoMaximumsOversubscribe `json:"oversubscribe" yaml:"oversubscribe"`
	// MaxTime
	Time Uint32NoVal `json:"time" yaml:"time"`
	// OverTimeLimit
	OverTimeLimit Uint16NoVal `json:"over_time_limit" yaml:"over_time_limit"`
}

// PartitionInfoMinimums is an object inline in Slurm's schema.
type PartitionInfoMinimums struct {
	// MinNodes
	Nodes int32 `json:"nodes" yaml:"nodes"`
}

// PartitionInfoPriority is an object inline in Slurm's schema.
type PartitionInfoPriority struct {
	// PriorityJobFactor
	JobFactor int32 `json:"job_factor" yaml:"job_factor"`
	// PriorityTier
	Tier int32 `json:"tier" yaml:"tier"`
}

// PartitionInfoTimeouts is an object inline in Slurm's schema.
type PartitionInfoTimeouts struct {
	// ResumeTimeout (GLOBAL if both set and infinite are false)
	Resume Uint16NoVal `json:"resume" yaml:"resume"`
	// SuspendTimeout (GLOBAL if both set and infinite are false)
	Suspend Uint16NoVal `json:"suspend" yaml:"suspend"`
}

// PartitionInfoPartition is an object inline in Slurm's schema.
type PartitionInfoPartition struct {
	// Current state(s)
	State []string `json:"state" yaml:"state" oas:"enum=partition_state"`
}

// PartitionInfo is slurmrestd's v0.0.41_partition_info.
type PartitionInfo struct {
	Nodes    PartitionInfoNodes    `json:"nodes" yaml:"nodes"`
	Accounts PartitionInfoAccounts `json:"accounts" yaml:"accounts"`
	Groups   PartitionInfoGroups   `json:"groups" yaml:"groups"`
	QOS      PartitionInfoQOS      `json:"qos" yaml:"qos"`
	// Alternate
	Alternate string            `json:"alternate" yaml:"alternate"`
	TRES      PartitionInfoTRES `json:"tres" yaml:"tres"`
	// Cluster name
	Cluster string `json:"cluster" yaml:"cluster"`
	// Scheduler consumable resource selection type
	SelectType []string              `json:"select_type" yaml:"select_type" oas:"enum=select_type"`
	CPUs       PartitionInfoCPUs     `json:"cpus" yaml:"cpus"`
	Defaults   PartitionInfoDefaults `json:"defaults" yaml:"defaults"`
	// GraceTime
	GraceTime int32                 `json:"grace_time" yaml:"grace_time"`
	Maximums  PartitionInfoMaximums `json:"maximums" yaml:"maximums"`
	Minimums  PartitionInfoMinimums `json:"minimums" yaml:"minimums"`
	// PartitionName
	Name string `json:"name" yaml:"name"`
	// NodeSets
	NodeSets  string                 `json:"node_sets" yaml:"node_sets"`
	Priority  PartitionInfoPriority  `json:"priority" yaml:"priority"`
	Timeouts  PartitionInfoTimeouts  `json:"timeouts" yaml:"timeouts"`
	Partition PartitionInfoPartition `json:"partition" yaml:"partition"`
	// SuspendTime (GLOBAL if both set and infinite are false)
	SuspendTime Uint32NoVal `json:"suspend_time" yaml:"suspend_time"`
}

// SinfoResp is what sinfo --json prints in Slurm 24.05 and 24.11:
// data_parser v0.0.41's OPENAPI_SINFO_RESP (v0.0.41_openapi_sinfo_resp),
// one entry per line that sinfo would print (partition and node state).
// slurmrestd has no endpoint that answers it.
type SinfoResp struct {
	// Node and partition info
	Sinfo SinfoDataList `json:"sinfo" yaml:"sinfo" oas:"required"`
	// Slurm meta values
	Meta Meta `json:"meta" yaml:"meta"`
	// Query errors
	Errors Errors `json:"errors" yaml:"errors"`
	// Query warnings
	Warnings Warnings `json:"warnings" yaml:"warnings"`
}

// SinfoDataList is Slurm's v0.0.41_sinfo_data_list.
type SinfoDataList []SinfoData

// SinfoData is Slurm's v0.0.41_sinfo_data: one group of nodes of a
// partition that share a state.
type SinfoData struct {
	// Node TCP port
	Port int32 `json:"port" yaml:"port"`
	// Node state(s)
	Node SinfoDataNode `json:"node" yaml:"node"`
	// Node counts and names
	Nodes SinfoDataNodes `json:"nodes" yaml:"nodes"`
	// CPU counts
	CPUs SinfoDataCPUs `json:"cpus" yaml:"cpus"`
	// Sockets per node
	Sockets SinfoMinMax `json:"sockets" yaml:"sockets"`
	// Cores per socket
	Cores SinfoMinMax `json:"cores" yaml:"cores"`
	// Threads per core
	Threads SinfoMinMax `json:"threads" yaml:"threads"`
	// TMP_DISK
	Disk SinfoMinMax `json:"disk" yaml:"disk"`
	// Memory (MiB)
	Memory SinfoDataMemory `json:"memory" yaml:"memory"`
	// Weight
	Weight SinfoMinMax `json:"weight" yaml:"weight"`
	// Features
	Features SinfoDataFeatures `json:"features" yaml:"features"`
	// Gres
	Gres SinfoDataGres `json:"gres" yaml:"gres"`
	// Cluster name
	Cluster string `json:"cluster" yaml:"cluster"`
	// Arbitrary descriptive string
	Comment string `json:"comment" yaml:"comment"`
	// Arbitrary string used for node filtering
	Extra string `json:"extra" yaml:"extra"`
	// Why a node is unavailable
	Reason SinfoDataReason `json:"reason" yaml:"reason"`
	// Name of advanced reservation
	Reservation string `json:"reservation" yaml:"reservation"`
	// The partition
	Partition PartitionInfo `json:"partition" yaml:"partition"`
}

// SinfoDataNode is the node object of SinfoData.
type SinfoDataNode struct {
	// Node state(s)
	State []string `json:"state" yaml:"state" oas:"enum=node_state"`
}

// SinfoDataNodes is the nodes object of SinfoData.
type SinfoDataNodes struct {
	// Number of nodes that are allocated
	Allocated int32 `json:"allocated" yaml:"allocated"`
	// Number of nodes that are idle
	Idle int32 `json:"idle" yaml:"idle"`
	// Number of nodes that are not allocated or idle
	Other int32 `json:"other" yaml:"other"`
	// Total number of nodes
	Total int32 `json:"total" yaml:"total"`
	// NodeHost
	Hostnames Hostlist `json:"hostnames" yaml:"hostnames"`
	// NodeAddr
	Addresses Hostlist `json:"addresses" yaml:"addresses"`
	// NodeList
	Nodes Hostlist `json:"nodes" yaml:"nodes"`
}

// SinfoDataCPUs is the cpus object of SinfoData.
type SinfoDataCPUs struct {
	// Number of allocated CPUs
	Allocated int32 `json:"allocated" yaml:"allocated"`
	// Number of idle CPUs
	Idle int32 `json:"idle" yaml:"idle"`
	// Number of CPUs that are not allocated or idle
	Other int32 `json:"other" yaml:"other"`
	// Total number of CPUs
	Total int32 `json:"total" yaml:"total"`
	// Minimum CPUs per node
	Minimum int32 `json:"minimum" yaml:"minimum"`
	// Maximum CPUs per node
	Maximum int32 `json:"maximum" yaml:"maximum"`
	// CPU load (hundredths)
	Load SinfoMinMax `json:"load" yaml:"load"`
	// MaxCPUsPerNode
	PerNode SinfoDataCPUsPerNode `json:"per_node" yaml:"per_node"`
}

// SinfoDataCPUsPerNode is the cpus.per_node object of SinfoData.
type SinfoDataCPUsPerNode struct {
	// MaxCPUsPerNode
	Max Uint32NoVal `json:"max" yaml:"max"`
}

// SinfoMinMax is a minimum and maximum over a group's nodes.
type SinfoMinMax struct {
	// Minimum over the nodes
	Minimum int32 `json:"minimum" yaml:"minimum"`
	// Maximum over the nodes
	Maximum int32 `json:"maximum" yaml:"maximum"`
}

// SinfoDataMemory is the memory object of SinfoData.
type SinfoDataMemory struct {
	// Minimum Memory
	Minimum int64 `json:"minimum" yaml:"minimum"`
	// Maximum Memory
	Maximum int64 `json:"maximum" yaml:"maximum"`
	// FreeMem
	Free SinfoDataMemoryFree `json:"free" yaml:"free"`
	// AllocMem
	Allocated int64 `json:"allocated" yaml:"allocated"`
}

// SinfoDataMemoryFree is the memory.free object of SinfoData.
type SinfoDataMemoryFree struct {
	// Minimum FreeMem
	Minimum Uint64NoVal `json:"minimum" yaml:"minimum"`
	// Maximum FreeMem
	Maximum Uint64NoVal `json:"maximum" yaml:"maximum"`
}

// SinfoDataFeatures is the features object of SinfoData.
type SinfoDataFeatures struct {
	// Features available
	Total string `json:"total" yaml:"total"`
	// Features currently active
	Active string `json:"active" yaml:"active"`
}

// SinfoDataGres is the gres object of SinfoData.
type SinfoDataGres struct {
	// Gres
	Total string `json:"total" yaml:"total"`
	// GresUsed
	Used string `json:"used" yaml:"used"`
}

// SinfoDataReason is the reason object of SinfoData.
type SinfoDataReason struct {
	// Why a node is unavailable
	Description string `json:"description" yaml:"description"`
	// When the reason was set (UNIX timestamp)
	Time int64 `json:"time" yaml:"time"`
	// User that set the reason
	User string `json:"user" yaml:"user"`
}
