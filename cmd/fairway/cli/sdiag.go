package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

func sdiagOpts() []*opt {
	return []*opt{
		{long: "all", short: 'a', kind: optFlag, ignored: true},
		{long: "reset", short: 'r', kind: optFlag, usage: "reset the scheduling statistics (operators and administrators)"},
		addrOpt(),
		helpOpt('h'),
	}
}

// sdiag prints the controller's statistics in the layout of Slurm's sdiag.
func sdiag(ctx context.Context, inv *invocation) error {
	if len(inv.args) > 0 {
		return &api.FieldError{Field: "sdiag", Value: strings.Join(inv.args, " "), Msg: "sdiag takes no arguments"}
	}
	if inv.opts.flag("reset") {
		return sdiagReset(ctx, inv)
	}
	d, err := inv.client().Diag(ctx)
	if err != nil {
		return fmt.Errorf("read the controller's statistics: %w", err)
	}
	_, err = fmt.Fprint(inv.env.Stdout, sdiagText(d, inv.env.Location))
	return err
}

// sdiagReset resets the controller's scheduling statistics (sdiag -r):
// "Reset scheduling statistics" on success; Slurm's
// "slurm_reset_statistics: ..." and exit status 255 (its -1) when refused.
func sdiagReset(ctx context.Context, inv *invocation) error {
	if err := inv.client().ResetDiag(ctx); err != nil {
		msg := err.Error()
		var ce *client.Error
		if errors.As(err, &ce) {
			msg = ce.Msg
		}
		return &codedError{code: 255, err: fmt.Errorf("slurm_reset_statistics: %s", msg)}
	}
	_, err := fmt.Fprintln(inv.env.Stdout, "Reset scheduling statistics")
	return err
}

// ctime is a time as Slurm's slurm_ctime2 prints it: "Thu Jun 16
// 10:20:30 2022".
func ctime(unix int64, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return time.Unix(unix, 0).In(loc).Format("Mon Jan _2 15:04:05 2006")
}

// sdiagText renders sdiag in Slurm 22.05's layout, with the figures
// Fairway has: the thread, agent and RPC sections and the scheduler exit
// reasons are omitted. Fairway's scheduler pass does the main and the
// backfill scheduling at once, so both sections read the same passes;
// raft's state follows at the end.
func sdiagText(d *api.DiagResponse, loc *time.Location) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	since := d.StatsSince
	if since == 0 {
		since = d.Now
	}
	s := &d.Sched
	p("*******************************************************\n")
	p("sdiag output at %s (%d)\n", ctime(d.Now, loc), d.Now)
	p("Data since      %s (%d)\n", ctime(since, loc), since)
	p("*******************************************************\n")
	p("Jobs submitted: %d\n", d.JobsSubmitted)
	p("Jobs started:   %d\n", d.JobsStarted)
	p("Jobs completed: %d\n", d.JobsCompleted)
	p("Jobs canceled:  %d\n", d.JobsCanceled)
	p("Jobs failed:    %d\n\n", d.JobsFailed)
	p("Job states ts:  %s (%d)\n", ctime(d.Now, loc), d.Now)
	p("Jobs pending:   %d\n", d.JobsPending)
	p("Jobs running:   %d\n", d.JobsRunning)

	p("\nMain schedule statistics (microseconds):\n")
	p("\tLast cycle:   %d\n", s.LastCycleUsec)
	p("\tMax cycle:    %d\n", s.MaxCycleUsec)
	p("\tTotal cycles: %d\n", s.Cycles)
	if s.Cycles > 0 {
		p("\tMean cycle:   %d\n", s.MeanCycleUsec)
		p("\tMean depth cycle:  %d\n", int(s.MeanDepth))
	}
	if d.Now-since > 60 {
		p("\tCycles per minute: %d\n", int64(s.Cycles)/((d.Now-since)/60))
	}
	p("\tLast queue length: %d\n", s.LastQueueLen)

	p("\nBackfilling stats\n")
	p("\tTotal backfilled jobs (since last slurm start): %d\n", s.Backfilled)
	p("\tTotal backfilled jobs (since last stats cycle start): %d\n", s.BackfilledSinceReset)
	p("\tTotal cycles: %d\n", s.Cycles)
	if s.LastCycleAt > 0 {
		p("\tLast cycle when: %s (%d)\n", ctime(s.LastCycleAt, loc), s.LastCycleAt)
	} else {
		p("\tLast cycle when: N/A\n")
	}
	p("\tLast cycle: %d\n", s.LastCycleUsec)
	p("\tMax cycle:  %d\n", s.MaxCycleUsec)
	if s.Cycles > 0 {
		p("\tMean cycle: %d\n", s.MeanCycleUsec)
	}
	p("\tLast depth cycle: %d\n", s.LastBfDepth)
	p("\tLast depth cycle (try sched): %d\n", s.LastBfDepth)
	if s.Cycles > 0 {
		p("\tDepth Mean: %d\n", int(s.MeanBfDepth))
		p("\tDepth Mean (try depth): %d\n", int(s.MeanBfDepth))
	}
	p("\tLast queue length: %d\n", s.LastQueueLen)
	if s.Cycles > 0 {
		p("\tQueue length mean: %d\n", int(s.MeanQueueLen))
	}

	r := &d.Raft
	p("\nRaft statistics\n")
	p("\tController: %s (%s)\n", d.ControllerID, r.Role)
	p("\tLeader: %s\n", orNone(r.LeaderID))
	p("\tTerm: %d\n", r.Term)
	p("\tCommit index: %d\n", r.CommitIndex)
	p("\tApplied index: %d\n", r.AppliedIndex)
	if r.LastContactMS >= 0 {
		p("\tLast contact (ms): %d\n", r.LastContactMS)
	} else {
		p("\tLast contact (ms): never\n")
	}
	p("\tVoters: %d\n", r.Voters)
	if d.Leader {
		p("\tVoters reachable: %d\n", r.Reachable)
	}
	return b.String()
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
