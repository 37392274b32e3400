//go:build cgo && !nonvml

package nvmllib

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/noded/gpu"
	"github.com/fairway-hpc/fairway/noded/gpu/nvmllib/nvmltest"
)

func open(t *testing.T, f *nvmltest.Server) *Lib {
	t.Helper()
	l, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestDevices(t *testing.T) {
	f := nvmltest.NewH100(4)
	if err := f.EnableMIG(2, 2); err != nil {
		t.Fatal(err)
	}
	devs, err := open(t, f).Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 4 {
		t.Fatalf("%d GPUs, want 4", len(devs))
	}
	for i, d := range devs {
		if d.Index != i || d.Minor != i || d.UUID != f.UUID(i) || d.Model != "NVIDIA H100 80GB HBM3" || d.MemoryMB != 81920 {
			t.Errorf("GPU %d = %+v", i, d)
		}
		if want := "0000:0" + string(rune('0'+i)) + ":00.0"; d.PCIBusID != want {
			t.Errorf("GPU %d bus ID %q, want %q", i, d.PCIBusID, want)
		}
		if got := gpu.TypeFromModel(d.Model); got != "h100" {
			t.Errorf("type of %q = %q, want h100", d.Model, got)
		}
		if d.MIGEnabled != (i == 2) {
			t.Errorf("GPU %d MIG enabled = %v", i, d.MIGEnabled)
		}
	}
	uuid := strings.TrimPrefix(f.UUID(2), "GPU-")
	want := []gpu.MIGDevice{
		{UUID: "MIG-" + uuid + "-0-0", GPUInstance: 0, ComputeInstance: 0, MemoryMB: devs[2].MIG[0].MemoryMB},
		{UUID: "MIG-" + uuid + "-1-0", GPUInstance: 1, ComputeInstance: 0, MemoryMB: devs[2].MIG[0].MemoryMB},
	}
	if diff := cmp.Diff(want, devs[2].MIG); diff != "" {
		t.Errorf("MIG instances of GPU 2 (-want +got):\n%s", diff)
	}
	if devs[2].MIG[0].MemoryMB <= 0 || devs[2].MIG[0].MemoryMB >= devs[2].MemoryMB {
		t.Errorf("MIG instance memory %d MB, want a slice of %d MB", devs[2].MIG[0].MemoryMB, devs[2].MemoryMB)
	}
}

func TestSampleAndCheck(t *testing.T) {
	f := nvmltest.NewH100(3)
	l := open(t, f)
	f.SetUtilization(0, 63)
	s, err := l.Sample(f.UUID(0))
	if err != nil {
		t.Fatal(err)
	}
	want := gpu.Sample{UtilizationPercent: 63, MemoryUsedBytes: 0, MemoryTotalBytes: 80 << 30, TemperatureCelsius: 41, PowerWatts: 72.5}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Sample (-want +got):\n%s", diff)
	}

	f.SetECCErrors(1, 2)
	f.SetLost(2)
	for i, want := range []string{"", "2 uncorrected ECC errors", "GPU is lost (fell off the bus or stopped answering)"} {
		got, err := l.Check(f.UUID(i))
		if err != nil || got != want {
			t.Errorf("Check(GPU %d) = %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := l.Sample(f.UUID(2)); err == nil {
		t.Error("Sample of a lost GPU succeeded")
	}
	if _, err := l.Check("GPU-unknown"); err == nil {
		t.Error("Check of an unknown GPU succeeded")
	}
}

func TestWatchEvents(t *testing.T) {
	f := nvmltest.NewH100(2)
	l := open(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan gpu.Event, 8)
	done := make(chan error, 1)
	go func() { done <- l.WatchEvents(ctx, func(e gpu.Event) { events <- e }) }()
	f.InjectXID(1, 79)
	f.InjectDoubleBitECC(0)
	f.InjectXID(-1, 48)
	want := []gpu.Event{
		{UUID: f.UUID(1), Kind: gpu.EventXID, XID: 79},
		{UUID: f.UUID(0), Kind: gpu.EventDoubleBitECC},
		{Kind: gpu.EventXID, XID: 48},
	}
	for i, w := range want {
		select {
		case got := <-events:
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("event %d (-want +got):\n%s", i, diff)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("event %d not delivered", i)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchEvents returned %v after its context ended", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WatchEvents did not return after its context ended")
	}
}

func TestWatchEventsUnsupported(t *testing.T) {
	f := nvmltest.NewH100(1)
	f.GPU(0).GetSupportedEventTypesFunc = func() (uint64, nvml.Return) { return 0, nvml.SUCCESS }
	err := open(t, f).WatchEvents(context.Background(), func(gpu.Event) {})
	if !errors.Is(err, gpu.ErrNoEvents) {
		t.Errorf("WatchEvents = %v, want ErrNoEvents", err)
	}
}

func TestNewWithoutDriver(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		f := nvmltest.NewH100(1)
		f.InitFunc = func() nvml.Return { return ret }
		if _, err := New(f); !errors.Is(err, gpu.ErrNoDriver) {
			t.Errorf("New when Init returns %d = %v, want ErrNoDriver", ret, err)
		}
		if n := len(f.DeviceGetCountCalls()); n != 0 {
			t.Error("NVML was called after Init failed")
		}
	}
	f := nvmltest.NewH100(1)
	f.InitFunc = func() nvml.Return { return nvml.ERROR_LIB_RM_VERSION_MISMATCH }
	if _, err := New(f); err == nil || errors.Is(err, gpu.ErrNoDriver) {
		t.Errorf("New with a driver/library mismatch = %v, want an error other than ErrNoDriver", err)
	}
}

// TestOpenOnThisMachine loads the real NVML: on a machine without the
// NVIDIA driver that must say so (and not crash).
func TestOpenOnThisMachine(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA driver")
	}
	l, err := Open([]string{t.TempDir()})
	if !errors.Is(err, gpu.ErrNoDriver) || l != nil {
		t.Errorf("Open = %v, %v; want no library and ErrNoDriver", l, err)
	}
}
