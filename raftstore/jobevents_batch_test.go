package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// The controller commits event reports of several nodes as one JobEvents
// whose events name their nodes (ctld's group commit). Applying it leaves
// the same jobs, nodes and usage as one command per report, including an
// event a node sends about a job it does not hold (ignored either way).
func TestJobEventsOfSeveralNodesAsOne(t *testing.T) {
	prepare := func() *harness {
		h := setup(t)
		cpu := testSpec("cpu")
		cpu.Partitions = []string{"cpu"}
		id := h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{cpu}}).IDs[0]
		h.must(ApplyPlan{Plan: api.Plan{Now: setupNow, Starts: []api.Start{
			{JobID: id, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 100}}}}}})
		return h
	}
	reports := []JobEvents{
		{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Run: 0, Kind: api.EventExited, ExitCode: 3}}},
		{Now: cmdNow, Node: "n2", Events: []api.JobEvent{{JobID: 6, Run: 0, Kind: api.EventExited}, {JobID: 5, Run: 0, Kind: api.EventExited}}},
		{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 5, Run: 0, Kind: api.EventLaunchFail, Message: "no image"}}},
	}
	one := prepare()
	for _, r := range reports {
		one.must(r)
	}
	batched := prepare()
	cmd := JobEvents{Now: cmdNow}
	for _, r := range reports {
		for _, ev := range r.Events {
			ev.Node = r.Node
			cmd.Events = append(cmd.Events, ev)
		}
	}
	batched.must(cmd)
	type view struct {
		Jobs  []*api.Job
		Nodes []*api.Node
		Usage map[string]float64
	}
	read := func(h *harness) view {
		st := h.state()
		u, _ := st.Usage()
		return view{st.Jobs(), st.Nodes(), u}
	}
	want := read(one)
	if got := want.Jobs[5].State; got != api.JobCompleted {
		t.Fatalf("job 6 is %s after its exit, want COMPLETED (the test's setup changed?)", got)
	}
	if diff := cmp.Diff(want, read(batched)); diff != "" {
		t.Errorf("state after one command of several nodes' events differs (-one per node +batched):\n%s", diff)
	}
}
