// Package container runs batch jobs as containerd containers.
//
// The image comes from an OCI or docker archive (oci-archive:PATH,
// docker-archive:PATH: imported into containerd and unpacked with the
// overlayfs snapshotter), from a root filesystem directory (dir:ROOTFS, used in
// place, without a snapshot) or from a registry (any other reference, pulled
// unless containerd already has it).
//
// The batch script is bind-mounted read-only at /.fairway/slurm_script and run
// as the job's user, with the job's working directory bind-mounted at the same
// path and used as cwd, the job's extra mounts, the host's PID, network and
// UTS namespaces, and CPU and memory limits in the OCI spec.
//
// Output is written by containerd's shim (cio.LogFile), not through the
// daemon: the job's stdout file receives both streams, unless the job names a
// different stderr file, in which case the script is started through the
// image's /bin/sh, which appends stderr to that file (bind-mounted at
// /.fairway/stderr). A script without a #! line runs with the image's /bin/sh,
// its stderr joined to stdout so the file keeps the order of the lines; a
// script with one is run directly (the image needs no shell), and its two
// streams may interleave out of order in the file.
//
// Containers carry the labels fairway.job, fairway.run and fairway.node, by
// which a restarted daemon finds them (Attach, List).
package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// Labels set on every job container.
const (
	LabelJob  = "fairway.job"
	LabelRun  = "fairway.run"
	LabelNode = "fairway.node"
)

// Paths inside the container.
const (
	ScriptPath = "/.fairway/slurm_script"
	stderrPath = "/.fairway/stderr"
	toolsDir   = "/usr/local/bin"
)

// toolNames are the names the fairway binary answers to (by argv[0]) inside
// a container, so that scontrol, srun and friends work in jobs.
func toolNames() []string {
	return []string{"fairway", "sbatch", "srun", "scontrol", "squeue", "scancel", "sinfo", "sacct"}
}

// Config configures the containerd executor.
type Config struct {
	// Socket is containerd's address; default /run/containerd/containerd.sock.
	Socket string
	// Namespace is the containerd namespace of job containers; default "fairway".
	Namespace string
	// Snapshotter unpacks images; default "overlayfs".
	Snapshotter string
	// CgroupParent is the cgroup below which each container gets its group
	// "job-ID-RUN", for example "/fairway/node1".
	CgroupParent string
	// ToolsBinary, when set, is bind-mounted read-only into image-based
	// containers at /usr/local/bin/fairway and under the Slurm command names.
	ToolsBinary string
	// Shell runs the output-checking helper on the host; default /bin/sh.
	Shell  string
	Logger *slog.Logger
}

// Executor runs container jobs. It is safe for concurrent use.
type Executor struct {
	cfg    Config
	log    *slog.Logger
	client *client.Client

	mu      sync.Mutex
	imports map[string]*sync.Mutex // one import/pull at a time per image source
}

var _ executor.Executor = (*Executor)(nil)

// New connects to containerd. The connection is made lazily: New succeeds
// while containerd is down, and launches fail until it is up.
func New(cfg Config) (*Executor, error) {
	if cfg.Socket == "" {
		cfg.Socket = "/run/containerd/containerd.sock"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "fairway"
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlayfs"
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.CgroupParent == "" || !path.IsAbs(cfg.CgroupParent) {
		return nil, fmt.Errorf("container executor: cgroup parent %q must be an absolute cgroup path", cfg.CgroupParent)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := client.New(cfg.Socket, client.WithDefaultNamespace(cfg.Namespace))
	if err != nil {
		return nil, fmt.Errorf("containerd at %s: %w", cfg.Socket, err)
	}
	return &Executor{cfg: cfg, log: cfg.Logger, client: c, imports: map[string]*sync.Mutex{}}, nil
}

// Close closes the connection to containerd. Containers keep running.
func (e *Executor) Close() error { return e.client.Close() }

func (e *Executor) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, e.cfg.Namespace)
}

