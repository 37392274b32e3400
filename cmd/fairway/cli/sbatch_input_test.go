package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSbatchInput: -i/--input (and #SBATCH --input) sets the batch
// script's standard input pattern, which the controller expands as -o/-e;
// --get-user-env[=TIMEOUT][S|L] is accepted as Slurm parses it and changes
// nothing.
func TestSbatchInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		script string
		want   string
	}{
		{name: "none", args: []string{"--wrap", "cat"}, want: ""},
		{name: "-i", args: []string{"-i", "data-%j.txt", "--wrap", "cat"}, want: "data-%j.txt"},
		{name: "--input=", args: []string{"--input=/in/%u/%x.%A_%a", "--wrap", "cat"}, want: "/in/%u/%x.%A_%a"},
		{name: "directive", args: []string{"job.sh"}, script: "#!/bin/sh\n#SBATCH --input=in.txt\ncat\n", want: "in.txt"},
		{name: "the command line overrides the directive", args: []string{"-i", "other.txt", "job.sh"}, script: "#!/bin/sh\n#SBATCH -i in.txt\ncat\n", want: "other.txt"},
		{name: "--get-user-env", args: []string{"--get-user-env", "--wrap", "cat"}, want: ""},
		{name: "--get-user-env=10L", args: []string{"--get-user-env=10L", "--wrap", "cat"}, want: ""},
		{name: "--get-user-env=S", args: []string{"--get-user-env=S", "--wrap", "cat"}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCtld(t)
			te := &testEnv{dir: t.TempDir()}
			if tc.script != "" {
				if err := os.WriteFile(filepath.Join(te.dir, "job.sh"), []byte(tc.script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if code := te.run(t, f, append([]string{"sbatch"}, tc.args...)...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			if diff := cmp.Diff(tc.want, f.submittedSpecs()[0].Stdin); diff != "" {
				t.Errorf("stdin pattern (-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--input="}, `sbatch: error: invalid --input "": want a file name pattern such as input-%j.txt` + "\n"},
		{[]string{"--get-user-env=soon"}, `sbatch: error: invalid --get-user-env "soon": want [TIMEOUT][S|L], as in --get-user-env=10L` + "\n"},
		{[]string{"--get-user-env=10SL"}, `sbatch: error: invalid --get-user-env "10SL": want [TIMEOUT][S|L], as in --get-user-env=10L` + "\n"},
	} {
		f := newFakeCtld(t)
		te := &testEnv{dir: t.TempDir()}
		code := te.run(t, f, append(append([]string{"sbatch"}, tc.args...), "--wrap", "cat")...)
		if code != 1 || te.stderr.String() != tc.wantErr || len(f.submittedSpecs()) != 0 {
			t.Errorf("sbatch %v: exit %d, stderr %q, %d submitted; want 1, %q, none", tc.args, code, te.stderr.String(), len(f.submittedSpecs()), tc.wantErr)
		}
	}
}
