//go:build cgo && !nonvml

package nvmllib

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/fairway-hpc/fairway/noded/gpu"
)

// Built reports whether NVML support is compiled in.
const Built = true

// libraryName is the NVML library the driver installs.
const libraryName = "libnvidia-ml.so.1"

// eventWait is how long one wait for NVML events blocks (in C, so the
// context is checked between waits).
const eventWait = 1000 // milliseconds

// criticalEvents are the NVML event types that make a GPU unhealthy.
const criticalEvents = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError

// Lib implements gpu.Lib over an nvml.Interface.
type Lib struct {
	n nvml.Interface
}

var _ gpu.Lib = (*Lib)(nil)

// Open loads and initialises the host's NVML: libnvidia-ml.so.1 from the
// dynamic linker's search path, else from the first of searchDirs that has
// it. It returns an error wrapping gpu.ErrNoDriver when there is none.
func Open(searchDirs []string) (gpu.Lib, error) {
	l, err := New(nvml.New())
	for _, dir := range searchDirs {
		if !errors.Is(err, gpu.ErrNoDriver) {
			break
		}
		p := filepath.Join(dir, libraryName)
		if _, serr := os.Stat(p); serr == nil {
			l, err = New(nvml.New(nvml.WithLibraryPath(p)))
		}
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// New initialises n (the real library or a go-nvml mock server) and wraps
// it. It returns an error wrapping gpu.ErrNoDriver when NVML's library is
// not found or the kernel driver is not loaded; no other call is made on n
// then (NVML would abort the process).
func New(n nvml.Interface) (*Lib, error) {
	switch ret := n.Init(); ret {
	case nvml.SUCCESS:
		return &Lib{n: n}, nil
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return nil, gpu.ErrNoDriver
	case nvml.ERROR_DRIVER_NOT_LOADED:
		// The library is installed but the kernel module is not loaded.
		return nil, fmt.Errorf("initialise NVML: %s: %w", errorString(ret), gpu.ErrNoDriver)
	default:
		return nil, fmt.Errorf("initialise NVML: %s", errorString(ret))
	}
}

// errorString names an NVML return code.
func errorString(ret nvml.Return) string { return ret.Error() }

// Close shuts NVML down.
func (l *Lib) Close() error {
	if ret := l.n.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut NVML down: %s", errorString(ret))
	}
	return nil
}

// Devices lists the GPUs with their MIG instances.
func (l *Lib) Devices() ([]gpu.Device, error) {
	count, ret := l.n.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("count GPUs: %s", errorString(ret))
	}
	out := make([]gpu.Device, 0, count)
	for i := 0; i < count; i++ {
		dev, ret := l.n.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("GPU %d: %s", i, errorString(ret))
		}
		d, err := describe(i, dev)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// describe reads what the inventory needs of one GPU.
func describe(index int, dev nvml.Device) (gpu.Device, error) {
	d := gpu.Device{Index: index}
	var ret nvml.Return
	if d.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("GPU %d: UUID: %s", index, errorString(ret))
	}
	if d.Minor, ret = dev.GetMinorNumber(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("GPU %d: minor number: %s", index, errorString(ret))
	}
	if d.Model, ret = dev.GetName(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("GPU %d: name: %s", index, errorString(ret))
	}
	if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		d.MemoryMB = int64(mem.Total >> 20)
	}
	if pci, ret := dev.GetPciInfo(); ret == nvml.SUCCESS {
		d.PCIBusID = cString(pci.BusId[:])
	}
	mode, _, ret := dev.GetMigMode()
	switch {
	case ret == nvml.ERROR_NOT_SUPPORTED:
		return d, nil
	case ret != nvml.SUCCESS:
		return d, fmt.Errorf("GPU %d: MIG mode: %s", index, errorString(ret))
	case mode != nvml.DEVICE_MIG_ENABLE:
		return d, nil
	}
	d.MIGEnabled = true
	max, ret := dev.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return d, fmt.Errorf("GPU %d: MIG device count: %s", index, errorString(ret))
	}
	for j := 0; j < max; j++ {
		mdev, ret := dev.GetMigDeviceHandleByIndex(j)
		if ret == nvml.ERROR_NOT_FOUND {
			continue // no instance in this slot
		}
		if ret != nvml.SUCCESS {
			return d, fmt.Errorf("GPU %d: MIG device %d: %s", index, j, errorString(ret))
		}
		var m gpu.MIGDevice
		if m.UUID, ret = mdev.GetUUID(); ret != nvml.SUCCESS {
			return d, fmt.Errorf("GPU %d: MIG device %d: UUID: %s", index, j, errorString(ret))
		}
		if m.GPUInstance, ret = mdev.GetGpuInstanceId(); ret != nvml.SUCCESS {
			return d, fmt.Errorf("GPU %d: MIG device %d: GPU instance: %s", index, j, errorString(ret))
		}
		if m.ComputeInstance, ret = mdev.GetComputeInstanceId(); ret != nvml.SUCCESS {
			return d, fmt.Errorf("GPU %d: MIG device %d: compute instance: %s", index, j, errorString(ret))
		}
		if mem, ret := mdev.GetMemoryInfo(); ret == nvml.SUCCESS {
			m.MemoryMB = int64(mem.Total >> 20)
		}
		d.MIG = append(d.MIG, m)
	}
	return d, nil
}

