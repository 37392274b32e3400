package noded

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// nobody is the unprivileged user jobs run as in these tests.
const nobody = 65534

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, msg())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// batchJob returns a job running script as nobody in workDir.
func batchJob(id api.JobID, workDir, script string) api.Job {
	return api.Job{
		ID:        id,
		Partition: "batch",
		Spec: api.JobSpec{
			Name:        fmt.Sprintf("job%d", id),
			User:        "nobody",
			UID:         nobody,
			GID:         nobody,
			Account:     "research",
			Nodes:       1,
			NTasks:      1,
			CPUsPerTask: 1,
			MemoryMB:    64,
			Script:      script,
			WorkDir:     workDir,
			Env:         map[string]string{"FROM_SUBMIT": "yes"},
		},
	}
}
