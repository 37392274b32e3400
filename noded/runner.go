package noded

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// runState is where one run is in its life on this node. Only the run's
// runner changes it.
//
//	              launched / re-attached              kill request, GPU failure,
//	launching ─────────────────────────► running ───── no longer listed ─────► stopping
//	    │                                   │                                    │
//	    │ launch failed, refused            │ exits (or is lost)                 │ exits
//	    │ (killed before, bad GPU),         ▼                                    │
//	    │ nothing to re-attach to ───────► exited ◄──────────────────────────────┘
//	                                        │   │
//	                    end acknowledged    │   │ abandoned (no longer listed):
//	                    by the controller   ▼   │ no report
//	                                    reported│
//	                                        │   │
//	         cleaned up, no longer listed   ▼   ▼  cleaned up
//	                                       forgotten
//
// Inside stopping (stopPhase): a checkpoint signal starts phaseGrace, which
// ends at the grace deadline (counted from Kill.RequestedAt) or at once on
// Kill.EndGrace, with SIGTERM (phaseTerm); any other kill signal starts in
// phaseTerm; after KillGrace, SIGKILL (phaseKill), repeated every KillGrace.
type runState int

const (
	// stateLaunching: the record is written; the executor launches the run,
	// or a restarted daemon re-attaches to it.
	stateLaunching runState = iota
	// stateRunning: the run has a process.
	stateRunning
	// stateStopping: the run has a process and a stop request; its stop
	// sequence (signal, grace time, SIGTERM, SIGKILL) is under way.
	stateStopping
	// stateExited: the run's end is known and recorded, not yet committed
	// by the controller.
	stateExited
	// stateReported: the controller committed the run's end; its resources
	// are cleaned up, and the run is forgotten once no longer listed.
	stateReported
	// stateForgotten: the run's record and directory are gone; its runner
	// has returned.
	stateForgotten
)

// String names the state as the logs and the tests show it.
func (s runState) String() string {
	switch s {
	case stateLaunching:
		return "launching"
	case stateRunning:
		return "running"
	case stateStopping:
		return "stopping"
	case stateExited:
		return "exited"
	case stateReported:
		return "reported"
	case stateForgotten:
		return "forgotten"
	}
	return "unknown"
}

// desired is what the controller's latest job list says about one run: the
// job (nil when the list no longer names the run), the list's index, the
// controller's clock when it answered (Unix seconds) and this node's when
// the answer came.
type desired struct {
	job   *api.Job
	index uint64
	now   int64
	seen  time.Time
}

// launchPlan is what a new run needs to start: the executor's spec and what
// to prepare before the launch, or the event that ends the run at once
// (stopped before it started, an unhealthy GPU, a spec that cannot be built).
type launchPlan struct {
	spec    executor.Spec
	prepare func(ctx context.Context) error
	refuse  *api.JobEvent
}

// runnerDeps is what a runner uses of its daemon.
type runnerDeps struct {
	node      string
	clock     Clock
	store     *store
	outbox    *outbox
	metrics   *metrics
	killGrace time.Duration
	// lease is the node's lease: runs start only under one, and the fence
	// stops them when it runs out.
	lease *lease
	// spawn runs a goroutine the daemon waits for when it stops.
	spawn func(func())
	// changed is called after every step of the runner (gauges).
	changed func()
	// gone is called once the run is forgotten: its record is to be removed.
	gone func(*runner)
}

// runView is what the rest of the daemon may read of a run (heartbeats,
// gauges, GPU health, checkpoint sweeps), published by its runner after
// every step.
type runView struct {
	state     runState
	ended     bool // End is recorded
	hasProc   bool
	launching bool // a new run being launched (not a re-attach)
	abandoned bool
	gpus      []int
}

// alive reports whether the heartbeat names the run as running here.
func (v *runView) alive() bool {
	return !v.ended && !v.abandoned && (v.hasProc || v.launching)
}

