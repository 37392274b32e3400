package raftstore_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// BenchmarkApplyPlan10k measures what one scheduling pass's plan costs the
// state machine at issue 15's size: 10,000 starts of 1-GPU jobs, one per
// node, on 10,000 registered nodes (encode as Store.Apply does, decode,
// apply). Every replica applies it, and nothing else is applied meanwhile.
//
//	go test ./raftstore -run '^$' -bench BenchmarkApplyPlan10k -benchtime 3x
func BenchmarkApplyPlan10k(b *testing.B) {
	const nodes = 10_000
	for b.Loop() {
		b.StopTimer()
		l, err := bigstate.Build(bigstate.Mix{Jobs: nodes, Nodes: nodes, Users: 50})
		if err != nil {
			b.Fatal(err)
		}
		starts := make([]api.Start, 0, nodes)
		for i, n := range l.State().Nodes() {
			starts = append(starts, api.Start{JobID: api.JobID(i + 1), Partition: bigstate.Partition, Priority: 1,
				Alloc: []api.NodeAlloc{{Node: n.Name, CPUs: 1, MemoryMB: 1000}}})
		}
		b.StartTimer()
		res, err := l.Apply(raftstore.ApplyPlan{Plan: api.Plan{Now: bigstate.Now + 60, Starts: starts}})
		if err != nil || len(res.IDs) != nodes {
			b.Fatalf("plan: %d started, err %v", len(res.IDs), err)
		}
	}
}
