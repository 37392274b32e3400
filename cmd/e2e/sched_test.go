//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// TestE2EBorrowAndReclaim is the production report's borrow-and-reclaim
// scenario at small scale, through the real controller and node daemon: a
// node with 4 (fake) GPUs, accounts prodexp1 and prodexp2 guaranteed 2 each.
// prodexp1 borrows all 4 GPUs while prodexp2 is idle; when prodexp2 asks for
// its 2, two of prodexp1's jobs are preempted (requeue mode, a short grace)
// and end up PENDING again, and prodexp2's job runs.
func TestE2EBorrowAndReclaim(t *testing.T) {
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600,
			PreemptMode: api.PreemptRequeue, GraceSecs: 2}},
		Accounts: []api.Account{
			{Name: "prodexp1", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "prodexp2", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
		},
		NodeDownAfterSecs: 30,
		JobRetentionSecs:  3600,
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "cluster.json")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, clusterOpts{clusterConfig: cfgFile, nodeCPUs: "8", nodeMemory: "8192", gpus: "4:h100"})

	// prodexp1 borrows the whole node: its guarantee and prodexp2's idle share.
	var borrowers []string
	for i := range 4 {
		borrowers = append(borrowers, c.sbatch("-A", "prodexp1", "--gres=gpu:1", "--mem=64M",
			"-J", fmt.Sprintf("exp1-%d", i), "--wrap", "sleep 300"))
	}
	for _, id := range borrowers {
		c.waitState(id, "RUNNING", 60*time.Second)
	}

	// prodexp2 wants its guarantee back.
	reclaimer := c.sbatch("-A", "prodexp2", "--gres=gpu:2", "--mem=64M", "-J", "exp2", "--wrap", "sleep 300")
	c.waitState(reclaimer, "RUNNING", 120*time.Second)

	var running, requeued []string
	for _, id := range borrowers {
		switch st := c.state(id); st {
		case "RUNNING":
			running = append(running, id)
		case "PENDING":
			requeued = append(requeued, id)
		default:
			t.Errorf("prodexp1 job %s is %s, want RUNNING or PENDING (requeued)", id, st)
		}
	}
	if len(running) != 2 || len(requeued) != 2 {
		t.Fatalf("prodexp1 jobs running %v, requeued %v: want 2 and 2 (prodexp1 back at its guarantee)", running, requeued)
	}
	for _, id := range requeued {
		rows := c.sacctRows(id)
		if len(rows) != 2 || !strings.HasPrefix(rows[0], id+"|PREEMPTED|") || !strings.HasPrefix(rows[1], id+"|PENDING|") {
			t.Errorf("sacct for requeued job %s = %q, want a PREEMPTED run then PENDING", id, rows)
		}
		j := c.job(id)
		if j["restart_count"] != float64(1) {
			t.Errorf("requeued job %s restart count %v, want 1", id, j["restart_count"])
		}
	}
	// Each account holds its guarantee: 2 GPUs.
	held := map[string]int{}
	out := c.must("squeue", "-h", "-t", "R", "-o", "%a %b")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.Atoi(f[1][strings.LastIndexByte(f[1], ':')+1:])
		if err != nil {
			t.Fatalf("squeue %%b = %q, want gres/gpu:N", f[1])
		}
		held[f[0]] += n
	}
	if held["prodexp1"] != 2 || held["prodexp2"] != 2 {
		t.Errorf("GPUs held by account: %v (squeue:\n%s), want prodexp1 2 and prodexp2 2", held, out)
	}
	// The requeued jobs wait for resources, not anything else.
	for _, id := range requeued {
		reason := strings.TrimSpace(c.must("squeue", "-h", "-j", id, "-o", "%r"))
		if !slices.Contains([]string{api.ReasonResources, api.ReasonPriority, api.ReasonRequeued}, reason) {
			t.Errorf("requeued job %s pending for %q, want Resources or Priority", id, reason)
		}
	}
}