// ContainerID returns the ID of a run's container.
func ContainerID(ref executor.Ref) string {
	return fmt.Sprintf("fairway-%s-%d-%d", sanitize(ref.Node), ref.JobID, ref.Run)
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitize(s string) string { return unsafeID.ReplaceAllString(s, "_") }

func (e *Executor) cgroupPath(ref executor.Ref) string {
	return path.Join(e.cfg.CgroupParent, fmt.Sprintf("job-%d-%d", ref.JobID, ref.Run))
}

// Launch prepares the image, creates the container and starts its task.
func (e *Executor) Launch(ctx context.Context, spec executor.Spec) (executor.Process, error) {
	ctx = e.ns(ctx)
	if fi, err := os.Stat(spec.WorkDir); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("work dir %s is not a directory", spec.WorkDir)
	}
	img, rootfs, err := e.image(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	if err := e.checkOutputs(ctx, spec); err != nil {
		return nil, err
	}
	script := filepath.Join(spec.RunDir, "slurm_script")
	if err := writeScript(script, spec.Script, spec.UID, spec.GID); err != nil {
		return nil, err
	}

	id := ContainerID(spec.Ref)
	labels := map[string]string{
		LabelJob:  strconv.FormatUint(uint64(spec.JobID), 10),
		LabelRun:  strconv.Itoa(spec.Run),
		LabelNode: spec.Node,
	}
	opts := []client.NewContainerOpts{client.WithContainerLabels(labels)}
	specOpts := []oci.SpecOpts{}
	if img != nil {
		opts = append(opts,
			client.WithImage(img),
			client.WithSnapshotter(e.cfg.Snapshotter),
			client.WithNewSnapshot(id, img))
		specOpts = append(specOpts, oci.WithImageConfig(img))
	} else {
		specOpts = append(specOpts, oci.WithRootFSPath(rootfs))
	}
	specOpts = append(specOpts, e.specOpts(spec, script, img != nil)...)
	opts = append(opts, client.WithNewSpec(specOpts...))

	ctr, err := e.client.NewContainer(ctx, id, opts...)
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	p := &process{e: e, ref: spec.Ref, ctr: ctr}
	fail := func(err error) (executor.Process, error) {
		cctx := context.WithoutCancel(ctx)
		if cerr := p.Cleanup(cctx); cerr != nil {
			e.log.Warn("clean up after failed launch", "container", id, "err", cerr)
		}
		return nil, err
	}
	task, err := ctr.NewTask(ctx, cio.LogFile(spec.StdoutPath))
	if err != nil {
		return fail(fmt.Errorf("create task of container %s: %w", id, err))
	}
	p.task = task
	if err := task.Start(ctx); err != nil {
		return fail(fmt.Errorf("start container %s: %w", id, err))
	}
	e.log.Debug("container job started", "job", spec.JobID, "run", spec.Run, "container", id, "pid", task.Pid())
	return p, nil
}

// specOpts builds the OCI spec options common to image and dir: containers.
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
	if spec.WorkDir != "/" {
		mounts = append(mounts, bind(spec.WorkDir, spec.WorkDir, false))
	}
	for _, m := range spec.Mounts {
		mounts = append(mounts, bind(m.Source, m.Target, m.ReadOnly))
	}
	if fromImage && e.cfg.ToolsBinary != "" {
		for _, name := range toolNames() {
			mounts = append(mounts, bind(e.cfg.ToolsBinary, path.Join(toolsDir, name), true))
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
	return append(opts, withDevices(spec.Devices))
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
// filesystem path. Errors name the image.
func (e *Executor) image(ctx context.Context, src string) (client.Image, string, error) {
	kind, arg, _ := strings.Cut(src, ":")
	switch kind {
	case "dir":
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, "", fmt.Errorf("container image %s: %w", src, err)
		}
		if !fi.IsDir() {
			return nil, "", fmt.Errorf("container image %s: not a directory", src)
		}
		return nil, arg, nil
	case "oci-archive", "docker-archive":
		img, err := e.importArchive(ctx, src, arg)
		return img, "", err
	}
	img, err := e.pull(ctx, src)
	return img, "", err
}

func (e *Executor) lockSource(src string) func() {
	e.mu.Lock()
	m, ok := e.imports[src]
	if !ok {
		m = &sync.Mutex{}
		e.imports[src] = m
	}
	e.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// labelArchive, on an imported image, records the size and modification time
// of the archive it came from, so an unchanged archive is not imported again.
const labelArchive = "fairway.archive"

// importArchive imports an archive under the image name src (so the same
// archive is found again) and unpacks it. An archive imported before and not
// changed since is not read again.
func (e *Executor) importArchive(ctx context.Context, src, file string) (client.Image, error) {
	defer e.lockSource(src)()
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("container image %s: %w", src, err)
	}
	stamp := fmt.Sprintf("size=%d,mtime=%d", fi.Size(), fi.ModTime().UnixNano())
	if img, err := e.client.GetImage(ctx, src); err == nil && img.Labels()[labelArchive] == stamp {
		if err := e.unpack(ctx, src, img); err != nil {
			return nil, err
		}
		return img, nil
	}
	var imgs []images.Image
	for attempt := 0; ; attempt++ {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("container image %s: %w", src, err)
		}
		imgs, err = e.client.Import(ctx, f,
			client.WithIndexName(src),
			client.WithImageLabels(map[string]string{labelArchive: stamp}),
			client.WithImageRefTranslator(func(string) string { return "" }))
		f.Close()
		if err == nil {
			break
		}
		// Another daemon sharing this containerd may have created the
		// image name at the same moment: the second try updates it.
		if !errdefs.IsAlreadyExists(err) || attempt > 0 {
			return nil, fmt.Errorf("container image %s: import: %w", src, err)
		}
	}
	for _, im := range imgs {
		if im.Name == src {
			img := client.NewImage(e.client, im)
			if err := e.unpack(ctx, src, img); err != nil {
				return nil, err
			}
			return img, nil
		}
	}
	return nil, fmt.Errorf("container image %s: import created no image", src)
}

func (e *Executor) pull(ctx context.Context, ref string) (client.Image, error) {
	defer e.lockSource(ref)()
	img, err := e.client.GetImage(ctx, ref)
	if err != nil {
		if !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("container image %s: %w", ref, err)
		}
		img, err = e.client.Pull(ctx, ref, client.WithPullUnpack, client.WithPullSnapshotter(e.cfg.Snapshotter))
		if err != nil {
			return nil, fmt.Errorf("container image %s: pull: %w", ref, err)
		}
	}
	if err := e.unpack(ctx, ref, img); err != nil {
		return nil, err
	}
	return img, nil
}

