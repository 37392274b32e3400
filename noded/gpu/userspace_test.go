package gpu

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeCDISpec is what `nvidia-ctk cdi generate` writes, cut down: GPU 0 by
// index and UUID, and common edits with a device node (which Edit leaves to
// Resolver), a library mount, an environment variable and a hook.
const fakeCDISpec = `cdiVersion: "0.6.0"
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
- name: GPU-0
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  deviceNodes:
  - path: /dev/nvidia-modeset
  - path: /dev/nvidiactl
  mounts:
  - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06
    containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06
    options: [ro, nosuid, nodev, bind]
  hooks:
  - hookName: createContainer
    path: /usr/bin/nvidia-cdi-hook
    args: [nvidia-cdi-hook, update-ldcache, --folder, /usr/lib/x86_64-linux-gnu]
`

func applyEdit(t *testing.T, edit func(*specs.Spec) error) *specs.Spec {
	t.Helper()
	s := &specs.Spec{Process: &specs.Process{Env: []string{"PATH=/usr/bin:/bin", "HOME=/"}}, Linux: &specs.Linux{}}
	if edit == nil {
		t.Fatal("no edit")
	}
	if err := edit(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUserSpaceFromCDI(t *testing.T) {
	cdiDir := t.TempDir()
	file := writeFile(t, filepath.Join(cdiDir, "nvidia.yaml"), fakeCDISpec)
	u := UserSpace{CDIDirs: []string{cdiDir, filepath.Join(t.TempDir(), "missing")}, DriverDirs: []string{}}
	for _, dev := range []Device{{Index: 0, UUID: "GPU-0"}, {Index: 0, UUID: "GPU-other"}} {
		edit, source, err := u.Edit([]Device{dev})
		if err != nil {
			t.Fatal(err)
		}
		if source != "cdi:"+file {
			t.Errorf("source of %+v = %q, want cdi:%s", dev, source, file)
		}
		s := applyEdit(t, edit)
		if len(s.Linux.Devices) != 0 {
			t.Errorf("CDI device nodes were added: %+v", s.Linux.Devices)
		}
		if len(s.Mounts) != 1 || s.Mounts[0].Destination != "/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06" {
			t.Errorf("mounts = %+v, want the CDI spec's library", s.Mounts)
		}
		if s.Hooks == nil || len(s.Hooks.CreateContainer) != 1 || s.Hooks.CreateContainer[0].Path != "/usr/bin/nvidia-cdi-hook" {
			t.Errorf("hooks = %+v, want the CDI spec's createContainer hook", s.Hooks)
		}
		if diff := cmp.Diff([]string{"PATH=/usr/bin:/bin", "HOME=/", "NVIDIA_VISIBLE_DEVICES=void"}, s.Process.Env); diff != "" {
			t.Errorf("env (-want +got):\n%s", diff)
		}
	}
}

func TestUserSpaceFromDriverDirs(t *testing.T) {
	lib, bin := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(lib, "libnvidia-ml.so.580.65.06"), "elf")
	writeFile(t, filepath.Join(lib, "libcuda.so.580.65.06"), "elf")
	writeFile(t, filepath.Join(lib, "libunrelated.so.1"), "elf")
	for link, target := range map[string]string{
		"libnvidia-ml.so.1": "libnvidia-ml.so.580.65.06",
		"libcuda.so.1":      "libcuda.so.580.65.06",
		"libcuda.so":        "libcuda.so.missing", // dangling: skipped
	} {
		if err := os.Symlink(target, filepath.Join(lib, link)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(bin, "nvidia-smi"), "elf")
	// A CDI spec that does not name the job's GPU is not used.
	cdiDir := t.TempDir()
	writeFile(t, filepath.Join(cdiDir, "nvidia.yaml"), fakeCDISpec)
	u := UserSpace{CDIDirs: []string{cdiDir}, DriverDirs: []string{lib, bin, lib}}
	edit, source, err := u.Edit([]Device{{Index: 5, UUID: "GPU-5"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "driver:" + lib + ":" + bin + ":" + lib; source != want {
		t.Errorf("source = %q, want %q", source, want)
	}
	s := applyEdit(t, edit)
	var got []string
	for _, m := range s.Mounts {
		got = append(got, m.Source+" -> "+m.Destination)
		if m.Type != "bind" || !slices.Contains(m.Options, "ro") {
			t.Errorf("mount %+v is not a read-only bind mount", m)
		}
	}
	sort.Strings(got)
	want := []string{
		filepath.Join(lib, "libcuda.so.1") + " -> /usr/local/nvidia/lib64/libcuda.so.1",
		filepath.Join(lib, "libcuda.so.580.65.06") + " -> /usr/local/nvidia/lib64/libcuda.so.580.65.06",
		filepath.Join(lib, "libnvidia-ml.so.1") + " -> /usr/local/nvidia/lib64/libnvidia-ml.so.1",
		filepath.Join(lib, "libnvidia-ml.so.580.65.06") + " -> /usr/local/nvidia/lib64/libnvidia-ml.so.580.65.06",
		filepath.Join(bin, "nvidia-smi") + " -> /usr/local/nvidia/bin/nvidia-smi",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	wantEnv := []string{"PATH=/usr/bin:/bin:/usr/local/nvidia/bin", "HOME=/", "LD_LIBRARY_PATH=/usr/local/nvidia/lib64"}
	if diff := cmp.Diff(wantEnv, s.Process.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestUserSpaceNone(t *testing.T) {
	u := UserSpace{CDIDirs: []string{filepath.Join(t.TempDir(), "none")}, DriverDirs: []string{t.TempDir()}}
	edit, source, err := u.Edit([]Device{{Index: 0, UUID: "GPU-0"}})
	if err != nil || edit != nil || source != "none" {
		t.Errorf("Edit without driver = %v, %q, %v; want no edit, \"none\"", edit != nil, source, err)
	}
	edit, source, err = u.Edit(nil)
	if err != nil || edit != nil || source != "none" {
		t.Errorf("Edit of no GPUs = %v, %q, %v; want no edit", edit != nil, source, err)
	}
}

func TestAppendPath(t *testing.T) {
	tests := []struct {
		env  []string
		want []string
	}{
		{[]string{"A=1"}, []string{"A=1", "PATH=/def:/x"}},
		{[]string{"PATH=/usr/bin"}, []string{"PATH=/usr/bin:/x"}},
		{[]string{"PATH=/x:/usr/bin"}, []string{"PATH=/x:/usr/bin"}},
		{[]string{"PATH="}, []string{"PATH=/x"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, appendPath(append([]string(nil), tc.env...), "PATH", "/def", "/x")); diff != "" {
			t.Errorf("appendPath(%q) (-want +got):\n%s", tc.env, diff)
		}
	}
}
