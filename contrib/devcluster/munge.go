package devcluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/fairway-hpc/fairway/api/munge"
)

// privateMunged is a munged the dev cluster started.
type privateMunged struct {
	Socket string
	cmd    *exec.Cmd
	done   chan error
}

// mungeSocket returns the socket of a munged for the dev cluster: the
// system's when it answers, else a private one started under dir with its
// own key (stop it with the returned function). It fails when neither works
// (munge not installed).
func mungeSocket(ctx context.Context, dir string, logger *slog.Logger) (string, func(), error) {
	sys := munge.Client{Socket: munge.DefaultSocket}
	probe, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := sys.Encode(probe, nil, munge.EncodeOptions{})
	cancel()
	if err == nil {
		return munge.DefaultSocket, func() {}, nil
	}
	m, perr := startMunged(ctx, dir)
	if perr != nil {
		return "", nil, fmt.Errorf("no munged: the system's does not answer (%v) and a private one did not start: %w", err, perr)
	}
	logger.Info("started a private munged", "socket", m.Socket)
	return m.Socket, m.stop, nil
}

// startMunged runs munged in the foreground with a key, socket, log and seed
// under dir (the key is made once and kept).
func startMunged(ctx context.Context, dir string) (*privateMunged, error) {
	bin, err := exec.LookPath("munged")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/munged"); err != nil {
			return nil, fmt.Errorf("munged not found (apt-get install munge): %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("munge dir: %w", err)
	}
	key := filepath.Join(dir, "munge.key")
	if err := writeKey(key, 1024, 0o400); err != nil {
		return nil, fmt.Errorf("munge key: %w", err)
	}
	// A unix socket path is limited to 108 bytes: the socket goes to a short
	// directory of its own when dir is deep.
	socket := filepath.Join(dir, "munge.sock")
	if len(socket) > 100 {
		tmp, err := os.MkdirTemp("", "fairway-munge")
		if err != nil {
			return nil, fmt.Errorf("munge socket dir: %w", err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return nil, fmt.Errorf("munge socket dir: %w", err)
		}
		socket = filepath.Join(tmp, "munge.sock")
	}
	cmd := exec.Command(bin, "--foreground", "--force",
		"--socket="+socket, "--key-file="+key,
		"--pid-file="+filepath.Join(dir, "munged.pid"),
		"--log-file="+filepath.Join(dir, "munged.log"),
		"--seed-file="+filepath.Join(dir, "munged.seed"))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start munged: %w", err)
	}
	m := &privateMunged{Socket: socket, cmd: cmd, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	c := munge.Client{Socket: socket}
	deadline := time.Now().Add(10 * time.Second)
	for {
		probe, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Encode(probe, nil, munge.EncodeOptions{})
		cancel()
		if err == nil {
			return m, nil
		}
		select {
		case werr := <-m.done:
			return nil, fmt.Errorf("munged exited (%v); see %s", werr, filepath.Join(dir, "munged.log"))
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("munged did not answer on %s within 10s: %w", socket, err)
		}
	}
}

// stop ends the private munged.
func (m *privateMunged) stop() {
	_ = m.cmd.Process.Kill()
	<-m.done
}

// writeKey writes n random bytes to path with perm unless the file exists.
func writeKey(path string, n int, perm os.FileMode) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	key := make([]byte, n)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return os.WriteFile(path, key, perm)
}
