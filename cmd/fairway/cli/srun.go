package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/fairway-hpc/fairway/api"
)

// srunLocal runs a job step without the controller or the node step
// servers ($FAIRWAY_SRUN_LOCAL=1): --ntasks copies of a command on this
// node, inside the batch job that runs srun. Its exit status is the highest
// task exit status (128+N for a task killed by signal N).
func srunLocal(ctx context.Context, inv *invocation) error {
	env := inv.env
	o := inv.opts
	jobID := env.Getenv("SLURM_JOB_ID")
	if jobID == "" {
		return errors.New("srun needs a job allocation: run it inside a batch job (sbatch script.sh), or submit the command with sbatch --wrap='...'")
	}
	if len(inv.args) == 0 {
		return errors.New("no command given; usage: srun [options] command [args...]")
	}
	ntasks := 1
	if n, err := strconv.Atoi(env.Getenv("SLURM_NTASKS")); err == nil && n > 0 {
		if nodes, err := strconv.Atoi(env.Getenv("SLURM_JOB_NUM_NODES")); err != nil || nodes <= 1 {
			ntasks = n
		}
	}
	for _, key := range []string{"ntasks-per-node", "ntasks"} {
		if v, ok := o.last(key); ok {
			n, err := positiveInt(v, "a task count such as 4")
			if err != nil {
				return err
			}
			ntasks = n
		}
	}
	if v, ok := o.last("nodes"); ok {
		if n, err := positiveInt(v, "1"); err != nil || n != 1 {
			return &api.FieldError{Field: "--nodes", Value: v.value, Msg: "local steps ($FAIRWAY_SRUN_LOCAL=1) run on the node srun runs on; only --nodes=1 is supported"}
		}
	}
	cpus := ""
	if v, ok := o.last("cpus-per-task"); ok {
		n, err := positiveInt(v, "a CPU count such as 4")
		if err != nil {
			return err
		}
		cpus = strconv.Itoa(n)
	}
	exp, _ := o.last("export")
	taskEnv, err := exportEnv(exp.value, env.Environ())
	if err != nil {
		return err
	}
	dir := ""
	if v, ok := o.last("chdir"); ok {
		dir = v.value
	}
	host := env.Getenv("SLURMD_NODENAME")
	if host == "" {
		if h, err := env.Hostname(); err == nil {
			host, _, _ = strings.Cut(h, ".")
		}
	}
	stepID := nextStepID(env, jobID)
	pat := taskPattern{job: jobID, step: strconv.Itoa(stepID), node: host, name: env.Getenv("SLURM_JOB_NAME")}
	if id, err := env.User(); err == nil {
		pat.user = id.Name
	}
	if v, ok := o.last("job-name"); ok {
		taskEnv["SLURM_JOB_NAME"] = v.value
		pat.name = v.value
	}
	step := &step{
		env:     env,
		argv:    inv.args,
		ntasks:  ntasks,
		dir:     dir,
		host:    host,
		stepID:  stepID,
		cpus:    cpus,
		baseEnv: taskEnv,
		pattern: pat,
		stdout:  o.str("output"),
		stderr:  o.str("error"),
		label:   o.flag("label"),
		killBad: o.has("kill-on-bad-exit") && o.str("kill-on-bad-exit") != "0",
	}
	code, err := step.run(ctx)
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// nextStepID returns this srun's step id within the job (0, 1, ...), kept in a
// counter file in $TMPDIR (or /tmp) locked with flock. The file is named by
// FAIRWAY_RUN_ID (unique per run of a job, set by the node daemon), else by the
// job ID. It returns 0 when the counter cannot be kept.
func nextStepID(env *Env, jobID string) int {
	if run := env.Getenv("FAIRWAY_RUN_ID"); run != "" {
		jobID = run
	}
	dir := env.Getenv("TMPDIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, "fairway-srun-"+filepath.Base(jobID)+".steps")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway
	data, _ := io.ReadAll(f)
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if err := f.Truncate(0); err != nil {
		return n
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(n+1)+"\n"), 0); err != nil {
		return n
	}
	return n
}

// taskPattern fills srun's file name patterns.
type taskPattern struct {
	job, step, node, user, name string
}

// expand replaces %j %J %s %t %N %n %u %x %% in a pattern for one task.
func (p taskPattern) expand(pattern string, task int) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' || i+1 == len(pattern) {
			b.WriteByte(pattern[i])
			continue
		}
		i++
		switch pattern[i] {
		case 'j', 'A':
			b.WriteString(p.job)
		case 'J':
			b.WriteString(p.job + "." + p.step)
		case 's':
			b.WriteString(p.step)
		case 't':
			b.WriteString(strconv.Itoa(task))
		case 'N':
			b.WriteString(p.node)
		case 'n':
			b.WriteString("0")
		case 'u':
			b.WriteString(p.user)
		case 'x':
			b.WriteString(p.name)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}

