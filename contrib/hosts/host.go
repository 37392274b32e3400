package hosts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is one network namespace on the Net's bridge.
type Host struct {
	net  *Net
	name string
	ns   string
	veth string
	addr netip.Addr
	log  *slog.Logger

	mu    sync.Mutex
	procs []*Proc
}

// Name is the host's name in the Net.
func (h *Host) Name() string { return h.name }

// Namespace is the name of the host's network namespace (ip netns).
func (h *Host) Namespace() string { return h.ns }

// Addr is the host's address on the bridge.
func (h *Host) Addr() netip.Addr { return h.addr }

// nsPath is the namespace's file, which nsenter enters.
func (h *Host) nsPath() string { return "/run/netns/" + h.ns }

// utsDir holds the hosts' UTS namespace files.
const utsDir = "/run/fairway-hosts"

// utsPath is the file of the host's UTS namespace (its hostname is the
// host's name).
func (h *Host) utsPath() string { return utsDir + "/" + h.ns + ".uts" }

// Exec runs a short command inside the host's network namespace, bounded by
// ctx and the Net's command timeout, and returns its standard output.
func (h *Host) Exec(ctx context.Context, name string, args ...string) (string, error) {
	return h.net.cmd(ctx, "nsenter", append([]string{"--net=" + h.nsPath(), "--uts=" + h.utsPath(), "--", name}, args...)...)
}

// Start runs cmd inside the host's network namespace as a process the
// harness keeps: cmd's Path, Args, Env, Dir, Stdout, Stderr and
// ExtraFiles are used (cmd itself is not started; its Stdout and Stderr
// should be files, or writers safe to use again after a Restart). The
// process is its own process group leader. ctx bounds the start only: the
// process runs until it exits, is killed, or the Net is closed.
func (h *Host) Start(ctx context.Context, name string, cmd *exec.Cmd) (*Proc, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hosts: start %s on %s: %w", name, h.name, err)
	}
	p := &Proc{host: h, name: name, tmpl: cmd, log: h.log.With("proc", name)}
	h.net.mu.Lock()
	closed := h.net.closed
	h.net.mu.Unlock()
	if closed {
		return nil, errors.New("hosts: net is closed")
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Procs returns the processes started on the host.
func (h *Host) Procs() []*Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Proc(nil), h.procs...)
}

// iptables runs one iptables command in the host's namespace.
func (h *Host) iptables(ctx context.Context, args ...string) error {
	_, err := h.Exec(ctx, "iptables", append([]string{"-w"}, args...)...)
	return err
}

// Cut drops every packet between this host and the others (iptables DROP
// rules in this host's INPUT and OUTPUT chains, by peer address), until
// Heal. Both directions are cut by this host's rules alone.
func (h *Host) Cut(ctx context.Context, others ...*Host) error {
	for _, o := range others {
		a := o.addr.String()
		if err := h.iptables(ctx, "-I", "INPUT", "-s", a, "-j", "DROP"); err != nil {
			return fmt.Errorf("hosts: cut %s from %s: %w", h.name, o.name, err)
		}
		if err := h.iptables(ctx, "-I", "OUTPUT", "-d", a, "-j", "DROP"); err != nil {
			return fmt.Errorf("hosts: cut %s from %s: %w", h.name, o.name, err)
		}
	}
	h.log.Info("cut", "from", len(others))
	return nil
}

// CutAll drops every packet on the host's eth0, in and out: the host
// reaches no other host nor the bridge address (loopback still works),
// until Heal.
func (h *Host) CutAll(ctx context.Context) error {
	if err := h.iptables(ctx, "-I", "INPUT", "-i", "eth0", "-j", "DROP"); err != nil {
		return fmt.Errorf("hosts: cut %s: %w", h.name, err)
	}
	if err := h.iptables(ctx, "-I", "OUTPUT", "-o", "eth0", "-j", "DROP"); err != nil {
		return fmt.Errorf("hosts: cut %s: %w", h.name, err)
	}
	h.log.Info("cut off")
	return nil
}

// Loss drops each packet on eth0 at random with probability pct/100, in
// each direction (iptables statistic match), until Heal. pct is in (0, 100].
func (h *Host) Loss(ctx context.Context, pct float64) error {
	if pct <= 0 || pct > 100 {
		return fmt.Errorf("hosts: loss %v%%: want (0, 100]", pct)
	}
	prob := strconv.FormatFloat(pct/100, 'f', 4, 64)
	for _, chain := range [][]string{{"INPUT", "-i"}, {"OUTPUT", "-o"}} {
		if err := h.iptables(ctx, "-A", chain[0], chain[1], "eth0", "-m", "statistic", "--mode", "random", "--probability", prob, "-j", "DROP"); err != nil {
			return fmt.Errorf("hosts: loss on %s: %w", h.name, err)
		}
	}
	h.log.Info("loss", "pct", pct)
	return nil
}

// Heal removes every rule Cut, CutAll and Loss added (it flushes the
// namespace's INPUT and OUTPUT chains, which only the harness writes).
func (h *Host) Heal(ctx context.Context) error {
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		if err := h.iptables(ctx, "-F", chain); err != nil {
			return fmt.Errorf("hosts: heal %s: %w", h.name, err)
		}
	}
	h.log.Info("healed")
	return nil
}

