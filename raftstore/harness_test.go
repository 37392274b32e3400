package raftstore

import (
	"io"
	"log/slog"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/hashicorp/raft"
)

// harness drives an fsm directly, as raft would, with consecutive indexes.
type harness struct {
	t    testing.TB
	f    *fsm
	idx  uint64
	logs []*raft.Log // every entry applied, in order
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	f, err := newFSM(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, f: f}
}

// apply encodes the command as Store.Apply would and applies it.
func (h *harness) apply(cmd Command) (ApplyResult, error) {
	h.t.Helper()
	data, err := encodeCommand(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	h.idx++
	l := &raft.Log{Index: h.idx, Type: raft.LogCommand, Data: data}
	h.logs = append(h.logs, l)
	res := h.f.Apply(l).(*applyResult)
	return res.res, res.err
}

// must applies a command that must succeed.
func (h *harness) must(cmd Command) ApplyResult {
	h.t.Helper()
	v, err := h.apply(cmd)
	if err != nil {
		h.t.Fatalf("apply %T: %v", cmd, err)
	}
	return v
}

func (h *harness) state() *State { return h.f.state() }

const (
	setupNow = 1000
	cmdNow   = 2000
)

func boolPtr(b bool) *bool { return &b }

func gpus(uuids ...string) []api.GPU {
	var out []api.GPU
	for i, u := range uuids {
		out = append(out, api.GPU{Index: i, UUID: u, Type: "h100", Minor: i, Healthy: true})
	}
	return out
}

// testConfig has a default gpu partition (30 s preemption grace) and a cpu one.
func testConfig() api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{
			{Name: "gpu", Default: true, GraceSecs: 30, DefMemPerNodeMB: 10},
			{Name: "cpu", DefMemPerNodeMB: 10},
		},
		NodeDownAfterSecs: 60,
		JobRetentionSecs:  3600,
	}
}

func testSpec(name string) api.JobSpec {
	return api.JobSpec{
		Name: name, User: "ann", UID: 1000, GID: 1000,
		Nodes: 1, NTasks: 1, CPUsPerTask: 1,
		Script:  "#!/bin/sh\ntrue\n",
		WorkDir: "/home/ann",
	}
}

// setup builds the small state the command tests start from:
//
//	nodes: n1 (gpu, 8 CPUs, 32000 MB, GPUs 0-3), n2 (cpu, 4 CPUs, 8000 MB),
//	       n3 (gpu, one unhealthy GPU)
//	job 1 PENDING, 1 GPU (stdout pattern %x-%N-%j.out)
//	job 2 RUNNING on n1 (2 CPUs, 1000 MB, GPU 0)
//	job 3 PENDING, held
//	job 4 COMPLETED (ran on n2, ended at setupNow)
//	job 5 RUNNING on n1 (2 CPUs, 1000 MB, GPU 1), not requeueable
func setup(t testing.TB) *harness {
	t.Helper()
	h := newHarness(t)
	h.must(SetConfig{Config: testConfig()})
	h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
		Name: "n1", Addr: "10.0.0.1:6820", Partitions: []string{"gpu"},
		Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1", "GPU-2", "GPU-3")},
	}})
	h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
		Name: "n2", Addr: "10.0.0.2:6820", Partitions: []string{"cpu"},
		Resources: api.NodeResources{CPUs: 4, MemoryMB: 8000},
	}})
	sick := gpus("GPU-30")
	sick[0].Healthy = false
	h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
		Name: "n3", Addr: "10.0.0.3:6820", Partitions: []string{"gpu"},
		Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: sick},
	}})
	pend := testSpec("pend")
	pend.Stdout = "%x-%N-%j.out"
	pend.GPUs = 1
	run := testSpec("run")
	run.GPUs = 1
	held := testSpec("held")
	held.Hold = true
	done := testSpec("done")
	done.Partitions = []string{"cpu"}
	norq := testSpec("norq")
	norq.Requeue = boolPtr(false)
	norq.GPUs = 1
	h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{pend, run, held, done, norq}})
	started := h.must(ApplyPlan{Plan: api.Plan{Now: setupNow, Starts: []api.Start{
		{JobID: 2, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 2, MemoryMB: 1000, GPUs: []int{0}}}},
		{JobID: 4, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 100}}},
		{JobID: 5, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 2, MemoryMB: 1000, GPUs: []int{1}}}},
	}}})
	if got := len(started.IDs); got != 3 {
		t.Fatalf("setup: %d jobs started, want 3", got)
	}
	h.must(JobEvents{Now: setupNow, Node: "n2", Events: []api.JobEvent{{JobID: 4, Run: 0, Kind: api.EventExited}}})
	return h
}
