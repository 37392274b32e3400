// Package cgroups creates and manages the control groups that hold host jobs:
// CPU and memory limits, a device allow-list, the list of processes, signals to
// every process, usage statistics and removal. It works on cgroup v1 (including
// hybrid hosts, where the v2 hierarchy has no controllers) and on pure cgroup
// v2, through github.com/opencontainers/cgroups.
//
// The package knows nothing about jobs: callers name the group and say what
// limits it has.
package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	occgroups "github.com/opencontainers/cgroups"
	// Registers the v1 and v2 device controllers with the cgroup managers;
	// without it a manager refuses device rules.
	_ "github.com/opencontainers/cgroups/devices"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
)

// Version is a cgroup hierarchy version.
type Version int

// The two cgroup versions. Hybrid hosts (v1 controllers, an empty v2 tree) are V1.
const (
	V1 Version = 1
	V2 Version = 2
)

// String returns "v1" or "v2".
func (v Version) String() string { return fmt.Sprintf("v%d", int(v)) }

// Detect reports which cgroup version manages resources on this host: V2 when
// /sys/fs/cgroup is a cgroup2 mount, otherwise V1.
func Detect() Version {
	if occgroups.IsCgroup2UnifiedMode() {
		return V2
	}
	return V1
}

// v2Root is where the unified hierarchy is mounted on a pure v2 host.
const v2Root = "/sys/fs/cgroup"

// DefaultCPUPeriod is the CFS period, in microseconds, that CPU limits use.
const DefaultCPUPeriod = 100000

// DeviceType is the kind of device a rule matches.
type DeviceType rune

// Device types as the device cgroup spells them.
const (
	CharDevice  DeviceType = 'c'
	BlockDevice DeviceType = 'b'
	AnyDevice   DeviceType = 'a'
)

// Wildcard matches any major or minor number in a DeviceRule.
const Wildcard int64 = -1

// DeviceRule allows access to a device or a range of devices.
type DeviceRule struct {
	Type  DeviceType // CharDevice, BlockDevice or AnyDevice
	Major int64      // Wildcard for any
	Minor int64      // Wildcard for any
	// Access is a subset of "rwm" (read, write, mknod); empty means "rwm".
	Access string
}

// String formats the rule as cgroup v1's devices.allow does: "c 195:0 rw".
func (r DeviceRule) String() string {
	num := func(n int64) string {
		if n == Wildcard {
			return "*"
		}
		return fmt.Sprintf("%d", n)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, num(r.Major), num(r.Minor), access)
}

// Spec describes a cgroup to create.
type Spec struct {
	// Path is the cgroup's path below the root of each hierarchy, for example
	// "/fairway/node1/job-12-0". It must be absolute.
	Path string
	// CPUs caps CPU time, in cores (1.5 = one and a half cores); 0 = no limit.
	CPUs float64
	// MemoryBytes caps memory; 0 = no limit. Swap is not limited separately.
	MemoryBytes int64
	// Devices lists the devices the group may use when DenyAllOthers is set.
	Devices []DeviceRule
	// DenyAllOthers makes Devices an allow-list: every device not listed is
	// denied. Without it every device is allowed and Devices is ignored.
	DenyAllOthers bool
	// InheritDevices leaves the group's device rules alone, so that it has
	// its parent's (a job step's group below its job's); Devices and
	// DenyAllOthers are then ignored.
	InheritDevices bool
}

// Stats is a snapshot of a group's usage.
type Stats struct {
	MemoryUsageBytes uint64 // current memory use, page cache included
	MemoryMaxBytes   uint64 // peak memory use (v1; v2 from Linux 5.19's memory.peak; 0 where not known)
	OOMKills         uint64 // processes killed by the OOM killer in this group
	CPUUsageNanos    uint64 // CPU time used since the group was created
	UserCPUNanos     uint64 // of which in user mode
	SysCPUNanos      uint64 // of which in kernel mode
}

// Group is a cgroup created by New or found by Load.
type Group struct {
	path    string
	version Version
	mgr     occgroups.Manager
}

// New creates the cgroup described by spec (or takes over an existing one with
// that path) and applies its limits. It uses the host's cgroup version.
func New(ctx context.Context, spec Spec) (*Group, error) {
	return newGroup(ctx, spec, Detect(), v2Root)
}

