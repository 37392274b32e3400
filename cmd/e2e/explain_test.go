//go:build e2e

package e2e

// End-to-end test of fairway explain: a real controller and node daemon
// (fake GPUs), a pending job in each situation the issue names, and the
// words the real client binary prints for each.

import (
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// explainConfig is one partition of GPUs whose preempted jobs get a long
// grace (so that a reclaim stays pending while the test looks at it), an
// account "research" without a guarantee, "prod" guaranteed 2 GPUs, and
// "small" that may run one job at a time.
func explainConfig() api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600,
			PreemptMode: api.PreemptRequeue, GraceSecs: 600}},
		Accounts: []api.Account{
			{Name: "research", Shares: 1},
			{Name: "prod", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "small", Shares: 1, MaxRunningJobs: 1},
		},
	}
}

// explain runs fairway explain through the real binary, logs its output
// and checks that it says each of want.
func (c *cluster) explain(situation, id string, want ...string) string {
	c.t.Helper()
	out := c.must("fairway", "explain", id)
	c.t.Logf("%s: $ fairway explain %s\n%s", situation, id, out)
	for _, w := range want {
		if !strings.Contains(out, w) {
			c.t.Errorf("%s: fairway explain %s does not say %q:\n%s", situation, id, w, out)
		}
	}
	return out
}

