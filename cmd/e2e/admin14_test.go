//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestE2ESbatchTestOnly: sbatch --test-only prints Slurm's will-run line
// and submits nothing: the queue stays empty and the next real submission
// gets the job ID the line named; a refusal is Slurm's "allocation
// failure" with exit status 1.
func TestE2ESbatchTestOnly(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	line := regexp.MustCompile(`^sbatch: Job (\d+) to start at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d using 1 processors on nodes node1 in partition \S+\n$`)
	var id string
	for range 2 {
		out, errOut, err := c.run("sbatch", "--test-only", "--wrap", "true")
		if err != nil || out != "" {
			t.Fatalf("sbatch --test-only: %v, stdout %q, stderr %q", err, out, errOut)
		}
		m := line.FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("sbatch --test-only printed %q, want Slurm's will-run line", errOut)
		}
		if id != "" && m[1] != id {
			t.Errorf("a second --test-only named job %s, the first %s: a job ID was used", m[1], id)
		}
		id = m[1]
	}
	if out := c.must("squeue", "-h", "-t", "all"); out != "" {
		t.Errorf("squeue after --test-only: %q, want nothing submitted", out)
	}
	if got := c.sbatch("--wrap", "true"); got != id {
		t.Errorf("the real submission got job %s, --test-only said %s", got, id)
	}
	_, errOut, err := c.run("sbatch", "--test-only", "-p", "nosuchpartition", "--wrap", "true")
	if code := exitCode(err); code != 1 || !strings.HasPrefix(errOut, "sbatch: error: allocation failure: ") {
		t.Errorf("--test-only in an unknown partition: exit %d, stderr %q; want 1 and allocation failure", code, errOut)
	}
}

// exitCode is a command's exit status (0 without error, -1 when it did not run).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestE2ESbatchInput: sbatch -i connects a file, named by a pattern, to
// the batch script's standard input; scontrol shows it as StdIn=; a
// script without -i reads /dev/null; an input file that cannot be opened
// fails the job.
func TestE2ESbatchInput(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	if err := os.WriteFile(filepath.Join(c.workDir, "train.in"), []byte("line one\nline two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withInput := c.sbatch("-J", "train", "-i", "%x.in", "-o", "in-%j.out", "--wrap", "cat; echo done")
	noInput := c.sbatch("-o", "none-%j.out", "--wrap", "cat; echo done")
	missing := c.sbatch("-i", "missing-%j.in", "--wrap", "cat")
	c.waitState(withInput, "COMPLETED", 60*time.Second)
	c.waitState(noInput, "COMPLETED", 60*time.Second)
	for id, want := range map[string]string{withInput: "line one\nline two\ndone\n", noInput: "done\n"} {
		name := "in-" + id + ".out"
		if id == noInput {
			name = "none-" + id + ".out"
		}
		got, err := os.ReadFile(filepath.Join(c.workDir, name))
		if err != nil || string(got) != want {
			t.Errorf("job %s wrote %q (%v), want %q", id, got, err, want)
		}
	}
	if show := c.must("scontrol", "show", "job", withInput); !strings.Contains(show, "StdIn="+filepath.Join(c.workDir, "train.in")) {
		t.Errorf("scontrol show job lacks StdIn=%s:\n%s", filepath.Join(c.workDir, "train.in"), show)
	}
	c.waitState(missing, "FAILED", 60*time.Second)
	if out := c.must("sacct", "-X", "-P", "-n", "-j", missing, "-o", "Reason"); !strings.Contains(out, "cannot open input file") {
		t.Errorf("the job with a missing input file: reason %q, want it to name the input file", out)
	}
}

// TestE2ENodeFigures: a live node's free memory and CPU load reach sinfo
// %e %O and scontrol show node's FreeMem= and CPULoad= (not N/A).
func TestE2ENodeFigures(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	line := regexp.MustCompile(`^node1 (\d+) (\d+\.\d\d)\n$`)
	var out string
	c.waitFor("sinfo %e %O with figures", 30*time.Second, func() bool {
		out, _, _ = c.run("sinfo", "-N", "-h", "-n", "node1", "-o", "%N %e %O")
		return line.MatchString(out)
	})
	show := c.must("scontrol", "show", "node", "node1")
	for _, re := range []string{`CPULoad=\d+\.\d\d\s`, `FreeMem=\d+\s`} {
		if !regexp.MustCompile(re).MatchString(show) {
			t.Errorf("scontrol show node lacks %s:\n%s", re, show)
		}
	}
}

// TestE2EExcludeReservation: a pending job's backfill reservation honors
// -x: with node1 freeing first and node2 later, a job that excludes node1
// is expected to start when node2 frees, not when node1 does.
func TestE2EExcludeReservation(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	addNode(t, c, "node2")
	c.waitFor("node2 to be idle", 60*time.Second, func() bool {
		out, _, err := c.run("sinfo", "-N", "-h", "-o", "%N %t")
		return err == nil && strings.Contains(out, "node2 idle")
	})
	short := c.sbatch("-w", "node1", "-c", "2", "--time=2", "--wrap", "sleep 600")
	long := c.sbatch("-w", "node2", "-c", "2", "--time=10", "--wrap", "sleep 600")
	c.waitState(short, "RUNNING", 60*time.Second)
	c.waitState(long, "RUNNING", 60*time.Second)
	excl := c.sbatch("-x", "node1", "-c", "2", "--time=1", "--wrap", "true")
	free := c.sbatch("-c", "2", "--time=1", "--wrap", "true")
	startOf := func(id, key string) int64 {
		v, _ := c.job(id)[key].(float64)
		return int64(v)
	}
	var got, gotFree int64
	c.waitFor("expected starts", 30*time.Second, func() bool {
		got, gotFree = startOf(excl, "expected_start"), startOf(free, "expected_start")
		return got > 0 && gotFree > 0
	})
	if want := startOf(long, "start_time") + 600; got != want {
		t.Errorf("job %s (-x node1) expected at %d, want node2's end %d (node1 ends at %d)", excl, got, want, startOf(short, "start_time")+120)
	}
	if want := startOf(short, "start_time") + 120; gotFree != want {
		t.Errorf("job %s (no -x) expected at %d, want node1's end %d", free, gotFree, want)
	}
	c.must("scancel", short, long, excl, free)
}

// addNode starts a second node daemon with its own certificate, state,
// containerd namespace and cgroup parent, stopped (and its leftovers
// killed) when the test ends.
func addNode(t *testing.T, c *cluster, name string) {
	t.Helper()
	if out, err := exec.Command(filepath.Join(e2e.binDir, "fairwayd"), "pki", "issue", "--dir", e2e.pki, "--node", name, "--host", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("issue %s's certificate: %v: %s", name, err, out)
	}
	ns := c.ns + "-" + name
	args := slices.Clone(c.noded.args)
	set := func(flag, value string) {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("node daemon has no %s argument", flag)
		}
		args[i+1] = value
	}
	set("--name", name)
	set("--listen", freeAddrs(t, 1)[0])
	set("--state-dir", filepath.Join(c.dir, name))
	set("--containerd-namespace", ns)
	set("--cgroup-parent", ns)
	set("--tls-cert", filepath.Join(e2e.pki, "node-"+name+".pem"))
	set("--tls-key", filepath.Join(e2e.pki, "node-"+name+"-key.pem"))
	d := &daemon{t: t, name: name, log: filepath.Join(c.dir, name+".log"), args: args, env: c.noded.env}
	d.start()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.logTail())
		}
		(&cluster{t: t, ns: ns}).killLeftovers()
	})
}
