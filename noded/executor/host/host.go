// Package host runs batch jobs as host processes of the job's user, each run
// in its own cgroup with the job's CPU, memory and device limits.
//
// # The wrapper
//
// A run is started as a small /bin/sh wrapper (see wrapperScript), in a new
// session, as the job's user, with the working directory as cwd. It holds
// three extra descriptors:
//
//   - fd 3, the read end of a pipe: the wrapper waits for the line "go" on
//     it, so the daemon can move the wrapper into the job's cgroup before the
//     script starts (every process the script forks is then in the cgroup);
//   - fd 4, the run directory's "status" file, opened by the daemon: the
//     wrapper appends "running" once it has opened the output files, and
//     "exit N" when the script has ended;
//   - fd 5, the write end of an acknowledgement pipe: the wrapper writes "ok"
//     (or why it could not open the output files) and closes it, so Launch
//     knows whether the job started.
//
// The wrapper opens the job's output files itself, as the user, in append
// mode, so files are created with the user's ownership and the user's
// permissions apply; likewise the script's standard input (sbatch -i, else
// /dev/null), for reading. It then runs the script in a subshell that execs it (the
// script sees none of the wrapper's descriptors) and records its exit status.
//
// The wrapper catches the catchable signals a job is sent (HUP, INT, QUIT,
// USR1, USR2, TERM, ALRM, PIPE) with a handler that does nothing, so that a
// signal sent to the whole cgroup (by the fence of a node whose lease ran
// out) does not end it before the script: the script gets the default
// dispositions back when it is executed.
//
// The wrapper's pid and start time are written to the run directory's "pid"
// file. A restarted daemon (Attach) finds the wrapper by that pid, checks the
// start time so that a reused pid is not mistaken for it, polls until it is
// gone, and reads the status file. Signals go to every process of the cgroup
// except the wrapper, which must live to record the status. When the wrapper
// has ended, whatever the script left running in the cgroup is killed.
//
// Exit statuses are as the shell reports them: a script killed by signal N
// ends with status 128+N.
package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// Files in a run directory.
const (
	scriptFile = "slurm_script"
	pidFile    = "pid"
	statusFile = "status"
)

// wrapperScript is run as `sh -c wrapperScript fairway-job IN OUT ERR
// CMD...`; see the package documentation.
const wrapperScript = `trap : HUP INT QUIT USR1 USR2 TERM ALRM PIPE
read -r __fw_go <&3 && [ "$__fw_go" = go ] || exit 126
exec 3<&-
__fw_in=$1 __fw_out=$2 __fw_err=$3
shift 3
for __fw_f in "$__fw_out" "$__fw_err"; do
	if ! __fw_msg=$( { true >>"$__fw_f"; } 2>&1 ); then
		echo "cannot open output file $__fw_f: ${__fw_msg##*: }" >&5
		exit 126
	fi
done
if ! __fw_msg=$( { true <"$__fw_in"; } 2>&1 ); then
	echo "cannot open input file $__fw_in: ${__fw_msg##*: }" >&5
	exit 126
fi
exec >>"$__fw_out" 2>>"$__fw_err"
echo running >&4
echo ok >&5
exec 5>&-
( exec 4>&- <"$__fw_in"; unset __fw_go __fw_in __fw_out __fw_err __fw_f __fw_msg; exec "$@" )
echo "exit $?" >&4
`

