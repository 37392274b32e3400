//go:build e2e

package e2e

// End-to-end tests of checkpoint-aware preemption: the checkpoint signal,
// the grace time and its early end, requeue with the same job ID, resume from
// the checkpoint directory, and no double allocation, with the real binaries,
// containerd and cgroups.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// writeClusterConfig writes a cluster configuration for ctld --cluster-config.
func writeClusterConfig(t *testing.T, cfg api.ClusterConfig) string {
	t.Helper()
	if cfg.NodeDownAfterSecs == 0 {
		cfg.NodeDownAfterSecs = 30
	}
	if cfg.JobRetentionSecs == 0 {
		cfg.JobRetentionSecs = 3600
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "cluster.json")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// lendingConfig is one GPU partition whose jobs are requeued when preempted
// after grace seconds, an account "research" without a guarantee (it only
// borrows) and an account "prod" guaranteed guaranteed GPUs.
func lendingConfig(grace, guaranteed int, qos ...api.QOS) api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600,
			PreemptMode: api.PreemptRequeue, GraceSecs: grace}},
		Accounts: []api.Account{
			{Name: "research", Shares: 1},
			{Name: "prod", Shares: 1, Guarantees: map[string]int{"gpu": guaranteed}},
		},
		QOS: qos,
	}
}

// sacctRun is one row of sacct for a job: one run.
type sacctRun struct {
	State, ExitCode, Nodes, Reason string
	Start, End                     time.Time
}

// sacctRuns returns the job's runs as sacct prints them.
func (c *cluster) sacctRuns(id string) []sacctRun {
	c.t.Helper()
	out := c.must("sacct", "-D", "-j", id, "-X", "-P", "-n", "-o", "JobID,State,ExitCode,NodeList,Start,End,Reason")
	var runs []sacctRun
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 7 || f[0] != id {
			c.t.Fatalf("sacct row %q: want 7 fields of job %s", line, id)
		}
		r := sacctRun{State: f[1], ExitCode: f[2], Nodes: f[3], Reason: f[6]}
		r.Start, _ = time.ParseInLocation("2006-01-02T15:04:05", f[4], time.Local)
		r.End, _ = time.ParseInLocation("2006-01-02T15:04:05", f[5], time.Local)
		runs = append(runs, r)
	}
	return runs
}

// waitOutput waits until the job's output file contains s and returns it.
func (c *cluster) waitOutput(id, s string, timeout time.Duration) string {
	c.t.Helper()
	var out string
	c.waitFor(fmt.Sprintf("job %s to print %q", id, s), timeout, func() bool {
		b, _ := os.ReadFile(filepath.Join(c.workDir, "slurm-"+id+".out"))
		out = string(b)
		return strings.Contains(out, s)
	})
	return out
}

