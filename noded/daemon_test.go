package noded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// startFakeNode runs the daemon against the fake controller with fake
// executors: the reconciler, runners and outbox without containerd or root.
func startFakeNode(t *testing.T, fc *fakeController, ex *fakeExec, stateDir string, edits ...func(*Config)) context.CancelFunc {
	t.Helper()
	base := Config{
		Name:              "n1",
		StateDir:          stateDir,
		ControllerAddrs:   fc.addr(),
		CheckpointDirBase: filepath.Join(t.TempDir(), "checkpoints"),
		CPUs:              2,
		MemoryMB:          1024,
		HeartbeatInterval: 50 * time.Millisecond,
		KillGrace:         time.Second,
		NVML:              NVMLOff,
		ToolsBinary:       "-",
		Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, edit := range edits {
		edit(&base)
	}
	cfg, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, map[string]executor.Executor{kindHost: ex, kindContainer: ex}) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestDaemonReconcilesWithFakeExecutor: a listed job is launched and its
// started and exited events are committed once each, also across a daemon
// restart; once the controller stops listing it, the run is forgotten.
func TestDaemonReconcilesWithFakeExecutor(t *testing.T) {
	fc := newFakeController(t)
	ex := newFakeExec()
	stateDir := filepath.Join(t.TempDir(), "state")
	stop := startFakeNode(t, fc, ex, stateDir)

	job := batchJob(1, t.TempDir(), "true")
	job.Spec.UID, job.Spec.GID = os.Getuid(), os.Getgid()
	fc.addJob(job, "n1")
	fc.waitEvent(t, 1, api.EventStarted, 10*time.Second)
	waitFor(t, 10*time.Second, func() bool {
		rec, err := os.ReadFile(filepath.Join(stateDir, "runs", "1-0", "record.json"))
		return err == nil && strings.Contains(string(rec), `"started_reported": true`)
	}, func() string { return "the started report was not recorded" })

	stop()
	startFakeNode(t, fc, ex, stateDir)
	ex.proc(runKey{1, 0}).exit <- executor.ExitStatus{Code: 3}
	ev := fc.waitEvent(t, 1, api.EventExited, 10*time.Second)
	if ev.ExitCode != 3 {
		t.Errorf("exit event = %+v, want exit code 3", ev)
	}
	time.Sleep(200 * time.Millisecond) // more job lists and heartbeats
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1, api.EventExited: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	waitFor(t, 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(stateDir, "runs", "1-0"))
		return errors.Is(err, os.ErrNotExist)
	}, func() string { return "the ended run was not forgotten" })
}