// close kills the host's processes and whatever else runs in its
// namespace, then deletes the namespace and its veth.
func (h *Host) close(ctx context.Context) error {
	var errs []error
	for _, p := range h.Procs() {
		if err := p.Kill(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// Processes the harness did not start itself (children that left their
	// process group, jobs of a node daemon) keep a namespace alive.
	if out, err := h.net.cmd(ctx, "ip", "netns", "pids", h.ns); err == nil {
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if _, err := h.net.cmd(ctx, "ip", "link", "del", h.veth); err != nil && !notFound(err) {
		errs = append(errs, err)
	}
	if _, err := h.net.cmd(ctx, "ip", "netns", "del", h.ns); err != nil && !notFound(err) {
		errs = append(errs, err)
	}
	if _, err := os.Stat(h.utsPath()); err == nil {
		_, _ = h.net.cmd(ctx, "umount", h.utsPath())
		if err := os.Remove(h.utsPath()); err != nil {
			errs = append(errs, fmt.Errorf("hosts: remove %s: %w", h.utsPath(), err))
		}
	}
	return errors.Join(errs...)
}

// Proc is a process the harness started inside a host.
type Proc struct {
	host *Host
	name string
	tmpl *exec.Cmd
	log  *slog.Logger

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current process has exited
	err    error         // its Wait result
	starts int
}

// Name is the name Start was given.
func (p *Proc) Name() string { return p.name }

// Host is the host the process runs in.
func (p *Proc) Host() *Host { return p.host }

// start launches the process (again) from the template.
func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("hosts: %s on %s is running", p.name, p.host.name)
		}
	}
	args := append([]string{"--net=" + p.host.nsPath(), "--uts=" + p.host.utsPath(), "--", p.tmpl.Path}, p.tmpl.Args[1:]...)
	c := exec.Command("nsenter", args...)
	c.Env, c.Dir = p.tmpl.Env, p.tmpl.Dir
	c.Stdin, c.Stdout, c.Stderr = p.tmpl.Stdin, p.tmpl.Stdout, p.tmpl.Stderr
	c.ExtraFiles = p.tmpl.ExtraFiles
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return fmt.Errorf("hosts: start %s on %s: %w", p.name, p.host.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err = c, done, nil
	p.starts++
	go func() {
		err := c.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	p.log.Info("started", "pid", c.Process.Pid, "start", p.starts)
	return nil
}

// Pid is the current process's id (nsenter executes the command in its
// own place, so this is the command's pid), or 0 before the first start.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the current process has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Starts counts how often the process was started (1 + restarts).
func (p *Proc) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// signal sends sig to the current process, or to its process group.
func (p *Proc) signal(sig syscall.Signal, group bool) error {
	p.mu.Lock()
	c, done := p.cmd, p.done
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	select {
	case <-done:
		return nil // exited: nothing to signal
	default:
	}
	pid := c.Process.Pid
	if group {
		pid = -pid
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("hosts: signal %v to %s on %s: %w", sig, p.name, p.host.name, err)
	}
	return nil
}

// Wait waits until the current process exits or ctx ends and returns its
// exit error (nil for exit status 0).
func (p *Proc) Wait(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return errors.New("hosts: not started")
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("hosts: wait for %s on %s: %w", p.name, p.host.name, ctx.Err())
	}
}

// exited waits for the current process to exit, whatever its status,
// within ctx.
func (p *Proc) exited(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hosts: %s on %s did not exit: %w", p.name, p.host.name, ctx.Err())
	}
}

// KillTimeout bounds how long Kill waits for a killed process to be gone.
const KillTimeout = 10 * time.Second

// Kill sends SIGKILL to the process's group and waits (at most
// KillTimeout, and within ctx) until the process has exited.
func (p *Proc) Kill(ctx context.Context) error {
	if err := p.signal(syscall.SIGKILL, true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, KillTimeout)
	defer cancel()
	if err := p.exited(ctx); err != nil {
		return err
	}
	p.log.Info("killed")
	return nil
}

// Pause freezes the process with SIGSTOP (only the process itself, not its
// children: a node daemon's jobs go on).
func (p *Proc) Pause() error {
	if err := p.signal(syscall.SIGSTOP, false); err != nil {
		return err
	}
	p.log.Info("paused")
	return nil
}

// Resume continues a paused process with SIGCONT.
func (p *Proc) Resume() error {
	if err := p.signal(syscall.SIGCONT, false); err != nil {
		return err
	}
	p.log.Info("resumed")
	return nil
}

// Stop sends SIGTERM (and SIGCONT, in case it is paused) and waits for the
// process to exit until ctx ends or grace passes, then kills it.
func (p *Proc) Stop(ctx context.Context, grace time.Duration) error {
	if err := p.signal(syscall.SIGTERM, false); err != nil {
		return err
	}
	_ = p.signal(syscall.SIGCONT, false)
	wctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if p.exited(wctx) == nil {
		p.log.Info("stopped")
		return nil
	}
	return p.Kill(ctx)
}

// Restart starts the process again after it exited (Kill or Stop it
// first); it fails while the process runs.
func (p *Proc) Restart(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hosts: restart %s on %s: %w", p.name, p.host.name, err)
	}
	p.host.net.mu.Lock()
	closed := p.host.net.closed
	p.host.net.mu.Unlock()
	if closed {
		return errors.New("hosts: net is closed")
	}
	return p.start()
}

// LogFile opens (appending, creating) a file for a process's output: the
// same file serves every restart.
func LogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hosts: log file: %w", err)
	}
	return f, nil
}
