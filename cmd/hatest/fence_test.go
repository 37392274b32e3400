//go:build e2e

package hatest

import (
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

// Fencing timing of TestFencing: a node whose lease (3 s) runs out stops its
// jobs (2 s of grace, 2 s of kill wait) before the controllers declare it
// DOWN (10 s) and requeue them.
const (
	fenceLeaseSecs = 3
	fenceGraceSecs = 2
	fenceDownAfter = "10s"
	fenceJobs      = 6
)

// runSpan is one run of a job as the run itself recorded it.
type runSpan struct {
	node        string
	start, last time.Time // its start stamp and its last "alive" stamp
}

// TestFencing: a node running 6 jobs is cut off from every controller, has
// its node daemon frozen (SIGSTOP), or killed (SIGKILL). Each time its jobs
// stop within the lease, grace and kill wait, are requeued and run on the
// other node; the runs' own stamps (written to shared storage) show no two
// runs of a job alive at once; no line of the old run lands in the output
// file after the new run's first; and once the node is back nothing of the
// old runs is left and each job's history (sacct) records the old run as
// fenced, ending when it really stopped.
func TestFencing(t *testing.T) {
	cfg := api.ClusterConfig{
		Partitions:    []api.Partition{{Name: "main", Default: true, DefaultTimeSecs: 3600, PreemptMode: api.PreemptRequeue}},
		NodeLeaseSecs: fenceLeaseSecs, FenceGraceSecs: fenceGraceSecs,
	}
	c := newCluster(t, clusterOpts{nodes: 2, cpus: fenceJobs, config: &cfg, nodeDownAfter: fenceDownAfter})
	type fault struct {
		name    string
		inflict func(n *nodeDaemon)
		undo    func(n *nodeDaemon)
	}
	faults := []fault{
		{"cut off from every controller",
			func(n *nodeDaemon) { must(t, n.host.CutAll(t.Context())) },
			func(n *nodeDaemon) { must(t, n.host.Heal(t.Context())) }},
		{"node daemon frozen",
			func(n *nodeDaemon) { must(t, n.proc.Pause()) },
			func(n *nodeDaemon) { must(t, n.proc.Resume()) }},
		{"node daemon killed",
			func(n *nodeDaemon) { must(t, n.proc.Kill(t.Context())) },
			func(n *nodeDaemon) { must(t, n.proc.Restart(t.Context())) }},
	}
	cl := c.client(30*time.Second, 5*time.Second)
	var report []map[string]any
	for round, f := range faults {
		// Each round's jobs write their stamps into a directory of their own.
		dir := filepath.Join(c.dir, fmt.Sprintf("fence-%d", round))
		must(t, os.MkdirAll(dir, 0o777))
		specs := make([]api.JobSpec, fenceJobs)
		for i := range specs {
			specs[i] = fencedJobSpec(dir, c.workDir, fmt.Sprintf("fence%d-%d", round, i))
		}
		ids, err := cl.Submit(t.Context(), specs...)
		if err != nil {
			t.Fatalf("%s: submit: %v", f.name, err)
		}
		// The scheduler packs them: find the node that runs them.
		var victim *nodeDaemon
		oldRun := map[api.JobID]int{}
		c.waitFor(f.name+": every job running and alive", 60*time.Second, func() bool {
			nodes := map[string]bool{}
			for _, id := range ids {
				j, err := cl.Job(t.Context(), id)
				if err != nil || j.State != api.JobRunning || len(j.Alloc) == 0 {
					return false
				}
				nodes[j.Alloc[0].Node] = true
				if _, ok := readSpans(t, dir, id)[j.RestartCount]; !ok {
					return false
				}
				oldRun[id] = j.RestartCount
			}
			if len(nodes) != 1 {
				t.Fatalf("%s: the %d jobs run on %v; the test wants them on one node", f.name, fenceJobs, nodes)
			}
			for _, n := range c.nodes {
				if nodes[n.name] {
					victim = n
				}
			}
			return victim != nil
		})
		t.Logf("%s: %d jobs on %s", f.name, fenceJobs, victim.name)

		faultAt := time.Now()
		f.inflict(victim)
		// Requeued and running elsewhere, the second run alive.
		c.waitFor(f.name+": every job running again on the other node", 90*time.Second, func() bool {
			for _, id := range ids {
				j, err := cl.Job(t.Context(), id)
				if err != nil || j.State != api.JobRunning || j.RestartCount < 1 || j.Alloc[0].Node == victim.name {
					return false
				}
				if spans := readSpans(t, dir, id); spans[oldRun[id]+1].start.IsZero() {
					return false
				}
				// Its first beat is on its stdout too (the stamp comes
				// first: under load the line may lag it).
				out, err := os.ReadFile(filepath.Join(c.workDir, fmt.Sprintf("slurm-%d.out", id)))
				if err != nil || !strings.Contains(string(out), fmt.Sprintf("run %d beat", oldRun[id]+1)) {
					return false
				}
			}
			return true
		})
		requeuedAfter := time.Since(faultAt)
		f.undo(victim)
		c.waitFor(f.name+": "+victim.name+" back", 60*time.Second, func() bool {
			out, _, err := c.run("sinfo", "-N", "-h", "-o", "%N %t")
			return err == nil && strings.Contains(out, victim.name+" idle")
		})

		// No two runs of a job alive at once, by the runs' own stamps; the
		// old runs stopped within lease + grace + kill wait of the fault.
		var stoppedAfter []time.Duration
		var gaps []time.Duration
		for _, id := range ids {
			spans := readSpans(t, dir, id)
			if oldRun[id] != 0 {
				t.Errorf("%s: job %d was in run %d on %s, want its first run: runs were started and ended before", f.name, id, oldRun[id], victim.name)
			}
			old, next := spans[oldRun[id]], spans[oldRun[id]+1]
			if old.node != victim.name || next.node == victim.name {
				t.Errorf("%s: job %d ran on %s then %s, want %s then the other node", f.name, id, old.node, next.node, victim.name)
			}
			if !old.last.Before(next.start) {
				t.Errorf("%s: job %d ran twice at once: run 0 was alive at %s, run 1 started at %s",
					f.name, id, old.last.Format(time.RFC3339Nano), next.start.Format(time.RFC3339Nano))
			}
			gaps = append(gaps, next.start.Sub(old.last))
			stoppedAfter = append(stoppedAfter, old.last.Sub(faultAt))
			checkOutputOrder(t, f.name, filepath.Join(c.workDir, fmt.Sprintf("slurm-%d.out", id)))
		}
		// The old runs' history: fenced, ending when they really stopped.
		c.waitFor(f.name+": the node's report of when its runs stopped", 60*time.Second, func() bool {
			for _, id := range ids {
				j, err := cl.Job(t.Context(), id)
				if err != nil || len(j.Runs) < oldRun[id]+2 || j.Runs[oldRun[id]].EndBound {
					return false
				}
			}
			return true
		})
		for _, id := range ids {
			j, err := cl.Job(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			r, last := j.Runs[oldRun[id]], readSpans(t, dir, id)[oldRun[id]].last
			if !r.Fenced || r.State != api.JobNodeFail || r.EndTime < last.Unix() || r.EndTime > last.Unix()+int64(api.FenceKillWaitSecs)+2 {
				t.Errorf("%s: job %d's fenced run recorded %+v; its last sign of life was %s: want NODE_FAIL, fenced, ending then",
					f.name, id, r, last.Format(time.RFC3339))
			}
		}
		out, _, _ := c.run("sacct", "-j", strconv.FormatUint(uint64(ids[0]), 10), "-D", "-o", "JobID,State,Start,End,NodeList")
		t.Logf("%s: sacct of job %d:\n%s", f.name, ids[0], out)
		// Nothing of the old runs is left on the node that came back.
		c.waitFor(f.name+": no process left of the old runs on "+victim.name, 30*time.Second, func() bool {
			return noJobProcesses(t, "fairway-hatest-"+c.net.ID()+"-"+victim.name)
		})
		for _, id := range ids {
			if err := cl.Cancel(t.Context(), id, ""); err != nil {
				t.Errorf("cancel job %d: %v", id, err)
			}
		}
		slices.Sort(stoppedAfter)
		slices.Sort(gaps)
		t.Logf("%s: old runs last alive %s..%s after the fault (lease %d s + grace %d s + kill wait %d s); requeued and running elsewhere after %s; gap between runs %s..%s",
			f.name, stoppedAfter[0].Round(time.Millisecond), stoppedAfter[len(stoppedAfter)-1].Round(time.Millisecond),
			fenceLeaseSecs, fenceGraceSecs, api.FenceKillWaitSecs, requeuedAfter.Round(time.Millisecond),
			gaps[0].Round(time.Millisecond), gaps[len(gaps)-1].Round(time.Millisecond))
		report = append(report, map[string]any{
			"fault": f.name, "jobs": fenceJobs, "overlapping_runs": 0,
			"old_runs_last_alive_after_fault_ms": []int64{stoppedAfter[0].Milliseconds(), stoppedAfter[len(stoppedAfter)-1].Milliseconds()},
			"running_elsewhere_after_ms":         requeuedAfter.Milliseconds(),
			"gap_between_runs_ms":                []int64{gaps[0].Milliseconds(), gaps[len(gaps)-1].Milliseconds()},
		})
	}
	writeReport(t, report)
}

// fencedJobSpec is a job that records its runs in dir/ID: "start NS RUN
// NODE" once, "alive NS RUN" every 0.2 s for two minutes, and a line per
// beat on its stdout naming its run.
func fencedJobSpec(dir, workDir, name string) api.JobSpec {
	script := fmt.Sprintf(`#!/bin/sh
f=%s/$SLURM_JOB_ID
echo "start $(date +%%s%%N) $SLURM_RESTART_COUNT $SLURMD_NODENAME" >> $f
i=0
while [ $i -lt 600 ]; do
	echo "alive $(date +%%s%%N) $SLURM_RESTART_COUNT" >> $f
	echo "run $SLURM_RESTART_COUNT beat $i"
	sleep 0.2
	i=$((i+1))
done
`, dir)
	return api.JobSpec{Name: name, Nodes: 1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 16, TimeLimitSecs: 600, Script: script, WorkDir: workDir}
}

// readSpans reads a job's stamps: its runs by restart count.
func readSpans(t *testing.T, dir string, id api.JobID) map[int]runSpan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, strconv.FormatUint(uint64(id), 10)))
	if os.IsNotExist(err) {
		return map[int]runSpan{}
	}
	if err != nil {
		t.Fatal(err)
	}
	spans := map[int]runSpan{}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue // a line cut short by a kill
		}
		ns, err1 := strconv.ParseInt(f[1], 10, 64)
		run, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		s := spans[run]
		at := time.Unix(0, ns)
		switch f[0] {
		case "start":
			s.start = at
			if len(f) > 3 {
				s.node = f[3]
			}
		case "alive":
			if at.After(s.last) {
				s.last = at
			}
		}
		spans[run] = s
	}
	return spans
}

// checkOutputOrder fails the test when a line of run 0 follows the first
// line of run 1 in the job's output file: an old run still writing.
func checkOutputOrder(t *testing.T, fault, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: output file: %v", fault, err)
		return
	}
	seenNext := false
	for line := range strings.Lines(string(data)) {
		switch {
		case strings.HasPrefix(line, "run 1 "):
			seenNext = true
		case seenNext && !strings.HasPrefix(line, "run 1 "):
			t.Errorf("%s: %s: %q written after the next run had started", fault, path, strings.TrimSpace(line))
			return
		}
	}
	if !seenNext {
		t.Errorf("%s: %s has no line of the second run", fault, path)
	}
}

// noJobProcesses reports whether no process is left in the job cgroups
// under a node's cgroup parent (every v1 hierarchy is checked through pids).
func noJobProcesses(t *testing.T, parent string) bool {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/pids", parent, "*", "job-*"))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", parent, "*", "job-*"))
	for _, d := range append(dirs, more...) {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err == nil && strings.TrimSpace(string(data)) != "" {
			return false
		}
	}
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
