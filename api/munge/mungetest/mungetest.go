// Package mungetest starts a private munged for tests: its own key, socket,
// log and seed under a temporary directory, stopped when the test ends.
package mungetest

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/munge"
)

// Binary is the munged executable looked up in $PATH and /usr/sbin.
const Binary = "munged"

// Daemon is a running private munged.
type Daemon struct {
	Dir     string       // its key, socket, log and seed file
	Socket  string       // its socket path
	KeyFile string       // its key
	Client  munge.Client // a client of its socket
}

// Path returns the munged executable, or "" when munge is not installed.
func Path() string {
	if p, err := exec.LookPath(Binary); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/munged"); err == nil {
		return "/usr/sbin/munged"
	}
	return ""
}

// Start starts a private munged with a new random key and stops it at the
// end of the test. Without a munged binary the test is skipped, except
// under the e2e build tag, where it fails (requireMunged).
func Start(t testing.TB) *Daemon {
	t.Helper()
	bin := Path()
	if bin == "" {
		if requireMunged {
			t.Fatal("munged is not installed (Debian package munge); the e2e tests need it")
		}
		t.Skip("munged is not installed (Debian package munge)")
	}
	// A short directory: a unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "munge")
	if err != nil {
		t.Fatalf("munge dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// Other users reach the socket (munged itself checks who connects).
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("munge dir: %v", err)
	}
	key := make([]byte, 1024)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("munge key: %v", err)
	}
	d := &Daemon{Dir: dir, Socket: filepath.Join(dir, "munge.sock"), KeyFile: filepath.Join(dir, "munge.key")}
	if err := os.WriteFile(d.KeyFile, key, 0o400); err != nil {
		t.Fatalf("munge key: %v", err)
	}
	cmd := exec.Command(bin, Args(dir, d.Socket, d.KeyFile)...)
	out, err := os.Create(filepath.Join(dir, "munged.out"))
	if err != nil {
		t.Fatalf("munged output: %v", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start munged: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	d.Client = munge.Client{Socket: d.Socket}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.Client.Encode(ctx, nil, munge.EncodeOptions{})
		cancel()
		if err == nil {
			return d
		}
		select {
		case werr := <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "munged.out"))
			t.Fatalf("munged exited: %v\n%s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "munged.log"))
			t.Fatalf("munged did not answer on %s within 10s: %v\n%s", d.Socket, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Args are munged's arguments for a daemon in the foreground whose files are
// under dir: --force lets it run as root and accept a private key file.
func Args(dir, socket, keyFile string) []string {
	return []string{
		"--foreground", "--force",
		"--socket=" + socket,
		"--key-file=" + keyFile,
		"--pid-file=" + filepath.Join(dir, "munged.pid"),
		"--log-file=" + filepath.Join(dir, "munged.log"),
		"--seed-file=" + filepath.Join(dir, "munged.seed"),
	}
}
