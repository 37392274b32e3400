package noded

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/noded/executor"
)

// fakeClock is a Clock that moves only when told (Advance). It is a
// deadlineClock, so a runner's timers cannot miss a move.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atLocked(c.now.Add(d))
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atLocked(t)
}

func (c *fakeClock) atLocked(t time.Time) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: t, ch: ch})
	return ch
}

// Advance moves the clock and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// fakeExec is an executor whose runs are fakeProcs; they outlive a runner,
// as real runs outlive the daemon.
type fakeExec struct {
	mu        sync.Mutex
	procs     map[runKey]*fakeProc
	launchErr error
}

func newFakeExec() *fakeExec { return &fakeExec{procs: map[runKey]*fakeProc{}} }

func (e *fakeExec) Launch(_ context.Context, spec executor.Spec) (executor.Process, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.launchErr != nil {
		return nil, e.launchErr
	}
	p := &fakeProc{exit: make(chan executor.ExitStatus, 1)}
	e.procs[runKey{spec.JobID, spec.Run}] = p
	return p, nil
}

func (e *fakeExec) Attach(_ context.Context, ref executor.Ref) (executor.Process, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.procs[runKey{ref.JobID, ref.Run}]
	if !ok {
		return nil, fmt.Errorf("attach %s: %w", ref, executor.ErrNotFound)
	}
	return p, nil
}

func (e *fakeExec) List(context.Context, string) ([]executor.Ref, error) { return nil, nil }

func (e *fakeExec) proc(k runKey) *fakeProc {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.procs[k]
}

// fakeProc is a run that records the signals it gets and exits when told.
type fakeProc struct {
	mu      sync.Mutex
	signals []string
	cleaned bool
	status  *executor.ExitStatus
	exit    chan executor.ExitStatus
}

func (p *fakeProc) Wait(ctx context.Context) (executor.ExitStatus, error) {
	p.mu.Lock()
	if p.status != nil {
		defer p.mu.Unlock()
		return *p.status, nil
	}
	p.mu.Unlock()
	select {
	case st := <-p.exit:
		p.mu.Lock()
		p.status = &st
		p.mu.Unlock()
		return st, nil
	case <-ctx.Done():
		return executor.ExitStatus{}, ctx.Err()
	}
}

func (p *fakeProc) Signal(_ context.Context, sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, unix.SignalName(sig))
	return nil
}

func (p *fakeProc) SignalBatch(_ context.Context, sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signals = append(p.signals, "B:"+unix.SignalName(sig))
	return nil
}

func (p *fakeProc) Cleanup(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleaned = true
	return nil
}

func (p *fakeProc) sent() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.signals...)
}
