//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// flakyScript exits with code on its first attempt and 0 on the next ones
// (SLURM_RESTART_COUNT counts the earlier runs).
func flakyScript(code string) string {
	return "#!/bin/sh\nif [ \"$SLURM_RESTART_COUNT\" = 0 ]; then exit " + code + "; fi\nexit 0\n"
}

// TestE2ERetry: a job with --retry=1,on_exit:3 that exits 3 on its first
// attempt and 0 on its second ends COMPLETED on its second attempt, and sacct
// -D shows both attempts; a job whose policy does not name its exit code ends
// FAILED after one attempt; the partition's default policy retries a job
// that sets none, and --retry=0 turns it off.
func TestE2ERetry(t *testing.T) {
	cfg := api.ClusterConfig{Partitions: []api.Partition{{Name: "main", Default: true, DefaultTimeSecs: 600, Retry: "1,on_exit:5"}}}
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, cfg)})

	flaky := c.sbatch("--retry=1,on_exit:3", c.writeScript("flaky.sh", flakyScript("3")))
	nomatch := c.sbatch("--retry=2,on_exit:3", "--wrap", "exit 4")
	dflt := c.sbatch(c.writeScript("dflt.sh", flakyScript("5")))
	off := c.sbatch("--retry=0", c.writeScript("off.sh", flakyScript("5")))

	attempts := func(id string) []string {
		t.Helper()
		out := c.must("sacct", "-D", "-X", "-P", "-n", "-j", id, "-o", "State,ExitCode,Reason")
		return strings.Split(strings.TrimSpace(out), "\n")
	}
	for _, tt := range []struct {
		id, name, state string
		attempts        []string
		show            []string // in scontrol show job
	}{
		{flaky, "--retry=1,on_exit:3, exit 3 then 0", "COMPLETED",
			[]string{"FAILED|3:0|retry 1 of 1 after exit code 3", "COMPLETED|0:0|None"},
			[]string{"Restarts=1 ", "JobState=COMPLETED ", "Retry=1,on_exit:3 Retries=1"}},
		{nomatch, "--retry=2,on_exit:3, exit 4", "FAILED",
			[]string{"FAILED|4:0|NonZeroExitCode"},
			[]string{"Restarts=0 ", "ExitCode=4:0", "Retry=2,on_exit:3 Retries=0"}},
		{dflt, "the partition's 1,on_exit:5, exit 5 then 0", "COMPLETED",
			[]string{"FAILED|5:0|retry 1 of 1 after exit code 5", "COMPLETED|0:0|None"},
			[]string{"Restarts=1 ", "Retry=1,on_exit:5 Retries=1"}},
		{off, "--retry=0 in a partition with a default, exit 5", "FAILED",
			[]string{"FAILED|5:0|NonZeroExitCode"},
			[]string{"Restarts=0 ", "Retry=0 Retries=0"}},
	} {
		c.waitState(tt.id, tt.state, 120*time.Second)
		if diff := cmp.Diff(tt.attempts, attempts(tt.id)); diff != "" {
			t.Errorf("job %s (%s): sacct -D attempts (-want +got):\n%s", tt.id, tt.name, diff)
		}
		show := c.must("scontrol", "show", "job", tt.id)
		for _, want := range tt.show {
			if !strings.Contains(show, want) {
				t.Errorf("job %s (%s): scontrol show job lacks %q:\n%s", tt.id, tt.name, want, show)
			}
		}
	}
}
