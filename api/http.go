package api

import (
	"encoding/json"
	"fmt"
	"math"
)

// HTTP API, version 1. Every response body is JSON. Errors are returned with a
// 4xx/5xx status and an ErrorResponse body. Reads accept blocking-query
// parameters: ?index=N&wait=30s returns as soon as the state's raft index is
// greater than N, or after wait with the unchanged state. Every read response
// carries the index it reflects in the IndexHeader header and in its Index field.
// Every GET also accepts ?consistent=1 (ConsistentParam): a linearizable read,
// answered by the leader.
//
//	POST /v1/jobs                      SubmitRequest -> SubmitResponse
//	GET  /v1/jobs                      ?all=1 (include finished), ?id=1,2 (a job array's id: the whole array), ?user=u, ?index, ?wait -> JobsResponse
//	GET  /v1/jobs/{id}                 -> Job
//	POST /v1/jobs/{id}/cancel          CancelRequest -> ActionResponse
//	POST /v1/jobs/{id}/hold            -> ActionResponse
//	POST /v1/jobs/{id}/release         -> ActionResponse
//	POST /v1/jobs/{id}/requeue         -> ActionResponse (on a job already being requeued or preempted: ends its grace time, see KillRequest.EndGrace)
//	POST /v1/jobs/{id}/end-grace       -> ActionResponse (the job being stopped has saved its checkpoint; 409 when it is not being stopped)
//	POST /v1/jobs/{id}/checkpoint      -> ActionResponse (fairway checkpoint done: the running job completed a checkpoint, Job.LastCheckpoint; a job being stopped also has its grace time ended; 409 when it is not running)
//	GET  /v1/priorities                ?id=1,2, ?user=u -> PrioritiesResponse (sprio: pending jobs' priority factors)
//	GET  /v1/shares                    -> SharesResponse (sshare: the fair-share tree with usage)
//	POST /v1/jobs/will-run             SubmitRequest (one job) -> WillRunResponse (sbatch --test-only; commits nothing)
//	GET  /v1/nodes                     ?index, ?wait -> NodesResponse (the leader's: with free memory and load)
//	POST /v1/nodes/register            RegisterNodeRequest -> RegisterNodeResponse
//	POST /v1/nodes/{name}/heartbeat    HeartbeatRequest -> ActionResponse
//	POST /v1/nodes/{name}/events       EventsRequest -> ActionResponse
//	GET  /v1/nodes/{name}/jobs         ?index, ?wait -> JobsResponse (jobs allocated on the node, incl. those being killed)
//	GET  /v1/partitions                -> PartitionsResponse
//	GET  /v1/config                    -> ClusterConfig
//	PUT  /v1/config                    ClusterConfig -> ActionResponse
//	GET  /v1/status                    -> StatusResponse
//	GET  /v1/cluster                   -> ClusterResponse (the controllers: role, term, last contact, applied index)
//	POST /v1/cluster/join              {"id","raft_addr"} -> ActionResponse (the controller itself, or an administrator)
//	POST /v1/cluster/remove            RemoveControllerRequest -> ActionResponse (administrators; refused when it would break quorum)
//	GET  /metrics                      Prometheus text

// In the job paths, {id} is a job ID ("12") or a task of a job array
// ("12_3"). Cancelling an array's job ID cancels every task of the array,
// pending or running; cancelling "12_3" cancels that task only (a task that
// has not started is split off and ends CANCELLED). The other actions on
// "12_3" act on the task's own job.

// IndexHeader carries the raft index a read reflects.
const IndexHeader = "X-Fairway-Index"

// ErrorResponse is the body of every failed request.
type ErrorResponse struct {
	Error string `json:"error"`
	// Field names the offending input field for validation errors, e.g. "--mem".
	Field string `json:"field,omitempty"`
}

// SubmitRequest submits one or more jobs atomically: either all are accepted or none.
type SubmitRequest struct {
	Jobs []JobSpec `json:"jobs"`
	// Key, when set, makes the submission idempotent: the client sends the
	// same key when it retries a submission whose answer it did not get,
	// and the controller returns the jobs of the first one instead of
	// creating new ones (for an hour, and only to the same user). At most
	// 128 printable characters; clients use a random 128-bit hex string.
	Key string `json:"key,omitempty"`
}

// SubmitResponse lists the IDs of the accepted jobs, in request order.
type SubmitResponse struct {
	IDs   []JobID `json:"ids"`
	Index uint64  `json:"index"`
}

// JobsResponse is a list of jobs at a raft index.
type JobsResponse struct {
	Index uint64 `json:"index"`
	Now   int64  `json:"now"` // the controller's clock, unix seconds
	Jobs  []*Job `json:"jobs"`
}

