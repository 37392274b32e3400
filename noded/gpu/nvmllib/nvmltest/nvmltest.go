//go:build cgo && !nonvml

// Package nvmltest gives tests a fake NVML: one of go-nvml's mock DGX servers
// (pkg/nvml/mock) with the calls the node daemon makes filled in, and knobs to
// make a GPU fail (an XID or ECC event, a lost GPU, ECC error counts) or to
// put it in MIG mode.
package nvmltest

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// Server is a fake NVML with n GPUs. It implements nvml.Interface.
type Server struct {
	*server.Server
	events chan nvml.EventData

	mu   sync.Mutex
	lost map[string]bool   // by UUID
	ecc  map[string]uint64 // uncorrected ECC errors by UUID
	busy map[string]uint32 // utilization percent by UUID
}

// NewH100 returns a fake NVML with n H100 80GB GPUs (a DGX H100 cut down to n).
func NewH100(n int) *Server {
	return New(dgxh100.NewWithGPUs(gpus.Multiple(n, gpus.H100_SXM5_80GB)...))
}

// New fills in the calls of a mock server that its package leaves unset.
func New(s *server.Server) *Server {
	f := &Server{
		Server: s,
		events: make(chan nvml.EventData, 16),
		lost:   map[string]bool{},
		ecc:    map[string]uint64{},
		busy:   map[string]uint32{},
	}
	byUUID := s.DeviceGetHandleByUUIDFunc
	s.DeviceGetHandleByUUIDFunc = func(uuid string) (nvml.Device, nvml.Return) {
		f.mu.Lock()
		lost := f.lost[uuid]
		f.mu.Unlock()
		if lost {
			return nil, nvml.ERROR_GPU_IS_LOST
		}
		return byUUID(uuid)
	}
	s.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return &mock.EventSet{
			WaitFunc: func(timeoutMs uint32) (nvml.EventData, nvml.Return) {
				select {
				case e := <-f.events:
					return e, nvml.SUCCESS
				case <-time.After(time.Duration(timeoutMs) * time.Millisecond):
					return nvml.EventData{}, nvml.ERROR_TIMEOUT
				}
			},
			FreeFunc: func() nvml.Return { return nvml.SUCCESS },
		}, nvml.SUCCESS
	}
	for _, d := range s.Devices {
		f.fill(d.(*server.Device))
	}
	return f
}

// fill sets the calls of one device.
func (f *Server) fill(d *server.Device) {
	d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
		p := nvml.PciInfo{PciDeviceId: d.Config.PciDeviceId}
		for i, c := range d.PciBusID {
			p.BusId[i] = int8(c)
		}
		return p, nvml.SUCCESS
	}
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return nvml.Utilization{Gpu: f.busy[d.UUID]}, nvml.SUCCESS
	}
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 41, nvml.SUCCESS }
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 72500, nvml.SUCCESS } // milliwatts
	d.GetTotalEccErrorsFunc = func(t nvml.MemoryErrorType, c nvml.EccCounterType) (uint64, nvml.Return) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if t == nvml.MEMORY_ERROR_TYPE_UNCORRECTED && c == nvml.VOLATILE_ECC {
			return f.ecc[d.UUID], nvml.SUCCESS
		}
		return 0, nvml.SUCCESS
	}
	d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 0, false, false, nvml.SUCCESS }
	d.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
		return nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError | nvml.EventTypeSingleBitEccError, nvml.SUCCESS
	}
	d.RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS }
	d.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	d.GetMigDeviceHandleByIndexFunc = func(j int) (nvml.Device, nvml.Return) {
		migs := migDevices(d)
		if j < 0 || j >= len(migs) {
			return nil, nvml.ERROR_NOT_FOUND
		}
		return migs[j], nvml.SUCCESS
	}
}

// GPU returns the mock device of the GPU with this index.
func (f *Server) GPU(index int) *server.Device { return f.Devices[index].(*server.Device) }

// UUID returns the UUID of the GPU with this index.
func (f *Server) UUID(index int) string { return f.GPU(index).UUID }

