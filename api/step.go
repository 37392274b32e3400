package api

// Job steps: what srun starts inside an allocation, on some or all of its
// nodes. The controller keeps a replicated record of each step (Step); srun
// creates it (POST /v1/jobs/{id}/steps, StepRequest), then asks the step
// server of each node in the step (Node.StepAddr) to launch that node's
// tasks (POST /v1/steps on the node, NodeStepRequest), and the node streams
// the tasks' output and exit codes back (StepFrame, one JSON object per
// line). Each node daemon reports its part's end and usage to the
// controller (POST /v1/nodes/{name}/steps, StepReport); the step ends when
// every node has reported.

// StepBatch is the step ID of a job's batch script in accounting (sacct's
// ID.batch row); srun's steps are numbered 0, 1, ... per job.
const StepBatch = -1

// StepRequest creates a step of a running job (srun in an allocation).
type StepRequest struct {
	Name string `json:"name,omitempty"`
	// Nodes are the step's nodes, a subset of the job's allocation, in
	// node-ID order (SLURM_NODEID); TasksPerNode[i] tasks run on Nodes[i].
	Nodes        []string `json:"nodes"`
	TasksPerNode []int    `json:"tasks_per_node"`
	// Distribution is how ranks are laid out: "block" (default) or
	// "cyclic".
	Distribution string   `json:"distribution,omitempty"`
	CPUsPerTask  int      `json:"cpus_per_task,omitempty"`
	GPUsPerTask  int      `json:"gpus_per_task,omitempty"`
	GPUsPerNode  int      `json:"gpus_per_node,omitempty"`
	Command      []string `json:"command"`
}

// Step is a job step as the controller records it.
type Step struct {
	JobID        JobID    `json:"job_id"`
	ID           int      `json:"id"`
	Name         string   `json:"name,omitempty"`
	Nodes        []string `json:"nodes"`
	TasksPerNode []int    `json:"tasks_per_node"`
	Distribution string   `json:"distribution,omitempty"`
	CPUsPerTask  int      `json:"cpus_per_task,omitempty"`
	GPUsPerTask  int      `json:"gpus_per_task,omitempty"`
	GPUsPerNode  int      `json:"gpus_per_node,omitempty"`
	Command      []string `json:"command,omitempty"`
	State        JobState `json:"state"` // RUNNING, COMPLETED, FAILED, CANCELLED, NODE_FAIL
	ExitCode     int      `json:"exit_code"`
	Signal       int      `json:"signal,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	StartTime    int64    `json:"start_time"`
	EndTime      int64    `json:"end_time,omitempty"`
	// Reported lists the nodes that reported their part's end.
	Reported []string `json:"reported,omitempty"`
	// Usage sums the nodes' reports (Max* the largest).
	Usage *Usage `json:"usage,omitempty"`
}

// Usage is what a step, or a run's batch step, used, from its cgroups.
type Usage struct {
	MaxRSSBytes    int64 `json:"max_rss_bytes,omitempty"`
	AveRSSBytes    int64 `json:"ave_rss_bytes,omitempty"`
	MaxVMSizeBytes int64 `json:"max_vmsize_bytes,omitempty"`
	UserCPUMillis  int64 `json:"user_cpu_ms,omitempty"`
	SysCPUMillis   int64 `json:"sys_cpu_ms,omitempty"`
	GPUs           int   `json:"gpus,omitempty"`
	Tasks          int   `json:"tasks,omitempty"`
}

// StepReport is a node daemon's report of its part of a step: all its
// tasks ended (the highest exit code, the signal that killed a task), or
// the part failed (Reason says why).
type StepReport struct {
	JobID    JobID  `json:"job_id"`
	StepID   int    `json:"step_id"`
	ExitCode int    `json:"exit_code"`
	Signal   int    `json:"signal,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Usage    Usage  `json:"usage"`
}

// StepsResponse lists a job's steps.
type StepsResponse struct {
	Index uint64  `json:"index"`
	Steps []*Step `json:"steps"`
}

// NodeStepRequest asks a node's step server to launch the node's tasks of a
// step the controller has recorded. The node checks that the job runs on it,
// that the step exists with this node in it, and that the caller is the
// job's user (or root).
type NodeStepRequest struct {
	JobID  JobID `json:"job_id"`
	StepID int   `json:"step_id"`
	// Tasks are this node's tasks: their global ranks (SLURM_PROCID), in
	// local order (SLURM_LOCALID is the index).
	Tasks []int `json:"tasks"`
	// Env is the environment of every task (srun's, with the step's
	// SLURM_* variables); the node adds the per-task ones (SLURM_PROCID,
	// SLURM_LOCALID, SLURM_NODEID, CUDA_VISIBLE_DEVICES, ...).
	Env     map[string]string `json:"env"`
	Command []string          `json:"command"`
	Dir     string            `json:"dir,omitempty"`
	// Stdout and Stderr, when set, are per-task file patterns (%t task, %n
	// node ID, %N node name, %j job, %s step, %u user, %x name): output
	// goes there and is not streamed.
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// Pty runs the single task on a pseudo-terminal (srun --pty).
	Pty bool `json:"pty,omitempty"`
	// KillOnBadExit ends every task of the step when one exits non-zero.
	KillOnBadExit bool `json:"kill_on_bad_exit,omitempty"`
}

// StepFrame is one line of a node step server's streamed answer: output of
// a task (Stream "stdout"/"stderr", Data), a task's exit (Exit set), or the
// end of the node's part (Done, with Error when it failed).
type StepFrame struct {
	Task   int    `json:"task"` // global rank
	Stream string `json:"stream,omitempty"`
	Data   []byte `json:"data,omitempty"`
	Exit   *int   `json:"exit,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Error  string `json:"error,omitempty"`
}

// StepSignal asks a node's step server to signal a step's tasks on it
// (POST /v1/steps/{job}.{step}/signal): srun forwards Ctrl-C.
type StepSignal struct {
	Signal string `json:"signal"`
}
