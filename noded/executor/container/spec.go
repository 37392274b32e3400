package container

import (
	"context"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

func (e *Executor) specOpts(spec executor.Spec, script string, fromImage bool) []oci.SpecOpts {
	shebang := strings.HasPrefix(spec.Script, "#!")
	argv := []string{ScriptPath}
	if !shebang {
		argv = []string{"/bin/sh", ScriptPath}
	}
	argv = append(argv, spec.Args...)
	mounts := []specs.Mount{bind(script, ScriptPath, true)}
	switch {
	case spec.StderrPath != spec.StdoutPath:
		argv = append([]string{"/bin/sh", "-c", `exec 2>>` + stderrPath + `; exec "$@"`, "fairway-job"}, argv...)
		mounts = append(mounts, bind(spec.StderrPath, stderrPath, false))
	case !shebang:
		// One stream, so the file keeps the order in which lines were
		// written (the shim copies two streams independently).
		argv = append([]string{"/bin/sh", "-c", `exec 2>&1; exec "$@"`, "fairway-job"}, argv...)
	}
	if hasInput(spec) {
		// The file, mounted read-only, is the script's standard input.
		argv = append([]string{"/bin/sh", "-c", `exec <` + stdinPath + `; exec "$@"`, "fairway-job"}, argv...)
		mounts = append(mounts, bind(spec.StdinPath, stdinPath, true))
	}
	if spec.WorkDir != "/" {
		mounts = append(mounts, bind(spec.WorkDir, spec.WorkDir, false))
	}
	for _, m := range slices.Concat(spec.Mounts, spec.NodeMounts) {
		mounts = append(mounts, bind(m.Source, m.Target, m.ReadOnly))
	}
	if fromImage && e.cfg.ToolsBinary != "" {
		for _, name := range toolNames() {
			mounts = append(mounts, bind(e.cfg.ToolsBinary, path.Join(ToolsDir, name), true))
		}
	}
	groups := make([]uint32, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = uint32(g)
	}
	opts := []oci.SpecOpts{withEdits(spec.ContainerEdits)}
	opts = append(opts,
		oci.WithProcessArgs(argv...),
		oci.WithProcessCwd(spec.WorkDir),
		oci.WithEnv(containerEnv(spec.Env)),
		oci.WithUIDGID(uint32(spec.UID), uint32(spec.GID)),
		withAdditionalGIDs(groups),
		oci.WithMounts(mounts),
		// The host's PID namespace (as Apptainer and enroot do for batch
		// jobs): the batch shell is not PID 1, so signals it has no handler
		// for end it, as on the host.
		oci.WithHostNamespace(specs.PIDNamespace),
		oci.WithHostNamespace(specs.NetworkNamespace),
		oci.WithHostNamespace(specs.UTSNamespace),
		oci.WithHostHostsFile,
		oci.WithHostResolvconf,
		oci.WithCgroup(e.cgroupPath(spec.Ref)),
	)
	if spec.MemoryBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(spec.MemoryBytes)))
	}
	if spec.CPUs > 0 {
		quota := max(int64(spec.CPUs*cgroups.DefaultCPUPeriod+0.5), 1000)
		opts = append(opts,
			oci.WithCPUCFS(quota, cgroups.DefaultCPUPeriod),
			oci.WithCPUShares(uint64(spec.CPUs*1024+0.5)))
	}
	// Last: the seccomp profile depends on the capabilities.
	return append(opts, withDevices(spec.Devices), withUnprivileged(spec.UID))
}

// withEdits applies the caller's changes to the spec.
func withEdits(edits []func(*specs.Spec) error) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, edit := range edits {
			if err := edit(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// withDevices gives the container these character devices: runc creates each
// node from its numbers (the host's node may live elsewhere or not exist),
// and a device cgroup rule allows it after containerd's default rule that
// denies every device but runc's standard ones.
func withDevices(devs []executor.Device) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if len(devs) == 0 {
			return nil
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		for _, d := range devs {
			mode := os.FileMode(0o666)
			if d.HostPath != "" {
				if fi, err := os.Stat(d.HostPath); err == nil {
					mode = fi.Mode().Perm()
				}
			}
			major, minor := d.Major, d.Minor
			s.Linux.Devices = slices.DeleteFunc(s.Linux.Devices, func(o specs.LinuxDevice) bool { return o.Path == d.Path })
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
				Path: d.Path, Type: "c", Major: major, Minor: minor, FileMode: &mode,
				UID: ptr(uint32(0)), GID: ptr(uint32(0)),
			})
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
				Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rw",
			})
		}
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func bind(src, dst string, readOnly bool) specs.Mount {
	opt := "rw"
	if readOnly {
		opt = "ro"
	}
	return specs.Mount{Type: "bind", Source: src, Destination: dst, Options: []string{"rbind", opt}}
}

// containerEnv drops the host's search paths from the job's environment: the
// image's PATH and library path apply inside the container.
func containerEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "LD_LIBRARY_PATH=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func withAdditionalGIDs(gids []uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.User.AdditionalGids = gids
		return nil
	}
}

// image returns the unpacked image for src, or for dir: sources the root
