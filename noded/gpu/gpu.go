// Package gpu is the node daemon's GPU support: the inventory of the node's
// NVIDIA GPUs and their health (through the small Lib interface, implemented
// over NVML by the nvmllib subpackage), the device nodes and cgroup rules that
// give a job exactly its GPUs, the job's GPU environment variables, the
// driver's user space for container jobs (from a CDI spec or the driver
// directory) and per-GPU Prometheus metrics.
//
// # Inventory
//
// A Monitor holds the node's GPUs as api.GPU values. They come from NVML
// when a Lib is given (index, UUID, minor number, model, memory, MIG mode and
// instances), otherwise from the GPUs the node's configuration declares
// (fake GPUs for tests and demos, always healthy). The model name becomes the
// GPU type ("NVIDIA H100 80GB HBM3" is "h100", see TypeFromModel) unless the
// configuration overrides it.
//
// # Health
//
// The Monitor watches NVML's critical events (XID errors other than those a
// user program causes, see DefaultIgnoredXIDs; double-bit ECC errors) and
// polls every GPU (lost GPU, uncorrected ECC errors, failed row remapping).
// A GPU found unhealthy stays so until the node daemon restarts (a GPU in
// that state needs a reset or a reboot, after which NVML reports it afresh).
// The daemon re-registers the node with the GPU marked unhealthy, so the
// controller schedules nothing more on it, and ends the runs that use it.
//
// # Isolation
//
// A job sees exactly its GPUs: /dev/nvidiaN of each GPU it was given (N the
// GPU's minor number), /dev/nvidiactl, /dev/nvidia-uvm and
// /dev/nvidia-uvm-tools, and for GPUs in MIG mode the capability devices of
// their MIG instances (see Resolver). Container jobs get these as OCI device
// entries with matching device cgroup rules after containerd's deny-all rule;
// host jobs get a device cgroup that allows them besides a few standard
// devices and denies everything else.
//
// # Environment
//
// Every job on a GPU node runs under a device cgroup, so CUDA enumerates only
// the GPUs the job may open: CUDA_VISIBLE_DEVICES numbers them 0..k-1, as
// Slurm does with ConstrainDevices=yes (see Env).
package gpu

import (
	"context"
	"errors"
	"math"
	"time"
)

// ErrNoDriver is returned by a Lib constructor when the node has no NVIDIA
// driver (NVML's ERROR_LIBRARY_NOT_FOUND): the node has no GPUs, or the ones
// its configuration declares.
var ErrNoDriver = errors.New("no NVIDIA driver (libnvidia-ml not found)")

// ErrNoEvents is returned (wrapped) by Lib.WatchEvents when the GPUs cannot
// deliver events; polling is then the only health check.
var ErrNoEvents = errors.New("GPU events not supported")

// Device is one GPU as NVML describes it.
type Device struct {
	Index    int    // NVML's index, which follows PCI bus order
	UUID     string // "GPU-..."
	Minor    int    // N of /dev/nvidiaN
	Model    string // "NVIDIA H100 80GB HBM3"
	MemoryMB int64
	PCIBusID string
	// MIGEnabled is set when the GPU is in MIG mode; MIG lists its instances.
	MIGEnabled bool
	MIG        []MIGDevice
}

// MIGDevice is a MIG instance of a GPU in MIG mode.
type MIGDevice struct {
	UUID            string // "MIG-..."
	GPUInstance     int
	ComputeInstance int
	MemoryMB        int64
}

// Sample is a GPU's current use. A value NVML cannot tell is NaN.
type Sample struct {
	UtilizationPercent float64
	MemoryUsedBytes    float64
	MemoryTotalBytes   float64
	TemperatureCelsius float64
	PowerWatts         float64
}

// UnknownSample is a Sample that knows nothing.
func UnknownSample() Sample {
	nan := math.NaN()
	return Sample{nan, nan, nan, nan, nan}
}

// EventKind is the kind of a critical GPU event.
type EventKind string

// Event kinds.
const (
	EventXID          EventKind = "xid"
	EventDoubleBitECC EventKind = "double-bit-ecc"
)

// Event is a critical event NVML reported.
type Event struct {
	// UUID is the GPU's; empty when NVML could not tell which GPU, in which
	// case every GPU is suspect.
	UUID string
	Kind EventKind
	XID  uint64 // the XID number, for EventXID
}

// Lib is the part of NVML the node daemon uses. The nvmllib subpackage
// implements it over github.com/NVIDIA/go-nvml (real or mock).
type Lib interface {
	// Devices lists the GPUs in index order.
	Devices() ([]Device, error)
	// Sample reads a GPU's utilization, memory, temperature and power.
	Sample(uuid string) (Sample, error)
	// Check polls a GPU for faults that come without an event: it returns
	// "" when it finds none, else what is wrong ("GPU is lost", ...).
	Check(uuid string) (problem string, err error)
	// WatchEvents calls fn for every critical event on the GPUs until ctx
	// is done, then returns nil. It returns an error wrapping ErrNoEvents
	// when the GPUs cannot deliver events.
	WatchEvents(ctx context.Context, fn func(Event)) error
	// Close releases NVML.
	Close() error
}

// Clock waits. The node daemon's clock satisfies it.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