// NodesResponse is a list of nodes at a raft index.
type NodesResponse struct {
	Index uint64  `json:"index"`
	Now   int64   `json:"now"`
	Nodes []*Node `json:"nodes"`
}

// PartitionsResponse lists partitions with their nodes.
type PartitionsResponse struct {
	Index      uint64      `json:"index"`
	Partitions []Partition `json:"partitions"`
}

// CancelRequest cancels a job, or with Signal set only signals it (scancel --signal).
type CancelRequest struct {
	Signal string `json:"signal,omitempty"`
	// JobOnly cancels the job named and not the rest of its job array: for
	// an array job ID, the tasks that have not started but none that has
	// (scancel with filters cancels the jobs that match, one by one).
	JobOnly bool `json:"job_only,omitempty"`
}

// ActionResponse acknowledges a committed change.
type ActionResponse struct {
	Index uint64 `json:"index"`
}

// RegisterNodeRequest is sent by a node daemon when it starts and whenever its
// resources change. Running lists the job runs the node still has (reattached
// containers and processes), so the controller can reconcile.
type RegisterNodeRequest struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	// StepAddr is host:port of the node daemon's step server (srun's
	// tasks; HTTPS with the node's certificate when it has one).
	StepAddr   string        `json:"step_addr,omitempty"`
	Resources  NodeResources `json:"resources"`
	Partitions []string      `json:"partitions"`
	BootTime   int64         `json:"boot_time"`
}

// RegisterNodeResponse returns the node as the controller stored it.
type RegisterNodeResponse struct {
	Index uint64 `json:"index"`
	Node  Node   `json:"node"`
}

// HeartbeatRequest tells the controller the node is alive.
type HeartbeatRequest struct {
	// Running lists the job runs alive on the node (for reconciliation).
	Running []JobRunRef `json:"running,omitempty"`
	// FreeMemMB is the node's available memory in MB (MemAvailable of
	// /proc/meminfo) and CPULoad its 5-minute load average
	// (/proc/loadavg, as slurmd's CPULoad); nil when the node could not read them. The
	// leader keeps the latest in memory only (never in raft) and serves
	// them in GET /v1/nodes (Node.FreeMemMB, Node.CPULoad).
	FreeMemMB *int64   `json:"free_mem_mb,omitempty"`
	CPULoad   *float64 `json:"cpu_load,omitempty"`
}

// HeartbeatResponse acknowledges a heartbeat: the leader, having checked with
// a quorum that it still leads, grants the node a lease of LeaseSecs counted
// from when the node sent the heartbeat. A node that cannot renew its lease
// in that time stops its jobs: checkpoint signal, FenceGraceSecs, kill.
type HeartbeatResponse struct {
	Index          uint64 `json:"index"`
	LeaseSecs      int64  `json:"lease_secs"`
	FenceGraceSecs int64  `json:"fence_grace_secs"`
}

// JobRunRef names one run of a job.
type JobRunRef struct {
	JobID JobID `json:"job_id"`
	Run   int   `json:"run"`
}

// EventsRequest carries job events from a node daemon.
type EventsRequest struct {
	Events []JobEvent `json:"events"`
}

// StatusResponse describes the controller answering.
type StatusResponse struct {
	ID         string `json:"id"`
	Leader     bool   `json:"leader"`
	LeaderID   string `json:"leader_id"`
	LeaderAddr string `json:"leader_addr"` // HTTP address of the leader
	Index      uint64 `json:"index"`
	Now        int64  `json:"now"`
	// Role is this controller's raft role: leader, follower, candidate.
	Role string `json:"role,omitempty"`
	// Term is its current raft term.
	Term uint64 `json:"term,omitempty"`
	// LastContactMS is the time since it last heard from a leader, in
	// milliseconds: 0 on the leader, -1 never.
	LastContactMS int64 `json:"last_contact_ms"`
	// CommitIndex is its raft commit index; a restarting follower asks the
	// leader's before it serves reads.
	CommitIndex uint64 `json:"commit_index,omitempty"`
}

// ControllerInfo is one controller of the raft configuration
// (GET /v1/cluster).
type ControllerInfo struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	// Role is leader, follower, candidate, or unknown when the controller
	// did not answer.
	Role string `json:"role"`
	// Suffrage is voter, nonvoter or staging.
	Suffrage string `json:"suffrage"`
	// Term is the controller's raft term as it reports it (0: unknown).
	Term uint64 `json:"term,omitempty"`
	// LastContactMS is the time since the controller last heard from the
	// leader, in milliseconds, as it reports it (0 for the leader); for a
	// controller that does not answer, the leader's view (time since its
	// last successful heartbeat); -1 when unknown or never.
	LastContactMS int64 `json:"last_contact_ms"`
	// Applied is the raft index of the last command the controller applied,
	// as it reports it.
	Applied uint64 `json:"applied_index"`
	// Unreachable is true when the leader's heartbeats to it fail.
	Unreachable bool `json:"unreachable,omitempty"`
	// Error says why the controller's own view is missing (it did not
	// answer, or is catching up).
	Error string `json:"error,omitempty"`
}

