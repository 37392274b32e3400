package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmenv"
)

// allocScript is the batch script of an allocation that salloc or srun
// holds: it waits until the job is cancelled.
const allocScript = "#!/bin/sh\n# Fairway allocation held by salloc or srun: waits until relinquished.\nwhile :; do sleep 3600; done\n"

func sallocOpts() []*opt {
	return append([]*opt{
		{long: "job-name", short: 'J', usage: "job name (default: the command's name)"},
		{long: "nodes", short: 'N', usage: "number of nodes (default 1)"},
		{long: "ntasks", short: 'n', usage: "number of tasks (default: one per node)"},
		{long: "ntasks-per-node", usage: "tasks per node (when --ntasks is not given)"},
		{long: "cpus-per-task", short: 'c', usage: "CPUs per task (default 1)"},
		{long: "gpus-per-node", key: "gpus", usage: "GPUs per node: N or TYPE:N"},
		{long: "gpus-per-task", key: "gpus", usage: "GPUs per task: N or TYPE:N"},
		{long: "chdir", short: 'D', usage: "working directory of the command"},
		ignoredOpt("quiet", 'Q', optFlag), ignoredOpt("verbose", 'v', optFlag), ignoredOpt("exclusive", 0, optOptional),
		ignoredOpt("no-shell", 0, optFlag), ignoredOpt("immediate", 'I', optOptional), ignoredOpt("constraint", 'C', optValue),
		addrOpt(),
		helpOpt('h'),
	}, allocOpts()...)
}

// allocSpec builds the job of an allocation for srun or salloc from their
// options (sbatch's meaning); layout carries srun's --gpus-per-node and
// --gpus-per-task.
func allocSpec(inv *invocation, layout layoutRequest, cmd string) (api.JobSpec, error) {
	cwd, err := inv.env.Getwd()
	if err != nil {
		return api.JobSpec{}, fmt.Errorf("current directory: %w", err)
	}
	name := cmd
	if len(inv.args) > 0 {
		name = baseName(inv.args[0])
	}
	spec := api.JobSpec{Name: name, Script: allocScript, WorkDir: cwd, Stdout: "/dev/null"}
	if id, err := inv.env.User(); err == nil {
		spec.User, spec.UID, spec.GID = id.Name, id.UID, id.GID
	}
	if h, err := inv.env.Hostname(); err == nil {
		spec.SubmitHost = h
	}
	if err := applyOptions(&spec, inv.opts, cwd, inv.env); err != nil {
		return api.JobSpec{}, err
	}
	if layout.GPUsPerNode > 0 {
		spec.GPUs = layout.GPUsPerNode
	}
	if layout.GPUsPerTask > 0 {
		spec.GPUs = layout.GPUsPerTask * ((spec.NTasks + spec.Nodes - 1) / spec.Nodes)
	}
	if inv.opts.has("overcommit") {
		spec.CPUsPerTask = 1
	}
	spec.Env = map[string]string{}
	for _, kv := range inv.env.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			spec.Env[k] = v
		}
	}
	if err := api.ValidateSpec(&spec, nil); err != nil {
		return api.JobSpec{}, err
	}
	return spec, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// allocation is a job srun or salloc holds.
type allocation struct {
	job     *api.Job
	release func(code int)
}

// allocate submits an allocation job, prints Slurm's messages on stderr
// and waits (blocking queries) until it runs. Interrupted while waiting,
// it cancels the job.
func allocate(ctx context.Context, inv *invocation, cl *client.Client, spec api.JobSpec) (*allocation, error) {
	name := inv.name
	ids, err := cl.Submit(ctx, spec)
	if err != nil {
		//lint:ignore ST1005 Slurm's message
		return nil, fmt.Errorf("Job submit/allocate failed: %w", err)
	}
	if len(ids) != 1 {
		//lint:ignore ST1005 Slurm's message
		return nil, fmt.Errorf("Job submit/allocate failed: the controller returned %d job ids for one job", len(ids))
	}
	id := ids[0]
	cancel := func() { _ = cl.Cancel(context.WithoutCancel(ctx), id, "") }
	var index uint64
	queued := false
	submitted := time.Now()
	cl = cl.WithConsistent(true) // the job just acknowledged is there on every answer
	for {
		resp, err := cl.Jobs(ctx, client.JobFilter{All: true, IDs: []api.JobID{id}}, client.QueryOptions{WaitIndex: index, WaitTime: waitPoll})
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				fmt.Fprintf(inv.env.Stderr, "%s: Job allocation %d has been revoked.\n", name, id)
				return nil, &exitError{code: 1}
			}
			return nil, fmt.Errorf("wait for job %d: %w", id, err)
		}
		index = resp.Index
		var job *api.Job
		for _, j := range resp.Jobs {
			if j.ID == id {
				job = j
			}
		}
		switch {
		case job == nil && time.Since(submitted) < time.Minute:
			// A controller catching up: ask again.
			index = 0
			time.Sleep(200 * time.Millisecond)
			continue
		case job == nil:
			return nil, fmt.Errorf("job %d: gone while waiting for resources", id)
		case job.State == api.JobRunning:
			if name == "salloc" {
				fmt.Fprintf(inv.env.Stderr, "salloc: Granted job allocation %d\n", id)
			} else {
				fmt.Fprintf(inv.env.Stderr, "%s: job %d has been allocated resources\n", name, id)
			}
			return &allocation{job: job, release: func(int) {
				if name == "salloc" {
					fmt.Fprintf(inv.env.Stderr, "salloc: Relinquishing job allocation %d\n", id)
				}
				cancel()
			}}, nil
		case job.State.Final():
			fmt.Fprintf(inv.env.Stderr, "%s: Job allocation %d has been revoked.\n", name, id)
			return nil, &exitError{code: 1}
		case !queued:
			queued = true
			if name == "salloc" {
				fmt.Fprintf(inv.env.Stderr, "salloc: Pending job allocation %d\nsalloc: job %d queued and waiting for resources\n", id, id)
			} else {
				fmt.Fprintf(inv.env.Stderr, "%s: job %d queued and waiting for resources\n", name, id)
			}
		}
	}
}

