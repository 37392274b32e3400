package noded

import (
	"context"
	"syscall"
	"time"
)

// A run's own resources are cleaned up by its runner (runner.cleanup) once
// its end is reported. What follows removes what no runner knows.

// sweepOrphans removes containers of this node that no record knows (left by
// a daemon that crashed after forgetting a run but before removing it).
func (d *daemon) sweepOrphans(ctx context.Context) {
	for _, kind := range []string{kindHost, kindContainer} {
		ex := d.execs[kind]
		for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
			if backoff > 0 && !sleepCtx(ctx, d.clock, backoff) {
				return
			}
			refs, err := ex.List(ctx, d.cfg.Name)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if backoff == 0 {
					d.log.Warn("cannot list runs to find orphans; retrying", "executor", kind, "err", err)
				}
				if backoff >= maxBackoff {
					break // give up quietly: the executor is not available here
				}
				continue
			}
			for _, ref := range refs {
				k := runKey{ref.JobID, ref.Run}
				d.mu.Lock()
				_, known := d.runners[k]
				d.mu.Unlock()
				if known {
					continue
				}
				ref.RunDir = d.store.runDir(k)
				d.log.Info("removing orphaned run", "job", ref.JobID, "run", ref.Run, "executor", kind)
				if p, err := ex.Attach(ctx, ref); err == nil {
					_ = p.Signal(ctx, syscall.SIGKILL)
					if err := p.Cleanup(ctx); err != nil {
						d.log.Warn("cannot remove orphaned run", "job", ref.JobID, "run", ref.Run, "err", err)
					}
				}
			}
			break
		}
	}
}
