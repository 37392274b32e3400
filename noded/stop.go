package noded

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
)

// A run's stop sequence. A kill whose first signal is a checkpoint signal
// (a preemption's, USR1 by default) sends it to every process of the run,
// waits the grace time or until the job ends it (Kill.EndGrace: it saved its
// checkpoint), then sends SIGTERM and waits KillGrace; any other kill sends
// its signal (SIGTERM by default) and waits its grace time (default
// KillGrace). Then SIGKILL, every KillGrace, until the run is gone.
//
// The grace time counts from the kill's RequestedAt on the controller's
// clock, so a daemon restarted during it waits only what is left, and does
// not send the checkpoint signal again (the record's StopSignalled: the job
// already has it).

// stopPhase is the step of a stop sequence the runner waits in.
type stopPhase int

const (
	// phaseGrace: the checkpoint signal is sent; the grace time runs.
	phaseGrace stopPhase = iota
	// phaseTerm: SIGTERM (or the kill's own signal) is sent; SIGKILL
	// follows at the deadline.
	phaseTerm
	// phaseKill: SIGKILL is sent, and sent again at every deadline.
	phaseKill
)

// String names the phase.
func (p stopPhase) String() string {
	switch p {
	case phaseGrace:
		return "grace"
	case phaseTerm:
		return "term"
	case phaseKill:
		return "kill"
	}
	return "unknown"
}

// How a grace time ended (fairway_noded_preemption_grace_endings_total).
const (
	graceExited     = "exited"      // the job exited during it
	graceEndedEarly = "ended_early" // the job said it saved its checkpoint
	graceExpired    = "expired"     // it ran out: SIGTERM follows
)

// stopSeq is a run's stop sequence under way.
type stopSeq struct {
	phase    stopPhase
	deadline time.Time // this node's clock: when the next step is due
	granted  time.Duration
	elapsed  time.Duration // of the grace time, before this daemon saw the kill
	start    time.Time     // this node's clock, when the sequence began
}

// beginStop starts the stop sequence once the run has a process and a kill.
func (r *runner) beginStop(ctx context.Context) {
	if r.stop != nil || r.proc == nil || r.kill == nil || r.rec.End != nil {
		return
	}
	kill := *r.kill
	first := syscall.SIGTERM
	if kill.Signal != "" {
		sig, err := parseSignal(kill.Signal)
		if err != nil {
			r.log.Warn("bad kill signal; using SIGTERM", "err", err)
		} else {
			first = sig
		}
	}
	granted := r.deps.killGrace
	if kill.GraceSecs > 0 {
		granted = time.Duration(kill.GraceSecs) * time.Second
	}
	var elapsed time.Duration
	if kill.RequestedAt > 0 && r.killNow > kill.RequestedAt {
		// Part of the grace time passed before this daemon saw the request.
		elapsed = time.Duration(r.killNow-kill.RequestedAt) * time.Second
	}
	grace := max(granted-elapsed, 0)
	now := r.deps.clock.Now()
	r.stop = &stopSeq{granted: granted, elapsed: elapsed, start: now, deadline: now.Add(grace)}
	defer r.setState(stateStopping) // published once the first signal is out
	if first == syscall.SIGTERM || first == syscall.SIGKILL {
		r.stop.phase = phaseTerm
		r.signal(ctx, first, true)
		return
	}
	r.stop.phase = phaseGrace
	switch {
	case r.graceEnded:
		// Done checkpointing before this daemon could signal it (or while
		// it was down): go on with SIGTERM.
		r.graceOver(ctx, graceEndedEarly)
	case r.rec.StopSignalled:
		r.log.Info("resuming the grace time of a stop after a restart", "left", grace)
	default:
		r.signal(ctx, first, true)
	}
}

// stopStep takes the stop sequence's next step, due now.
func (r *runner) stopStep(ctx context.Context) {
	if r.stop.phase == phaseGrace {
		r.graceOver(ctx, graceExpired)
		return
	}
	r.signal(ctx, syscall.SIGKILL, false)
	r.stop.phase = phaseKill
	r.stop.deadline = r.deps.clock.Now().Add(r.deps.killGrace)
}

