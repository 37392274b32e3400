package stepserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/sched/planapply"
)

// taskWrapper is run as `sh -c taskWrapper fairway-task OUT ERR CMD...` as
// the job's user: it waits for "go" on fd 3 (the daemon moves it into the
// step's cgroup first, so everything the task forks is in it), opens the
// output files when given (as the user, appending), and execs the command.
const taskWrapper = `read -r __fw_go <&3 && [ "$__fw_go" = go ] || exit 126
exec 3<&-
if [ -n "$1" ]; then exec >>"$1" || exit 126; fi
if [ -n "$2" ]; then exec 2>>"$2" || exit 126; fi
shift 2
unset __fw_go
exec "$@"
`

// sampleEvery is how often a running step's memory use is sampled for its
// average RSS.
const sampleEvery = time.Second

// killTimeout bounds the killing of a step's processes.
const killTimeout = 30 * time.Second

// step is one step's part on this node, from its launch until its tasks
// have all ended.
type step struct {
	s           *Server
	plan        *stepPlan
	log         *slog.Logger
	ctx         context.Context // done when the step is to be killed
	cancelCause context.CancelCauseFunc
	cgroup      string

	// inMu guards task 0's standard input (a pipe, or its terminal), nil
	// when task 0 does not run here; a write may block on a task that does
	// not read, so it has a lock of its own.
	inMu  sync.Mutex
	stdin io.WriteCloser
	ttyIn bool
	// started is closed once the tasks have started (or the step ended
	// before they could): input that srun sends earlier waits for it
	// instead of being discarded as input for a task 0 that has ended.
	started     chan struct{}
	startedOnce sync.Once

	mu  sync.Mutex
	grp *cgroups.Group // nil until made
	// launched: every task has started (or failed to); before that a
	// signal that ends tasks ends the step, so that tasks started after
	// the signal do not outlive it.
	launched bool
	samples  int64
	rssSum   int64
	rssMax   int64
}

// task is one launched task.
type task struct {
	rank    int
	cmd     *exec.Cmd
	readers sync.WaitGroup // its output streams, until EOF
}

// taskExit is how a task's process ended.
type taskExit struct {
	t      *task
	code   int
	signal int
}

// abort kills the step's tasks, saying why.
func (st *step) abort(why string) { st.cancelCause(errors.New(why)) }

// cancel kills the step's tasks because its job is gone.
func (st *step) cancel() { st.abort("the job no longer runs on this node") }

// group returns the step's cgroup, nil before it is made.
func (st *step) group() *cgroups.Group {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.grp
}

// run launches the node's tasks, streams their output and exits to fw
// and waits for them all; it returns the node's report.
func (st *step) run(fw *frameWriter) api.StepReport {
	p := st.plan
	grp, err := st.s.stepGroup(st.ctx, st.cgroup, p.job)
	if err != nil {
		st.log.Error("cannot make the step's cgroup", "err", err)
		return st.result(fmt.Sprintf("node %s: %v", st.s.cfg.Node, err))
	}
	st.mu.Lock()
	st.grp = grp
	st.mu.Unlock()
	defer st.destroyGroup(grp)
	if err := context.Cause(st.ctx); st.ctx.Err() != nil {
		// Ended (a signal, its job gone) before its tasks started.
		return st.result(fmt.Sprintf("node %s: %v", st.s.cfg.Node, err))
	}

	exits := make(chan taskExit, len(p.req.Tasks))
	var tasks []*task
	var startErr error
	for local, rank := range p.req.Tasks {
		if st.ctx.Err() != nil {
			break // ended (a signal) while its tasks were starting
		}
		t, err := st.start(grp, fw, local, rank)
		if err != nil {
			startErr = fmt.Errorf("node %s: task %d: %w", st.s.cfg.Node, rank, err)
			break
		}
		tasks = append(tasks, t)
		go func() {
			err := t.cmd.Wait()
			exits <- exitOf(t, err)
		}()
	}
	st.mu.Lock()
	st.launched = true
	st.mu.Unlock()
	st.markStarted()
	if startErr != nil {
		st.log.Warn("cannot launch the step's tasks; killing those started", "err", startErr)
		st.abort(startErr.Error())
	} else {
		st.log.Info("step launched", "tasks", len(tasks), "cgroup", st.cgroup)
	}

	rep := st.result("")
	var frames sync.WaitGroup
	killed := false
	kill := func() {
		if !killed {
			killed = true
			st.kill(grp)
		}
	}
	ticker := time.NewTicker(sampleEvery)
	defer ticker.Stop()
	for remaining := len(tasks); remaining > 0; {
		select {
		case e := <-exits:
			remaining--
			st.log.Debug("task ended", "task", e.t.rank, "code", e.code, "signal", e.signal)
			switch {
			case e.signal > 0:
				if rep.Signal == 0 {
					rep.Signal = e.signal
				}
			case e.code > rep.ExitCode:
				rep.ExitCode = e.code
			}
			if p.req.KillOnBadExit && (e.code != 0 || e.signal != 0) && st.ctx.Err() == nil {
				st.abort(fmt.Sprintf("task %d exited with code %d (signal %d): --kill-on-bad-exit", e.t.rank, e.code, e.signal))
			}
			frames.Go(func() {
				e.t.readers.Wait() // its output goes first
				_ = fw.send(exitFrame(e.t.rank, e.code, e.signal))
			})
		case <-st.ctx.Done():
			kill()
		case <-ticker.C:
			st.sample(grp)
		}
	}
	st.sample(grp)
	_ = st.writeStdin(nil, true) // the input nobody reads any more
	// Whatever the tasks left running (holding their output open) goes.
	kill()
	frames.Wait()
	rep.Usage = st.usage(grp)
	switch {
	case startErr != nil:
		rep.Reason = startErr.Error()
	case st.ctx.Err() != nil && context.Cause(st.ctx) != nil && !errors.Is(context.Cause(st.ctx), context.Canceled):
		rep.Reason = context.Cause(st.ctx).Error()
	}
	st.log.Info("step ended on this node", "exit_code", rep.ExitCode, "signal", rep.Signal, "reason", rep.Reason)
	return rep
}

