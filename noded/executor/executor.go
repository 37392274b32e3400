// Package executor defines how the node daemon starts, watches, signals and
// cleans up one run of a job, whatever runs it (a host process in a cgroup, or
// a containerd container). Implementations live in the host and container
// subpackages.
//
// A run must not depend on the daemon: it keeps running, and writes its output,
// while the daemon is down, and a restarted daemon finds it again with Attach.
package executor

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
)

// ErrNotFound is returned by Attach when a run left no trace at all: no
// process, no container, no exit status.
var ErrNotFound = errors.New("run not found on this node")

// ErrLost is returned by Process.Wait when the run's process is gone and its
// exit status cannot be known (it never got going, or the host rebooted).
var ErrLost = errors.New("run has no process and no exit status")

// Ref names one run of a job on this node.
type Ref struct {
	JobID api.JobID
	Run   int
	Node  string
	// RunDir is the run's private directory, created by the daemon before
	// Launch and removed after Cleanup. Executors keep their files there.
	RunDir string
}

// String formats the run as "job 12 run 0".
func (r Ref) String() string { return fmt.Sprintf("job %d run %d", r.JobID, r.Run) }

// Spec is everything an executor needs to start one run of a batch job.
type Spec struct {
	Ref

	Script  string   // the batch script's text
	Args    []string // the script's arguments ($1, $2, ...)
	WorkDir string   // the job's working directory (absolute)
	// StdoutPath and StderrPath are absolute; they may be the same file. Both
	// are opened for appending as the job's user.
	StdoutPath string
	StderrPath string
	// StdinPath is the script's standard input (sbatch -i), absolute,
	// opened for reading as the job's user; /dev/null when the job named
	// none. A file that cannot be opened fails the launch.
	StdinPath string

	UID    int
	GID    int
	Groups []int    // supplementary group IDs
	Env    []string // KEY=VALUE, the job's complete environment

	CPUs        float64 // CPU limit in cores; 0 = none
	MemoryBytes int64   // memory limit; 0 = none
	// Devices lists the character devices (such as /dev/nvidia0) the job
	// may use. A container gets exactly these device nodes (created from
	// their numbers) besides the runtime's standard ones. A host job's
	// device cgroup allows them; with RestrictDevices set it denies every
	// device but them and a few standard ones (null, zero, tty, ...).
	Devices         []Device
	RestrictDevices bool
	// ContainerEdits change a container job's OCI spec after the image's
	// configuration and before the job's environment, mounts and devices
	// are set: the GPU driver's user space (libraries, nvidia-smi, CDI
	// hooks). Host jobs ignore them.
	ContainerEdits []func(*specs.Spec) error

	// Image is the container image: oci-archive:PATH, docker-archive:PATH,
	// dir:ROOTFS or a registry reference. Empty for host jobs.
	Image  string
	Mounts []api.Mount // the user's extra bind mounts for container jobs (--container-mounts), checked against what the user may read
	// NodeMounts are bind mounts the node daemon itself provides to
	// container jobs (the checkpoint directory, made for the user).
	NodeMounts []api.Mount
}

// Device is a character device a job may use.
type Device struct {
	// Path is the node's path inside a container, such as /dev/nvidia1.
	Path string
	// HostPath is the node on the host, when it has one.
	HostPath string
	Major    int64
	Minor    int64
}

// ExitStatus is how a run ended.
type ExitStatus struct {
	// Code is the exit status as a shell reports it: the process's exit code,
	// or 128+N for a process killed by signal N.
	Code int
	// OOM is set when the kernel's OOM killer killed a process of the run.
	OOM bool
	// Message says more, for example why the status is uncertain.
	Message string
	// Usage is what the run used, from its cgroup; nil when unknown (a
	// run whose cgroup was gone).
	Usage *api.Usage
}

// UsageOf is the usage a cgroup's stats show: its memory's high-water
// mark where the kernel keeps one (else its current use; page cache
// included) and its user and system CPU time.
func UsageOf(s cgroups.Stats) *api.Usage {
	return &api.Usage{
		MaxRSSBytes:   int64(max(s.MemoryMaxBytes, s.MemoryUsageBytes)),
		UserCPUMillis: int64(s.UserCPUNanos / 1e6),
		SysCPUMillis:  int64(s.SysCPUNanos / 1e6),
	}
}

// Process is a launched or re-attached run.
type Process interface {
	// Wait blocks until the run has ended and returns its exit status, or
	// ErrLost when the run is gone without one. It may be called again after
	// a context error.
	Wait(ctx context.Context) (ExitStatus, error)
	// Signal sends sig to every process of the run. Signalling a run that
	// already ended is not an error.
	Signal(ctx context.Context, sig syscall.Signal) error
	// SignalBatch sends sig to the batch script's own process only (the
	// B: of --signal=B:SIG@TIME), not to what it started. Signalling a run
	// that already ended is not an error.
	SignalBatch(ctx context.Context, sig syscall.Signal) error
	// Cleanup removes what the run left on the node (cgroup, task, container,
	// snapshot) once its end has been reported. It kills what still runs.
	Cleanup(ctx context.Context) error
}

// Executor starts runs and finds them again after a daemon restart.
type Executor interface {
	// Launch starts the run. An error means the run did not start; its text
	// is shown to the user as the reason of the launch failure.
	Launch(ctx context.Context, spec Spec) (Process, error)
	// Attach finds a run started by an earlier Launch, possibly by an
	// earlier daemon. It returns ErrNotFound when the run left no trace.
	Attach(ctx context.Context, ref Ref) (Process, error)
	// List returns the runs of the given node that the executor can see
	// without being told about them (containers by label), so the daemon
	// can remove those it no longer knows. Executors that keep all their
	// state in run directories return nil.
	List(ctx context.Context, node string) ([]Ref, error)
}