// Config configures the host executor.
type Config struct {
	// CgroupParent is the cgroup below which each run gets its group
	// "job-ID-RUN", for example "/fairway/node1".
	CgroupParent string
	// Shell runs the wrapper and scripts without a #! line; default /bin/sh.
	Shell string
	// PollInterval is how often Wait checks whether the wrapper is gone;
	// default 200ms.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Executor runs host jobs. It is safe for concurrent use.
type Executor struct {
	cfg Config
	log *slog.Logger
}

var _ executor.Executor = (*Executor)(nil)

// New returns a host executor.
func New(cfg Config) (*Executor, error) {
	if cfg.CgroupParent == "" || !path.IsAbs(cfg.CgroupParent) {
		return nil, fmt.Errorf("host executor: cgroup parent %q must be an absolute cgroup path", cfg.CgroupParent)
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Executor{cfg: cfg, log: cfg.Logger}, nil
}

func (e *Executor) cgroupPath(ref executor.Ref) string {
	return path.Join(e.cfg.CgroupParent, fmt.Sprintf("job-%d-%d", ref.JobID, ref.Run))
}

// Launch starts the run's wrapper in a new cgroup and lets the script go once
// the wrapper is in the cgroup. It returns after the wrapper has opened the
// output files.
func (e *Executor) Launch(ctx context.Context, spec executor.Spec) (executor.Process, error) {
	if fi, err := os.Stat(spec.WorkDir); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("work dir %s is not a directory", spec.WorkDir)
	}
	script := filepath.Join(spec.RunDir, scriptFile)
	if err := writeScript(script, spec.Script, spec.UID, spec.GID); err != nil {
		return nil, err
	}
	argv := []string{script}
	if !strings.HasPrefix(spec.Script, "#!") {
		argv = []string{e.cfg.Shell, script}
	}
	argv = append(argv, spec.Args...)
	grp, err := cgroups.New(ctx, cgroups.Spec{
		Path:          e.cgroupPath(spec.Ref),
		CPUs:          spec.CPUs,
		MemoryBytes:   spec.MemoryBytes,
		Devices:       deviceRules(spec.Devices),
		DenyAllOthers: spec.RestrictDevices,
	})
	if err != nil {
		return nil, err
	}
	p, err := e.start(ctx, spec, grp, argv)
	if err != nil {
		killCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = grp.Kill(killCtx)
		_ = grp.Destroy()
		return nil, err
	}
	return p, nil
}

func (e *Executor) start(ctx context.Context, spec executor.Spec, grp *cgroups.Group, argv []string) (*process, error) {
	status, err := os.OpenFile(filepath.Join(spec.RunDir, statusFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create status file: %w", err)
	}
	defer status.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("go-ahead pipe: %w", err)
	}
	defer goR.Close()
	defer goW.Close()
	ackR, ackW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("acknowledgement pipe: %w", err)
	}
	defer ackR.Close()
	defer ackW.Close()

	stdin := spec.StdinPath
	if stdin == "" {
		stdin = os.DevNull
	}
	args := append([]string{"-c", wrapperScript, "fairway-job", stdin, spec.StdoutPath, spec.StderrPath}, argv...)
	cmd := exec.Command(e.cfg.Shell, args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.WorkDir
	cmd.ExtraFiles = []*os.File{goR, status, ackW}
	groups := make([]uint32, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Credential: &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.GID), Groups: groups},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start job as uid %d in %s: %w", spec.UID, spec.WorkDir, err)
	}
	// Reap the wrapper when it ends; Wait watches it through /proc, the same
	// way it does after a daemon restart.
	go func() { _ = cmd.Wait() }()
	goR.Close()
	ackW.Close()
	pid := cmd.Process.Pid
	abort := func(err error) (*process, error) {
		_ = cmd.Process.Kill()
		return nil, err
	}

	start, err := procStartTime(pid)
	if err != nil {
		return abort(fmt.Errorf("job wrapper %d: %w", pid, err))
	}
	if err := writeFileAtomic(filepath.Join(spec.RunDir, pidFile), fmt.Sprintf("%d %d\n", pid, start)); err != nil {
		return abort(err)
	}
	if err := grp.AddProc(pid); err != nil {
		return abort(err)
	}
	if _, err := io.WriteString(goW, "go\n"); err != nil {
		return abort(fmt.Errorf("start job wrapper: %w", err))
	}
	goW.Close()

	ack := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(ackR, 4096))
		ack <- strings.TrimSpace(string(b))
	}()
	select {
	case msg := <-ack:
		switch {
		case msg == "ok":
		case msg == "":
			return abort(errors.New("job wrapper exited before starting the script"))
		default:
			return abort(errors.New(msg))
		}
	case <-ctx.Done():
		return abort(fmt.Errorf("start job: %w", ctx.Err()))
	}
	e.log.Debug("host job started", "job", spec.JobID, "run", spec.Run, "pid", pid, "cgroup", grp.Path())
	return &process{e: e, ref: spec.Ref, pid: pid, start: start, grp: grp}, nil
}

