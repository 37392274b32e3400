package gpu

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"tags.cncf.io/container-device-interface/pkg/cdi"
	cdispec "tags.cncf.io/container-device-interface/specs-go"
)

// DefaultCDIDirs are where CDI specs live (what `nvidia-ctk cdi generate`
// writes to).
var DefaultCDIDirs = []string{cdi.DefaultStaticDir, cdi.DefaultDynamicDir}

// DefaultCDIKind is the kind under which NVIDIA's CDI specs name GPUs.
const DefaultCDIKind = "nvidia.com/gpu"

// DefaultDriverDirs are searched for the driver's user space when no CDI
// spec names the GPUs.
var DefaultDriverDirs = []string{
	"/usr/local/nvidia/lib64", "/usr/local/nvidia/bin",
	"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/bin",
}

// Where the driver's files go in a container without CDI: the directories
// NVIDIA's CUDA images already have on their PATH and LD_LIBRARY_PATH.
const (
	ContainerLibDir = "/usr/local/nvidia/lib64"
	ContainerBinDir = "/usr/local/nvidia/bin"
)

// driverLibs are the driver libraries a CUDA program and nvidia-smi need
// (NVIDIA's "compute" and "utility" capabilities).
var driverLibs = []string{
	"libnvidia-ml.so*", "libcuda.so*", "libcudadebugger.so*", "libnvidia-ptxjitcompiler.so*",
	"libnvidia-nvvm.so*", "libnvidia-gpucomp.so*", "libnvidia-cfg.so*", "libnvidia-opencl.so*",
	"libnvidia-allocator.so*",
}

// driverBins are the driver's programs a job may run.
var driverBins = []string{"nvidia-smi", "nvidia-debugdump"}

// defaultPath is the search path of an image that sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// UserSpace finds the driver's user space (libraries, nvidia-smi, hooks) for
// container jobs: from a CDI spec when one names the job's GPUs, else from
// the driver directories.
//
// Device nodes are never taken from CDI: the job's devices and their cgroup
// rules are exactly what Resolver.Nodes lists, so a CDI spec's common device
// nodes (such as /dev/nvidia-modeset or /dev/dri) are left out.
type UserSpace struct {
	// CDIDirs hold CDI specs; nil means DefaultCDIDirs.
	CDIDirs []string
	// CDIKind is the kind of the GPUs' CDI devices; default DefaultCDIKind.
	CDIKind string
	// DriverDirs are searched for the driver's libraries and programs
	// when no CDI spec names the GPUs; nil means DefaultDriverDirs.
	DriverDirs []string
}

// Edit returns the change that gives a container the driver's user space for
// these GPUs, and where it came from ("cdi:FILE", "driver:DIRS" or "none").
// The change must run after the image's configuration and before the job's
// environment is set (so the job's GPU variables win over a CDI spec's).
func (u UserSpace) Edit(devs []Device) (func(*specs.Spec) error, string, error) {
	if len(devs) == 0 {
		return nil, "none", nil
	}
	edit, source, err := u.fromCDI(devs)
	if err != nil || edit != nil {
		return edit, source, err
	}
	return u.fromDriverDirs()
}

// fromCDI returns the CDI edits of the GPUs' CDI devices, or nil when a GPU
// has none.
func (u UserSpace) fromCDI(devs []Device) (func(*specs.Spec) error, string, error) {
	dirs := u.CDIDirs
	if dirs == nil {
		dirs = DefaultCDIDirs
	}
	kind := u.CDIKind
	if kind == "" {
		kind = DefaultCDIKind
	}
	present := false
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			present = true
		}
	}
	if !present {
		return nil, "", nil
	}
	cache, err := cdi.NewCache(cdi.WithSpecDirs(dirs...), cdi.WithAutoRefresh(false))
	if err != nil {
		return nil, "", fmt.Errorf("CDI specs in %s: %w", strings.Join(dirs, ", "), err)
	}
	var found []*cdi.Device
	for _, d := range devs {
		var dev *cdi.Device
		for _, name := range []string{d.UUID, strconv.Itoa(d.Index)} {
			if dev = cache.GetDevice(kind + "=" + name); dev != nil {
				break
			}
		}
		if dev == nil {
			return nil, "", nil
		}
		found = append(found, dev)
	}
	var edits []*cdispec.ContainerEdits
	var files []string
	for _, dev := range found {
		spec := dev.GetSpec()
		if !slices.Contains(files, spec.GetPath()) {
			files = append(files, spec.GetPath())
			edits = append(edits, withoutDeviceNodes(spec.ContainerEdits))
		}
		edits = append(edits, withoutDeviceNodes(dev.ContainerEdits))
	}
	return func(s *specs.Spec) error {
		for _, e := range edits {
			if err := (&cdi.ContainerEdits{ContainerEdits: e}).Apply(s); err != nil {
				return fmt.Errorf("CDI edits from %s: %w", strings.Join(files, ", "), err)
			}
		}
		return nil
	}, "cdi:" + strings.Join(files, ","), nil
}

func withoutDeviceNodes(e cdispec.ContainerEdits) *cdispec.ContainerEdits {
	e.DeviceNodes = nil
	return &e
}

// fromDriverDirs bind-mounts the driver's libraries and programs found in
// the driver directories, read-only, into ContainerLibDir and
// ContainerBinDir, and adds those to the container's search paths.
func (u UserSpace) fromDriverDirs() (func(*specs.Spec) error, string, error) {
	dirs := u.DriverDirs
	if dirs == nil {
		dirs = DefaultDriverDirs
	}
	var mounts []specs.Mount
	seen := map[string]bool{}
	add := func(patterns []string, dst string) error {
		for _, dir := range dirs {
			for _, p := range patterns {
				matches, err := filepath.Glob(filepath.Join(dir, p))
				if err != nil {
					return fmt.Errorf("driver files %s: %w", p, err)
				}
				sort.Strings(matches)
				for _, m := range matches {
					name := filepath.Base(m)
					fi, err := os.Stat(m) // follows links: a dangling one is skipped
					if err != nil || !fi.Mode().IsRegular() || seen[dst+name] {
						continue
					}
					seen[dst+name] = true
					mounts = append(mounts, specs.Mount{
						Type: "bind", Source: m, Destination: path.Join(dst, name),
						Options: []string{"rbind", "ro", "nosuid", "nodev"},
					})
				}
			}
		}
		return nil
	}
	if err := add(driverLibs, ContainerLibDir); err != nil {
		return nil, "", err
	}
	libs := len(mounts)
	if err := add(driverBins, ContainerBinDir); err != nil {
		return nil, "", err
	}
	if len(mounts) == 0 {
		return nil, "none", nil
	}
	return func(s *specs.Spec) error {
		s.Mounts = append(s.Mounts, mounts...)
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if libs > 0 {
			s.Process.Env = appendPath(s.Process.Env, "LD_LIBRARY_PATH", "", ContainerLibDir)
		}
		if len(mounts) > libs {
			s.Process.Env = appendPath(s.Process.Env, "PATH", defaultPath, ContainerBinDir)
		}
		return nil
	}, "driver:" + strings.Join(dirs, ":"), nil
}

// appendPath adds dir to the search path variable name in env (a list of
// KEY=VALUE), starting from def when env has no such variable.
func appendPath(env []string, name, def, dir string) []string {
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			if !slices.Contains(strings.Split(v, ":"), dir) {
				if v != "" {
					v += ":"
				}
				env[i] = name + "=" + v + dir
			}
			return env
		}
	}
	if def != "" {
		return append(env, name+"="+def+":"+dir)
	}
	return append(env, name+"="+dir)
}