// TestE2EJobArray runs job arrays through the command line: a throttled
// array whose tasks each write their own output file (%A_%a), and an array
// cancelled by its job id while some tasks run and others wait.
func TestE2EJobArray(t *testing.T) {
	c := newCluster(t, clusterOpts{})

	id := c.sbatch("--array=0-3%2", "-J", "arr", "-o", "arr-%A_%a.out", "--mem=64M", "--wrap", "echo task $SLURM_JOB_ID")
	var rows []string
	c.waitFor("the 4 tasks to complete", 120*time.Second, func() bool {
		out, _, err := c.run("sacct", "-j", id, "-X", "-P", "-n", "-o", "JobID,JobIDRaw,State")
		rows = strings.Fields(out)
		return err == nil && len(rows) == 4 && strings.Count(out, "|COMPLETED") == 4
	})
	for i, row := range rows {
		f := strings.Split(row, "|")
		if want := fmt.Sprintf("%s_%d", id, i); f[0] != want {
			t.Errorf("sacct row %d: JobID %s, want %s", i, f[0], want)
			continue
		}
		// Each task is a job of its own and writes its own file.
		wantFile(t, filepath.Join(c.workDir, fmt.Sprintf("arr-%s_%d.out", id, i)), "task "+f[1]+"\n")
	}

	sweep := c.sbatch("--array=0-9", "-J", "sweep", "--mem=64M", "--wrap", "sleep 300")
	c.waitFor("two tasks of the sweep running", 60*time.Second, func() bool {
		out, _, err := c.run("squeue", "-h", "-j", sweep, "-t", "R", "-o", "%i")
		return err == nil && len(strings.Fields(out)) == 2
	})
	out := c.must("squeue", "-h", "-j", sweep, "-t", "PD", "-o", "%i %K")
	if want := sweep + "_[2-9] 2-9\n"; out != want {
		t.Errorf("the sweep's pending remainder in squeue = %q, want %q", out, want)
	}
	c.must("scancel", sweep)
	c.waitFor("the whole sweep to end", 60*time.Second, func() bool {
		out, _, err := c.run("squeue", "-h", "-j", sweep, "-o", "%i %T")
		return err == nil && strings.TrimSpace(out) != "" && !strings.Contains(out, "RUNNING") && !strings.Contains(out, "PENDING")
	})
	// Slurm names who cancelled a job: root (uid 0) here.
	got := strings.Split(strings.TrimSpace(c.must("sacct", "-j", sweep, "-X", "-P", "-n", "-o", "JobID,State")), "\n")
	want := []string{sweep + "_[2-9]|CANCELLED by 0", sweep + "_0|CANCELLED by 0", sweep + "_1|CANCELLED by 0"}
	if !slices.Equal(got, want) {
		t.Errorf("sacct of the cancelled sweep = %q, want %q", got, want)
	}
}

// TestE2EExplanations: the live controller's pending reasons, expected start
// times, sprio and sshare come from the scheduler: a job blocked behind a
// running one waits for Resources with an expected start at the running job's
// time limit, a job behind it waits for Priority, and sprio/sshare list them.
func TestE2EExplanations(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	running := c.sbatch("-J", "big", "-c", "2", "-t", "10:00", "--wrap", "sleep 300")
	c.waitState(running, "RUNNING", 60*time.Second)
	blocked := c.sbatch("-J", "next", "-c", "2", "-t", "5:00", "--wrap", "true")
	behind := c.sbatch("-J", "after", "-c", "2", "-t", "5:00", "--wrap", "true")

	var reason, start string
	c.waitFor("a Resources reason with an expected start", 30*time.Second, func() bool {
		out := strings.Fields(c.must("squeue", "-h", "-j", blocked, "-o", "%r %S"))
		if len(out) != 2 {
			return false
		}
		reason, start = out[0], out[1]
		return reason == "Resources" && start != "N/A"
	})
	started, err := time.ParseInLocation("2006-01-02T15:04:05", c.must("squeue", "-h", "-j", running, "-o", "%S")[:19], time.Local)
	if err != nil {
		t.Fatalf("start time of job %s: %v", running, err)
	}
	expected, err := time.ParseInLocation("2006-01-02T15:04:05", start, time.Local)
	if err != nil {
		t.Fatalf("expected start %q of job %s: %v", start, blocked, err)
	}
	if want := started.Add(10 * time.Minute); !expected.Equal(want) {
		t.Errorf("expected start of job %s = %v, want the running job's end %v", blocked, expected, want)
	}
	c.waitFor("the job behind to wait for Priority", 30*time.Second, func() bool {
		return strings.TrimSpace(c.must("squeue", "-h", "-j", behind, "-o", "%r")) == "Priority"
	})

	sprio := c.must("sprio", "-h", "-o", "%i")
	if got := strings.Fields(sprio); !slices.Equal(got, []string{blocked, behind}) {
		t.Errorf("sprio lists %q, want the two pending jobs %s and %s", got, blocked, behind)
	}
	sshare := c.must("sshare", "-a", "-P", "-n", "-o", "Account,User")
	if !strings.Contains(sshare, "root|root") {
		t.Errorf("sshare -a does not list user root of account root:\n%s", sshare)
	}
	c.must("scancel", running)
	c.waitState(blocked, "COMPLETED", 60*time.Second)
}