// allocationEnv is the environment salloc gives its command: the job's
// SLURM_ variables (and FAIRWAY_ twins) so that srun inside runs steps.
func allocationEnv(job *api.Job) map[string]string {
	alloc := allocationOf(job)
	names := nodeNames(alloc)
	cpus := make([]int, len(alloc))
	for i, a := range alloc {
		cpus[i] = a.CPUs
	}
	ntasks := max(job.Spec.NTasks, 1)
	nodes := max(len(names), 1)
	tasks := make([]int, len(names))
	for i := range tasks {
		tasks[i] = ntasks / nodes
		if i < ntasks%nodes {
			tasks[i]++
		}
	}
	list := slurmenv.Nodelist(names)
	env := map[string]string{
		"SLURM_JOB_ID": job.ID.String(), "SLURM_JOBID": job.ID.String(),
		"SLURM_JOB_NAME":     job.Spec.Name,
		"SLURM_JOB_NODELIST": list, "SLURM_NODELIST": list,
		"SLURM_JOB_NUM_NODES": strconv.Itoa(len(names)), "SLURM_NNODES": strconv.Itoa(len(names)),
		"SLURM_NTASKS": strconv.Itoa(ntasks), "SLURM_NPROCS": strconv.Itoa(ntasks),
		"SLURM_TASKS_PER_NODE":    slurmenv.Counts(tasks),
		"SLURM_JOB_CPUS_PER_NODE": slurmenv.Counts(cpus),
		"SLURM_JOB_PARTITION":     job.Partition,
		"SLURM_CLUSTER_NAME":      "fairway",
	}
	if job.Spec.CPUsPerTask > 1 {
		env["SLURM_CPUS_PER_TASK"] = strconv.Itoa(job.Spec.CPUsPerTask)
	}
	if job.Spec.MemoryMB > 0 {
		env["SLURM_MEM_PER_NODE"] = strconv.FormatInt(job.Spec.MemoryMB, 10)
	}
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
		out["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	return out
}

// salloc obtains an allocation, runs a command (default $SHELL) here with
// the allocation's environment, and relinquishes the allocation when the
// command exits, with its exit status.
func salloc(ctx context.Context, inv *invocation) error {
	spec, err := allocSpec(inv, layoutRequest{}, "salloc")
	if err != nil {
		return err
	}
	argv := inv.args
	if len(argv) == 0 {
		sh := inv.env.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		argv = []string{sh}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return fmt.Errorf("%s: %w", argv[0], errors.Unwrap(err))
	}
	cl := inv.client()
	a, err := allocate(ctx, inv, cl, spec)
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, kv := range inv.env.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range allocationEnv(a.job) {
		env[k] = v
	}
	code := runLocal(inv, argv, env)
	a.release(code)
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// runLocal runs argv here with env and srun's streams, ignoring SIGINT
// while it runs (the command gets Ctrl-C from the terminal itself), and
// returns its exit status.
func runLocal(inv *invocation, argv []string, env map[string]string) int {
	sigs, stop := inv.env.notify()
	defer stop()
	go func() {
		for range sigs { //nolint:revive // drained: the child handles them
		}
	}()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inv.env.Stdin, inv.env.Stdout, inv.env.Stderr
	if d := inv.opts.str("chdir"); d != "" {
		cmd.Dir = d
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	code, msg := taskStatus(cmd.Run())
	if msg != "" && code == 1 && !strings.HasPrefix(msg, "Exited") {
		fmt.Fprintf(inv.env.Stderr, "%s: error: %s\n", inv.name, msg)
	}
	return code
}

// rawTerminal puts r, when it is a terminal, in raw mode (srun --pty: the
// remote pseudo-terminal interprets the keys) and returns the function that
// restores it.
func rawTerminal(r io.Reader) (func(), error) {
	f, ok := r.(*os.File)
	if !ok {
		return nil, errors.New("standard input is not a terminal")
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("standard input is not a terminal: %w", err)
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, fmt.Errorf("raw terminal: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
