package raftstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// diffConfig exercises every preempt setting: a partition that requeues
// (30 s grace), one that cancels, one that is never preempted, and QOS that
// override mode and grace.
func diffConfig() api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{
			{Name: "gpu", Default: true, PreemptMode: api.PreemptRequeue, GraceSecs: 30, DefMemPerNodeMB: 100},
			{Name: "spot", PreemptMode: api.PreemptCancel, DefMemPerNodeMB: 100, Nodes: []string{"n3", "n4"}},
			{Name: "prod", PreemptMode: api.PreemptOff, DefMemPerNodeMB: 100},
		},
		QOS: []api.QOS{
			{Name: "long", GraceSecs: 90},
			{Name: "keep", PreemptMode: api.PreemptOff},
			{Name: "drop", PreemptMode: api.PreemptCancel, GraceSecs: 7},
		},
		Scheduling:        api.SchedulingConfig{CheckpointDirBase: "/ckpt"},
		NodeDownAfterSecs: 60,
		JobRetentionSecs:  1 << 30,
	}
}

// TestPlanApplyDifferential applies the same random plans through the raft
// FSM and through the simulator's state (planapply.Mem, which the trace
// simulator and the scheduler's test driver keep their jobs in) and checks
// that every job (state, reason, runs, allocation, kill request, output
// paths, array split-off) and every node's free resources agree after every
// step. The plans mix starts that fit, starts that no longer fit (resources
// taken, GPUs unhealthy or missing, nodes down or outside the partition,
// jobs held, not pending or not yet eligible), gangs, array tasks past their
// throttle, and preemptions under every preempt mode, QOS grace and
// --no-requeue. Between plans, jobs end and nodes go down through the FSM,
// and the simulator's state takes the FSM's records (those are not plan
// application).
func TestPlanApplyDifferential(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			runDifferential(t, seed, 120)
		})
	}
}

func runDifferential(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	h := newHarness(t)
	cfg := diffConfig()
	h.must(SetConfig{Config: cfg})
	for i := 1; i <= 4; i++ {
		res := api.NodeResources{CPUs: 8, MemoryMB: 4000, GPUs: gpus(fmt.Sprintf("n%d-0", i), fmt.Sprintf("n%d-1", i), fmt.Sprintf("n%d-2", i), fmt.Sprintf("n%d-3", i))}
		if i == 2 {
			res.GPUs[3].Healthy = false
		}
		h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{Name: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("10.0.0.%d:6820", i),
			Partitions: []string{"gpu", "prod"}, Resources: res}})
	}
	mem := planapply.NewMem(&cfg, nil)
	// sync makes the simulator's state hold the FSM's jobs and nodes: the
	// starting point of each plan.
	sync := func() {
		st := h.state()
		mem = planapply.NewMem(&cfg, st.Nodes())
		for _, j := range st.Jobs() {
			if err := mem.PutJob(j); err != nil {
				t.Fatal(err)
			}
		}
		for mem.NextJobID() < st.NextJobID() {
			_, _ = mem.NewJobID()
		}
	}
	now := int64(cmdNow)
	// seen records what the workload went through, so the test knows it
	// tested what it is meant to.
	seen := map[string]bool{}
	for step := range steps {
		now += int64(1 + rng.IntN(20))
		// Work that is not plan application, through the FSM.
		st := h.state()
		switch rng.IntN(6) {
		case 0, 1:
			h.must(SubmitJobs{Now: now, Specs: randomSpecs(rng, now)})
		case 2:
			var evs []api.JobEvent
			for _, j := range st.ActiveJobs() {
				if j.State == api.JobRunning && rng.IntN(3) == 0 {
					evs = append(evs, api.JobEvent{JobID: j.ID, Run: j.RestartCount, Node: j.Alloc[0].Node, Kind: api.EventExited, ExitCode: rng.IntN(2)})
				}
			}
			if len(evs) > 0 {
				h.must(JobEvents{Now: now, Node: evs[0].Node, Events: evs[:1]})
			}
		case 3:
			node := fmt.Sprintf("n%d", 1+rng.IntN(4))
			if n, _ := st.Node(node); n.State == api.NodeDown {
				h.must(RegisterNode{Now: now, Req: api.RegisterNodeRequest{Name: node, Addr: n.Addr, Partitions: n.Partitions, Resources: n.Resources}})
			} else if rng.IntN(3) == 0 {
				h.must(MarkNodeDown{Now: now, Node: node, Reason: "test"})
			}
		}
		sync()
		plan := randomPlan(rng, h.state(), now)
		if _, err := h.apply(ApplyPlan{Plan: plan}); err != nil {
			t.Fatalf("step %d: FSM apply: %v", step, err)
		}
		if _, err := planapply.Apply(mem, &plan); err != nil {
			t.Fatalf("step %d: simulator apply: %v", step, err)
		}
		compareStates(t, step, h.state(), mem)
		if t.Failed() {
			t.Fatalf("step %d: plan %+v", step, plan)
		}
		for _, j := range mem.Jobs() {
			if j.IsArrayTask() {
				seen["array task"] = true
			}
			if j.Spec.Nodes > 1 && len(j.Runs) > 0 {
				seen["gang"] = true
			}
			for _, r := range j.Runs {
				seen["run "+string(r.State)] = true
			}
			if j.Kill != nil {
				seen["kill requeue="+fmt.Sprint(j.Kill.Requeue)] = true
			}
		}
	}
	for _, want := range []string{"array task", "gang", "run RUNNING", "run COMPLETED", "kill requeue=true", "kill requeue=false"} {
		if !seen[want] {
			t.Errorf("the workload never produced: %s (seen %v)", want, seen)
		}
	}
}

