//go:build e2e

package noded

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// checkpointScript appends "checkpoint" to the file ckpt-log on every USR1
// and runs until killed.
const checkpointScript = `trap 'echo checkpoint >> ckpt-log' USR1
echo ready
while :; do sleep 0.05; done
`

// TestPreemptionGraceEndedByTheJob: a job given 60 s of grace saves its
// checkpoint and says so (Kill.EndGrace); the node goes on with SIGTERM at
// once instead of waiting out the grace time, and counts the grace as ended
// early in its metrics.
func TestPreemptionGraceEndedByTheJob(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "grace-early"
	startNode(t, fc, Config{Name: node, ListenAddr: "127.0.0.1:0"})
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, checkpointScript), node)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "slurm-1.out")) == "ready\n" },
		func() string { return "script did not start" })

	fc.kill(1, api.KillRequest{State: api.JobPreempted, Requeue: true, Signal: "USR1", GraceSecs: 60})
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "ckpt-log")) == "checkpoint\n" },
		func() string { return "the job did not get its checkpoint signal" })
	fc.endGrace(1)
	// The deadline is half the grace time: the node did not wait it out.
	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.Signal != int(syscall.SIGTERM) {
		t.Errorf("exit event = %+v, want killed by SIGTERM", ev)
	}

	var addr string
	fc.mu.Lock()
	addr = fc.registered[node].Addr
	fc.mu.Unlock()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`fairway_noded_preemption_grace_endings_total{how="ended_early",node="grace-early"} 1`,
		`fairway_noded_preemption_grace_seconds_count{kind="granted",node="grace-early"} 1`,
		`fairway_noded_preemption_grace_seconds_sum{kind="granted",node="grace-early"} 60`,
		`fairway_noded_preemption_grace_seconds_count{kind="used",node="grace-early"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestPreemptionSurvivesRestartDuringGrace: the node daemon restarts in the
// middle of a grace time; the new daemon does not signal the job again,
// kills it when the grace time is over and reports its end once.
func TestPreemptionSurvivesRestartDuringGrace(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "grace-restart"
	state := filepath.Join(sharedDir(t), "state")
	n := startNode(t, fc, Config{Name: node, StateDir: state})
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, checkpointScript), node)
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "slurm-1.out")) == "ready\n" },
		func() string { return "script did not start" })
	waitStartAcked(t, state, 1)

	fc.kill(1, api.KillRequest{State: api.JobPreempted, Requeue: true, Signal: "USR1", GraceSecs: 3})
	waitFor(t, eventWait, func() bool { return readFile(t, filepath.Join(work, "ckpt-log")) == "checkpoint\n" },
		func() string { return "the job did not get its checkpoint signal" })
	n.stop(t)
	startNode(t, fc, Config{Name: node, StateDir: state})

	ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
	if ev.Signal != int(syscall.SIGTERM) {
		t.Errorf("exit event = %+v, want killed by SIGTERM after the grace time", ev)
	}
	if got := readFile(t, filepath.Join(work, "ckpt-log")); got != "checkpoint\n" {
		t.Errorf("checkpoint log %q: want the checkpoint signal exactly once", got)
	}
	time.Sleep(300 * time.Millisecond) // a few more job lists and heartbeats
	if diff := cmp.Diff(map[api.JobEventKind]int{api.EventStarted: 1, api.EventExited: 1}, fc.countKinds(1)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSignalBeforeTimeLimit: --signal=USR1@T reaches every process of the
// job T seconds before its time limit; --signal=B:USR1@T the batch script
// only.
func TestSignalBeforeTimeLimit(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "warn"
	startNode(t, fc, Config{Name: node})
	script := `trap 'echo batch >> warned' USR1
