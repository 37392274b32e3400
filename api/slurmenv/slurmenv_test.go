package slurmenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounts(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{4}, "4"},
		{[]int{1, 1, 1, 1}, "1(x4)"}, // Slurm's SLURM_TASKS_PER_NODE=1(x4)
		{[]int{2, 2, 2, 1}, "2(x3),1"},
		{[]int{2, 1, 1, 3}, "2,1(x2),3"},
	} {
		got := Counts(tc.in)
		if got != tc.want {
			t.Errorf("Counts(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if len(tc.in) == 0 {
			continue
		}
		back, err := ParseCounts(got)
		if err != nil || !cmp.Equal(back, tc.in) {
			t.Errorf("ParseCounts(%q) = %v, %v; want %v", got, back, err, tc.in)
		}
	}
	for _, bad := range []string{"x", "2(x", "2(x0)", "-1", "1(x99999999999)"} {
		if _, err := ParseCounts(bad); err == nil {
			t.Errorf("ParseCounts(%q) succeeded", bad)
		}
	}
}

func TestStepEnv(t *testing.T) {
	s := Step{JobID: "42", StepID: 3, Nodes: []string{"gpu01", "gpu02", "gpu03"}, TasksPerNode: []int{2, 2, 1},
		Distribution: "cyclic", CPUsPerTask: 4, LaunchHost: "login1", LaunchAddr: "10.0.0.5"}
	got := s.Env()
	want := map[string]string{
		"SLURM_JOB_ID": "42", "SLURM_JOBID": "42",
		"SLURM_STEP_ID": "3", "SLURM_STEPID": "3",
		"SLURM_STEP_NODELIST": "gpu[01-03]", "SLURM_NODELIST": "gpu[01-03]",
		"SLURM_STEP_NUM_NODES": "3", "SLURM_NNODES": "3",
		"SLURM_STEP_NUM_TASKS": "5", "SLURM_NTASKS": "5", "SLURM_NPROCS": "5",
		"SLURM_STEP_TASKS_PER_NODE": "2(x2),1", "SLURM_TASKS_PER_NODE": "2(x2),1",
		"SLURM_DISTRIBUTION": "cyclic", "SLURM_CPUS_PER_TASK": "4",
		"SLURM_SRUN_COMM_HOST": "login1", "SLURM_LAUNCH_NODE_IPADDR": "10.0.0.5",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
		if twin := "FAIRWAY_" + k[len("SLURM_"):]; got[twin] != v {
			t.Errorf("%s = %q, want %q", twin, got[twin], v)
		}
	}
	if len(got) != 2*len(want) {
		t.Errorf("Env has %d variables, want %d: %v", len(got), 2*len(want), got)
	}
	if _, ok := got["SLURM_NTASKS_PER_NODE"]; ok {
		t.Error("SLURM_NTASKS_PER_NODE set without --ntasks-per-node")
	}
}
