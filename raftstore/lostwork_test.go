package raftstore

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// lostSetup registers n1 (8 CPUs, 4 GPUs) and starts, at cmdNow, job 1
// (account ml, 2 GPUs) and job 2 (account ml, no GPU); job 3 (account cv,
// 1 GPU) stays pending.
func lostSetup(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.must(SetConfig{Config: testConfig()})
	h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
		Name: "n1", Addr: "10.0.0.1:6820", Partitions: []string{"gpu"},
		Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1", "GPU-2", "GPU-3")},
	}})
	two, none, other := testSpec("two"), testSpec("none"), testSpec("other")
	two.GPUs, two.Account = 2, "ml"
	none.Account = "ml"
	other.Account, other.GPUs = "cv", 1
	h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{two, none, other}})
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{0, 1}}}},
		{JobID: 2, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
	}}})
	return h
}

func TestRecordCheckpoint(t *testing.T) {
	h := lostSetup(t)
	h.must(RecordCheckpoint{Now: cmdNow + 100, ID: 1})
	j, _ := h.state().Job(1)
	if j.LastCheckpoint != cmdNow+100 || j.Kill != nil || j.State != api.JobRunning {
		t.Errorf("after a checkpoint outside a grace time: last checkpoint %d, kill %+v, state %s; want %d, no kill, RUNNING",
			j.LastCheckpoint, j.Kill, j.State, cmdNow+100)
	}
	h.must(RecordCheckpoint{Now: cmdNow + 200, ID: 1})
	if j, _ := h.state().Job(1); j.LastCheckpoint != cmdNow+200 {
		t.Errorf("second checkpoint: last checkpoint %d, want %d", j.LastCheckpoint, cmdNow+200)
	}

	// Refused: a pending job, a finished one, an unknown one. The error
	// names the job's state, and nothing changes.
	h.must(JobEvents{Now: cmdNow + 300, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}})
	before := stateContents(h.state())
	for _, tc := range []struct {
		id   api.JobID
		want error
		msg  string
	}{
		{3, ErrConflict, "job 3 is PENDING"},
		{2, ErrConflict, "job 2 is COMPLETED"},
		{9, ErrNotFound, "job 9 not found"},
	} {
		_, err := h.apply(RecordCheckpoint{Now: cmdNow + 400, ID: tc.id})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("RecordCheckpoint of job %d: %v, want %v saying %q", tc.id, err, tc.want, tc.msg)
		}
	}
	after := stateContents(h.state())
	before.Index, after.Index = 0, 0
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("refused checkpoints changed the state (-before +after):\n%s", diff)
	}
}