sh -c 'trap "echo child >> warned" USR1; while :; do sleep 0.05; done' &
echo ready
while [ ! -e release ]; do sleep 0.05; done
`
	tests := []struct {
		name      string
		batchOnly bool
		want      string
	}{
		{"every process", false, "batch\nchild\n"},
		{"batch script only", true, "batch\n"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := api.JobID(i + 1)
			work := sharedDir(t)
			job := batchJob(id, work, script)
			// Due one second after the start.
			job.TimeLimitSecs = 600
			job.Spec.Signal = &api.Signal{Name: "USR1", AtSeconds: 599, BatchOnly: tc.batchOnly}
			fc.addJob(job, node)
			waitFor(t, eventWait, func() bool { return strings.Contains(readFile(t, filepath.Join(work, "warned")), "batch") },
				func() string { return "the batch script got no warning" })
			if tc.batchOnly {
				time.Sleep(200 * time.Millisecond) // the child would have written by now
			} else {
				waitFor(t, eventWait, func() bool { return strings.Count(readFile(t, filepath.Join(work, "warned")), "\n") == 2 },
					func() string { return "the child got no warning" })
			}
			release(t, work)
			ev := fc.waitEvent(t, id, api.EventExited, eventWait)
			if ev.ExitCode != 0 || ev.Signal != 0 {
				t.Errorf("exit event = %+v, want success: the warning does not end the job", ev)
			}
			got := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(work, "warned"))), "\n")
			want := strings.Split(strings.TrimSpace(tc.want), "\n")
			if diff := cmp.Diff(sortedCopy(want), sortedCopy(got)); diff != "" {
				t.Errorf("processes warned (-want +got):\n%s", diff)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestCheckpointDirectory: every run of a job gets the same checkpoint
// directory, owned by the job's user (a container job has it mounted at the
// same path), and it is removed once the job has finally ended and the
// retention has passed.
func TestCheckpointDirectory(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	fc := newFakeController(t)
	node := "ckpt"
	base := filepath.Join(sharedDir(t), "base")
	startNode(t, fc, Config{Name: node, CheckpointDirBase: base,
		CheckpointRetention: time.Second, CheckpointSweepInterval: 100 * time.Millisecond})
	script := `echo "$FAIRWAY_CHECKPOINT_DIR" > where
echo "run $SLURM_RESTART_COUNT" >> "$FAIRWAY_CHECKPOINT_DIR/state"
cat "$FAIRWAY_CHECKPOINT_DIR/state"
`
	type jobCase struct {
		name   string
		id     api.JobID
		ctrDir string // the controller's CheckpointDir; empty: the node's base
		image  bool
	}
	cases := []jobCase{{"host job under the node's base", 1, "", false}}
	if env.socket != "" && env.noImage == "" {
		cases = append(cases, jobCase{"container job in the controller's directory", 2, filepath.Join(sharedDir(t), "cluster", "2"), true})
	} else {
		t.Logf("no container case: %s%s", env.noContainerd, env.noImage)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := sharedDir(t)
			dir := tc.ctrDir
			if dir == "" {
				dir = filepath.Join(base, tc.id.String())
			}
			out := filepath.Join(work, fmt.Sprintf("slurm-%d.out", tc.id))
			for run := range 2 {
				job := batchJob(tc.id, work, script)
				job.RestartCount = run
				job.CheckpointDir = tc.ctrDir
				if tc.image {
					job.Spec.ContainerImage = "oci-archive:" + env.ociArchive
				}
				fc.addJob(job, node)
				waitFor(t, eventWait, func() bool {
					for _, ev := range fc.eventsOf(tc.id) {
						if ev.Kind == api.EventExited && ev.Run == run {
							return true
						}
					}
					return false
				}, func() string { return fmt.Sprintf("run %d did not end: %+v", run, fc.eventsOf(tc.id)) })
				if run == 0 {
					// Requeued: pending, the directory stays.
					fc.setJob(api.Job{ID: tc.id, State: api.JobPending})
					time.Sleep(300 * time.Millisecond) // a few sweeps
					if _, err := os.Stat(filepath.Join(dir, "state")); err != nil {
						t.Fatalf("checkpoint of the requeued job: %v", err)
					}
				}
			}
			if got := readFile(t, filepath.Join(work, "where")); got != dir+"\n" {
				t.Errorf("FAIRWAY_CHECKPOINT_DIR = %q, want %q", got, dir)
			}
			if got, want := readFile(t, out), "run 0\nrun 0\nrun 1\n"; got != want {
				t.Errorf("output %q, want %q: the second run sees the first run's checkpoint", got, want)
			}
			// The job ended for good (the fake controller marked it
			// COMPLETED): gone after the retention.
			waitFor(t, eventWait, func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) },
				func() string { return fmt.Sprintf("checkpoint directory %s still there after the job ended", dir) })
		})
	}
}

// TestCheckpointDirectoryOwnership: the directory belongs to the job's user
// with mode 0700.
func TestCheckpointDirectoryOwnership(t *testing.T) {
	requireRoot(t)
	base := filepath.Join(sharedDir(t), "base")
	d := &daemon{cfg: Config{StateDir: sharedDir(t), CheckpointDirBase: base}}
	dir := d.checkpointDir(&api.Job{ID: 9})
	for range 2 { // a second run finds it
		if err := d.prepareCheckpointDir(9, dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if dir != filepath.Join(base, "9") || st.Uid != nobody || st.Gid != nobody || fi.Mode().Perm() != 0o700 {
		t.Errorf("checkpoint dir %s: uid %d gid %d mode %v, want %s/9 of nobody with mode 0700", dir, st.Uid, st.Gid, fi.Mode().Perm(), base)
	}
	if err := os.WriteFile(filepath.Join(base, "10"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.prepareCheckpointDir(10, filepath.Join(base, "10"), nobody, nobody); err == nil {
		t.Error("a file in the way of a checkpoint directory was accepted")
	}
}
