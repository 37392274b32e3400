package gpu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fakeUVMMajor stands for nvidia-uvm's dynamic major (240-254 are for local use).
const fakeUVMMajor = 241

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// mknod makes a character device node, skipping the test where that is not
// allowed.
func mknod(t *testing.T, name string, major, minor uint32) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(name, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		t.Skipf("cannot make device nodes here (needs root): %v", err)
	}
}

func TestNodesFromDeviceNodes(t *testing.T) {
	dev := t.TempDir()
	for i := uint32(0); i < 4; i++ {
		mknod(t, filepath.Join(dev, "nvidia"+string(rune('0'+i))), 195, i)
	}
	mknod(t, filepath.Join(dev, "nvidiactl"), 195, 255)
	mknod(t, filepath.Join(dev, "nvidia-uvm"), fakeUVMMajor, 0)
	r := Resolver{DevDir: dev, ProcDevices: filepath.Join(t.TempDir(), "none")}
	got, err := r.Nodes([]Device{{Index: 3, Minor: 3}, {Index: 1, Minor: 1}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []DeviceNode{
		{Path: "/dev/nvidia1", HostPath: filepath.Join(dev, "nvidia1"), Major: 195, Minor: 1},
		{Path: "/dev/nvidia3", HostPath: filepath.Join(dev, "nvidia3"), Major: 195, Minor: 3},
		{Path: "/dev/nvidiactl", HostPath: filepath.Join(dev, "nvidiactl"), Major: 195, Minor: 255},
		{Path: "/dev/nvidia-uvm", HostPath: filepath.Join(dev, "nvidia-uvm"), Major: fakeUVMMajor, Minor: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Nodes (-want +got):\n%s", diff)
	}
}

func TestNodesFromProcDevices(t *testing.T) {
	proc := writeFile(t, filepath.Join(t.TempDir(), "devices"), `Character devices:
  1 mem
195 nvidia-frontend
238 nvidia-uvm
510 nvidia-caps

Block devices:
  8 sd
238 nvidia-uvm-block-lookalike
`)
	migMinors := writeFile(t, filepath.Join(t.TempDir(), "mig-minors"), `config 1
monitor 2
gpu2/gi1/access 21
gpu2/gi1/ci0/access 22
gpu2/gi2/access 30
gpu2/gi2/ci0/access 31
`)
	r := Resolver{DevDir: t.TempDir(), ProcDevices: proc, MIGMinors: migMinors}
	devs := []Device{
		{Index: 0, Minor: 0},
		{Index: 2, Minor: 2, MIGEnabled: true, MIG: []MIGDevice{
			{UUID: "MIG-a", GPUInstance: 1, ComputeInstance: 0},
			{UUID: "MIG-b", GPUInstance: 2, ComputeInstance: 0},
		}},
	}
	got, err := r.Nodes(devs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []DeviceNode{
		{Path: "/dev/nvidia0", Major: 195, Minor: 0},
		{Path: "/dev/nvidia2", Major: 195, Minor: 2},
		{Path: "/dev/nvidiactl", Major: 195, Minor: 255},
		{Path: "/dev/nvidia-uvm", Major: 238, Minor: 0},
		{Path: "/dev/nvidia-uvm-tools", Major: 238, Minor: 1},
		{Path: "/dev/nvidia-caps/nvidia-cap21", Major: 510, Minor: 21},
		{Path: "/dev/nvidia-caps/nvidia-cap22", Major: 510, Minor: 22},
		{Path: "/dev/nvidia-caps/nvidia-cap30", Major: 510, Minor: 30},
		{Path: "/dev/nvidia-caps/nvidia-cap31", Major: 510, Minor: 31},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Nodes (-want +got):\n%s", diff)
	}

	// A MIG instance the driver has no capability for cannot be given.
	devs[1].MIG = append(devs[1].MIG, MIGDevice{UUID: "MIG-c", GPUInstance: 9})
	if _, err := r.Nodes(devs, true); err == nil || !strings.Contains(err.Error(), "gpu2/gi9/access") {
		t.Errorf("Nodes with an unknown MIG instance: error %v, want one naming gpu2/gi9/access", err)
	}
}

func TestNodesWithoutDriver(t *testing.T) {
	r := Resolver{DevDir: t.TempDir(), ProcDevices: filepath.Join(t.TempDir(), "none")}
	devs := []Device{{Index: 0, UUID: "GPU-x", Minor: 0}}
	// Declared fake GPUs have no device nodes: nothing to allow.
	got, err := r.Nodes(devs, false)
	if err != nil || len(got) != 0 {
		t.Errorf("Nodes(not strict) = %v, %v; want none", got, err)
	}
	// A GPU NVML reports must have its device node.
	if _, err := r.Nodes(devs, true); err == nil || !strings.Contains(err.Error(), "GPU-x") {
		t.Errorf("Nodes(strict) error = %v, want one naming the GPU", err)
	}
	if got, err := r.Nodes(nil, true); err != nil || got != nil {
		t.Errorf("Nodes(no GPUs) = %v, %v; want nothing (a job without GPUs gets no NVIDIA device)", got, err)
	}
}

func TestNodesRejectsANonDevice(t *testing.T) {
	dev := t.TempDir()
	writeFile(t, filepath.Join(dev, "nvidia0"), "not a device")
	r := Resolver{DevDir: dev, ProcDevices: filepath.Join(t.TempDir(), "none")}
	if _, err := r.Nodes([]Device{{Index: 0}}, false); err == nil || !strings.Contains(err.Error(), "not a character device") {
		t.Errorf("Nodes error = %v, want one saying nvidia0 is not a character device", err)
	}
}
