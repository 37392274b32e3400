package noded

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// TestCheckpointDoneCommand: every job is told how to report a checkpoint,
// by the path it sees the client at.
func TestCheckpointDoneCommand(t *testing.T) {
	host := &api.Job{ID: 1}
	image := &api.Job{ID: 2, Spec: api.JobSpec{ContainerImage: "docker://pytorch"}}
	tests := []struct {
		name  string
		job   *api.Job
		tools string
		want  string
	}{
		{"host job: the node's client", host, "/opt/fairway/bin/fairway", "/opt/fairway/bin/fairway checkpoint done"},
		{"container: the client mounted in the image", image, "/opt/fairway/bin/fairway", "/usr/local/bin/fairway checkpoint done"},
		{"no client on the node: the job's PATH", host, "", "fairway checkpoint done"},
		{"no client mounted in the image: the image's PATH", image, "", "fairway checkpoint done"},
		{"a path the shell would split: the job's PATH", host, "/opt/my tools/fairway", "fairway checkpoint done"},
		{"a relative path: the job's PATH", host, "bin/fairway", "fairway checkpoint done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkpointDoneCommand(tt.job, tt.tools); got != tt.want {
				t.Errorf("checkpointDoneCommand = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWithCheckpointDone(t *testing.T) {
	env := []string{"A=1", "FAIRWAY_CHECKPOINT_DONE=stale from the submitting job", "Z=2"}
	got := withCheckpointDone(env, "/bin/fairway checkpoint done")
	want := []string{"A=1", "FAIRWAY_CHECKPOINT_DONE=/bin/fairway checkpoint done", "Z=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
