package raftstore

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

func i64(v int64) *int64 { return &v }
func iptr(v int) *int    { return &v }
func sptr(v string) *string {
	return &v
}

func TestApplyUpdateJob(t *testing.T) {
	tests := []struct {
		name      string
		pre       []Command // applied first, must succeed
		cmd       UpdateJob
		wantErr   error
		wantField string
		wantMsg   string
		change    func(j *api.Job) // expected change to the job, nil: none
	}{
		{
			name: "a pending job moves to another partition with a new time limit",
			cmd:  UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{Partitions: []string{"cpu"}, TimeLimitSecs: i64(1800)}},
			change: func(j *api.Job) {
				j.Spec.Partitions, j.Partition, j.Spec.TimeLimitSecs = []string{"cpu"}, "cpu", 1800
			},
		},
		{
			name: "priority, nice, dependency, QOS and node count of a pending job",
			cmd: UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{
				Priority: iptr(7), Nice: iptr(10), Dependency: sptr("afterok:4"), QOS: sptr("normal"), Nodes: iptr(2),
			}},
			change: func(j *api.Job) {
				j.Spec.Priority, j.Spec.Nice, j.Spec.Dependency, j.Spec.QOS = 7, 10, "afterok:4", "normal"
				j.Spec.Nodes, j.Spec.NTasks = 2, 2
			},
		},
		{
			name:    "a running job's time limit is lowered (job and spec)",
			cmd:     UpdateJob{Now: cmdNow, ID: 2, Update: api.JobUpdate{TimeLimitSecs: i64(600)}},
			change:  func(j *api.Job) { j.Spec.TimeLimitSecs, j.TimeLimitSecs = 600, 600 },
			wantErr: nil,
		},
		{
			name:   "a relative change starts from the running job's limit",
			cmd:    UpdateJob{Now: cmdNow, ID: 2, Update: api.JobUpdate{TimeLimitDeltaSecs: i64(-1800)}},
			change: func(j *api.Job) { j.Spec.TimeLimitSecs, j.TimeLimitSecs = 1800, 1800 },
		},
		{
			name:      "a relative change below one minute is refused",
			cmd:       UpdateJob{Now: cmdNow, ID: 2, Update: api.JobUpdate{TimeLimitDeltaSecs: i64(-3600)}},
			wantField: "TimeLimit",
		},
		{
			name:    "a running job keeps its partition",
			cmd:     UpdateJob{Now: cmdNow, ID: 2, Update: api.JobUpdate{Partitions: []string{"cpu"}}},
			wantErr: ErrConflict,
			wantMsg: "Job is no longer pending execution: job 2 is RUNNING; only its TimeLimit may change",
		},
		{
			name:    "a finished job changes no more",
			cmd:     UpdateJob{Now: cmdNow, ID: 4, Update: api.JobUpdate{TimeLimitSecs: i64(60)}},
			wantErr: ErrConflict,
		},
		{
			name:    "an unknown job",
			cmd:     UpdateJob{Now: cmdNow, ID: 99, Update: api.JobUpdate{TimeLimitSecs: i64(60)}},
			wantErr: ErrNotFound,
		},
		{
			name:      "an unknown partition names the Partition field and changes nothing",
			cmd:       UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{Partitions: []string{"nope"}, TimeLimitSecs: i64(60)}},
			wantField: "Partition",
		},
		{
			name:      "a time limit beyond the partition's MaxTime names TimeLimit",
			pre:       []Command{UpdatePartition{Update: api.PartitionUpdate{Name: "gpu", MaxTimeSecs: i64(3600)}}},
			cmd:       UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{TimeLimitSecs: i64(7200)}},
			wantField: "TimeLimit",
		},
		{
			name:      "a priority out of range names Priority",
			cmd:       UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{Priority: iptr(500)}},
			wantField: "Priority",
		},
		{
			name:      "a partition that is draining takes no moved jobs",
			pre:       []Command{UpdatePartition{Update: api.PartitionUpdate{Name: "cpu", State: sptr("drain")}}},
			cmd:       UpdateJob{Now: cmdNow, ID: 1, Update: api.JobUpdate{Partitions: []string{"cpu"}}},
			wantField: "Partition",
		},
		{
			name:      "an update naming no field",
			cmd:       UpdateJob{Now: cmdNow, ID: 1},
			wantField: "JobId",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			for _, c := range tt.pre {
				h.must(c)
			}
			before, _ := h.state().Job(tt.cmd.ID)
			_, err := h.apply(tt.cmd)
			checkErr(t, err, tt.wantErr, tt.wantField, tt.wantMsg)
			if before == nil {
				return
			}
			want := copyJob(before)
			if tt.change != nil {
				tt.change(want)
			}
			got, _ := h.state().Job(tt.cmd.ID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("job %d (-want +got):\n%s", tt.cmd.ID, diff)
			}
		})
	}
}

