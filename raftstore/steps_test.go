package raftstore

import (
	"bytes"
	"io"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// stepSetup is setup with job 6 RUNNING on n1 and n3 (2 CPUs, 100 MB on
// each; 4 tasks, requeueable).
func stepSetup(t testing.TB) *harness {
	h := setup(t)
	mpi := testSpec("mpi")
	mpi.Nodes, mpi.NTasks = 2, 4
	h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{mpi}})
	started := h.must(ApplyPlan{Plan: api.Plan{Now: setupNow, Starts: []api.Start{
		{JobID: 6, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 2, MemoryMB: 100}, {Node: "n3", CPUs: 2, MemoryMB: 100}}},
	}}})
	if len(started.IDs) != 1 {
		t.Fatalf("stepSetup: job 6 did not start")
	}
	return h
}

// mpiStep is the request of a step of job 6 on both its nodes, 2 tasks each.
func mpiStep() api.StepRequest {
	return api.StepRequest{Name: "hello", Nodes: []string{"n1", "n3"}, TasksPerNode: []int{2, 2}, Command: []string{"hostname"}}
}

// runningStep is the step mpiStep creates as step id at now.
func runningStep(id int, now int64) api.Step {
	return api.Step{JobID: 6, ID: id, Name: "hello", Nodes: []string{"n1", "n3"}, TasksPerNode: []int{2, 2},
		Distribution: "block", Command: []string{"hostname"}, State: api.JobRunning, StartTime: now}
}

// withSteps sets the steps of the job's last run (after change, if any).
func withSteps(change jobChange, steps ...api.Step) jobChange {
	return func(j *api.Job) {
		if change != nil {
			change(j)
		}
		j.Runs[len(j.Runs)-1].Steps = steps
	}
}

// report is a ReportStep of job 6 from node.
func report(node string, step, exit, sig int, u api.Usage) ReportStep {
	return ReportStep{Now: cmdNow + 10, Node: node, Report: api.StepReport{JobID: 6, StepID: step, ExitCode: exit, Signal: sig, Usage: u}}
}

