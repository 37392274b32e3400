//go:build e2e

package noded

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
)

// TestFencedWhenCutOff: a node that cannot renew its lease stops its jobs
// itself, the checkpoint signal first and a kill after the grace time,
// launches nothing new, and once the controllers answer again reports the
// runs lost and fenced, with when they really stopped.
func TestFencedWhenCutOff(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	fc.mu.Lock()
	fc.lease = api.HeartbeatResponse{LeaseSecs: 2, FenceGraceSecs: 1}
	fc.mu.Unlock()
	node := "fenced"
	startNode(t, fc, Config{Name: node})
	work := sharedDir(t)
	// Job 1 saves a checkpoint on its signal (USR1) and exits; job 2
	// ignores every signal it can and is killed after the grace time.
	checkpointer := batchJob(1, work, `trap 'echo checkpointed >> ckpt-1; exit 0' USR1
echo started > started-1
while :; do sleep 0.1; done
`)
	stubborn := batchJob(2, work, `trap 'date +%s%N > signalled-2.new && mv signalled-2.new signalled-2' USR1
trap '' TERM
echo started > started-2
while :; do date +%s%N > alive-2.new && mv alive-2.new alive-2; sleep 0.1; done
`)
	for _, j := range []api.Job{checkpointer, stubborn} {
		fc.addJob(j, node)
		fc.waitEvent(t, j.ID, api.EventStarted, eventWait)
	}
	waitFor(t, eventWait, func() bool {
		return fileExists(filepath.Join(work, "started-1")) && fileExists(filepath.Join(work, "started-2"))
	}, func() string { return "the jobs did not start" })

	cutAt := time.Now()
	fc.setDown(true)
	parent := "/" + cgroupParent() + "/" + node
	for _, id := range []api.JobID{1, 2} {
		path := fmt.Sprintf("%s/job-%d-0", parent, id)
		waitFor(t, 20*time.Second, func() bool { return cgroupEmpty(path) },
			func() string { return "the run's processes still live with the lease run out: " + path })
	}
	stoppedAfter := time.Since(cutAt)
	if got := readFile(t, filepath.Join(work, "ckpt-1")); got != "checkpointed\n" {
		t.Errorf("job 1's checkpoint file holds %q, want the line its USR1 handler writes", got)
	}
	// Job 2 lived through its grace time after the signal, and no longer.
	signalled, alive := readNanos(t, filepath.Join(work, "signalled-2")), readNanos(t, filepath.Join(work, "alive-2"))
	if lived := alive.Sub(signalled); lived < 800*time.Millisecond {
		t.Errorf("job 2 was last alive %s after its checkpoint signal, want about its 1 s grace time", lived)
	}
	if fc.countKinds(1)[api.EventLost]+fc.countKinds(2)[api.EventLost] != 0 {
		t.Fatal("events reached a controller that answers nothing")
	}

	fc.setDown(false)
	for _, id := range []api.JobID{1, 2} {
		ev := fc.waitEvent(t, id, api.EventLost, eventWait)
		if !ev.Fenced || ev.StoppedAt == 0 || ev.StoppedAt < cutAt.Unix() || !strings.Contains(ev.Message, "lease") {
			t.Errorf("job %d: end event %+v, want lost, fenced, stopped after the cut, saying the lease ran out", id, ev)
		}
	}
	t.Logf("cut off at %s; both runs stopped %s later (lease 2 s, grace 1 s)", cutAt.Format(time.RFC3339Nano), stoppedAfter.Round(10*time.Millisecond))
}

// cgroupEmpty reports whether a cgroup has no process (or is gone).
func cgroupEmpty(path string) bool {
	g, err := cgroups.Load(path)
	if err != nil {
		return true
	}
	pids, err := g.Procs()
	return err != nil || len(pids) == 0
}

// readNanos reads a `date +%s%N` stamp.
func readNanos(t *testing.T, path string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSpace(readFile(t, path)), 10, 64)
	if err != nil {
		t.Fatalf("stamp in %s: %v", path, err)
	}
	return time.Unix(0, n)
}
