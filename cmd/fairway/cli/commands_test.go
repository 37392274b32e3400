package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func boolPtr(b bool) *bool { return &b }

// TestSbatchSubmits checks the job specification sbatch sends for scripts,
// directives, the command line and --wrap.
func TestSbatchSubmits(t *testing.T) {
	dir := t.TempDir()
	image := filepath.Join(dir, "image.tar")
	if err := os.WriteFile(image, []byte("tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/bash\n" +
		"#SBATCH --job-name=fromscript -p gpu,cpu\n" +
		"#SBATCH -N 2 --ntasks-per-node=4 -c 2\n" +
		"#SBATCH --mem=16G --gres=gpu:h100:2\n" +
		"#SBATCH --time=1-12 --output=logs/%x-%j.out\n" +
		"#SBATCH --signal=B:USR1@300 --no-requeue\n" +
		"#SBATCH --container-image=oci-archive:image.tar --container-mounts=/data:/data:ro\n" +
		"#SBATCH --export=NONE,FOO=bar -A ml --priority=7\n" +
		"srun python train.py\n"
	if err := os.WriteFile(filepath.Join(dir, "train.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	arrayScript := "#!/bin/sh\n#SBATCH --array=0-15:4%2 -o out-%A_%a.txt\n#SBATCH -q low\necho $SLURM_ARRAY_TASK_ID\n"
	if err := os.WriteFile(filepath.Join(dir, "array.sh"), []byte(arrayScript), 0o644); err != nil {
		t.Fatal(err)
	}
	base := func(s api.JobSpec) api.JobSpec {
		s.User, s.UID, s.GID, s.SubmitHost = "alice", 1000, 1000, "login1"
		if s.WorkDir == "" {
			s.WorkDir = dir
		}
		return s
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		env        map[string]string
		want       api.JobSpec
		wantStdout string
	}{
		{
			name: "script with directives",
			args: []string{"sbatch", "train.sh", "--lr", "0.1"},
			want: base(api.JobSpec{
				Name: "fromscript", Partitions: []string{"gpu", "cpu"}, Account: "ml",
				Nodes: 2, NTasks: 8, NTasksPerNode: 4, CPUsPerTask: 2, MemoryMB: 16384, GPUs: 2, GPUType: "h100", TimeLimitSecs: 36 * 3600,
				Script: script, Args: []string{"--lr", "0.1"}, Stdout: "logs/%x-%j.out",
				Command: filepath.Join(dir, "train.sh"),
				Env:     map[string]string{"FOO": "bar"}, Priority: 7, Requeue: boolPtr(false),
				Signal:         &api.Signal{Name: "USR1", AtSeconds: 300, BatchOnly: true},
				ContainerImage: "oci-archive:" + image, ContainerMounts: []api.Mount{{Source: "/data", Target: "/data", ReadOnly: true}},
			}),
			wantStdout: "Submitted batch job 101\n",
		},
		{
			name: "command line overrides directives",
			args: []string{"sbatch", "--parsable", "-J", "cli", "-N1", "--gpus=3", "-t", "30", "--requeue", "--export=ALL,X=1", "-D", "sub", "-e", "err-%j", "--mem-per-cpu=1G", "train.sh"},
			env:  map[string]string{"HOME": "/home/alice"},
			want: base(api.JobSpec{
				Name: "cli", Partitions: []string{"gpu", "cpu"}, Account: "ml",
				Nodes: 1, NTasks: 4, NTasksPerNode: 4, CPUsPerTask: 2, MemoryMB: 8192, GPUs: 3, TimeLimitSecs: 1800,
				Script: script, Stdout: "logs/%x-%j.out", Stderr: "err-%j", WorkDir: filepath.Join(dir, "sub"),
				Command: filepath.Join(dir, "train.sh"),
				Env:     map[string]string{"HOME": "/home/alice", "X": "1"}, Priority: 7, Requeue: boolPtr(true),
				Signal:         &api.Signal{Name: "USR1", AtSeconds: 300, BatchOnly: true},
				ContainerImage: "oci-archive:" + image, ContainerMounts: []api.Mount{{Source: "/data", Target: "/data", ReadOnly: true}},
			}),
			wantStdout: "101\n",
		},
		{
			name: "wrap",
			args: []string{"sbatch", "--wrap", "echo hi; exit 3", "-H", "--nice", "-t", "UNLIMITED", "--dependency=afterok:5", "--begin=now+1hour"},
			env:  map[string]string{"PATH": "/bin"},
			want: base(api.JobSpec{
				Name: "wrap", Nodes: 1, NTasks: 1, CPUsPerTask: 1, TimeLimitSecs: api.TimeLimitUnlimited,
				Script: "#!/bin/sh\necho hi; exit 3\n", Env: map[string]string{"PATH": "/bin"}, Hold: true, Nice: 100,
				Dependency: "afterok:5", BeginTime: testNow.Unix() + 3600,
			}),
			wantStdout: "Submitted batch job 101\n",
		},
		{
			name:  "script on standard input, environment defaults",
			args:  []string{"sbatch", "-t", "0"},
			stdin: "#!/bin/sh\n#SBATCH -p cpu\ntrue\n",
			env:   map[string]string{"SBATCH_PARTITION": "gpu", "SBATCH_ACCOUNT": "env-acct"},
			want: base(api.JobSpec{
				Name: "sbatch", Partitions: []string{"gpu"}, Account: "env-acct", Nodes: 1, NTasks: 1, CPUsPerTask: 1,
				TimeLimitSecs: api.TimeLimitUnlimited, Script: "#!/bin/sh\n#SBATCH -p cpu\ntrue\n",
				Env: map[string]string{"SBATCH_PARTITION": "gpu", "SBATCH_ACCOUNT": "env-acct"},
			}),
			wantStdout: "Submitted batch job 101\n",
		},
		{
			name: "job array, QOS and dependency from directives and the environment",
			args: []string{"sbatch", "--qos=high", "-d", "afterok:7_2?singleton", "array.sh"},
			env:  map[string]string{"SBATCH_QOS": "low"},
			want: base(api.JobSpec{
				Name: "array.sh", Nodes: 1, NTasks: 1, CPUsPerTask: 1, Script: arrayScript, Stdout: "out-%A_%a.txt",
				Env: map[string]string{"SBATCH_QOS": "low", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0",
					"SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4"}, Array: "0-15:4%2", QOS: "high", Dependency: "afterok:7_2?singleton",
				Command: filepath.Join(dir, "array.sh"),
			}),
			wantStdout: "Submitted batch job 101\n",
		},
		{
			name: "fairway submit is sbatch",
			args: []string{"fairway", "submit", "--wrap=true", "-p", "cpu", "--time=5:30"},
			want: base(api.JobSpec{
				Name: "wrap", Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 1, TimeLimitSecs: 330,
				Script: "#!/bin/sh\ntrue\n", Env: map[string]string{},
			}),
			wantStdout: "Submitted batch job 101\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: dir, stdin: tt.stdin, vars: tt.env}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			got := f.submittedSpecs()
			if len(got) != 1 {
				t.Fatalf("submitted %d jobs, want 1", len(got))
			}
			delete(got[0].Env, "FAIRWAY_ADDR")
			if diff := cmp.Diff(tt.want, got[0]); diff != "" {
				t.Errorf("submitted spec mismatch (-want +got):\n%s", diff)
			}
			if te.stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", te.stdout.String(), tt.wantStdout)
			}
		})
	}
}

// TestSbatchBadInputSubmitsNothing: every bad input fails with exit status 1
// and a message on stderr naming the field, and nothing reaches the controller
// (except the one error the controller itself finds).
func TestSbatchBadInputSubmitsNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("malformed.sh", "#!/bin/sh\n#SBATCH --nodes\necho hi\n")
	write("unknown.sh", "#!/bin/sh\n#SBATCH -N 1\n#SBATCH --frobnicate\n")
	write("badvalue.sh", "#!/bin/sh\n\n#SBATCH --mem=lots\n")
	write("noshebang.sh", "echo hi\n")
	write("dos.sh", "#!/bin/sh\r\necho hi\r\n")
	write("badarray.sh", "#!/bin/sh\n#SBATCH --array=0-9%x\necho hi\n")
	tests := []struct {
		name string
		args []string
		want string // stderr, exactly
	}{
		{"negative memory", []string{"--mem=-5", "--wrap", "true"},
			`sbatch: error: invalid --mem "-5": must be a positive size such as 4G, 512M or 16000 (megabytes); units are K, M, G and T` + "\n"},
		{"bad gres", []string{"--gres=gpu:x", "--wrap", "true"},
			`sbatch: error: invalid --gres "gpu:x": want gpu:N or gpu:TYPE:N, as in gpu:2 or gpu:h100:2` + "\n"},
		{"directive without value", []string{"malformed.sh"},
			`sbatch: error: malformed.sh line 2: invalid --nodes "": needs a value` + "\n"},
		{"unknown directive", []string{"unknown.sh"},
			`sbatch: error: unknown.sh line 3: invalid option "--frobnicate": unknown option; see --help` + "\n"},
		{"bad directive value", []string{"badvalue.sh"},
			`sbatch: error: badvalue.sh line 3: invalid --mem "lots": must be a positive size such as 4G, 512M or 16000 (megabytes); units are K, M, G and T` + "\n"},
		{"missing image", []string{"--container-image=oci-archive:/nonexistent/image.tar", "--wrap", "true"},
			`sbatch: error: invalid --container-image "oci-archive:/nonexistent/image.tar": cannot use /nonexistent/image.tar: no such file or directory` + "\n"},
		{"no shebang", []string{"noshebang.sh"},
			`sbatch: error: invalid script "noshebang.sh": this does not look like a batch script: the first line must start with #! followed by the path to an interpreter, for instance #!/bin/sh` + "\n"},
		{"dos line breaks", []string{"dos.sh"},
			`sbatch: error: invalid script "dos.sh": the batch script contains DOS line breaks (\r\n) instead of UNIX ones (\n); convert it with dos2unix` + "\n"},
		{"missing script", []string{"nosuch.sh"},
			"sbatch: error: Unable to open file nosuch.sh: no such file or directory\n"},
		{"priority out of range", []string{"--priority=100", "--wrap", "true"},
			`sbatch: error: invalid --priority "100": want a number from 0 (lowest) to 99 (highest)` + "\n"},
		{"zero nodes", []string{"-N", "0", "--wrap", "true"},
			`sbatch: error: invalid --nodes "0": want a node count such as 2` + "\n"},
		{"uneven gpus", []string{"-N", "2", "--gpus=3", "--wrap", "true"},
			`sbatch: error: invalid --gpus "3": 3 GPUs cannot be spread evenly over 2 nodes; use a multiple of 2 or --gpus-per-node` + "\n"},
		{"bad signal", []string{"--signal=NOPE", "--wrap", "true"},
			`sbatch: error: invalid --signal "NOPE": unknown signal "NOPE"; want [B:]SIG[@TIME], as in B:USR1@120` + "\n"},
		{"bad export", []string{"--export=ALL,9X=1", "--wrap", "true"},
			`sbatch: error: invalid --export "ALL,9X=1": "9X" is not a variable name; want ALL, NONE or a list such as ALL,VAR=value,OTHER` + "\n"},
		{"array range backwards", []string{"--array=3-1", "--wrap", "true"},
			`sbatch: error: invalid --array "3-1": "3-1" ends before it starts; want task indices such as 0-15, 1,3,5-7 or 0-15:4, optionally followed by %N to run at most N tasks at once (as in 0-99%10)` + "\n"},
		{"array directive with a bad throttle", []string{"badarray.sh"},
			`sbatch: error: badarray.sh line 2: invalid --array "0-9%x": the limit after % must be a number of tasks of 1 or more, as in 0-99%10` + "\n"},
		{"bad dependency", []string{"--dependency=afterok:5?afterany", "--wrap", "true"},
			`sbatch: error: invalid --dependency "afterok:5?afterany": afterany needs at least one job id, as in afterany:42; want TYPE:JOBID[:JOBID...] terms separated by , (all must hold) or ? (any may hold), where TYPE is after, afterany, afterok or afternotok, or singleton; for example afterok:42:43,afterany:44 or after:42+10` + "\n"},
		{"bad qos name", []string{"--qos=a b", "--wrap", "true"},
			`sbatch: error: invalid --qos "a b": must be a QOS name of letters, digits and . _ @ -` + "\n"},
		{"wrap with arguments", []string{"--wrap", "true", "extra"},
			`sbatch: error: invalid --wrap "true": script arguments are not permitted with --wrap: extra` + "\n"},
		{"bad begin", []string{"--begin=someday", "--wrap", "true"},
			`sbatch: error: invalid --begin "someday": "someday" is not a date: ` + "want YYYY-MM-DD[THH:MM[:SS]], MM/DD[/YY][-HH:MM[:SS]], MMDD[YY], HH:MM[:SS][AM|PM], now[{+|-}N[seconds|minutes|hours|days|weeks]], today, midnight, noon, tomorrow, elevenses, fika or teatime\n"},
		{"unknown option", []string{"--frobnicate", "--wrap", "true"},
			`sbatch: error: invalid option "--frobnicate": unknown option; see --help` + "\n"},
		{"controller refuses", []string{"-p", "nosuch", "--wrap", "true"},
			`sbatch: error: Batch job submission failed: invalid --partition "nosuch": no such partition` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: dir}
			code := te.run(t, f, append([]string{"sbatch"}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if got := te.stderr.String(); got != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.want)
			}
			if te.stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", te.stdout.String())
			}
			if got := f.submittedSpecs(); len(got) != 0 {
				t.Errorf("submitted %d jobs, want none", len(got))
			}
		})
	}
}