func TestApplyUpdateNodes(t *testing.T) {
	drain := UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "drain", Reason: "replace fan"}}
	tests := []struct {
		name      string
		cmds      []Command
		wantErr   error
		wantField string
		wantIDs   []api.JobID
		changes   map[string]func(n *api.Node)
	}{
		{
			name: "DRAIN keeps the running jobs and records reason, user and time",
			cmds: []Command{drain},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.State, n.Reason, n.ReasonUser, n.ReasonTime = api.NodeDrain, "replace fan", "admin", cmdNow
			}},
		},
		{
			name: "a drained node stays drained, reason and all, when it registers again",
			cmds: []Command{drain, RegisterNode{Now: cmdNow + 5, Req: api.RegisterNodeRequest{
				Name: "n1", Addr: "10.0.0.1:6820", Partitions: []string{"gpu"},
				Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1", "GPU-2", "GPU-3")},
			}}},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.State, n.Reason, n.ReasonUser, n.ReasonTime, n.LastHeartbeat = api.NodeDrain, "replace fan", "admin", cmdNow, cmdNow+5
			}},
		},
		{
			name: "RESUME returns a drained node to service",
			cmds: []Command{drain, UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "RESUME"}}},
		},
		{
			name: "RESUME keeps the reason of a node's unhealthy GPUs",
			cmds: []Command{
				UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n3"}, State: "DRAIN", Reason: "x"}},
				UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n3"}, State: "RESUME"}},
			},
		},
		{
			name:    "DOWN requeues the node's jobs as a lost node does, and an administrator's DOWN survives registration",
			wantIDs: nil,
			cmds: []Command{
				UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "DOWN", Reason: "PSU"}},
				RegisterNode{Now: cmdNow + 5, Req: api.RegisterNodeRequest{
					Name: "n1", Addr: "10.0.0.1:6820", Partitions: []string{"gpu"},
					Resources: api.NodeResources{CPUs: 8, MemoryMB: 32000, GPUs: gpus("GPU-0", "GPU-1", "GPU-2", "GPU-3")},
				}},
			},
			changes: map[string]func(n *api.Node){"n1": func(n *api.Node) {
				n.State, n.Reason, n.ReasonUser, n.ReasonTime, n.LastHeartbeat = api.NodeDown, "PSU", "admin", cmdNow, cmdNow+5
				n.Used = api.NodeResources{}
			}},
		},
		{
			name:      "DRAIN without a reason is refused",
			cmds:      []Command{UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "DRAIN"}}},
			wantField: "Reason",
		},
		{
			name:      "an unknown state",
			cmds:      []Command{UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "FUTURE"}}},
			wantField: "State",
		},
		{
			name:    "an unknown node changes none of the others",
			cmds:    []Command{UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1", "n9"}, State: "DRAIN", Reason: "x"}}},
			wantErr: ErrNotFound,
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
			checkErr(t, err, tt.wantErr, tt.wantField, "")
			var want []*api.Node
			for _, n := range before.Nodes() {
				if change := tt.changes[n.Name]; change != nil {
					change(n)
				}
				want = append(want, n)
			}
			if diff := cmp.Diff(want, h.state().Nodes()); diff != "" {
				t.Errorf("nodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateNodesDownRequeues(t *testing.T) {
	h := setup(t)
	res := h.must(UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "DOWN", Reason: "PSU"}})
	if diff := cmp.Diff([]api.JobID{2, 5}, res.IDs); diff != "" {
		t.Errorf("affected jobs (-want +got):\n%s", diff)
	}
	got := map[api.JobID]api.JobState{}
	for _, id := range []api.JobID{2, 5} {
		j, _ := h.state().Job(id)
		got[id] = j.State
	}
	// Job 2 is requeued; job 5 may not be, and ends NODE_FAIL.
	if diff := cmp.Diff(map[api.JobID]api.JobState{2: api.JobPending, 5: api.JobNodeFail}, got); diff != "" {
		t.Errorf("job states (-want +got):\n%s", diff)
	}
}

func TestDrainedNodeTakesNoStarts(t *testing.T) {
	h := setup(t)
	h.must(UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "DRAIN", Reason: "fan"}})
	if got := h.must(startJob1(2)).IDs; len(got) != 0 {
		t.Errorf("a start on a drained node was applied: %v", got)
	}
	h.must(UpdateNodes{Now: cmdNow, User: "admin", Update: api.NodeUpdate{Nodes: []string{"n1"}, State: "UNDRAIN"}})
	if diff := cmp.Diff([]api.JobID{1}, h.must(startJob1(2)).IDs); diff != "" {
		t.Errorf("started after UNDRAIN (-want +got):\n%s", diff)
	}
}

