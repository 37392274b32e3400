package raftstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Command is a state change committed through raft. It is implemented only by
// the command structs of this package. A command carries everything its
// apply needs (the leader's clock, IDs chosen by the leader), so applying it
// is a pure function of the state and the command.
type Command interface {
	commandType() commandType
}

// commandType is the first byte of every raft log entry this package writes
// (without flagIgnoreUnknown); the rest is the command as JSON. The values
// are stored in raft logs and snapshots of running clusters: never renumber,
// only append, and stay below flagIgnoreUnknown.
type commandType uint8

// flagIgnoreUnknown is a bit of the type byte (Consul's
// IgnoreUnknownTypeFlag): a replica that does not know the command type may
// skip the entry instead of halting. Only commands whose loss cannot make
// replicas disagree on anything that matters may set it (see
// ignorableCommand); every other unknown type halts the replica.
const flagIgnoreUnknown byte = 0x80

// ignorableCommand is implemented by commands that older replicas may skip
// (their entries carry flagIgnoreUnknown): RecordEstimates.
type ignorableCommand interface {
	Command
	ignorableIfUnknown() bool
}

const (
	cmdSubmitJobs        commandType = 1
	cmdCancelJob         commandType = 2
	cmdHoldJob           commandType = 3
	cmdReleaseJob        commandType = 4
	cmdRequeueJob        commandType = 5
	cmdKillJob           commandType = 6
	cmdApplyPlan         commandType = 7
	cmdJobEvents         commandType = 8
	cmdRegisterNode      commandType = 9
	cmdMarkNodeDown      commandType = 10
	cmdSetConfig         commandType = 11
	cmdSetControllerAddr commandType = 12
	cmdExpireJobs        commandType = 13
	cmdAccrueUsage       commandType = 14
	cmdEndGrace          commandType = 15
	cmdSignalJob         commandType = 16
	cmdCreateStep        commandType = 17
	cmdReportStep        commandType = 18
	cmdRecordCheckpoint  commandType = 19
	// RecordEstimates (20) is in apply_estimates.go; 21-23 are
	// sacctmgr's; UpdateJob (24), UpdateNodes (25) and UpdatePartition
	// (26) are in apply_admin.go, 27 is reserved for it; 28-29 are the
	// retry policy's.
)

// SubmitJobs adds jobs, atomically: all are accepted or none. Its result is
// the []api.JobID assigned, in Specs order. A spec naming a partition the
// configuration does not have, or with an invalid --array expression, is
// rejected with an *api.FieldError.
//
// A spec with Array set becomes one record, however many tasks it has: a
// PENDING job whose ID is the array job ID (ArrayJobID = ID, ArrayTaskID =
// -1), with the task indices in ArrayPending and the %N throttle in
// ArrayMaxRun. Tasks become jobs of their own only when a plan starts them
// (see ApplyPlan).
type SubmitJobs struct {
	Now   int64         `json:"now"` // submit time, unix seconds
	Specs []api.JobSpec `json:"specs"`
	// Key, when set, is the submission's idempotency key: a SubmitJobs with
	// a key already applied creates nothing and returns the jobs the first
	// one created.
	Key string `json:"key,omitempty"`
}

