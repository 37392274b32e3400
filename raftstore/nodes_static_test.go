package raftstore

import (
	"bytes"
	"io"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// The stored-nodes view a submission is checked against stays current
// while jobs start and end, and reports a change when a node registers or
// is drained, or a snapshot replaces the state.
func TestStaticNodesChanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *harness)
		want   bool
	}{
		{"a job submitted", func(h *harness) { h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("x")}}) }, false},
		{"a job started", func(h *harness) {
			h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
				{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{2}}}}}}})
		}, false},
		{"a job ended", func(h *harness) {
			h.must(JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Run: 0, Kind: api.EventExited}}})
		}, false},
		{"a node registered", func(h *harness) {
			h.must(RegisterNode{Now: cmdNow, Req: api.RegisterNodeRequest{Name: "n4", Addr: "10.0.0.4:6820", Partitions: []string{"cpu"},
				Resources: api.NodeResources{CPUs: 2, MemoryMB: 100}}})
		}, true},
		{"a node marked down", func(h *harness) { h.must(MarkNodeDown{Now: cmdNow, Node: "n2", Reason: "test"}) }, true},
		{"a snapshot restored", func(h *harness) {
			data := snapshot(t, h.f)
			if err := h.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t)
			v := h.f.staticNodes()
			var names []string
			for _, n := range v.Nodes {
				names = append(names, n.Name)
			}
			if diff := cmp.Diff([]string{"n1", "n2", "n3"}, names); diff != "" {
				t.Fatalf("nodes (-want +got):\n%s", diff)
			}
			if v.Changed() {
				t.Fatal("Changed before any change")
			}
			tc.change(h)
			if got := v.Changed(); got != tc.want {
				t.Errorf("Changed after %s = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// TestNodesShared: the pass's view of the nodes is the stored rows (a
// drained node DRAIN, a busy node with its registered state and no usage),
// while Nodes derives the state and usage from the running jobs.
func TestNodesShared(t *testing.T) {
	h := setup(t) // jobs run on n1
	h.must(MarkNodeDown{Now: cmdNow, Node: "n2", Reason: "test"})
	type row struct {
		Name  string
		State api.NodeState
		Used  api.NodeResources
	}
	rows := func(nodes []*api.Node) []row {
		var out []row
		for _, n := range nodes {
			out = append(out, row{n.Name, n.State, n.Used})
		}
		return out
	}
	st := h.f.state()
	shared, derived := rows(st.NodesShared()), rows(st.Nodes())
	if shared[0].Used.CPUs != 0 || derived[0].Used.CPUs == 0 {
		t.Errorf("n1's CPUs used: shared %d, derived %d; want none stored and some derived", shared[0].Used.CPUs, derived[0].Used.CPUs)
	}
	for i := range shared {
		if shared[i].Name != derived[i].Name {
			t.Fatalf("node %d: shared %s, derived %s", i, shared[i].Name, derived[i].Name)
		}
		if (shared[i].State == api.NodeDown) != (derived[i].State == api.NodeDown) {
			t.Errorf("%s: stored %s, derived %s: DOWN must agree", shared[i].Name, shared[i].State, derived[i].State)
		}
	}
	if shared[1].State != api.NodeDown {
		t.Errorf("n2 stored as %s, want DOWN", shared[1].State)
	}
}
