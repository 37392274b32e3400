//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// TestE2EHostAndContainerJobsComplete: a plain host script and a script in a
// container built from an OCI archive both go PD/R -> COMPLETED with 0:0, and
// their output files hold what they printed.
func TestE2EHostAndContainerJobsComplete(t *testing.T) {
	c := newCluster(t, clusterOpts{})

	host := c.writeScript("host.sh", "#!/bin/sh\n#SBATCH -J hostjob\n#SBATCH -o host-%j.out\necho hello from $SLURM_JOB_NAME job $SLURM_JOB_ID on $SLURMD_NODENAME\n")
	hostID := c.sbatch(host)

	ctr := c.writeScript("ctr.sh", "#!/bin/sh\n#SBATCH -J ctrjob\n#SBATCH --container-image=oci-archive:"+e2e.imageOCI+"\n#SBATCH -o ctr-%j.out\necho hello from a container; cat /etc/fairway-test-image\n")
	ctrID := c.sbatch(ctr)

	dockerID := c.sbatch("-J", "dockerjob", "--container-image=docker-archive:"+e2e.imageDocker, "-o", "docker-%j.out", "--wrap", "echo docker archive ok")

	// squeue shows them while they are pending or running.
	out := c.must("squeue", "-h", "-o", "%i %j %t", "-j", hostID+","+ctrID+","+dockerID)
	for _, id := range []string{hostID, ctrID, dockerID} {
		if !strings.Contains(out, id+" ") && c.state(id) != "COMPLETED" {
			t.Errorf("squeue does not list job %s while active:\n%s", id, out)
		}
	}

	for _, id := range []string{hostID, ctrID, dockerID} {
		c.waitState(id, "COMPLETED", 120*time.Second)
		rows := c.sacctRows(id)
		if len(rows) != 1 || rows[0] != id+"|COMPLETED|0:0|node1" {
			t.Errorf("sacct for job %s = %q, want one row %q", id, rows, id+"|COMPLETED|0:0|node1")
		}
	}

	wantFile(t, filepath.Join(c.workDir, "host-"+hostID+".out"), "hello from hostjob job "+hostID+" on node1\n")
	wantFile(t, filepath.Join(c.workDir, "ctr-"+ctrID+".out"), "hello from a container\nfairway test image\n")
	wantFile(t, filepath.Join(c.workDir, "docker-"+dockerID+".out"), "docker archive ok\n")
	// The node daemon removes a finished job's container once its end is reported.
	c.waitFor("finished jobs' containers removed", 30*time.Second, func() bool { return len(c.containers()) == 0 })

	// Finished jobs leave squeue's default view but stay in sacct.
	// (squeue -j ID still shows it, as Slurm does while it remembers the job.)
	if out := c.must("squeue", "-h", "-o", "%i"); strings.TrimSpace(out) != "" {
		t.Errorf("squeue still lists finished jobs by default: %q", out)
	}
	if out := c.must("squeue", "-h", "-o", "%i %T", "-j", hostID); strings.TrimSpace(out) != hostID+" COMPLETED" {
		t.Errorf("squeue -j %s = %q, want the job COMPLETED", hostID, out)
	}
}

func wantFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("output file: %v", err)
		return
	}
	if string(got) != want {
		t.Errorf("%s = %q, want %q", filepath.Base(path), got, want)
	}
}

// TestE2EFailureTimeoutCancel: a failing job ends FAILED with its exit code; a
// job past its time limit ends TIMEOUT; scancel of running jobs leaves no
// container or process behind.
func TestE2EFailureTimeoutCancel(t *testing.T) {
	c := newCluster(t, clusterOpts{})

	failID := c.sbatch("-J", "fails", "--wrap", "echo about to fail; exit 3")
	timeoutID := c.sbatch("-J", "slow", "-t", "0:03", "--wrap", "sleep 300")
	c.waitState(failID, "FAILED", 60*time.Second)
	if rows := c.sacctRows(failID); len(rows) != 1 || rows[0] != failID+"|FAILED|3:0|node1" {
		t.Errorf("sacct of failing job = %q, want %q", rows, failID+"|FAILED|3:0|node1")
	}
	c.waitState(timeoutID, "TIMEOUT", 90*time.Second)

	marker := fmt.Sprintf("sleep %d", 3000+os.Getpid()%1000) // unique among this machine's processes
	hostID := c.sbatch("-J", "hostsleep", "--wrap", marker)
	ctrID := c.sbatch("-J", "ctrsleep", "--container-image=oci-archive:"+e2e.imageOCI, "--wrap", "sleep 300")
	c.waitState(hostID, "RUNNING", 60*time.Second)
	c.waitState(ctrID, "RUNNING", 60*time.Second)
	c.waitFor("the container job's task to run", 60*time.Second, func() bool { return len(c.containers()) > 0 })
	c.waitFor("the host job's process to run", 30*time.Second, func() bool { return processesMatching(marker) > 0 })

	c.must("scancel", hostID, ctrID)
	c.waitState(hostID, "CANCELLED", 60*time.Second)
	c.waitState(ctrID, "CANCELLED", 60*time.Second)
	c.waitFor("no container left", 30*time.Second, func() bool { return len(c.containers()) == 0 })
	c.waitFor("no host job process left", 30*time.Second, func() bool { return processesMatching(marker) == 0 })
}

