package gpu

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Default places of the driver's device information.
const (
	DefaultDevDir      = "/dev"
	DefaultProcDevices = "/proc/devices"
	DefaultMIGMinors   = "/proc/driver/nvidia-caps/mig-minors"
)

// Fixed device numbers of the NVIDIA driver: /dev/nvidiaN is 195:N and
// /dev/nvidiactl 195:255 (the driver's documented numbers); the UVM and
// capability devices have dynamic majors, read from /proc/devices.
const (
	nvidiaMajor = 195
	ctlMinor    = 255
)

// DeviceNode is a character device a job may use.
type DeviceNode struct {
	// Path is the node's path as a job sees it, such as /dev/nvidia1.
	Path string
	// HostPath is the node on this host (under the resolver's DevDir); empty
	// when the host has no such node and the numbers come from /proc/devices.
	HostPath string
	Major    int64
	Minor    int64
}

// Resolver finds the device nodes of GPUs. The zero value uses the host's
// /dev, /proc/devices and MIG capability minors; tests point it at fake ones.
type Resolver struct {
	// DevDir holds the nvidia* device nodes; default /dev.
	DevDir string
	// ProcDevices lists the drivers' majors; default /proc/devices.
	ProcDevices string
	// MIGMinors maps MIG capabilities to minors of the nvidia-caps
	// devices; default /proc/driver/nvidia-caps/mig-minors.
	MIGMinors string
}

func (r Resolver) withDefaults() Resolver {
	if r.DevDir == "" {
		r.DevDir = DefaultDevDir
	}
	if r.ProcDevices == "" {
		r.ProcDevices = DefaultProcDevices
	}
	if r.MIGMinors == "" {
		r.MIGMinors = DefaultMIGMinors
	}
	return r
}

// Nodes returns the device nodes a job given these GPUs needs, in a stable
// order: /dev/nvidiaN of each GPU, /dev/nvidiactl, /dev/nvidia-uvm,
// /dev/nvidia-uvm-tools, and for a GPU in MIG mode the capability devices
// that grant access to each of its MIG instances.
//
// A node's numbers come from the node in DevDir when it exists, else from
// /proc/devices (the driver is loaded but the node was not created yet). A
// control or UVM device known to neither is left out. A GPU device known to
// neither is an error when strict (NVML says the GPU exists, so the job
// would get a GPU it cannot open), and left out otherwise (a declared fake
// GPU).
func (r Resolver) Nodes(devs []Device, strict bool) ([]DeviceNode, error) {
	if len(devs) == 0 {
		return nil, nil
	}
	r = r.withDefaults()
	majors, err := readProcDevices(r.ProcDevices)
	if err != nil {
		return nil, err
	}
	gpuMajor := int64(-1)
	for _, name := range []string{"nvidia-frontend", "nvidia"} {
		if m, ok := majors[name]; ok {
			gpuMajor = m
			break
		}
	}
	var out []DeviceNode
	seen := map[string]bool{}
	add := func(rel string, major, minor int64) (bool, error) {
		n, ok, err := r.node(rel, major, minor)
		if err != nil || !ok {
			return false, err
		}
		if !seen[n.Path] {
			seen[n.Path] = true
			out = append(out, n)
		}
		return true, nil
	}
	sorted := append([]Device(nil), devs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	for _, d := range sorted {
		ok, err := add(fmt.Sprintf("nvidia%d", d.Minor), gpuMajor, int64(d.Minor))
		if err != nil {
			return nil, err
		}
		if !ok && strict {
			return nil, fmt.Errorf("GPU %d (%s): no device node %s and no nvidia driver in %s",
				d.Index, d.UUID, filepath.Join(r.DevDir, fmt.Sprintf("nvidia%d", d.Minor)), r.ProcDevices)
		}
	}
	uvm, hasUVM := majors["nvidia-uvm"]
	if !hasUVM {
		uvm = -1
	}
	for _, c := range []struct {
		rel          string
		major, minor int64
	}{
		{"nvidiactl", gpuMajor, ctlMinor},
		{"nvidia-uvm", uvm, 0},
		{"nvidia-uvm-tools", uvm, 1},
	} {
		if _, err := add(c.rel, c.major, c.minor); err != nil {
			return nil, err
		}
	}
	caps, err := r.migCaps(sorted, majors)
	if err != nil {
		return nil, err
	}
	for _, c := range caps {
		if _, err := add(c.rel, c.major, c.minor); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type capNode struct {
	rel          string
	major, minor int64
}

// migCaps returns the capability devices of the MIG instances of the GPUs
// in MIG mode: for each instance, the access capabilities of its GPU
// instance and of its compute instance, /dev/nvidia-caps/nvidia-capM with M
// from the mig-minors file.
func (r Resolver) migCaps(devs []Device, majors map[string]int64) ([]capNode, error) {
	need := false
	for _, d := range devs {
		need = need || (d.MIGEnabled && len(d.MIG) > 0)
	}
	if !need {
		return nil, nil
	}
	minors, err := readMIGMinors(r.MIGMinors)
	if err != nil {
		return nil, err
	}
	major, ok := majors["nvidia-caps"]
	if !ok {
		major = -1
	}
	var out []capNode
	for _, d := range devs {
		if !d.MIGEnabled {
			continue
		}
		for _, mig := range d.MIG {
			for _, capName := range []string{
				fmt.Sprintf("gpu%d/gi%d/access", d.Minor, mig.GPUInstance),
				fmt.Sprintf("gpu%d/gi%d/ci%d/access", d.Minor, mig.GPUInstance, mig.ComputeInstance),
			} {
				minor, ok := minors[capName]
				if !ok {
					return nil, fmt.Errorf("GPU %d MIG instance %s: %s has no capability %s", d.Index, mig.UUID, r.MIGMinors, capName)
				}
				out = append(out, capNode{rel: fmt.Sprintf("nvidia-caps/nvidia-cap%d", minor), major: major, minor: minor})
			}
		}
	}
	return out, nil
}

// node finds one device node: rel (relative to /dev) in DevDir when it is a
// character device there, else the given numbers when major is known.
func (r Resolver) node(rel string, major, minor int64) (DeviceNode, bool, error) {
	jobPath := path.Join("/dev", rel)
	host := filepath.Join(r.DevDir, rel)
	var st unix.Stat_t
	err := unix.Stat(host, &st)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR:
		return DeviceNode{Path: jobPath, HostPath: host,
			Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev))}, true, nil
	case err == nil:
		return DeviceNode{}, false, fmt.Errorf("%s is not a character device", host)
	case !errors.Is(err, fs.ErrNotExist):
		return DeviceNode{}, false, fmt.Errorf("device node %s: %w", host, err)
	case major < 0:
		return DeviceNode{}, false, nil
	}
	return DeviceNode{Path: jobPath, Major: major, Minor: minor}, true, nil
}

// readProcDevices reads the character-device majors of /proc/devices by
// driver name. A missing file means no drivers.
func readProcDevices(file string) (map[string]int64, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("device majors: %w", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "Block devices:" {
			break // block majors are another numbering
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			out[fields[1]] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("device majors: %s: %w", file, err)
	}
	return out, nil
}

// readMIGMinors reads the driver's map of MIG capabilities to minors
// ("gpu0/gi1/ci0/access 4" per line).
func readMIGMinors(file string) (map[string]int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("MIG capability minors: %w", err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
			out[fields[0]] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("MIG capability minors: %s: %w", file, err)
	}
	return out, nil
}
