package noded

import (
	"cmp"
	"context"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/noded/fence"
)

// register registers the node with its resources and the GPUs' current
// health, retrying until it succeeds; it reports false when ctx ends first.
func (d *daemon) register(ctx context.Context) bool {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		gpus := d.gpus.GPUs()
		req := api.RegisterNodeRequest{
			Name:     d.cfg.Name,
			Addr:     d.addr,
			StepAddr: d.stepAddr,
			Resources: api.NodeResources{
				CPUs:     d.cfg.CPUs,
				MemoryMB: d.cfg.MemoryMB,
				GPUs:     gpus,
			},
			Partitions: d.cfg.Partitions,
			BootTime:   bootTime(),
		}
		_, err := d.api.RegisterNode(ctx, req)
		if err == nil {
			unhealthy := 0
			for _, g := range gpus {
				if !g.Healthy {
					unhealthy++
				}
			}
			d.log.Info("registered with the controller", "cpus", d.cfg.CPUs, "memory_mb", d.cfg.MemoryMB,
				"gpus", len(gpus), "unhealthy_gpus", unhealthy)
			// A lease at once: a node registered again after it was cut
			// off must not be handed runs it may not start.
			if err := d.heartbeat(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("heartbeat after registering failed", "err", err)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d.log.Warn("cannot register with the controller; retrying", "err", err, "in", backoff)
		if !sleepCtx(ctx, d.clock, backoff) {
			return false
		}
	}
}

// heartbeatLoop tells the controller every HeartbeatInterval that the node
// is alive and which runs it has, re-registering when the controller has
// forgotten the node.
func (d *daemon) heartbeatLoop(ctx context.Context) {
	failing := false
	for {
		if !sleepCtx(ctx, d.clock, d.cfg.HeartbeatInterval) {
			return
		}
		err := d.heartbeat(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case client.IsNotFound(err):
			d.log.Warn("the controller does not know this node; registering again")
			if !d.register(ctx) {
				return
			}
		case err != nil && !failing:
			d.log.Warn("heartbeat failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			d.log.Info("heartbeats reach the controller again")
			failing = false
		}
		if len(d.cfg.FenceCommand) > 0 && !fence.Running(d.lease.file) {
			d.log.Warn("the fence is not running; starting it again")
			if err := d.startFence(ctx); err != nil {
				d.log.Error("cannot start the fence", "err", err)
			}
		}
	}
}

// heartbeat sends one heartbeat and renews the node's lease with what the
// leader granted, counted from before it was sent.
func (d *daemon) heartbeat(ctx context.Context) error {
	req := api.HeartbeatRequest{Running: d.runningRefs()}
	var ferr error
	req.FreeMemMB, req.CPULoad, ferr = nodeFigures(cmp.Or(d.procDir, defaultProcDir))
	if ferr != nil {
		d.figuresWarn.Do(func() {
			d.log.Warn("cannot read the node's free memory or load; sinfo and scontrol show N/A for it", "err", ferr)
		})
	}
	sent := fence.BootTime()
	resp, err := d.api.Heartbeat(ctx, d.cfg.Name, req)
	if err != nil {
		return err
	}
	if lease := time.Duration(resp.LeaseSecs) * time.Second; lease > 0 && lease < 2*d.cfg.HeartbeatInterval {
		d.shortLease.Do(func() {
			d.log.Warn("the node lease is shorter than two heartbeats: jobs may be fenced while the node is healthy",
				"lease", lease, "heartbeat_interval", d.cfg.HeartbeatInterval)
		})
	}
	if err := d.lease.renew(sent, resp); err != nil {
		d.log.Error("cannot write the lease file: the fence stops the node's jobs when the last one written runs out", "err", err)
	}
	return nil
}