// CancelJob cancels a job: a pending job ends CANCELLED at once, a running one
// is asked to stop (Kill with State CANCELLED). Cancelling a finished job is an
// ErrConflict, an unknown one ErrNotFound.
//
// For a job array, ID is the array job ID. Without Task the whole array is
// cancelled: the tasks that have not started (the record ends CANCELLED)
// and every task that is pending or running. With Task only that task is:
// a task that has not started is split off the record into a job of its
// own (a new ID) that ends CANCELLED at once. With JobOnly the job ID is
// cancelled alone: for an array job ID, its record (the tasks that have not
// started) but no task that has.
type CancelJob struct {
	Now     int64     `json:"now"`
	ID      api.JobID `json:"id"`
	Task    *int      `json:"task,omitempty"`
	JobOnly bool      `json:"job_only,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// UID is the uid of the user who cancels (sacct's CANCELLED by
	// UID); absent in commands from controllers before it existed.
	UID *int `json:"uid,omitempty"`
}

// HoldJob holds a pending job (reason JobHeldUser); the scheduler skips it.
type HoldJob struct {
	ID api.JobID `json:"id"`
}

// ReleaseJob releases a held pending job.
type ReleaseJob struct {
	ID api.JobID `json:"id"`
}

// RequeueJob puts a job back to PENDING: a running job is asked to stop
// (Kill with Requeue), a finished one is requeued at once (as Slurm's
// scontrol requeue does), a pending one is left as it is. A running job
// already being requeued (a preemption with requeue, or an earlier
// requeue) has its grace time ended (Kill.EndGrace) and its checkpoint
// recorded (Job.LastCheckpoint), as EndGrace does: a job that calls
// scontrol requeue on itself during its grace time has saved its
// checkpoint. A job being stopped for good (cancelled, timed
// out, preempted without requeue) is an ErrConflict.
type RequeueJob struct {
	Now int64     `json:"now"`
	ID  api.JobID `json:"id"`
}

// EndGrace ends the grace time of a job being stopped (fairway checkpoint
// done): it sets Kill.EndGrace, and the node daemon goes on with SIGTERM and
// SIGKILL at once; the job has saved its checkpoint, so Job.LastCheckpoint
// becomes Now as well. It is an ErrConflict when the job is not RUNNING
// with a kill request, and does nothing when the grace time was already
// ended. RequeueJob on a job already being requeued (or preempted with
// requeue) does the same. RecordCheckpoint does it too, and also records a
// checkpoint outside a grace time.
type EndGrace struct {
	Now int64     `json:"now"`
	ID  api.JobID `json:"id"`
}

// RecordCheckpoint records that a running job completed a checkpoint
// (fairway checkpoint done): Job.LastCheckpoint becomes Now, the leader's
// clock, so a preemption of the job loses only the work since then (see
// planapply.LostGPUSecs). When the job is being stopped (a kill request:
// preempted, requeued, cancelled, timed out) its grace time ends too, as
// EndGrace does. A job that does not exist is an ErrNotFound; one that is
// not RUNNING (pending, finished) an ErrConflict naming its state.
type RecordCheckpoint struct {
	Now int64     `json:"now"`
	ID  api.JobID `json:"id"`
}

// SignalJob asks the node daemon to send Signal to every process of a running
// job without stopping it (scancel --signal): it raises Job.SignalReq.Seq.
// Not found is an ErrNotFound; a job that is not RUNNING an ErrConflict.
type SignalJob struct {
	Now    int64     `json:"now"`
	ID     api.JobID `json:"id"`
	Signal string    `json:"signal"`
}

// KillJob asks a running job to stop for the reason in Kill (time limit,
// preemption). It does nothing when the job is already being stopped. A
// preemption (State PREEMPTED) that names no signal or grace time gets the
// job's checkpoint signal and its QOS's (else its partition's) grace time;
// one that names the job it makes room for (For) counts in the preemption
// totals, as a plan's preemption (planapply.PreemptionReason).
type KillJob struct {
	Now  int64           `json:"now"`
	ID   api.JobID       `json:"id"`
	Kill api.KillRequest `json:"kill"`
}

// ApplyPlan commits a scheduler plan after verifying it against the current
// state. Its result is the []api.JobID of the jobs the applied starts ran; a
// start that no longer fits is dropped.
//
// A start with ArrayTaskID names a job array's record and one of its
// pending tasks: the task is removed from the record and split off into a
// job of its own (the next job ID; ArrayJobID the record's ID; the spec
// copied with Array cleared; the submit time kept), which starts. When the
// last pending task starts, the record itself becomes that task, as in
// Slurm, so the array job ID stays a job. A start beyond the array's %N
// throttle is dropped.
//
// A preemption asks the job to stop with its checkpoint signal and the
// grace time and preempt mode of its QOS, else of its partition: requeue
// (the default; PENDING again when it stops, if the job may be requeued),
// cancel (it ends PREEMPTED) or off (the preemption is dropped).
type ApplyPlan struct {
	Plan api.Plan `json:"plan"`
}

// JobEvents records events reported by a node daemon. Events that do not
// concern the current run of a running job on this node are ignored, so a
// node may resend them safely. A run that ends is charged its fair-share
// usage since the last accrual (see AccrueUsage).
type JobEvents struct {
	Now    int64          `json:"now"`
	Node   string         `json:"node"` // the reporting node; empty: each event's Node
	Events []api.JobEvent `json:"events"`
}

// RegisterNode inserts or updates a node. A DOWN node becomes usable again,
// unless an administrator set it DOWN (UpdateNodes); a drained node stays
// drained.
type RegisterNode struct {
	Now int64                   `json:"now"`
	Req api.RegisterNodeRequest `json:"req"`
}

// MarkNodeDown marks a node DOWN and ends or requeues the jobs running on it.
// Its result is the []api.JobID of the jobs affected.
type MarkNodeDown struct {
	Now    int64  `json:"now"`
	Node   string `json:"node"`
	Reason string `json:"reason"`
	// FencedBy, when set, is the latest time (unix seconds, at most Now)
	// the node's runs can have been alive: its fencing deadline after its
	// last acknowledged heartbeat. The runs are recorded fenced, ending
	// then, until the node reports when they really stopped.
	FencedBy int64 `json:"fenced_by,omitempty"`
}

// CreateStep records a new step of a running job (srun inside an
// allocation) in the job's current run (JobRun.Steps), RUNNING from Now.
// Its result (ApplyResult.StepID) is the step's ID: the run's next, 0, 1,
// ... A job that does not exist is an ErrNotFound, one that is not RUNNING
// an ErrConflict; a request that does not fit the allocation (nodes not in
// it or named twice, task counts, CPUs or GPUs per task beyond what the job
// holds on a node) is an *api.FieldError naming the field.
type CreateStep struct {
	Now   int64           `json:"now"`
	JobID api.JobID       `json:"job_id"`
	Req   api.StepRequest `json:"req"`
}

// ReportStep records a node daemon's report of its part of a step of the
// job's current (or, once it ended, last) run: the node is added to
// Step.Reported, its usage merged into Step.Usage (CPU times, tasks and
// GPUs summed, Max* the largest, AveRSS weighted by tasks), the highest
// exit code and a signal kept. When every node of the step has reported,
// the step ends: COMPLETED for exit 0 without a signal, CANCELLED when a
// signal killed it while the job was being stopped, FAILED otherwise. A
// report for an unknown step, from a node not in the step, or a second one
// from the same node changes nothing. A step that ended with its run
// (CANCELLED before all its nodes reported) still takes the late reports'
// usage, and its state once every node has reported.
type ReportStep struct {
	Now    int64          `json:"now"`
	Node   string         `json:"node"`
	Report api.StepReport `json:"report"`
}

// SetConfig replaces the cluster configuration.
type SetConfig struct {
	Config api.ClusterConfig `json:"config"`
}

// SetControllerAddr records the HTTP address of a controller, so that
// followers can forward writes to the leader.
type SetControllerAddr struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
}

// ExpireJobs deletes finished jobs that ended before Before (unix seconds).
// Its result is the number of jobs deleted (int).
type ExpireJobs struct {
	Now    int64 `json:"now"`
	Before int64 `json:"before"`
}

// AccrueUsage brings the fair-share usage up to Now: every leaf's usage
// decays over the time since the last accrual (the configured half-life,
// default 7 days, unless UsageNoDecay), all usage is cleared when a
// UsageResetSecs boundary passed since, and every running job is charged its
// billing rate (fairshare.Billing) for the seconds it ran since the last
// accrual. A run that ends between accruals is charged when it ends, so no
// usage is lost. A Now not after the last accrual changes nothing.
//
// Formula is the version of the usage formulas (decay and billing) the
// leader asked for; apply uses exactly that version's code, so that a
// controller upgrade that changes a formula cannot make replicas disagree.
// 0 (entries written before formulas were versioned) means version 1. A
// version this controller does not know halts the replica.
type AccrueUsage struct {
	Now     int64 `json:"now"`
	Formula int   `json:"formula,omitempty"`
}

func (SubmitJobs) commandType() commandType        { return cmdSubmitJobs }
func (CancelJob) commandType() commandType         { return cmdCancelJob }
func (HoldJob) commandType() commandType           { return cmdHoldJob }
func (ReleaseJob) commandType() commandType        { return cmdReleaseJob }
func (RequeueJob) commandType() commandType        { return cmdRequeueJob }
func (KillJob) commandType() commandType           { return cmdKillJob }
func (ApplyPlan) commandType() commandType         { return cmdApplyPlan }
func (JobEvents) commandType() commandType         { return cmdJobEvents }
func (RegisterNode) commandType() commandType      { return cmdRegisterNode }
func (MarkNodeDown) commandType() commandType      { return cmdMarkNodeDown }
func (SetConfig) commandType() commandType         { return cmdSetConfig }
func (SetControllerAddr) commandType() commandType { return cmdSetControllerAddr }
func (ExpireJobs) commandType() commandType        { return cmdExpireJobs }
func (AccrueUsage) commandType() commandType       { return cmdAccrueUsage }
func (EndGrace) commandType() commandType          { return cmdEndGrace }
func (SignalJob) commandType() commandType         { return cmdSignalJob }
func (CreateStep) commandType() commandType        { return cmdCreateStep }
func (ReportStep) commandType() commandType        { return cmdReportStep }
func (RecordCheckpoint) commandType() commandType  { return cmdRecordCheckpoint }

// encodeCommand writes a command as its type byte followed by its JSON.
func encodeCommand(cmd Command) ([]byte, error) {
	if cmd == nil {
		return nil, fmt.Errorf("encode command: nil command")
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command %T: %w", cmd, err)
	}
	t := byte(cmd.commandType())
	if t&flagIgnoreUnknown != 0 {
		return nil, fmt.Errorf("encode command %T: type %d collides with the ignore-unknown flag", cmd, t)
	}
	if ic, ok := cmd.(ignorableCommand); ok && ic.ignorableIfUnknown() {
		t |= flagIgnoreUnknown
	}
	out := make([]byte, 0, len(body)+1)
	out = append(out, t)
	return append(out, body...), nil
}

// newCommand returns an empty command of the given type, or nil.
func newCommand(t commandType) Command {
	switch t {
	case cmdSubmitJobs:
		return &SubmitJobs{}
	case cmdCancelJob:
		return &CancelJob{}
	case cmdHoldJob:
		return &HoldJob{}
	case cmdReleaseJob:
		return &ReleaseJob{}
	case cmdRequeueJob:
		return &RequeueJob{}
	case cmdKillJob:
		return &KillJob{}
	case cmdApplyPlan:
		return &ApplyPlan{}
	case cmdJobEvents:
		return &JobEvents{}
	case cmdRegisterNode:
		return &RegisterNode{}
	case cmdMarkNodeDown:
		return &MarkNodeDown{}
	case cmdSetConfig:
		return &SetConfig{}
	case cmdSetControllerAddr:
		return &SetControllerAddr{}
	case cmdExpireJobs:
		return &ExpireJobs{}
	case cmdAccrueUsage:
		return &AccrueUsage{}
	case cmdEndGrace:
		return &EndGrace{}
	case cmdSignalJob:
		return &SignalJob{}
	case cmdCreateStep:
		return &CreateStep{}
	case cmdReportStep:
		return &ReportStep{}
	case cmdRecordCheckpoint:
		return &RecordCheckpoint{}
	case cmdRecordEstimates:
		return &RecordEstimates{}
	case cmdUpdateJob:
		return &UpdateJob{}
	case cmdUpdateNodes:
		return &UpdateNodes{}
	case cmdUpdatePartition:
		return &UpdatePartition{}
	case cmdAddAssociations:
		return &AddAssociations{}
	case cmdModifyAssociations:
		return &ModifyAssociations{}
	case cmdDeleteAssociations:
		return &DeleteAssociations{}
	}
	return nil
}

// unknownCommandError is the error of a log entry whose command type this
// controller does not know.
type unknownCommandError struct {
	Type      commandType // without flagIgnoreUnknown
	Ignorable bool        // the entry carries flagIgnoreUnknown
}

// Error implements error.
func (e *unknownCommandError) Error() string {
	if e.Ignorable {
		return fmt.Sprintf("unknown command type %d (marked ignorable)", e.Type)
	}
	return fmt.Sprintf("unknown command type %d: this controller is older than the one that wrote the entry", e.Type)
}

// decodeCommand reads a command written by encodeCommand. The result is a
// pointer to the command struct. An unknown type is an
// *unknownCommandError.
func decodeCommand(data []byte) (Command, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("decode command: empty log entry")
	}
	t := commandType(data[0] &^ flagIgnoreUnknown)
	cmd := newCommand(t)
	if cmd == nil {
		return nil, fmt.Errorf("decode command: %w", &unknownCommandError{Type: t, Ignorable: data[0]&flagIgnoreUnknown != 0})
	}
	if err := json.Unmarshal(data[1:], cmd); err != nil {
		return nil, fmt.Errorf("decode command %s (type %d): %w", commandName(cmd), t, err)
	}
	return cmd, nil
}

// commandName is a command's type name without the package, such as
// "SubmitJobs".
func commandName(cmd Command) string {
	name := fmt.Sprintf("%T", cmd)
	return name[strings.LastIndexByte(name, '.')+1:]
}