// runner owns one run of a job on this node: its launch or re-attach,
// supervision, signals, stop sequence, event reports and cleanup. It runs
// in one goroutine (run); the daemon talks to it only through its channels
// (update, failGPU, the outbox's acknowledgements) and reads it only
// through its published view.
type runner struct {
	key  runKey
	ref  executor.Ref
	ex   executor.Executor
	deps runnerDeps
	log  *slog.Logger

	// seenIndex is the index of the first job list that named the run: a
	// list older than that says nothing about it. The reconciler's, under
	// daemon.mu.
	seenIndex uint64

	updates chan desired // latest wins; one producer (the reconciler)
	acks    chan bool    // the outbox's: true for the end, false for started
	gpuFail chan string  // a GPU of the run failed: why
	exits   chan waitResult
	view    atomic.Pointer[runView]

	// Owned by the runner's goroutine.
	rec          *record
	plan         *launchPlan // nil for a run taken over after a restart
	state        runState
	proc         executor.Process
	launchingNew bool
	kill         *api.KillRequest
	killNow      int64 // the controller's clock when the kill was seen; 0 when not from it
	stop         *stopSeq
	graceEnded   bool
	warning      *api.Signal    // the job's --signal warning, once planned
	warnSig      syscall.Signal // its signal; 0 when it has none that works
	warnAt       time.Time      // when it is due, on this node's clock
	forget       bool           // remove the run once cleaned up
	// forgetReported: the controller no longer lists the run; forget it
	// once its (fenced) end is reported.
	forgetReported bool
	cleaned        bool
}

// waitResult is how a run's process ended, from its waiter.
type waitResult struct {
	status executor.ExitStatus
	lost   bool
}

// newRunner makes the runner of the run rec records; plan is nil for a
// run recorded by an earlier daemon.
func newRunner(rec *record, plan *launchPlan, ex executor.Executor, deps runnerDeps, log *slog.Logger) *runner {
	r := &runner{
		key:     rec.key(),
		ref:     executor.Ref{JobID: rec.JobID, Run: rec.Run, Node: deps.node, RunDir: deps.store.runDir(rec.key())},
		ex:      ex,
		deps:    deps,
		log:     log.With("job", rec.JobID, "run", rec.Run),
		updates: make(chan desired, 1),
		acks:    make(chan bool, 2),
		gpuFail: make(chan string, 1),
		exits:   make(chan waitResult, 1),
		rec:     rec,
		plan:    plan,
	}
	r.publish()
	return r
}

// update hands the runner the controller's latest word on its run,
// replacing one it has not read yet. Only the reconciler calls it (under
// daemon.mu), so it never blocks.
func (r *runner) update(d desired) {
	select {
	case <-r.updates:
	default:
	}
	r.updates <- d
}

// failGPUs tells the runner that a GPU of its run failed.
func (r *runner) failGPUs(problem string) {
	select {
	case r.gpuFail <- problem:
	default: // one is pending already
	}
}

// acked is the outbox's acknowledgement of one of the runner's events.
func (r *runner) acked(end bool) {
	select {
	case r.acks <- end:
	default: // cannot happen: a runner has at most two events out
	}
}

// current returns the runner's published view.
func (r *runner) current() *runView { return r.view.Load() }

func (r *runner) publish() {
	r.view.Store(&runView{
		state:     r.state,
		ended:     r.rec.End != nil,
		hasProc:   r.proc != nil,
		launching: r.launchingNew,
		abandoned: r.rec.Abandoned,
		gpus:      r.rec.GPUs,
	})
}

func (r *runner) setState(s runState) {
	if r.state != s {
		r.log.Debug("run state", "from", r.state, "to", s)
		r.state = s
	}
	r.publish()
}

// save persists the run's record. A failure is logged: the in-memory record
// stays authoritative until the next save.
func (r *runner) save() {
	if r.state == stateForgotten {
		return
	}
	if err := r.deps.store.save(r.rec); err != nil {
		r.log.Error("cannot save run record", "err", err)
	}
}

// run is the runner's goroutine: it starts (or takes over) the run, then
// handles the controller's updates, the process's exit, timers and the
// outbox's acknowledgements until the run is forgotten or ctx is done.
func (r *runner) run(ctx context.Context) {
	defer r.deps.changed()
	r.begin(ctx)
	for r.state != stateForgotten && ctx.Err() == nil {
		r.afterStep(ctx)
		if r.state == stateForgotten {
			return
		}
		var timer <-chan time.Time
		if at, ok := r.nextDeadline(); ok {
			timer = timerAt(r.deps.clock, at)
		}
		select {
		case <-ctx.Done():
			return
		case d := <-r.updates:
			r.apply(ctx, d)
		case res := <-r.exits:
			r.exited(res)
		case end := <-r.acks:
			r.onAck(end)
		case problem := <-r.gpuFail:
			r.onGPUFailure(ctx, problem)
		case <-timer:
			r.tick(ctx)
		}
	}
}

