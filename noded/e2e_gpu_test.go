//go:build e2e && cgo && !nonvml

package noded

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/gpu"
	"github.com/fairway-hpc/fairway/noded/gpu/nvmllib"
	"github.com/fairway-hpc/fairway/noded/gpu/nvmllib/nvmltest"
)

// fakeUVMMajor stands for nvidia-uvm's dynamic major (240-254: local use).
const fakeUVMMajor = 241

// Kernel messages for opening a device node: one whose driver is missing
// (what a job gets for its own GPUs on this driverless machine), and one the
// device cgroup denies.
const (
	noDriver = "No such device or address"
	denied   = "Operation not permitted"
)

// gpuHost is a machine with fake NVIDIA device nodes: /dev/nvidia0..N-1
// (195:N), nvidiactl (195:255) and the UVM devices (a fake major), made in a
// directory of their own; nothing answers behind them.
type gpuHost struct {
	dev string
	lib *nvmltest.Server
}

// newGPUHost makes the device nodes of n GPUs and a fake NVML with n H100s.
func newGPUHost(t *testing.T, n int) *gpuHost {
	t.Helper()
	dev := sharedDir(t)
	node := func(name string, major, minor uint32) {
		p := filepath.Join(dev, name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
			t.Skipf("cannot make device nodes here: %v", err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		node(fmt.Sprintf("nvidia%d", i), 195, uint32(i))
	}
	node("nvidiactl", 195, 255)
	node("nvidia-uvm", fakeUVMMajor, 0)
	node("nvidia-uvm-tools", fakeUVMMajor, 1)
	return &gpuHost{dev: dev, lib: nvmltest.NewH100(n)}
}

// config is a node configuration using the fake GPUs. No CDI spec and no
// driver directory unless the test sets them.
func (h *gpuHost) config(t *testing.T, name string) Config {
	t.Helper()
	lib, err := nvmllib.New(h.lib)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Name:       name,
		GPULib:     lib,
		GPUDevices: gpu.Resolver{DevDir: h.dev, ProcDevices: filepath.Join(h.dev, "no-proc-devices")},
		CDIDirs:    []string{},
		DriverDirs: []string{},
	}
}

// gpuJob returns a job given these GPUs of node.
func (h *gpuHost) gpuJob(id api.JobID, node, workDir, script string, gpus ...int) api.Job {
	job := batchJob(id, workDir, script)
	alloc := api.NodeAlloc{Node: node, CPUs: 1, MemoryMB: job.Spec.MemoryMB, GPUs: gpus}
	for _, g := range gpus {
		alloc.GPUUUIDs = append(alloc.GPUUUIDs, h.lib.UUID(g))
	}
	job.Alloc = []api.NodeAlloc{alloc}
	job.Spec.GPUs = len(gpus)
	return job
}

// probeScript prints "PATH: result" for each device node given, where the
// result is "opened" or the error's message, then the GPU variables.
func probeScript(paths ...string) string {
	return `for f in ` + strings.Join(paths, " ") + `; do
	if msg=$(head -c 1 "$f" 2>&1 >/dev/null); then echo "$f: opened"; else echo "$f: ${msg##*: }"; fi
done
env | grep -E '^(CUDA_|GPU_DEVICE|NVIDIA_VISIBLE|FAIRWAY_GPU|SLURM_JOB_GPUS|SLURM_GPUS_ON|FAKE_CDI)' | sort
`
}

// gpuEnv is the GPU environment of a job given GPUs 1 and 3 of h.
func (h *gpuHost) gpuEnv13() []string {
	uuids := h.lib.UUID(1) + "," + h.lib.UUID(3)
	return []string{
		"CUDA_DEVICE_ORDER=PCI_BUS_ID",
		"CUDA_VISIBLE_DEVICES=0,1",
		"FAIRWAY_GPU_UUIDS=" + uuids,
		"GPU_DEVICE_ORDINAL=0,1",
		"NVIDIA_VISIBLE_DEVICES=" + uuids,
		"SLURM_GPUS_ON_NODE=2",
		"SLURM_JOB_GPUS=1,3",
	}
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// TestContainerJobSeesExactlyItsGPUs: a container job given GPUs 1 and 3 of
// a 4-GPU node has exactly those two GPU device nodes (runc makes them from
// the fake numbers); opening them fails only for want of a driver, while
// the unassigned GPUs' nodes, bind-mounted in, are denied by the device
// cgroup. The driver's user space comes from the node's CDI spec, without
// the spec's device nodes, and the job's GPU variables win over the spec's.
func TestContainerJobSeesExactlyItsGPUs(t *testing.T) {
	requireContainerd(t)
	t.Parallel()
	h := newGPUHost(t, 4)
	node := "gpu-ctr"
	cfg := h.config(t, node)
	cdiDir, lib := sharedDir(t), sharedDir(t)
	if err := os.WriteFile(filepath.Join(lib, "libcuda.so.1"), []byte("fake driver library\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`cdiVersion: "0.6.0"
kind: nvidia.com/gpu
devices:
- name: "1"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
- name: "3"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia3
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  - FAKE_CDI=1
  deviceNodes:
  - path: /dev/nvidia-modeset
  mounts:
  - hostPath: %s
    containerPath: /usr/lib/fake-nvidia/libcuda.so.1
    options: [ro, nosuid, nodev, bind]
`, filepath.Join(lib, "libcuda.so.1"))
	if err := os.WriteFile(filepath.Join(cdiDir, "nvidia.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.CDIDirs = []string{cdiDir}
	fc := newFakeController(t)
	startNode(t, fc, cfg)

	work := sharedDir(t)
	job := h.gpuJob(1, node, work, `echo "gpu nodes: $(ls /dev | grep -E '^nvidia[0-9]+$' | tr '\n' ' ')"
ls /dev/nvidia-modeset 2>/dev/null || echo "no nvidia-modeset"
cat /usr/lib/fake-nvidia/libcuda.so.1
`+probeScript("/dev/nvidia1", "/dev/nvidia3", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
		"/hostdev/nvidia0", "/hostdev/nvidia1", "/hostdev/nvidia2", "/hostdev/nvidiactl"), 1, 3)
	job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
	job.Spec.ContainerMounts = []api.Mount{{Source: h.dev, Target: "/hostdev"}}
	fc.addJob(job, node)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 0 || ev.Signal != 0 {
		t.Errorf("exit event = %+v, want success", ev)
	}
	want := append([]string{
		"gpu nodes: nvidia1 nvidia3 ",
		"no nvidia-modeset",
		"fake driver library",
		"/dev/nvidia1: " + noDriver,
		"/dev/nvidia3: " + noDriver,
		"/dev/nvidiactl: " + noDriver,
		"/dev/nvidia-uvm: " + noDriver,
		"/dev/nvidia-uvm-tools: " + noDriver,
		"/hostdev/nvidia0: " + denied,
		"/hostdev/nvidia1: " + noDriver, // the same device as /dev/nvidia1
		"/hostdev/nvidia2: " + denied,
		"/hostdev/nvidiactl: " + noDriver,
	}, sorted(append(h.gpuEnv13(), "FAKE_CDI=1"))...)
	if diff := cmp.Diff(want, lines(readFile(t, filepath.Join(work, "slurm-1.out")))); diff != "" {
		t.Errorf("job output (-want +got):\n%s", diff)
	}
	waitNoContainer(t, node, 1)
}

// TestHostJobCanOpenOnlyItsGPUs: the same for a host job, through its device
// cgroup: all the node's GPU device nodes are there, and only its own two
// (and the control and UVM devices) open as far as the missing driver lets.
func TestHostJobCanOpenOnlyItsGPUs(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	h := newGPUHost(t, 4)
	node := "gpu-host"
	fc := newFakeController(t)
	startNode(t, fc, h.config(t, node))
	work := sharedDir(t)
	var paths []string
	for _, n := range []string{"nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"} {
		paths = append(paths, filepath.Join(h.dev, n))
	}
	fc.addJob(h.gpuJob(1, node, work, probeScript(paths...), 1, 3), node)
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.ExitCode != 0 || ev.Signal != 0 {
		t.Errorf("exit event = %+v, want success", ev)
	}
	want := append([]string{
		paths[0] + ": " + denied,
		paths[1] + ": " + noDriver,
		paths[2] + ": " + denied,
		paths[3] + ": " + noDriver,
		paths[4] + ": " + noDriver,
		paths[5] + ": " + noDriver,
		paths[6] + ": " + noDriver,
	}, h.gpuEnv13()...)
	if diff := cmp.Diff(want, lines(readFile(t, filepath.Join(work, "slurm-1.out")))); diff != "" {
		t.Errorf("job output (-want +got):\n%s", diff)
	}
}

// TestCPUJobCannotOpenGPUDevices: next to a running GPU job, a job without
// GPUs (host or container) cannot open /dev/nvidiactl, nor any GPU.
func TestCPUJobCannotOpenGPUDevices(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	h := newGPUHost(t, 2)
	node := "gpu-mixed"
	fc := newFakeController(t)
	startNode(t, fc, h.config(t, node))
	ctl, gpu0 := filepath.Join(h.dev, "nvidiactl"), filepath.Join(h.dev, "nvidia0")

	gpuWork := sharedDir(t)
	fc.addJob(h.gpuJob(1, node, gpuWork, probeScript(ctl)+waitScript, 0), node)
	waitFor(t, eventWait, func() bool {
		return strings.Contains(readFile(t, filepath.Join(gpuWork, "slurm-1.out")), "CUDA_VISIBLE_DEVICES")
	},
		func() string { return "the GPU job did not start" })

	cpuWork := sharedDir(t)
	fc.addJob(batchJob(2, cpuWork, probeScript(ctl, gpu0)), node)
	fc.waitEvent(t, 2, api.EventExited, eventWait)
	want := []string{ctl + ": " + denied, gpu0 + ": " + denied}
	if diff := cmp.Diff(want, lines(readFile(t, filepath.Join(cpuWork, "slurm-2.out")))); diff != "" {
		t.Errorf("CPU-only host job output (-want +got):\n%s", diff)
	}

	if env.socket != "" && env.noImage == "" {
		ctrWork := sharedDir(t)
		job := batchJob(3, ctrWork, probeScript("/hostdev/nvidiactl", "/hostdev/nvidia0"))
		job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
		job.Spec.ContainerMounts = []api.Mount{{Source: h.dev, Target: "/hostdev"}}
		fc.addJob(job, node)
		fc.waitEvent(t, 3, api.EventExited, eventWait)
		want := []string{"/hostdev/nvidiactl: " + denied, "/hostdev/nvidia0: " + denied}
		if diff := cmp.Diff(want, lines(readFile(t, filepath.Join(ctrWork, "slurm-3.out")))); diff != "" {
			t.Errorf("CPU-only container job output (-want +got):\n%s", diff)
		}
		// Its container goes before the test ends: a shim left behind
		// outlives the tests' containerd.
		waitNoContainer(t, node, 3)
	} else {
		t.Logf("container part skipped: %s%s", env.noContainerd, env.noImage)
	}

	release(t, gpuWork)
	fc.waitEvent(t, 1, api.EventExited, eventWait)
	got := lines(readFile(t, filepath.Join(gpuWork, "slurm-1.out")))
	if len(got) == 0 || got[0] != ctl+": "+noDriver {
		t.Errorf("GPU job output %q, want it to open %s (failing only for want of a driver)", got, ctl)
	}
}

// registeredGPUs returns the GPUs of the node's last registration.
func registeredGPUs(fc *fakeController, node string) []api.GPU {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.registered[node].Resources.GPUs
}

// TestUnhealthyGPUIsWithdrawn: an XID 79 event on GPU 2 (from the fake
// NVML) re-registers the node with GPU 2 unhealthy, ends the job on it as
// lost (the controller requeues it or ends it NODE_FAIL), and a job placed
// on it afterwards is not started; an application XID leaves GPU 1 and its
// job alone; uncorrected ECC errors found by polling withdraw GPU 3.
func TestUnhealthyGPUIsWithdrawn(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	h := newGPUHost(t, 4)
	node := "gpu-health"
	cfg := h.config(t, node)
	cfg.GPUCheckInterval = 50 * time.Millisecond
	fc := newFakeController(t)
	startNode(t, fc, cfg)
	waitFor(t, eventWait, func() bool { return len(registeredGPUs(fc, node)) == 4 },
		func() string { return "the node did not register its 4 GPUs" })
	for _, g := range registeredGPUs(fc, node) {
		if !g.Healthy || g.Type != "h100" || g.UUID != h.lib.UUID(g.Index) {
			t.Errorf("registered GPU %+v, want a healthy h100 with the NVML UUID", g)
		}
	}

	work1, work2 := sharedDir(t), sharedDir(t)
	fc.addJob(h.gpuJob(1, node, work1, waitScript, 2), node)
	fc.addJob(h.gpuJob(2, node, work2, waitScript, 1), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	fc.waitEvent(t, 2, api.EventStarted, eventWait)

	h.lib.InjectXID(1, 13) // an application's illegal memory access
	h.lib.InjectXID(2, 79) // GPU 2 fell off the bus
	waitFor(t, eventWait, func() bool { return !registeredGPUs(fc, node)[2].Healthy },
		func() string { return fmt.Sprintf("GPU 2 still registered healthy: %+v", registeredGPUs(fc, node)) })
	gpus := registeredGPUs(fc, node)
	if got := gpus[2].HealthReason; got != "XID 79 critical error" {
		t.Errorf("GPU 2 health reason %q, want the XID", got)
	}
	if !gpus[1].Healthy || !gpus[0].Healthy || !gpus[3].Healthy {
		t.Errorf("registered GPUs %+v: only GPU 2 should be unhealthy", gpus)
	}
	ev := fc.waitEvent(t, 1, api.EventLost, eventWait)
	if want := fmt.Sprintf("GPU 2 (%s) failed its health check: XID 79 critical error", h.lib.UUID(2)); ev.Message != want {
		t.Errorf("lost event message %q, want %q", ev.Message, want)
	}

	// A controller that had not yet heard places a job on GPU 2.
	work3 := sharedDir(t)
	fc.addJob(h.gpuJob(3, node, work3, "echo ran > ran\n", 2), node)
	ev = fc.waitEvent(t, 3, api.EventLost, eventWait)
	if !strings.HasPrefix(ev.Message, "not started: GPU 2") {
		t.Errorf("lost event of the job placed on GPU 2: %+v", ev)
	}
	if _, err := os.Stat(filepath.Join(work3, "ran")); err == nil {
		t.Error("the job placed on the unhealthy GPU ran")
	}

	h.lib.SetECCErrors(3, 2)
	waitFor(t, eventWait, func() bool { return !registeredGPUs(fc, node)[3].Healthy },
		func() string { return "GPU 3 with uncorrected ECC errors still registered healthy" })
	if got := registeredGPUs(fc, node)[3].HealthReason; got != "2 uncorrected ECC errors" {
		t.Errorf("GPU 3 health reason %q", got)
	}

	// GPU 1's job was left alone.
	release(t, work2)
	ev = fc.waitEvent(t, 2, api.EventExited, eventWait)
	if ev.ExitCode != 0 || ev.Signal != 0 {
		t.Errorf("job 2 exit event = %+v, want success", ev)
	}
	want := map[api.JobEventKind]int{api.EventStarted: 1, api.EventLost: 1}
	if diff := cmp.Diff(want, fc.countKinds(1)); diff != "" {
		t.Errorf("job 1 events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventLost: 1}, fc.countKinds(3)); diff != "" {
		t.Errorf("job 3 events (-want +got):\n%s", diff)
	}
}

// TestGPUMetrics: /metrics has per-GPU use, health and allocation.
func TestGPUMetrics(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	h := newGPUHost(t, 2)
	node := "gpu-metrics"
	cfg := h.config(t, node)
	cfg.ListenAddr = "127.0.0.1:0"
	fc := newFakeController(t)
	startNode(t, fc, cfg)
	h.lib.SetUtilization(1, 55)
	work := sharedDir(t)
	fc.addJob(h.gpuJob(1, node, work, waitScript, 1), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	var addr string
	waitFor(t, eventWait, func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		addr = fc.registered[node].Addr
		return addr != ""
	}, func() string { return "node registered no address" })
	// GPU 1 runs job 1: its series name the job (hpc_job, as
	// dcgm-exporter labels them); GPU 0 is free.
	labels := func(i int) string {
		job := map[int]string{1: "1"}[i]
		return fmt.Sprintf(`{gpu="%d",hpc_job="%s",node="%s",type="h100",uuid="%s"}`, i, job, node, h.lib.UUID(i))
	}
	scrape := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := scrape()
	for _, want := range []string{
		"fairway_noded_gpu_allocated" + labels(0) + " 0",
		"fairway_noded_gpu_allocated" + labels(1) + " 1",
		"fairway_noded_gpu_healthy" + labels(1) + " 1",
		"fairway_noded_gpu_utilization_percent" + labels(1) + " 55",
		"fairway_noded_gpu_memory_total_bytes" + labels(0) + " 8.589934592e+10",
		"fairway_noded_gpu_temperature_celsius" + labels(0) + " 41",
		"fairway_noded_gpu_power_watts" + labels(0) + " 72.5",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	h.lib.InjectXID(0, 48)
	waitFor(t, eventWait, func() bool { return strings.Contains(scrape(), "fairway_noded_gpu_healthy"+labels(0)+" 0") },
		func() string { return "GPU 0 not shown unhealthy after a double-bit ECC XID" })
	release(t, work)
	fc.waitEvent(t, 1, api.EventExited, eventWait)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
