//go:build e2e

package e2e

// End-to-end test of checkpoint-aware preemption cost: a job reports its
// checkpoint with $FAIRWAY_CHECKPOINT_DONE outside any grace time, is then
// preempted by a reclaim, and sacct shows the GPU-hours its run lost since
// that checkpoint.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestE2ECheckpointDoneAndLostWork(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, lendingConfig(5, 4)),
		nodeCPUs: "4", nodeMemory: "4096", gpus: "4:h100"})

	// The borrower of the node's 4 GPUs works 4 s, saves its checkpoint and
	// says so, then works on; the checkpoint signal (USR1) of the preemption
	// ends it.
	c.writeScript("train.sh", `#!/bin/sh
echo "run $SLURM_RESTART_COUNT"
sleep 4
$FAIRWAY_CHECKPOINT_DONE && echo "checkpointed with $FAIRWAY_CHECKPOINT_DONE"
sleep 300
`)
	trainer := c.sbatch("-A", "research", "-J", "trainer", "--gres=gpu:4", "--mem=64M", "train.sh")
	out := c.waitOutput(trainer, "checkpointed", 90*time.Second)
	if want := "checkpointed with " + filepath.Join(e2e.binDir, "fairway") + " checkpoint done\n"; !strings.Contains(out, want) {
		t.Errorf("job output %q lacks %q: FAIRWAY_CHECKPOINT_DONE should be the node's client", out, want)
	}
	j := c.job(trainer)
	ckpt := int64(j["last_checkpoint"].(float64))
	start := int64(j["start_time"].(float64))
	if ckpt < start+4 || j["state"] != "RUNNING" || j["kill"] != nil {
		t.Fatalf("after checkpoint done: last checkpoint %d (start %d), state %v, kill %v; want 4 s or more after the start, RUNNING, not being stopped",
			ckpt, start, j["state"], j["kill"])
	}
	show := c.must("scontrol", "show", "job", trainer)
	if want := "LastCheckpoint=" + time.Unix(ckpt, 0).Format("2006-01-02T15:04:05"); !strings.Contains(show, want) {
		t.Errorf("scontrol show job lacks %q:\n%s", want, show)
	}

	// 12 s more work after the checkpoint (so that sacct's GPU-hours show
	// it), then the owner of the GPUs takes them back.
	time.Sleep(12 * time.Second)
	owner := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:4", "--mem=64M", "--wrap", "sleep 1")
	c.waitState(owner, "COMPLETED", 90*time.Second)

	// The preempted run lost 4 GPUs x the time from the checkpoint to its
	// end, not from its start.
	j = c.job(trainer)
	runs, _ := j["runs"].([]any)
	if len(runs) == 0 {
		t.Fatalf("trainer has no runs: %v", j)
	}
	run0 := runs[0].(map[string]any)
	end := int64(run0["end_time"].(float64))
	lost, _ := run0["lost_gpu_secs"].(float64)
	if run0["state"] != "PREEMPTED" {
		t.Fatalf("trainer's first run is %v, want PREEMPTED", run0["state"])
	}
	if want := 4 * (end - ckpt); int64(lost) != want {
		t.Errorf("first run lost %v GPU-seconds, want 4 GPUs x (end %d - checkpoint %d) = %d", lost, end, ckpt, want)
	}
	if int64(lost) >= 4*(end-start) {
		t.Errorf("first run lost %v GPU-seconds, as much as since its start %d: the checkpoint at %d was ignored", lost, start, ckpt)
	}

	// sacct shows it per run, in GPU-hours; the owner's run lost nothing.
	rows := strings.Split(strings.TrimSpace(c.must("sacct", "-D", "-X", "-P", "-n", "-j", trainer+","+owner, "-o", "JobID,State,End,LostGPUHours")), "\n")
	t.Logf("run start %d, checkpoint %d, end %d: lost %v GPU-seconds; sacct:\n%s", start, ckpt, end, lost, strings.Join(rows, "\n"))
	wantFirst := fmt.Sprintf("%s|PREEMPTED|%s|%.2f", trainer, time.Unix(end, 0).Format("2006-01-02T15:04:05"), lost/3600)
	if len(rows) < 3 || rows[0] != wantFirst || strings.HasSuffix(rows[0], "|0.00") || !strings.HasPrefix(rows[len(rows)-1], owner+"|COMPLETED|") || !strings.HasSuffix(rows[len(rows)-1], "|0.00") {
		t.Errorf("sacct rows:\n%s\nwant first %q (not 0.00: 4 GPUs x 12 s or more) and the owner's COMPLETED run with 0.00", strings.Join(rows, "\n"), wantFirst)
	}
}