// start launches one task: the wrapper as the job's user, moved into the
// step's cgroup before it execs the command.
func (st *step) start(grp *cgroups.Group, fw *frameWriter, local, rank int) (*task, error) {
	p := st.plan
	at := taskSpot{step: p.key.step, node: st.s.cfg.Node, nodeID: p.nodeID, local: local, rank: rank}
	var gpus = p.gpus[local]
	env := taskEnv(p.req.Env, at, p.jobGPUs, gpus)
	pat := planapply.StepPattern{Step: p.key.step, NodeID: p.nodeID, Task: rank}
	var outFile, errFile string
	if p.req.Stdout != "" {
		outFile = planapply.ExpandStepPattern(p.req.Stdout, p.job, st.s.cfg.Node, pat)
	}
	if p.req.Stderr != "" {
		errFile = planapply.ExpandStepPattern(p.req.Stderr, p.job, st.s.cfg.Node, pat)
	}
	dir := workDir(p.req, p.job)
	for _, f := range []*string{&outFile, &errFile} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}

	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("go-ahead pipe: %w", err)
	}
	defer goR.Close()
	defer goW.Close()
	t := &task{rank: rank}
	args := append([]string{"-c", taskWrapper, "fairway-task", outFile, errFile}, p.req.Command...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{goR}
	uid, gid, groups := credentials(p.job)
	g32 := make([]uint32, len(groups))
	for i, g := range groups {
		g32[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: g32},
	}
	var ours []*os.File // our ends of the output pipes, closed on failure
	var theirs []*os.File
	defer func() {
		for _, f := range theirs {
			f.Close()
		}
	}()
	if p.req.Pty {
		// srun --pty: the task's terminal is a pseudo-terminal whose
		// output streams back as its stdout.
		master, slave, err := openPty(uid, gid)
		if err != nil {
			return nil, err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
		ours, theirs = append(ours, master), append(theirs, slave)
		t.readers.Go(func() { forward(master, fw, rank, "stdout") })
		if rank == 0 {
			st.setStdin(master, true)
		}
	} else if rank == 0 {
		// srun's standard input goes to task 0 (POST .../stdin).
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		cmd.Stdin = r
		theirs = append(theirs, r)
		st.setStdin(w, false)
	}
	for _, out := range []struct {
		name string
		file string
		set  func(*os.File)
	}{
		{"stdout", outFile, func(f *os.File) { cmd.Stdout = f }},
		{"stderr", errFile, func(f *os.File) { cmd.Stderr = f }},
	} {
		if out.file != "" || p.req.Pty {
			continue // the wrapper opens it, or the terminal takes it
		}
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range ours {
				f.Close()
			}
			return nil, fmt.Errorf("%s pipe: %w", out.name, err)
		}
		out.set(w)
		ours, theirs = append(ours, r), append(theirs, w)
		t.readers.Go(func() { forward(r, fw, rank, out.name) })
	}
	if err := cmd.Start(); err != nil {
		for _, f := range ours {
			f.Close()
		}
		return nil, fmt.Errorf("start as uid %d in %s: %w", uid, dir, err)
	}
	t.cmd = cmd
	abort := func(err error) (*task, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	if err := grp.AddProc(cmd.Process.Pid); err != nil {
		return abort(err)
	}
	if _, err := io.WriteString(goW, "go\n"); err != nil {
		return abort(fmt.Errorf("let the task go: %w", err))
	}
	logTask(st.log, rank).Debug("task started", "pid", cmd.Process.Pid, "gpus", len(gpus))
	return t, nil
}

// forward streams one output of a task as frames until EOF; it drains
// the pipe even once srun is gone, so the task never blocks writing.
func forward(r *os.File, fw *frameWriter, rank int, stream string) {
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_ = fw.send(api.StepFrame{Task: rank, Stream: stream, Data: append([]byte(nil), buf[:n]...)})
		}
		if err != nil {
			return
		}
	}
}