// begin launches a new run, or takes over one recorded by an earlier
// daemon: re-attaching to it, or going on with reporting and cleaning up
// its end.
func (r *runner) begin(ctx context.Context) {
	if r.rec.Launched && !r.rec.StartedReported && !r.rec.Abandoned {
		r.report(api.JobEvent{JobID: r.key.job, Run: r.key.run, Node: r.deps.node, Kind: api.EventStarted}, false)
	}
	switch {
	case r.rec.End != nil:
		switch {
		case r.rec.Abandoned:
			r.forget = true
			r.setState(stateExited)
		case r.rec.EndReported:
			r.setState(stateReported)
		default:
			r.report(*r.rec.End, true)
			r.setState(stateExited)
		}
	case r.plan != nil:
		r.launch(ctx)
	default:
		r.attach(ctx)
	}
}

// launch starts a new run with the executor.
func (r *runner) launch(ctx context.Context) {
	plan := r.plan
	r.plan = nil
	if plan.refuse != nil {
		r.setEnd(*plan.refuse)
		return
	}
	if !r.deps.lease.valid() {
		// Cut off from the controllers: the job may be requeued elsewhere
		// any moment, so it must not start here.
		r.setEnd(api.JobEvent{Kind: api.EventLost, Message: "not started: this node's lease with the controllers had run out"})
		return
	}
	if err := r.deps.lease.addRun(r.key, r.rec.CheckpointSignal); err != nil {
		r.setEnd(api.JobEvent{Kind: api.EventLaunchFail, Message: "cannot write the node's lease file: " + err.Error()})
		return
	}
	r.launchingNew = true
	r.setState(stateLaunching)
	r.deps.changed()
	err := plan.prepare(ctx)
	var proc executor.Process
	if err == nil {
		proc, err = r.ex.Launch(ctx, plan.spec)
	}
	r.launchingNew = false
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: the next daemon finds the record without a
			// process and reports the run lost.
			return
		}
		r.log.Warn("launch failed", "err", err)
		r.setEnd(api.JobEvent{Kind: api.EventLaunchFail, Message: err.Error()})
		return
	}
	r.deps.metrics.launched.WithLabelValues(r.rec.Executor).Inc()
	r.log.Info("run started")
	r.gotProcess(ctx, proc)
}

// attach finds a recorded run that has no known end, retrying while the
// executor cannot tell (containerd down).
func (r *runner) attach(ctx context.Context) {
	r.log.Info("re-attaching to run")
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		proc, err := r.ex.Attach(ctx, r.ref)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, executor.ErrNotFound) {
			r.setEnd(api.JobEvent{Kind: api.EventLost, Message: "the node daemon restarted and found no process, container or exit status of the job"})
			return
		}
		if err != nil {
			r.log.Warn("cannot re-attach to run yet", "err", err, "in", backoff)
			if !sleepCtx(ctx, r.deps.clock, backoff) {
				return
			}
			continue
		}
		r.log.Info("re-attached to run")
		if r.rec.Abandoned && r.kill == nil {
			r.kill = &api.KillRequest{Reason: "no longer allocated to this node"}
		}
		r.gotProcess(ctx, proc)
		return
	}
}

// gotProcess makes a launched or re-attached process the run's: it is
// recorded, watched, and stopped at once when a stop was asked for meanwhile.
func (r *runner) gotProcess(ctx context.Context, proc executor.Process) {
	r.proc = proc
	if !r.rec.Launched {
		r.rec.Launched = true
		r.save()
		if !r.rec.Abandoned {
			r.report(api.JobEvent{JobID: r.key.job, Run: r.key.run, Node: r.deps.node, Kind: api.EventStarted}, false)
		}
	}
	r.setState(stateRunning)
	r.deps.spawn(func() { r.wait(ctx, proc) })
	if r.kill != nil {
		r.beginStop(ctx)
	}
}

// wait waits for the run's process to end and hands the result to the
// runner, retrying while the executor cannot tell.
func (r *runner) wait(ctx context.Context, proc executor.Process) {
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		st, err := proc.Wait(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, executor.ErrLost) {
			r.exits <- waitResult{lost: true} // the only send: never blocks
			return
		}
		if err == nil {
			r.exits <- waitResult{status: st}
			return
		}
		r.log.Warn("cannot wait for run; retrying", "err", err, "in", backoff)
		if !sleepCtx(ctx, r.deps.clock, backoff) {
			return
		}
	}
}
