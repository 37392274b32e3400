package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOutputGolden checks the layouts against Slurm's: widths, justification,
// truncation, sort order and time forms.
func TestOutputGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"squeue default", []string{"squeue"}, lines(
			"             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)",
			"                 3       gpu     held    alice PD       0:00      1 (JobHeldUser)",
			"                 1       gpu    train    alice  R    1:02:05      2 node[1-2]",
			"                 2   gpu,cpu a-very-l      bob PD       0:00      1 (Resources)",
		)},
		{"squeue long", []string{"squeue", "-l", "-u", "alice"}, lines(
			"Sat Jun 15 14:30:00 2024",
			"             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)",
			"                 3       gpu     held    alice  PENDING       0:00   1:00:00      1 (JobHeldUser)",
			"                 1       gpu    train    alice  RUNNING    1:02:05   2:00:00      2 node[1-2]",
		)},
		{"squeue format and sort", []string{"squeue", "-h", "-t", "all", "-S", "-i", "-o", "%i|%-6j|%T|%C|%b|%Q|%l|%L|%D"}, lines(
			"5|bad   |FAILED|2|N/A|0|10:00|9:55|1",
			"4|done  |COMPLETED|1|N/A|0|UNLIMITED|UNLIMITED|1",
			"3|held  |PENDING|1|N/A|0|1:00:00|1:00:00|1",
			"2|a-very|PENDING|4|gres/gpu:1|500|1:00:00|1:00:00|1",
			"1|train |RUNNING|16|gres/gpu:h100:2|1000|2:00:00|57:55|2",
		)},
		{"squeue times and states", []string{"squeue", "--noheader", "--states=PD,CD", "--format=%.4i %V %S %e %.3t %r"}, lines(
			"   4 2024-06-15T14:18:20 2024-06-15T14:20:00 2024-06-15T14:25:00  CD None",
			"   3 2024-06-15T14:29:30 N/A N/A  PD JobHeldUser",
			"   2 2024-06-15T14:29:00 2024-06-15T15:00:00 N/A  PD Resources",
		)},
		{"squeue jobs by id in any state", []string{"squeue", "-h", "-j", "5,1", "-o", "%i %t %R"}, lines(
			"5 F (NonZeroExitCode)",
			"1 R node[1-2]",
		)},
		{"squeue filters", []string{"squeue", "-h", "-p", "cpu", "-o", "%i %P"}, lines(
			"2 gpu,cpu",
		)},
		{"sinfo default", []string{"sinfo"}, lines(
			"PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST",
			"gpu*         up 1-00:00:00      1    mix node1",
			"gpu*         up 1-00:00:00      1  alloc node2",
			"gpu*         up 1-00:00:00      2   idle node[3-4]",
			"cpu          up   infinite      1   idle cpu1",
			"cpu          up   infinite      1   down cpu2",
			"debug      down      30:00      0    n/a ",
		)},
		{"sinfo node oriented", []string{"sinfo", "-N"}, lines(
			"NODELIST   NODES PARTITION STATE ",
			"cpu1           1       cpu idle  ",
			"cpu2           1       cpu down  ",
			"node1          1      gpu* mix   ",
			"node2          1      gpu* alloc ",
			"node3          1      gpu* idle  ",
			"node4          1      gpu* idle  ",
		)},
		{"sinfo format", []string{"sinfo", "-h", "-p", "gpu", "-o", "%P %a %l %D %t %T %N %c %m %G %E"}, lines(
			"gpu* up 1-00:00:00 1 mix mixed node1 16 65536 gpu:h100:4 none",
			"gpu* up 1-00:00:00 1 alloc allocated node2 16 65536 gpu:h100:4 none",
			"gpu* up 1-00:00:00 2 idle idle node[3-4] 16 65536 gpu:h100:4 none",
		)},
		{"sinfo states and reasons", []string{"sinfo", "-N", "-h", "-t", "down", "-o", "%N %t %E"}, lines(
			"cpu2 down Not responding",
		)},
		{"sinfo summarize", []string{"sinfo", "-s"}, lines(
			"PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T)  NODELIST",
			"gpu*         up 1-00:00:00          2/2/0/4  node[1-4]",
			"cpu          up   infinite          0/1/1/2  cpu[1-2]",
			"debug      down      30:00          0/0/0/0  ",
		)},
		{"sacct default", []string{"sacct", "-D"}, lines(
			"JobID           JobName  Partition    Account  AllocCPUS      State ExitCode ",
			"------------ ---------- ---------- ---------- ---------- ---------- -------- ",
			"1                 train        gpu         ml          8  PREEMPTED     0:15 ",
			"1                 train        gpu         ml         16    RUNNING      0:0 ",
			"3                  held        gpu                     0    PENDING      0:0 ",
			"4                  done        cpu                     1  COMPLETED      0:0 ",
			"5                   bad        cpu                     2     FAILED      3:0 ",
		)},
		{"sacct parsable2", []string{"sacct", "-D", "-j", "1", "-j", "4", "-P", "-o", "JobID,State,ExitCode,Start,End,Elapsed,NodeList,Restarts,Timelimit,ReqMem,AllocTRES,Reason"}, lines(
			"JobID|State|ExitCode|Start|End|Elapsed|NodeList|Restarts|Timelimit|ReqMem|AllocTRES|Reason",
			"1|PREEMPTED|0:15|2024-06-15T12:30:00|2024-06-15T13:06:40|00:36:40|node3|1|02:00:00|32G|billing=8,cpu=8,gres/gpu=2,gres/gpu:h100=2,mem=32G,node=1|reclaim",
			"1|RUNNING|0:0|2024-06-15T13:27:55|Unknown|01:02:05|node[1-2]|1|02:00:00|32G|billing=16,cpu=16,gres/gpu=4,gres/gpu:h100=4,mem=64G,node=2|None",
			"4|COMPLETED|0:0|2024-06-15T14:20:00|2024-06-15T14:25:00|00:05:00|cpu1|0|UNLIMITED|1000M|billing=1,cpu=1,mem=1000M,node=1|None",
		)},
		{"sacct parsable with widths and filters", []string{"sacct", "-a", "-p", "-n", "-s", "PD", "-o", "JobID,User,JobName%5,Submit,Start,NodeList"}, lines(
			"2|bob|a-very-long-job-name|2024-06-15T14:29:00|Unknown|None assigned|",
			"3|alice|held|2024-06-15T14:29:30|Unknown|None assigned|",
		)},
		{"sacct widths", []string{"sacct", "-D", "-X", "--name", "train,done", "-o", "JobID%-4,JobName%4,State%-12"}, lines(
			"JobI JobN State        ",
			"---- ---- ------------ ",
			"1    tra+ PREEMPTED    ",
			"1    tra+ RUNNING      ",
			"4    done COMPLETED    ",
		)},
		{"sacct brief window", []string{"sacct", "-D", "-b", "-n", "-S", "14:22", "-E", "now"}, lines(
			"1             PREEMPTED     0:15 ",
			"1               RUNNING      0:0 ",
			"3               PENDING      0:0 ",
			"4             COMPLETED      0:0 ",
			"5                FAILED      3:0 ",
		)},
		{"sacct window excludes ended jobs", []string{"sacct", "-D", "-b", "-n", "-S", "14:27"}, lines(
			"1             PREEMPTED     0:15 ",
			"1               RUNNING      0:0 ",
			"3               PENDING      0:0 ",
			"5                FAILED      3:0 ",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
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
