package raftstore

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// sameMap reports whether two maps are one.
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestInternSharesEnvironments checks that jobs submitted in different
// commands with equal environments and scripts store one copy of them, that
// a job keeps sharing it when it starts, and that a reader's copy of one
// job changes neither the other job nor the stored one.
func TestInternSharesEnvironments(t *testing.T) {
	h := setup(t)
	spec := func() api.JobSpec {
		s := testSpec("env")
		s.Env = map[string]string{"HOME": "/home/ann", "PATH": "/usr/bin:/bin"}
		return s
	}
	a := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec()}}).IDs[0]
	b := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec()}}).IDs[0]
	other := spec()
	other.Env["HOME"] = "/home/bob"
	c := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{other}}).IDs[0]
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: b, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 100}}},
	}}})
	txn := h.f.db.Load().Txn(false)
	ja, jb, jc := getJob(txn, a), getJob(txn, b), getJob(txn, c)
	if jb.State != api.JobRunning {
		t.Fatalf("job %d is %s, want RUNNING", b, jb.State)
	}
	if !sameMap(ja.Spec.Env, jb.Spec.Env) {
		t.Errorf("jobs %d and %d hold separate copies of one environment", a, b)
	}
	if sameMap(ja.Spec.Env, jc.Spec.Env) {
		t.Errorf("jobs %d and %d share a map though their environments differ", a, c)
	}
	if d := cmp.Diff(other.Env, jc.Spec.Env); d != "" {
		t.Errorf("job %d environment (-want +got):\n%s", c, d)
	}
	read, _ := h.state().Job(a)
	read.Spec.Env["HOME"] = "/changed"
	for _, id := range []api.JobID{a, b} {
		if j, _ := h.state().Job(id); j.Spec.Env["HOME"] != "/home/ann" {
			t.Errorf("changing a read copy changed job %d: HOME=%q", id, j.Spec.Env["HOME"])
		}
	}
}

// TestInternBounds checks that the interner forgets what it holds once
// past its bounds, and still answers equal values.
func TestInternBounds(t *testing.T) {
	in := newInterner()
	for i := range internMaxEntries + 10 {
		s := "value-" + strconv.Itoa(i)
		if got := in.str(s); got != s {
			t.Fatalf("str(%q) = %q", s, got)
		}
	}
	if n := len(in.strs) + len(in.envs); n >= internMaxEntries {
		t.Errorf("interner holds %d entries, bound %d", n, internMaxEntries)
	}
}