// TestCheckpointEndsGrace: a checkpoint recorded while the job is being
// stopped ends its grace time as EndGrace does, and EndGrace (and scontrol
// requeue of a job being requeued) records the checkpoint.
func TestCheckpointEndsGrace(t *testing.T) {
	type got struct {
		LastCheckpoint int64
		EndGrace       bool
		EndGraceAt     int64
	}
	tests := []struct {
		name string
		cmd  Command
	}{
		{"RecordCheckpoint", RecordCheckpoint{Now: cmdNow + 50, ID: 1}},
		{"EndGrace", EndGrace{Now: cmdNow + 50, ID: 1}},
		{"RequeueJob of a job being requeued", RequeueJob{Now: cmdNow + 50, ID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := lostSetup(t)
			h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 10, Preemptions: []api.Preemption{{JobID: 1, Reason: "reclaim", For: 3}}}})
			h.must(tt.cmd)
			j, _ := h.state().Job(1)
			if j.Kill == nil {
				t.Fatalf("job 1 has no kill request")
			}
			want := got{cmdNow + 50, true, cmdNow + 50}
			if diff := cmp.Diff(want, got{j.LastCheckpoint, j.Kill.EndGrace, j.Kill.EndGraceAt}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLostWork: a run ended by a plan's preemption records the GPU time
// since the job's last checkpoint (or the run's start), and the totals per
// account and reason count the preemption and add the loss.
func TestLostWork(t *testing.T) {
	tests := []struct {
		name string
		// before runs between the start (cmdNow) and the preemption at
		// cmdNow+100; during between the preemption and the exit at
		// cmdNow+130.
		before, during []Command
		job            api.JobID
		wantLost       int64
	}{
		{"never checkpointed: 2 GPUs x 130 s", nil, nil, 1, 2 * 130},
		{"checkpointed at +60: 2 GPUs x 70 s", []Command{RecordCheckpoint{Now: cmdNow + 60, ID: 1}}, nil, 1, 2 * 70},
		{"checkpoint done during the grace at +120: 2 GPUs x 10 s", nil, []Command{RecordCheckpoint{Now: cmdNow + 120, ID: 1}}, 1, 2 * 10},
		{"end-grace at +125: 2 GPUs x 5 s", []Command{RecordCheckpoint{Now: cmdNow + 60, ID: 1}}, []Command{EndGrace{Now: cmdNow + 125, ID: 1}}, 1, 2 * 5},
		{"a job without GPUs loses nothing", []Command{}, nil, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := lostSetup(t)
			for _, c := range tt.before {
				h.must(c)
			}
			h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 100, Preemptions: []api.Preemption{{JobID: tt.job, Reason: "reclaim", For: 3}}}})
			if diff := cmp.Diff([]api.PreemptionTotal{{Account: "ml", Reason: "reclaim", Count: 1}}, h.state().PreemptionTotals()); diff != "" {
				t.Errorf("totals once the kill request is applied (-want +got):\n%s", diff)
			}
			for _, c := range tt.during {
				h.must(c)
			}
			h.must(JobEvents{Now: cmdNow + 130, Node: "n1", Events: []api.JobEvent{{JobID: tt.job, Kind: api.EventExited, Signal: 15}}})
			j, _ := h.state().Job(tt.job)
			if j.State != api.JobPending || len(j.Runs) != 1 || j.Runs[0].State != api.JobPreempted {
				t.Fatalf("job %d: state %s, runs %+v; want PENDING after one PREEMPTED run", tt.job, j.State, j.Runs)
			}
			if got := j.Runs[0].LostGPUSecs; got != tt.wantLost {
				t.Errorf("lost GPU-seconds of the run = %d, want %d", got, tt.wantLost)
			}
			want := []api.PreemptionTotal{{Account: "ml", Reason: "reclaim", Count: 1, LostGPUSecs: tt.wantLost}}
			if diff := cmp.Diff(want, h.state().PreemptionTotals()); diff != "" {
				t.Errorf("totals once the run ended (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLostWorkOnlyForPreemptions: runs that end otherwise (their own exit,
// scancel, a time limit, scontrol requeue) lose nothing on record; a
// preempted run whose node goes DOWN, or that its node reports lost
// (fenced), is not counted as lost to the preemption; a checkpoint of an
// earlier run does not reduce a later run's loss.
func TestLostWorkOnlyForPreemptions(t *testing.T) {
	exit := func(now int64, run int) JobEvents {
		return JobEvents{Now: now, Node: "n1", Events: []api.JobEvent{{JobID: 1, Run: run, Kind: api.EventExited, Signal: 15}}}
	}
	t.Run("ends without a preemption", func(t *testing.T) {
		for _, kill := range []Command{
			CancelJob{Now: cmdNow + 100, ID: 1},
			KillJob{Now: cmdNow + 100, ID: 1, Kill: api.KillRequest{State: api.JobTimeout}},
			KillJob{Now: cmdNow + 100, ID: 1, Kill: api.KillRequest{State: api.JobPreempted, Requeue: true}},
			RequeueJob{Now: cmdNow + 100, ID: 1},
		} {
			h := lostSetup(t)
			h.must(kill)
			h.must(exit(cmdNow+130, 0))
			j, _ := h.state().Job(1)
			if j.Runs[0].LostGPUSecs != 0 || h.state().PreemptionTotals() != nil {
				t.Errorf("after %T: run lost %d, totals %+v; want nothing", kill, j.Runs[0].LostGPUSecs, h.state().PreemptionTotals())
			}
		}
	})
	t.Run("node down during the grace time", func(t *testing.T) {
		h := lostSetup(t)
		h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 100, Preemptions: []api.Preemption{{JobID: 1, Reason: "priority", For: 3}}}})
		h.must(MarkNodeDown{Now: cmdNow + 200, Node: "n1", Reason: "no heartbeat", FencedBy: cmdNow + 150})
		// The node comes back and reports the fenced run lost.
		h.must(JobEvents{Now: cmdNow + 300, Node: "n1", Events: []api.JobEvent{{JobID: 1, Kind: api.EventLost, Fenced: true, StoppedAt: cmdNow + 140}}})
		j, _ := h.state().Job(1)
		if len(j.Runs) != 1 || j.Runs[0].LostGPUSecs != 0 || !j.Runs[0].Fenced {
			t.Errorf("runs %+v: want one fenced run that lost nothing to the preemption", j.Runs)
		}
		want := []api.PreemptionTotal{{Account: "ml", Reason: "priority", Count: 1}}
		if diff := cmp.Diff(want, h.state().PreemptionTotals()); diff != "" {
			t.Errorf("totals (-want +got):\n%s", diff)
		}
	})
	t.Run("reported lost (fenced) during the grace time", func(t *testing.T) {
		h := lostSetup(t)
		h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 100, Preemptions: []api.Preemption{{JobID: 1, Reason: "reclaim", For: 3}}}})
		h.must(JobEvents{Now: cmdNow + 130, Node: "n1", Events: []api.JobEvent{{JobID: 1, Kind: api.EventLost, Fenced: true, StoppedAt: cmdNow + 120}}})
		j, _ := h.state().Job(1)
		if len(j.Runs) != 1 || j.Runs[0].LostGPUSecs != 0 {
			t.Errorf("runs %+v: want one run that lost nothing to the preemption", j.Runs)
		}
	})
	t.Run("a checkpoint of the previous run", func(t *testing.T) {
		h := lostSetup(t)
		h.must(RecordCheckpoint{Now: cmdNow + 50, ID: 1})
		h.must(RequeueJob{Now: cmdNow + 60, ID: 1})
		h.must(exit(cmdNow+70, 0))
		h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 100, Starts: []api.Start{
			{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{2, 3}}}},
		}}})
		h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 400, Preemptions: []api.Preemption{{JobID: 1, Reason: "reclaim", For: 3}}}})
		h.must(exit(cmdNow+500, 1))
		j, _ := h.state().Job(1)
		if len(j.Runs) != 2 || j.Runs[0].LostGPUSecs != 0 || j.Runs[1].LostGPUSecs != 2*400 {
			t.Errorf("runs %+v: want the second run to lose 2 GPUs x 400 s since its start", j.Runs)
		}
	})
}

