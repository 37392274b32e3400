package raftstore

import (
	"errors"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

func TestRecordEstimates(t *testing.T) {
	est := func(p50 int64) api.StartEstimate {
		return api.StartEstimate{MadeAt: cmdNow, P50: p50, P90: p50 + 600, Horizon: cmdNow + 86400, Replays: 20, Started: 20}
	}
	first := func(id api.JobID, st *State) *api.StartEstimate {
		j, ok := st.Job(id)
		if !ok {
			t.Fatalf("job %d is gone", id)
		}
		return j.FirstEstimate
	}
	h := setup(t)
	// Job 1 pending (gets it), 2 running (not), 3 pending held (gets it: it
	// may be released), 4 completed (not), 99 unknown (skipped).
	res := h.must(RecordEstimates{Now: cmdNow, Estimates: []JobEstimate{
		{JobID: 1, Estimate: est(cmdNow + 60)}, {JobID: 2, Estimate: est(cmdNow)}, {JobID: 3, Estimate: est(cmdNow + 120)},
		{JobID: 4, Estimate: est(cmdNow)}, {JobID: 99, Estimate: est(cmdNow)},
	}})
	if res.Count != 2 {
		t.Errorf("count = %d, want 2", res.Count)
	}
	st := h.state()
	want1, want3 := est(cmdNow+60), est(cmdNow+120)
	if diff := cmp.Diff(&want1, first(1, st)); diff != "" {
		t.Errorf("job 1 first estimate (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&want3, first(3, st)); diff != "" {
		t.Errorf("job 3 first estimate (-want +got):\n%s", diff)
	}
	for _, id := range []api.JobID{2, 4} {
		if got := first(id, st); got != nil {
			t.Errorf("job %d got a first estimate: %+v", id, got)
		}
	}

	// A later estimate never replaces the first.
	h.must(RecordEstimates{Now: cmdNow + 60, Estimates: []JobEstimate{{JobID: 1, Estimate: est(cmdNow + 999)}}})
	if diff := cmp.Diff(&want1, first(1, h.state())); diff != "" {
		t.Errorf("job 1 first estimate after a second one (-want +got):\n%s", diff)
	}

	// The estimate survives the job's start (and a requeue does not get a new one).
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow + 70, Starts: []api.Start{
		{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{2}}}},
	}}})
	h.must(RequeueJob{Now: cmdNow + 80, ID: 1})
	h.must(JobEvents{Now: cmdNow + 90, Node: "n1", Events: []api.JobEvent{{JobID: 1, Run: 0, Kind: api.EventExited, Signal: 15}}})
	j, _ := h.state().Job(1)
	if j.State != api.JobPending || len(j.Runs) != 1 {
		t.Fatalf("job 1 after requeue: %s with %d runs, want PENDING with 1", j.State, len(j.Runs))
	}
	h.must(RecordEstimates{Now: cmdNow + 100, Estimates: []JobEstimate{{JobID: 1, Estimate: est(cmdNow + 500)}}})
	if diff := cmp.Diff(&want1, first(1, h.state())); diff != "" {
		t.Errorf("requeued job 1 first estimate (-want +got):\n%s", diff)
	}

	// A read copy does not share the stored estimate.
	j, _ = h.state().Job(1)
	j.FirstEstimate.P50 = 1
	if got := first(1, h.state()); got.P50 != want1.P50 {
		t.Errorf("changing a read copy changed the stored estimate: P50 = %d", got.P50)
	}

	if _, err := h.apply(RecordEstimates{Now: cmdNow, Estimates: []JobEstimate{{JobID: 0}}}); !isFieldError(err, "estimates[0].job_id") {
		t.Errorf("job ID 0: err = %v, want a field error naming estimates[0].job_id", err)
	}
}

func TestRecordEstimatesIsIgnorableByOlderReplicas(t *testing.T) {
	data := mustEncode(t, RecordEstimates{Now: 1})
	if data[0] != byte(cmdRecordEstimates)|flagIgnoreUnknown || cmdRecordEstimates != 20 {
		t.Errorf("type byte = %#x, want 20 with the ignore-unknown flag", data[0])
	}
	got, err := decodeCommand(data)
	if err != nil || commandName(got) != "RecordEstimates" {
		t.Errorf("decoded %T, %v", got, err)
	}
}

// isFieldError reports whether err is an *api.FieldError naming field.
func isFieldError(err error, field string) bool {
	var fe *api.FieldError
	return errors.As(err, &fe) && fe.Field == field
}
