package planapply_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp"
)

func TestKillFor(t *testing.T) {
	cfg := &api.ClusterConfig{
		Partitions: []api.Partition{
			{Name: "gpu", PreemptMode: api.PreemptRequeue, GraceSecs: 30},
			{Name: "spot", PreemptMode: api.PreemptCancel},
			{Name: "prod", PreemptMode: api.PreemptOff},
		},
		QOS: []api.QOS{{Name: "long", GraceSecs: 90}, {Name: "keep", PreemptMode: api.PreemptOff}, {Name: "drop", PreemptMode: api.PreemptCancel}},
	}
	running := func(part string, edit func(s *api.JobSpec)) *api.Job {
		j := &api.Job{ID: 4, State: api.JobRunning, Partition: part}
		if edit != nil {
			edit(&j.Spec)
		}
		return j
	}
	pr := api.Preemption{JobID: 4, Reason: "reclaim", For: 9}
	tests := []struct {
		name    string
		job     *api.Job
		want    *api.KillRequest
		wantWhy string
	}{
		{"partition requeue and grace", running("gpu", nil),
			&api.KillRequest{State: api.JobPreempted, Requeue: true, Reason: "Preempted (reclaim) for job 9", Signal: "USR1", GraceSecs: 30, RequestedAt: 100, For: 9, Preemption: "reclaim"}, ""},
		{"QOS grace overrides the partition's; --signal is the checkpoint signal", running("gpu", func(s *api.JobSpec) { s.QOS = "long"; s.Signal = &api.Signal{Name: "TERM"} }),
			&api.KillRequest{State: api.JobPreempted, Requeue: true, Reason: "Preempted (reclaim) for job 9", Signal: "TERM", GraceSecs: 90, RequestedAt: 100, For: 9, Preemption: "reclaim"}, ""},
		{"--no-requeue ends the job", running("gpu", func(s *api.JobSpec) { s.Requeue = new(bool) }),
			&api.KillRequest{State: api.JobPreempted, Reason: "Preempted (reclaim) for job 9; not requeued: the job was submitted with --no-requeue", Signal: "USR1", GraceSecs: 30, RequestedAt: 100, For: 9, Preemption: "reclaim"}, ""},
		{"partition mode cancel", running("spot", nil),
			&api.KillRequest{State: api.JobPreempted, Reason: "Preempted (reclaim) for job 9; not requeued: preempt mode cancel", Signal: "USR1", RequestedAt: 100, For: 9, Preemption: "reclaim"}, ""},
		{"QOS mode cancel", running("gpu", func(s *api.JobSpec) { s.QOS = "drop" }),
			&api.KillRequest{State: api.JobPreempted, Reason: "Preempted (reclaim) for job 9; not requeued: preempt mode cancel", Signal: "USR1", GraceSecs: 30, RequestedAt: 100, For: 9, Preemption: "reclaim"}, ""},
		{"partition mode off", running("prod", nil), nil, "the job's preempt mode is off"},
		{"QOS mode off", running("gpu", func(s *api.JobSpec) { s.QOS = "keep" }), nil, "the job's preempt mode is off"},
		{"not running", &api.Job{ID: 4, State: api.JobPending}, nil, "job is PENDING"},
		{"already stopping", &api.Job{ID: 4, State: api.JobRunning, Kill: &api.KillRequest{}}, nil, "job is already being stopped"},
		{"missing", nil, nil, "no such job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := planapply.KillFor(cfg, tt.job, pr, 100)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kill (-want +got):\n%s", diff)
			}
			if why != tt.wantWhy {
				t.Errorf("why = %q, want %q", why, tt.wantWhy)
			}
		})
	}
}