// TestPreemptionTotalsSnapshot: the totals are sorted by account and
// reason, survive a snapshot and its restore, and are not changed by the
// jobs' expiry.
func TestPreemptionTotalsSnapshot(t *testing.T) {
	h := lostSetup(t)
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 10, Starts: []api.Start{
		{JobID: 3, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{2}}}},
	}}})
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 100, Preemptions: []api.Preemption{
		{JobID: 3, Reason: "reclaim", For: 1}, {JobID: 1, Reason: "priority", For: 2}, {JobID: 2, Reason: "reclaim", For: 3},
	}}})
	h.must(JobEvents{Now: cmdNow + 110, Node: "n1", Events: []api.JobEvent{
		{JobID: 1, Kind: api.EventExited}, {JobID: 2, Kind: api.EventExited}, {JobID: 3, Kind: api.EventExited},
	}})
	want := []api.PreemptionTotal{
		{Account: "cv", Reason: "reclaim", Count: 1, LostGPUSecs: 1 * 100},
		{Account: "ml", Reason: "priority", Count: 1, LostGPUSecs: 2 * 110},
		{Account: "ml", Reason: "reclaim", Count: 1},
	}
	if diff := cmp.Diff(want, h.state().PreemptionTotals()); diff != "" {
		t.Fatalf("totals (-want +got):\n%s", diff)
	}
	data := snapshot(t, h.f)
	dst := newHarness(t)
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dst.state().PreemptionTotals()); diff != "" {
		t.Errorf("restored totals (-want +got):\n%s", diff)
	}
	if again := snapshot(t, dst.f); !bytes.Equal(data, again) {
		t.Errorf("snapshot of the restored state differs from the original")
	}
	h.must(CancelJob{Now: cmdNow + 200, ID: 1})
	h.must(CancelJob{Now: cmdNow + 200, ID: 2})
	h.must(CancelJob{Now: cmdNow + 200, ID: 3})
	h.must(ExpireJobs{Now: cmdNow + 1e6, Before: cmdNow + 1e6})
	if n := len(h.state().Jobs()); n != 0 {
		t.Fatalf("%d jobs left after expiry, want none", n)
	}
	if diff := cmp.Diff(want, h.state().PreemptionTotals()); diff != "" {
		t.Errorf("totals after the jobs expired (-want +got):\n%s", diff)
	}
}

// TestKillJobPreemptionCounts: a KillJob preemption for another job counts
// and loses work as a plan's, under the reason "other".
func TestKillJobPreemptionCounts(t *testing.T) {
	h := lostSetup(t)
	h.must(KillJob{Now: cmdNow + 100, ID: 1, Kill: api.KillRequest{State: api.JobPreempted, Requeue: true, For: 3}})
	h.must(JobEvents{Now: cmdNow + 110, Node: "n1", Events: []api.JobEvent{{JobID: 1, Kind: api.EventExited}}})
	want := []api.PreemptionTotal{{Account: "ml", Reason: "other", Count: 1, LostGPUSecs: 2 * 110}}
	if diff := cmp.Diff(want, h.state().PreemptionTotals()); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}
