//go:build e2e

package deploytest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Names contrib/cluster.sh gives what it creates.
const (
	nsPrefix   = "fwc-"
	bridgeName = "fwcbr0"
	vethPrefix = "fwcv-"
)

// repoRoot is the repository root (this package is contrib/deploytest).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildBinaries builds the client (static, with the Slurm-named links) and
// the daemons into dir, as make build does.
func buildBinaries(ctx context.Context, t *testing.T, root, dir string) {
	t.Helper()
	builds := []struct {
		out, pkg string
		flags    []string
		env      []string
	}{
		{"fairway", "./cmd/fairway", []string{"-tags", "urfave_cli_no_docs,urfave_cli_no_suggest", "-trimpath"}, []string{"CGO_ENABLED=0"}},
		{"fairwayd", "./cmd/fairwayd", nil, []string{"CGO_CFLAGS=-Wno-deprecated-declarations"}},
	}
	for _, b := range builds {
		args := append([]string{"build", "-o", filepath.Join(dir, b.out)}, b.flags...)
		cmd := exec.CommandContext(ctx, "go", append(args, b.pkg)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(dir, "fairway"), "install-shims", dir).CombinedOutput(); err != nil {
		t.Fatalf("install-shims: %v\n%s", err, out)
	}
}

// script runs contrib/cluster.sh with args and returns its standard output.
func script(ctx context.Context, t *testing.T, env []string, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "contrib", "cluster.sh"), args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("cluster.sh %s:\n%s%s", strings.Join(args, " "), stderr.String(), stdout.String())
	if err != nil {
		return stdout.String(), fmt.Errorf("cluster.sh %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// exportEnv parses the `export A=x B=y` line cluster.sh up prints into
// environment entries, expanding $PATH.
func exportEnv(t *testing.T, out string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			var env []string
			for _, kv := range strings.Fields(rest) {
				env = append(env, strings.ReplaceAll(kv, "$PATH", os.Getenv("PATH")))
			}
			return env
		}
	}
	t.Fatalf("cluster.sh up printed no export line:\n%s", out)
	return nil
}

// client runs a client command with the printed environment.
func client(ctx context.Context, env []string, dir string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The command is looked up in the printed PATH, not the test's.
	path := name
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range filepath.SplitList(p) {
				if _, err := os.Stat(filepath.Join(d, name)); err == nil {
					path = filepath.Join(d, name)
					break
				}
			}
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

var submitted = regexp.MustCompile(`Submitted batch job (\d+)`)

// submitAndWait submits a job that echoes a word, waits until sacct says
// COMPLETED (failing on any other final state) and checks its output.
func submitAndWait(ctx context.Context, t *testing.T, env []string, work, word string) {
	t.Helper()
	out, err := client(ctx, env, work, "sbatch", "-J", word, "-o", filepath.Join(work, word+"-%j.out"), "--wrap", "echo "+word+" on $SLURMD_NODENAME")
	if err != nil {
		t.Fatal(err)
	}
	m := submitted.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("sbatch printed %q", out)
	}
	id := m[1]
	deadline := time.Now().Add(60 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		out, err := client(ctx, env, work, "sacct", "-j", id, "-n", "-P", "-o", "State,NodeList")
		if err != nil {
			t.Logf("sacct: %v", err)
		} else {
			state = strings.TrimSpace(out)
			switch {
			case strings.HasPrefix(state, "COMPLETED"):
				data, err := os.ReadFile(filepath.Join(work, word+"-"+id+".out"))
				if err != nil {
					t.Fatalf("job %s: %v", id, err)
				}
				if !strings.HasPrefix(string(data), word+" on node") {
					t.Fatalf("job %s wrote %q", id, data)
				}
				t.Logf("job %s (%s): %s", id, word, state)
				return
			case strings.HasPrefix(state, "FAILED"), strings.HasPrefix(state, "CANCELLED"), strings.HasPrefix(state, "NODE_FAIL"), strings.HasPrefix(state, "TIMEOUT"):
				show, _ := client(ctx, env, work, "scontrol", "show", "job", id)
				t.Fatalf("job %s ended %s:\n%s", id, state, show)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("job %s not completed after 60 s (state %q)", id, state)
}

// leftovers lists what contrib/cluster.sh made that still exists: its
// namespaces, bridge and veths, and processes that mention dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Errorf("ip netns list: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, nsPrefix) {
			left = append(left, "namespace "+strings.Fields(line)[0])
		}
	}
	links, _ := filepath.Glob("/sys/class/net/*")
	for _, l := range links {
		if n := filepath.Base(l); n == bridgeName || strings.HasPrefix(n, vethPrefix) {
			left = append(left, "link "+n)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	self := fmt.Sprintf("/proc/%d/", os.Getpid())
	for _, p := range procs {
		if strings.HasPrefix(p, self) {
			continue
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(dir)) {
			left = append(left, "process "+filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(bytes.TrimRight(data, "\x00")), "\x00", " "))
		}
	}
	return left
}

// TestClusterScript: up, a job, the leader SIGKILLed, another job, down.
func TestClusterScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("contrib/cluster.sh needs root (network namespaces); run the e2e tests as root")
	}
	for _, tool := range []string{"ip", "nsenter", "curl", "jq", "munged", "mungekey"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				t.Fatalf("%s not found: apt-get install iproute2 util-linux curl jq munge", tool)
			}
		}
	}
	if out, _ := exec.Command("ip", "link", "show", bridgeName).CombinedOutput(); !bytes.Contains(out, []byte("does not exist")) {
		t.Fatalf("bridge %s exists: a cluster from contrib/cluster.sh is up (contrib/cluster.sh down)", bridgeName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	root := repoRoot(t)
	bin := t.TempDir()
	buildBinaries(ctx, t, root, bin)
	// Short: the namespaces' munged sockets live under it.
	dir, err := os.MkdirTemp("", "fwc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	env := append(os.Environ(), "FAIRWAY_CLUSTER_DIR="+dir, "FAIRWAY_BIN="+bin)

	downDone := false
	t.Cleanup(func() {
		if !downDone {
			if _, err := script(context.Background(), t, env, 60*time.Second, "down"); err != nil {
				t.Error(err)
			}
		}
	})

	out, err := script(ctx, t, env, 2*time.Minute, "up")
	if err != nil {
		t.Fatal(err)
	}
	clientEnv := append(os.Environ(), exportEnv(t, out)...)
	work := t.TempDir()

	submitAndWait(ctx, t, clientEnv, work, "first")

	out, err = script(ctx, t, env, 30*time.Second, "kill-leader")
	if err != nil {
		t.Fatal(err)
	}
	killed := strings.TrimSpace(out)
	if !strings.HasPrefix(killed, "ctl") {
		t.Fatalf("kill-leader printed %q, want the controller it killed", out)
	}
	submitAndWait(ctx, t, clientEnv, work, "second")

	// The others elected a new leader.
	out, err = script(ctx, t, env, 30*time.Second, "status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(this one)") || strings.Contains(out, "leader "+killed+" (this one)") {
		t.Errorf("status after killing %s shows no new leader:\n%s", killed, out)
	}

	downDone = true
	if _, err := script(ctx, t, env, 60*time.Second, "down"); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("after down, still there:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat("/sys/fs/cgroup/fairway-cluster"); err == nil {
		t.Error("after down, /sys/fs/cgroup/fairway-cluster is still there")
	}
}