// Attach finds a run's wrapper by its pid file.
func (e *Executor) Attach(ctx context.Context, ref executor.Ref) (executor.Process, error) {
	b, err := os.ReadFile(filepath.Join(ref.RunDir, pidFile))
	if errors.Is(err, os.ErrNotExist) {
		// The pid file is written before the go-ahead: without it the
		// script never ran.
		return nil, executor.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", ref, err)
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil {
		return nil, fmt.Errorf("attach %s: bad pid file %q: %w", ref, b, err)
	}
	p := &process{e: e, ref: ref, pid: pid, start: start}
	if grp, err := cgroups.Load(e.cgroupPath(ref)); err == nil {
		p.grp = grp
	}
	return p, nil
}

// List returns nil: host runs are known from their run directories.
func (e *Executor) List(context.Context, string) ([]executor.Ref, error) { return nil, nil }

type process struct {
	e     *Executor
	ref   executor.Ref
	pid   int
	start uint64
	grp   *cgroups.Group // nil when the cgroup is gone (after a reboot)
}

// alive reports whether the wrapper still runs (a zombie counts as gone).
func (p *process) alive() bool {
	st, state, err := procStat(p.pid)
	return err == nil && st == p.start && state != 'Z' && state != 'X'
}

// Wait polls until the wrapper is gone, kills what the script left in the
// cgroup and reads the exit status the wrapper recorded.
func (p *process) Wait(ctx context.Context) (executor.ExitStatus, error) {
	for p.alive() {
		select {
		case <-ctx.Done():
			return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, ctx.Err())
		case <-time.After(p.e.cfg.PollInterval):
		}
	}
	st, running, err := readStatus(filepath.Join(p.ref.RunDir, statusFile))
	if err != nil {
		return executor.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.ref, err)
	}
	if p.grp != nil {
		// The batch script has ended: nothing it started may outlive it.
		if err := p.grp.Kill(ctx); err != nil && !errors.Is(err, os.ErrNotExist) {
			return executor.ExitStatus{}, fmt.Errorf("wait for %s: kill leftover processes: %w", p.ref, err)
		}
		if s, err := p.grp.Stats(); err == nil {
			st.OOM = s.OOMKills > 0
			st.Usage = executor.UsageOf(s)
		}
	}
	switch {
	case !running, st.Code < 0 && p.grp == nil:
		// Never started, or gone with its cgroup (the host rebooted).
		return executor.ExitStatus{}, executor.ErrLost
	case st.Code < 0 && st.OOM:
		st.Code = 128 + int(syscall.SIGKILL)
		st.Message = "the job's wrapper was killed by the OOM killer"
	case st.Code < 0:
		st.Code = 128 + int(syscall.SIGKILL)
		st.Message = "the job's wrapper was killed; exit status unknown"
	}
	return st, nil
}

// readStatus parses the status file: running reports whether the script
// started; Code is -1 when it has no exit line.
func readStatus(name string) (st executor.ExitStatus, running bool, err error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return executor.ExitStatus{Code: -1}, false, nil
	}
	if err != nil {
		return st, false, err
	}
	defer f.Close()
	st.Code = -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "running":
			running = true
		case strings.HasPrefix(line, "exit "):
			code, err := strconv.Atoi(strings.TrimPrefix(line, "exit "))
			if err != nil {
				return st, running, fmt.Errorf("bad status line %q", line)
			}
			st.Code = code
		}
	}
	return st, running, sc.Err()
}