// containers lists the node daemon's containers through containerd's own CLI.
func (c *cluster) containers() []string {
	out, err := exec.Command("ctr", "-a", e2e.containerd, "-n", c.ns, "containers", "ls", "-q").Output()
	if err != nil {
		c.t.Fatalf("ctr containers ls: %v", err)
	}
	return strings.Fields(string(out))
}

// processesMatching counts live processes whose command line contains s.
func processesMatching(s string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), s) {
			n++
		}
	}
	return n
}

// TestE2ENodedKilledMidJob: kill -9 of the node daemon while jobs run, then a
// restart: the jobs finish and each end is reported exactly once.
func TestE2ENodedKilledMidJob(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	hostID := c.sbatch("-J", "survivor", "-o", "survivor.out", "--wrap", "echo started; sleep 4; echo survived")
	ctrID := c.sbatch("-J", "ctrsurvivor", "-o", "ctrsurvivor.out", "--container-image=oci-archive:"+e2e.imageOCI, "--wrap", "echo started; sleep 4; echo survived too")
	c.waitState(hostID, "RUNNING", 60*time.Second)
	c.waitState(ctrID, "RUNNING", 60*time.Second)
	// Both really started on the node (a daemon killed while it launches a
	// run reports it lost when it comes back).
	c.waitFor("both jobs started", 60*time.Second, func() bool {
		a, _ := os.ReadFile(filepath.Join(c.workDir, "survivor.out"))
		b, _ := os.ReadFile(filepath.Join(c.workDir, "ctrsurvivor.out"))
		return strings.HasPrefix(string(a), "started") && strings.HasPrefix(string(b), "started")
	})

	c.noded.kill9()
	// Both jobs end while the daemon is down, within its lease (10 s from
	// its last heartbeat, at most 3 s before the kill): no fencing.
	time.Sleep(6 * time.Second)
	c.noded.start()

	for _, id := range []string{hostID, ctrID} {
		c.waitState(id, "COMPLETED", 90*time.Second)
		if rows := c.sacctRows(id); len(rows) != 1 || rows[0] != id+"|COMPLETED|0:0|node1" {
			t.Errorf("sacct of job %s after noded restart = %q, want exactly one COMPLETED run", id, rows)
		}
	}
	wantFile(t, filepath.Join(c.workDir, "survivor.out"), "started\nsurvived\n")
	wantFile(t, filepath.Join(c.workDir, "ctrsurvivor.out"), "started\nsurvived too\n")
	c.waitFor("containers cleaned up after reattach", 30*time.Second, func() bool { return len(c.containers()) == 0 })
}

// TestE2ECtldKilled: kill -9 of the controller, then a restart: every job it
// acknowledged is still there, in its state.
func TestE2ECtldKilled(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	doneID := c.sbatch("--wrap", "true")
	c.waitState(doneID, "COMPLETED", 60*time.Second)
	var held []string
	for i := 0; i < 20; i++ {
		held = append(held, c.sbatch("-H", "-J", "held", "--wrap", "true"))
	}
	c.ctld.kill9()
	c.ctld.start()
	c.waitFor("controller back", 60*time.Second, func() bool {
		_, _, err := c.run("squeue", "-h")
		return err == nil
	})
	if got := c.state(doneID); got != "COMPLETED" {
		t.Errorf("job %s after controller restart: %q, want COMPLETED", doneID, got)
	}
	out := c.must("squeue", "-h", "-o", "%i %t %R", "-t", "all")
	for _, id := range held {
		if !strings.Contains(out, id+" PD (JobHeldUser)") {
			t.Errorf("held job %s missing or changed after controller restart:\n%s", id, out)
		}
	}
	// The cluster keeps working: a released job runs.
	c.must("scontrol", "release", held[0])
	c.waitState(held[0], "COMPLETED", 60*time.Second)
}

