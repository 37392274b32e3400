package noded

import (
	"github.com/fairway-hpc/fairway/api/munge"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// spec builds the executor's launch spec for a job's run on this node, with
// its checkpoint directory (bind-mounted into a container at the same path).
func (d *daemon) spec(job *api.Job, ref executor.Ref, checkpointDir string) (executor.Spec, error) {
	alloc := job.Alloc[0]
	usr, groups := lookupUser(job.Spec.UID)
	if len(job.Spec.GIDs) > 0 {
		// The groups the controller authenticated at submission win over
		// this node's view of the user.
		groups = job.Spec.GIDs
	}
	workDir := job.Spec.WorkDir
	if workDir == "" {
		workDir = "/"
		if usr != nil && usr.HomeDir != "" {
			workDir = usr.HomeDir
		}
	}
	j := *job
	j.Spec.WorkDir = workDir
	stdout, stderr := outputPaths(job, workDir)
	gpuDevs, err := d.gpuDevices(alloc.GPUs)
	if err != nil {
		return executor.Spec{}, err
	}
	devices, err := d.jobDevices(gpuDevs)
	if err != nil {
		return executor.Spec{}, err
	}
	var edits []func(*specs.Spec) error
	if job.Spec.ContainerImage != "" && len(gpuDevs) > 0 {
		edit, source, err := d.userSpace.Edit(gpuDevs)
		if err != nil {
			return executor.Spec{}, err
		}
		d.log.Debug("GPU driver user space for a container job", "job", job.ID, "source", source)
		if edit != nil {
			edits = append(edits, edit)
		}
	}
	mem := alloc.MemoryMB
	if mem <= 0 {
		mem = job.Spec.MemoryMB
	}
	cpus := alloc.CPUs
	if cpus <= 0 {
		cpus = job.Spec.TotalCPUsPerNode()
	}
	return executor.Spec{
		Ref:        ref,
		Script:     job.Spec.Script,
		Args:       job.Spec.Args,
		WorkDir:    workDir,
		StdoutPath: stdout,
		StderrPath: stderr,
		StdinPath:  inputPath(job, workDir),
		UID:        job.Spec.UID,
		GID:        job.Spec.GID,
		Groups:     groups,
		Env: withCheckpointDone(withMunge(withCA(jobEnv(&j, alloc, d.cfg.Name, strings.Join(d.api.Addrs(), ","), checkpointDir, usr, gpuDevs), d.cfg.TLS), d.cfg.MungeSocket),
			checkpointDoneCommand(job, d.cfg.ToolsBinary)),
		CPUs:            float64(cpus),
		MemoryBytes:     mem << 20,
		Devices:         devices,
		RestrictDevices: len(d.gpus.GPUs()) > 0,
		ContainerEdits:  edits,
		Image:           job.Spec.ContainerImage,
		Mounts:          slices.Clone(job.Spec.ContainerMounts),
		NodeMounts:      nodeMounts(checkpointDir, d.cfg.MungeSocket),
	}, nil
}

// outputPaths returns the files a run's standard output and error go to.
//
// The controller expands Slurm's filename patterns (%j, %x, %N, ...) once,
// when the job starts, and stores the results in Job.StdoutPath and
// Job.StderrPath; it is the only place that expands them. The node uses the
// stored paths as they are: a "%" left in them is a literal character of
// the file name (a user's "x%%j.log" is stored as "x%j.log" and written as
// such). A relative path is taken relative to the working directory. An
// empty stdout path, which the controller should never send, falls back to
// slurm-<jobid>.out in the working directory; an empty stderr path means
// the stdout file (Slurm's default).
func outputPaths(job *api.Job, workDir string) (stdout, stderr string) {
	abs := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(workDir, p)
		}
		return filepath.Clean(p)
	}
	stdout = job.StdoutPath
	if stdout == "" {
		stdout = "slurm-" + job.ID.String() + ".out"
	}
	stdout = abs(stdout)
	if job.StderrPath == "" {
		return stdout, stdout
	}
	return stdout, abs(job.StderrPath)
}

// inputPath returns the file the run's standard input comes from: the
// stored, expanded --input (Job.StdinPath, relative to the working
// directory; a "%" left in it is a literal character, as for the output
// paths), else /dev/null.
func inputPath(job *api.Job, workDir string) string {
	p := job.StdinPath
	if p == "" {
		return os.DevNull
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(workDir, p)
	}
	return filepath.Clean(p)
}

// nodeMounts are the bind mounts the node gives every container job: its
// checkpoint directory, and the directory of the node's munged socket
// (read-only; connecting to a socket needs no write access to the mount)
// when it exists, so that scontrol and fairway checkpoint done inside the
// container authenticate as the job's user (munged reads the caller's uid
// from the connection).
func nodeMounts(checkpointDir, mungeSocket string) []api.Mount {
	mounts := []api.Mount{{Source: checkpointDir, Target: checkpointDir}}
	if st, err := os.Stat(mungeSocket); err == nil && st.Mode()&os.ModeSocket != 0 {
		dir := filepath.Dir(mungeSocket)
		mounts = append(mounts, api.Mount{Source: dir, Target: dir, ReadOnly: true})
	}
	return mounts
}

// withMunge sets FAIRWAY_MUNGE_SOCKET in a job's environment to the node's
// munged socket, replacing any the submitter's environment carried. The
// environment stays sorted.
func withMunge(env []string, socket string) []string {
	if socket == "" {
		return env
	}
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, munge.EnvSocket+"=") })
	env = append(env, munge.EnvSocket+"="+socket)
	slices.Sort(env)
	return env
}

// withCA sets FAIRWAY_CA in a job's environment to the PEM text of the
// cluster CA bundle when the node uses TLS, so that the commands a job runs
// (scontrol, srun, fairway checkpoint done) verify the controllers inside
// any container without a file to mount. The environment stays sorted.
func withCA(env []string, creds *pki.Credentials) []string {
	if creds == nil {
		return env
	}
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, client.EnvCA+"=") })
	env = append(env, client.EnvCA+"="+string(creds.CAPEM))
	slices.Sort(env)
	return env
}
