package api

// HTTP API, version 1. Every response body is JSON. Errors are returned with a
// 4xx/5xx status and an ErrorResponse body. Reads accept blocking-query
// parameters: ?index=N&wait=30s returns as soon as the state's raft index is
// greater than N, or after wait with the unchanged state. Every read response
// carries the index it reflects in the IndexHeader header and in its Index field.
//
//	POST /v1/jobs                      SubmitRequest -> SubmitResponse
//	GET  /v1/jobs                      ?all=1 (include finished), ?id=1,2, ?user=u, ?index, ?wait -> JobsResponse
//	GET  /v1/jobs/{id}                 -> Job
//	POST /v1/jobs/{id}/cancel          CancelRequest -> ActionResponse
//	POST /v1/jobs/{id}/hold            -> ActionResponse
//	POST /v1/jobs/{id}/release         -> ActionResponse
//	POST /v1/jobs/{id}/requeue         -> ActionResponse
//	GET  /v1/nodes                     ?index, ?wait -> NodesResponse
//	POST /v1/nodes/register            RegisterNodeRequest -> RegisterNodeResponse
//	POST /v1/nodes/{name}/heartbeat    HeartbeatRequest -> ActionResponse
//	POST /v1/nodes/{name}/events       EventsRequest -> ActionResponse
//	GET  /v1/nodes/{name}/jobs         ?index, ?wait -> JobsResponse (jobs allocated on the node, incl. those being killed)
//	GET  /v1/partitions                -> PartitionsResponse
//	GET  /v1/config                    -> ClusterConfig
//	PUT  /v1/config                    ClusterConfig -> ActionResponse
//	GET  /v1/status                    -> StatusResponse
//	GET  /metrics                      Prometheus text

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
}

// ActionResponse acknowledges a committed change.
type ActionResponse struct {
	Index uint64 `json:"index"`
}

// RegisterNodeRequest is sent by a node daemon when it starts and whenever its
// resources change. Running lists the job runs the node still has (reattached
// containers and processes), so the controller can reconcile.
type RegisterNodeRequest struct {
	Name       string        `json:"name"`
	Addr       string        `json:"addr"`
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
}
