package noded

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// Config configures a node daemon. Zero values get the defaults named on
// each field.
type Config struct {
	// Name is the node's name; default the host name.
	Name string
	// ControllerAddrs is the comma-separated list of controller addresses;
	// default $FAIRWAY_ADDR, then the client's default. Jobs see it as
	// FAIRWAY_ADDR.
	ControllerAddrs string
	// ListenAddr is the HTTP address serving /metrics and /healthz; empty
	// serves nothing. The address is sent to the controller when registering.
	ListenAddr string
	// StepListenAddr is the address of the step server (srun launches a
	// step's tasks there; see the stepserver package): https with the
	// node's certificate when TLS is set, else plain http (insecure). It
	// is sent to the controller when registering (the node's StepAddr).
	// Empty serves no steps.
	StepListenAddr string
	// StateDir holds one directory per run the node knows (its record, the
	// batch script, the host wrapper's pid and status files); default
	// /var/lib/fairway/noded. Job users must be able to traverse it.
	StateDir string
	// CPUs and MemoryMB are what the node offers; default what the machine has.
	CPUs     int
	MemoryMB int64
	// GPUs declares the node's GPUs instead of finding them with NVML: fake
	// GPUs for tests and demos on machines without any (always healthy,
	// with no device nodes unless GPUDevices finds some). Declared GPUs
	// turn NVML off.
	GPUs []api.GPU
	// NVML says whether the GPUs are found with NVML: NVMLAuto (default:
	// when no GPUs are declared and the driver is there; a machine without
	// the driver has no GPUs), NVMLOn (the daemon does not start without
	// it) or NVMLOff.
	NVML string
	// GPULib, when set, is used instead of the host's NVML (tests pass a
	// fake one, see gpu/nvmllib/nvmltest). The daemon closes it.
	GPULib gpu.Lib
	// GPUType, when set, is the type of every GPU instead of the one NVML's
	// model name gives ("h100" for "NVIDIA H100 80GB HBM3").
	GPUType string
	// GPUCheckInterval is how often every GPU's health is polled (besides
	// NVML's events, which are acted on at once); default 30s.
	GPUCheckInterval time.Duration
	// GPUDevices says where the GPUs' device nodes and numbers are read;
	// the zero value uses /dev, /proc/devices and the driver's MIG
	// capability minors.
	GPUDevices gpu.Resolver
	// CDIDirs hold the CDI specs that give container jobs the driver's
	// user space; nil means /etc/cdi and /var/run/cdi.
	CDIDirs []string
	// DriverDirs are searched for the driver's libraries, nvidia-smi and
	// (when the dynamic linker cannot find it) libnvidia-ml.so.1 when no
	// CDI spec names the GPUs; nil means gpu.DefaultDriverDirs.
	DriverDirs []string
	// Partitions the node joins.
	Partitions []string
	// ContainerdSocket is containerd's address; default
	// /run/containerd/containerd.sock. ContainerdNamespace is the namespace of
	// job containers; default "fairway".
	ContainerdSocket    string
	ContainerdNamespace string
	// HeartbeatInterval is the time between heartbeats; default 3s. Each
	// heartbeat the leader acknowledges renews the node's lease
	// (api.ClusterConfig.NodeLeaseSecs), which must span several of them.
	HeartbeatInterval time.Duration
	// FenceCommand starts the fence (`fairwayd fence --lease FILE`, the
	// lease file appended), a process of its own session that outlives the
	// daemon and stops the node's jobs when its lease runs out. Empty: the
	// fence runs inside the daemon and dies with it (tests only; the daemon
	// warns).
	FenceCommand []string
	// CgroupParent is the cgroup below which job cgroups are made, as
	// PARENT/NODE/job-ID-RUN; default "fairway".
	CgroupParent string
	// KillGrace is how long a job gets between the first signal of a kill and
	// SIGKILL when the kill request names no grace time; default 5s.
	KillGrace time.Duration
	// CheckpointDirBase is where the daemon makes each job's checkpoint
	// directory, BASE/JOBID (FAIRWAY_CHECKPOINT_DIR, owned by the job's
	// user, bind-mounted into container jobs at the same path), when the
	// cluster configures no base of its own (Scheduling.CheckpointDirBase,
	// which the controller puts in api.Job.CheckpointDir); default
	// /var/lib/fairway/checkpoints.
	CheckpointDirBase string
	// HPCJobMappingDir, when set, is NVIDIA dcgm-exporter's HPC job mapping
	// directory (its --hpc-job-mapping-dir): the daemon keeps one file per
	// GPU in use there, named by the GPU's index, listing the IDs of the
	// jobs that hold it, so DCGM's metrics carry an hpc_job label. Empty:
	// off.
	HPCJobMappingDir string
	// CheckpointRetention is how long a checkpoint directory this daemon
	// made is kept after its job finally ended (a requeued job keeps it);
	// default 24h.
	CheckpointRetention time.Duration
	// CheckpointSweepInterval is how often the daemon looks for checkpoint
	// directories whose retention has passed; default 10m, or the
	// retention when that is shorter.
	CheckpointSweepInterval time.Duration
	// ToolsBinary is bind-mounted read-only into image-based containers
	// as /usr/local/bin/fairway and under the Slurm command names, so that
	// jobs can run scontrol requeue, fairway checkpoint done, srun and the
	// rest; default the client binary (ClientName) beside the running
	// executable, following links (`make build` writes bin/fairway beside
	// bin/fairwayd), or nothing when there is none; "-" mounts nothing. It
	// must run inside the job's image: the client is a static build
	// (CGO_ENABLED=0). The daemon warns at start when the binary is not
	// static, or when there is none.
	ToolsBinary string
	// MountAllow lists path prefixes any container job may bind-mount
	// (--container-mounts) whether or not its user can read them (site
	// datasets behind restrictive parents, say). Elsewhere a job other
	// than root's mounts only what its user can read; a launch that asks
	// for more fails (launch_failed) saying which source.
	MountAllow []string
	// Logger receives the daemon's logs; default discards them.
	Logger *slog.Logger
	// Clock tells the time and waits; default the real clock.
	Clock Clock
	// TLS, when set, are the node's credentials: a certificate naming
	// fairway://node/<Name> under the cluster CA. The daemon then calls the
	// controllers over https with it, verifying that they present controller
	// certificates, and jobs get the CA bundle as FAIRWAY_CA (its PEM text).
	// Nil calls them over plain http (insecure).
	TLS *pki.Credentials
	// MungeSocket is the node's munged socket: the daemon authenticates
	// with it when it has no certificate, and jobs get it (the socket's
	// directory bind-mounted into containers at the same path, and
	// FAIRWAY_MUNGE_SOCKET), so that the commands a job runs authenticate
	// as the job's user. Default $FAIRWAY_MUNGE_SOCKET, else munge's
	// default socket.
	MungeSocket string
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("node name: %w", err)
		}
		cfg.Name = h
	}
	if cfg.TLS != nil && cfg.TLS.Identity != pki.Node(cfg.Name) {
		return cfg, fmt.Errorf("node %s: the TLS certificate names %s, not %s", cfg.Name, cfg.TLS.Identity, pki.Node(cfg.Name))
	}
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/fairway/noded"
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = runtime.NumCPU()
	}
	if cfg.MemoryMB <= 0 {
		mb, err := memTotalMB("/proc/meminfo")
		if err != nil {
			return cfg, fmt.Errorf("detect memory: %w", err)
		}
		cfg.MemoryMB = mb
	}
	if cfg.ContainerdSocket == "" {
		cfg.ContainerdSocket = "/run/containerd/containerd.sock"
	}
	if cfg.ContainerdNamespace == "" {
		cfg.ContainerdNamespace = "fairway"
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 3 * time.Second
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "fairway"
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 5 * time.Second
	}
	if cfg.CheckpointDirBase == "" {
		cfg.CheckpointDirBase = "/var/lib/fairway/checkpoints"
	}
	if !filepath.IsAbs(cfg.CheckpointDirBase) || filepath.Clean(cfg.CheckpointDirBase) == "/" {
		return cfg, fmt.Errorf("checkpoint directory base %q: must be an absolute directory other than /", cfg.CheckpointDirBase)
	}
	if cfg.HPCJobMappingDir != "" && !filepath.IsAbs(cfg.HPCJobMappingDir) {
		return cfg, fmt.Errorf("HPC job mapping directory %q: must be absolute", cfg.HPCJobMappingDir)
	}
	if cfg.CheckpointRetention <= 0 {
		cfg.CheckpointRetention = 24 * time.Hour
	}
	if cfg.CheckpointSweepInterval <= 0 {
		cfg.CheckpointSweepInterval = min(10*time.Minute, cfg.CheckpointRetention)
	}
	if cfg.ToolsBinary == "" {
		cfg.ToolsBinary = "-"
		if exe, err := os.Executable(); err == nil {
			if client, err := ClientBeside(exe); err == nil {
				cfg.ToolsBinary = client
			}
		}
	}
	if cfg.ToolsBinary == "-" {
		cfg.ToolsBinary = ""
	}
	if cfg.MungeSocket == "" {
		cfg.MungeSocket = munge.FromEnv().Path()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	switch cfg.NVML {
	case "":
		cfg.NVML = NVMLAuto
	case NVMLAuto, NVMLOn, NVMLOff:
	default:
		return cfg, fmt.Errorf("NVML mode %q: want %s, %s or %s", cfg.NVML, NVMLAuto, NVMLOn, NVMLOff)
	}
	if cfg.NVML == NVMLOn && len(cfg.GPUs) > 0 {
		return cfg, fmt.Errorf("NVML mode %s and %d declared GPUs: declared GPUs replace NVML's", NVMLOn, len(cfg.GPUs))
	}
	if cfg.GPUCheckInterval <= 0 {
		cfg.GPUCheckInterval = gpu.DefaultCheckInterval
	}
	if cfg.DriverDirs == nil {
		cfg.DriverDirs = gpu.DefaultDriverDirs
	}
	if cfg.CDIDirs == nil {
		cfg.CDIDirs = gpu.DefaultCDIDirs
	}
	return cfg, nil
}

// NVML modes (Config.NVML).
const (
	NVMLAuto = "auto"
	NVMLOn   = "on"
	NVMLOff  = "off"
)

// cgroupParent is the node's cgroup: /PARENT/NODE.
func (cfg Config) cgroupParent() string {
	return path.Join("/", cfg.CgroupParent, sanitizeName(cfg.Name))
}

func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// memTotalMB reads MemTotal from a meminfo file.
func memTotalMB(file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bad MemTotal line %q", sc.Text())
			}
			return kb / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no MemTotal", file)
}

// bootTime reads the boot time (unix seconds) from /proc/stat; 0 if unknown.
func bootTime() int64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Clock tells the time and waits. Tests may drive a daemon with a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ClientName is the file name of the client binary (cmd/fairway, static)
// that `make build` writes beside the daemon's binary; the node daemon
// mounts it into jobs' containers.
const ClientName = "fairway"

// ClientBeside returns the client binary in the directory of the
// executable exe (after following links), or an error when there is none.
func ClientBeside(exe string) (string, error) {
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	client := filepath.Join(filepath.Dir(exe), ClientName)
	if !fileExists(client) {
		return "", fmt.Errorf("no client binary %s beside %s", ClientName, exe)
	}
	return client, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
