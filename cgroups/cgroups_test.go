package cgroups

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	occgroups "github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"golang.org/x/sys/unix"
)

func TestResources(t *testing.T) {
	allowAll := []*devconfig.Rule{{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm", Allow: true}}
	denyAll := &devconfig.Rule{Type: 'a', Major: -1, Minor: -1, Permissions: "rwm", Allow: false}
	gpuRules := []DeviceRule{
		{Type: CharDevice, Major: 1, Minor: 3},                   // /dev/null
		{Type: CharDevice, Major: 195, Minor: 0, Access: "rw"},   // /dev/nvidia0
		{Type: CharDevice, Major: 195, Minor: 255, Access: "rw"}, // /dev/nvidiactl
		{Type: CharDevice, Major: 238, Minor: Wildcard},          // nvidia-uvm
		{Type: BlockDevice, Major: Wildcard, Minor: Wildcard, Access: "m"},
	}
	gpuWant := []*devconfig.Rule{
		denyAll,
		{Type: 'c', Major: 1, Minor: 3, Permissions: "rwm", Allow: true},
		{Type: 'c', Major: 195, Minor: 0, Permissions: "rw", Allow: true},
		{Type: 'c', Major: 195, Minor: 255, Permissions: "rw", Allow: true},
		{Type: 'c', Major: 238, Minor: -1, Permissions: "rwm", Allow: true},
		{Type: 'b', Major: -1, Minor: -1, Permissions: "m", Allow: true},
	}
	tests := []struct {
		name    string
		spec    Spec
		version Version
		want    *occgroups.Resources
	}{
		{
			name:    "no limits allows every device",
			spec:    Spec{Path: "/x"},
			version: V1,
			want:    &occgroups.Resources{Devices: allowAll},
		},
		{
			name:    "v1 cpu and memory",
			spec:    Spec{Path: "/x", CPUs: 1.5, MemoryBytes: 64 << 20},
			version: V1,
			want: &occgroups.Resources{
				CpuPeriod: 100000, CpuQuota: 150000, CpuShares: 1536,
				Memory: 64 << 20, Devices: allowAll,
			},
		},
		{
			name:    "v2 cpu and memory use a weight instead of shares",
			spec:    Spec{Path: "/x", CPUs: 2, MemoryBytes: 1 << 30},
			version: V2,
			want: &occgroups.Resources{
				CpuPeriod: 100000, CpuQuota: 200000,
				CpuWeight: occgroups.ConvertCPUSharesToCgroupV2Value(2048),
				Memory:    1 << 30, Devices: allowAll,
			},
		},
		{
			name:    "tiny cpu share is raised to the kernel minimum quota",
			spec:    Spec{Path: "/x", CPUs: 0.001},
			version: V1,
			want:    &occgroups.Resources{CpuPeriod: 100000, CpuQuota: 1000, CpuShares: 1, Devices: allowAll},
		},
		{
			name:    "v2 GPU allow-list denies everything else first",
			spec:    Spec{Path: "/x", DenyAllOthers: true, Devices: gpuRules},
			version: V2,
			want:    &occgroups.Resources{Devices: gpuWant},
		},
		{
			name:    "v1 allow-list is the same rule list",
			spec:    Spec{Path: "/x", DenyAllOthers: true, Devices: gpuRules},
			version: V1,
			want:    &occgroups.Resources{Devices: gpuWant},
		},
		{
			name:    "rules without DenyAllOthers allow everything",
			spec:    Spec{Path: "/x", Devices: gpuRules},
			version: V2,
			want:    &occgroups.Resources{Devices: allowAll},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resources(tc.spec, tc.version)
			if err != nil {
				t.Fatalf("resources: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResourcesRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"negative cpus", Spec{CPUs: -1}, "cpus"},
		{"negative memory", Spec{MemoryBytes: -1}, "memory"},
		{"bad device type", Spec{DenyAllOthers: true, Devices: []DeviceRule{{Type: 'x', Major: 1, Minor: 1}}}, "type"},
		{"bad access", Spec{DenyAllOthers: true, Devices: []DeviceRule{{Type: 'c', Major: 1, Minor: 1, Access: "rx"}}}, "access"},
		{"bad major", Spec{DenyAllOthers: true, Devices: []DeviceRule{{Type: 'c', Major: -2, Minor: 1}}}, "major"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resources(tc.spec, V2)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("resources(%+v) error = %v, want one mentioning %q", tc.spec, err, tc.want)
			}
		})
	}
}

func TestDeviceRuleString(t *testing.T) {
	tests := []struct {
		rule DeviceRule
		want string
	}{
		{DeviceRule{Type: CharDevice, Major: 195, Minor: 0, Access: "rw"}, "c 195:0 rw"},
		{DeviceRule{Type: AnyDevice, Major: Wildcard, Minor: Wildcard}, "a *:* rwm"},
	}
	for _, tc := range tests {
		if got := tc.rule.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestNewRejectsRelativePath(t *testing.T) {
	for _, p := range []string{"", "rel/path", "/", "/a/../b"} {
		if _, err := New(context.Background(), Spec{Path: p}); err == nil {
			t.Errorf("New(Path: %q) succeeded, want an error", p)
		}
	}
}

// requireRootV1 skips a test that needs root on a cgroup v1 host.
func requireRootV1(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	if Detect() != V1 {
		t.Skip("host is cgroup v2; this test checks v1 files")
	}
}

func testPath(t *testing.T) string {
	return fmt.Sprintf("%s/%s", testParent(), strings.ReplaceAll(t.Name(), "/", "_"))
}

// testParent is the cgroup holding this test process's groups; its own, so
// that test binaries running at the same time do not remove each other's.
func testParent() string {
	return fmt.Sprintf("/fairway-cgtest-%d", os.Getpid())
}

// startBlocked starts "sh -c script" waiting for a line on stdin, so the
// caller can move it into a cgroup before it does anything.
func startBlocked(t *testing.T, script string) (*exec.Cmd, io.WriteCloser, *syncBuffer) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read -r go; "+script)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, in, out
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestV1LimitsProcsAndKill(t *testing.T) {
	requireRootV1(t)
	ctx := context.Background()
	g, err := New(ctx, Spec{Path: testPath(t), CPUs: 0.5, MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(ctx); _ = g.Destroy() })

	if got := readFile(t, g.Dir("memory"), "memory.limit_in_bytes"); got != fmt.Sprint(32<<20) {
		t.Errorf("memory.limit_in_bytes = %s, want %d", got, 32<<20)
	}
	if got := readFile(t, g.Dir("cpu"), "cpu.cfs_quota_us"); got != "50000" {
		t.Errorf("cpu.cfs_quota_us = %s, want 50000", got)
	}
	if got := readFile(t, g.Dir("devices"), "devices.list"); got != "a *:* rwm" {
		t.Errorf("devices.list = %q, want every device allowed", got)
	}

	cmd, in, _ := startBlocked(t, "sleep 300 & sleep 300 & wait")
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	// The shell and its two sleeps end up in the group.
	deadline := time.Now().Add(10 * time.Second)
	var pids []int
	for time.Now().Before(deadline) {
		if pids, err = g.Procs(); err != nil {
			t.Fatal(err)
		}
		if len(pids) == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(pids) != 3 || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("Procs() = %v, want the shell %d and its two children", pids, cmd.Process.Pid)
	}

	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryUsageBytes == 0 {
		t.Errorf("Stats().MemoryUsageBytes = 0 with three processes in the group")
	}

	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := g.Kill(kctx); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("shell ended with %v, want killed by SIGKILL", err)
	}
	if pids, _ := g.Procs(); len(pids) != 0 {
		t.Errorf("Procs() after Kill = %v, want none", pids)
	}
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Dir("memory")); !os.IsNotExist(err) {
		t.Errorf("memory cgroup dir still there after Destroy: %v", err)
	}
}

func TestV1SignalReachesEveryProcess(t *testing.T) {
	requireRootV1(t)
	ctx := context.Background()
	g, err := New(ctx, Spec{Path: testPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(ctx); _ = g.Destroy() })
	// The child traps USR1 and reports it; the parent reports it too.
	cmd, in, out := startBlocked(t, `trap 'echo parent-usr1; exit 0' USR1
sh -c 'trap "echo child-usr1; exit 0" USR1; echo ready; while :; do sleep 0.05; done' &
while :; do sleep 0.05; done`)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	waitFor(t, func() bool {
		pids, _ := g.Procs()
		return len(pids) >= 3 && strings.Contains(out.String(), "ready")
	})
	if err := g.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, func() bool { return strings.Contains(out.String(), "child-usr1") })
	if !strings.Contains(out.String(), "parent-usr1") {
		t.Errorf("output %q: parent did not get USR1", out.String())
	}
}

func TestV1OOMKillCounted(t *testing.T) {
	requireRootV1(t)
	ctx := context.Background()
	g, err := New(ctx, Spec{Path: testPath(t), MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(ctx); _ = g.Destroy() })
	// A shell variable of 64 MiB cannot fit in 16 MiB.
	cmd, in, _ := startBlocked(t, `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo ${#x}`)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	_ = cmd.Wait()
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.OOMKills == 0 {
		t.Errorf("Stats().OOMKills = 0 after a process outgrew the limit (%+v)", st)
	}
}

func TestLoadFindsExistingGroup(t *testing.T) {
	requireRootV1(t)
	ctx := context.Background()
	p := testPath(t)
	if _, err := Load(p); err == nil {
		t.Fatalf("Load(%s) of a missing group succeeded", p)
	}
	g, err := New(ctx, Spec{Path: p, MemoryBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Destroy() })
	cmd, in, _ := startBlocked(t, "exec sleep 300")
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	in.Close()

	again, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := again.Procs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{cmd.Process.Pid}, pids); diff != "" {
		t.Errorf("Procs() of loaded group (-want +got):\n%s", diff)
	}
	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := again.Kill(kctx); err != nil {
		t.Fatal(err)
	}
	if err := again.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// TestV2DeviceAllowList runs the v2 code path (eBPF device filter) against the
// unified hierarchy. On a hybrid host that hierarchy has no controllers, but
// the device filter is not a controller, so the allow-list is enforced there
// just as on a pure v2 host.
func TestV2DeviceAllowList(t *testing.T) {
	root := v2TestRoot(t)
	ctx := context.Background()
	g, err := newGroup(ctx, Spec{
		Path:          testPath(t),
		DenyAllOthers: true,
		Devices: []DeviceRule{
			{Type: CharDevice, Major: 1, Minor: 3}, // /dev/null
		},
	}, V2, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(ctx); _ = g.Destroy() })
	if g.Version() != V2 {
		t.Fatalf("Version() = %v, want v2", g.Version())
	}
	cmd, in, out := startBlocked(t, `
if head -c 1 /dev/null; then echo null=ok; else echo null=denied; fi
if head -c 1 /dev/zero >/dev/null; then echo zero=ok; else echo zero=denied; fi`)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	_ = cmd.Wait()
	got := out.String()
	for _, want := range []string{"null=ok", "zero=denied", "Operation not permitted"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

// TestV2GPUAllowList runs a GPU job's rules through the v2 eBPF device
// filter: of two fake GPU device nodes (195:0 and 195:1, no driver behind
// them), only the allowed one opens as far as the missing driver lets; the
// other is denied.
func TestV2GPUAllowList(t *testing.T) {
	root := v2TestRoot(t)
	dir := t.TempDir()
	for minor := uint32(0); minor < 2; minor++ {
		name := filepath.Join(dir, fmt.Sprintf("nvidia%d", minor))
		if err := unix.Mknod(name, unix.S_IFCHR|0o666, int(unix.Mkdev(195, minor))); err != nil {
			t.Skipf("cannot make device nodes here: %v", err)
		}
	}
	ctx := context.Background()
	g, err := newGroup(ctx, Spec{
		Path:          testPath(t),
		DenyAllOthers: true,
		Devices: []DeviceRule{
			{Type: CharDevice, Major: 1, Minor: 3},                 // /dev/null
			{Type: CharDevice, Major: 195, Minor: 1, Access: "rw"}, // the job's GPU
		},
	}, V2, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Kill(ctx); _ = g.Destroy() })
	cmd, in, out := startBlocked(t, `
for f in `+dir+`/nvidia0 `+dir+`/nvidia1; do
	if msg=$(head -c 1 "$f" 2>&1 >/dev/null); then echo "$f: opened"; else echo "$f: ${msg##*: }"; fi
done`)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "go")
	_ = cmd.Wait()
	want := dir + "/nvidia0: Operation not permitted\n" + dir + "/nvidia1: No such device or address\n"
	if got := out.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// v2TestRoot returns the cgroup v2 hierarchy to test the v2 code on: the
// host's on a v2 host, the unified one of a hybrid v1 host.
func v2TestRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	root := v2Root
	if Detect() == V1 {
		root = "/sys/fs/cgroup/unified"
		var st unix.Statfs_t
		if err := unix.Statfs(root, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
			t.Skipf("no cgroup v2 hierarchy at %s on this v1 host", root)
		}
	}
	return root
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMain removes the parent groups the tests leave behind (each test removes
// its own group).
func TestMain(m *testing.M) {
	code := m.Run()
	if os.Geteuid() == 0 {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + testParent())
		for _, d := range dirs {
			_ = os.Remove(d)
		}
		_ = os.Remove("/sys/fs/cgroup" + testParent())
	}
	os.Exit(code)
}