// Signal sends sig to every process of the run but the wrapper.
func (p *process) Signal(_ context.Context, sig syscall.Signal) error {
	if p.grp == nil {
		return nil
	}
	pids, err := p.grp.Procs()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, pid := range pids {
		if pid == p.pid {
			continue // the wrapper must live to record the exit status
		}
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %v to process %d of %s: %w", sig, pid, p.ref, err)
		}
	}
	return nil
}

// SignalBatch sends sig to the batch script: the wrapper's child in the
// run's cgroup (the subshell that execs the script).
func (p *process) SignalBatch(_ context.Context, sig syscall.Signal) error {
	if p.grp == nil {
		return nil
	}
	pids, err := p.grp.Procs()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, pid := range pids {
		if pid == p.pid {
			continue
		}
		if ppid, err := procParent(pid); err != nil || ppid != p.pid {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %v to the batch script (process %d) of %s: %w", sig, pid, p.ref, err)
		}
	}
	return nil
}

// Cleanup kills what is left and removes the run's cgroup.
func (p *process) Cleanup(ctx context.Context) error {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	if p.grp == nil {
		return nil
	}
	if err := p.grp.Kill(ctx); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("clean up %s: %w", p.ref, err)
	}
	if err := p.grp.Destroy(); err != nil {
		return fmt.Errorf("clean up %s: %w", p.ref, err)
	}
	return nil
}

// writeScript writes the batch script, readable and executable by its owner
// (the job's user) only.
func writeScript(name, text string, uid, gid int) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return fmt.Errorf("write batch script: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("write batch script: %w", err)
	}
	if err := f.Chown(uid, gid); err != nil {
		f.Close()
		return fmt.Errorf("write batch script: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write batch script: %w", err)
	}
	return nil
}

func writeFileAtomic(name, data string) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// procStat returns a process's start time (clock ticks since boot) and state.
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may contain spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is the state (field 3); the start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat: %w", pid, err)
	}
	return start, fields[0][0], nil
}

// procParent returns a process's parent pid.
func procParent(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is the state (field 3), fields[1] the parent (field 4).
	if len(fields) < 2 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return strconv.Atoi(fields[1])
}

func procStartTime(pid int) (uint64, error) {
	start, _, err := procStat(pid)
	return start, err
}

// stdDevices are the character devices every job may use when devices are
// restricted (as in runc's default allow-list), plus block devices, the
// misc devices (fuse, tun) and InfiniBand verbs.
func stdDevices() []cgroups.DeviceRule {
	return []cgroups.DeviceRule{
		{Type: cgroups.CharDevice, Major: cgroups.Wildcard, Minor: cgroups.Wildcard, Access: "m"},
		{Type: cgroups.BlockDevice, Major: cgroups.Wildcard, Minor: cgroups.Wildcard},
		{Type: cgroups.CharDevice, Major: 1, Minor: 3},                  // null
		{Type: cgroups.CharDevice, Major: 1, Minor: 5},                  // zero
		{Type: cgroups.CharDevice, Major: 1, Minor: 7},                  // full
		{Type: cgroups.CharDevice, Major: 1, Minor: 8},                  // random
		{Type: cgroups.CharDevice, Major: 1, Minor: 9},                  // urandom
		{Type: cgroups.CharDevice, Major: 5, Minor: cgroups.Wildcard},   // tty, console, ptmx
		{Type: cgroups.CharDevice, Major: 136, Minor: cgroups.Wildcard}, // pts
		{Type: cgroups.CharDevice, Major: 10, Minor: cgroups.Wildcard},  // misc: fuse, tun, ...
		{Type: cgroups.CharDevice, Major: 231, Minor: cgroups.Wildcard}, // infiniband verbs
	}
}

// deviceRules returns the allow-list of a job that may use the given
// character devices besides the standard ones.
func deviceRules(devices []executor.Device) []cgroups.DeviceRule {
	rules := stdDevices()
	for _, d := range devices {
		rules = append(rules, cgroups.DeviceRule{Type: cgroups.CharDevice, Major: d.Major, Minor: d.Minor, Access: "rw"})
	}
	return rules
}
