package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func TestScontrolShowGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"running job", []string{"scontrol", "show", "job", "1"}, lines(
			"JobId=1 JobName=train",
			"   UserId=alice(1000) GroupId=g1000(1000) MCS_label=N/A",
			"   Priority=1000 Nice=0 Account=ml QOS=normal",
			"   JobState=RUNNING Reason=None Dependency=(null)",
			"   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=0:0",
			"   RunTime=01:02:05 TimeLimit=02:00:00 TimeMin=N/A",
			"   SubmitTime=2024-06-15T12:16:40 EligibleTime=2024-06-15T12:16:40",
			"   AccrueTime=2024-06-15T12:16:40",
			"   StartTime=2024-06-15T13:27:55 EndTime=2024-06-15T15:27:55 Deadline=N/A",
			"   LastCheckpoint=None LostGPUHours=0.00",
			"   Partition=gpu AllocNode:Sid=login1:0",
			"   ReqNodeList=(null) ExcNodeList=(null)",
			"   NodeList=node[1-2]",
			"   BatchHost=node1",
			"   NumNodes=2 NumCPUs=16 NumTasks=2 CPUs/Task=8 ReqB:S:C:T=0:0:*:*",
			"   ReqTRES=cpu=16,mem=64G,node=2,billing=16,gres/gpu=4,gres/gpu:h100=4",
			"   AllocTRES=cpu=16,mem=64G,node=2,billing=16,gres/gpu=4,gres/gpu:h100=4",
			"   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*",
			"   MinCPUsNode=8 MinMemoryNode=32G MinTmpDiskNode=0",
			"   Features=(null) DelayBoot=00:00:00",
			"   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)",
			"   Command=(null)",
			"   WorkDir=/home/alice/run",
			"   StdErr=/home/alice/run/slurm-1.out",
			"   StdIn=/dev/null",
			"   StdOut=/home/alice/run/slurm-1.out",
			"   TresPerNode=gres/gpu:h100:2",
			"",
		)},
		{"held job", []string{"fairway", "show", "job", "3"}, lines(
			"JobId=3 JobName=held",
			"   UserId=alice(1000) GroupId=g1000(1000) MCS_label=N/A",
			"   Priority=0 Nice=0 Account=(null) QOS=normal",
			"   JobState=PENDING Reason=JobHeldUser Dependency=(null)",
			"   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0",
			"   RunTime=00:00:00 TimeLimit=01:00:00 TimeMin=N/A",
			"   SubmitTime=2024-06-15T14:29:30 EligibleTime=2024-06-15T14:29:30",
			"   AccrueTime=2024-06-15T14:29:30",
			"   StartTime=Unknown EndTime=Unknown Deadline=N/A",
			"   LastCheckpoint=None LostGPUHours=0.00",
			"   Partition=gpu AllocNode:Sid=(null):0",
			"   ReqNodeList=(null) ExcNodeList=(null)",
			"   NodeList=(null)",
			"   NumNodes=1-1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:*",
			"   ReqTRES=cpu=1,mem=1G,node=1,billing=1",
			"   AllocTRES=(null)",
			"   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*",
			"   MinCPUsNode=1 MinMemoryNode=1G MinTmpDiskNode=0",
			"   Features=(null) DelayBoot=00:00:00",
			"   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)",
			"   Command=(null)",
			"   WorkDir=/home/alice",
			"   StdErr=/home/alice/held-3.out",
			"   StdIn=/dev/null",
			"   StdOut=/home/alice/held-3.out",
			"",
		)},
		{"one-liner", []string{"scontrol", "-o", "show", "job", "5"}, "JobId=5 JobName=bad UserId=alice(1000) GroupId=g1000(1000) MCS_label=N/A " +
			"Priority=0 Nice=0 Account=(null) QOS=normal JobState=FAILED Reason=NonZeroExitCode Dependency=(null) " +
			"Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:05 TimeLimit=00:10:00 TimeMin=N/A " +
			"SubmitTime=2024-06-15T14:26:40 EligibleTime=2024-06-15T14:26:40 AccrueTime=2024-06-15T14:26:40 " +
			"StartTime=2024-06-15T14:28:20 EndTime=2024-06-15T14:28:25 Deadline=N/A LastCheckpoint=None LostGPUHours=0.00 Partition=cpu AllocNode:Sid=(null):0 " +
			"ReqNodeList=(null) ExcNodeList=(null) NodeList=cpu1 BatchHost=cpu1 NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 " +
			"ReqB:S:C:T=0:0:*:* ReqTRES=cpu=2,mem=1G,node=1,billing=2 AllocTRES=cpu=2,mem=1G,node=1,billing=2 " +
			"Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=2 MinMemoryNode=1G MinTmpDiskNode=0 " +
			"Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) " +
			"WorkDir=/home/alice StdErr=/tmp/bad-0005.err StdIn=/dev/null StdOut=/home/alice/bad-cpu1-5.out\n"},
		{"node", []string{"scontrol", "show", "node", "node1"}, lines(
			"NodeName=node1 CoresPerSocket=1",
			"   CPUAlloc=8 CPUEfctv=16 CPUTot=16 CPULoad=N/A",
			"   AvailableFeatures=(null)",
			"   ActiveFeatures=(null)",
			"   Gres=gpu:h100:4",
			"   NodeAddr=node1 NodeHostName=node1",
			"   RealMemory=65536 AllocMem=16384 FreeMem=N/A Sockets=16 Boards=1",
			"   State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A",
			"   Partitions=gpu",
			"   BootTime=None SlurmdStartTime=2024-06-15T14:29:55",
			"   LastBusyTime=Unknown",
			"   CfgTRES=cpu=16,mem=64G,billing=16,gres/gpu=4",
			"   AllocTRES=cpu=8,mem=16G,gres/gpu=2",
			"",
		)},
		{"partition", []string{"scontrol", "show", "partition", "gpu"}, lines(
			"PartitionName=gpu",
			"   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL",
			"   AllocNodes=ALL Default=YES QoS=N/A",
			"   DefaultTime=01:00:00 DisableRootJobs=NO ExclusiveUser=NO GraceTime=60 Hidden=NO",
			"   MaxNodes=UNLIMITED MaxTime=1-00:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED",
			"   Nodes=node[1-4]",
			"   PriorityJobFactor=1 PriorityTier=0 RootOnly=NO ReqResv=NO OverSubscribe=NO",
			"   OverTimeLimit=NONE PreemptMode=REQUEUE",
			"   State=UP TotalCPUs=64 TotalNodes=4 SelectTypeParameters=NONE",
			"   JobDefaults=(null)",
			"   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED",
			"   TRES=cpu=64,mem=256G,node=4,billing=64,gres/gpu=16",
			"",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			te := &testEnv{dir: "/home/alice"}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("%v mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestScontrolShowAll(t *testing.T) {
	f := newFakeCtld(t).fixture()
	te := &testEnv{}
	if code := te.run(t, f, "scontrol", "show", "jobs"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	var ids []string
	for _, l := range strings.Split(te.stdout.String(), "\n") {
		if strings.HasPrefix(l, "JobId=") {
			ids = append(ids, strings.Fields(l)[0])
		}
	}
	if diff := cmp.Diff([]string{"JobId=1", "JobId=2", "JobId=3", "JobId=4", "JobId=5"}, ids); diff != "" {
		t.Errorf("show jobs lists (-want +got):\n%s", diff)
	}
}

func TestScontrolToken(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		wantCode int
		wantOut  string
		wantErr  string
		wantCall []tokenCall
	}{
		{"defaults", []string{"token"}, nil, 0, "SLURM_JWT=eyJ.tok.sig\n", "", []tokenCall{{}}},
		{"lifespan and user", []string{"token", "lifespan=60", "UserName=bob"}, nil, 0, "SLURM_JWT=eyJ.tok.sig\n", "",
			[]tokenCall{{Req: api.TokenRequest{LifespanSecs: 60, Username: "bob"}}}},
		{"with SLURM_JWT set", []string{"token"}, map[string]string{"SLURM_JWT": "old"}, 0, "SLURM_JWT=eyJ.tok.sig\n", "",
			[]tokenCall{{Token: "old"}}},
		{"bad lifespan", []string{"token", "lifespan=soon"}, nil, 1, "", "invalid lifespan", nil},
		{"unknown option", []string{"token", "user=bob"}, nil, 1, "", "unknown token option", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{vars: tt.vars}
			if te.vars == nil {
				te.vars = map[string]string{}
			}
			te.vars["FAIRWAY_MUNGE_SOCKET"] = filepath.Join(t.TempDir(), "no-munged.sock")
			code := te.run(t, f, append([]string{"scontrol"}, tt.args...)...)
			if code != tt.wantCode || te.stdout.String() != tt.wantOut || !strings.Contains(te.stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, containing %q", code, te.stdout.String(), te.stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCall, f.tokens); diff != "" {
				t.Errorf("token requests (-want +got):\n%s", diff)
			}
		})
	}
}
