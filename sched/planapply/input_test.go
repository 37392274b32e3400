package planapply_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/google/go-cmp/cmp"
)

// TestInputPath: sbatch -i/--input takes Slurm's filename patterns (%j
// %A %a %x %u %N %%) as -o/-e do, relative to the work directory; without
// it the node reads /dev/null.
func TestInputPath(t *testing.T) {
	job := func(id api.JobID, stdin string) *api.Job {
		return &api.Job{ID: id, Spec: api.JobSpec{WorkDir: "/w", Name: "train", User: "alice", Stdin: stdin}}
	}
	task := job(12, "in-%A_%a.txt")
	task.ArrayJobID, task.ArrayTaskID = 10, 2
	for _, tc := range []struct {
		name string
		job  *api.Job
		node string
		want string
	}{
		{"none: /dev/null on the node", job(7, ""), "n1", ""},
		{"job id, name and user", job(7, "/data/%u/%x-%j.in"), "n1", "/data/alice/train-7.in"},
		{"relative to the work directory", job(7, "input.txt"), "n1", "/w/input.txt"},
		{"array task", task, "n1", "/w/in-10_2.txt"},
		{"node, once started", job(7, "%N.in"), "node3.example", "/w/node3.in"},
		{"node kept before the start", job(7, "%N.in"), "", "/w/%N.in"},
		{"escaped percent", job(7, "x%%j"), "n1", "/w/x%j"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, planapply.InputPath(tc.job, tc.node)); diff != "" {
				t.Errorf("InputPath (-want +got):\n%s", diff)
			}
		})
	}
}
