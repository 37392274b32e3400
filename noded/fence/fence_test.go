package fence

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock's boot time follows the real one from an arbitrary origin; its
// wall clock is fixed so records are predictable up to the grace wait.
type fakeClock struct{ start time.Time }

func (c fakeClock) Boot() time.Duration { return time.Hour + time.Since(c.start) }
func (c fakeClock) Now() time.Time      { return time.UnixMilli(1_000_000).Add(time.Since(c.start)) }

// fakeRun is a run's cgroup: alive until a signal it dies on, or a kill.
type fakeRun struct {
	alive  bool
	diesOn syscall.Signal
}

type fakeCgroups struct {
	mu     sync.Mutex
	runs   map[string]*fakeRun // by path
	events []string
}

func (f *fakeCgroups) Runs(parent string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for p := range f.runs {
		if filepath.Dir(p) == parent {
			names = append(names, filepath.Base(p))
		}
	}
	return names, nil
}

func (f *fakeCgroups) Signal(path string, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "signal "+filepath.Base(path)+" "+sig.String())
	if r := f.runs[path]; r != nil && r.diesOn == sig {
		r.alive = false
	}
	return nil
}

func (f *fakeCgroups) Empty(path string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[path]
	return r == nil || !r.alive, nil
}

func (f *fakeCgroups) Kill(_ context.Context, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "kill "+filepath.Base(path))
	if r := f.runs[path]; r != nil {
		r.alive = false
	}
	return nil
}

