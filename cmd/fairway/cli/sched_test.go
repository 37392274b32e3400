package cli

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// arrayFixture adds job array 6 of carol to the fixture: tasks 0-2 running
// as jobs 7-9, task 3 completed as job 10, tasks 4-15 pending in the
// array's record (at most 4 running at once).
func (f *fakeCtld) arrayFixture() *fakeCtld {
	now := f.now
	spec := api.JobSpec{Name: "sweep", User: "carol", UID: 1002, GID: 1002, Account: "ml", Partitions: []string{"gpu"},
		Nodes: 1, NTasks: 1, CPUsPerTask: 2, GPUs: 1, TimeLimitSecs: 1800, WorkDir: "/home/carol", QOS: "scavenger"}
	task := func(id api.JobID, t int, node string, gpu int) *api.Job {
		s := spec
		return &api.Job{ID: id, Spec: s, State: api.JobRunning, Partition: "gpu", SubmitTime: now - 900, StartTime: now - 600,
			Alloc:      []api.NodeAlloc{{Node: node, CPUs: 2, MemoryMB: 1024, GPUs: []int{gpu}}},
			Runs:       []api.JobRun{{Run: 0, Nodes: []string{node}, StartTime: now - 600, State: api.JobRunning}},
			ArrayJobID: 6, ArrayTaskID: t}
	}
	rec := spec
	rec.Array = "0-15%4"
	pending, _ := api.ParseArray("4-15", 0)
	done := task(10, 3, "node4", 2)
	done.State, done.EndTime, done.Alloc = api.JobCompleted, now-60, nil
	done.Runs[0].State, done.Runs[0].EndTime = api.JobCompleted, now-60
	f.jobs = append(f.jobs,
		&api.Job{ID: 6, Spec: rec, State: api.JobPending, Reason: "JobArrayTaskLimit", Partition: "gpu", Priority: 300,
			SubmitTime: now - 900, ArrayJobID: 6, ArrayTaskID: -1, ArrayPending: pending.Tasks, ArrayMaxRun: 4},
		task(7, 0, "node3", 0), task(8, 1, "node3", 1), task(9, 2, "node4", 0), done,
	)
	return f
}

