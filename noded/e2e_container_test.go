//go:build e2e

package noded

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/executor/container"
)

func TestContainerJobs(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ctr-run"
	startNode(t, fc, Config{Name: node})
	script := `echo "hello from $(cat /etc/passwd | head -c 4) uid=$(id -u) job=$SLURM_JOB_ID cwd=$(pwd) args=$*"
echo oops >&2
echo data > written-inside
`
	tests := []struct {
		name       string
		image      string
		stderr     bool // a separate stderr file
		wantStdout string
	}{
		{"oci archive", "oci-archive:" + env.ociArchive, false, "hello from root uid=65534 job=%d cwd=%s args=x y\noops\n"},
		{"docker archive with its own stderr file", "docker-archive:" + env.dockerArch, true, "hello from root uid=65534 job=%d cwd=%s args=x y\n"},
		{"root fs directory", "dir:" + env.rootfs, false, "hello from root uid=65534 job=%d cwd=%s args=x y\noops\n"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := api.JobID(i + 1)
			work := sharedDir(t)
			job := batchJob(id, work, script)
			job.Spec.ContainerImage = tc.image
			job.Spec.Args = []string{"x", "y"}
			if tc.stderr {
				job.StderrPath = filepath.Join(work, "err.txt")
			}
			fc.addJob(job, node)
			ev := fc.waitEvent(t, id, api.EventExited, eventWait)
			if ev.ExitCode != 0 || ev.Signal != 0 {
				t.Errorf("exit event = %+v, want success", ev)
			}
			want := fmt.Sprintf(tc.wantStdout, id, work)
			if got := readFile(t, filepath.Join(work, fmt.Sprintf("slurm-%d.out", id))); got != want {
				t.Errorf("stdout file holds %q, want %q", got, want)
			}
			if tc.stderr {
				if got := readFile(t, filepath.Join(work, "err.txt")); got != "oops\n" {
					t.Errorf("stderr file holds %q, want %q", got, "oops\n")
				}
			}
			if got := readFile(t, filepath.Join(work, "written-inside")); got != "data\n" {
				t.Errorf("file written in the work dir holds %q, want %q", got, "data\n")
			}
			waitNoContainer(t, node, id)
		})
	}
}

func TestContainerJobKillLeavesNothing(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ctr-kill"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	job := batchJob(1, work, "echo up\nsleep 300\necho not reached\n")
	job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
	fc.addJob(job, node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "slurm-1.out")) == "up\n" },
		func() string { return "container script did not start" })
	if n := containersOf(t, node, 1); n != 1 {
		t.Fatalf("%d containers for the running job, want 1", n)
	}
	if !snapshotExists(t, container.ContainerID(executorRef(node, 1))) {
		t.Fatal("no snapshot for the running job's container")
	}

	fc.kill(1, api.KillRequest{State: api.JobCancelled, GraceSecs: 1})
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.Signal != int(syscall.SIGTERM) || ev.ExitCode != 0 {
		t.Errorf("exit event = %+v, want killed by SIGTERM", ev)
	}
	if strings.Contains(readFile(t, filepath.Join(work, "slurm-1.out")), "not reached") {
		t.Error("the script went on after the kill")
	}
	waitNoContainer(t, node, 1)
}