// TestE2ENodeStopsHeartbeating: a node that stops heartbeating is marked DOWN;
// its requeueable job goes back to PENDING, a --no-requeue job ends NODE_FAIL.
func TestE2ENodeStopsHeartbeating(t *testing.T) {
	// The node's lease (7 s, over two 3 s heartbeats) and fence grace (1 s)
	// run out before it is declared DOWN (11 s > 7 + 1 + 2 s of kill wait).
	c := newCluster(t, clusterOpts{nodeDownAfter: "11s",
		clusterConfig: writeClusterConfig(t, api.ClusterConfig{
			Partitions:    []api.Partition{{Name: "main", Default: true, DefaultTimeSecs: 3600, PreemptMode: api.PreemptRequeue}},
			NodeLeaseSecs: 7, FenceGraceSecs: 1,
		})})
	const marker = "sleep 3017" // the jobs' processes, by command line
	reqID := c.sbatch("-J", "requeueme", "-c", "1", "--wrap", marker)
	noReqID := c.sbatch("-J", "noreq", "-c", "1", "--no-requeue", "--wrap", marker)
	c.waitState(reqID, "RUNNING", 60*time.Second)
	c.waitState(noReqID, "RUNNING", 60*time.Second)
	c.waitFor("both jobs' processes", 60*time.Second, func() bool { return processesMatching(marker) == 2 })

	c.noded.kill9()
	c.waitFor("node1 DOWN in sinfo", 60*time.Second, func() bool {
		out, _, err := c.run("sinfo", "-N", "-h", "-o", "%N %t")
		return err == nil && strings.Contains(out, "node1 down")
	})
	// The node's fence, which outlives the killed daemon, stopped the jobs
	// before the controller declared the node DOWN and requeued them.
	if n := processesMatching(marker); n != 0 {
		t.Errorf("%d job processes still run on the node declared DOWN: not fenced", n)
	}
	c.waitState(reqID, "PENDING", 30*time.Second)
	c.waitState(noReqID, "NODE_FAIL", 30*time.Second)
	if got := c.job(reqID)["restart_count"]; got != float64(1) {
		t.Errorf("requeued job restart_count = %v, want 1", got)
	}
	// The restarted daemon reports the fenced runs and stops nothing that
	// is not its own; the requeued job runs again.
	c.noded.start()
	c.waitState(reqID, "RUNNING", 60*time.Second)
	c.must("scancel", reqID)
	c.waitState(reqID, "CANCELLED", 60*time.Second)
}

// TestE2EBadInputChangesNothing: bad input is refused with a message naming the
// field, and nothing is submitted.
func TestE2EBadInputChangesNothing(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	malformed := c.writeScript("malformed.sh", "#!/bin/sh\n#SBATCH --nodes\necho hi\n")
	cases := []struct {
		name string
		args []string
		want string // must appear in stderr
	}{
		{"unknown partition", []string{"-p", "nosuch", "--wrap", "true"}, "nosuch"},
		{"negative memory", []string{"--mem=-5", "--wrap", "true"}, "--mem"},
		{"bad time", []string{"--time=abc", "--wrap", "true"}, "--time"},
		{"bad gres", []string{"--gres=gpu:x", "--wrap", "true"}, "--gres"},
		{"malformed directive", []string{malformed}, "line 2"},
		{"missing image", []string{"--container-image=oci-archive:/nonexistent/image.tar", "--wrap", "true"}, "/nonexistent/image.tar"},
	}
	before := c.must("squeue", "-h", "-t", "all")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := c.run("sbatch", tc.args...)
			if err == nil {
				t.Fatalf("sbatch %v succeeded: %s", tc.args, out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("sbatch %v: stderr %q does not mention %q", tc.args, errOut, tc.want)
			}
		})
	}
	_, errOut, err := c.run("scancel", "99999")
	if err == nil || !strings.Contains(errOut, "Invalid job id") {
		t.Errorf("scancel of unknown id: err=%v stderr=%q, want an Invalid job id error", err, errOut)
	}
	if after := c.must("squeue", "-h", "-t", "all"); after != before {
		t.Errorf("bad input changed the queue:\nbefore: %q\nafter:  %q", before, after)
	}
}

