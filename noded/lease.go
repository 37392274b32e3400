package noded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/fence"
)

// lease is the node's lease with the controllers as the daemon knows it,
// and the lease file it writes for the fence (see package fence): renewed by
// every heartbeat the leader acknowledges, for LeaseSecs counted from when
// the heartbeat was sent.
type lease struct {
	file      string
	recordDir string
	base      fence.Lease // node, cgroup parent, record dir, kill wait
	log       *slog.Logger

	mu      sync.Mutex
	expires time.Duration // CLOCK_BOOTTIME; 0: no lease granted, never fenced
	grace   time.Duration
	signals map[runKey]int // checkpoint signal of each run the daemon has
}

// newLease loads the lease an earlier daemon left (the lease is the node's,
// not the process's: it holds across a restart).
func newLease(cfg Config, log *slog.Logger) *lease {
	l := &lease{
		file:      filepath.Join(cfg.StateDir, "lease.json"),
		recordDir: filepath.Join(cfg.StateDir, "fenced"),
		log:       log,
		signals:   map[runKey]int{},
	}
	l.base = fence.Lease{Node: cfg.Name, CgroupParent: cfg.cgroupParent(), RecordDir: l.recordDir,
		KillWait: time.Duration(api.FenceKillWaitSecs) * time.Second}
	if old, err := fence.ReadLease(l.file); err == nil {
		l.expires, l.grace = old.ExpiresBoot, old.Grace
	}
	return l
}

// renew records the lease a heartbeat sent at sent (CLOCK_BOOTTIME) was
// granted, and writes it for the fence.
func (l *lease) renew(sent time.Duration, resp api.HeartbeatResponse) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if resp.LeaseSecs <= 0 {
		l.expires = 0 // a controller that grants no leases: never fence
	} else {
		l.expires = sent + time.Duration(resp.LeaseSecs)*time.Second
		l.grace = time.Duration(resp.FenceGraceSecs) * time.Second
	}
	return l.writeLocked()
}

// valid reports whether new runs may start: the lease has not run out.
func (l *lease) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires == 0 || fence.BootTime() < l.expires
}

// addRun registers a run with its checkpoint signal before it is launched,
// so the fence signals it as it should.
func (l *lease) addRun(k runKey, sig int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.signals[k] = sig
	return l.writeLocked()
}

// removeRun forgets a run and the fence's record of it.
func (l *lease) removeRun(k runKey) {
	l.mu.Lock()
	delete(l.signals, k)
	l.mu.Unlock()
	if err := fence.RemoveRecord(l.recordDir, runName(k)); err != nil {
		l.log.Warn("cannot remove the fence record of a run", "job", k.job, "run", k.run, "err", err)
	}
}

// fenced returns the fence's record of a run it stopped, waiting at most
// wait for the fence to record when the run's last process was gone.
func (l *lease) fenced(ctx context.Context, k runKey, wait time.Duration) (*fence.Record, bool) {
	deadline := time.Now().Add(wait)
	for {
		rec, err := fence.ReadRecord(l.recordDir, runName(k))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				l.log.Warn("cannot read the fence record of a run", "job", k.job, "run", k.run, "err", err)
			}
			return nil, false
		}
		if rec.StoppedAt != 0 || time.Now().After(deadline) {
			return rec, true
		}
		select {
		case <-ctx.Done():
			return rec, true
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopWait is how long a fenced run may take to stop: grace and kill wait.
func (l *lease) stopWait() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grace + l.base.KillWait + time.Second
}

func (l *lease) writeLocked() error {
	fl := l.base
	fl.ExpiresBoot, fl.Grace = l.expires, l.grace
	fl.Signals = make(map[string]int, len(l.signals))
	for k, sig := range l.signals {
		fl.Signals[runName(k)] = sig
	}
	return fence.WriteLease(l.file, fl)
}

// runName is a run's cgroup name, the fence's name for it.
func runName(k runKey) string { return fence.RunName(uint64(k.job), k.run) }

// fencedEvent is the end of a run the fence stopped.
func fencedEvent(rec *fence.Record) api.JobEvent {
	ev := api.JobEvent{Kind: api.EventLost, Fenced: true,
		Message: fmt.Sprintf("fenced: this node's lease with the controllers ran out; signal %d sent at %s",
			rec.Signal, time.UnixMilli(rec.SignalledAt).UTC().Format(time.RFC3339))}
	if rec.StoppedAt > 0 {
		ev.StoppedAt = (rec.StoppedAt + 999) / 1000 // not before it really stopped
	}
	return ev
}

// startFence starts the fence unless one watches the lease file already:
// FenceCommand in its own session (it outlives the daemon), or, without
// one, a goroutine of the daemon.
func (d *daemon) startFence(ctx context.Context) error {
	if err := os.MkdirAll(d.lease.recordDir, 0o700); err != nil {
		return fmt.Errorf("fence record directory: %w", err)
	}
	if fence.Running(d.lease.file) {
		return nil
	}
	if len(d.cfg.FenceCommand) == 0 {
		d.log.Warn("the fence runs inside the node daemon and stops with it: a killed or frozen daemon leaves its jobs running past the lease; give a fence command (fairwayd does)")
		d.spawn(func() {
			err := fence.Run(ctx, fence.Options{LeaseFile: d.lease.file, Cgroups: fence.SystemCgroups{}, Logger: d.log.With("component", "fence")})
			if err != nil && !errors.Is(err, fence.ErrRunning) {
				d.log.Error("fence stopped", "err", err)
			}
		})
		return nil
	}
	logFile, err := os.OpenFile(filepath.Join(d.cfg.StateDir, "fence.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fence log: %w", err)
	}
	defer logFile.Close()
	args := append(append([]string{}, d.cfg.FenceCommand[1:]...), "--lease", d.lease.file)
	cmd := exec.Command(d.cfg.FenceCommand[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the fence %s: %w", d.cfg.FenceCommand[0], err)
	}
	d.log.Info("fence started", "pid", cmd.Process.Pid, "lease_file", d.lease.file)
	go func() { _ = cmd.Wait() }() // reaped while the daemon lives; it outlives the daemon
	return nil
}
