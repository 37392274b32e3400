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
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/fairway-hpc/fairway/api"
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
	// stdinPath is where a job's --input file is mounted, read-only.
	stdinPath = "/.fairway/stdin"
	// ToolsDir is where an image-based container finds the tools binary
	// (Config.ToolsBinary) under the fairway and Slurm command names.
	ToolsDir = "/usr/local/bin"
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
	// RuncStateRoot is where the runc shim keeps runc's state, one folder
	// per namespace; default /run/containerd/runc (containerd's default).
	RuncStateRoot string
	// Shell runs the output- and mount-checking helpers on the host;
	// default /bin/sh.
	Shell string
	// MountAllow lists path prefixes that any job may bind-mount with
	// --container-mounts (the node daemon's --mount-allow); elsewhere a
	// non-root job mounts only what its user can read.
	MountAllow []string
	Logger     *slog.Logger
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
	if cfg.RuncStateRoot == "" {
		cfg.RuncStateRoot = "/run/containerd/runc"
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

// staleRuncState reports whether a task could not be created because runc
// still has state for the container's ID.
func staleRuncState(err error) bool {
	return strings.Contains(err.Error(), "container with given ID already exists")
}

// deleteRuncState force-deletes runc's state for a container ID in the
// executor's namespace (the runc shim's default root, /run/containerd/runc/NS).
func (e *Executor) deleteRuncState(ctx context.Context, id string) error {
	root := filepath.Join(e.cfg.RuncStateRoot, e.cfg.Namespace)
	out, err := exec.CommandContext(ctx, "runc", "--root", root, "delete", "--force", id).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc delete --force %s: %w: %s", id, err, strings.TrimSpace(string(out)))
	}
	return nil
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
	if err := e.checkMounts(ctx, spec); err != nil {
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
	if err != nil && staleRuncState(err) {
		// runc keeps its own state per container ID, outside containerd; a
		// shim that died before deleting it leaves the ID taken. Nothing runs
		// under it (containerd has no task for the ID), so it is removed and
		// the task created again, once.
		e.log.Warn("removing stale runc state before launching", "container", id, "err", err)
		if derr := e.deleteRuncState(ctx, id); derr != nil {
			return fail(fmt.Errorf("create task of container %s: %w (and removing the stale runc state: %v)", id, err, derr))
		}
		task, err = ctr.NewTask(ctx, cio.LogFile(spec.StdoutPath))
	}
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
// filesystem path. Errors name the image.
func (e *Executor) checkOutputs(ctx context.Context, spec executor.Spec) error {
	out, err := e.asUser(ctx, spec, `for f; do true >>"$f" || exit 1; done`, spec.StdoutPath, spec.StderrPath)
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return fmt.Errorf("cannot open output file %s or %s as uid %d: %s", spec.StdoutPath, spec.StderrPath, spec.UID, msg)
	}
	if hasInput(spec) {
		out, err := e.asUser(ctx, spec, `true <"$1"`, spec.StdinPath)
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			return fmt.Errorf("cannot open input file %s as uid %d: %s", spec.StdinPath, spec.UID, msg)
		}
	}
	return nil
}

// hasInput reports whether the job reads a file as its standard input
// (sbatch -i) rather than /dev/null.
func hasInput(spec executor.Spec) bool {
	return spec.StdinPath != "" && spec.StdinPath != os.DevNull
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