// cString converts a NUL-terminated C char array.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func (l *Lib) device(uuid string) (nvml.Device, nvml.Return) {
	return l.n.DeviceGetHandleByUUID(uuid)
}

// Sample reads a GPU's utilization, memory, temperature and power; what NVML
// cannot tell is NaN.
func (l *Lib) Sample(uuid string) (gpu.Sample, error) {
	s := gpu.UnknownSample()
	dev, ret := l.device(uuid)
	if ret != nvml.SUCCESS {
		return s, fmt.Errorf("GPU %s: %s", uuid, errorString(ret))
	}
	if u, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS {
		s.UtilizationPercent = float64(u.Gpu)
	}
	if m, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
		s.MemoryUsedBytes, s.MemoryTotalBytes = float64(m.Used), float64(m.Total)
	}
	if t, ret := dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		s.TemperatureCelsius = float64(t)
	}
	if p, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS {
		s.PowerWatts = float64(p) / 1000
	}
	return s, nil
}

// Check looks for faults that come without an event: a GPU that fell off
// the bus, uncorrected ECC errors since the driver loaded (volatile
// counter: a GPU reset clears it), failed row remapping.
func (l *Lib) Check(uuid string) (string, error) {
	const lost = "GPU is lost (fell off the bus or stopped answering)"
	dev, ret := l.device(uuid)
	switch ret {
	case nvml.SUCCESS:
	case nvml.ERROR_GPU_IS_LOST:
		return lost, nil
	default:
		return "", fmt.Errorf("GPU %s: %s", uuid, errorString(ret))
	}
	n, ret := dev.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC)
	switch ret {
	case nvml.SUCCESS:
		if n > 0 {
			return fmt.Sprintf("%d uncorrected ECC errors", n), nil
		}
	case nvml.ERROR_GPU_IS_LOST:
		return lost, nil
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		return "", fmt.Errorf("GPU %s: ECC errors: %s", uuid, errorString(ret))
	}
	_, _, _, failed, ret := dev.GetRemappedRows()
	switch ret {
	case nvml.SUCCESS:
		if failed {
			return "memory row remapping failed", nil
		}
	case nvml.ERROR_GPU_IS_LOST:
		return lost, nil
	case nvml.ERROR_NOT_SUPPORTED:
	default:
		return "", fmt.Errorf("GPU %s: remapped rows: %s", uuid, errorString(ret))
	}
	return "", nil
}

// WatchEvents registers every GPU for XID and double-bit ECC events and
// delivers them to fn until ctx is done.
func (l *Lib) WatchEvents(ctx context.Context, fn func(gpu.Event)) error {
	set, ret := l.n.EventSetCreate()
	switch ret {
	case nvml.SUCCESS:
	case nvml.ERROR_NOT_SUPPORTED:
		return fmt.Errorf("create NVML event set: %w", gpu.ErrNoEvents)
	default:
		return fmt.Errorf("create NVML event set: %s", errorString(ret))
	}
	defer set.Free()
	count, ret := l.n.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("count GPUs: %s", errorString(ret))
	}
	registered := 0
	for i := 0; i < count; i++ {
		dev, ret := l.n.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		supported, ret := dev.GetSupportedEventTypes()
		if ret != nvml.SUCCESS || supported&criticalEvents == 0 {
			continue
		}
		if dev.RegisterEvents(supported&criticalEvents, set) == nvml.SUCCESS {
			registered++
		}
	}
	if registered == 0 {
		return fmt.Errorf("no GPU delivers XID or ECC events: %w", gpu.ErrNoEvents)
	}
	for ctx.Err() == nil {
		e, ret := set.Wait(eventWait)
		switch ret {
		case nvml.SUCCESS:
		case nvml.ERROR_TIMEOUT:
			continue
		case nvml.ERROR_GPU_IS_LOST:
			fn(gpu.Event{Kind: gpu.EventXID, XID: 79}) // XID 79: fallen off the bus
			continue
		default:
			return fmt.Errorf("wait for NVML events: %s", errorString(ret))
		}
		ev := gpu.Event{}
		if e.Device != nil {
			if uuid, ret := e.Device.GetUUID(); ret == nvml.SUCCESS {
				ev.UUID = uuid
			}
		}
		switch {
		case e.EventType&nvml.EventTypeXidCriticalError != 0:
			ev.Kind, ev.XID = gpu.EventXID, e.EventData
		case e.EventType&nvml.EventTypeDoubleBitEccError != 0:
			ev.Kind = gpu.EventDoubleBitECC
		default:
			continue
		}
		fn(ev)
	}
	return nil
}