func TestContainerJobSurvivesRestart(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ctr-restart"
	state := filepath.Join(sharedDir(t), "state")
	n := startNode(t, fc, Config{Name: node, StateDir: state})
	work := sharedDir(t)
	job := batchJob(1, work, waitScript+"echo finished\nexit 4\n")
	job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
	fc.addJob(job, node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	waitStartAcked(t, state, 1)

	n.stop(t)
	release(t, work)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "slurm-1.out")) == "finished\n" },
		func() string { return "container job did not finish while the daemon was down" })
	startNode(t, fc, Config{Name: node, StateDir: state})
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 4 {
		t.Errorf("exit event = %+v, want exit code 4", ev)
	}
	waitNoContainer(t, node, 1)
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1, api.EventExited: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// containersOf counts the containers of a node's job, with their tasks.
func containersOf(t *testing.T, node string, id api.JobID) int {
	t.Helper()
	c, err := client.New(env.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	ctrs, err := c.Containers(ctx, fmt.Sprintf(`labels.%q==%q,labels.%q==%q`, container.LabelNode, node, container.LabelJob, id.String()))
	if err != nil {
		t.Fatal(err)
	}
	return len(ctrs)
}

// waitNoContainer waits until the job's container (and so its task) is gone.
func waitNoContainer(t *testing.T, node string, id api.JobID) {
	t.Helper()
	waitFor(t, eventWait, func() bool { return containersOf(t, node, id) == 0 },
		func() string { return fmt.Sprintf("container of job %d still there", id) })
	c, err := client.New(env.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	tasks, err := c.TaskService().List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cid := container.ContainerID(executorRef(node, id))
	for _, tk := range tasks.Tasks {
		if tk.ID == cid {
			t.Errorf("task %s still there", tk.ID)
		}
	}
	if snapshotExists(t, cid) {
		t.Errorf("snapshot %s still there", cid)
	}
}

func snapshotExists(t *testing.T, key string) bool {
	t.Helper()
	c, err := client.New(env.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	_, err = c.SnapshotService("overlayfs").Stat(ctx, key)
	return err == nil
}

func TestMetricsAndHealth(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "metrics"
	n := startNode(t, fc, Config{Name: node, ListenAddr: "127.0.0.1:0"})
	_ = n
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, "exit 2\n"), node)
	fc.waitEvent(t, 1, api.EventExited, eventWait)

	var addr string
	waitFor(t, eventWait, func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		addr = fc.registered[node].Addr
		return addr != ""
	}, func() string { return "node registered no address" })
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	if got := get("/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	body := get("/metrics")
	for _, want := range []string{
		`fairway_noded_jobs_launched_total{executor="host",node="metrics"} 1`,
		`fairway_noded_jobs_ended_total{node="metrics",state="failed"} 1`,
		`fairway_noded_running_jobs{node="metrics"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRecordedRunWithoutTraceIsLost(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "lost"
	state := filepath.Join(sharedDir(t), "state")
	// An earlier daemon recorded the run (and may have launched it), then the
	// host rebooted: no process, no cgroup, no exit status.
	st, err := newStore(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.save(&record{JobID: 1, Run: 0, Executor: kindHost, Launched: true, StartedReported: true}); err != nil {
		t.Fatal(err)
	}
	fc.addJob(batchJob(1, sharedDir(t), "true\n"), node)
	startNode(t, fc, Config{Name: node, StateDir: state})
	ev := fc.waitEvent(t, 1, api.EventLost, eventWait)
	if ev.Run != 0 || ev.Node != node {
		t.Errorf("lost event = %+v, want run 0 on %s", ev, node)
	}
	time.Sleep(300 * time.Millisecond)
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventLost: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestContainerJobOutOfMemory(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ctr-oom"
	startNode(t, fc, Config{Name: node})
	job := batchJob(1, sharedDir(t), `x=$(head -c 100000000 /dev/zero | tr '\0' a)
echo "survived ${#x}"
`)
	job.Spec.MemoryMB = 16
	job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
	fc.addJob(job, node)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if !ev.OOM {
		t.Errorf("exit event = %+v, want OOM set", ev)
	}
	waitNoContainer(t, node, 1)
}

// TestContainerJobOverStaleRuncState: runc state left for a run's container
// ID (a start aborted before runc wrote its state) does not keep the run from
// launching: the node removes it and the job runs.
func TestContainerJobOverStaleRuncState(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ctr-stale"
	id := api.JobID(1)
	stale := filepath.Join("/run/containerd/runc", ctrdNamespace, container.ContainerID(executor.Ref{Node: node, JobID: id, Run: 0}))
	if err := os.MkdirAll(stale, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale) })
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	job := batchJob(id, work, "echo ran\n")
	job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
	fc.addJob(job, node)
	ev := fc.waitEvent(t, id, api.EventExited, eventWait)
	if ev.ExitCode != 0 || ev.Signal != 0 {
		t.Errorf("exit event = %+v, want success", ev)
	}
	if got := readFile(t, filepath.Join(work, "slurm-1.out")); got != "ran\n" {
		t.Errorf("stdout file holds %q, want %q", got, "ran\n")
	}
	waitNoContainer(t, node, id)
}
