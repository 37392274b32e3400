package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// TestSqueueFormats checks the squeue fields and options of issue 14
// against Slurm 22.05's output (src/squeue/print.c, opts.c and squeue.c).
func TestSqueueFormats(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       string
		wantStderr string
	}{
		{"fields without a Fairway counterpart print as Slurm's defaults",
			[]string{"squeue", "-h", "-j", "1", "-o", "%B|%d|%f|%h|%H|%I|%J|%k|%o|%O|%s|%v|%w|%W|%x|%X|%Y|%z"},
			lines("node1|0|(null)|OK|*|*|*|(null)|(null)|0||(null)|(null)|(null)|(null)|N/A|(null)|*:*:*"), ""},
		{"pending job: no exec host",
			[]string{"squeue", "-h", "-j", "2", "-o", "%i %B"}, lines("2 n/a"), ""},
		{"headers", []string{"squeue", "-j", "1", "-o", "%B %d %f %h %H %I %J %k %o %O %v %w %W %x %X %z"},
			lines("EXEC_HOST MIN_TMP_DISK FEATURES OVER_SUBSCRIBE SOCKETS_PER_NODE CORES_PER_SOCKET THREADS_PER_CORE COMMENT COMMAND CONTIGUOUS RESERVATION WCKEY LICENSES EXC_NODES CORE_SPEC S:C:T",
				"node1 0 (null) OK * * * (null) (null) 0 (null) (null) (null) (null) N/A *:*:*"), ""},
		{"group name, not the gid", []string{"squeue", "-h", "-j", "2", "-o", "%g %G"}, lines("g1001 1001"), ""},
		{"unknown field: an error, printed as written, the rest goes on",
			[]string{"squeue", "-h", "-j", "1", "-o", "%i %@ %j"}, lines("1 %@ train"),
			"squeue: error: Invalid job format specification: @\n"},
		{"--Format names, widths, right justification, suffix",
			[]string{"squeue", "-O", "JobID:6,Name:.8,State:10|,UserName"}, lines(
				"JOBID     NAMESTATE     |USER                ",
				"3         heldPENDING   |alice               ",
				"1        trainRUNNING   |alice               ",
				"2     a-very-lPENDING   |bob                 ",
			), ""},
		{"--Format unknown name", []string{"squeue", "-h", "-j", "1", "-O", "jobid:3,bogus,name:6"}, lines("1  train "),
			"squeue: error: Invalid job format specification: bogus\n"},
		{"-O and -o together", []string{"squeue", "-O", "jobid", "-o", "%i"}, "",
			"squeue: error: -o (--format) is incompatible with -O (--Format)\n"},
		{"-l prints the date first", []string{"squeue", "-l", "-j", "4"}, lines(
			"Sat Jun 15 14:30:00 2024",
			"             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)",
			"                 4       cpu     done    alice COMPLETE       5:00 UNLIMITED      1 cpu1",
		), ""},
		{"-w by node", []string{"squeue", "-h", "-w", "node[2-3]", "-o", "%i %N"}, lines("1 node[1-2]"), ""},
		{"-A by account", []string{"squeue", "-h", "-A", "ml", "-o", "%i %a"}, lines("1 ml"), ""},
		{"-q by QOS", []string{"squeue", "-h", "-q", "normal", "-o", "%i"}, lines("3", "1", "2"), ""},
		{"-q no such QOS", []string{"squeue", "-h", "-q", "high", "-o", "%i"}, "", ""},
		{"--noconvert", []string{"squeue", "-h", "-j", "1", "--noconvert", "-o", "%m"}, lines("32768M"), ""},
		{"converted", []string{"squeue", "-h", "-j", "1", "-o", "%m"}, lines("32G"), ""},
		{"-M this cluster prints its name first", []string{"squeue", "-M", "fairway", "-j", "1", "-o", "%i"}, lines("CLUSTER: fairway", "JOBID", "1"), ""},
		{"-M all, no header", []string{"squeue", "--clusters=all", "-h", "-j", "1", "-o", "%i"}, lines("1"), ""},
		{"single unknown job", []string{"squeue", "-j", "999999"}, "", "slurm_load_jobs error: Invalid job id specified\n"},
		{"several job ids, none known: no error", []string{"squeue", "-h", "-j", "999998,999999"}, "", ""},
		{"finished job by id, filtered out by state", []string{"squeue", "-h", "-j", "4", "-t", "R"}, "", ""},
		{"unknown user", []string{"squeue", "-u", "nosuchuser"}, "", "squeue: error: Invalid user: nosuchuser\n"},
		{"-O extras", []string{"squeue", "-h", "-j", "1", "-O", "NumTasks:3,CPUsPerTask:3,RestartCnt:3,Cluster:8,Requeue:2"}, lines("2  8  1  fairway 1 "), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			f.jobs[0].Spec.QOS = ""
			te := &testEnv{}
			code := te.run(t, f, tt.args...)
			wantCode := 0
			if strings.Contains(tt.wantStderr, "Invalid user") || strings.Contains(tt.wantStderr, "Invalid job id") || strings.Contains(tt.wantStderr, "incompatible") {
				wantCode = 1
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, wantCode, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, te.stderr.String()); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// cancelOnWrite cancels a context when the first output is written: squeue
// -i then stops at its first wait, deterministically after one listing.
type cancelOnWrite struct {
	w      io.Writer
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	defer c.once.Do(c.cancel)
	return c.w.Write(p)
}

func TestSqueueIterate(t *testing.T) {
	f := newFakeCtld(t).fixture()
	te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": f.srv.URL}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := te.env()
	env.Stdout = &cancelOnWrite{w: &te.stdout, cancel: cancel}
	code := Run(ctx, env, []string{"squeue", "-i", "60", "-u", "bob"})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
	}
	want := lines(
		"Sat Jun 15 14:30:00 2024",
		"             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)",
		"                 2   gpu,cpu a-very-l      bob PD       0:00      1 (Resources)",
		"",
	)
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("squeue -i mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"0", "x", "-1"} {
		if code := te.run(t, f, "squeue", "-i", bad); code != 1 {
			t.Errorf("squeue -i %s: exit %d, want 1", bad, code)
		}
	}
}

// TestScancelExitCodes: Slurm 22.05 ignores cancelling an ended job (exit
// 0, no message), still reports a signal to one; ARRAYID_[LIST] cancels
// each task of the list.
func TestScancelExitCodes(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantActions []string
		wantStderr  string
	}{
		{"finished job", []string{"scancel", "4"}, 0, nil, ""},
		{"finished and running", []string{"scancel", "5,1"}, 0, []string{"cancel 1"}, ""},
		{"signal to a finished job", []string{"scancel", "-s", "USR1", "4"}, 1, nil,
			"scancel: error: Signal job error on job id 4: job 4 already COMPLETED\n"},
		{"task range", []string{"scancel", "94_[2-3]"}, 0, []string{"cancel 94_2", "cancel 94_3"}, ""},
		{"task list and a job", []string{"scancel", "94_[2,4-5],1"}, 0, []string{"cancel 94_2", "cancel 94_4", "cancel 94_5", "cancel 1"}, ""},
		{"bad task list", []string{"scancel", "94_[2-"}, 1, nil,
			`scancel: error: invalid job id "94_[2-": not a job array task list; write ARRAYID_[TASKS], such as 94_[2-3,7]` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			f.jobs = append(f.jobs, &api.Job{ID: 94, ArrayJobID: 94, ArrayTaskID: -1, ArrayPending: api.TaskIDs{1, 2, 3, 4, 5},
				State: api.JobPending, Spec: api.JobSpec{Name: "arr", User: "alice", UID: 1000}})
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, te.stderr.String())
			}
			if diff := cmp.Diff(tt.wantActions, f.doneActions()); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, te.stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSbatchExitCodes: Slurm 22.05's sbatch exits 255 for an invalid
// option value, with its message first.
func TestSbatchExitCodes(t *testing.T) {
	f := newFakeCtld(t)
	te := &testEnv{dir: t.TempDir()}
	if code := te.run(t, f, "sbatch", "--time=abc", "--wrap", "true"); code != 255 {
		t.Errorf("sbatch --time=abc: exit %d, want 255", code)
	}
	want := "sbatch: error: Invalid --time specification\n" +
		`sbatch: error: invalid --time "abc": want minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED` + "\n"
	if diff := cmp.Diff(want, te.stderr.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// TestSacctFormats checks sacct's options of issue 14 against Slurm 22.05.
func TestSacctFormats(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       string
		wantStderr string
		wantCode   int
	}{
		{"a requeued job shows its last run only", []string{"sacct", "-j", "1", "-X", "-n", "-P", "-o", "State"}, lines("RUNNING"), "", 0},
		{"-D shows every run", []string{"sacct", "-D", "-j", "1", "-X", "-n", "-P", "-o", "State"}, lines("PREEMPTED", "RUNNING"), "", 0},
		{"cancelled by a user", []string{"sacct", "-j", "6", "-n", "-P", "-o", "JobID,State"}, lines("6|CANCELLED by 1000"), "", 0},
		{"cancelled by a user, truncated to the width", []string{"sacct", "-j", "6", "-n", "-o", "JobID,State"}, lines("6            CANCELLED+ "), "", 0},
		{"-M this cluster and the Cluster field", []string{"sacct", "-M", "fairway", "-j", "4", "-n", "-P", "-o", "JobID,Cluster"}, lines("4|fairway"), "", 0},
		{"-L", []string{"sacct", "-L", "-j", "4", "-n", "-P", "-o", "JobID"}, lines("4"), "", 0},
		{"-M elsewhere", []string{"sacct", "--clusters=mars", "-j", "4"}, "",
			"sacct: error: 'mars' can't be reached now, or it is an invalid entry for --cluster.  Use 'sacctmgr list clusters' to see available clusters.\n", 1},
		{"-T clips times to the window", []string{"sacct", "-T", "-X", "-j", "1", "-S", "14:00", "-E", "14:20", "-n", "-P", "-o", "JobID,Start,End,Elapsed"},
			lines("1|2024-06-15T14:00:00|2024-06-15T14:20:00|00:20:00"), "", 0},
		{"--units", []string{"sacct", "--units=G", "-X", "-j", "1", "-n", "-P", "-o", "JobID,ReqMem"}, lines("1|32G"), "", 0},
		{"--units fractions", []string{"sacct", "--units=T", "-X", "-j", "1", "-n", "-P", "-o", "JobID,ReqMem"}, lines("1|0.03T"), "", 0},
		{"--units bad", []string{"sacct", "--units=X", "-j", "1"}, "", "sacct: error: Invalid unit type\nsacct: error: invalid --units \"X\": want K, M, G, T or P\n", 1},
		{"-e lists the fields", []string{"sacct", "-e"}, sacctHelpFormat(), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			uid := 1000
			f.jobs = append(f.jobs, &api.Job{ID: 6, State: api.JobCancelled, Partition: "cpu", CancelledBy: &uid,
				Spec:       api.JobSpec{Name: "stopped", User: "alice", UID: 1000, Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 1},
				SubmitTime: f.now - 100, EndTime: f.now - 50})
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, te.stderr.String()); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if lines := strings.Split(sacctHelpFormat(), "\n"); !strings.HasPrefix(lines[0], "Account             AllocCPUS           AllocNodes          AllocTRES") {
		t.Errorf("sacct -e first line %q, want four names padded to 19 and a space", lines[0])
	}
}

// snakemakeStates parses sacct's answer as Snakemake 8's Slurm executor
// plugin does (job_stati): "|"-separated lines, the job id and the first
// word of the state.
func snakemakeStates(out string) map[string]string {
	res := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Split(line, "|")
		if len(fields) < 2 {
			continue
		}
		state := strings.Fields(fields[1])
		if len(state) == 0 {
			continue
		}
		res[fields[0]] = state[0]
	}
	return res
}

// TestSnakemakeStatusQuery runs Snakemake 8's status query unchanged (its
// check_active_jobs) and its scancel at interruption.
func TestSnakemakeStatusQuery(t *testing.T) {
	f := newFakeCtld(t).fixture()
	const run = "9f2b6c1e-run"
	for _, j := range f.jobs {
		j.Spec.Name = run
	}
	uid := 1000
	f.jobs = append(f.jobs, &api.Job{ID: 6, State: api.JobCancelled, Partition: "cpu", CancelledBy: &uid,
		Spec:       api.JobSpec{Name: run, User: "alice", UID: 1000, Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 1},
		SubmitTime: f.now - 100, EndTime: f.now - 50})
	te := &testEnv{}
	// sacct -X --parsable2 --clusters all --noheader --format=JobIdRaw,State
	// --starttime {now - 2 days, "%Y-%m-%dT%H:00"} --endtime now --name {run_uuid}
	args := []string{"sacct", "-X", "--parsable2", "--clusters", "all", "--noheader", "--format=JobIdRaw,State",
		"--starttime", "2024-06-13T14:00", "--endtime", "now", "--name", run}
	if code := te.run(t, f, args...); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
	}
	want := map[string]string{"1": "RUNNING", "3": "PENDING", "4": "COMPLETED", "5": "FAILED", "6": "CANCELLED"}
	if diff := cmp.Diff(want, snakemakeStates(te.stdout.String())); diff != "" {
		t.Errorf("states as Snakemake reads them (-want +got):\n%s\noutput:\n%s", diff, te.stdout.String())
	}
	if code := te.run(t, f, "scancel", "1", "3", "--clusters=all"); code != 0 {
		t.Errorf("scancel --clusters=all: exit %d, stderr %q", code, te.stderr.String())
	}
}

// TestSinfoFormats checks sinfo's fields and options of issue 14 against
// Slurm 22.05 (src/sinfo/print.c, opts.c).
func TestSinfoFormats(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       string
		wantStderr string
	}{
		{"fields", []string{"sinfo", "-h", "-p", "cpu", "-o", "%R|%b|%B|%H|%I|%M|%n|%o|%S|%u|%U|%V|%X|%Y|%Z|%t"}, lines(
			"cpu|(null)|UNLIMITED|Unknown|1|OFF|cpu1|cpu1|all|Unknown|Unknown|fairway|32|1|1|idle",
			"cpu|(null)|UNLIMITED|Unknown|1|OFF|cpu2|cpu2|all|Unknown|Unknown|fairway|32|1|1|down",
		), ""},
		{"node addresses and preemption", []string{"sinfo", "-h", "-p", "gpu", "-t", "idle", "-o", "%R %M %n %o"}, lines(
			"gpu REQUEUE node[3-4] node[3-4]",
		), ""},
		{"headers", []string{"sinfo", "-p", "debug", "-o", "%b %B %H %I %M %n %o %S %u %U %V %X %Y %Z"}, lines(
			"ACTIVE_FEATURES MAX_CPUS_PER_NODE TIMESTAMP PRIO_JOB_FACTOR PREEMPT_MODE HOSTNAMES NODE_ADDR ALLOCNODES USER USER CLUSTER SOCKETS CORES THREADS",
			"n/a UNLIMITED n/a 1 OFF   all n/a n/a fairway n/a n/a n/a",
		), ""},
		{"free memory and load are not reported", []string{"sinfo", "-h", "-N", "-n", "node1", "-o", "%N %e %O"}, lines("node1 N/A N/A"), ""},
		{"unknown field", []string{"sinfo", "-h", "-p", "cpu", "-t", "idle", "-o", "%R %@"}, lines("cpu %@"), "Invalid node format specification: @\n"},
		{"--Format", []string{"sinfo", "-O", "partition:6,nodes:.5,statelong:.10,nodelist", "-p", "gpu"}, lines(
			"PARTITNODES     STATENODELIST            ",
			"gpu*      1     mixednode1               ",
			"gpu*      1 allocatednode2               ",
			"gpu*      2      idlenode[3-4]           ",
		), ""},
		{"--Format unknown name", []string{"sinfo", "-h", "-O", "partitionname:4,bogus", "-p", "debug"}, lines("debu"),
			"sinfo: error: Invalid job format specification: bogus\n"},
		{"-N -l: partition right-justified, CPUS left", []string{"sinfo", "-N", "-l", "-n", "node1,cpu1"}, lines(
			"NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE REASON              ",
			"cpu1           1       cpu        idle 32     32:1:1 131072        0      1   (null) none                ",
			"node1          1      gpu*       mixed 16     16:1:1  65536        0      1   (null) none                ",
		), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Errorf("exit %d (stderr %q)", code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, te.stderr.String()); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSbatchNodeOptions checks what the node and per-GPU options of issue
// 14 put in the submitted spec.
func TestSbatchNodeOptions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte("node1\nnode3,node4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type got struct {
		Nodes, NTasks, GPUs int
		MemoryMB            int64
		NodeList, Exclude   []string
		Exclusive           bool
	}
	tests := []struct {
		name string
		args []string
		want got
	}{
		{"-w grows the node count to the list", []string{"-w", "node[1-2]"}, got{Nodes: 2, NTasks: 2, NodeList: []string{"node1", "node2"}}},
		{"-w from a file", []string{"--nodelist=./hosts"}, got{Nodes: 3, NTasks: 3, NodeList: []string{"node1", "node3", "node4"}}},
		{"-x", []string{"-x", "node[3-4]"}, got{Nodes: 1, NTasks: 1, Exclude: []string{"node3", "node4"}}},
		{"--exclusive", []string{"--exclusive"}, got{Nodes: 1, NTasks: 1, Exclusive: true}},
		{"--mem-per-gpu", []string{"--gpus-per-node=2", "--mem-per-gpu=10G"}, got{Nodes: 1, NTasks: 1, GPUs: 2, MemoryMB: 20480}},
		{"--ntasks-per-gpu", []string{"-N", "2", "--gpus-per-node=4", "--ntasks-per-gpu=2"}, got{Nodes: 2, NTasks: 16, GPUs: 4}},
		{"--get-user-env is accepted", []string{"--get-user-env"}, got{Nodes: 1, NTasks: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: dir}
			if code := te.run(t, f, append(append([]string{"sbatch"}, tt.args...), "--wrap", "true")...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			s := f.submittedSpecs()[0]
			g := got{Nodes: s.Nodes, NTasks: s.NTasks, GPUs: s.GPUs, MemoryMB: s.MemoryMB, NodeList: s.NodeList, Exclude: s.Exclude, Exclusive: s.Exclusive}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range [][]string{
		{"--mem-per-gpu=10G"},
		{"--ntasks-per-gpu=2"},
		{"-w", "node1", "-x", "node1"},
		{"-N", "1", "-w", "node[1-2]"},
		{"--exclusive=bogus"},
	} {
		te := &testEnv{dir: dir}
		if code := te.run(t, newFakeCtld(t), append(append([]string{"sbatch"}, bad...), "--wrap", "true")...); code != 1 {
			t.Errorf("sbatch %v: exit %d, want 1 (stderr %q)", bad, code, te.stderr.String())
		}
	}
}

// FuzzParseLongFormat: any -O list parses or fails cleanly; every field
// it keeps has a known letter and a width within bounds.
func FuzzParseLongFormat(f *testing.F) {
	for _, s := range []string{"JobID,Name:20,State", "jobarrayid:.18 ,reasonlist:0", "name:", ":5", ",,", "bogus:.7x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseLongFormat(s, squeueLongFields())
		if err != nil {
			return
		}
		for _, fl := range spec.fields {
			if squeueColumn(fl.letter).header == "" || fl.width < 0 || fl.width > 1000 {
				t.Fatalf("parseLongFormat(%q) kept field %+v", s, fl)
			}
		}
	})
}

// FuzzParseCancelRefs: scancel's job ids parse or fail cleanly, and a
// task list expands to at most the array size bound.
func FuzzParseCancelRefs(f *testing.F) {
	for _, s := range []string{"94_[2-3]", "94_[2,4-5],1", "1,2_3", "94_[", "94_[0-15:4]", "_[1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs, err := parseCancelRefs([]string{s})
		if err != nil {
			return
		}
		for _, r := range refs {
			if r.ID == 0 || (r.Task != nil && *r.Task < 0) {
				t.Fatalf("parseCancelRefs(%q) gave %+v", s, r)
			}
		}
	})
}

// TestSqueueCommand: %o is the batch script's path, (null) for --wrap.
func TestSqueueCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\ntrue\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeCtld(t)
	te := &testEnv{dir: dir}
	for _, args := range [][]string{{"sbatch", "job.sh"}, {"sbatch", "--wrap", "true"}} {
		if code := te.run(t, f, args...); code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, te.stderr.String())
		}
	}
	if code := te.run(t, f, "squeue", "-h", "-o", "%i %o"); code != 0 {
		t.Fatalf("squeue: exit %d, stderr %q", code, te.stderr.String())
	}
	want := lines("101 "+filepath.Join(dir, "job.sh"), "102 (null)")
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("squeue %%o (-want +got):\n%s", diff)
	}
}