func (e *Executor) unpack(ctx context.Context, src string, img client.Image) error {
	ok, err := img.IsUnpacked(ctx, e.cfg.Snapshotter)
	if err != nil {
		return fmt.Errorf("container image %s: %w", src, err)
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, e.cfg.Snapshotter); err != nil {
		return fmt.Errorf("container image %s: unpack: %w", src, err)
	}
	return nil
}

// checkOutputs creates the output files as the job's user (so they belong
// to the user and the user's permissions apply) before containerd's shim,
// which runs as root, opens them for appending.
func (e *Executor) checkOutputs(ctx context.Context, spec executor.Spec) error {
	cmd := exec.CommandContext(ctx, e.cfg.Shell, "-c",
		`for f; do true >>"$f" || exit 1; done`, "fairway-check", spec.StdoutPath, spec.StderrPath)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	groups := make([]uint32, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.GID), Groups: groups},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("cannot open output file %s or %s as uid %d: %s", spec.StdoutPath, spec.StderrPath, spec.UID, msg)
	}
	return nil
}

func writeScript(name, text string, uid, gid int) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return fmt.Errorf("write batch script: %w", err)
	}
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Chown(uid, gid)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write batch script: %w", err)
	}
	return nil
}

// Attach finds a run's container by its labels.
func (e *Executor) Attach(ctx context.Context, ref executor.Ref) (executor.Process, error) {
	ctx = e.ns(ctx)
	ctrs, err := e.client.Containers(ctx, fmt.Sprintf("labels.%q==%q,labels.%q==%q,labels.%q==%q",
		LabelNode, ref.Node, LabelJob, strconv.FormatUint(uint64(ref.JobID), 10), LabelRun, strconv.Itoa(ref.Run)))
	if err != nil {
		return nil, fmt.Errorf("attach %s: list containers: %w", ref, err)
	}
	if len(ctrs) == 0 {
		return nil, executor.ErrNotFound
	}
	return &process{e: e, ref: ref, ctr: ctrs[0]}, nil
}

