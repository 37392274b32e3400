//go:build e2e

package noded

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
)

const (
	eventWait = 30 * time.Second // generous deadline for asynchronous outcomes
)

// waitScript is a job body that waits until the file "release" appears in
// its working directory.
const waitScript = `while [ ! -e release ]; do sleep 0.05; done
`

// waitStartAcked waits until the daemon has recorded that the controller
// committed the started event of a job's run 0. A daemon stopped between the
// commit and that record reports the event again after its restart (the
// controller ignores the repeat); the restart tests stop it after.
func waitStartAcked(t *testing.T, stateDir string, id api.JobID) {
	t.Helper()
	name := filepath.Join(stateDir, "runs", fmt.Sprintf("%d-0", id), "record.json")
	waitFor(t, eventWait, func() bool {
		var rec record
		b, err := os.ReadFile(name)
		return err == nil && json.Unmarshal(b, &rec) == nil && rec.StartedReported
	}, func() string { return fmt.Sprintf("job %d: the daemon did not record the started report", id) })
}

func release(t *testing.T, workDir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(workDir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jobCgroup(node string, id api.JobID, run int) string {
	return fmt.Sprintf("/%s/%s/job-%d-%d", cgroupParent(), node, id, run)
}

func TestHostJobRunsInCgroupAsUser(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-cg"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	job := batchJob(1, work, `#!/bin/sh
echo "uid=$(id -u) gid=$(id -g) cwd=$(pwd) job=$SLURM_JOB_ID node=$SLURMD_NODENAME submit=$FROM_SUBMIT args=$1,$2"
echo "to stderr" >&2
`+waitScript+`exit 3
`)
	job.Spec.MemoryMB = 96
	job.Spec.Args = []string{"a b", "c"}
	// The controller stores expanded paths; what is left of a "%" is part
	// of the name (the user wrote err-%%j.txt).
	job.StderrPath = filepath.Join(work, "err-%j.txt")
	fc.addJob(job, node)

	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	grp, err := cgroups.Load(jobCgroup(node, 1, 0))
	if err != nil {
		t.Fatalf("job cgroup: %v", err)
	}
	if grp.Version() == cgroups.V1 {
		limit := strings.TrimSpace(readFile(t, filepath.Join(grp.Dir("memory"), "memory.limit_in_bytes")))
		if limit != fmt.Sprint(96<<20) {
			t.Errorf("memory.limit_in_bytes = %s, want %d", limit, 96<<20)
		}
		quota := strings.TrimSpace(readFile(t, filepath.Join(grp.Dir("cpu"), "cpu.cfs_quota_us")))
		if quota != "100000" {
			t.Errorf("cpu.cfs_quota_us = %s, want 100000 (one CPU)", quota)
		}
	} else {
		limit := strings.TrimSpace(readFile(t, filepath.Join(grp.Dir(""), "memory.max")))
		if limit != fmt.Sprint(96<<20) {
			t.Errorf("memory.max = %s, want %d", limit, 96<<20)
		}
	}
	pids, err := grp.Procs()
	if err != nil || len(pids) < 2 {
		t.Errorf("cgroup processes = %v, %v; want the wrapper and the script", pids, err)
	}

	release(t, work)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 3 || ev.Signal != 0 || ev.OOM {
		t.Errorf("exit event = %+v, want exit code 3", ev)
	}
	out := filepath.Join(work, "slurm-1.out")
	want := fmt.Sprintf("uid=%d gid=%d cwd=%s job=1 node=%s submit=yes args=a b,c\n", nobody, nobody, work, node)
	if got := readFile(t, out); got != want {
		t.Errorf("stdout file holds %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(work, "err-%j.txt")); got != "to stderr\n" {
		t.Errorf("stderr file holds %q, want %q", got, "to stderr\n")
	}
	if st, err := os.Stat(out); err == nil && st.Sys().(*syscall.Stat_t).Uid != nobody {
		t.Errorf("stdout file owned by uid %d, want %d", st.Sys().(*syscall.Stat_t).Uid, nobody)
	}
	waitFor(t, eventWait, func() bool {
		_, err := cgroups.Load(jobCgroup(node, 1, 0))
		return err != nil
	}, func() string { return "job cgroup still there after the end was reported" })
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1, api.EventExited: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events reported (-want +got):\n%s", diff)
	}
}

func TestHostJobSurvivesRestart(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-restart"
	state := filepath.Join(sharedDir(t), "state")
	n := startNode(t, fc, Config{Name: node, StateDir: state})

	// Job 1 ends while the daemon is down; job 2 after it is back.
	work1, work2 := sharedDir(t), sharedDir(t)
	fc.addJob(batchJob(1, work1, "echo one started\n"+waitScript+"echo one done\nexit 7\n"), node)
	fc.addJob(batchJob(2, work2, "echo two started\n"+waitScript+"echo two done\n"), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	fc.waitEvent(t, 2, api.EventStarted, eventWait)
	waitStartAcked(t, state, 1)
	waitStartAcked(t, state, 2)
	// Started means launched: wait until job 2's script has begun too.
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work2, "slurm-2.out")) == "two started\n" },
		func() string { return "job 2 did not start its script" })

	n.stop(t)
	release(t, work1)
	waitFor(t, eventWait, func() bool { return strings.Contains(readFile(t, filepath.Join(work1, "slurm-1.out")), "one done") },
		func() string { return "job 1 did not finish while the daemon was down" })
	if got := readFile(t, filepath.Join(work2, "slurm-2.out")); got != "two started\n" {
		t.Errorf("job 2 output while the daemon is down = %q, want it still running", got)
	}
	if evs := fc.eventsOf(1); len(evs) != 1 {
		t.Errorf("job 1 events before restart = %+v, want only started", evs)
	}

	startNode(t, fc, Config{Name: node, StateDir: state})
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 7 {
		t.Errorf("job 1 exit event = %+v, want exit code 7", ev)
	}
	release(t, work2)
	ev = fc.waitEvent(t, 2, api.EventExited, eventWait)
	if ev.ExitCode != 0 || ev.Signal != 0 {
		t.Errorf("job 2 exit event = %+v, want exit code 0", ev)
	}
	// Let a few heartbeats and job lists go by, then count.
	time.Sleep(500 * time.Millisecond)
	for _, id := range []api.JobID{1, 2} {
		if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1, api.EventExited: 1}, fc.countKinds(id)); diff != "" {
			t.Errorf("job %d events (-want +got):\n%s", id, diff)
		}
	}
	waitFor(t, eventWait, func() bool {
		entries, _ := os.ReadDir(filepath.Join(state, "runs"))
		return len(entries) == 0
	}, func() string {
		entries, _ := os.ReadDir(filepath.Join(state, "runs"))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return fmt.Sprintf("run directories %v remain after both runs were reported and dropped", names)
	})
}

func TestHostJobStopSequence(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-kill"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	// The script checkpoints on USR1 and ignores nothing else: TERM, sent
	// after the grace time, ends it.
	fc.addJob(batchJob(1, work, `trap 'echo checkpoint' USR1
echo ready
while :; do sleep 0.05; done
`), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "slurm-1.out")) == "ready\n" },
		func() string { return "script did not start" })
	fc.kill(1, api.KillRequest{State: api.JobPreempted, Requeue: true, Signal: "USR1", GraceSecs: 1})
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.Signal != int(syscall.SIGTERM) || ev.ExitCode != 0 {
		t.Errorf("exit event = %+v, want killed by SIGTERM", ev)
	}
	if got := readFile(t, filepath.Join(work, "slurm-1.out")); !strings.Contains(got, "checkpoint") {
		t.Errorf("output %q: the checkpoint signal did not reach the script", got)
	}
	if _, err := cgroups.Load(jobCgroup(node, 1, 0)); err == nil {
		waitFor(t, eventWait, func() bool {
			_, err := cgroups.Load(jobCgroup(node, 1, 0))
			return err != nil
		}, func() string { return "job cgroup still there after the end was reported" })
	}
}

func TestRunDroppedByControllerIsKilledWithoutReport(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-drop"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, "echo $$ > pid\nexec sleep 300\n"), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "pid")) != "" },
		func() string { return "script did not start" })
	var pid int
	fmt.Sscan(readFile(t, filepath.Join(work, "pid")), &pid)

	fc.drop(1)
	waitFor(t, eventWait, func() bool { return syscall.Kill(pid, 0) != nil },
		func() string { return fmt.Sprintf("process %d of the dropped run still alive", pid) })
	time.Sleep(300 * time.Millisecond)
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestEventsWaitForTheController(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-away"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, waitScript+"exit 1\n"), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)

	fc.setDown(true)
	release(t, work)
	// The daemon keeps trying while the controller is away.
	fc.mu.Lock()
	before := fc.requests
	fc.mu.Unlock()
	waitFor(t, eventWait, func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.requests > before+5
	}, func() string { return "the daemon stopped calling the controller" })
	fc.setDown(false)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 1 {
		t.Errorf("exit event = %+v, want exit code 1", ev)
	}
}

func TestLaunchFailures(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "launch-fail"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	tests := []struct {
		name string
		job  func(id api.JobID) api.Job
		want string
		ctrd bool
	}{
		{
			name: "missing work dir",
			job:  func(id api.JobID) api.Job { return batchJob(id, "/nonexistent/work", "true\n") },
			want: "/nonexistent/work",
		},
		{
			name: "output file the user cannot write",
			job: func(id api.JobID) api.Job {
				j := batchJob(id, work, "true\n")
				j.StdoutPath = "/proc/fairway-no-such-file"
				return j
			},
			want: "cannot open output file /proc/fairway-no-such-file",
		},
		{
			name: "missing image archive",
			job: func(id api.JobID) api.Job {
				j := batchJob(id, work, "true\n")
				j.Spec.ContainerImage = "oci-archive:/nonexistent/image.tar"
				return j
			},
			want: "oci-archive:/nonexistent/image.tar",
			ctrd: true,
		},
		{
			name: "missing root fs",
			job: func(id api.JobID) api.Job {
				j := batchJob(id, work, "true\n")
				j.Spec.ContainerImage = "dir:/nonexistent/rootfs"
				return j
			},
			want: "dir:/nonexistent/rootfs",
			ctrd: true,
		},
		{
			name: "image not in containerd and no registry",
			job: func(id api.JobID) api.Job {
				j := batchJob(id, work, "true\n")
				j.Spec.ContainerImage = "registry.invalid/none/such:1"
				return j
			},
			want: "registry.invalid/none/such:1",
			ctrd: true,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ctrd && env.socket == "" {
				t.Skip(env.noContainerd)
			}
			id := api.JobID(i + 1)
			fc.addJob(tc.job(id), node)
			ev := fc.waitEvent(t, id, api.EventLaunchFail, eventWait)
			if !strings.Contains(ev.Message, tc.want) {
				t.Errorf("launch_failed message %q does not name %q", ev.Message, tc.want)
			}
			if diff := cmp.Diff(map[api.JobEventKind]int{api.EventLaunchFail: 1}, fc.countKinds(id)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostJobOutOfMemory(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "host-oom"
	startNode(t, fc, Config{Name: node})
	job := batchJob(1, sharedDir(t), `x=$(head -c 100000000 /dev/zero | tr '\0' a)
echo "survived ${#x}"
`)
	job.Spec.MemoryMB = 16
	fc.addJob(job, node)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if !ev.OOM {
		t.Errorf("exit event = %+v, want OOM set", ev)
	}
}

func TestKilledBeforeLaunch(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "kill-early"
	work := sharedDir(t)
	job := batchJob(1, work, "echo ran > ran\n")
	job.Kill = &api.KillRequest{State: api.JobCancelled}
	fc.addJob(job, node)
	startNode(t, fc, Config{Name: node})
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.Message == "" {
		t.Errorf("exit event = %+v, want a message saying it never launched", ev)
	}
	if _, err := os.Stat(filepath.Join(work, "ran")); err == nil {
		t.Error("the script of a job killed before launch ran")
	}
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventExited: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestHostJobOnGPUNodeCannotOpenOtherGPUs(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "gpu-node"
	startNode(t, fc, Config{Name: node, GPUs: []api.GPU{{Index: 0, Minor: 0, UUID: "GPU-fake-0", Type: "h100", Healthy: true}}})
	work := sharedDir(t)
	// A node with the first GPU's numbers (195:0), which the job was not given.
	if err := syscall.Mknod(filepath.Join(work, "gpu0"), syscall.S_IFCHR|0o666, 195<<8); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	if err := os.Chmod(filepath.Join(work, "gpu0"), 0o666); err != nil {
		t.Fatal(err)
	}
	fc.addJob(batchJob(1, work, `if head -c 1 gpu0 >/dev/null 2>err; then echo gpu=opened; else echo "gpu=$(cat err)"; fi
if head -c 1 /dev/zero >/dev/null; then echo zero=ok; fi
`), node)
	fc.waitEvent(t, 1, api.EventExited, eventWait)
	out := readFile(t, filepath.Join(work, "slurm-1.out"))
	if !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "zero=ok") {
		t.Errorf("output %q: want the GPU denied and /dev/zero allowed", out)
	}
}

func TestHeartbeatsListRunningRuns(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "heartbeat"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	fc.addJob(batchJob(5, work, waitScript), node)
	fc.waitEvent(t, 5, api.EventStarted, eventWait)
	hasRun := func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if len(fc.heartbeats) == 0 {
			return false
		}
		last := fc.heartbeats[len(fc.heartbeats)-1]
		return cmp.Equal(last.Running, []api.JobRunRef{{JobID: 5, Run: 0}})
	}
	waitFor(t, eventWait, hasRun, func() string { return "no heartbeat lists job 5 run 0" })
	release(t, work)
	fc.waitEvent(t, 5, api.EventExited, eventWait)
	waitFor(t, eventWait, func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return len(fc.heartbeats[len(fc.heartbeats)-1].Running) == 0
	}, func() string { return "heartbeats still list the ended run" })
}