// TestScontrolShowJobArray: the array's id shows every task, ARRAYID_TASK
// of a pending task shows that task alone.
func TestScontrolShowJobArray(t *testing.T) {
	f := newFakeCtld(t).arrayFixture()
	te := &testEnv{}
	show := func(id string) []string {
		t.Helper()
		if code := te.run(t, f, "scontrol", "show", "job", "-o", id); code != 0 {
			t.Fatalf("scontrol show job %s: exit %d, stderr %q", id, code, te.stderr.String())
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(te.stdout.String()), "\n") {
			var jobID, task string
			for _, kvp := range strings.Fields(l) {
				if v, ok := strings.CutPrefix(kvp, "JobId="); ok {
					jobID = v
				}
				if v, ok := strings.CutPrefix(kvp, "ArrayTaskId="); ok {
					task = v
				}
			}
			out = append(out, jobID+" "+task)
		}
		return out
	}
	if diff := cmp.Diff([]string{"6 4-15%4", "7 0", "8 1", "9 2", "10 3"}, show("6")); diff != "" {
		t.Errorf("show job 6 (JobId ArrayTaskId per record, -want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"6 5"}, show("6_5")); diff != "" {
		t.Errorf("show job 6_5 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"8 1"}, show("6_1")); diff != "" {
		t.Errorf("show job 6_1 (-want +got):\n%s", diff)
	}
}
