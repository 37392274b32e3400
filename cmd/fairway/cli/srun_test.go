package cli

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func srunEnv(t *testing.T) *testEnv {
	t.Helper()
	tmp := t.TempDir()
	return &testEnv{dir: tmp, vars: map[string]string{
		"SLURM_JOB_ID": "77", "SLURM_JOB_NAME": "train", "SLURMD_NODENAME": "node1",
		"TMPDIR": tmp, "PATH": os.Getenv("PATH"), EnvSrunLocal: "1",
	}}
}

func TestSrunOutsideAJob(t *testing.T) {
	te := &testEnv{vars: map[string]string{EnvSrunLocal: "1"}}
	if code := te.run(t, nil, "srun", "true"); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if got := te.stderr.String(); !strings.Contains(got, "srun needs a job allocation") || !strings.Contains(got, "sbatch --wrap") {
		t.Errorf("stderr %q does not explain that srun needs a job", got)
	}
}

func TestSrunTasksAndSteps(t *testing.T) {
	te := srunEnv(t)
	out := filepath.Join(te.dir, "out-%j-%s-%t-%N.txt")
	script := `echo "proc=$SLURM_PROCID local=$SLURM_LOCALID step=$SLURM_STEP_ID/$SLURM_STEPID ntasks=$SLURM_NTASKS cpus=$SLURM_CPUS_PER_TASK"; echo err >&2`
	for step := 0; step < 2; step++ {
		if code := te.run(t, nil, "srun", "-n", "3", "-c2", "-u", "--output", out, "sh", "-c", script); code != 0 {
			t.Fatalf("step %d: exit %d, stderr %q", step, code, te.stderr.String())
		}
	}
	for step, s := range []string{"0", "1"} {
		for task, tk := range []string{"0", "1", "2"} {
			name := filepath.Join(te.dir, "out-77-"+s+"-"+tk+"-node1.txt")
			got, err := os.ReadFile(name)
			if err != nil {
				t.Errorf("step %d task %d: %v", step, task, err)
				continue
			}
			want := "proc=" + tk + " local=" + tk + " step=" + s + "/" + s + " ntasks=3 cpus=2\nerr\n"
			if string(got) != want {
				t.Errorf("%s = %q, want %q", filepath.Base(name), got, want)
			}
		}
	}
}

func TestSrunInheritsStreamsAndLabels(t *testing.T) {
	te := srunEnv(t)
	if code := te.run(t, nil, "srun", "-n2", "--label", "sh", "-c", `echo "hello $SLURM_PROCID"; printf partial`); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
	}
	got := strings.Split(strings.TrimSpace(te.stdout.String()), "\n")
	sort.Strings(got)
	want := []string{"0: hello 0", "0: partial", "1: hello 1", "1: partial"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("labelled output mismatch (-want +got):\n%s", diff)
	}
}

func TestSrunExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		want       int
		wantStderr []string
	}{
		{"all succeed", `exit 0`, 0, nil},
		{"highest code wins", `exit $((SLURM_PROCID + 2))`, 4, []string{
			"srun: error: node1: task 0: Exited with exit code 2",
			"srun: error: node1: task 1: Exited with exit code 3",
			"srun: error: node1: task 2: Exited with exit code 4",
		}},
		{"signal", `[ "$SLURM_PROCID" = 1 ] && kill -9 $$; exit 1`, 137, []string{
			"srun: error: node1: task 0: Exited with exit code 1",
			"srun: error: node1: task 1: Killed",
			"srun: error: node1: task 2: Exited with exit code 1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := srunEnv(t)
			if code := te.run(t, nil, "srun", "-n", "3", "sh", "-c", tt.script); code != tt.want {
				t.Errorf("exit status %d, want %d", code, tt.want)
			}
			var got []string
			for _, l := range strings.Split(te.stderr.String(), "\n") {
				if l != "" {
					got = append(got, l)
				}
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.wantStderr, got); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSrunRefusesMultiNodeSteps(t *testing.T) {
	te := srunEnv(t)
	if code := te.run(t, nil, "srun", "-N", "2", "true"); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(te.stderr.String(), "--nodes") {
		t.Errorf("stderr %q does not name --nodes", te.stderr.String())
	}
}

func TestTaskPattern(t *testing.T) {
	p := taskPattern{job: "7", step: "2", node: "n1", user: "alice", name: "train"}
	got := p.expand("%x-%j.%s-%t-%N-%u-%J-%%-%q", 3)
	if want := "train-7.2-3-n1-alice-7.2-%-%q"; got != want {
		t.Errorf("expand = %q, want %q", got, want)
	}
}