// TestStartsVerified checks the starts a plan may not make: each is
// dropped with a reason, and the rest of the plan still applies.
func TestStartsVerified(t *testing.T) {
	cfg := api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", Default: true, DefMemPerNodeMB: 10}, {Name: "down", State: "DOWN"}}}
	nodes := []*api.Node{schedtest.Node("n1", 4, 1000, 2, "h100", "gpu"), schedtest.Node("n2", 4, 1000, 2, "a100", "gpu")}
	nodes[1].Resources.GPUs[1].Healthy = false
	spec := api.JobSpec{Nodes: 1, NTasks: 1, CPUsPerTask: 1, GPUs: 1}
	alloc := func(node string, gpus ...int) []api.NodeAlloc {
		return []api.NodeAlloc{{Node: node, CPUs: 1, MemoryMB: 10, GPUs: gpus}}
	}
	tests := []struct {
		name  string
		edit  func(j *api.Job)
		start api.Start
		why   string
	}{
		{"fits", nil, api.Start{Alloc: alloc("n1", 0)}, ""},
		{"GPU taken by the plan's earlier start", nil, api.Start{Alloc: alloc("n1", 0)}, "node n1: GPU 0 is in use"},
		{"unhealthy GPU", nil, api.Start{Alloc: alloc("n2", 1)}, "node n2: GPU 1 is unhealthy"},
		{"wrong GPU type", func(j *api.Job) { j.Spec.GPUType = "h100" }, api.Start{Alloc: alloc("n2", 0)}, "node n2: GPU 0 is a100, the job needs h100"},
		{"too few GPUs", nil, api.Start{Alloc: alloc("n2")}, "node n2: allocation of 0 GPUs, the job needs 1"},
		{"too little memory", nil, api.Start{Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 5, GPUs: []int{0}}}}, "node n2: allocation of 5 MB, the job needs 10"},
		{"more CPUs than free", nil, api.Start{Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 5, MemoryMB: 10, GPUs: []int{0}}}}, "node n2 has 4 CPUs free, the start needs 5"},
		{"held", func(j *api.Job) { j.Spec.Hold = true }, api.Start{Alloc: alloc("n2", 0)}, "job is held"},
		{"before its begin time", func(j *api.Job) { j.Spec.BeginTime = 200 }, api.Start{Alloc: alloc("n2", 0)}, "job may not start before 200"},
		{"partition down", func(j *api.Job) { j.Spec.Partitions = []string{"down"} }, api.Start{Partition: "down", Alloc: alloc("n2", 0)}, "partition down is DOWN"},
		{"partition not asked for", nil, api.Start{Partition: "down", Alloc: alloc("n2", 0)}, `job did not ask for partition "down"`},
		{"unknown node", nil, api.Start{Alloc: alloc("n9", 0)}, `node "n9" is not registered`},
		{"gang short of nodes", func(j *api.Job) { j.Spec.Nodes = 2 }, api.Start{Alloc: alloc("n2", 0)}, "allocation has 1 nodes, the job needs 2"},
	}
	mem := planapply.NewMem(&cfg, nodes)
	var plan api.Plan
	plan.Now = 100
	var want []planapply.Refusal
	for i, tt := range tests {
		j := &api.Job{ID: api.JobID(i + 1), Spec: spec, State: api.JobPending, Partition: "gpu"}
		if tt.edit != nil {
			tt.edit(j)
		}
		if err := mem.PutJob(j); err != nil {
			t.Fatal(err)
		}
		s := tt.start
		s.JobID = j.ID
		plan.Starts = append(plan.Starts, s)
		if tt.why != "" {
			want = append(want, planapply.Refusal{JobID: j.ID, Task: -1, Why: tt.why})
		}
	}
	res, err := planapply.Apply(mem, &plan)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, res.Dropped); diff != "" {
		t.Errorf("dropped starts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]api.JobID{1}, res.Started); diff != "" {
		t.Errorf("started (-want +got):\n%s", diff)
	}
	j := mem.Job(1)
	if j.State != api.JobRunning || j.Alloc[0].GPUUUIDs[0] != "n1-gpu0" || j.StdoutPath != "slurm-1.out" || len(j.Runs) != 1 {
		t.Errorf("started job = %+v, want RUNNING on n1 GPU 0 with its run and output path", j)
	}
}
