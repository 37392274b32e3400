package container

import (
	"context"
	"fmt"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

type process struct {
	e   *Executor
	ref executor.Ref
	ctr client.Container

	mu   sync.Mutex
	task client.Task
}

func (p *process) loadTask(ctx context.Context) (client.Task, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.task != nil {
		return p.task, nil
	}
	t, err := p.ctr.Task(ctx, nil)
	if err != nil {
		return nil, err
	}
	p.task = t
	return t, nil
}

// Wait waits for the task to exit and reads the OOM count of its cgroup
// before the task (and its cgroup) is deleted.
func (p *process) Wait(ctx context.Context) (executor.ExitStatus, error) {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return executor.ExitStatus{}, executor.ErrLost
	}
	if err != nil {
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
	}
	select {
	case <-ctx.Done():
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, ctx.Err())
	case st := <-ch:
		code, _, err := st.Result()
		if err != nil {
			return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
		}
		out := executor.ExitStatus{Code: int(code)}
		// The container's cgroup lives until the task is deleted.
		if g, err := cgroups.Load(p.e.cgroupPath(p.ref)); err == nil {
			if s, err := g.Stats(); err == nil {
				out.OOM = s.OOMKills > 0
				out.Usage = executor.UsageOf(s)
			}
		}
		return out, nil
	}
}

// Signal sends sig to every process of the container.
func (p *process) Signal(ctx context.Context, sig syscall.Signal) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", p.ref, err)
	}
	err = task.Kill(ctx, sig, client.WithKillAll)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("signal %v to %s: %w", sig, p.ref, err)
	}
	return nil
}

// SignalBatch sends sig to the container's init process: the batch script
// (the shell wrappers exec it).
func (p *process) SignalBatch(ctx context.Context, sig syscall.Signal) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal batch script of %s: %w", p.ref, err)
	}
	err = task.Kill(ctx, sig)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("signal %v to the batch script of %s: %w", sig, p.ref, err)
	}
	return nil
}

// Cleanup deletes the task, the container and its snapshot.
func (p *process) Cleanup(ctx context.Context) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	switch {
	case err == nil:
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("clean up %s: delete task: %w", p.ref, err)
		}
	case !errdefs.IsNotFound(err):
		return fmt.Errorf("clean up %s: %w", p.ref, err)
	}
	if err := p.ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("clean up %s: delete container: %w", p.ref, err)
	}
	return nil
}