// randomSpecs returns one to three jobs: GPU jobs of every size, gangs,
// arrays with a throttle, jobs in the spot and prod partitions, QOS,
// --no-requeue, held jobs and jobs with a future begin time.
func randomSpecs(rng *rand.Rand, now int64) []api.JobSpec {
	specs := make([]api.JobSpec, 1+rng.IntN(3))
	for i := range specs {
		s := api.JobSpec{Name: fmt.Sprintf("j%d", rng.IntN(50)), User: []string{"ann", "bob"}[rng.IntN(2)], UID: 1000, GID: 1000,
			Nodes: 1, NTasks: 1, CPUsPerTask: 1 + rng.IntN(2), GPUs: rng.IntN(3), WorkDir: "/w",
			Script: "#!/bin/sh\ntrue\n", Stdout: []string{"", "%x-%N-%j.out", "x%%j-%a.log", `raw\%j`}[rng.IntN(4)]}
		switch rng.IntN(8) {
		case 0:
			s.Nodes, s.NTasks = 2, 2
		case 1:
			s.Array = "0-4%2"
		case 2:
			s.Partitions = []string{"spot"}
		case 3:
			s.Partitions = []string{"prod", "gpu"}
		}
		s.QOS = []string{"", "", "long", "keep", "drop"}[rng.IntN(5)]
		if rng.IntN(4) == 0 {
			s.Requeue = boolPtr(false)
		}
		if rng.IntN(10) == 0 {
			s.Hold = true
		}
		if rng.IntN(10) == 0 {
			s.BeginTime = now + int64(rng.IntN(60))
		}
		if rng.IntN(5) == 0 {
			s.Signal = &api.Signal{Name: "TERM", AtSeconds: 10}
		}
		specs[i] = s
	}
	return specs
}

// randomPlan starts random pending jobs, half of them on resources free in
// st (which the plan's own earlier starts may take), half anywhere; preempts
// random running jobs; and sets pending information.
func randomPlan(rng *rand.Rand, st *State, now int64) api.Plan {
	p := api.Plan{Now: now}
	free := map[string]*api.Node{}
	for _, n := range st.Nodes() {
		free[n.Name] = n
	}
	for _, j := range st.ActiveJobs() {
		switch {
		case j.State == api.JobRunning:
			if rng.IntN(4) == 0 {
				p.Preemptions = append(p.Preemptions, api.Preemption{JobID: j.ID, Reason: []string{"reclaim", "priority"}[rng.IntN(2)], For: api.JobID(1 + rng.IntN(5))})
			}
		case rng.IntN(3) != 0:
			s := api.Start{JobID: j.ID, Partition: j.Partition}
			if len(j.Spec.Partitions) > 1 {
				s.Partition = j.Spec.Partitions[rng.IntN(len(j.Spec.Partitions))]
			}
			if rng.IntN(10) == 0 {
				s.Partition = "spot"
			}
			if j.IsArrayRecord() && len(j.ArrayPending) > 0 {
				task := j.ArrayPending[rng.IntN(len(j.ArrayPending))]
				s.ArrayTaskID = &task
			}
			base := rng.IntN(4)
			for k := range max(j.Spec.Nodes, 1) {
				node := fmt.Sprintf("n%d", 1+(base+k)%4)
				if rng.IntN(20) == 0 {
					node = "n9"
				}
				a := api.NodeAlloc{Node: node, CPUs: j.Spec.TotalCPUsPerNode(), MemoryMB: 100}
				n := free[node]
				for g := range j.Spec.GPUs {
					idx := rng.IntN(4)
					if n != nil && rng.IntN(2) == 0 {
						// A GPU that was free before the plan.
						for _, cand := range n.Resources.GPUs {
							if !slices.ContainsFunc(n.Used.GPUs, func(u api.GPU) bool { return u.Index == cand.Index }) && !slices.Contains(a.GPUs, cand.Index) {
								idx = cand.Index
								break
							}
						}
					} else if g > 0 && a.GPUs[g-1] == idx {
						idx = (idx + 1) % 4
					}
					a.GPUs = append(a.GPUs, idx)
				}
				s.Alloc = append(s.Alloc, a)
			}
			p.Starts = append(p.Starts, s)
		default:
			p.Pending = append(p.Pending, api.PendingInfo{JobID: j.ID, Reason: api.ReasonResources, Priority: uint32(rng.IntN(1000)), ExpectedStart: now + int64(rng.IntN(500))})
		}
	}
	return p
}

// compareStates checks that the FSM's jobs and the nodes' free resources
// equal the simulator state's.
func compareStates(t *testing.T, step int, st *State, mem *planapply.Mem) {
	t.Helper()
	if diff := cmp.Diff(st.Jobs(), mem.Jobs(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("step %d: jobs differ (-FSM +simulator):\n%s", step, diff)
	}
	for _, n := range st.Nodes() {
		want := n.Used
		got := sched.NodeUsage(n, mem.RunningOn(n.Name))
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("step %d: node %s used resources differ (-FSM +simulator):\n%s", step, n.Name, diff)
		}
	}
	if st.NextJobID() != mem.NextJobID() {
		t.Errorf("step %d: next job ID: FSM %d, simulator %d", step, st.NextJobID(), mem.NextJobID())
	}
}