// TestE2ECheckpointedPreemption is the trainer story. A trainer in a
// container borrows the node's two GPUs; the account that owns them submits
// a job; the trainer gets its checkpoint signal, saves its step to
// FAIRWAY_CHECKPOINT_DIR and exits; it is requeued with the same ID and its
// submit time; the owner's job starts only after the trainer stopped; the
// trainer then resumes from its checkpoint and completes exactly its 40
// steps, and sacct shows both runs.
func TestE2ECheckpointedPreemption(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, lendingConfig(30, 2)),
		nodeCPUs: "4", nodeMemory: "4096", gpus: "2:h100"})

	c.writeScript("train.sh", "#!/bin/sh\nexec trainer -steps 40 -step-time 150ms\n")
	trainer := c.sbatch("-A", "research", "-J", "trainer", "--gres=gpu:2", "--mem=64M",
		"--container-image=oci-archive:"+e2e.imageOCI, "train.sh")
	c.waitOutput(trainer, "step 5\n", 90*time.Second)
	submitted := c.job(trainer)["submit_time"]

	owner := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 2")
	c.waitState(owner, "COMPLETED", 90*time.Second)
	c.waitState(trainer, "COMPLETED", 120*time.Second)

	// One ID, two runs: PREEMPTED then COMPLETED, both on node1.
	runs := c.sacctRuns(trainer)
	if len(runs) != 2 || runs[0].State != "PREEMPTED" || runs[1].State != "COMPLETED" ||
		runs[0].Nodes != "node1" || runs[1].Nodes != "node1" || runs[1].ExitCode != "0:0" {
		t.Fatalf("sacct of the trainer = %+v, want a PREEMPTED run then a COMPLETED one on node1", runs)
	}
	if !strings.Contains(runs[0].Reason, "Preempted (reclaim) for job "+owner) {
		t.Errorf("the trainer's first run ended for %q, want the reclaim for job %s", runs[0].Reason, owner)
	}
	j := c.job(trainer)
	if j["restart_count"] != float64(1) || j["submit_time"] != submitted {
		t.Errorf("trainer restart count %v submit time %v, want 1 and the original %v", j["restart_count"], j["submit_time"], submitted)
	}

	// No double allocation: the owner started after the trainer stopped.
	ownerRuns := c.sacctRuns(owner)
	if len(ownerRuns) != 1 || ownerRuns[0].Start.Before(runs[0].End) {
		t.Errorf("owner's job ran %+v, the trainer's first run ended at %v: want the owner to start after", ownerRuns, runs[0].End)
	}

	// The trainer resumed from its checkpoint, in the same directory, and
	// did each of its 40 steps exactly once.
	out, err := os.ReadFile(filepath.Join(c.workDir, "slurm-"+trainer+".out"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(c.dir, "checkpoints", trainer)
	ckpt := regexp.MustCompile(`(?m)^checkpoint (\d+)$`).FindStringSubmatch(string(out))
	if ckpt == nil {
		t.Fatalf("the trainer saved no checkpoint; output:\n%s", out)
	}
	var want strings.Builder
	fmt.Fprintf(&want, "start restart=0 resume=0 dir=%s\n", dir)
	saved, _ := strconv.Atoi(ckpt[1])
	for i := 1; i <= saved; i++ {
		fmt.Fprintf(&want, "step %d\n", i)
	}
	fmt.Fprintf(&want, "checkpoint %d\nstart restart=1 resume=%d dir=%s\n", saved, saved, dir)
	for i := saved + 1; i <= 40; i++ {
		fmt.Fprintf(&want, "step %d\n", i)
	}
	want.WriteString("done 40\n")
	if string(out) != want.String() {
		t.Errorf("trainer output:\n%s\nwant:\n%s", out, want.String())
	}
	if saved < 5 || saved >= 40 {
		t.Errorf("checkpoint at step %d, want between 5 and 39", saved)
	}
}

// TestE2EPriorityPreemptionInsideAccount is the production report's second
// figure at small scale: account vision, at its guarantee of 2 GPUs, submits
// a job of higher --priority; its own lowest-priority job is preempted and
// requeued to make room, while its other job and the jobs of account search
// run on.
func TestE2EPriorityPreemptionInsideAccount(t *testing.T) {
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600,
			PreemptMode: api.PreemptRequeue, GraceSecs: 2}},
		Accounts: []api.Account{
			{Name: "vision", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "search", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
		},
	}
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, cfg), nodeCPUs: "8", nodeMemory: "8192", gpus: "4:h100"})
	job := func(account, name, prio string) string {
		return c.sbatch("-A", account, "-J", name, "--priority="+prio, "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 300")
	}
	others := []string{job("search", "s1", "10"), job("search", "s2", "10")}
	low, mid := job("vision", "low", "10"), job("vision", "mid", "50")
	for _, id := range append(others, low, mid) {
		c.waitState(id, "RUNNING", 60*time.Second)
	}

	// Submitted in the same second as low: on equal multifactor values the
	// account's own --priority must decide, or low, requeued, would take
	// back the GPU freed for high and be preempted again, forever.
	high := job("vision", "high", "90")
	c.waitState(high, "RUNNING", 90*time.Second)
	c.waitState(low, "PENDING", 30*time.Second)
	for _, id := range append(others, mid) {
		if st := c.state(id); st != "RUNNING" {
			t.Errorf("job %s is %s, want RUNNING: only vision's lowest-priority job makes room", id, st)
		}
	}
	runs := c.sacctRuns(low)
	if len(runs) != 2 || runs[0].State != "PREEMPTED" || runs[1].State != "PENDING" ||
		!strings.Contains(runs[0].Reason, "Preempted (priority) for job "+high) {
		t.Errorf("sacct of the low-priority job = %+v, want a run PREEMPTED for priority for job %s, then PENDING", runs, high)
	}
	if highRuns := c.sacctRuns(high); len(highRuns) != 1 || highRuns[0].Start.Before(runs[0].End) {
		t.Errorf("high-priority job ran %+v before the preempted job stopped at %v", highRuns, runs[0].End)
	}
}

