package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

func TestApplyNodeCommands(t *testing.T) {
	n4 := api.RegisterNodeRequest{
		Name: "n4", Addr: "10.0.0.4:6820", Partitions: []string{"gpu", "cpu"}, BootTime: 900,
		Resources: api.NodeResources{CPUs: 16, MemoryMB: 64000, GPUs: gpus("GPU-40")},
	}
	n4Sick := n4
	n4Sick.Resources.GPUs = gpus("GPU-40")
	n4Sick.Resources.GPUs[0].Healthy, n4Sick.Resources.GPUs[0].HealthReason = false, "XID 79 critical error"
	n1Again := api.RegisterNodeRequest{
		Name: "n1", Addr: "10.0.0.1:6821", Partitions: []string{"gpu"}, BootTime: 1900,
		Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1")},
	}
	tests := []struct {
		name      string
		cmds      []Command
		wantField string
		changes   map[string]func(n *api.Node) // expected changes to each node as read before
		added     []*api.Node
	}{
		{
			name: "setup: n1 is MIXED with its running jobs' usage, n2 and n3 IDLE",
		},
		{
			name: "register adds an IDLE node",
			cmds: []Command{RegisterNode{Now: cmdNow, Req: n4}},
			added: []*api.Node{{
				Name: "n4", Addr: "10.0.0.4:6820", Partitions: []string{"gpu", "cpu"}, BootTime: 900,
				Resources: n4.Resources, State: api.NodeIdle, LastHeartbeat: cmdNow,
			}},
		},
		{
			name: "a node registering an unhealthy GPU gets a reason naming it",
			cmds: []Command{RegisterNode{Now: cmdNow, Req: n4Sick}},
			added: []*api.Node{{
				Name: "n4", Addr: "10.0.0.4:6820", Partitions: []string{"gpu", "cpu"}, BootTime: 900,
				Resources: n4Sick.Resources, State: api.NodeIdle, LastHeartbeat: cmdNow,
				Reason: "gpu 0 unhealthy: XID 79 critical error",
			}},
		},
		{
			name:      "register without a name is rejected",
			cmds:      []Command{RegisterNode{Now: cmdNow, Req: api.RegisterNodeRequest{Addr: "x"}}},
			wantField: "name",
		},
		{
			name: "a DOWN node frees its jobs' resources",
			cmds: []Command{MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "no heartbeat"}},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.State, n.Reason, n.ReasonTime, n.Used = api.NodeDown, "no heartbeat", cmdNow, api.NodeResources{}
			}},
		},
		{
			name: "registering again makes a DOWN node usable and updates it",
			cmds: []Command{
				MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "no heartbeat"},
				RegisterNode{Now: cmdNow, Req: n1Again},
			},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.Addr, n.BootTime, n.LastHeartbeat = "10.0.0.1:6821", 1900, cmdNow
				n.Resources, n.Used, n.State = n1Again.Resources, api.NodeResources{}, api.NodeIdle
			}},
		},
		{
			name: "a node with every GPU in use is ALLOCATED",
			cmds: []Command{
				SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{{Name: "two", GPUs: 2}}},
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
					{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10, GPUs: []int{2, 3}}}},
				}}},
			},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.State = api.NodeAllocated
				n.Used = api.NodeResources{CPUs: 5, MemoryMB: 2010, GPUs: n.Resources.GPUs}
			}},
		},
		{
			name: "a node with every CPU in use is ALLOCATED",
			cmds: []Command{
				SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{{Name: "wide", Partitions: []string{"cpu"}}}},
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
					{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 4, MemoryMB: 10}}},
				}}},
			},
			changes: map[string]func(n *api.Node){"n2": func(n *api.Node) {
				n.State = api.NodeAllocated
				n.Used = api.NodeResources{CPUs: 4, MemoryMB: 10}
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			before := h.state()
			var err error
			for i, c := range tt.cmds {
				_, err = h.apply(c)
				if err != nil && i < len(tt.cmds)-1 {
					t.Fatalf("command %d (%T): %v", i, c, err)
				}
			}
			checkErr(t, err, nil, tt.wantField, "")
			var want []*api.Node
			for _, n := range before.Nodes() {
				if change := tt.changes[n.Name]; change != nil {
					change(n)
				}
				want = append(want, n)
			}
			want = append(want, tt.added...)
			if diff := cmp.Diff(want, h.state().Nodes()); diff != "" {
				t.Errorf("nodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetupNodeUsage(t *testing.T) {
	st := setup(t).state()
	n1, ok := st.Node("n1")
	if !ok {
		t.Fatal("n1 missing")
	}
	wantUsed := api.NodeResources{CPUs: 4, MemoryMB: 2000, GPUs: gpus("GPU-0", "GPU-1", "GPU-2", "GPU-3")[:2]}
	if diff := cmp.Diff(wantUsed, n1.Used); diff != "" {
		t.Errorf("n1 used (-want +got):\n%s", diff)
	}
	states := map[string]api.NodeState{}
	for _, n := range st.Nodes() {
		states[n.Name] = n.State
	}
	want := map[string]api.NodeState{"n1": api.NodeMixed, "n2": api.NodeIdle, "n3": api.NodeIdle}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("node states (-want +got):\n%s", diff)
	}
}

func TestConfigAndControllers(t *testing.T) {
	h := setup(t)
	dup := testConfig()
	dup.Partitions = append(dup.Partitions, api.Partition{Name: "gpu"})
	_, err := h.apply(SetConfig{Config: dup})
	checkErr(t, err, nil, "partitions", `invalid partitions "gpu": partition names must be unique`)
	if diff := cmp.Diff(testConfig(), h.state().Config()); diff != "" {
		t.Errorf("config changed by a rejected SetConfig (-want +got):\n%s", diff)
	}

	next := testConfig()
	next.Partitions[1].State = "DOWN"
	next.Accounts = []api.Account{{Name: "search", Shares: 10, Guarantees: map[string]int{"gpu": 8}}}
	h.must(SetConfig{Config: next})
	if diff := cmp.Diff(next, h.state().Config()); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	h.must(SetControllerAddr{ID: "c2", HTTPAddr: "10.0.0.12:6817"})
	h.must(SetControllerAddr{ID: "c1", HTTPAddr: "10.0.0.11:6817"})
	h.must(SetControllerAddr{ID: "c2", HTTPAddr: "10.0.0.22:6817"})
	_, err = h.apply(SetControllerAddr{HTTPAddr: "x"})
	checkErr(t, err, nil, "id", "")
	want := []Controller{{ID: "c1", HTTPAddr: "10.0.0.11:6817"}, {ID: "c2", HTTPAddr: "10.0.0.22:6817"}}
	if diff := cmp.Diff(want, h.state().Controllers()); diff != "" {
		t.Errorf("controllers (-want +got):\n%s", diff)
	}
}

func TestPartitionDownBlocksStarts(t *testing.T) {
	h := setup(t)
	cfg := testConfig()
	cfg.Partitions[0].State = "DOWN"
	h.must(SetConfig{Config: cfg})
	got := h.must(startJob1(2)).IDs
	if diff := cmp.Diff([]api.JobID{}, got); diff != "" {
		t.Errorf("started (-want +got):\n%s", diff)
	}
}

func TestPartitionNodeList(t *testing.T) {
	// A partition listing its nodes takes those, whatever they registered with.
	h := setup(t)
	cfg := testConfig()
	cfg.Partitions[1].Nodes = []string{"n1"}
	h.must(SetConfig{Config: cfg})
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{{Name: "c", Partitions: []string{"cpu"}}}})
	got := h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 6, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 10}}},
		{JobID: 6, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
	}}}).IDs
	if diff := cmp.Diff([]api.JobID{6}, got); diff != "" {
		t.Errorf("started (-want +got):\n%s", diff)
	}
	if j, _ := h.state().Job(6); j.Alloc[0].Node != "n1" {
		t.Errorf("job 6 runs on %s, want n1", j.Alloc[0].Node)
	}
}