// ClusterResponse lists the controllers (GET /v1/cluster), in the raft
// configuration's order.
type ClusterResponse struct {
	Controllers []ControllerInfo `json:"controllers"`
	Index       uint64           `json:"index"`
}

// RemoveControllerRequest asks the leader to remove a controller from the
// raft configuration (POST /v1/cluster/remove).
type RemoveControllerRequest struct {
	ID string `json:"id"`
}

// ConsistentParam is the query parameter that makes a GET linearizable
// (?consistent=1): the leader confirms its leadership with a quorum and
// answers from a state that has applied everything committed before the
// request arrived; a follower forwards such reads to the leader.
const ConsistentParam = "consistent"

// PriorityRow is one pending job's priority as sprio shows it: each factor
// already multiplied by its weight, and their sum.
type PriorityRow struct {
	JobID     JobID   `json:"job_id"`
	Partition string  `json:"partition"`
	User      string  `json:"user"`
	Account   string  `json:"account"`
	QOSName   string  `json:"qos_name,omitempty"`
	Priority  float64 `json:"priority"`
	Age       float64 `json:"age"`
	FairShare float64 `json:"fair_share"`
	JobSize   float64 `json:"job_size"`
	// PartitionF is the weighted partition factor.
	PartitionF float64 `json:"partition_factor"`
	QOS        float64 `json:"qos"`
	Nice       float64 `json:"nice"`
	// TRES holds the weighted per-resource factors by resource name.
	TRES map[string]float64 `json:"tres,omitempty"`
}

// PrioritiesResponse lists the pending jobs' priority factors (GET
// /v1/priorities) with the weights they were computed with.
type PrioritiesResponse struct {
	Index   uint64          `json:"index"`
	Now     int64           `json:"now"`
	Weights PriorityWeights `json:"weights"`
	Rows    []PriorityRow   `json:"rows"`
}

// ShareRow is one association of the fair-share tree as sshare shows it:
// an account (User empty) or a user of an account.
type ShareRow struct {
	Account string `json:"account"`
	User    string `json:"user,omitempty"`
	// Depth is the row's depth in the tree: 0 for root, 1 for root's
	// children and users, and so on.
	Depth     int `json:"depth"`
	RawShares int `json:"raw_shares"`
	// SharesParent is FairShare=parent: the row has no shares of its own.
	SharesParent bool    `json:"shares_parent,omitempty"`
	NormShares   float64 `json:"norm_shares"`
	RawUsage     float64 `json:"raw_usage"`
	NormUsage    float64 `json:"norm_usage"`
	EffectvUsage float64 `json:"effectv_usage"`
	FairShare    float64 `json:"fair_share"`
	LevelFS      float64 `json:"level_fs"`
}

// SharesResponse is the fair-share tree in tree order (GET /v1/shares).
type SharesResponse struct {
	Index uint64 `json:"index"`
	Now   int64  `json:"now"`
	// Algorithm is FairShareFairTree or FairShareClassic.
	Algorithm string     `json:"algorithm"`
	UsageAt   int64      `json:"usage_at"` // when usage was last accrued (unix seconds)
	Rows      []ShareRow `json:"rows"`
}

// MarshalJSON implements json.Marshaler: an infinite LevelFS (an association
// with shares and no usage) is written as the string "inf".
func (r ShareRow) MarshalJSON() ([]byte, error) {
	type plain ShareRow
	out := struct {
		plain
		LevelFS any `json:"level_fs"`
	}{plain(r), r.LevelFS}
	if math.IsInf(r.LevelFS, 1) {
		out.LevelFS = "inf"
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler, reading what MarshalJSON writes.
func (r *ShareRow) UnmarshalJSON(data []byte) error {
	type plain ShareRow
	var in struct {
		plain
		LevelFS json.RawMessage `json:"level_fs"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("decode share row: %w", err)
	}
	*r = ShareRow(in.plain)
	switch s := string(in.LevelFS); s {
	case "", "null":
	case `"inf"`:
		r.LevelFS = math.Inf(1)
	default:
		if err := json.Unmarshal(in.LevelFS, &r.LevelFS); err != nil {
			return fmt.Errorf("decode share row level_fs %s: %w", s, err)
		}
	}
	return nil
}
