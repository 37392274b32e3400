package raftstore

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

// contents is everything a State holds, for comparisons.
type contents struct {
	Index       uint64
	NextJobID   api.JobID
	Config      api.ClusterConfig
	Jobs        []*api.Job
	Nodes       []*api.Node
	Controllers []Controller
	Usage       map[string]float64
	UsageAt     int64
	Preemptions []api.PreemptionTotal
}

func stateContents(st *State) contents {
	usage, at := st.Usage()
	return contents{
		Index: st.Index(), NextJobID: st.NextJobID(), Config: st.Config(),
		Jobs: st.Jobs(), Nodes: st.Nodes(), Controllers: st.Controllers(),
		Usage: usage, UsageAt: at, Preemptions: st.PreemptionTotals(),
	}
}

// bufSink is an in-memory raft.SnapshotSink.
type bufSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *bufSink) ID() string    { return "test" }
func (s *bufSink) Close() error  { s.closed = true; return nil }
func (s *bufSink) Cancel() error { s.cancelled = true; return nil }

// snapshot persists the fsm's current state and returns the bytes.
func snapshot(t *testing.T, f *fsm) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink bufSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v, want closed only", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

// commandLog drives an fsm through a random but reproducible workload —
// submissions, plans built from the current state, events, cancels, holds,
// requeues, node failures, expiry — and returns the raft log it applied,
// setup included, n entries in all.
func commandLog(t *testing.T, seed uint64, n int) []*raft.Log {
	t.Helper()
	h := setup(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	now := int64(cmdNow)
	for len(h.logs) < n {
		now += int64(rng.IntN(30))
		st := h.state()
		var cmd Command
		switch rng.IntN(10) {
		case 0, 1:
			specs := make([]api.JobSpec, 1+rng.IntN(3))
			for i := range specs {
				specs[i] = testSpec(fmt.Sprintf("j%d", rng.IntN(100)))
				specs[i].Hold = rng.IntN(8) == 0
				specs[i].GPUs = rng.IntN(2)
				if rng.IntN(5) == 0 {
					specs[i].Array = "0-5%3"
				}
			}
			cmd = SubmitJobs{Now: now, Specs: specs}
		case 2, 3:
			// Starts on random nodes and GPUs: some verify, some do not.
			var p api.Plan
			p.Now = now
			for _, j := range st.ActiveJobs() {
				if j.State != api.JobPending {
					continue
				}
				node := []string{"n1", "n2", "n3", "n4"}[rng.IntN(4)]
				a := api.NodeAlloc{Node: node, CPUs: 1 + rng.IntN(3), MemoryMB: int64(rng.IntN(4000))}
				if j.Spec.GPUs > 0 {
					a.GPUs = []int{rng.IntN(4)}
				}
				start := api.Start{JobID: j.ID, Partition: j.Partition, Alloc: []api.NodeAlloc{a}}
				if j.IsArrayRecord() {
					task := j.ArrayPending[rng.IntN(len(j.ArrayPending))]
					start.ArrayTaskID = &task
				}
				p.Starts = append(p.Starts, start)
				p.Pending = append(p.Pending, api.PendingInfo{JobID: j.ID, Reason: api.ReasonResources, Priority: uint32(rng.IntN(1000)), ExpectedStart: now + 100})
			}
			if running := st.JobsOnNode("n1"); len(running) > 0 && rng.IntN(3) == 0 {
				p.Preemptions = []api.Preemption{{JobID: running[0].ID, Reason: "reclaim"}}
			}
			cmd = ApplyPlan{Plan: p}
		case 4, 5, 6:
			var evs []api.JobEvent
			node := []string{"n1", "n2"}[rng.IntN(2)]
			for _, j := range st.JobsOnNode(node) {
				kind := []api.JobEventKind{api.EventStarted, api.EventExited, api.EventExited, api.EventLaunchFail, api.EventLost}[rng.IntN(5)]
				evs = append(evs, api.JobEvent{JobID: j.ID, Run: j.RestartCount - rng.IntN(2), Kind: kind, ExitCode: rng.IntN(3), OOM: rng.IntN(4) == 0})
			}
			cmd = JobEvents{Now: now, Node: node, Events: evs}
		case 7:
			id := api.JobID(1 + rng.IntN(int(st.NextJobID())))
			if running := st.JobsOnNode("n1"); len(running) > 0 && rng.IntN(2) == 0 {
				id = running[rng.IntN(len(running))].ID
			}
			task := rng.IntN(6)
			cmd = []Command{
				CancelJob{Now: now, ID: id}, HoldJob{ID: id}, ReleaseJob{ID: id}, RequeueJob{Now: now, ID: id},
				KillJob{Now: now, ID: id, Kill: api.KillRequest{State: api.JobTimeout}},
				CancelJob{Now: now, ID: id, Task: &task},
			}[rng.IntN(6)]
		case 8:
			node := []string{"n1", "n2", "n3"}[rng.IntN(3)]
			if rng.IntN(2) == 0 {
				cmd = MarkNodeDown{Now: now, Node: node, Reason: "test"}
			} else {
				n, _ := st.Node(node)
				cmd = RegisterNode{Now: now, Req: api.RegisterNodeRequest{Name: node, Addr: n.Addr, Resources: n.Resources, Partitions: n.Partitions}}
			}
		case 9:
			cmd = []Command{
				ExpireJobs{Now: now, Before: now - 200},
				SetControllerAddr{ID: fmt.Sprintf("c%d", rng.IntN(3)), HTTPAddr: fmt.Sprintf("10.0.0.%d:6817", rng.IntN(9))},
				AccrueUsage{Now: now},
			}[rng.IntN(3)]
		}
		h.apply(cmd) // errors (conflicts, not found) are part of the workload
	}
	return h.logs
}

func TestDeterminism(t *testing.T) {
	log := commandLog(t, 3, 500)
	a, b := newHarness(t), newHarness(t)
	seen := map[api.JobState]bool{}
	for _, l := range log {
		a.f.Apply(l)
		b.f.Apply(l)
		for _, j := range a.state().Jobs() {
			seen[j.State] = true
			for _, r := range j.Runs {
				seen[r.State] = true
			}
		}
	}
	if diff := cmp.Diff(stateContents(a.state()), stateContents(b.state())); diff != "" {
		t.Fatalf("two replicas applying the same log differ (-a +b):\n%s", diff)
	}
	if sa, sb := snapshot(t, a.f), snapshot(t, b.f); !bytes.Equal(sa, sb) {
		t.Errorf("snapshots of two replicas differ")
	}
	// The workload must have gone through the interesting states, run job
	// arrays and accrued usage.
	arrayTasks := 0
	for _, j := range a.state().Jobs() {
		if j.IsArrayTask() {
			arrayTasks++
		}
	}
	if arrayTasks == 0 {
		t.Errorf("workload started no job array task")
	}
	if usage, _ := a.state().Usage(); len(usage) == 0 {
		t.Errorf("workload accrued no usage")
	}
	for _, s := range []api.JobState{api.JobPending, api.JobRunning, api.JobCompleted, api.JobFailed, api.JobCancelled, api.JobNodeFail, api.JobRequeued, api.JobPreempted, api.JobTimeout, api.JobOutOfMemory} {
		if !seen[s] {
			t.Errorf("workload never reached %s", s)
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	log := commandLog(t, 11, 300)
	full := newHarness(t)
	for _, l := range log {
		full.f.Apply(l)
	}
	for _, cut := range []int{0, 9, len(log) / 2, len(log)} {
		t.Run(fmt.Sprintf("snapshot at %d of %d", cut, len(log)), func(t *testing.T) {
			src := newHarness(t)
			for _, l := range log[:cut] {
				src.f.Apply(l)
			}
			data := snapshot(t, src.f)
			dst := newHarness(t)
			dst.must(SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("overwritten")}})
			if err := dst.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(stateContents(src.state()), stateContents(dst.state())); diff != "" {
				t.Fatalf("restored state differs (-snapshotted +restored):\n%s", diff)
			}
			if again := snapshot(t, dst.f); !bytes.Equal(data, again) {
				t.Errorf("snapshot of the restored state differs from the original snapshot")
			}
			// A follower restoring the snapshot and applying the rest of
			// the log ends where the others are.
			for _, l := range log[cut:] {
				dst.f.Apply(l)
			}
			if diff := cmp.Diff(stateContents(full.state()), stateContents(dst.state())); diff != "" {
				t.Errorf("restored then replayed state differs (-full +restored):\n%s", diff)
			}
		})
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	h := setup(t)
	before := stateContents(h.state())
	for _, data := range []string{"", "{", `{"version": 99}`} {
		if err := h.f.Restore(io.NopCloser(bytes.NewReader([]byte(data)))); err == nil {
			t.Errorf("Restore(%q) succeeded", data)
		}
	}
	if diff := cmp.Diff(before, stateContents(h.state())); diff != "" {
		t.Errorf("failed restores changed the state (-before +after):\n%s", diff)
	}
}