// step is one srun invocation's tasks.
type step struct {
	env            *Env
	argv           []string
	ntasks         int
	dir            string
	host           string
	stepID         int
	cpus           string
	baseEnv        map[string]string
	pattern        taskPattern
	stdout, stderr string
	label          bool
	killBad        bool
}

// taskEnv is the environment of task i.
func (s *step) taskEnv(i int) []string {
	env := map[string]string{}
	for k, v := range s.baseEnv {
		env[k] = v
	}
	set := map[string]string{
		"SLURM_STEP_ID":             strconv.Itoa(s.stepID),
		"SLURM_STEPID":              strconv.Itoa(s.stepID),
		"SLURM_PROCID":              strconv.Itoa(i),
		"SLURM_LOCALID":             strconv.Itoa(i),
		"SLURM_NODEID":              "0",
		"SLURM_NTASKS":              strconv.Itoa(s.ntasks),
		"SLURM_NPROCS":              strconv.Itoa(s.ntasks),
		"SLURM_STEP_NUM_TASKS":      strconv.Itoa(s.ntasks),
		"SLURM_STEP_NUM_NODES":      "1",
		"SLURM_STEP_NODELIST":       s.host,
		"SLURM_STEP_TASKS_PER_NODE": strconv.Itoa(s.ntasks),
	}
	if s.cpus != "" {
		set["SLURM_CPUS_PER_TASK"] = s.cpus
	}
	for k, v := range set {
		env[k] = v
		// The FAIRWAY_ twin, as the node daemon sets it for the batch script.
		env["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// outputs opens the stdout and stderr of each task: files from the patterns
// (shared when a pattern names no task), else srun's own streams, through a
// labelling writer with --label. The returned func closes the files.
func (s *step) outputs() (stdout, stderr []io.Writer, closeAll func() error, err error) {
	files := map[string]*os.File{}
	var order []*os.File
	open := func(pattern string, task int) (io.Writer, error) {
		name := s.pattern.expand(pattern, task)
		if s.dir != "" && !filepath.IsAbs(name) {
			name = filepath.Join(s.dir, name)
		}
		if f, ok := files[name]; ok {
			return f, nil
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open task output: %w", err)
		}
		files[name] = f
		order = append(order, f)
		return f, nil
	}
	var labelers []*lineLabeler
	closeAll = func() error {
		var first error
		for _, l := range labelers {
			if err := l.flush(); err != nil && first == nil {
				first = err
			}
		}
		for _, f := range order {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	var mu, labelMu sync.Mutex // serialize writes to srun's own streams; whole labelled lines
	shared := func(w io.Writer) io.Writer {
		if _, ok := w.(*os.File); ok {
			return w // the tasks write to the file themselves
		}
		return &lockedWriter{w: w, mu: &mu}
	}
	ownOut, ownErr := shared(s.env.Stdout), shared(s.env.Stderr)
	for i := 0; i < s.ntasks; i++ {
		var out, errw io.Writer = ownOut, ownErr
		if s.stdout != "" {
			if out, err = open(s.stdout, i); err != nil {
				closeAll()
				return nil, nil, nil, err
			}
			errw = out
		}
		if s.stderr != "" {
			if errw, err = open(s.stderr, i); err != nil {
				closeAll()
				return nil, nil, nil, err
			}
		}
		if s.label {
			lo := &lineLabeler{w: out, prefix: fmt.Sprintf("%d: ", i), mu: &labelMu}
			le := &lineLabeler{w: errw, prefix: fmt.Sprintf("%d: ", i), mu: &labelMu}
			labelers = append(labelers, lo, le)
			out, errw = lo, le
		}
		stdout = append(stdout, out)
		stderr = append(stderr, errw)
	}
	return stdout, stderr, closeAll, nil
}

// run starts the tasks, waits for all of them and returns the step's exit status.
func (s *step) run(ctx context.Context) (int, error) {
	stdout, stderr, closeAll, err := s.outputs()
	if err != nil {
		return 0, err
	}
	defer closeAll()

	// The node daemon signals every process of the job itself: srun only
	// outlives the signals so that it can report the tasks' exit statuses.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	defer signal.Stop(sigs)

	cmds := make([]*exec.Cmd, s.ntasks)
	for i := range cmds {
		cmd := exec.Command(s.argv[0], s.argv[1:]...)
		cmd.Env = s.taskEnv(i)
		cmd.Dir = s.dir
		cmd.Stdout, cmd.Stderr = stdout[i], stderr[i]
		if i == 0 {
			cmd.Stdin = s.env.Stdin
		}
		if err := cmd.Start(); err != nil {
			for _, c := range cmds[:i] {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
			return 0, fmt.Errorf("%s: task %d: launch %s: %w", s.host, i, s.argv[0], err)
		}
		cmds[i] = cmd
	}
	type result struct {
		task int
		err  error
	}
	done := make(chan result, len(cmds))
	for i, c := range cmds {
		go func() { done <- result{i, c.Wait()} }()
	}
	worst := 0
	killed := false
	for left := len(cmds); left > 0; {
		select {
		case <-sigs:
			continue
		case <-ctx.Done():
			if !killed {
				killed = true
				for _, c := range cmds {
					_ = c.Process.Signal(syscall.SIGTERM)
				}
			}
			continue
		case r := <-done:
			left--
			code, msg := taskStatus(r.err)
			if msg != "" {
				fmt.Fprintf(s.env.Stderr, "srun: error: %s: task %d: %s\n", s.host, r.task, msg)
			}
			worst = max(worst, code)
			if code != 0 && s.killBad && !killed {
				killed = true
				for _, c := range cmds {
					_ = c.Process.Signal(syscall.SIGTERM)
				}
			}
		}
	}
	return worst, nil
}

// taskStatus turns a task's Wait error into its exit status and Slurm's
// message about it ("" for success).
func taskStatus(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 1, err.Error()
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		name := sig.String()
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		return 128 + int(sig), name
	}
	code := ee.ExitCode()
	return code, fmt.Sprintf("Exited with exit code %d", code)
}

// lockedWriter serializes writes of several tasks to one writer.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lineLabeler prefixes each line written through it (srun --label).
type lineLabeler struct {
	w      io.Writer
	prefix string
	mu     *sync.Mutex
	buf    []byte
}

// flush writes a last line that has no newline.
func (l *lineLabeler) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(append(append([]byte(l.prefix), l.buf...), '\n'))
	l.buf = nil
	return err
}

// Write implements io.Writer: complete lines are written at once with the prefix.
func (l *lineLabeler) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.mu.Lock()
		_, err := l.w.Write(append([]byte(l.prefix), l.buf[:i+1]...))
		l.mu.Unlock()
		l.buf = l.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}
