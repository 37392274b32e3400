package ctld_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestWillRun: POST /v1/jobs/will-run (sbatch --test-only) through a real
// controller. It answers the ID the job would get, when (the forecast's
// median replay) and where it would start; it commits nothing (the next
// real submission gets that same ID, the queue stays as it was); it
// refuses what a submission refuses, with the same message.
func TestWillRun(t *testing.T) {
	clock := newFakeClock()
	_, cl := startController(t, func(cfg *ctld.Config) {
		cfg.Clock = clock.Now
		cfg.Estimates.Interval = -1 // no background estimates: only the will-run
	})
	registerNode(t, cl, "n1", 4, 0)
	registerNode(t, cl, "n2", 4, 0)
	now := clock.Now().Unix()

	s := spec("try")
	s.CPUsPerTask, s.TimeLimitSecs = 4, 3600
	s.Exclude = []string{"n1"}
	before, err := cl.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.WillRun(ctx(t), s)
	if err != nil {
		t.Fatalf("will-run: %v", err)
	}
	type answer struct {
		JobID     api.JobID
		Start     int64
		Nodes     []string
		Partition string
		CPUs      int
	}
	if diff := cmp.Diff(answer{1, now, []string{"n2"}, "main", 4}, answer{got.JobID, got.StartTime, got.Nodes, got.Partition, got.CPUs}); diff != "" {
		t.Errorf("will-run (-want +got):\n%s", diff)
	}
	after, err := cl.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.Index != before.Index {
		t.Errorf("applied index %d after the will-run, was %d: it must commit nothing", after.Index, before.Index)
	}
	jobs, err := cl.Jobs(ctx(t), client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil || len(jobs.Jobs) != 0 {
		t.Errorf("jobs after the will-run: %v %v, want none", jobs, err)
	}

	// A real submission takes the ID the will-run named and fills n2 for
	// an hour; a second will-run waits for it.
	s.Exclude = nil
	held := s
	held.NodeList = []string{"n2"}
	ids, err := cl.Submit(ctx(t), held)
	if err != nil || len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("submit: %v %v, want job 1", ids, err)
	}
	waitFor(t, "job 1 running", func() (bool, string) {
		j, err := cl.Job(ctx(t), 1)
		if err != nil {
			return false, err.Error()
		}
		return j.State == api.JobRunning, string(j.State)
	})
	s.NodeList = []string{"n2"}
	got, err = cl.WillRun(ctx(t), s)
	if err != nil {
		t.Fatalf("will-run behind job 1: %v", err)
	}
	if diff := cmp.Diff(answer{2, now + 3600, []string{"n2"}, "main", 4}, answer{got.JobID, got.StartTime, got.Nodes, got.Partition, got.CPUs}); diff != "" {
		t.Errorf("will-run behind job 1 (-want +got):\n%s", diff)
	}

	// Refused as a submission is.
	bad := spec("bad")
	bad.Partitions = []string{"nope"}
	_, subErr := cl.Submit(ctx(t), bad)
	_, wrErr := cl.WillRun(ctx(t), bad)
	var se, we *client.Error
	if !errors.As(subErr, &se) || !errors.As(wrErr, &we) || se.Status != http.StatusBadRequest || we.Msg != se.Msg || we.Status != se.Status {
		t.Errorf("a bad partition: will-run %v, submit %v; want the same 400", wrErr, subErr)
	}
}