// graceOver ends the grace time (how says why) and sends SIGTERM.
func (r *runner) graceOver(ctx context.Context, how string) {
	r.observeGrace(how)
	r.signal(ctx, syscall.SIGTERM, false)
	r.stop.phase = phaseTerm
	r.stop.deadline = r.deps.clock.Now().Add(r.deps.killGrace)
}

// observeGrace counts a grace time that ended, and how.
func (r *runner) observeGrace(how string) {
	s := r.stop
	used := min(s.elapsed+r.deps.clock.Now().Sub(s.start), s.granted)
	r.deps.metrics.observeGrace(s.granted, used, how)
	r.log.Info("grace time over", "how", how, "granted", s.granted, "used", used.Round(time.Second))
}

// signal records that sig is sent (so the exit status is read right even
// after a restart; first: it is the first signal of the stop sequence) and
// sends it to every process of the run.
func (r *runner) signal(ctx context.Context, sig syscall.Signal, first bool) {
	changed := false
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
		changed = true
	}
	if first && !r.rec.StopSignalled {
		r.rec.StopSignalled = true
		changed = true
	}
	if changed {
		r.save()
	}
	r.log.Info("signalling run", "signal", unix.SignalName(sig))
	if err := r.proc.Signal(ctx, sig); err != nil {
		r.log.Warn("cannot signal run", "signal", unix.SignalName(sig), "err", err)
	}
}

// planWarning notes when the job's --signal warning is due: AtSeconds
// before the run's time limit, on this node's clock (the job's start and
// controllerNow are on the controller's; seen is this node's clock when
// the controller said controllerNow).
func (r *runner) planWarning(job *api.Job, controllerNow int64, seen time.Time) {
	s := job.Spec.Signal
	if s == nil || r.warning != nil || r.rec.WarningSent || job.StartTime == 0 {
		return
	}
	limit := job.TimeLimitSecs
	if limit <= 0 {
		limit = job.Spec.TimeLimitSecs
	}
	if limit <= 0 || api.Unlimited(limit) {
		return
	}
	w := *s
	r.warning = &w
	sig, err := parseSignal(w.Name)
	if err != nil {
		r.log.Warn("bad --signal; no warning before the time limit", "err", err)
		return
	}
	due := job.StartTime + limit - int64(s.AtSeconds)
	r.warnSig = sig
	r.warnAt = seen.Add(time.Duration(due-controllerNow) * time.Second)
}

// warningDue reports whether the --signal warning is still to be sent: the
// run is alive and not being stopped.
func (r *runner) warningDue() bool {
	return r.warnSig != 0 && !r.rec.WarningSent && r.kill == nil && r.proc != nil && r.rec.End == nil
}

// sendWarning sends the --signal warning: to every process of the run, or
// with B: to the batch script only. It is recorded first, so a restarted
// daemon does not send it again.
func (r *runner) sendWarning(ctx context.Context) {
	sig, w := r.warnSig, r.warning
	r.rec.WarningSent = true
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
	}
	r.save()
	r.log.Info("sending the --signal warning before the time limit", "signal", unix.SignalName(sig),
		"seconds_before", w.AtSeconds, "batch_only", w.BatchOnly)
	var err error
	if w.BatchOnly {
		err = r.proc.SignalBatch(ctx, sig)
	} else {
		err = r.proc.Signal(ctx, sig)
	}
	if err != nil {
		r.log.Warn("cannot send the --signal warning", "signal", unix.SignalName(sig), "err", err)
	}
}

// deliverSignal sends a scancel --signal request to every process of the
// run, once: the request's Seq is recorded first.
func (r *runner) deliverSignal(ctx context.Context, sr *api.SignalRequest) {
	r.rec.SignalSeq = sr.Seq
	sig, err := parseSignal(sr.Signal)
	if err != nil {
		r.save()
		r.log.Warn("cannot deliver scancel --signal", "signal", sr.Signal, "err", err)
		return
	}
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
	}
	r.save()
	r.log.Info("delivering scancel --signal", "signal", unix.SignalName(sig), "seq", sr.Seq)
	if err := r.proc.Signal(ctx, sig); err != nil {
		r.log.Warn("cannot deliver scancel --signal", "signal", unix.SignalName(sig), "err", err)
	}
}

// parseSignal accepts "USR1", "SIGUSR1" or a number.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