// TestE2EGraceExpiresAcrossNodedRestart: a job that ignores its checkpoint
// signal is terminated when its grace time is over and requeued, even when
// the node daemon is killed and restarted during the grace time: the job is
// signalled once, stopped on time and requeued once.
func TestE2EGraceExpiresAcrossNodedRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, lendingConfig(60, 2, api.QOS{Name: "short", GraceSecs: 4})),
		nodeCPUs: "4", nodeMemory: "4096", gpus: "2:h100"})
	stubborn := c.sbatch("-A", "research", "-J", "stubborn", "--qos=short", "--gres=gpu:2", "--mem=64M", "--wrap",
		`trap 'echo "ignoring USR1 at $(date +%s)"' USR1; echo ready; while :; do sleep 0.2; done`)
	c.waitOutput(stubborn, "ready\n", 60*time.Second)

	owner := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 1")
	out := c.waitOutput(stubborn, "ignoring USR1", 60*time.Second)
	c.noded.kill9()
	c.noded.start()

	c.waitState(owner, "COMPLETED", 90*time.Second)
	c.waitFor("the stubborn job to be requeued", 60*time.Second, func() bool { return len(c.sacctRuns(stubborn)) == 2 })
	c.must("scancel", stubborn)

	runs := c.sacctRuns(stubborn)
	if runs[0].State != "PREEMPTED" || runs[0].ExitCode != "0:15" {
		t.Errorf("first run of the stubborn job = %+v, want PREEMPTED by SIGTERM (0:15)", runs[0])
	}
	var signalled int64
	if _, err := fmt.Sscanf(out[strings.Index(out, "ignoring USR1 at "):], "ignoring USR1 at %d", &signalled); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	// Its grace time (4 s, counted from the preemption) passed before
	// SIGTERM; sacct times are whole seconds.
	if got := runs[0].End.Unix() - signalled; got < 3 {
		t.Errorf("the job was stopped %d s after its checkpoint signal, before its 4 s grace time was over", got)
	}
	out = c.waitOutput(stubborn, "ready\n", 5*time.Second)
	if n := strings.Count(out, "ignoring USR1"); n != 1 {
		t.Errorf("the job got its checkpoint signal %d times across the restart, want once:\n%s", n, out)
	}
	if j := c.job(stubborn); j["restart_count"] != float64(1) {
		t.Errorf("restart count %v, want 1: requeued once", j["restart_count"])
	}
	if ownerRuns := c.sacctRuns(owner); len(ownerRuns) != 1 || ownerRuns[0].Start.Before(runs[0].End) {
		t.Errorf("owner's job ran %+v, before the stubborn job stopped at %v", ownerRuns, runs[0].End)
	}
}

// TestE2ERequeueEndsGrace: a container job that, on its checkpoint signal,
// calls scontrol requeue $SLURM_JOB_ID (as submitit and PyTorch Lightning
// do) ends its 60 s grace time at once: it is requeued, and the job it made
// room for starts well before the grace time would have ended.
func TestE2ERequeueEndsGrace(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, lendingConfig(60, 2)),
		nodeCPUs: "4", nodeMemory: "4096", gpus: "2:h100"})
	polite := c.sbatch("-A", "research", "-J", "polite", "--gres=gpu:2", "--mem=64M",
		"--container-image=oci-archive:"+e2e.imageOCI, "--wrap",
		`trap 'echo requeueing myself; scontrol requeue $SLURM_JOB_ID' USR1; echo ready; while :; do sleep 0.2; done`)
	c.waitOutput(polite, "ready\n", 90*time.Second)

	owner := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 300")
	// Measured loosely: a third of the grace time.
	c.waitState(owner, "RUNNING", 20*time.Second)
	if out := c.waitOutput(polite, "requeueing myself\n", 5*time.Second); strings.Contains(out, "error") {
		t.Errorf("scontrol requeue inside the container failed:\n%s", out)
	}
	runs := c.sacctRuns(polite)
	if len(runs) != 2 || runs[0].State != "PREEMPTED" || runs[1].State != "PENDING" {
		t.Errorf("sacct of the requeued job = %+v, want a PREEMPTED run, then PENDING", runs)
	}
	if j := c.job(polite); j["restart_count"] != float64(1) {
		t.Errorf("restart count %v, want 1", j["restart_count"])
	}
}

// TestE2ENoRequeueJobEndsOnPreemption: a job submitted with --no-requeue in
// a partition that requeues preempted jobs is not requeued: it ends
// PREEMPTED, with a reason that says so. It ends its grace time with
// fairway checkpoint done, from inside its container.
func TestE2ENoRequeueJobEndsOnPreemption(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, lendingConfig(60, 2)),
		nodeCPUs: "4", nodeMemory: "4096", gpus: "2:h100"})
	once := c.sbatch("-A", "research", "-J", "once", "--no-requeue", "--gres=gpu:2", "--mem=64M",
		"--container-image=oci-archive:"+e2e.imageOCI, "--wrap",
		`trap 'echo saying done; fairway checkpoint done' USR1; echo ready; while :; do sleep 0.2; done`)
	c.waitOutput(once, "ready\n", 90*time.Second)

	owner := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 300")
	c.waitState(owner, "RUNNING", 20*time.Second)
	c.waitState(once, "PREEMPTED", 10*time.Second)
	if out := c.waitOutput(once, "saying done\n", 5*time.Second); strings.Contains(out, "error") {
		t.Errorf("fairway checkpoint done inside the container failed:\n%s", out)
	}
	wantReason := "Preempted (reclaim) for job " + owner + "; not requeued: the job was submitted with --no-requeue"
	if got := strings.TrimSpace(c.must("squeue", "-h", "-t", "all", "-j", once, "-o", "%T|%r")); got != "PREEMPTED|"+wantReason {
		t.Errorf("squeue of the job = %q, want PREEMPTED with reason %q", got, wantReason)
	}
	if runs := c.sacctRuns(once); len(runs) != 1 || runs[0].State != "PREEMPTED" {
		t.Errorf("sacct = %+v, want one PREEMPTED run", runs)
	}
	if j := c.job(once); j["restart_count"] != float64(0) {
		t.Errorf("restart count %v, want 0: not requeued", j["restart_count"])
	}
}