func TestFence(t *testing.T) {
	const grace = 300 * time.Millisecond
	tests := []struct {
		name    string
		noLease bool
		expires time.Duration // relative to the clock's boot time now; 0: no lease granted
		runs    map[string]*fakeRun
		signals map[string]int
		want    []string // cgroup events, in order per run
		fenced  []string // runs with a record, stopped
	}{
		{
			name: "no lease file: nothing runs, nothing is done", noLease: true,
			runs: map[string]*fakeRun{"job-1-0": {alive: true}},
		},
		{
			name: "no lease granted: never fenced", expires: 0,
			runs: map[string]*fakeRun{"job-1-0": {alive: true}},
		},
		{
			name: "a valid lease: nothing is done", expires: time.Minute,
			runs: map[string]*fakeRun{"job-1-0": {alive: true}},
		},
		{
			name: "an expired lease: a run that stops on its checkpoint signal is not killed", expires: -time.Second,
			runs:    map[string]*fakeRun{"job-1-0": {alive: true, diesOn: syscall.SIGUSR1}},
			signals: map[string]int{"job-1-0": int(syscall.SIGUSR1)},
			want:    []string{"signal job-1-0 user defined signal 1"},
			fenced:  []string{"job-1-0"},
		},
		{
			name: "an expired lease: a run that ignores SIGTERM is killed after the grace time", expires: -time.Second,
			runs:   map[string]*fakeRun{"job-2-3": {alive: true}},
			want:   []string{"signal job-2-3 terminated", "kill job-2-3"},
			fenced: []string{"job-2-3"},
		},
		{
			name: "an expired lease: ended runs and other cgroups are left alone", expires: -time.Second,
			runs: map[string]*fakeRun{"job-1-0": {alive: false}, "other": {alive: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clock := fakeClock{start: time.Now()}
			cg := &fakeCgroups{runs: map[string]*fakeRun{}}
			for name, r := range tt.runs {
				cg.runs["/fw/n1/"+name] = r
			}
			leaseFile := filepath.Join(dir, "lease.json")
			if !tt.noLease {
				l := Lease{Node: "n1", CgroupParent: "/fw/n1", Grace: grace, KillWait: time.Second,
					Signals: tt.signals, RecordDir: filepath.Join(dir, "fenced")}
				if tt.expires != 0 {
					l.ExpiresBoot = clock.Boot() + tt.expires
				}
				if err := WriteLease(leaseFile, l); err != nil {
					t.Fatal(err)
				}
			}
			f := &fence{opts: Options{LeaseFile: leaseFile, Poll: 20 * time.Millisecond, Clock: clock, Cgroups: cg}, log: discard()}
			start := clock.Now().UnixMilli()
			f.step(context.Background())
			f.step(context.Background()) // a second poll changes nothing more
			if diff := cmp.Diff(tt.want, cg.events); diff != "" {
				t.Errorf("cgroup events (-want +got):\n%s", diff)
			}
			for name := range tt.runs {
				rec, err := ReadRecord(filepath.Join(dir, "fenced"), name)
				if !slices.Contains(tt.fenced, name) {
					if !errors.Is(err, os.ErrNotExist) {
						t.Errorf("run %s: record %+v, %v; want none", name, rec, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("run %s: no record: %v", name, err)
				}
				if rec.SignalledAt < start || rec.StoppedAt < rec.SignalledAt {
					t.Errorf("run %s: record %+v, want signalled from %d and stopped after", name, rec, start)
				}
				if killed := slices.Contains(tt.want, "kill "+name); killed && rec.StoppedAt-rec.SignalledAt < grace.Milliseconds() {
					t.Errorf("run %s killed %d ms after its signal, before its grace time %s", name, rec.StoppedAt-rec.SignalledAt, grace)
				}
			}
		})
	}
}

// TestFenceAfterFencing: while the lease stays out, whatever runs again in a
// fenced run's cgroup is killed at once, without a new signal or grace; a
// renewed lease stops that.
func TestFenceAfterFencing(t *testing.T) {
	dir := t.TempDir()
	clock := fakeClock{start: time.Now()}
	run := &fakeRun{alive: true, diesOn: syscall.SIGTERM}
	cg := &fakeCgroups{runs: map[string]*fakeRun{"/fw/n1/job-1-0": run}}
	leaseFile := filepath.Join(dir, "lease.json")
	l := Lease{Node: "n1", CgroupParent: "/fw/n1", ExpiresBoot: clock.Boot() - time.Second, Grace: time.Second, RecordDir: dir}
	if err := WriteLease(leaseFile, l); err != nil {
		t.Fatal(err)
	}
	f := &fence{opts: Options{LeaseFile: leaseFile, Clock: clock, Cgroups: cg}, log: discard()}
	f.step(context.Background())
	run.alive = true // a process forked as the run died
	f.step(context.Background())
	l.ExpiresBoot = clock.Boot() + time.Minute
	if err := WriteLease(leaseFile, l); err != nil {
		t.Fatal(err)
	}
	run.alive = true
	f.step(context.Background())
	want := []string{"signal job-1-0 terminated", "kill job-1-0"}
	if diff := cmp.Diff(want, cg.events); diff != "" {
		t.Errorf("cgroup events (-want +got):\n%s", diff)
	}
}

// TestOneFencePerLeaseFile: a second fence on the same lease file returns
// ErrRunning, and Running tells.
func TestOneFencePerLeaseFile(t *testing.T) {
	leaseFile := filepath.Join(t.TempDir(), "lease.json")
	if Running(leaseFile) {
		t.Fatal("Running before any fence started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{LeaseFile: leaseFile, Cgroups: &fakeCgroups{}}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !Running(leaseFile) {
		if time.Now().After(deadline) {
			t.Fatal("the fence did not take its lock within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Run(ctx, Options{LeaseFile: leaseFile, Cgroups: &fakeCgroups{}}); !errors.Is(err, ErrRunning) {
		t.Errorf("second fence: %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("first fence: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestFenceStopsWithTheStateDirectory: a fence whose lease file's directory
// is removed (the node taken out, a test's directory cleaned up) stops.
func TestFenceStopsWithTheStateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{LeaseFile: filepath.Join(dir, "lease.json"), Poll: 10 * time.Millisecond, Cgroups: &fakeCgroups{}})
	}()
	for deadline := time.Now().Add(10 * time.Second); !Running(filepath.Join(dir, "lease.json")); {
		if time.Now().After(deadline) {
			t.Fatal("the fence did not take its lock within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the fence still runs 30s after its state directory was removed")
	}
}
