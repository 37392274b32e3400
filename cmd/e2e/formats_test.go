//go:build e2e

package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// exitCode runs a client command and returns its exit status, stdout and
// stderr.
func (c *cluster) exitCode(name string, args ...string) (int, string, string) {
	c.t.Helper()
	out, errOut, err := c.run(name, args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out, errOut
	case errors.As(err, &ee):
		return ee.ExitCode(), out, errOut
	}
	c.t.Fatalf("%s %v: %v", name, args, err)
	return 0, "", ""
}

// TestFormatsExitCodes checks Slurm 22.05's exit codes and messages through
// the real binaries, and runs Snakemake 8's status query unchanged.
func TestFormatsExitCodes(t *testing.T) {
	c := newCluster(t, clusterOpts{})

	tests := []struct {
		name       string
		cmd        []string
		wantCode   int
		wantStderr string // a prefix
	}{
		{"squeue: one unknown job id", []string{"squeue", "-j", "999999"}, 1, "slurm_load_jobs error: Invalid job id specified\n"},
		{"squeue: unknown user", []string{"squeue", "-u", "nosuchuser"}, 1, "squeue: error: Invalid user: nosuchuser\n"},
		{"sbatch: bad --time", []string{"sbatch", "--time=abc", "--wrap", "true"}, 255, "sbatch: error: Invalid --time specification\n"},
		{"sbatch: dependency on an unknown job", []string{"sbatch", "--dependency=afterok:999999", "--wrap", "true"}, 1,
			"sbatch: error: Batch job submission failed: Job dependency problem\n"},
	}
	for _, tt := range tests {
		code, _, errOut := c.exitCode(tt.cmd[0], tt.cmd[1:]...)
		if code != tt.wantCode || !strings.HasPrefix(errOut, tt.wantStderr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, code, errOut, tt.wantCode, tt.wantStderr)
		}
	}

	// Snakemake names every job of a run with the run's uuid.
	const run = "3c9e2b7a-formats"
	done := c.sbatch("-J", run, "--mem=64M", "--wrap", "true")
	c.waitState(done, "COMPLETED", 60*time.Second)
	held := c.sbatch("-J", run, "--mem=64M", "-H", "--wrap", "true")
	c.must("scancel", held)
	c.waitState(held, "CANCELLED", 30*time.Second)
	if code, _, errOut := c.exitCode("scancel", done); code != 0 || errOut != "" {
		t.Errorf("scancel of a finished job: exit %d, stderr %q; want 0 and nothing", code, errOut)
	}
	arr := c.sbatch("-J", "arr", "--mem=64M", "-H", "--array=0-3", "--wrap", "true")
	if code, _, errOut := c.exitCode("scancel", arr+"_[2-3]"); code != 0 {
		t.Errorf("scancel %s_[2-3]: exit %d, stderr %q", arr, code, errOut)
	}
	if got := c.must("squeue", "-h", "-r", "-t", "PD", "-j", arr, "-o", "%K"); got != "0\n1\n" {
		t.Errorf("array %s after scancel _[2-3]: tasks %q, want 0 and 1", arr, got)
	}
	c.must("scancel", arr)

	// Snakemake 8's check_active_jobs, as it runs it.
	start := time.Now().Add(-48 * time.Hour).Format("2006-01-02T15:00")
	out := c.must("sacct", "-X", "--parsable2", "--clusters", "all", "--noheader", "--format=JobIdRaw,State",
		"--starttime", start, "--endtime", "now", "--name", run)
	states := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) >= 2 && len(strings.Fields(f[1])) > 0 {
			states[f[0]] = strings.Fields(f[1])[0]
		}
	}
	if diff := cmp.Diff(map[string]string{done: "COMPLETED", held: "CANCELLED"}, states); diff != "" {
		t.Errorf("Snakemake's view of the run (-want +got):\n%s\nsacct printed:\n%s", diff, out)
	}
	if got := strings.TrimSpace(c.must("sacct", "-j", held, "-X", "-n", "-P", "-o", "State")); !strings.HasPrefix(got, "CANCELLED by ") {
		t.Errorf("sacct State of a cancelled job = %q, want CANCELLED by UID", got)
	}
}
