// Package containerdproc runs a private containerd daemon (own root, state,
// socket and log under one directory), so that the development cluster and
// the tests neither need nor disturb a system one.
package containerdproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// SystemContainerdSocket is where Debian's containerd listens.
const SystemContainerdSocket = "/run/containerd/containerd.sock"

// Daemon is a containerd daemon started by Start.
type Daemon struct {
	// Socket is the daemon's gRPC socket.
	Socket string
	dir    string
	cmd    *exec.Cmd
	logf   *os.File
}

// Stop terminates the daemon and waits for it (SIGKILL after 10 s). Running
// containers keep running under their shims; mounts that stopped containers
// left under the daemon's directory are unmounted.
func (d *Daemon) Stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
	d.logf.Close()
	_ = exec.Command("sh", "-c", "grep -o ' "+d.dir+"[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l").Run()
}

// Start runs a private containerd with its root, state, socket, config and
// log under dir. It returns once the socket accepts connections. It fails,
// saying what is missing, without root or without containerd and runc.
func Start(ctx context.Context, dir string) (*Daemon, error) {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd is not installed (apt-get install containerd runc): %w", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return nil, fmt.Errorf("runc is not installed (apt-get install runc): %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("containerd needs root")
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("containerd dir: %w", err)
	}
	socket := filepath.Join(dir, "containerd.sock")
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), socket, socket+".ttrpc")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("containerd config: %w", err)
	}
	logPath := filepath.Join(dir, "containerd.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("containerd log: %w", err)
	}
	// Not CommandContext: the daemon outlives a cancelled start context and is
	// stopped by Stop.
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	c := &Daemon{Socket: socket, dir: dir, cmd: cmd, logf: logf}
	if err := WaitSocket(ctx, socket, 30*time.Second); err != nil {
		c.Stop()
		data, _ := os.ReadFile(logPath)
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		return nil, fmt.Errorf("%w; containerd log:\n%s", err, data)
	}
	return c, nil
}

// WaitSocket waits until a unix socket accepts connections.
func WaitSocket(ctx context.Context, socket string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var d net.Dialer
		if conn, err := d.DialContext(ctx, "unix", socket); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", socket, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