// TestArrayOutputGolden checks how job arrays print: tasks as ARRAYID_TASK,
// the pending remainder as ARRAYID_[TASKS%LIMIT].
func TestArrayOutputGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"squeue default", []string{"squeue", "-u", "carol"}, lines(
			"             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)",
			"        6_[4-15%4]       gpu    sweep    carol PD       0:00      1 (JobArrayTaskLimit)",
			"               6_0       gpu    sweep    carol  R      10:00      1 node3",
			"               6_1       gpu    sweep    carol  R      10:00      1 node3",
			"               6_2       gpu    sweep    carol  R      10:00      1 node4",
		)},
		{"squeue array fields", []string{"squeue", "-h", "-j", "6", "-t", "all", "-S", "i", "-o", "%i|%A|%F|%K|%q|%T"}, lines(
			"6_[4-15%4]|6|6|4-15%4|scavenger|PENDING",
			"6_0|7|6|0|scavenger|RUNNING",
			"6_1|8|6|1|scavenger|RUNNING",
			"6_2|9|6|2|scavenger|RUNNING",
			"6_3|10|6|3|scavenger|COMPLETED",
		)},
		{"squeue one line per task", []string{"squeue", "-h", "-r", "-j", "6_2,6_5,6_15", "-S", "i", "-o", "%.6i %t"}, lines(
			"   6_2 R",
			"   6_5 PD",
			"  6_15 PD",
		)},
		{"sacct tasks", []string{"sacct", "-a", "-j", "6", "-o", "JobID,JobIDRaw,State,NodeList,QOS"}, lines(
			"JobID        JobIDRaw          State        NodeList        QOS ",
			"------------ ------------ ---------- --------------- ---------- ",
			"6_[4-15%4]   6               PENDING   None assigned  scavenger ",
			"6_0          7               RUNNING           node3  scavenger ",
			"6_1          8               RUNNING           node3  scavenger ",
			"6_2          9               RUNNING           node4  scavenger ",
			"6_3          10            COMPLETED           node4  scavenger ",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture().arrayFixture()
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

func TestScontrolShowArray(t *testing.T) {
	tests := []struct {
		ref   string
		first string // the first line of the record
	}{
		// A task that has not started shows as itself (Slurm 22.05), not
		// as the pending remainder.
		{"6_9", "JobId=6 ArrayJobId=6 ArrayTaskId=9 JobName=sweep"},
		{"6_1", "JobId=8 ArrayJobId=6 ArrayTaskId=1 JobName=sweep"},
		{"8", "JobId=8 ArrayJobId=6 ArrayTaskId=1 JobName=sweep"},
	}
	for _, tt := range tests {
		f := newFakeCtld(t).fixture().arrayFixture()
		te := &testEnv{}
		if code := te.run(t, f, "scontrol", "show", "job", tt.ref); code != 0 {
			t.Fatalf("show job %s: exit %d, stderr %q", tt.ref, code, te.stderr.String())
		}
		first, _, _ := strings.Cut(te.stdout.String(), "\n")
		if got := strings.TrimSpace(first); got != tt.first {
			t.Errorf("show job %s: first line %q, want %q", tt.ref, got, tt.first)
		}
	}
}

func TestScancelArrays(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantActions []string
		wantStderr  string
	}{
		{"the array job id cancels the whole array", []string{"scancel", "6"}, 0, []string{"cancel 6"}, ""},
		{"tasks one by one", []string{"scancel", "6_2", "6_9"}, 0, []string{"cancel 6_2", "cancel 6_9"}, ""},
		{"by user: the pending remainder alone and each running task", []string{"scancel", "-u", "carol"}, 0,
			[]string{"cancel 6 job-only", "cancel 6_0", "cancel 6_1", "cancel 6_2"}, ""},
		{"pending only", []string{"scancel", "-u", "carol", "-t", "PD"}, 0, []string{"cancel 6 job-only"}, ""},
		{"unknown task", []string{"scancel", "6_99"}, 1, nil,
			"scancel: error: Kill job error on job id 6_99: Invalid job id specified\n"},
		{"bad task", []string{"scancel", "6_x"}, 1, nil,
			`scancel: error: invalid job id "6_x": not a job array task; write ARRAYID_TASK, such as 42_3` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture().arrayFixture()
			te := &testEnv{dir: "/home/alice"}
			if code := te.run(t, f, tt.args...); code != tt.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tt.wantCode, te.stderr.String())
			}
			if diff := cmp.Diff(tt.wantActions, f.doneActions()); diff != "" {
				t.Errorf("actions mismatch (-want +got):\n%s", diff)
			}
			if got := te.stderr.String(); got != tt.wantStderr {
				t.Errorf("stderr %q, want %q", got, tt.wantStderr)
			}
		})
	}
}

// prioFixture gives the fake controller the priority factors of three
// pending jobs.
func (f *fakeCtld) prioFixture() *fakeCtld {
	f.prios = api.PrioritiesResponse{
		Index: 1, Now: f.now,
		Weights: api.PriorityWeights{Age: 1000, FairShare: 10000, JobSize: 100, Partition: 1000, QOS: 2000,
			TRES: map[string]float64{"gpu": 500}},
		Rows: []api.PriorityRow{
			{JobID: 2, Partition: "gpu", User: "bob", Account: "vision", QOSName: "normal", Priority: 6544.15,
				Age: 12.4, FairShare: 5000.5, JobSize: 31.25, PartitionF: 1000, TRES: map[string]float64{"gpu": 500}},
			{JobID: 3, Partition: "gpu", User: "alice", Account: "root", QOSName: "normal", Priority: 1, Nice: 100},
			{JobID: 6, Partition: "gpu", User: "carol", Account: "ml", QOSName: "scavenger", Priority: 2375.9,
				Age: 250.9, FairShare: 2000, JobSize: 25, QOS: 100},
		},
	}
	return f
}

