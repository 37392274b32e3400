package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// withStepUsage gives the fixture's job 4 (COMPLETED on cpu1) its batch
// step's usage and an srun step, and job 1's current run a running step.
func (f *fakeCtld) withStepUsage() *fakeCtld {
	now := f.now
	j4 := f.jobs[3]
	j4.Runs[0].Usage = &api.Usage{MaxRSSBytes: 100 << 20, AveRSSBytes: 100 << 20, MaxVMSizeBytes: 200 << 20, UserCPUMillis: 2001, SysCPUMillis: 0, Tasks: 1}
	j4.Runs[0].Steps = []api.Step{{JobID: 4, ID: 0, Nodes: []string{"cpu1"}, TasksPerNode: []int{2}, Command: []string{"/bin/hostname"},
		State: api.JobCompleted, StartTime: now - 500, EndTime: now - 400, Reported: []string{"cpu1"},
		Usage: &api.Usage{MaxRSSBytes: 2 << 20, AveRSSBytes: 1 << 20, MaxVMSizeBytes: 10 << 20, UserCPUMillis: 1500, SysCPUMillis: 250, Tasks: 2}}}
	j1 := f.jobs[0]
	j1.Runs[1].Steps = []api.Step{{JobID: 1, ID: 0, Name: "torchrun", Nodes: []string{"node1", "node2"}, TasksPerNode: []int{1, 1}, CPUsPerTask: 8, GPUsPerNode: 2,
		State: api.JobRunning, StartTime: now - 3600}}
	return f
}

func TestSacctSteps(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default format with steps", []string{"sacct", "-D", "-j", "4,1"}, lines(
			"JobID           JobName  Partition    Account  AllocCPUS      State ExitCode ",
			"------------ ---------- ---------- ---------- ---------- ---------- -------- ",
			"1                 train        gpu         ml          8  PREEMPTED     0:15 ",
			"1                 train        gpu         ml         16    RUNNING      0:0 ",
			"1.0            torchrun                    ml         16    RUNNING      0:0 ",
			"4                  done        cpu                     1  COMPLETED      0:0 ",
			"4.batch           batch                                1  COMPLETED      0:0 ",
			"4.0            hostname                                2  COMPLETED      0:0 ",
		)},
		{"usage fields", []string{"sacct", "-j", "4", "-P", "-o", "JobID,JobName,State,ExitCode,Start,End,Elapsed,NodeList,NNodes,NTasks,MaxRSS,AveRSS,MaxVMSize,TotalCPU,UserCPU,SystemCPU,CPUTime,AllocTRES,TRESUsageInTot"}, lines(
			"JobID|JobName|State|ExitCode|Start|End|Elapsed|NodeList|NNodes|NTasks|MaxRSS|AveRSS|MaxVMSize|TotalCPU|UserCPU|SystemCPU|CPUTime|AllocTRES|TRESUsageInTot",
			"4|done|COMPLETED|0:0|2024-06-15T14:20:00|2024-06-15T14:25:00|00:05:00|cpu1|1|||||00:03.751|00:03.501|00:00.250|00:05:00|billing=1,cpu=1,mem=1000M,node=1|",
			"4.batch|batch|COMPLETED|0:0|2024-06-15T14:20:00|2024-06-15T14:25:00|00:05:00|cpu1|1|1|102400K|102400K|204800K|00:02.001|00:02.001|00:00.000|00:05:00|cpu=1,node=1|cpu=00:00:02,mem=102400K,vmem=204800K",
			"4.0|hostname|COMPLETED|0:0|2024-06-15T14:21:40|2024-06-15T14:23:20|00:01:40|cpu1|1|2|2048K|1024K|10240K|00:01.750|00:01.500|00:00.250|00:03:20|cpu=2,node=1|cpu=00:00:01,mem=2048K,vmem=10240K",
		)},
		{"a running step", []string{"sacct", "-D", "-j", "1", "-n", "-P", "-o", "JobID,State,End,Elapsed,NNodes,NTasks,AllocTRES,MaxRSS"}, lines(
			"1|PREEMPTED|2024-06-15T13:06:40|00:36:40|1||billing=8,cpu=8,gres/gpu=2,gres/gpu:h100=2,mem=32G,node=1|",
			"1|RUNNING|Unknown|01:02:05|2||billing=16,cpu=16,gres/gpu=4,gres/gpu:h100=4,mem=64G,node=2|",
			"1.0|RUNNING|Unknown|01:00:00|2|2|cpu=16,gres/gpu=4,node=2|",
		)},
		{"-X hides the steps", []string{"sacct", "-X", "-n", "-j", "4", "-o", "JobID,State"}, lines(
			"4             COMPLETED ",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture().withStepUsage()
			te := &testEnv{dir: "/home/alice"}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("%v: exit %d, stderr %q", tt.args, code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("%v output mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestSeff(t *testing.T) {
	f := newFakeCtld(t).fixture().withStepUsage()
	te := &testEnv{dir: "/home/alice"}
	if code := te.run(t, f, "seff", "4"); code != 0 {
		t.Fatalf("seff: exit %d, stderr %q", code, te.stderr.String())
	}
	want := lines(
		"Job ID: 4",
		"Cluster: fairway",
		"User/Group: alice/1000",
		"State: COMPLETED (exit code 0)",
		"Cores: 1",
		"CPU Utilized: 00:00:03",
		"CPU Efficiency: 1.00% of 00:05:00 core-walltime",
		"Job Wall-clock time: 00:05:00",
		"Memory Utilized: 100.00 MB",
		"Memory Efficiency: 10.00% of 1000.00 MB (1000.00 MB/node)",
	)
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("seff output (-want +got):\n%s", diff)
	}
}
