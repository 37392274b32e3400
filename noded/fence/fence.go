// Package fence stops a node's jobs when the node's lease with the
// controllers runs out, so that a node cut off from the controllers (or whose
// daemon is frozen or dead) has stopped its jobs before the controllers
// requeue them elsewhere: no job runs twice.
//
// The node daemon renews the lease with every heartbeat the leader
// acknowledges and writes it to a lease file (Lease, WriteLease). The fence
// is a separate process (`fairwayd fence`), started by the daemon in its own
// session, so it outlives the daemon: killed, frozen or cut off, the lease
// file stops being renewed and the fence acts on its own. One fence runs per
// lease file (an exclusive lock beside it); it stops when the lease file's
// directory (the node daemon's state directory) is removed.
//
// When the lease has run out, the fence sends every run of the node (each
// job-* cgroup under the node's cgroup) its checkpoint signal, gives it the
// grace time, kills what is left and waits for the cgroup to be empty, at
// most the kill wait. For each run it writes a Record (when it signalled the
// run, when the run's last process was gone), which the daemon reports to
// the controller as the run's real end. Fencing, once begun, completes: a
// fenced run is lost and requeued. While the lease stays expired, whatever
// appears in a run's cgroup is killed at once.
//
// Times are CLOCK_BOOTTIME, which every process of the machine shares and
// which wall-clock changes do not move.
package fence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Lease is the lease file: what the node daemon tells the fence.
type Lease struct {
	// Node is the node's name, for logs.
	Node string `json:"node"`
	// CgroupParent is the node's cgroup (for example /fairway/n1); each
	// child named job-* is a run.
	CgroupParent string `json:"cgroup_parent"`
	// ExpiresBoot is the CLOCK_BOOTTIME at which the lease runs out; 0: no
	// lease (the controllers grant none), never fence.
	ExpiresBoot time.Duration `json:"expires_boot_ns"`
	// Grace is the time between the checkpoint signal and the kill.
	Grace time.Duration `json:"grace_ns"`
	// KillWait bounds the wait for a killed run's cgroup to be empty.
	KillWait time.Duration `json:"kill_wait_ns"`
	// Signals maps run cgroup names (job-J-R) to their checkpoint signal;
	// runs not listed get SIGTERM.
	Signals map[string]int `json:"signals,omitempty"`
	// RecordDir is where the fence writes a Record per run it stops, as
	// NAME.json for the run's cgroup name.
	RecordDir string `json:"record_dir"`
}

// Record is what the fence writes for a run it stops.
type Record struct {
	Cgroup string `json:"cgroup"`
	Signal int    `json:"signal"`
	// SignalledAt and StoppedAt are unix milliseconds; StoppedAt is 0 until
	// the run's cgroup is empty.
	SignalledAt int64 `json:"signalled_at_ms"`
	StoppedAt   int64 `json:"stopped_at_ms,omitempty"`
}

// Clock gives the fence its times.
type Clock interface {
	// Boot is CLOCK_BOOTTIME.
	Boot() time.Duration
	// Now is the wall clock, for the records.
	Now() time.Time
}

// SystemClock is the machine's clocks.
type SystemClock struct{}

// Boot returns CLOCK_BOOTTIME.
func (SystemClock) Boot() time.Duration { return BootTime() }

// Now returns time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// BootTime returns CLOCK_BOOTTIME: monotonic, shared by every process of the
// machine, counting suspended time.
func BootTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		panic(fmt.Sprintf("CLOCK_BOOTTIME: %v", err)) // Linux has had it since 2.6.39
	}
	return time.Duration(ts.Nano())
}

// Cgroups is what the fence does to the runs' cgroups.
type Cgroups interface {
	// Runs lists the names of the child cgroups of parent (runs are job-*).
	Runs(parent string) ([]string, error)
	// Signal sends sig to every process of the cgroup.
	Signal(path string, sig syscall.Signal) error
	// Empty reports whether the cgroup has no process (a missing cgroup is
	// empty).
	Empty(path string) (bool, error)
	// Kill kills every process of the cgroup until it is empty or ctx ends.
	Kill(ctx context.Context, path string) error
}

