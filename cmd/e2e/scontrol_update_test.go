//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// adminConfig has two partitions on node1: gpu (default, one hour by
// default) and cpu (at most two hours).
func adminConfig(t *testing.T) string {
	return writeClusterConfig(t, api.ClusterConfig{Partitions: []api.Partition{
		{Name: "gpu", Default: true, DefaultTimeSecs: 3600, Nodes: []string{"node1"}},
		{Name: "cpu", MaxTimeSecs: 7200, Nodes: []string{"node1"}},
	}})
}

// showJobField returns Key=Value's value from scontrol show job.
func (c *cluster) showJobField(id, key string) string {
	c.t.Helper()
	out := c.must("scontrol", "show", "job", id)
	m := regexp.MustCompile(`(?:^|\s)` + regexp.QuoteMeta(key) + `=(\S*)`).FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("scontrol show job %s has no %s:\n%s", id, key, out)
	}
	return m[1]
}

// TestE2EScontrolUpdateJobs: scontrol update on a pending job (partition,
// time limit; a bad partition is refused naming the field and changes
// nothing) and on a running one (its time limit lowered: it ends TIMEOUT).
func TestE2EScontrolUpdateJobs(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: adminConfig(t)})

	held := c.sbatch("-H", "--wrap", "true")
	c.must("scontrol", "update", "JobId="+held, "Partition=cpu", "TimeLimit=20")
	if got := []string{c.showJobField(held, "Partition"), c.showJobField(held, "TimeLimit")}; got[0] != "cpu" || got[1] != "00:20:00" {
		t.Errorf("after the update: Partition, TimeLimit = %v, want cpu 00:20:00", got)
	}
	_, errOut, err := c.run("scontrol", "update", "JobId="+held, "Partition=nope")
	if err == nil || !strings.Contains(errOut, `invalid Partition "nope": no such partition`) || !strings.HasSuffix(errOut, " for job "+held+"\n") {
		t.Errorf("bad partition: err %v, stderr %q; want exit 1 naming Partition and the job", err, errOut)
	}
	_, errOut, err = c.run("scontrol", "update", "JobId="+held, "TimeLimit=3:00:00")
	if err == nil || !strings.Contains(errOut, "TimeLimit") {
		t.Errorf("a time limit beyond cpu's MaxTime: err %v, stderr %q; want exit 1 naming TimeLimit", err, errOut)
	}
	if got := c.showJobField(held, "Partition") + " " + c.showJobField(held, "TimeLimit"); got != "cpu 00:20:00" {
		t.Errorf("refused updates changed the job: %s", got)
	}
	c.must("scancel", held)

	run := c.sbatch("--time=10", "--wrap", "sleep 300")
	c.waitState(run, "RUNNING", 60*time.Second)
	_, errOut, err = c.run("scontrol", "update", "JobId="+run, "Partition=cpu")
	if err == nil || !strings.Contains(errOut, "Job is no longer pending execution") {
		t.Errorf("partition of a running job: err %v, stderr %q", err, errOut)
	}
	c.must("scontrol", "update", "JobId="+run, "TimeLimit=0:05")
	if got := c.showJobField(run, "TimeLimit"); got != "00:00:05" {
		t.Errorf("running job's TimeLimit = %s, want 00:00:05", got)
	}
	c.waitState(run, "TIMEOUT", 60*time.Second)
}

// TestE2EDrainResume: a drained node finishes its running job and starts
// nothing new; sinfo shows drng then drain, sinfo -R the reason, user and
// time; after RESUME the pending job starts. sdiag and scontrol show
// config run against the live controller.
func TestE2EDrainResume(t *testing.T) {
	c := newCluster(t, clusterOpts{clusterConfig: adminConfig(t)})

	first := c.sbatch("-c", "1", "--wrap", "sleep 6")
	c.waitState(first, "RUNNING", 60*time.Second)

	_, errOut, err := c.run("scontrol", "update", "NodeName=node1", "State=DRAIN")
	if err == nil || errOut != "You must specify a reason when DOWNING or DRAINING a node. Request denied\n" {
		t.Errorf("drain without a reason: err %v, stderr %q", err, errOut)
	}
	before := time.Now().Add(-2 * time.Second)
	c.must("scontrol", "update", "NodeName=node1", "State=DRAIN", "Reason=replace fan")
	if out := strings.TrimSpace(c.must("sinfo", "-N", "-h", "-o", "%N %t", "-p", "gpu")); out != "node1 drng" {
		t.Errorf("sinfo while the job runs = %q, want node1 drng", out)
	}
	out := c.must("sinfo", "-R")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	m := regexp.MustCompile(`^replace fan +root +(\S+) node1$`).FindStringSubmatch(lines[len(lines)-1])
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "REASON               USER      TIMESTAMP           NODELIST") || m == nil {
		t.Fatalf("sinfo -R =\n%s", out)
	}
	if ts, err := time.ParseInLocation("2006-01-02T15:04:05", m[1], time.Local); err != nil || ts.Before(before) || ts.After(time.Now().Add(2*time.Second)) {
		t.Errorf("sinfo -R timestamp %s (%v): want the time of the drain", m[1], err)
	}

	second := c.sbatch("-c", "1", "--wrap", "true")
	c.waitState(first, "COMPLETED", 60*time.Second)
	c.waitFor("node1 drained", 30*time.Second, func() bool {
		out, _, _ := c.run("sinfo", "-N", "-h", "-o", "%N %t", "-p", "gpu")
		return strings.TrimSpace(out) == "node1 drain"
	})
	// Several scheduler passes (every 500 ms) later, nothing has started.
	time.Sleep(2 * time.Second)
	if st := c.state(second); st != "PENDING" {
		t.Errorf("job %s on a drained node: %s, want PENDING", second, st)
	}
	// A drain survives the node daemon's restart and re-registration.
	c.noded.stop()
	c.noded.start()
	time.Sleep(3 * time.Second)
	if out := strings.TrimSpace(c.must("sinfo", "-N", "-h", "-o", "%N %t", "-p", "gpu")); out != "node1 drain" {
		t.Errorf("after the node daemon's restart: %q, want node1 drain", out)
	}

	c.must("scontrol", "update", "NodeName=node1", "State=RESUME")
	c.waitState(second, "COMPLETED", 60*time.Second)
	if out := c.must("sinfo", "-R", "-h"); out != "" {
		t.Errorf("sinfo -R after RESUME = %q, want nothing", out)
	}

	diag := c.must("sdiag")
	for _, want := range []string{"Main schedule statistics (microseconds):\n", "Backfilling stats\n", "Jobs completed: 2\n", "Raft statistics\n"} {
		if !strings.Contains(diag, want) {
			t.Errorf("sdiag lacks %q:\n%s", want, diag)
		}
	}
	if !regexp.MustCompile(`\tTotal cycles: [1-9]\d*\n`).MatchString(diag) {
		t.Errorf("sdiag counts no scheduler cycles:\n%s", diag)
	}
	conf := c.must("scontrol", "show", "config")
	if !strings.HasPrefix(conf, "Configuration data as of ") || !strings.Contains(conf, "SlurmctldHost[0]        = c1(") {
		t.Errorf("scontrol show config =\n%s", conf)
	}
}