// List returns the runs whose containers carry the node's label.
func (e *Executor) List(ctx context.Context, node string) ([]executor.Ref, error) {
	ctx = e.ns(ctx)
	ctrs, err := e.client.Containers(ctx, fmt.Sprintf("labels.%q==%q", LabelNode, node))
	if err != nil {
		return nil, fmt.Errorf("list containers of node %s: %w", node, err)
	}
	var refs []executor.Ref
	for _, c := range ctrs {
		labels, err := c.Labels(ctx)
		if err != nil {
			return nil, fmt.Errorf("labels of container %s: %w", c.ID(), err)
		}
		job, err1 := strconv.ParseUint(labels[LabelJob], 10, 64)
		run, err2 := strconv.Atoi(labels[LabelRun])
		if err1 != nil || err2 != nil {
			e.log.Warn("container with bad fairway labels", "container", c.ID(), "labels", labels)
			continue
		}
		refs = append(refs, executor.Ref{JobID: api.JobID(job), Run: run, Node: node})
	}
	return refs, nil
}

type process struct {
	e   *Executor
	ref executor.Ref
	ctr client.Container

	mu   sync.Mutex
	task client.Task
}

func (p *process) loadTask(ctx context.Context) (client.Task, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.task != nil {
		return p.task, nil
	}
	t, err := p.ctr.Task(ctx, nil)
	if err != nil {
		return nil, err
	}
	p.task = t
	return t, nil
}

// Wait waits for the task to exit and reads the OOM count of its cgroup
// before the task (and its cgroup) is deleted.
func (p *process) Wait(ctx context.Context) (executor.ExitStatus, error) {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return executor.ExitStatus{}, executor.ErrLost
	}
	if err != nil {
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
	}
	select {
	case <-ctx.Done():
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, ctx.Err())
	case st := <-ch:
		code, _, err := st.Result()
		if err != nil {
			return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
		}
		out := executor.ExitStatus{Code: int(code)}
		// The container's cgroup lives until the task is deleted.
		if g, err := cgroups.Load(p.e.cgroupPath(p.ref)); err == nil {
			if s, err := g.Stats(); err == nil && s.OOMKills > 0 {
				out.OOM = true
			}
		}
		return out, nil
	}
}

// Signal sends sig to every process of the container.
func (p *process) Signal(ctx context.Context, sig syscall.Signal) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", p.ref, err)
	}
	err = task.Kill(ctx, sig, client.WithKillAll)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("signal %v to %s: %w", sig, p.ref, err)
	}
	return nil
}

// SignalBatch sends sig to the container's init process: the batch script
// (the shell wrappers exec it).
func (p *process) SignalBatch(ctx context.Context, sig syscall.Signal) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal batch script of %s: %w", p.ref, err)
	}
	err = task.Kill(ctx, sig)
	if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("signal %v to the batch script of %s: %w", sig, p.ref, err)
	}
	return nil
}

// Cleanup deletes the task, the container and its snapshot.
func (p *process) Cleanup(ctx context.Context) error {
	ctx = p.e.ns(ctx)
	task, err := p.loadTask(ctx)
	switch {
	case err == nil:
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("clean up %s: delete task: %w", p.ref, err)
		}
	case !errdefs.IsNotFound(err):
		return fmt.Errorf("clean up %s: %w", p.ref, err)
	}
	if err := p.ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("clean up %s: delete container: %w", p.ref, err)
	}
	return nil
}