func TestScancel(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantActions []string
		wantStderr  string
	}{
		{"ids", []string{"scancel", "1", "2,3"}, 0, []string{"cancel 1", "cancel 2", "cancel 3"}, ""},
		{"signal", []string{"scancel", "--signal=SIGUSR1", "1"}, 0, []string{"cancel 1 USR1"}, ""},
		{"signal by number", []string{"scancel", "-s", "15", "1"}, 0, []string{"cancel 1 TERM"}, ""},
		{"by user", []string{"scancel", "-u", "alice"}, 0, []string{"cancel 1", "cancel 3"}, ""},
		{"by name and state", []string{"scancel", "--me", "-n", "held", "-t", "PENDING"}, 0, []string{"cancel 3"}, ""},
		{"by partition", []string{"fairway", "cancel", "-p", "cpu"}, 0, []string{"cancel 2"}, ""},
		{"unknown id", []string{"scancel", "99999", "1"}, 1, []string{"cancel 1"},
			"scancel: error: Kill job error on job id 99999: Invalid job id specified\n"},
		{"nothing given", []string{"scancel"}, 1, nil, "scancel: error: No job identification provided\n"},
		{"bad signal", []string{"scancel", "-s", "BOGUS", "1"}, 1, nil,
			`scancel: error: invalid --signal "BOGUS": unknown signal; use a name such as USR1, TERM or KILL, or a number` + "\n"},
		{"bad id", []string{"scancel", "abc"}, 1, nil,
			`scancel: error: invalid job id "abc": not a job id; job ids are positive numbers such as 42` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
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

func TestScontrolActions(t *testing.T) {
	tests := []struct {
		args        []string
		wantCode    int
		wantActions []string
		wantStderr  string
	}{
		{[]string{"scontrol", "hold", "2,3"}, 0, []string{"hold 2", "hold 3"}, ""},
		{[]string{"scontrol", "release", "3"}, 0, []string{"release 3"}, ""},
		{[]string{"scontrol", "requeue", "1", "5"}, 0, []string{"requeue 1", "requeue 5"}, ""},
		{[]string{"fairway", "hold", "3"}, 0, []string{"hold 3"}, ""},
		{[]string{"fairway", "release", "3"}, 0, []string{"release 3"}, ""},
		{[]string{"fairway", "requeue", "1"}, 0, []string{"requeue 1"}, ""},
		{[]string{"scontrol", "requeue", "42"}, 1, nil, "scontrol: error: requeue job 42: Invalid job id specified\n"},
		{[]string{"scontrol", "frob"}, 1, nil, `scontrol: error: invalid command "frob": unknown scontrol command; use show, update, hold, release, requeue or token` + "\n"},
		{[]string{"scontrol", "show", "job", "42"}, 1, nil, "scontrol: error: slurm_load_jobs error: Invalid job id specified\n"},
		{[]string{"scontrol", "show", "node", "nope"}, 1, nil, "scontrol: error: Node nope not found\n"},
	}
	for _, tt := range tests {
		f := newFakeCtld(t).fixture()
		te := &testEnv{dir: "/home/alice"}
		if code := te.run(t, f, tt.args...); code != tt.wantCode {
			t.Errorf("%v: exit status %d, want %d (stderr %q)", tt.args, code, tt.wantCode, te.stderr.String())
		}
		if diff := cmp.Diff(tt.wantActions, f.doneActions()); diff != "" {
			t.Errorf("%v: actions mismatch (-want +got):\n%s", tt.args, diff)
		}
		if got := te.stderr.String(); got != tt.wantStderr {
			t.Errorf("%v: stderr %q, want %q", tt.args, got, tt.wantStderr)
		}
	}
}

func TestScontrolHostnames(t *testing.T) {
	te := &testEnv{vars: map[string]string{"SLURM_JOB_NODELIST": "gpu[01-03],login"}}
	if code := te.run(t, nil, "scontrol", "show", "hostnames"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	if got, want := te.stdout.String(), "gpu01\ngpu02\ngpu03\nlogin\n"; got != want {
		t.Errorf("show hostnames = %q, want %q", got, want)
	}
	if code := te.run(t, nil, "scontrol", "show", "hostlist", "n3,n1,n2", "m"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	if got, want := te.stdout.String(), "m,n[1-3]\n"; got != want {
		t.Errorf("show hostlist = %q, want %q", got, want)
	}
}

func TestInstallShims(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fairway")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	te := &testEnv{}
	env := te.env()
	env.Executable = func() (string, error) { return exe, nil }
	if err := installShims(env, bin, false); err != nil {
		t.Fatal(err)
	}
	// Twice is fine: links are replaced.
	if err := installShims(env, bin, false); err != nil {
		t.Fatalf("second install: %v", err)
	}
	for _, name := range SlurmNames() {
		target, err := os.Readlink(filepath.Join(bin, name))
		if err != nil || target != exe {
			t.Errorf("%s -> %q (%v), want a link to %s", name, target, err, exe)
		}
	}
	if err := os.Remove(filepath.Join(bin, "sinfo")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "sinfo"), []byte("real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := installShims(env, bin, false); err == nil || !strings.Contains(err.Error(), "not a link") {
		t.Errorf("install over a real file: %v, want a refusal", err)
	}
}

func TestSqueueSelection(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"squeue", "--me", "-h", "-o", "%i"}, lines("3", "1")},
		{[]string{"fairway", "queue", "-h", "-n", "train,done", "-t", "all", "-o", "%i"}, lines("4", "1")},
		{[]string{"squeue", "-h", "-u", "bob", "-o", "%i %u"}, lines("2 bob")},
		{[]string{"squeue", "-h", "-t", "running", "-o", "%i"}, lines("1")},
		{[]string{"squeue", "-h", "-t", "CD,F", "-S", "-i", "-o", "%i"}, lines("5", "4")},
		{[]string{"squeue", "-h", "-j", "4", "-t", "PD", "-o", "%i"}, ""},
	}
	for _, tt := range tests {
		f := newFakeCtld(t).fixture()
		te := &testEnv{}
		if code := te.run(t, f, tt.args...); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, te.stderr.String())
			continue
		}
		if got := te.stdout.String(); got != tt.want {
			t.Errorf("%v = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestListingErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"squeue", "-t", "nope"}, `squeue: error: invalid --states "NOPE": unknown job state`},
		{[]string{"squeue", "-u", "nosuchuser"}, "squeue: error: Invalid user: nosuchuser\n"},
		{[]string{"squeue", "-M", "elsewhere"}, "squeue: error: 'elsewhere' can't be reached now, or it is an invalid entry for --cluster."},
		{[]string{"squeue", "-j", "999999"}, "slurm_load_jobs error: Invalid job id specified\n"},
		{[]string{"squeue", "-S", "i,zz"}, `squeue: error: invalid --sort "i,zz"`},
		{[]string{"sacct", "-o", "JobID,Bogus"}, `sacct: error: invalid --format "Bogus": invalid field requested`},
		{[]string{"sacct", "-S", "yesterday"}, `sacct: error: invalid --starttime "yesterday"`},
		{[]string{"sinfo", "-t", "sleepy"}, `sinfo: error: invalid --states "sleepy": unknown node state`},
		{[]string{"squeue", "--bogus"}, `squeue: error: invalid option "--bogus": unknown option`},
	}
	for _, tt := range tests {
		f := newFakeCtld(t).fixture()
		te := &testEnv{}
		if code := te.run(t, f, tt.args...); code != 1 {
			t.Errorf("%v: exit %d, want 1", tt.args, code)
		}
		if got := te.stderr.String(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%v: stderr %q, want it to start with %q", tt.args, got, tt.want)
		}
	}
}

func TestControllerDown(t *testing.T) {
	te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": "http://127.0.0.1:1", "FAIRWAY_RETRY_SECS": "0"}}
	for _, cmd := range []string{"squeue", "sinfo", "sacct"} {
		if code := Run(context.Background(), te.env(), []string{cmd}); code != 1 {
			t.Errorf("%s with no controller: exit %d, want 1", cmd, code)
		}
	}
	if got := te.stderr.String(); strings.Count(got, "error: list") != 3 || !strings.Contains(got, "127.0.0.1:1") {
		t.Errorf("stderr %q does not say the controller could not be reached", got)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"sbatch", "--help"}, {"squeue", "--help"}, {"fairway", "submit", "-h"}, {"fairway", "--help"}} {
		te := &testEnv{}
		if code := te.run(t, nil, args...); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, te.stderr.String())
		}
		if !strings.Contains(te.stdout.String(), "USAGE") {
			t.Errorf("%v printed no usage: %q", args, te.stdout.String())
		}
	}
}

