package noded

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// The runner's steps: what it does with each thing its goroutine receives.

// apply acts on the controller's latest word on the run: a --signal
// warning to plan, a scancel --signal request to deliver, a stop request,
// the end of a grace time, or the run no longer being listed.
func (r *runner) apply(ctx context.Context, d desired) {
	job := d.job
	if job == nil {
		if r.rec.End != nil {
			if r.rec.End.Fenced && !r.rec.EndReported {
				// The controller ended the run when it declared the node
				// DOWN; it still wants to know when the run really stopped.
				r.forgetReported = true
				return
			}
			r.forget = true
			return
		}
		if !r.rec.Abandoned {
			r.log.Info("run no longer allocated to this node; killing and forgetting it")
			r.rec.Abandoned = true
			r.save()
			r.deps.outbox.drop(r.key)
			if r.kill == nil {
				r.kill, r.killNow = &api.KillRequest{Reason: "no longer allocated to this node"}, 0
			}
			r.beginStop(ctx)
			r.publish()
		}
		return
	}
	if r.rec.End != nil {
		return
	}
	if r.warning == nil {
		r.planWarning(job, d.now, d.seen)
	}
	if sr := job.SignalReq; sr != nil && sr.Seq > r.rec.SignalSeq && r.proc != nil {
		r.deliverSignal(ctx, sr)
	}
	if job.Kill != nil && r.kill == nil {
		r.kill, r.killNow = job.Kill, d.now
		r.log.Info("stopping run", "reason", job.Kill.Reason, "signal", job.Kill.Signal, "grace_secs", job.Kill.GraceSecs)
		r.beginStop(ctx)
	}
	if job.Kill != nil && job.Kill.EndGrace && !r.graceEnded {
		r.graceEnded = true
		r.log.Info("the job ended its grace time (checkpoint saved)")
		if r.stop != nil && r.stop.phase == phaseGrace {
			r.graceOver(ctx, graceEndedEarly)
		}
	}
}

// exited records how the run's process ended.
func (r *runner) exited(res waitResult) {
	if r.stop != nil && r.stop.phase == phaseGrace && r.rec.End == nil {
		r.observeGrace(graceExited)
	}
	if res.lost {
		r.setEnd(api.JobEvent{Kind: api.EventLost, Message: "the job's process is gone and left no exit status"})
		return
	}
	r.setEnd(exitEvent(res.status, r.rec.SignalsSent))
}

// exitEvent turns an exit status into an event. A status of 128+N is a
// death by signal N when the daemon sent N (or the OOM killer killed it);
// otherwise it is the script's own exit code.
func exitEvent(st executor.ExitStatus, sent []int) api.JobEvent {
	ev := api.JobEvent{Kind: api.EventExited, ExitCode: st.Code, OOM: st.OOM, Message: st.Message, Usage: st.Usage}
	if sig := st.Code - 128; sig > 0 && sig < 65 {
		if slices.Contains(sent, sig) || (st.OOM && sig == int(syscall.SIGKILL)) {
			ev.ExitCode, ev.Signal = 0, sig
		}
	}
	return ev
}

// setEnd records the end of the run (once) and hands it to the outbox,
// unless the run is abandoned: then it is only cleaned up and forgotten.
func (r *runner) setEnd(ev api.JobEvent) {
	if r.rec.End != nil {
		return
	}
	if r.rec.GPUFailure != "" && ev.Kind == api.EventExited {
		// Stopped because its GPU failed: the controller requeues it or
		// ends it NODE_FAIL, as for any hardware failure.
		ev = api.JobEvent{Kind: api.EventLost, Message: r.rec.GPUFailure}
	}
	if rec, ok := r.deps.lease.fenced(context.Background(), r.key, r.deps.lease.stopWait()); ok && ev.Kind != api.EventLaunchFail {
		// Stopped by the fence: lost, requeued or NODE_FAIL as for any
		// node failure, ending when its last process was gone.
		ev = fencedEvent(rec)
	}
	ev.JobID, ev.Run, ev.Node = r.key.job, r.key.run, r.deps.node
	r.rec.End = &ev
	r.save()
	r.deps.metrics.ended.WithLabelValues(outcome(&ev)).Inc()
	r.log.Info("run ended", "kind", ev.Kind, "exit_code", ev.ExitCode, "signal", ev.Signal, "oom", ev.OOM, "message", ev.Message)
	switch {
	case r.rec.Abandoned && ev.Fenced:
		// The controller ended the run when it declared the node DOWN;
		// it still wants to know when the run really stopped.
		r.forgetReported = true
		r.report(ev, true)
	case r.rec.Abandoned:
		r.forget = true
	default:
		r.report(ev, true)
	}
	r.setState(stateExited)
}