func TestApplyStepCommands(t *testing.T) {
	create := CreateStep{Now: cmdNow, JobID: 6, Req: mpiStep()}
	withReq := func(change func(r *api.StepRequest)) CreateStep {
		c := CreateStep{Now: cmdNow, JobID: 6, Req: mpiStep()}
		change(&c.Req)
		return c
	}
	u1 := api.Usage{MaxRSSBytes: 100 << 20, AveRSSBytes: 80 << 20, MaxVMSizeBytes: 300 << 20, UserCPUMillis: 1500, SysCPUMillis: 500, Tasks: 2}
	u3 := api.Usage{MaxRSSBytes: 200 << 20, AveRSSBytes: 20 << 20, MaxVMSizeBytes: 100 << 20, UserCPUMillis: 1000, SysCPUMillis: 1, Tasks: 6, GPUs: 1}
	merged := api.Usage{MaxRSSBytes: 200 << 20, AveRSSBytes: 35 << 20, MaxVMSizeBytes: 300 << 20, UserCPUMillis: 2500, SysCPUMillis: 501, Tasks: 8, GPUs: 1}
	done := func(st api.Step, state api.JobState, exit, sig int, end int64, u *api.Usage, reported ...string) api.Step {
		st.State, st.ExitCode, st.Signal, st.EndTime, st.Usage, st.Reported = state, exit, sig, end, u, reported
		return st
	}
	tests := []jobCommandCase{
		{
			name:       "steps of a running job are numbered from 0 in its run",
			cmds:       []Command{create, CreateStep{Now: cmdNow + 1, JobID: 6, Req: api.StepRequest{Nodes: []string{"n3"}, TasksPerNode: []int{1}, Distribution: "cyclic", CPUsPerTask: 2, Command: []string{"a.out", "-v"}}}},
			wantResult: stepIDResult(1),
			changes: map[api.JobID]jobChange{6: withSteps(nil, runningStep(0, cmdNow),
				api.Step{JobID: 6, ID: 1, Nodes: []string{"n3"}, TasksPerNode: []int{1}, Distribution: "cyclic", CPUsPerTask: 2,
					Command: []string{"a.out", "-v"}, State: api.JobRunning, StartTime: cmdNow + 1})},
		},
		{
			name: "a step may use the job's GPUs on a node",
			cmds: []Command{CreateStep{Now: cmdNow, JobID: 2, Req: api.StepRequest{Nodes: []string{"n1"}, TasksPerNode: []int{1}, GPUsPerTask: 1, Command: []string{"nvidia-smi"}}}},
			changes: map[api.JobID]jobChange{2: func(j *api.Job) {
				j.Runs[0].Steps = []api.Step{{JobID: 2, Nodes: []string{"n1"}, TasksPerNode: []int{1}, Distribution: "block", GPUsPerTask: 1,
					Command: []string{"nvidia-smi"}, State: api.JobRunning, StartTime: cmdNow}}
			}},
		},
		{name: "a step of a pending job is a conflict", cmds: []Command{CreateStep{Now: cmdNow, JobID: 1, Req: mpiStep()}}, wantErr: ErrConflict,
			wantMsg: "job 1 is PENDING: steps are created in running jobs only"},
		{name: "a step of a finished job is a conflict", cmds: []Command{CreateStep{Now: cmdNow, JobID: 4, Req: mpiStep()}}, wantErr: ErrConflict},
		{name: "a step of an unknown job is not found", cmds: []Command{CreateStep{Now: cmdNow, JobID: 99, Req: mpiStep()}}, wantErr: ErrNotFound},
		{name: "a step needs nodes", cmds: []Command{withReq(func(r *api.StepRequest) { r.Nodes, r.TasksPerNode = nil, nil })}, wantField: "nodes"},
		{name: "a step's nodes are the job's", cmds: []Command{withReq(func(r *api.StepRequest) { r.Nodes = []string{"n1", "n2"} })}, wantField: "nodes",
			wantMsg: `invalid nodes "n2": not in job 6's allocation (n1,n3)`},
		{name: "a step names a node once", cmds: []Command{withReq(func(r *api.StepRequest) { r.Nodes = []string{"n1", "n1"} })}, wantField: "nodes"},
		{name: "a step has one task count per node", cmds: []Command{withReq(func(r *api.StepRequest) { r.TasksPerNode = []int{2} })}, wantField: "tasks_per_node"},
		{name: "a step runs a task on each node", cmds: []Command{withReq(func(r *api.StepRequest) { r.TasksPerNode = []int{2, 0} })}, wantField: "tasks_per_node"},
		{name: "a step's tasks fit the job's CPUs", cmds: []Command{withReq(func(r *api.StepRequest) { r.TasksPerNode = []int{3, 1} })}, wantField: "tasks_per_node",
			wantMsg: `invalid tasks_per_node "3": node n1: 3 tasks of 1 CPUs need more than the 2 CPUs the job holds there`},
		{name: "a step's CPUs per task fit the job's CPUs", cmds: []Command{withReq(func(r *api.StepRequest) { r.CPUsPerTask = 2 })}, wantField: "cpus_per_task"},
		{name: "a step's GPUs per task fit the job's GPUs", cmds: []Command{withReq(func(r *api.StepRequest) { r.GPUsPerTask = 1 })}, wantField: "gpus_per_task"},
		{name: "a step's GPUs per node fit the job's GPUs",
			cmds:      []Command{CreateStep{Now: cmdNow, JobID: 2, Req: api.StepRequest{Nodes: []string{"n1"}, TasksPerNode: []int{1}, GPUsPerNode: 2, Command: []string{"x"}}}},
			wantField: "gpus_per_node"},
		{name: "a step's distribution is block or cyclic", cmds: []Command{withReq(func(r *api.StepRequest) { r.Distribution = "plane" })}, wantField: "distribution"},
		{name: "a step needs a command", cmds: []Command{withReq(func(r *api.StepRequest) { r.Command = nil })}, wantField: "command"},
		{
			name: "a step ends COMPLETED when every node reported exit 0; usage merged; other reports change nothing",
			cmds: []Command{create,
				report("n1", 0, 0, 0, u1),
				report("n2", 0, 0, 0, u1), // not in the step
				report("n1", 0, 5, 0, u1), // twice
				report("n1", 7, 1, 0, u1), // unknown step
				report("n3", 0, 0, 0, u3),
			},
			changes: map[api.JobID]jobChange{6: withSteps(nil, done(runningStep(0, cmdNow), api.JobCompleted, 0, 0, cmdNow+10, &merged, "n1", "n3"))},
		},
		{
			name: "one node's report leaves the step RUNNING",
			cmds: []Command{create, report("n3", 0, 0, 0, u3)},
			changes: map[api.JobID]jobChange{6: withSteps(nil, func() api.Step {
				st := runningStep(0, cmdNow)
				st.Reported, st.Usage = []string{"n3"}, &u3
				return st
			}())},
		},
		{
			name:    "a step with a non-zero exit FAILS with the highest code",
			cmds:    []Command{create, report("n1", 0, 3, 0, api.Usage{}), report("n3", 0, 1, 0, api.Usage{})},
			changes: map[api.JobID]jobChange{6: withSteps(nil, done(runningStep(0, cmdNow), api.JobFailed, 3, 0, cmdNow+10, &api.Usage{}, "n1", "n3"))},
		},
		{
			name: "a step killed by a signal while the job is cancelled ends CANCELLED",
			cmds: []Command{create, CancelJob{Now: cmdNow + 5, ID: 6}, report("n1", 0, 0, 15, api.Usage{}), report("n3", 0, 0, 15, api.Usage{})},
			changes: map[api.JobID]jobChange{6: withSteps(withKill(api.KillRequest{State: api.JobCancelled, RequestedAt: cmdNow + 5}),
				done(runningStep(0, cmdNow), api.JobCancelled, 0, 15, cmdNow+10, &api.Usage{}, "n1", "n3"))},
		},
		{
			name: "the run's end cancels its running steps and records the batch step's usage",
			cmds: []Command{create, JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited, Usage: &u1}}}},
			changes: map[api.JobID]jobChange{6: withSteps(func(j *api.Job) {
				ended(api.JobCompleted, api.JobCompleted, api.ReasonNone, 0, 0)(j)
				j.Runs[0].Usage = &u1
			}, func() api.Step {
				st := runningStep(0, cmdNow)
				st.State, st.EndTime = api.JobCancelled, cmdNow
				return st
			}())},
		},
		{
			name: "late reports of a step that ended with its run bring its usage and how it really ended",
			cmds: []Command{create, JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited}}},
				report("n1", 0, 0, 0, u1), report("n3", 0, 0, 0, u3)},
			changes: map[api.JobID]jobChange{6: withSteps(ended(api.JobCompleted, api.JobCompleted, api.ReasonNone, 0, 0), func() api.Step {
				return done(runningStep(0, cmdNow), api.JobCompleted, 0, 0, cmdNow, &merged, "n1", "n3")
			}())},
		},
		{
			name: "node down fails the steps on the node; the job's other steps end CANCELLED",
			cmds: []Command{create, CreateStep{Now: cmdNow, JobID: 6, Req: api.StepRequest{Nodes: []string{"n1"}, TasksPerNode: []int{1}, Command: []string{"hostname"}}},
				MarkNodeDown{Now: cmdNow + 20, Node: "n3", Reason: "Not responding"}},
			changes: map[api.JobID]jobChange{6: func(j *api.Job) {
				requeued(api.JobNodeFail, "NodeFail: node n3 down: Not responding")(j)
				r := &j.Runs[0]
				r.EndTime = cmdNow + 20
				a := runningStep(0, cmdNow)
				a.State, a.EndTime, a.Reason = api.JobNodeFail, cmdNow+20, "node n3 down"
				r.Steps = []api.Step{a, {JobID: 6, ID: 1, Nodes: []string{"n1"}, TasksPerNode: []int{1}, Distribution: "block", Command: []string{"hostname"},
					State: api.JobCancelled, StartTime: cmdNow, EndTime: cmdNow + 20}}
			}},
		},
		{
			name: "an end event after node down records the batch usage once",
			cmds: []Command{MarkNodeDown{Now: cmdNow, Node: "n3", Reason: "Not responding"},
				JobEvents{Now: cmdNow + 1, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited, Usage: &u1}}},
				JobEvents{Now: cmdNow + 2, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited, Usage: &u3}}},
				JobEvents{Now: cmdNow + 2, Node: "n2", Events: []api.JobEvent{{JobID: 4, Kind: api.EventExited, Usage: &u3}}}},
			changes: map[api.JobID]jobChange{
				6: func(j *api.Job) {
					requeued(api.JobNodeFail, "NodeFail: node n3 down: Not responding")(j)
					j.Runs[0].Usage = &u1
				},
				4: func(j *api.Job) { j.Runs[0].Usage = &u3 },
			},
		},
		{name: "a report without a node is rejected", cmds: []Command{ReportStep{Now: cmdNow, Report: api.StepReport{JobID: 6}}}, wantField: "node"},
		{name: "a report of negative usage is rejected", cmds: []Command{create, report("n1", 0, 0, 0, api.Usage{Tasks: -1})}, wantField: "usage",
			changes: map[api.JobID]jobChange{6: withSteps(nil, runningStep(0, cmdNow))}},
	}
	for i := range tests {
		tests[i].setup = stepSetup
	}
	runJobCommandCases(t, tests)
}

// TestStepsSurviveSnapshots checks that a run's steps and usage are in
// snapshots.
func TestStepsSurviveSnapshots(t *testing.T) {
	h := stepSetup(t)
	h.must(CreateStep{Now: cmdNow, JobID: 6, Req: mpiStep()})
	h.must(ReportStep{Now: cmdNow, Node: "n1", Report: api.StepReport{JobID: 6, Usage: api.Usage{MaxRSSBytes: 1 << 20, Tasks: 2}}})
	h.must(JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 6, Kind: api.EventExited, Usage: &api.Usage{UserCPUMillis: 7}}}})
	want, _ := h.state().Job(6)
	data := snapshot(t, h.f)
	h2 := newHarness(t)
	if err := h2.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	got, ok := h2.state().Job(6)
	if !ok {
		t.Fatal("job 6 missing after restore")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job 6 after restore (-want +got):\n%s", diff)
	}
}
