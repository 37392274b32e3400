package cli

import (
	"fmt"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestSqueueBriefFields checks that every squeue field, and every sort key,
// prints the same from the brief view (api.AppendBriefJob, what squeue
// fetches) as from the whole job: the brief view carries all squeue
// prints.
func TestSqueueBriefFields(t *testing.T) {
	no, yes := false, true
	const now = 1_800_010_000
	jobs := []api.Job{
		{ID: 1, State: api.JobPending, Reason: api.ReasonPriority, SubmitTime: now - 100, Priority: 12345,
			Spec: api.JobSpec{Name: "train", User: "ann", UID: 1000, GID: 100, Account: "phys", Nodes: 1, NTasks: 1, CPUsPerTask: 1,
				Script: "#!/bin/sh\n", Env: map[string]string{"A": "1"}, WorkDir: "/home/ann", Partitions: []string{"gpu", "cpu"},
				Stdout: "/o/%j.out", Dependency: "afterok:3", BeginTime: now + 60, Nice: 10}},
		{ID: 2, State: api.JobPending, ExpectedStart: now + 600, Partition: "gpu",
			Spec: api.JobSpec{Name: "wide", User: "", UID: 1001, GID: 101, Nodes: 4, NTasks: 8, NTasksPerNode: 2, CPUsPerTask: 4,
				GPUs: 8, GPUType: "h100", MemoryMB: 0, TimeLimitSecs: 0, QOS: "high", Exclusive: true, Requeue: &no,
				Exclude: []string{"n1", "n2", "n3"}, Command: "/home/bob/run.sh", Args: []string{"x"}}},
		{ID: 3, State: api.JobRunning, Partition: "gpu", SubmitTime: now - 4000, StartTime: now - 3000, RestartCount: 1, Retries: 1,
			TimeLimitSecs: 7200, StdoutPath: "/o/3.out", StderrPath: "/o/3.err", StdinPath: "/in/3",
			Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 8, MemoryMB: 16384, GPUs: []int{0, 1}, GPUUUIDs: []string{"G-0", "G-1"}},
				{Node: "n2", CPUs: 8, MemoryMB: 16384, GPUs: []int{2, 3}}},
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"n9"}, State: api.JobNodeFail}, {Run: 1, Nodes: []string{"n1", "n2"}, StartTime: now - 3000}},
			Spec: api.JobSpec{Name: "run", User: "carl", UID: 1002, GID: 100, Nodes: 2, NTasks: 2, CPUsPerTask: 8, GPUs: 2,
				MemoryMB: 16384, TimeLimitSecs: 7200, Requeue: &yes, Partitions: []string{"gpu"}}},
		{ID: 4, State: api.JobCompleted, Reason: "None", Partition: "cpu", SubmitTime: now - 9000, StartTime: now - 8000, EndTime: now - 7000,
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"c1"}, StartTime: now - 8000, EndTime: now - 7000, State: api.JobCompleted,
				Usage: &api.Usage{}, Steps: []api.Step{{ID: 0, Command: []string{"x"}}}}},
			Spec: api.JobSpec{Name: "done", User: "ann", UID: 1000, Nodes: 1, NTasks: 1, CPUsPerTask: 2, TimeLimitSecs: api.TimeLimitUnlimited}},
		{ID: 5, State: api.JobFailed, Reason: "NonZeroExitCode", Partition: "cpu", ExitCode: 3, Signal: 0, StartTime: now - 50, EndTime: now - 10,
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"c2"}, StartTime: now - 50, EndTime: now - 10, State: api.JobFailed}},
			Spec: api.JobSpec{Name: "bad", User: "ann", UID: 1000}},
		{ID: 6, State: api.JobPending, Reason: "BeginTime", RestartCount: 2, Partition: "cpu",
			Runs: []api.JobRun{{Run: 0, Nodes: []string{"c1"}}, {Run: 1, Nodes: []string{"c3"}}},
			Spec: api.JobSpec{Name: "requeued", User: "ann", UID: 1000}},
		{ID: 7, ArrayJobID: 7, ArrayTaskID: -1, ArrayPending: api.TaskIDs{2, 3, 4, 9}, ArrayMaxRun: 2, State: api.JobPending, Partition: "gpu",
			Spec: api.JobSpec{Name: "arr", User: "dan", UID: 1003, Array: "0-9%2"}},
		{ID: 8, ArrayJobID: 7, ArrayTaskID: 0, State: api.JobRunning, Partition: "gpu", StartTime: now - 5,
			Alloc: []api.NodeAlloc{{Node: "n4", CPUs: 1, MemoryMB: 100}},
			Spec:  api.JobSpec{Name: "arr", User: "dan", UID: 1003}},
		{ID: 9, State: api.JobCancelled, Partition: "gpu", SubmitTime: now - 10, EndTime: now - 5,
			Spec: api.JobSpec{Name: "never ran, tab\there", User: "ann", UID: 1000}},
	}
	var letters []byte
	for l := range 256 {
		if squeueValid(byte(l)) {
			letters = append(letters, byte(l))
		}
	}
	newView := func(noconvert bool) *view {
		return &view{now: now, loc: time.UTC, cluster: "c1", noconvert: noconvert,
			parts:     map[string]api.Partition{"gpu": {Name: "gpu", DefaultTimeSecs: 1800, DefMemPerNodeMB: 2048}, "cpu": {Name: "cpu"}},
			estimates: map[api.JobID]api.StartEstimate{1: {P50: now + 900}},
			groupName: func(gid int) string {
				if gid == 100 {
					return "users"
				}
				return ""
			}}
	}
	for i := range jobs {
		full := &jobs[i]
		list, err := api.DecodeBriefJobs(api.AppendBriefJob(api.AppendBriefJobsHeader(nil, 1, now), full))
		if err != nil {
			t.Fatal(err)
		}
		brief := list.Jobs[0]
		for _, noconvert := range []bool{false, true} {
			v := newView(noconvert)
			values := func(j *api.Job) map[string]string {
				out := map[string]string{}
				for _, l := range letters {
					out[fmt.Sprintf("%%%c (%#x)", l, l)] = v.squeueValue(j, l)
				}
				return out
			}
			if d := cmp.Diff(values(full), values(brief)); d != "" {
				t.Errorf("job %d (noconvert %v): squeue fields (-whole +brief):\n%s", full.ID, noconvert, d)
			}
			for k := range jobs {
				other := &jobs[k]
				for _, l := range letters {
					if a, b := v.squeueCompare(full, other, l), v.squeueCompare(brief, other, l); a != b {
						t.Errorf("job %d against %d, sort key %c: %d whole, %d brief", full.ID, other.ID, l, a, b)
					}
				}
			}
			f := squeueFilter{nodes: map[string]bool{"n1": true, "c1": true}, qos: map[string]bool{"normal": true}}
			if a, b := f.match(full), f.match(brief); a != b {
				t.Errorf("job %d: -w/-q filter matches whole %v, brief %v", full.ID, a, b)
			}
		}
	}
	// The brief view must not be trivially equal: it leaves things out.
	list, _ := api.DecodeBriefJobs(api.AppendBriefJob(api.AppendBriefJobsHeader(nil, 1, now), &jobs[0]))
	if list.Jobs[0].Spec.Script != "" || list.Jobs[0].Spec.Env != nil {
		t.Errorf("the brief view carried the script or environment")
	}
}
