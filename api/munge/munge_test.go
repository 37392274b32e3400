package munge_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
)

// decoded is what the tests compare of a decoded credential.
type decoded struct {
	UID, GID uint32
	Payload  string
	Code     munge.Code
}

func TestEncodeDecode(t *testing.T) {
	d := mungetest.Start(t)
	ctx := context.Background()
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	tests := []struct {
		name    string
		payload []byte
	}{
		{"no payload", nil},
		{"text", []byte("POST /v1/jobs\nabc")},
		{"binary with NULs", []byte{0, 1, 2, 0, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := d.Client.Encode(ctx, tt.payload, munge.EncodeOptions{})
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !strings.HasPrefix(cred, "MUNGE:") || !strings.HasSuffix(cred, ":") {
				t.Errorf("credential %q is not of munge(1)'s form MUNGE:...:", cred)
			}
			got, err := d.Client.Decode(ctx, cred)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := decoded{UID: uid, GID: gid, Payload: string(tt.payload)}
			if diff := cmp.Diff(want, decoded{UID: got.UID, GID: got.GID, Payload: string(got.Payload)}); diff != "" {
				t.Errorf("decoded credential (-want +got):\n%s", diff)
			}
			if got.TTL != 300*time.Second || got.Expires().Before(time.Now()) {
				t.Errorf("TTL %v, expires %v: want munged's default 300s, in the future", got.TTL, got.Expires())
			}
		})
	}
}

// TestDecodeFailures covers the credentials munged refuses: each decodes to
// its MUNGE error code.
func TestDecodeFailures(t *testing.T) {
	d := mungetest.Start(t)
	other := mungetest.Start(t) // another key: another cluster
	ctx := context.Background()
	encode := func(c munge.Client, opts munge.EncodeOptions) string {
		t.Helper()
		cred, err := c.Encode(ctx, []byte("x"), opts)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		return cred
	}
	replayed := encode(d.Client, munge.EncodeOptions{})
	if _, err := d.Client.Decode(ctx, replayed); err != nil {
		t.Fatalf("first decode: %v", err)
	}
	expired := encode(d.Client, munge.EncodeOptions{TTL: time.Second})
	tests := []struct {
		name  string
		cred  func() string
		want  munge.Code
		trust bool // the returned uid is filled in (but not to be trusted)
	}{
		{"replayed", func() string { return replayed }, munge.ErrCredReplayed, true},
		{"expired", func() string { time.Sleep(2100 * time.Millisecond); return expired }, munge.ErrCredExpired, true},
		{"other key", func() string { return encode(other.Client, munge.EncodeOptions{}) }, munge.ErrCredInvalid, false},
		{"garbage", func() string { return "MUNGE:bm90IGEgY3JlZGVudGlhbA==:" }, munge.ErrBadVersion, false},
		{"not munge", func() string { return "hello" }, munge.ErrBadCred, false},
		{"empty", func() string { return "" }, munge.ErrBadArg, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Client.Decode(ctx, tt.cred())
			var me *munge.Error
			if !errors.As(err, &me) {
				t.Fatalf("Decode error %v (%T), want a *munge.Error", err, err)
			}
			if diff := cmp.Diff(tt.want, me.Code); diff != "" {
				t.Errorf("code (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.trust && got.UID != uint32(os.Getuid()) {
				t.Errorf("UID %d, want the encoder's %d alongside the error", got.UID, os.Getuid())
			}
		})
	}
}

// TestInterop checks the Go encoder and decoder against munge(1) and
// unmunge(1), and that munged names the process that asked (another user).
func TestInterop(t *testing.T) {
	d := mungetest.Start(t)
	ctx := context.Background()
	for _, tool := range []string{"munge", "unmunge", "runuser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	t.Run("unmunge decodes Go's credential", func(t *testing.T) {
		cred, err := d.Client.Encode(ctx, []byte("payload"), munge.EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("unmunge", "--socket="+d.Socket, "--numeric", "--metadata=/dev/null")
		cmd.Stdin = strings.NewReader(cred)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("unmunge: %v\n%s", err, out)
		}
		if diff := cmp.Diff("payload", string(out)); diff != "" {
			t.Errorf("payload (-want +got):\n%s", diff)
		}
	})
	t.Run("Go decodes another user's munge -n", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to run munge as nobody")
		}
		out, err := exec.Command("runuser", "-u", "nobody", "--", "munge", "-n", "--socket="+d.Socket).Output()
		if err != nil {
			t.Fatalf("munge -n as nobody: %v", err)
		}
		got, err := d.Client.Decode(ctx, strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if diff := cmp.Diff(decoded{UID: 65534, GID: 65534}, decoded{UID: got.UID, GID: got.GID, Payload: string(got.Payload)}); diff != "" {
			t.Errorf("decoded (-want +got):\n%s", diff)
		}
	})
}

func TestNoDaemon(t *testing.T) {
	c := munge.Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	_, err := c.Encode(context.Background(), nil, munge.EncodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "is munged running") || munge.CodeOf(err) != munge.ErrSocket {
		t.Errorf("Encode without munged: %v (code %v), want a socket error asking whether munged runs", err, munge.CodeOf(err))
	}
}

func TestClientSocket(t *testing.T) {
	t.Setenv(munge.EnvSocket, "/x/y.sock")
	if diff := cmp.Diff(munge.Client{Socket: "/x/y.sock"}, munge.FromEnv()); diff != "" {
		t.Errorf("FromEnv (-want +got):\n%s", diff)
	}
}