// Options configure Run.
type Options struct {
	// LeaseFile is the lease file the node daemon writes.
	LeaseFile string
	// Poll is how often the lease file is read; default 200ms.
	Poll    time.Duration
	Clock   Clock
	Cgroups Cgroups
	Logger  *slog.Logger
}

// ErrRunning is returned by Run when another fence holds the lease file's
// lock.
var ErrRunning = errors.New("a fence already watches this lease file")

// Run watches the lease file until ctx ends, fencing the node's runs while
// the lease has run out. It returns ErrRunning at once when another fence
// watches the same file.
func Run(ctx context.Context, opts Options) error {
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Running takes the lock for an instant to look: try a few times
	// before concluding that another fence holds it.
	unlock, err := lock(opts.LeaseFile)
	for try := 0; errors.Is(err, ErrRunning) && try < 20; try++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		unlock, err = lock(opts.LeaseFile)
	}
	if err != nil {
		return err
	}
	defer unlock()
	f := &fence{opts: opts, log: opts.Logger}
	f.log.Info("fence watching the node's lease", "lease_file", opts.LeaseFile)
	for {
		if _, err := os.Stat(filepath.Dir(opts.LeaseFile)); errors.Is(err, os.ErrNotExist) {
			f.log.Info("the node's state directory is gone: the fence stops", "lease_file", opts.LeaseFile)
			return nil
		}
		f.step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Poll):
		}
	}
}

// Running reports whether a fence watches the lease file.
func Running(leaseFile string) bool {
	unlock, err := lock(leaseFile)
	if err != nil {
		return errors.Is(err, ErrRunning)
	}
	unlock()
	return false
}

