// Package raftstore is the controllers' replicated state: hashicorp/raft
// (log and stable store in raft-boltdb, snapshots in files, TCP transport)
// driving a deterministic state machine over a go-memdb state store.
//
// # Commands
//
// Every change is a Command (SubmitJobs, CancelJob, ApplyPlan, JobEvents,
// RegisterNode, ...) committed with Store.Apply on the leader. A log entry
// is one type byte followed by the command as JSON; the state machine
// decodes it and dispatches by message type to one handler, as Nomad's FSM
// does. Handlers are pure functions of the state and the command: the
// leader's clock (Now) and anything else that varies come inside the
// command, job IDs come from a counter in the state, and nothing reads the
// clock, the network or a random source. Each command runs in one memdb
// write transaction, committed together with the raft index it reflects, so
// a command either applies fully or — when it fails validation, returning
// an *api.FieldError or an error matching ErrNotFound or ErrConflict to the
// caller — changes nothing but the applied index.
//
// Stored objects are never modified: handlers copy, change and re-insert
// (copy-on-write), so a State taken earlier — a memdb read transaction plus
// the index it reflects — stays a consistent, unchanging view as long as the
// scheduler or an HTTP handler holds it. Objects State returns are copies.
//
// # Plans: verify, then commit
//
// The scheduler computes a Plan from a State that may be stale by the time
// the plan commits (jobs ended, nodes went down, another event took the
// CPUs). As in Nomad's plan_apply, the plan is therefore verified at apply
// time against the current state: each start must name a pending, unheld
// job, registered nodes that are up, undrained and in the start's partition,
// and an allocation that fits what those nodes have free (resources minus
// the running jobs' allocations, GPUs by index, healthy and unused, counting
// the plan's earlier starts). A start that does not verify is dropped and
// logged; the rest of the plan applies, and the scheduler's next pass sees
// the dropped job still pending. Preemptions only ask jobs to stop (Kill);
// their resources free up when the node reports the exit.
//
// # Job lifecycle
//
// PENDING -> RUNNING (a plan start; a JobRun is appended with Run equal to
// the restart count) -> a final state, or back to PENDING with the restart
// count raised. Node daemons report events (started, exited, launch_failed,
// lost) with JobEvents; an event counts only for the job's current run, on a
// running job, from a node of its allocation, so events are idempotent and
// may be resent. A running job is stopped by setting Kill; when it exits,
// Kill decides the outcome (requeue, or the kill's final state).
//
// # Job arrays
//
// A job array is one record until its tasks start: a PENDING job whose ID is
// the array job ID, with the tasks not started yet in ArrayPending (a
// compact range list in snapshots) and the %N throttle in ArrayMaxRun. A
// plan start naming a task splits it off into a job of its own (the next job
// ID, ArrayJobID pointing at the record) and starts it, unless the array
// already runs ArrayMaxRun tasks. The last task to start takes over the
// record itself, as Slurm does, so the array job ID always names a job.
// Cancelling the array job ID cancels the record and every task; cancelling
// ARRAYID_TASK one task (CancelJob.Task).
//
// # Fair-share usage
//
// The state holds each fair-share leaf's usage (api.AssocKey(account,
// user)): decayed, billing-weighted resource-seconds, as of UsageAt. The
// leader commits AccrueUsage periodically: usage decays over the time since
// UsageAt (half-life from the configuration; a reset period clears it) and
// every running job is charged its fairshare.Billing rate for the seconds
// since UsageAt. A run that ends in between is charged when it ends
// (JobEvents, MarkNodeDown), so nothing is lost. Float sums run in job ID
// order, so every replica computes the same bits, and snapshots keep them
// exactly (JSON floats round-trip).
//
// # Leadership
//
// On becoming leader a Store runs a raft barrier (so its state reflects all
// earlier commits), records its HTTP address in the replicated controllers
// table (LeaderHTTPAddr on followers reads it to forward writes), and then
// reports true on LeaderCh.
//
// Heartbeats are not commands: the leader keeps them in memory and commits
// only the DOWN transition (MarkNodeDown).
package raftstore
