package raftstore

import (
	"bytes"
	"io"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestSubmitKeys: a submission retried with its key creates nothing and
// returns the first one's jobs; another user's key is refused; keys survive
// a snapshot and are forgotten after SubmitKeyTTLSecs.
func TestSubmitKeys(t *testing.T) {
	h := setup(t)
	spec := testSpec("keyed")
	first := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec, spec}, Key: "k1"}).IDs
	before := len(h.state().Jobs())
	again := h.must(SubmitJobs{Now: cmdNow + 5, Specs: []api.JobSpec{spec, spec}, Key: "k1"}).IDs
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("retried submission's jobs (-first +again):\n%s", diff)
	}
	if got := len(h.state().Jobs()); got != before {
		t.Errorf("%d jobs after the retry, want %d (no new job)", got, before)
	}
	other := spec
	other.UID = 1001
	if _, err := h.apply(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{other}, Key: "k1"}); err == nil {
		t.Errorf("another user's submission with the key was accepted")
	}

	restored := newHarness(t)
	if err := restored.f.Restore(io.NopCloser(bytes.NewReader(snapshot(t, h.f)))); err != nil {
		t.Fatal(err)
	}
	if got, err := restored.apply(SubmitJobs{Now: cmdNow + 10, Specs: []api.JobSpec{spec}, Key: "k1"}); err != nil || cmp.Diff(first, got.IDs) != "" {
		t.Errorf("after a snapshot restore the key gives %v, %v; want %v", got.IDs, err, first)
	}

	h.must(ExpireJobs{Now: cmdNow + SubmitKeyTTLSecs + 1, Before: 0})
	fresh := h.must(SubmitJobs{Now: cmdNow + SubmitKeyTTLSecs + 2, Specs: []api.JobSpec{spec}, Key: "k1"}).IDs
	if len(fresh) != 1 || fresh[0] == first[0] || fresh[0] == first[1] {
		t.Errorf("after the key expired, the submission got %v, want a new job", fresh)
	}
}
