package noded

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// TestSweepCheckpoints: a sweep removes the checkpoint directories of jobs
// that ended more than the retention ago, and of jobs the controller no
// longer knows whose note is that old; it keeps those of pending (requeued)
// and running jobs, of jobs that ended recently, and of unknown jobs noted
// recently.
func TestSweepCheckpoints(t *testing.T) {
	fc := newFakeController(t)
	base := t.TempDir()
	now := time.Now().Unix()
	const retention = time.Hour
	d := &daemon{
		cfg:     Config{StateDir: t.TempDir(), CheckpointDirBase: base, CheckpointRetention: retention},
		log:     slog.New(slog.DiscardHandler),
		clock:   realClock{},
		api:     client.New(fc.addr()),
		runners: map[runKey]*runner{},
	}
	jobs := []struct {
		job      api.Job
		noteAge  time.Duration
		wantKept bool
	}{
		{api.Job{ID: 1, State: api.JobCompleted, EndTime: now - 2*3600}, 0, false},
		{api.Job{ID: 2, State: api.JobPreempted, EndTime: now - 60}, 0, true},
		{api.Job{ID: 3, State: api.JobPending}, 3 * retention, true},
		{api.Job{ID: 4}, 2 * retention, false}, // unknown to the controller
		{api.Job{ID: 5}, 0, true},              // unknown, noted recently
		{api.Job{ID: 6, State: api.JobRunning}, 3 * retention, true},
	}
	for _, j := range jobs {
		if j.job.State != "" {
			fc.setJob(j.job)
		}
		dir := d.checkpointDir(&j.job)
		if err := d.prepareCheckpointDir(j.job.ID, dir, os.Getuid(), os.Getgid()); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-j.noteAge)
		if err := os.Chtimes(filepath.Join(d.notesDir(), j.job.ID.String()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.sweepCheckpoints(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		_, err := os.Stat(d.checkpointDir(&j.job))
		if kept := err == nil; kept != j.wantKept {
			t.Errorf("job %d (%s): checkpoint directory kept %v, want %v", j.job.ID, j.job.State, kept, j.wantKept)
		}
	}
}
