package planapply_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/google/go-cmp/cmp"
)

// TestExpandPattern checks the expander against the examples of Slurm's
// sbatch(1) "filename pattern" section (job 128 for the batch script) and
// the escapes: %% and a backslash.
func TestExpandPattern(t *testing.T) {
	job := &api.Job{ID: 128, Spec: api.JobSpec{Name: "bert", User: "ann"}}
	task := &api.Job{ID: 131, ArrayJobID: 128, ArrayTaskID: 3, Spec: api.JobSpec{Name: "sweep", User: "bob"}}
	tests := []struct {
		name    string
		pattern string
		job     *api.Job
		node    string
		want    string
	}{
		{"job ID", "job%j.out", job, "", "job128.out"},
		{"job ID step for the batch script", "job%J.out", job, "", "job128.out"},
		{"zero-padded", "job%4j.out", job, "", "job0128.out"},
		{"padded task", "job%2j-%2t.out", job, "", "job128-00.out"},
		{"width capped at 10", "%12j", job, "", "0000000128"},
		{"literal percent", "x%%j.log", job, "", "x%j.log"},
		{"literal percent then symbol", "100%%-%j", job, "", "100%-128"},
		{"backslash disables expansion", `job\%j.out`, job, "", "job%j.out"},
		{"backslash anywhere", `a\b-%x`, job, "", "ab-%x"},
		{"name user", "%x_%u.log", job, "", "bert_ann.log"},
		{"not an array", "%A_%a", job, "", "128_4294967294"},
		{"array task", "%A_%a-%j", task, "", "128_3-131"},
		{"padded array task", "%A_%3a", task, "", "128_003"},
		{"node before start", "out-%N.log", job, "", "out-%N.log"},
		{"node short name", "out-%N.log", job, "gpu01.cluster", "out-gpu01.log"},
		{"node and task index", "%n-%t", job, "gpu01", "0-0"},
		{"step", "%j.%s", job, "", "128.batch"},
		{"unknown symbol kept", "%q-%", job, "", "%q-%"},
		{"trailing width", "a%3", job, "", "a%3"},
		{"plain", "/dev/null", job, "n1", "/dev/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planapply.ExpandPattern(tt.pattern, tt.job, tt.node); got != tt.want {
				t.Errorf("ExpandPattern(%q, node %q) = %q, want %q", tt.pattern, tt.node, got, tt.want)
			}
		})
	}
}

func TestOutputPaths(t *testing.T) {
	type paths struct{ Stdout, Stderr string }
	tests := []struct {
		name string
		job  *api.Job
		node string
		want paths
	}{
		{"default", &api.Job{ID: 7, Spec: api.JobSpec{WorkDir: "/w"}}, "", paths{"/w/slurm-7.out", "/w/slurm-7.out"}},
		{"default without work dir", &api.Job{ID: 1}, "", paths{"slurm-1.out", "slurm-1.out"}},
		{"array default", &api.Job{ID: 9, ArrayJobID: 5, ArrayTaskID: 2, Spec: api.JobSpec{WorkDir: "/w"}}, "", paths{"/w/slurm-5_2.out", "/w/slurm-5_2.out"}},
		{"stderr apart", &api.Job{ID: 7, Spec: api.JobSpec{WorkDir: "/w", Stdout: "o-%j", Stderr: "/logs/e-%N"}}, "n1.x", paths{"/w/o-7", "/logs/e-n1"}},
		{"escaped percent stays", &api.Job{ID: 3, Spec: api.JobSpec{WorkDir: "/w", Stdout: "x%%j.log"}}, "n1", paths{"/w/x%j.log", "/w/x%j.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got paths
			got.Stdout, got.Stderr = planapply.OutputPaths(tt.job, tt.node)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OutputPaths (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzExpandPattern checks that expansion never panics and that a pattern
// without % or \ is returned as it is.
func FuzzExpandPattern(f *testing.F) {
	for _, s := range []string{"slurm-%j.out", "%4a%%", `a\%j`, "%", "%99999999999999999999j"} {
		f.Add(s)
	}
	job := &api.Job{ID: 12, ArrayJobID: 10, ArrayTaskID: 2, Spec: api.JobSpec{Name: "n", User: "u"}}
	f.Fuzz(func(t *testing.T, pattern string) {
		got := planapply.ExpandPattern(pattern, job, "node1")
		plain := true
		for _, c := range pattern {
			if c == '%' || c == '\\' {
				plain = false
			}
		}
		if plain && got != pattern {
			t.Errorf("ExpandPattern(%q) = %q, want it unchanged", pattern, got)
		}
	})
}

func TestExpandStepPattern(t *testing.T) {
	j := &api.Job{ID: 42, Spec: api.JobSpec{Name: "train", User: "alice"}}
	at := planapply.StepPattern{Step: 3, NodeID: 1, Task: 5}
	tests := []struct{ pattern, want string }{
		{"out-%j.%s-%t-%n-%N-%u-%x.txt", "out-42.3-5-1-gpu02-alice-train.txt"},
		{"%J-%3t-%%", "42.3-005-%"},
		{`keep\%t`, "keep%t"},
	}
	for _, tt := range tests {
		if got := planapply.ExpandStepPattern(tt.pattern, j, "gpu02.example.org", at); got != tt.want {
			t.Errorf("ExpandStepPattern(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
	if got := planapply.ExpandPattern("%J-%s-%t", j, "n1"); got != "42-batch-0" {
		t.Errorf("ExpandPattern of the batch script = %q, want 42-batch-0", got)
	}
}