// exitOf turns a task's Wait result into its exit.
func exitOf(t *task, err error) taskExit {
	st := t.cmd.ProcessState
	if st == nil {
		return taskExit{t: t, code: 255}
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return taskExit{t: t, signal: int(ws.Signal())}
	}
	_ = err // a non-zero exit is an *exec.ExitError: its code is the state's
	return taskExit{t: t, code: st.ExitCode()}
}

// kill kills every process of the step (its cgroup and descendants).
func (st *step) kill(grp *cgroups.Group) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), killTimeout)
	defer cancel()
	if err := grp.Kill(ctx); err != nil && !errors.Is(err, os.ErrNotExist) {
		st.log.Error("cannot kill the step's processes", "err", err)
	}
}

// destroyGroup removes the step's cgroup once its processes are gone.
func (st *step) destroyGroup(grp *cgroups.Group) {
	st.kill(grp)
	if err := grp.Destroy(); err != nil {
		st.log.Warn("cannot remove the step's cgroup", "err", err)
	}
}

// signal sends sig to every process of the step.
func (st *step) signal(sig syscall.Signal) error {
	st.mu.Lock()
	grp, launched := st.grp, st.launched
	st.mu.Unlock()
	if !launched && endsTasks(sig) {
		// Its tasks have not all started (the job's batch script may still
		// be being launched): a signal that would end them ends the step.
		st.abort(fmt.Sprintf("signalled %s before its tasks started", unix.SignalName(sig)))
	}
	if grp == nil {
		return nil
	}
	if err := grp.Signal(sig); err != nil {
		return fmt.Errorf("signal step %s: %w", st.plan.key, err)
	}
	return nil
}

// result is the node's report of the step with no usage yet; reason,
// when set, says why the node's part failed.
func (st *step) result(reason string) api.StepReport {
	return api.StepReport{JobID: st.plan.key.job, StepID: st.plan.key.step, Reason: reason,
		Usage: api.Usage{Tasks: len(st.plan.req.Tasks), GPUs: stepGPUCount(st.plan)}}
}

// stepGPUCount counts the distinct GPUs the node's tasks were given.
func stepGPUCount(p *stepPlan) int {
	seen := map[int]bool{}
	for _, g := range p.gpus {
		for _, d := range g {
			seen[d.Index] = true
		}
	}
	return len(seen)
}

// setStdin records task 0's standard input.
func (st *step) setStdin(w io.WriteCloser, tty bool) {
	st.inMu.Lock()
	defer st.inMu.Unlock()
	st.stdin, st.ttyIn = w, tty
}

// writeStdin hands srun's input to task 0; eof ends it (a pipe is closed,
// a terminal gets its end-of-file character). Input for a task that no
// longer reads it is discarded.
func (st *step) writeStdin(data []byte, eof bool) error {
	select {
	case <-st.started:
	case <-st.ctx.Done():
	}
	st.inMu.Lock()
	defer st.inMu.Unlock()
	if st.stdin == nil {
		return nil // task 0 has ended, or its input was closed: input is discarded, as Slurm does
	}
	if len(data) > 0 {
		if _, err := st.stdin.Write(data); err != nil {
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EIO) {
				return nil // task 0 no longer reads: discarded
			}
			return fmt.Errorf("write to task 0: %w", err)
		}
	}
	if !eof {
		return nil
	}
	var err error
	if st.ttyIn {
		_, err = st.stdin.Write([]byte{4}) // ^D; the terminal stays
	} else {
		err = st.stdin.Close()
	}
	st.stdin = nil
	return err
}

// markStarted lets input through: the tasks have started, or will not.
func (st *step) markStarted() { st.startedOnce.Do(func() { close(st.started) }) }

// endsTasks reports whether a signal's default action ends a process.
func endsTasks(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}
