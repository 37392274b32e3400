//go:build e2e

package e2e

// End-to-end test of sacctmgr: accounts, users and limits changed through
// the real client binary against a real controller and node daemon (fake
// GPUs), seen by sshare and by the scheduler without a restart.

import (
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// sacctmgrConfig is one partition of 4 GPUs whose preempted jobs are
// requeued after a 2 s grace; no accounts: sacctmgr makes them.
func sacctmgrConfig() api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600,
			PreemptMode: api.PreemptRequeue, GraceSecs: 2}},
	}
}

// squeueField prints one squeue field of a job.
func (c *cluster) squeueField(id, format string) string {
	c.t.Helper()
	return strings.TrimSpace(c.must("squeue", "-h", "-j", id, "-o", format))
}

// assocAndShares returns sacctmgr show assoc's and sshare's Account|User|shares
// rows, without sshare's indentation and with the root's shares as
// sacctmgr prints them (sshare prints none).
func (c *cluster) assocAndShares() (assoc, share string) {
	c.t.Helper()
	assoc = c.must("sacctmgr", "-n", "-P", "show", "assoc", "format=Account,User,Share")
	var rows []string
	for _, l := range strings.Split(strings.TrimSuffix(c.must("sshare", "-a", "-n", "-P", "-o", "Account,User,RawShares"), "\n"), "\n") {
		l = strings.TrimLeft(l, " ")
		if l == "root||" {
			l = "root||1"
		}
		rows = append(rows, l)
	}
	return assoc, strings.Join(rows, "\n") + "\n"
}

func TestE2ESacctmgr(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, sacctmgrConfig()),
		nodeCPUs: "8", nodeMemory: "8192", gpus: "4:h100"})

	// A limit raised at once: research may run one job; the second waits
	// on the limit and starts when sacctmgr lifts it.
	c.must("sacctmgr", "-i", "add", "account", "research", "Fairshare=1", "GrpJobs=1")
	c.must("sacctmgr", "-i", "add", "user", "root", "Account=research")
	r1 := c.sbatch("-J", "borrow-1", "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 900")
	r2 := c.sbatch("-J", "borrow-2", "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 900")
	if got := c.squeueField(r1, "%a"); got != "research" {
		t.Errorf("job %s without -A runs under %q, want root's default account research", r1, got)
	}
	c.waitState(r1, "RUNNING", 60*time.Second)
	c.waitFor("job "+r2+" to wait on research's GrpJobs", 30*time.Second, func() bool {
		return c.squeueField(r2, "%r") == "AssocGrpJobsLimit"
	})
	c.must("sacctmgr", "-i", "modify", "account", "where", "name=research", "set", "GrpJobs=-1")
	c.waitState(r2, "RUNNING", 30*time.Second)
	r3 := c.sbatch("-A", "research", "-J", "borrow-3", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 900")
	c.waitState(r3, "RUNNING", 30*time.Second)

	// An account tree with a guarantee; root's default account is biology,
	// which has none: its job waits without preempting anyone.
	c.must("sacctmgr", "-i", "add", "account", "science", "Fairshare=10")
	c.must("sacctmgr", "-i", "add", "account", "physics,biology", "Parent=science", "Fairshare=5")
	c.must("sacctmgr", "-i", "add", "user", "root", "Account=biology", "DefaultAccount=biology", "Fairshare=3")
	// Without -i and with stdin not a terminal, sacctmgr commits as Slurm's does.
	out := c.must("sacctmgr", "modify", "account", "where", "name=physics", "set", "Guarantee=gpu:2")
	if out != " Modified account associations...\n  C = fairway    A = physics              of science\n" {
		t.Errorf("sacctmgr modify printed:\n%s", out)
	}
	if got := c.must("sacctmgr", "-n", "-P", "list", "account", "physics", "format=Account,Guarantee"); got != "physics|gpu:2\n" {
		t.Errorf("sacctmgr list account physics = %q, want physics|gpu:2", got)
	}
	b1 := c.sbatch("-J", "bio", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 1")
	if got := c.squeueField(b1, "%a"); got != "biology" {
		t.Errorf("job %s runs under %q, want root's new default account biology", b1, got)
	}
	c.waitFor("job "+b1+" to wait for resources", 30*time.Second, func() bool {
		r := c.squeueField(b1, "%r")
		return r == "Resources" || r == "Priority"
	})
	for _, id := range []string{r1, r2, r3} {
		if k := c.job(id)["kill"]; k != nil {
			t.Errorf("job %s is being stopped (%v) for a job of an account without a guarantee", id, k)
		}
	}
	assoc, share := c.assocAndShares()
	if want := "root||1\nresearch||1\nresearch|root|1\nscience||10\nbiology||5\nbiology|root|3\nphysics||5\n"; assoc != want || share != want {
		t.Errorf("before the move: sacctmgr show assoc\n%s\nsshare\n%s\nwant both\n%s", assoc, share, want)
	}
	if _, errOut, err := c.run("sacctmgr", "-i", "delete", "user", "root", "where", "account=biology"); err == nil || !strings.Contains(errOut, "pending or running jobs in account biology") {
		t.Errorf("deleting an association with a pending job: err %v, stderr %q; want a refusal", err, errOut)
	}
	if _, errOut, err := c.run("sacctmgr", "-i", "delete", "account", "science"); err == nil || !strings.Contains(errOut, "has sub-accounts (physics,biology)") {
		t.Errorf("deleting an account with sub-accounts: err %v, stderr %q; want a refusal", err, errOut)
	}

	// Move root from biology to physics: its next job counts against
	// physics's guarantee, and the scheduler takes GPUs back for it.
	c.must("scancel", b1)
	c.must("sacctmgr", "-i", "add", "user", "root", "Account=physics", "DefaultAccount=physics", "Fairshare=3")
	c.must("sacctmgr", "-i", "delete", "user", "root", "where", "account=biology")
	assoc, share = c.assocAndShares()
	if want := "root||1\nresearch||1\nresearch|root|1\nscience||10\nbiology||5\nphysics||5\nphysics|root|3\n"; assoc != want || share != want {
		t.Errorf("after the move: sacctmgr show assoc\n%s\nsshare\n%s\nwant both\n%s", assoc, share, want)
	}
	users := c.must("sacctmgr", "-P", "-n", "list", "user", "format=User,DefaultAccount")
	if users != "root|physics\n" {
		t.Errorf("sacctmgr list user = %q, want root|physics", users)
	}
	p1 := c.sbatch("-J", "phys", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 1")
	if got := c.squeueField(p1, "%a"); got != "physics" {
		t.Errorf("job %s runs under %q, want physics", p1, got)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("squeue:\n%s", c.must("squeue", "-o", "%i %a %u %T %r %b"))
			t.Logf("sacctmgr:\n%s", c.must("sacctmgr", "-P", "show", "assoc", "format=Account,User,Share,Guarantee,GrpJobs,ParentName"))
		}
	})
	// The scheduler takes 2 GPUs back from research for it: job p1 runs
	// (and completes) only because a research job was preempted.
	c.waitState(p1, "COMPLETED", 90*time.Second)
	preempted := 0
	for _, id := range []string{r1, r2, r3} {
		runs, _ := c.job(id)["runs"].([]any)
		for _, r := range runs {
			if run := r.(map[string]any); run["state"] == "PREEMPTED" {
				preempted++
			}
		}
	}
	if preempted == 0 {
		t.Errorf("job %s completed but no research job was preempted for it", p1)
	}
}
