//go:build e2e

package hosts_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/contrib/hosts"
	"github.com/fairway-hpc/fairway/contrib/hosts/hoststest"
)

// helperEnv makes the test binary act as a small helper program inside a
// host (a TCP echo server, a dialer, a ticker) instead of running tests.
const helperEnv = "FAIRWAY_HOSTS_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(strings.Fields(h)))
	}
	os.Exit(m.Run())
}

// helper runs one helper mode: "echo ADDR" serves a line echo on ADDR;
// "dial ADDR" sends a line to ADDR and exits 0 when it comes back (within
// 2 s); "tick FILE" writes a rising counter into FILE every 20 ms.
func helper(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "helper: want MODE ARG")
		return 2
	}
	switch args[0] {
	case "echo":
		l, err := net.Listen("tcp", args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return 1
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil {
					_, _ = c.Write([]byte(line))
				}
			}()
		}
	case "dial":
		c, err := net.DialTimeout("tcp", args[1], 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "ping\n" {
			fmt.Fprintln(os.Stderr, "no echo:", err)
			return 1
		}
		return 0
	case "tick":
		for i := 0; ; i++ {
			if err := os.WriteFile(args[1], []byte(strconv.Itoa(i)), 0o644); err != nil {
				return 1
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", args[0])
	return 2
}

// helperCmd is the test binary run as a helper.
func helperCmd(t *testing.T, mode, arg string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode+" "+arg)
	return cmd
}

// dial runs the dial helper in h against addr and reports whether the echo
// came back.
func dial(t *testing.T, h *hosts.Host, addr string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := helperCmd(t, "dial", addr)
	args := append([]string{"--net=/run/netns/" + h.Namespace(), "--", cmd.Path}, cmd.Args[1:]...)
	c := exec.CommandContext(ctx, "nsenter", args...)
	c.Env = cmd.Env
	return c.Run() == nil
}

// waitUntil polls cond every 50 ms, at most timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func TestReachCutHeal(t *testing.T) {
	n := hoststest.New(t, nil)
	a := hoststest.AddHost(t, n, "a")
	b := hoststest.AddHost(t, n, "b")
	c := hoststest.AddHost(t, n, "c")
	if !n.Subnet().Contains(a.Addr()) || !n.Subnet().Contains(b.Addr()) || a.Addr() == b.Addr() {
		t.Fatalf("addresses %v, %v not distinct in %v", a.Addr(), b.Addr(), n.Subnet())
	}
	server := net.JoinHostPort(b.Addr().String(), "7000")
	if _, err := b.Start(t.Context(), "echo", helperCmd(t, "echo", server)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a to reach b", 10*time.Second, func() bool { return dial(t, a, server) })
	// The root namespace reaches the hosts through the bridge's address.
	conn, err := net.DialTimeout("tcp", server, 2*time.Second)
	if err != nil {
		t.Fatalf("root namespace to b: %v", err)
	}
	conn.Close()

	ctx := t.Context()
	tests := []struct {
		name  string
		fault func() error
		// reach is whether a and c reach b's server under the fault.
		reach map[string]bool
	}{
		{"a cut from b", func() error { return a.Cut(ctx, b) }, map[string]bool{"a": false, "c": true}},
		{"b cut from a", func() error { return b.Cut(ctx, a) }, map[string]bool{"a": false, "c": true}},
		{"b cut off", func() error { return b.CutAll(ctx) }, map[string]bool{"a": false, "c": false}},
		{"all loss on a", func() error { return a.Loss(ctx, 100) }, map[string]bool{"a": false, "c": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fault(); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{"a": dial(t, a, server), "c": dial(t, c, server)}
			if diff := cmp.Diff(tt.reach, got); diff != "" {
				t.Errorf("reach under fault (-want +got):\n%s", diff)
			}
			for _, h := range []*hosts.Host{a, b, c} {
				if err := h.Heal(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got = map[string]bool{"a": dial(t, a, server), "c": dial(t, c, server)}
			if diff := cmp.Diff(map[string]bool{"a": true, "c": true}, got); diff != "" {
				t.Errorf("reach after Heal (-want +got):\n%s", diff)
			}
		})
	}
	for _, pct := range []float64{0, -1, 101} {
		if err := a.Loss(ctx, pct); err == nil {
			t.Errorf("Loss(%v) succeeded", pct)
		}
	}
}

func TestPauseResumeKillRestart(t *testing.T) {
	n := hoststest.New(t, nil)
	h := hoststest.AddHost(t, n, "h")
	file := filepath.Join(t.TempDir(), "tick")
	p, err := h.Start(t.Context(), "ticker", helperCmd(t, "tick", file))
	if err != nil {
		t.Fatal(err)
	}
	read := func() int {
		data, _ := os.ReadFile(file)
		v, _ := strconv.Atoi(string(data))
		return v
	}
	waitUntil(t, "ticks", 10*time.Second, func() bool { return read() > 2 })
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a tick in flight lands
	frozen := read()
	time.Sleep(500 * time.Millisecond)
	if got := read(); got != frozen {
		t.Errorf("paused process went on ticking: %d -> %d", frozen, got)
	}
	if !p.Running() {
		t.Error("a paused process is not running")
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "ticks after Resume", 10*time.Second, func() bool { return read() > frozen })

	if err := p.Kill(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("killed process still running")
	}
	if err := p.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(t.Context()); err == nil {
		t.Error("Restart of a running process succeeded")
	}
	waitUntil(t, "ticks after Restart", 10*time.Second, func() bool { return read() > 2 && p.Running() })
	if got := p.Starts(); got != 2 {
		t.Errorf("Starts = %d, want 2", got)
	}
	if err := p.Stop(t.Context(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Error("stopped process still running")
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	n, err := hosts.New(t.Context(), hosts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var procs []*hosts.Proc
	added := map[string]*hosts.Host{}
	for _, name := range []string{"x", "y"} {
		h, err := n.AddHost(t.Context(), name)
		added[name] = h
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		p, err := h.Start(t.Context(), "sleep", exec.Command("sleep", "300"))
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	if err := procs[1].Pause(); err != nil { // a frozen process goes too
		t.Error(err)
	}
	// Each host has its own hostname.
	for _, name := range []string{"x", "y"} {
		got, err := added[name].Exec(t.Context(), "hostname")
		if err != nil || strings.TrimSpace(got) != name {
			t.Errorf("hostname in host %s: %q, %v", name, got, err)
		}
	}
	utsFiles, _ := filepath.Glob("/run/fairway-hosts/fw-" + n.ID() + "-*")
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, p := range procs {
		if p.Running() {
			t.Errorf("%s still runs after Close", p.Name())
		}
	}
	out := func(args ...string) string {
		b, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, b)
		}
		return string(b)
	}
	if s := out("netns", "list"); strings.Contains(s, n.ID()) {
		t.Errorf("namespaces left after Close:\n%s", s)
	}
	if s := out("link"); strings.Contains(s, n.ID()) {
		t.Errorf("links left after Close:\n%s", s)
	}
	if len(utsFiles) != 2 {
		t.Errorf("UTS namespace files before Close: %v, want one per host", utsFiles)
	}
	if left, _ := filepath.Glob("/run/fairway-hosts/fw-" + n.ID() + "-*"); len(left) != 0 {
		t.Errorf("UTS namespace files left after Close: %v", left)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
