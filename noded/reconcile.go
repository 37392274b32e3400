package noded

import (
	"context"
	"sort"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// watchLoop follows the node's job list with blocking queries and
// reconciles the node with each answer.
func (d *daemon) watchLoop(ctx context.Context) {
	var index uint64
	for backoff := time.Duration(0); ; {
		resp, err := d.api.NodeJobs(ctx, d.cfg.Name, client.QueryOptions{WaitIndex: index, WaitTime: watchWait})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if client.IsNotFound(err) {
				d.log.Warn("the controller does not know this node; registering again")
				if !d.register(ctx) {
					return
				}
				continue
			}
			backoff = nextBackoff(backoff)
			d.log.Warn("cannot watch the node's jobs; retrying", "err", err, "in", backoff)
			if !sleepCtx(ctx, d.clock, backoff) {
				return
			}
			continue
		}
		backoff = 0
		if resp.Index < index {
			// Another controller, or a restored one: start over.
			index = 0
		} else {
			index = resp.Index
		}
		d.reconcile(ctx, resp)
		if d.steps != nil {
			d.steps.JobsGone()
		}
		if resp.Index == 0 && !sleepCtx(ctx, d.clock, time.Second) {
			return // the controller does not block: poll gently
		}
	}
}

// reconcile compares the runs the controller wants on this node with the
// runs the daemon has: it starts a runner for each new run, hands every
// runner the controller's word on its run, and tells the runners of runs no
// longer listed (they kill and forget them).
func (d *daemon) reconcile(ctx context.Context, resp *api.JobsResponse) {
	defer d.syncJobMap() // after the lock below is released
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock.Now()
	for k, t := range d.tombstones {
		if now.Sub(t) > tombstoneTTL {
			delete(d.tombstones, k)
		}
	}
	want := map[runKey]*api.Job{}
	d.listedGPUs = map[int]bool{}
	d.listedJobs = map[api.JobID]*api.Job{}
	for _, job := range resp.Jobs {
		if job == nil || job.State != api.JobRunning {
			continue
		}
		for _, a := range job.Alloc {
			if a.Node == d.cfg.Name {
				d.listedJobs[job.ID] = job
				for _, i := range a.GPUs {
					d.listedGPUs[i] = true
				}
			}
		}
		if len(job.Alloc) == 0 || job.Alloc[0].Node != d.cfg.Name {
			continue // only the first node of an allocation runs the batch script
		}
		want[runKey{job.ID, job.RestartCount}] = job
	}
	keys := make([]runKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].job < keys[j].job || keys[i].job == keys[j].job && keys[i].run < keys[j].run
	})
	for _, k := range keys {
		job := want[k]
		r := d.runners[k]
		if r == nil {
			if _, gone := d.tombstones[k]; gone {
				continue
			}
			r = d.newRun(ctx, job)
			if r == nil {
				continue
			}
			r.seenIndex = resp.Index
		}
		if r.seenIndex == 0 {
			r.seenIndex = resp.Index
		}
		r.update(desired{job: job, index: resp.Index, now: resp.Now, seen: now})
	}
	for k, r := range d.runners {
		if _, ok := want[k]; ok || (r.seenIndex != 0 && resp.Index < r.seenIndex) {
			continue
		}
		r.update(desired{index: resp.Index, now: resp.Now, seen: now})
	}
}

// newRun records a new run of job and starts its runner; the caller holds
// d.mu. It returns nil when the record cannot be written (the next job
// list tries again).
func (d *daemon) newRun(ctx context.Context, job *api.Job) *runner {
	kind := kindHost
	if job.Spec.ContainerImage != "" {
		kind = kindContainer
	}
	rec := &record{JobID: job.ID, Run: job.RestartCount, Executor: kind, GPUs: job.Alloc[0].GPUs}
	if sig, err := parseSignal(job.CheckpointSignal()); err == nil {
		rec.CheckpointSignal = int(sig)
	}
	if job.SignalReq != nil {
		rec.SignalSeq = job.SignalReq.Seq // requests made before this run are not for it
	}
	log := d.log.With("job", job.ID, "run", job.RestartCount)
	plan := d.launchPlan(job, rec)
	if err := d.store.save(rec); err != nil {
		log.Error("cannot record run; will retry", "err", err)
		return nil
	}
	if plan.refuse == nil {
		log.Info("launching run", "executor", kind, "image", job.Spec.ContainerImage, "checkpoint_dir", d.checkpointDir(job))
	}
	r := newRunner(rec, plan, d.execs[kind], d.runnerDeps(), d.log)
	d.startRunner(ctx, r)
	return r
}

// launchPlan decides how a new run starts: its executor spec and checkpoint
// directory, or the event that ends it at once.
func (d *daemon) launchPlan(job *api.Job, rec *record) *launchPlan {
	if job.Kill != nil {
		return &launchPlan{refuse: &api.JobEvent{Kind: api.EventExited, Message: "stopped before it was launched"}}
	}
	ref := executor.Ref{JobID: rec.JobID, Run: rec.Run, Node: d.cfg.Name, RunDir: d.store.runDir(rec.key())}
	ckptDir := d.checkpointDir(job)
	spec, err := d.spec(job, ref, ckptDir)
	if bad := d.gpus.Unhealthy(rec.GPUs); len(bad) > 0 {
		// The controller placed it before it learnt of the failure.
		return &launchPlan{refuse: &api.JobEvent{Kind: api.EventLost, Message: "not started: " + d.gpuProblem(bad)}}
	}
	if err != nil {
		return &launchPlan{refuse: &api.JobEvent{Kind: api.EventLaunchFail, Message: err.Error()}}
	}
	return &launchPlan{
		spec: spec,
		prepare: func(context.Context) error {
			return d.prepareCheckpointDir(job.ID, ckptDir, job.Spec.UID, job.Spec.GID)
		},
	}
}