// lock takes the lease file's exclusive lock, held while the process lives.
func lock(leaseFile string) (func(), error) {
	f, err := os.OpenFile(leaseFile+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fence lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("fence lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// fence is one fence's state between polls.
type fence struct {
	opts    Options
	log     *slog.Logger
	expired bool // the lease had run out at the last poll
}

// step reads the lease and, when it has run out, fences the runs.
func (f *fence) step(ctx context.Context) {
	lease, err := ReadLease(f.opts.LeaseFile)
	if errors.Is(err, os.ErrNotExist) {
		return // no lease was ever granted: nothing runs
	}
	if err != nil {
		f.log.Error("cannot read the lease file", "err", err)
		return
	}
	if lease.ExpiresBoot == 0 || f.opts.Clock.Boot() < lease.ExpiresBoot {
		if f.expired {
			f.log.Info("the node's lease was renewed", "node", lease.Node)
		}
		f.expired = false
		return
	}
	if !f.expired {
		f.log.Warn("the node's lease ran out: stopping its jobs", "node", lease.Node,
			"expired_for", f.opts.Clock.Boot()-lease.ExpiresBoot)
	}
	f.expired = true
	f.stopRuns(ctx, lease)
}

// stopRuns fences every run of the node: checkpoint signal, grace, kill.
// Runs fenced before (a record exists) are killed at once if anything runs
// in them.
func (f *fence) stopRuns(ctx context.Context, lease *Lease) {
	names, err := f.opts.Cgroups.Runs(lease.CgroupParent)
	if err != nil {
		f.log.Error("cannot list the node's runs", "err", err)
		return
	}
	if err := os.MkdirAll(lease.RecordDir, 0o700); err != nil {
		f.log.Error("cannot create the fence record directory", "err", err)
	}
	type pending struct {
		name, path string
		rec        Record
	}
	var signalled []pending
	for _, name := range names {
		if !isRunName(name) {
			continue
		}
		path := lease.CgroupParent + "/" + name
		if empty, err := f.opts.Cgroups.Empty(path); err != nil || empty {
			continue
		}
		if rec, err := readRecord(lease.RecordDir, name); err == nil {
			// Fenced before: nothing may run in it while the lease is out.
			f.log.Warn("killing processes in a fenced run", "cgroup", path)
			f.kill(ctx, lease, path)
			if rec.StoppedAt == 0 {
				rec.StoppedAt = f.opts.Clock.Now().UnixMilli()
				f.write(lease, name, *rec)
			}
			continue
		}
		sig := syscall.SIGTERM
		if s, ok := lease.Signals[name]; ok && s > 0 {
			sig = syscall.Signal(s)
		}
		rec := Record{Cgroup: path, Signal: int(sig), SignalledAt: f.opts.Clock.Now().UnixMilli()}
		// The record comes first: the daemon, seeing the run end, must know
		// it was fenced.
		f.write(lease, name, rec)
		if err := f.opts.Cgroups.Signal(path, sig); err != nil {
			f.log.Warn("cannot signal a run", "cgroup", path, "err", err)
		}
		f.log.Warn("fenced run signalled", "cgroup", path, "signal", int(sig), "grace", lease.Grace)
		signalled = append(signalled, pending{name: name, path: path, rec: rec})
	}
	if len(signalled) == 0 {
		return
	}
	graceEnd := f.opts.Clock.Boot() + lease.Grace
	for len(signalled) > 0 && ctx.Err() == nil {
		left := signalled[:0]
		for _, p := range signalled {
			if empty, _ := f.opts.Cgroups.Empty(p.path); empty {
				p.rec.StoppedAt = f.opts.Clock.Now().UnixMilli()
				f.write(lease, p.name, p.rec)
				f.log.Info("fenced run stopped", "cgroup", p.path)
				continue
			}
			if f.opts.Clock.Boot() >= graceEnd {
				f.kill(ctx, lease, p.path)
				p.rec.StoppedAt = f.opts.Clock.Now().UnixMilli()
				f.write(lease, p.name, p.rec)
				f.log.Warn("fenced run killed after its grace time", "cgroup", p.path)
				continue
			}
			left = append(left, p)
		}
		signalled = left
		if len(signalled) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(min(f.opts.Poll, 100*time.Millisecond)):
			}
		}
	}
}

// kill kills a run's processes, waiting at most the lease's kill wait.
func (f *fence) kill(ctx context.Context, lease *Lease, path string) {
	kctx, cancel := context.WithTimeout(ctx, max(lease.KillWait, time.Second))
	defer cancel()
	if err := f.opts.Cgroups.Kill(kctx, path); err != nil {
		f.log.Error("cannot kill a fenced run", "cgroup", path, "err", err)
	}
}

// write stores a run's record atomically.
func (f *fence) write(lease *Lease, name string, rec Record) {
	if err := writeJSON(filepath.Join(lease.RecordDir, name+".json"), rec); err != nil {
		f.log.Error("cannot write the fence record", "cgroup", rec.Cgroup, "err", err)
	}
}

// WriteLease writes the lease file atomically.
func WriteLease(path string, l Lease) error {
	if err := writeJSON(path, l); err != nil {
		return fmt.Errorf("write lease file: %w", err)
	}
	return nil
}

// ReadLease reads the lease file.
func ReadLease(path string) (*Lease, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lease file: %w", err)
	}
	var l Lease
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lease file %s: %w", path, err)
	}
	return &l, nil
}

// ReadRecord returns the fence's record of a run (by its cgroup name,
// job-J-R), or an error wrapping os.ErrNotExist when the run was not fenced.
func ReadRecord(dir, name string) (*Record, error) { return readRecord(dir, name) }

func readRecord(dir, name string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("fence record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("fence record %s: %w", name, err)
	}
	return &r, nil
}

// RemoveRecord deletes a run's record once its end is reported.
func RemoveRecord(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove fence record: %w", err)
	}
	return nil
}

// RunName is the cgroup name of a job's run, as both executors name it.
func RunName(job uint64, run int) string { return fmt.Sprintf("job-%d-%d", job, run) }

// isRunName reports whether a cgroup name is a run's.
func isRunName(name string) bool { return strings.HasPrefix(name, "job-") }

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
