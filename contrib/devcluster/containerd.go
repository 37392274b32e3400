// Package devcluster runs a whole Fairway cluster on one machine for
// development and demos (`fairway dev`, `make dev`): a private containerd when
// none is running, one controller, one node daemon, and a demo job.
package devcluster

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

// Containerd is a containerd daemon started by StartContainerd.
type Containerd struct {
	// Socket is the daemon's gRPC socket.
	Socket string
	cmd    *exec.Cmd
	logf   *os.File
}

// Stop terminates the daemon and waits for it. Containers it ran keep running
// under their shims.
func (c *Containerd) Stop() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	c.logf.Close()
}

// StartContainerd runs a private containerd with its root, state, socket,
// config and log under dir, so that it neither needs nor disturbs a system one.
// It returns once the socket accepts connections.
func StartContainerd(ctx context.Context, dir string) (*Containerd, error) {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, fmt.Errorf("containerd is not installed (apt-get install containerd runc): %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("containerd needs root")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	c := &Containerd{Socket: socket, cmd: cmd, logf: logf}
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