func TestE2EExplain(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, explainConfig()),
		nodeCPUs: "8", nodeMemory: "8192", gpus: "4:h100", ctldArgs: []string{"--estimate-interval", "2s"}})
	// The borrowers ignore the checkpoint signal (sleep inherits the
	// ignored USR1), so a reclaim waits out its whole grace time.
	stubborn := "trap '' USR1; sleep 900"
	a := c.sbatch("-A", "research", "-J", "borrow-a", "--gres=gpu:2", "--mem=64M", "--wrap", stubborn)
	b := c.sbatch("-A", "research", "-J", "borrow-b", "--gres=gpu:2", "--mem=64M", "--wrap", stubborn)
	s1 := c.sbatch("-A", "small", "-J", "small-1", "--mem=64M", "--wrap", "sleep 900")
	for _, id := range []string{a, b, s1} {
		c.waitState(id, "RUNNING", 60*time.Second)
	}

	// Guarantee reclaim pending: prod's job makes the scheduler preempt one
	// of research's jobs, which keeps its GPUs for its grace time.
	p := c.sbatch("-A", "prod", "-J", "owner", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 1")
	var victim, other string
	c.waitFor("a research job to be preempted for job "+p, 60*time.Second, func() bool {
		for _, id := range []string{a, b} {
			if k, ok := c.job(id)["kill"].(map[string]any); ok && api.JobID(k["for"].(float64)).String() == p {
				victim, other = id, map[string]string{a: b, b: a}[id]
				return true
			}
		}
		return false
	})

	// Waiting for a reservation: research's next job can only start when
	// the research job that is not preempted reaches its time limit.
	r := c.sbatch("-A", "research", "-J", "next", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 1")
	// Account limit: small runs its one job.
	s2 := c.sbatch("-A", "small", "-J", "small-2", "--mem=64M", "--wrap", "sleep 1")
	// Dependency: after the other research job completes.
	d := c.sbatch("-A", "research", "-J", "after", "--mem=64M", "--dependency=afterok:"+other, "--wrap", "sleep 1")
	// Held by its user.
	h := c.sbatch("-A", "research", "-J", "held", "--mem=64M", "--hold", "--wrap", "sleep 1")

	c.waitFor("the pending jobs' reasons", 60*time.Second, func() bool {
		j := c.job(r)
		return j["expected_start"] != nil && c.job(s2)["reason"] == "AssocGrpJobsLimit" && c.job(d)["reason"] == "Dependency"
	})
	// The leader replays the queue every 2 s; wait for the estimates of
	// the jobs pending for resources.
	c.waitFor("start estimates of jobs "+p+" and "+r, 60*time.Second, func() bool {
		for _, id := range []string{p, r} {
			if out, _, err := c.run("fairway", "explain", id); err != nil || !strings.Contains(out, "Expected start: between ") {
				return false
			}
		}
		return true
	})

	c.explain("guarantee reclaim pending", p,
		"Job "+p+" waits for its account prod to take back its guarantee on partition gpu: it holds 0 of 2 guaranteed GPUs; job "+victim+
			" (account research, borrowing) is being preempted for it and stops by ",
		"Account prod is guaranteed 2 GPUs on partition gpu, holds 0 and this job needs 2.",
		"Job "+victim+" (root/research, 2 GPUs on node1) got its checkpoint signal USR1 at ",
		"its grace of 00:10:00 ends at ",
		"Expected start: between ", " replays)")
	c.explain("waiting for a reservation", r,
		"Job "+r+" has a backfill reservation to start at ",
		"when running job "+other+" reaches its time limit; it needs 2 GPUs on 1 node.",
		"Reserved start: ",
		"Expected start: between ", " replays)")
	c.explain("account limit", s2,
		"Job "+s2+" waits because account small may run at most 1 job at once (max_running_jobs) and runs 1 now; it starts when one of them ends.",
		"Limit max_running_jobs of account small = 1; in use now: 1, by job "+s1+" (root/small, 0 GPUs).")
	c.explain("dependency", d,
		"Job "+d+" waits for its dependency afterok:"+other+": it waits for job "+other+" (afterok, now RUNNING).",
		"afterok:"+other+": job "+other+" is RUNNING; satisfied if it completes with exit code 0.")
	c.explain("held", h,
		"Job "+h+" is held by its user: it will not start until it is released with scontrol release "+h+".",
		"Held by user root (sbatch --hold or scontrol hold, JobHeldUser)")
	c.explain("running", other, "Job "+other+" is running since ", " on node1 (partition gpu); its time limit ends it at ")

	// An array task by its ARRAYID_TASK name.
	arr := c.sbatch("-A", "research", "-J", "arr", "--mem=64M", "--array=0-1", "--hold", "--wrap", "sleep 1")
	c.explain("array task", arr+"_1", "Job "+arr+" is held by its user")

	// squeue --start shows the reservation as START_TIME.
	out := c.must("squeue", "--start")
	t.Logf("$ squeue --start\n%s", out)
	if !strings.HasPrefix(out, "             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)\n") {
		t.Errorf("squeue --start header:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[0] == r && (f[5] == "N/A" || !strings.Contains(f[5], "T")) {
			t.Errorf("squeue --start shows no start time for job %s: %q", r, l)
		}
	}
	t.Logf("$ fairway explain --accuracy\n%s", c.must("fairway", "explain", "--accuracy"))

	// What-if on the live queue: research gets a guarantee of 2 GPUs and
	// prod loses its own; the table compares both accounts' waits.
	proposed := explainConfig()
	proposed.Accounts[0].Guarantees = map[string]int{"gpu": 2}
	proposed.Accounts[1].Guarantees = nil
	out = c.must("fairway", "sim", "--from-live", "--config", writeClusterConfig(t, proposed), "--replays", "4", "--horizon", "24h")
	t.Logf("$ fairway sim --from-live --config proposed.json --replays 4 --horizon 24h\n%s", out)
	for _, w := range []string{"ACCOUNT", "MEAN_CUR", "MEAN_NEW", "\nprod ", "\nresearch "} {
		if !strings.Contains(out, w) {
			t.Errorf("fairway sim --from-live does not show %q:\n%s", w, out)
		}
	}

	// Bad input names what is wrong.
	if _, errOut, err := c.run("fairway", "explain", "12x"); err == nil || !strings.Contains(errOut, `invalid JOB_ID "12x"`) {
		t.Errorf("fairway explain 12x: %v, stderr %q", err, errOut)
	}
	if _, errOut, err := c.run("fairway", "explain", "99999"); err == nil || !strings.Contains(errOut, "Invalid job id specified") {
		t.Errorf("fairway explain 99999: %v, stderr %q", err, errOut)
	}
}
