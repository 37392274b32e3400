package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// TestSbatchRetry: --retry from the command line, #SBATCH and SBATCH_RETRY
// reaches the controller as given (the command line first, then the
// environment, then the directive); a bad one is refused naming --retry and
// submits nothing.
func TestSbatchRetry(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\n#SBATCH --retry=1,on_exit:3\nexit $((SLURM_RESTART_COUNT == 0 ? 3 : 0))\n"
	if err := os.WriteFile(filepath.Join(dir, "flaky.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.sh"), []byte("#!/bin/sh\n\n#SBATCH --retry=2,on_exit:300\ntrue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"directive", []string{"flaky.sh"}, nil, "1,on_exit:3"},
		{"command line over the directive", []string{"--retry", "2, on_exit:3, on_node_fail", "flaky.sh"}, nil, "2,on_exit:3,on_node_fail"},
		{"environment over the directive", []string{"flaky.sh"}, map[string]string{"SBATCH_RETRY": "0"}, "0"},
		{"any failure", []string{"--retry=3", "--wrap", "true"}, nil, "3"},
		{"none given: the partition's default", []string{"--wrap", "true"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: dir, vars: tt.env}
			if code := te.run(t, f, append([]string{"sbatch"}, tt.args...)...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			got := f.submittedSpecs()
			if len(got) != 1 {
				t.Fatalf("submitted %d jobs, want 1", len(got))
			}
			if got[0].Retry != tt.want {
				t.Errorf("submitted --retry %q, want %q", got[0].Retry, tt.want)
			}
		})
	}

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"unknown condition", []string{"--retry=2,on_exitt:3", "--wrap", "true"},
			`sbatch: error: invalid --retry "2,on_exitt:3": condition "on_exitt:3": unknown condition; ` + api.RetryForms + "\n"},
		{"too many", []string{"--retry=50", "--wrap", "true"},
			`sbatch: error: invalid --retry "50": the number of retries must be from 0 to 10` + "\n"},
		{"directive", []string{"bad.sh"},
			`sbatch: error: bad.sh line 3: invalid --retry "2,on_exit:300": condition "on_exit:300": exit codes run from 1 to 255, the low end first (0 is success); ` + api.RetryForms + "\n"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: dir}
			if code := te.run(t, f, append([]string{"sbatch"}, tt.args...)...); code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if diff := cmp.Diff(tt.want, te.stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if got := f.submittedSpecs(); len(got) != 0 {
				t.Errorf("submitted %d jobs, want none", len(got))
			}
		})
	}
}

// retriedJob is a job whose first run exited 3, retried by its policy, and
// whose second run completed.
func retriedJob(now int64) *api.Job {
	return &api.Job{
		ID: 80, State: api.JobCompleted, Partition: "cpu", RestartCount: 1, Retries: 1, SubmitTime: now - 900,
		StartTime: now - 300, EndTime: now - 200,
		Spec: api.JobSpec{Name: "flaky", User: "alice", UID: 1000, GID: 1000, Partitions: []string{"gpu", "cpu"},
			Nodes: 1, NTasks: 1, CPUsPerTask: 1, WorkDir: "/home/alice", Retry: "1,on_exit:3"},
		Runs: []api.JobRun{
			{Run: 0, Nodes: []string{"node3"}, StartTime: now - 800, EndTime: now - 700, State: api.JobFailed, ExitCode: 3,
				Reason: "retry 1 of 1 after exit code 3"},
			{Run: 1, Nodes: []string{"cpu1"}, StartTime: now - 300, EndTime: now - 200, State: api.JobCompleted},
		},
	}
}

// TestSacctShowsAttempts: sacct -D shows each attempt of a retried job with
// its own state, exit code, partition-independent node and reason.
func TestSacctShowsAttempts(t *testing.T) {
	f := newFakeCtld(t).fixture()
	f.jobs = append(f.jobs, retriedJob(f.now))
	te := &testEnv{dir: "/home/alice"}
	if code := te.run(t, f, "sacct", "-D", "-X", "-j", "80", "-P", "-n", "-o", "JobID,State,ExitCode,NodeList,Restarts,Reason"); code != 0 {
		t.Fatalf("sacct: exit %d: %s", code, te.stderr.String())
	}
	want := "80|FAILED|3:0|node3|1|retry 1 of 1 after exit code 3\n80|COMPLETED|0:0|cpu1|1|None\n"
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("sacct (-want +got):\n%s", diff)
	}
}

// TestScontrolShowsRetry: scontrol show job prints the policy in force (the
// job's, else its partition's default) and the retries used; a job with
// neither prints no Retry line; show partition prints a default.
func TestScontrolShowsRetry(t *testing.T) {
	f := newFakeCtld(t).fixture()
	f.parts[1].Retry = "2,on_node_fail" // cpu
	f.jobs = append(f.jobs, retriedJob(f.now))
	te := &testEnv{dir: "/home/alice"}
	for _, tt := range []struct {
		args []string
		want string // a line of the output; empty: no Retry= at all
	}{
		{[]string{"show", "job", "80"}, "   Retry=1,on_exit:3 Retries=1\n"},
		{[]string{"show", "job", "5"}, "   Retry=2,on_node_fail Retries=0\n"}, // from partition cpu
		{[]string{"show", "job", "3"}, ""},                                    // partition gpu: none
		{[]string{"show", "partition", "cpu"}, "   Retry=2,on_node_fail\n"},
		{[]string{"show", "partition", "gpu"}, ""},
	} {
		if code := te.run(t, f, append([]string{"scontrol"}, tt.args...)...); code != 0 {
			t.Fatalf("scontrol %v: exit %d: %s", tt.args, code, te.stderr.String())
		}
		out := te.stdout.String()
		switch {
		case tt.want == "" && strings.Contains(out, "Retry="):
			t.Errorf("scontrol %v prints a retry policy:\n%s", tt.args, out)
		case tt.want != "" && !strings.Contains(out, tt.want):
			t.Errorf("scontrol %v lacks %q:\n%s", tt.args, tt.want, out)
		}
	}
}