// TestE2ESrunStepsInsideBatchJob: srun inside a batch job runs its tasks on the
// allocation with Slurm's per-task variables, per-task output files, and its
// exit code is the step's; scontrol show job and sacct see the job.
func TestE2ESrunStepsInsideBatchJob(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	script := c.writeScript("steps.sh", `#!/bin/sh
#SBATCH -J steps
#SBATCH -n 2
#SBATCH -o steps.out
srun -n 2 -o step-%j-%t.out sh -c 'echo task $SLURM_PROCID of $SLURM_NTASKS step $SLURM_STEP_ID'
srun -n 1 sh -c 'exit 7'
echo second step exited $?
`)
	id := c.sbatch(script)
	c.waitState(id, "COMPLETED", 60*time.Second)
	wantFile(t, filepath.Join(c.workDir, "step-"+id+"-0.out"), "task 0 of 2 step 0\n")
	wantFile(t, filepath.Join(c.workDir, "step-"+id+"-1.out"), "task 1 of 2 step 0\n")
	// As in Slurm, srun reports the failed task on stderr (the same file here).
	wantFile(t, filepath.Join(c.workDir, "steps.out"), "srun: error: node1: task 0: Exited with exit code 7\nsecond step exited 7\n")
	if out := c.must("scontrol", "show", "job", id); !strings.Contains(out, "JobState=COMPLETED") || !strings.Contains(out, "NumTasks=2") {
		t.Errorf("scontrol show job %s:\n%s", id, out)
	}
}

// TestE2EScancelSignal: scancel --signal delivers the signal to the running
// job without stopping it (host and container jobs alike).
func TestE2EScancelSignal(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	script := "trap 'echo got USR1' USR1; echo ready; while :; do sleep 1; done"
	hostID := c.sbatch("-J", "sighost", "-o", "sighost.out", "--wrap", script)
	ctrID := c.sbatch("-J", "sigctr", "-o", "sigctr.out", "--container-image=oci-archive:"+e2e.imageOCI, "--wrap", script)
	for _, j := range []struct{ id, out string }{{hostID, "sighost.out"}, {ctrID, "sigctr.out"}} {
		c.waitState(j.id, "RUNNING", 60*time.Second)
		c.waitFor("job "+j.id+" ready", 30*time.Second, func() bool {
			data, _ := os.ReadFile(filepath.Join(c.workDir, j.out))
			return strings.Contains(string(data), "ready")
		})
		c.must("scancel", "--signal=USR1", j.id)
		c.waitFor("job "+j.id+" to get USR1", 30*time.Second, func() bool {
			data, _ := os.ReadFile(filepath.Join(c.workDir, j.out))
			return strings.Contains(string(data), "got USR1")
		})
		if st := c.state(j.id); st != "RUNNING" {
			t.Errorf("job %s after scancel --signal: %s, want still RUNNING", j.id, st)
		}
		c.must("scancel", j.id)
		c.waitState(j.id, "CANCELLED", 60*time.Second)
	}
}

// TestE2EOutputPatterns: the controller expands Slurm's filename patterns
// once, when the job starts, and the node writes the stored path as it is:
// %% is a literal %, a backslash turns expansion off, %N is the node, %4j
// is zero-padded; scontrol show job names the file the node wrote.
func TestE2EOutputPatterns(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	tests := []struct {
		pattern string
		file    func(id string) string
	}{
		{"x%%j.log", func(string) string { return "x%j.log" }},
		{`raw\%j.out`, func(string) string { return "raw%j.out" }},
		{"n-%N-%6j.out", func(id string) string { return fmt.Sprintf("n-node1-%06s.out", id) }},
	}
	for i, tt := range tests {
		text := fmt.Sprintf("pattern %d", i)
		id := c.sbatch("-o", tt.pattern, "--wrap", "echo "+text)
		c.waitState(id, "COMPLETED", 60*time.Second)
		path := filepath.Join(c.workDir, tt.file(id))
		wantFile(t, path, text+"\n")
		show := c.must("scontrol", "show", "job", id)
		if !strings.Contains(show, " StdOut="+path+"\n") && !strings.Contains(show, " StdOut="+path+" ") {
			t.Errorf("sbatch -o %q: scontrol show job %s does not name %s:\n%s", tt.pattern, id, path, show)
		}
	}
}
