package cli

import (
	"context"
	"io"
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