// newGroup is New with the version and the v2 mount point chosen by the caller,
// so tests can drive the v2 code on a hybrid host's unified hierarchy.
func newGroup(ctx context.Context, spec Spec, v Version, root string) (*Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", spec.Path, err)
	}
	if !path.IsAbs(spec.Path) || path.Clean(spec.Path) != spec.Path || spec.Path == "/" {
		return nil, fmt.Errorf("create cgroup: path %q must be absolute, clean and not the root", spec.Path)
	}
	res, err := resources(spec, v)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", spec.Path, err)
	}
	g, err := manage(spec.Path, v, root, res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", spec.Path, err)
	}
	if err := g.create(root, spec.InheritDevices); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", spec.Path, err)
	}
	if err := g.mgr.Set(res); err != nil {
		_ = g.mgr.Destroy()
		return nil, fmt.Errorf("set limits of cgroup %s: %w", spec.Path, err)
	}
	return g, nil
}

// create makes the group's directories. The v2 manager only creates groups
// under /sys/fs/cgroup (enabling controllers on the way); below another v2
// mount point, which has no controllers to enable, a plain mkdir does. On
// v1 the manager skips the devices hierarchy of a group that inherits its
// device rules: a plain mkdir makes it there, and a new v1 devices group
// starts with its parent's rules.
func (g *Group) create(root string, inheritDevices bool) error {
	if g.version == V2 && root != v2Root {
		return os.MkdirAll(g.mgr.Path(""), 0o755)
	}
	if err := g.mgr.Apply(-1); err != nil {
		return err
	}
	if g.version == V1 && inheritDevices {
		if dir := g.mgr.Path("devices"); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("devices group: %w", err)
			}
		}
	}
	return nil
}

// Load finds an existing cgroup by its path (as given to New), for example
// after the daemon that created it restarted.
func Load(cgPath string) (*Group, error) {
	return load(cgPath, Detect(), v2Root)
}

func load(cgPath string, v Version, root string) (*Group, error) {
	if !path.IsAbs(cgPath) || path.Clean(cgPath) != cgPath || cgPath == "/" {
		return nil, fmt.Errorf("load cgroup: path %q must be absolute, clean and not the root", cgPath)
	}
	g, err := manage(cgPath, v, root, &occgroups.Resources{})
	if err != nil {
		return nil, fmt.Errorf("load cgroup %s: %w", cgPath, err)
	}
	if !g.mgr.Exists() {
		return nil, fmt.Errorf("load cgroup %s: %w", cgPath, os.ErrNotExist)
	}
	return g, nil
}

func manage(cgPath string, v Version, root string, res *occgroups.Resources) (*Group, error) {
	cfg := &occgroups.Cgroup{Path: cgPath, Resources: res}
	var (
		mgr occgroups.Manager
		err error
	)
	switch v {
	case V1:
		mgr, err = fs.NewManager(cfg, nil)
	case V2:
		mgr, err = fs2.NewManager(cfg, filepath.Join(root, cgPath))
	default:
		err = fmt.Errorf("unknown cgroup version %d", int(v))
	}
	if err != nil {
		return nil, err
	}
	return &Group{path: cgPath, version: v, mgr: mgr}, nil
}

// resources translates a Spec into the library's resource settings for
// cgroup version v. It is pure, so the rules written on v2 hosts can be tested
// anywhere.
func resources(spec Spec, v Version) (*occgroups.Resources, error) {
	if spec.CPUs < 0 {
		return nil, fmt.Errorf("cpus %g must not be negative", spec.CPUs)
	}
	if spec.MemoryBytes < 0 {
		return nil, fmt.Errorf("memory %d must not be negative", spec.MemoryBytes)
	}
	res := &occgroups.Resources{}
	if spec.CPUs > 0 {
		res.CpuPeriod = DefaultCPUPeriod
		res.CpuQuota = int64(spec.CPUs*DefaultCPUPeriod + 0.5)
		if res.CpuQuota < 1000 {
			res.CpuQuota = 1000 // the kernel's minimum
		}
		if v == V1 {
			res.CpuShares = uint64(spec.CPUs*1024 + 0.5)
		} else {
			res.CpuWeight = occgroups.ConvertCPUSharesToCgroupV2Value(uint64(spec.CPUs*1024 + 0.5))
		}
	}
	res.Memory = spec.MemoryBytes
	if spec.InheritDevices {
		res.SkipDevices = true
		return res, nil
	}
	rules, err := deviceRules(spec)
	if err != nil {
		return nil, err
	}
	res.Devices = rules
	return res, nil
}