func TestAddrFlag(t *testing.T) {
	f := newFakeCtld(t).fixture()
	for _, args := range [][]string{
		{"fairway", "--addr", f.srv.URL, "queue", "-h", "-o", "%i", "-u", "bob"},
		{"squeue", "--addr", f.srv.URL, "-h", "-o", "%i", "-u", "bob"},
		{"squeue", "-h", "-o", "%i", "-u", "bob", "--addr=" + strings.TrimPrefix(f.srv.URL, "http://")},
	} {
		te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": "http://127.0.0.1:1"}}
		if code := Run(context.Background(), te.env(), args); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, te.stderr.String())
		}
		if got := te.stdout.String(); got != "2\n" {
			t.Errorf("%v = %q, want job 2 from the --addr controller", args, got)
		}
	}
}

func TestCheckpointDone(t *testing.T) {
	tests := []struct {
		name        string
		vars        map[string]string
		args        []string
		wantCode    int
		wantActions []string
		wantStderr  string
	}{
		{"the job from FAIRWAY_JOB_ID", map[string]string{"FAIRWAY_JOB_ID": "1", "SLURM_JOB_ID": "5"}, []string{"fairway", "checkpoint", "done"}, 0, []string{"checkpoint 1"}, ""},
		{"the job from SLURM_JOB_ID", map[string]string{"SLURM_JOB_ID": "1"}, []string{"fairway", "checkpoint", "done"}, 0, []string{"checkpoint 1"}, ""},
		{"a job named", nil, []string{"fairway", "checkpoint", "done", "1"}, 0, []string{"checkpoint 1"}, ""},
		{"a job that is not running", nil, []string{"fairway", "checkpoint", "done", "3"}, 1, nil,
			"checkpoint done: error: job 3 is PENDING: only a running job records checkpoints (fairway checkpoint done runs inside the job)\n"},
		{"outside a job", nil, []string{"fairway", "checkpoint", "done"}, 1, nil,
			"checkpoint done: error: no job: run it inside a job (FAIRWAY_JOB_ID or SLURM_JOB_ID set) or name the job\n"},
		{"an unknown job", nil, []string{"fairway", "checkpoint", "done", "42"}, 1, nil,
			"checkpoint done: error: job 42: Invalid job id specified\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			te := &testEnv{dir: "/home/alice", vars: tt.vars}
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