// TestSprioGolden checks sprio's layouts against Slurm's: weighted factors
// rounded, the priority truncated, normalized factors with 7 decimals.
func TestSprioGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default", []string{"sprio"}, lines(
			"          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  PARTITION        QOS",
			"              2 gpu             6544          0         12       5000         31       1000          0",
			"              3 gpu                1          0          0          0          0          0          0",
			"              6 gpu             2375          0        251       2000         25          0        100",
		)},
		{"long", []string{"sprio", "-l", "-u", "bob,carol"}, lines(
			"          JOBID PARTITION     USER   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  PARTITION        QOS        NICE                 TRES",
			"              2 gpu            bob       6544          0         12       5000         31       1000          0           0              gpu=500",
			"              6 gpu          carol       2375          0        251       2000         25          0        100           0                     ",
		)},
		{"normalized", []string{"sprio", "-n", "-j2"}, lines(
			"          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  PARTITION        QOS",
			"              2 gpu       0.00000152          0  0.0124000  0.5000500  0.3125000  1.0000000  0.0000000",
		)},
		{"weights", []string{"sprio", "-w"}, lines(
			"          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  PARTITION        QOS",
			"        Weights                               1       1000      10000        100       1000       2000",
		)},
		{"format and sort", []string{"fairway", "priority", "-h", "-S", "-y", "-o", "%i %u %o %n %Y %A %F %J %P %Q %N %T %t"}, lines(
			"2 bob vision normal 6544 12 5000 31 1000 0 0 gpu=500 gpu=1.00",
			"6 carol ml scavenger 2375 251 2000 25 0 100 0  ",
			"3 alice root normal 1 0 0 0 0 0 100  ",
		)},
		{"jobs by list after -j", []string{"sprio", "-h", "-o", "%i", "-j", "6,3"}, lines("3", "6")},
		{"no such job", []string{"sprio", "-j", "42"}, lines("Unable to find jobs matching user/id(s) specified")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).prioFixture()
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("%v: exit %d, stderr %q", tt.args, code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("%v output mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestSprioErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sprio", "-l", "-o", "%i"}, "sprio: error: Options -o(--format) and -l(--long) are mutually exclusive. Please remove one and retry.\n"},
		{[]string{"sprio", "-o", "%i %Z"}, `sprio: error: invalid --format "%i %Z": unknown field %Z` + "\n"},
		{[]string{"sprio", "7"}, `sprio: error: invalid argument "7": unrecognized; give job ids with -j` + "\n"},
	}
	for _, tt := range tests {
		f := newFakeCtld(t).prioFixture()
		te := &testEnv{}
		if code := te.run(t, f, tt.args...); code != 1 {
			t.Errorf("%v: exit %d, want 1", tt.args, code)
		}
		if got := te.stderr.String(); got != tt.want {
			t.Errorf("%v: stderr %q, want %q", tt.args, got, tt.want)
		}
	}
}

// shareFixture gives the fake controller a Fair Tree of two accounts: ml
// (users alice and carol) and vision (user bob).
func (f *fakeCtld) shareFixture(algorithm string) *fakeCtld {
	f.shares = api.SharesResponse{Index: 1, Now: f.now, Algorithm: algorithm, Rows: []api.ShareRow{
		{Account: "root", Depth: 0, NormShares: 1, RawUsage: 3600.7, NormUsage: 1, EffectvUsage: 1},
		{Account: "ml", Depth: 1, RawShares: 60, NormShares: 0.6, RawUsage: 3000, NormUsage: 0.833172, EffectvUsage: 0.833172, FairShare: 0.45, LevelFS: 0.720139},
		{Account: "ml", User: "alice", Depth: 2, RawShares: 1, NormShares: 0.5, FairShare: 1, LevelFS: math.Inf(1)},
		{Account: "ml", User: "carol", Depth: 2, RawShares: 1, NormShares: 0.5, RawUsage: 3000, NormUsage: 0.833172, EffectvUsage: 1, FairShare: 0.666667, LevelFS: 0.5},
		{Account: "vision", Depth: 1, RawShares: 40, NormShares: 0.4, RawUsage: 600.7, NormUsage: 0.166828, EffectvUsage: 0.166828, FairShare: 0.7, LevelFS: 12345.678901},
		{Account: "vision", User: "bob", Depth: 2, SharesParent: true, NormShares: 0.4, RawUsage: 600.7, NormUsage: 0.166828, EffectvUsage: 1, FairShare: 0.333333},
	}}
	return f
}