// deviceRules builds the ordered device rules: a deny-all followed by the
// allow-list, or a single allow-all.
func deviceRules(spec Spec) ([]*devconfig.Rule, error) {
	if !spec.DenyAllOthers {
		return []*devconfig.Rule{{
			Type: devconfig.WildcardDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard,
			Permissions: "rwm", Allow: true,
		}}, nil
	}
	rules := []*devconfig.Rule{{
		Type: devconfig.WildcardDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard,
		Permissions: "rwm", Allow: false,
	}}
	for _, d := range spec.Devices {
		var t devconfig.Type
		switch d.Type {
		case CharDevice:
			t = devconfig.CharDevice
		case BlockDevice:
			t = devconfig.BlockDevice
		case AnyDevice:
			t = devconfig.WildcardDevice
		default:
			return nil, fmt.Errorf("device rule %q: type must be 'c', 'b' or 'a'", d.String())
		}
		access := d.Access
		if access == "" {
			access = "rwm"
		}
		if strings.Trim(access, "rwm") != "" {
			return nil, fmt.Errorf("device rule %q: access must be a subset of \"rwm\"", d.String())
		}
		if d.Major < Wildcard || d.Minor < Wildcard {
			return nil, fmt.Errorf("device rule %q: major and minor must be numbers or Wildcard", d.String())
		}
		rules = append(rules, &devconfig.Rule{
			Type: t, Major: d.Major, Minor: d.Minor, Permissions: devconfig.Permissions(access), Allow: true,
		})
	}
	return rules, nil
}

// Path returns the group's path as given to New or Load.
func (g *Group) Path() string { return g.path }

// Version returns the cgroup version the group lives in.
func (g *Group) Version() Version { return g.version }

// Dir returns the group's directory in the hierarchy of a controller
// ("memory", "cpu", "devices", ...); on v2 the controller is ignored.
func (g *Group) Dir(controller string) string { return g.mgr.Path(controller) }

// AddProc moves the process pid into the group.
func (g *Group) AddProc(pid int) error {
	if err := g.mgr.AddPid("", pid); err != nil {
		return fmt.Errorf("add process %d to cgroup %s: %w", pid, g.path, err)
	}
	return nil
}

// Children lists the names of the group's child groups.
func (g *Group) Children() ([]string, error) {
	dir := g.mgr.Path("")
	if g.version == V1 {
		dir = g.mgr.Path("pids") // every group Fairway makes has the pids controller
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list children of cgroup %s: %w", g.path, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Procs lists the processes in the group and its descendants.
func (g *Group) Procs() ([]int, error) {
	pids, err := g.mgr.GetAllPids()
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %s: %w", g.path, err)
	}
	return pids, nil
}

// Signal sends sig to every process in the group. Processes that exit while
// it runs are not an error.
func (g *Group) Signal(sig syscall.Signal) error {
	pids, err := g.Procs()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %d to process %d: %w", sig, pid, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("signal cgroup %s: %w", g.path, err)
	}
	return nil
}

// Kill sends SIGKILL to every process in the group, again and again (so that
// processes forked meanwhile die too) until the group is empty or ctx is done.
// On v1 the group is frozen while it is signalled where the freezer exists.
func (g *Group) Kill(ctx context.Context) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		pids, err := g.Procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if g.version == V2 && g.writeCgroupKill() {
			// cgroup.kill (Linux 5.14) kills every process atomically.
		} else {
			frozen := g.mgr.Freeze(occgroups.Frozen) == nil
			err = g.Signal(syscall.SIGKILL)
			if frozen {
				_ = g.mgr.Freeze(occgroups.Thawed)
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kill cgroup %s: %w", g.path, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func (g *Group) writeCgroupKill() bool {
	dir := g.mgr.Path("")
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		return false
	}
	return occgroups.WriteFile(dir, "cgroup.kill", "1") == nil
}

// Stats reports the group's memory and CPU use and its OOM kills.
func (g *Group) Stats() (Stats, error) {
	st, err := g.mgr.Stats(&occgroups.StatsOptions{Controllers: occgroups.Memory | occgroups.CPU})
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w", g.path, err)
	}
	out := Stats{
		MemoryUsageBytes: st.MemoryStats.Usage.Usage,
		MemoryMaxBytes:   st.MemoryStats.Usage.MaxUsage,
		CPUUsageNanos:    st.CpuStats.CpuUsage.TotalUsage,
		UserCPUNanos:     st.CpuStats.CpuUsage.UsageInUsermode,
		SysCPUNanos:      st.CpuStats.CpuUsage.UsageInKernelmode,
	}
	oom, err := g.mgr.OOMKillCount()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return out, fmt.Errorf("OOM kill count of cgroup %s: %w", g.path, err)
	}
	out.OOMKills = oom
	return out, nil
}

// Destroy removes the group. It fails while processes remain in it.
func (g *Group) Destroy() error {
	if err := g.mgr.Destroy(); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", g.path, err)
	}
	return nil
}