func TestApplyUpdatePartition(t *testing.T) {
	tests := []struct {
		name      string
		cmd       UpdatePartition
		wantErr   error
		wantField string
		change    func(p *api.Partition)
	}{
		{
			name: "state and limits",
			cmd:  UpdatePartition{Update: api.PartitionUpdate{Name: "cpu", State: sptr("inactive"), MaxTimeSecs: i64(7200), DefaultTimeSecs: i64(600), MaxNodes: iptr(4)}},
			change: func(p *api.Partition) {
				p.State, p.MaxTimeSecs, p.DefaultTimeSecs, p.MaxNodes = "INACTIVE", 7200, 600, 4
			},
		},
		{
			name:      "an unknown state names State",
			cmd:       UpdatePartition{Update: api.PartitionUpdate{Name: "cpu", State: sptr("sleepy")}},
			wantField: "State",
		},
		{
			name:      "a default time beyond MaxTime names DefaultTime",
			cmd:       UpdatePartition{Update: api.PartitionUpdate{Name: "cpu", MaxTimeSecs: i64(60), DefaultTimeSecs: i64(120)}},
			wantField: "DefaultTime",
		},
		{
			name:    "an unknown partition",
			cmd:     UpdatePartition{Update: api.PartitionUpdate{Name: "nope", MaxNodes: iptr(1)}},
			wantErr: ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			_, err := h.apply(tt.cmd)
			checkErr(t, err, tt.wantErr, tt.wantField, "")
			want := testConfig()
			if tt.change != nil {
				tt.change(&want.Partitions[1])
			}
			if diff := cmp.Diff(want, h.state().Config()); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPartitionStatesAndStarts(t *testing.T) {
	for _, tt := range []struct {
		state   string
		started []api.JobID
	}{{"DRAIN", []api.JobID{1}}, {"DOWN", []api.JobID{}}, {"INACTIVE", []api.JobID{}}, {"UP", []api.JobID{1}}} {
		t.Run(tt.state, func(t *testing.T) {
			h := setup(t)
			h.must(UpdatePartition{Update: api.PartitionUpdate{Name: "gpu", State: sptr(tt.state)}})
			if diff := cmp.Diff(tt.started, h.must(startJob1(2)).IDs); diff != "" {
				t.Errorf("started (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdminCommandTypes(t *testing.T) {
	// The type numbers are in raft logs: never renumbered.
	got := []commandType{UpdateJob{}.commandType(), UpdateNodes{}.commandType(), UpdatePartition{}.commandType()}
	if diff := cmp.Diff([]commandType{24, 25, 26}, got); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	for _, c := range []Command{UpdateJob{ID: 3, Update: api.JobUpdate{Nice: iptr(5)}}, UpdateNodes{Update: api.NodeUpdate{Nodes: []string{"a"}}}, UpdatePartition{}} {
		data, err := encodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeCommand(data)
		if err != nil {
			t.Fatal(err)
		}
		if commandName(back) != commandName(c) {
			t.Errorf("decoded %s as %s", commandName(c), commandName(back))
		}
	}
}