// report hands an event to the outbox; its acknowledgement comes back to
// the runner (onAck).
func (r *runner) report(ev api.JobEvent, end bool) {
	r.deps.outbox.add(r.key, ev, func() { r.acked(end) })
}

// onAck records that the controller committed the started event or the end.
func (r *runner) onAck(end bool) {
	if !end {
		if !r.rec.StartedReported {
			r.rec.StartedReported = true
			r.save()
		}
		return
	}
	if r.rec.EndReported {
		return
	}
	r.rec.EndReported = true
	r.save()
	r.setState(stateReported)
	if r.forgetReported {
		r.forget = true
	}
}

// onGPUFailure stops the run because a GPU it uses failed its health check;
// its end is reported as lost with problem as the message.
func (r *runner) onGPUFailure(ctx context.Context, problem string) {
	if r.rec.End != nil || r.rec.Abandoned || r.rec.GPUFailure != "" || len(r.rec.GPUs) == 0 {
		return
	}
	r.rec.GPUFailure = problem
	r.save()
	r.log.Warn("stopping run: a GPU it uses failed", "problem", problem)
	if r.kill == nil {
		r.kill, r.killNow = &api.KillRequest{Reason: problem}, 0
	}
	r.beginStop(ctx)
}

// nextDeadline is when the runner next has something to do by itself: the
// next step of its stop sequence, or its --signal warning.
func (r *runner) nextDeadline() (time.Time, bool) {
	if r.rec.End != nil || r.proc == nil {
		return time.Time{}, false
	}
	if r.stop != nil {
		return r.stop.deadline, true
	}
	if r.warningDue() {
		return r.warnAt, true
	}
	return time.Time{}, false
}

// tick does what is due at the current time.
func (r *runner) tick(ctx context.Context) {
	now := r.deps.clock.Now()
	if r.rec.End != nil {
		return
	}
	if r.stop != nil {
		if !now.Before(r.stop.deadline) {
			r.stopStep(ctx)
		}
		return
	}
	if r.warningDue() && !now.Before(r.warnAt) {
		r.sendWarning(ctx)
	}
}

// afterStep cleans up an ended run once its end is committed (or it is to
// be forgotten), and forgets it when asked to.
func (r *runner) afterStep(ctx context.Context) {
	defer r.deps.changed()
	if r.rec.End == nil || !(r.rec.EndReported || r.forget) {
		return
	}
	if !r.cleaned && !r.cleanup(ctx) {
		return
	}
	if r.forget {
		r.deps.outbox.drop(r.key) // an end the controller no longer waits for
		r.deps.gone(r)
		r.setState(stateForgotten)
	}
}

// cleanup removes what the ended run left (task, container, cgroup),
// retrying until it succeeds; it reports false when ctx ended first.
func (r *runner) cleanup(ctx context.Context) bool {
	proc := r.proc
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		if backoff > 0 && !sleepCtx(ctx, r.deps.clock, backoff) {
			return false
		}
		if proc == nil {
			p, err := r.ex.Attach(ctx, r.ref)
			if errors.Is(err, executor.ErrNotFound) {
				break
			}
			if err != nil {
				if ctx.Err() != nil {
					return false
				}
				r.log.Warn("cannot find run to clean up; retrying", "err", err)
				continue
			}
			proc = p
		}
		err := proc.Cleanup(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		r.log.Warn("cannot clean up run; retrying", "err", err)
	}
	r.cleaned = true
	r.log.Debug("run cleaned up")
	return true
}

// sleepCtx waits for dur or until ctx is done; it reports whether to go on.
func sleepCtx(ctx context.Context, clock Clock, dur time.Duration) bool {
	if dur <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-clock.After(dur):
		return true
	}
}

// deadlineClock is a Clock that can wait until a given time; the tests'
// fake clock is one, so that a timer set while the clock moves cannot miss.
type deadlineClock interface {
	At(t time.Time) <-chan time.Time
}

// timerAt returns a channel that receives at (or at once when it has passed).
func timerAt(clock Clock, at time.Time) <-chan time.Time {
	if dc, ok := clock.(deadlineClock); ok {
		return dc.At(at)
	}
	return clock.After(max(at.Sub(clock.Now()), 0))
}
