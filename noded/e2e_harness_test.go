//go:build e2e

package noded

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/containerdproc"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/testimage"
)

// env is what TestMain prepared for the tests: a private containerd and test
// images, or why there are none.
var env struct {
	socket       string // containerd socket; empty when unavailable
	noContainerd string // why there is none: the tests that need it fail
	ociArchive   string
	dockerArch   string
	rootfs       string
	noImage      string // why there are no test images: the tests that need them fail
}

// cgroupParent is the CgroupParent of the tests' nodes: one per test process,
// so test binaries running at the same time stay apart.
func cgroupParent() string { return fmt.Sprintf("fairway-nodedtest-%d", os.Getpid()) }

// ctrdNamespace is the containerd namespace the tests use.
const ctrdNamespace = "fairway-test"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "noded-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()

	env.ociArchive = filepath.Join(dir, "busybox-oci.tar")
	env.dockerArch = filepath.Join(dir, "busybox-docker.tar")
	env.rootfs = filepath.Join(dir, "rootfs")
	if err := testimage.BuildOCIArchive(ctx, env.ociArchive, testimage.Options{}); err != nil {
		env.noImage = err.Error()
	} else if err := testimage.BuildDockerArchive(ctx, env.dockerArch, testimage.Options{Ref: "fairway.test/busybox-docker:latest"}); err != nil {
		env.noImage = err.Error()
	} else if err := testimage.BuildRootFS(ctx, env.rootfs, testimage.Options{}); err != nil {
		env.noImage = err.Error()
	}

	stop := startContainerd(filepath.Join(dir, "containerd"))
	defer stop()
	code := m.Run()
	if os.Geteuid() == 0 {
		// Parent cgroups the tests' nodes left behind (the job groups are gone).
		parent := cgroupParent()
		for _, pattern := range []string{"/sys/fs/cgroup/*/" + parent + "/*", "/sys/fs/cgroup/*/" + parent, "/sys/fs/cgroup/" + parent + "/*", "/sys/fs/cgroup/" + parent} {
			dirs, _ := filepath.Glob(pattern)
			for _, d := range dirs {
				_ = os.Remove(d)
			}
		}
	}
	return code
}

// startContainerd starts a containerd of the tests' own (own root, state and
// socket, so a running one is not disturbed) when we are root and it is
// installed; it returns the function that stops it. Without them, env says why
// and the tests that need it fail.
func startContainerd(dir string) func() {
	if os.Geteuid() != 0 {
		env.noContainerd = "containerd tests need root"
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := containerdproc.Start(ctx, dir)
	if err != nil {
		env.noContainerd = err.Error()
		return func() {}
	}
	env.socket = d.Socket
	return d.Stop
}

// requireRoot fails the test when it does not run as root: the end-to-end
// tests run host jobs (cgroups, running as another user).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("end-to-end tests need root: host jobs use cgroups and run as another user")
	}
}

// requireContainerd fails the test when the tests' containerd or their
// images are missing: under the e2e tag they are required, never skipped.
func requireContainerd(t *testing.T) {
	t.Helper()
	if env.socket == "" {
		t.Fatal("end-to-end tests need containerd: " + env.noContainerd)
	}
	if env.noImage != "" {
		t.Fatal("no test image: " + env.noImage)
	}
}

// testNode is a node daemon under test.
type testNode struct {
	cfg     Config
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// startNode runs a node daemon against the fake controller until stopped or
// the test ends.
func startNode(t *testing.T, fc *fakeController, cfg Config) *testNode {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "n1"
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(sharedDir(t), "state")
	}
	cfg.ControllerAddrs = fc.addr()
	if cfg.CheckpointDirBase == "" {
		cfg.CheckpointDirBase = filepath.Join(sharedDir(t), "checkpoints")
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = 1024
	}
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.KillGrace = time.Second
	cfg.CgroupParent = cgroupParent()
	cfg.ContainerdNamespace = ctrdNamespace
	if env.socket != "" {
		cfg.ContainerdSocket = env.socket
	} else {
		cfg.ContainerdSocket = "/nonexistent/containerd.sock"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- Run(ctx, cfg) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// stop cancels the daemon's context and waits for Run to return.
func (n *testNode) stop(t *testing.T) {
	t.Helper()
	if n.stopped {
		return
	}
	n.stopped = true
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of its context being cancelled")
	}
}

// endGrace marks a job's kill request as ended early by the job
// (Kill.EndGrace), as scontrol requeue or fairway checkpoint done do.
func (f *fakeController) endGrace(id api.JobID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := *f.jobs[id].Kill
	k.EndGrace, k.EndGraceAt = true, time.Now().Unix()
	f.jobs[id].Kill = &k
	f.bump()
}

// kill sets a kill request on a running job.
func (f *fakeController) kill(id api.JobID, k api.KillRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k.RequestedAt = time.Now().Unix()
	f.jobs[id].Kill = &k
	f.bump()
}

// drop removes a job from the node's list without any report (as when the
// controller marked the node down and requeued the job elsewhere).
func (f *fakeController) drop(id api.JobID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[id].State = api.JobPending
	f.jobs[id].Alloc = nil
	f.bump()
}

func (f *fakeController) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// sharedDir makes a directory every user may write, removed after the test.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "noded-work-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func executorRef(node string, id api.JobID) executor.Ref {
	return executor.Ref{JobID: id, Node: node}
}