// TestSshareGolden checks sshare's layouts against Slurm's: the tree
// indented by depth, Slurm's widths, blanks where Slurm prints none.
func TestSshareGolden(t *testing.T) {
	tests := []struct {
		name      string
		algorithm string
		args      []string
		want      string
	}{
		{"default: every account, my users", api.FairShareFairTree, []string{"sshare"}, lines(
			"Account                    User  RawShares  NormShares    RawUsage  EffectvUsage  FairShare ",
			"-------------------- ---------- ---------- ----------- ----------- ------------- ---------- ",
			"root                                          1.000000        3600      1.000000            ",
			" ml                                     60    0.600000        3000      0.833172            ",
			"  ml                      alice          1    0.500000           0      0.000000   1.000000 ",
			" vision                                 40    0.400000         600      0.166828            ",
		)},
		{"long, all users", api.FairShareFairTree, []string{"sshare", "-l", "-a"}, lines(
			"Account                    User  RawShares  NormShares    RawUsage   NormUsage  EffectvUsage  FairShare    LevelFS ",
			"-------------------- ---------- ---------- ----------- ----------- ----------- ------------- ---------- ---------- ",
			"root                                          1.000000        3600    1.000000      1.000000                       ",
			" ml                                     60    0.600000        3000    0.833172      0.833172              0.720139 ",
			"  ml                      alice          1    0.500000           0    0.000000      0.000000   1.000000        inf ",
			"  ml                      carol          1    0.500000        3000    0.833172      1.000000   0.666667   0.500000 ",
			" vision                                 40    0.400000         600    0.166828      0.166828            1.2346e+04 ",
			"  vision                    bob     parent    0.400000         600    0.166828      1.000000   0.333333            ",
		)},
		{"parsable, chosen fields", api.FairShareFairTree, []string{"fairway", "shares", "-a", "-P", "-o", "Acc,User,RawS,Fair,Level"}, lines(
			"Account|User|RawShares|FairShare|LevelFS",
			"root||||",
			" ml||60||0.720139",
			"  ml|alice|1|1.000000|inf",
			"  ml|carol|1|0.666667|0.500000",
			" vision||40||12345.678901",
			"  vision|bob|parent|0.333333|",
		)},
		{"accounts, users only, no header, trailing delimiter", api.FairShareFairTree, []string{"sshare", "-A", "vision,ml", "-U", "-u", "bob,carol", "-n", "-p", "-o", "Account,User"}, lines(
			"  ml|carol|",
			"  vision|bob|",
		)},
		{"classic prints accounts' factors and no Level FS", api.FairShareClassic, []string{"sshare", "-a", "-A", "ml", "-o", "Account,User,FairShare,LevelFS%6"}, lines(
			"Account                    User  FairShare LevelF ",
			"-------------------- ---------- ---------- ------ ",
			" ml                               0.450000        ",
			"  ml                      alice   1.000000        ",
			"  ml                      carol   0.666667        ",
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).shareFixture(tt.algorithm)
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("%v: exit %d, stderr %q", tt.args, code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("%v output mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestSprioSshareHelp(t *testing.T) {
	for _, args := range [][]string{{"sprio", "--help"}, {"sshare", "--help"}, {"fairway", "priority", "--help"}, {"fairway", "shares", "--help"}} {
		te := &testEnv{}
		if code := te.run(t, nil, args...); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, te.stderr.String())
		}
		if !strings.Contains(te.stdout.String(), "USAGE") {
			t.Errorf("%v printed no usage: %q", args, te.stdout.String())
		}
	}
}

func TestScontrolActionsOnArrayTasks(t *testing.T) {
	f := newFakeCtld(t).fixture().arrayFixture()
	te := &testEnv{}
	if code := te.run(t, f, "scontrol", "requeue", "6_1,6_2"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
	}
	if code := te.run(t, f, "scontrol", "hold", "6_99"); code != 1 || te.stderr.String() != "scontrol: error: hold job 6_99: Invalid job id specified\n" {
		t.Errorf("hold of an unknown task: exit %d, stderr %q", code, te.stderr.String())
	}
	if diff := cmp.Diff([]string{"requeue 6_1", "requeue 6_2"}, f.doneActions()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}