// InjectXID delivers an XID critical error event for the GPU with this
// index (-1: an event NVML cannot attribute to a GPU).
func (f *Server) InjectXID(index int, xid uint64) {
	e := nvml.EventData{EventType: nvml.EventTypeXidCriticalError, EventData: xid}
	if index >= 0 {
		e.Device = f.GPU(index)
	}
	f.events <- e
}

// InjectDoubleBitECC delivers a double-bit ECC error event.
func (f *Server) InjectDoubleBitECC(index int) {
	f.events <- nvml.EventData{EventType: nvml.EventTypeDoubleBitEccError, Device: f.GPU(index)}
}

// SetLost makes the GPU with this index answer ERROR_GPU_IS_LOST.
func (f *Server) SetLost(index int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost[f.UUID(index)] = true
}

// SetECCErrors sets the GPU's volatile uncorrected ECC error count.
func (f *Server) SetECCErrors(index int, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ecc[f.UUID(index)] = n
}

// SetUtilization sets the GPU's utilization in percent.
func (f *Server) SetUtilization(index int, pct uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy[f.UUID(index)] = pct
}

// EnableMIG puts the GPU with this index in MIG mode with n one-slice MIG
// instances (a GPU instance with one compute instance each).
func (f *Server) EnableMIG(index, n int) error {
	d := f.GPU(index)
	if r, _ := d.SetMigMode(nvml.DEVICE_MIG_ENABLE); r != nvml.SUCCESS {
		return fmt.Errorf("set MIG mode: %v", r)
	}
	for i := 0; i < n; i++ {
		gp, r := d.GetGpuInstanceProfileInfo(nvml.GPU_INSTANCE_PROFILE_1_SLICE)
		if r != nvml.SUCCESS {
			return fmt.Errorf("GPU instance profile: %v", r)
		}
		gi, r := d.CreateGpuInstance(&gp)
		if r != nvml.SUCCESS {
			return fmt.Errorf("create GPU instance: %v", r)
		}
		cp, r := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if r != nvml.SUCCESS {
			return fmt.Errorf("compute instance profile: %v", r)
		}
		if _, r := gi.CreateComputeInstance(&cp); r != nvml.SUCCESS {
			return fmt.Errorf("create compute instance: %v", r)
		}
	}
	return nil
}

// migDevices returns a MIG device handle for each compute instance of each
// GPU instance of d, in (GPU instance, compute instance) order.
func migDevices(d *server.Device) []nvml.Device {
	d.RLock()
	gis := make([]*server.GpuInstance, 0, len(d.GpuInstances))
	for gi := range d.GpuInstances {
		gis = append(gis, gi)
	}
	d.RUnlock()
	sort.Slice(gis, func(i, j int) bool { return gis[i].Info.Id < gis[j].Info.Id })
	var out []nvml.Device
	for _, gi := range gis {
		gi.RLock()
		cis := make([]*server.ComputeInstance, 0, len(gi.ComputeInstances))
		for ci := range gi.ComputeInstances {
			cis = append(cis, ci)
		}
		gi.RUnlock()
		sort.Slice(cis, func(i, j int) bool { return cis[i].Info.Id < cis[j].Info.Id })
		memMB := uint64(0)
		if p, ok := gi.MIGProfiles.GpuInstanceProfiles[int(gi.Info.ProfileId)]; ok {
			memMB = p.MemorySizeMB
		}
		for _, ci := range cis {
			giID, ciID := int(gi.Info.Id), int(ci.Info.Id)
			uuid := fmt.Sprintf("MIG-%s-%d-%d", d.UUID[len("GPU-"):], giID, ciID)
			out = append(out, &mock.Device{
				GetUUIDFunc:              func() (string, nvml.Return) { return uuid, nvml.SUCCESS },
				GetGpuInstanceIdFunc:     func() (int, nvml.Return) { return giID, nvml.SUCCESS },
				GetComputeInstanceIdFunc: func() (int, nvml.Return) { return ciID, nvml.SUCCESS },
				GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
					return nvml.Memory{Total: memMB << 20}, nvml.SUCCESS
				},
			})
		}
	}
	return out
}
