//go:build e2e

package hatest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// replicaView is what one controller has served: the highest raft index
// it answered with and the jobs it showed.
type replicaView struct {
	index uint64
	seen  []api.JobID
}

// TestRestartedControllerNeverShowsThePast stops a follower under load,
// keeps writing, restarts it and polls it continuously while it catches up:
// it must never answer with a raft index below the highest it served before
// the stop, nor answer 404 for a job it had shown. It answers 503 until it
// has replayed its log; how long catch-up took is reported.
func TestRestartedControllerNeverShowsThePast(t *testing.T) {
	c := newCluster(t, clusterOpts{nodes: 1})
	ld := newLoad(c, "past", 200, 32)
	ctx, stopLoad := context.WithCancel(t.Context())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); ld.run(ctx) }()
	defer func() { stopLoad(); <-loadDone }()
	time.Sleep(3 * time.Second)

	l := c.waitLeader(30 * time.Second)
	f := c.followers(l)[0]
	fc := c.client(-1, 2*time.Second, f)
	var before replicaView
	c.waitFor("the follower to serve jobs", 30*time.Second, func() bool {
		rctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		resp, err := fc.Jobs(rctx, client.JobFilter{All: true}, client.QueryOptions{})
		if err != nil || len(resp.Jobs) == 0 {
			return false
		}
		before.index = max(before.index, resp.Index)
		before.seen = before.seen[:0]
		for _, j := range resp.Jobs {
			before.seen = append(before.seen, j.ID)
		}
		return true
	})
	if s, err := fc.Status(t.Context()); err == nil {
		before.index = max(before.index, s.Index)
	}
	t.Logf("%s served index %d and %d jobs before its stop", f.id, before.index, len(before.seen))
	if err := f.proc.Stop(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // the others go on committing

	lc := c.client(20*time.Second, 5*time.Second, c.followers(f)...)
	ls, err := lc.Status(t.Context())
	if err != nil {
		t.Fatalf("status of the running controllers: %v", err)
	}
	target := ls.Index
	c.restart(f)
	restartAt := time.Now()

	// Poll until caught up with the index the cluster had at the restart,
	// then a little longer; bounded in time.
	var (
		caughtUp         time.Duration
		polls, answers   int
		unavailable      int
		unreachable      int
		firstAnswer      time.Duration
		lastIndex        = before.index
		older, forgotten int
	)
	deadline := restartAt.Add(90 * time.Second)
	for k := 0; time.Now().Before(deadline); k++ {
		if caughtUp > 0 && time.Since(restartAt) > caughtUp+3*time.Second {
			break
		}
		polls++
		rctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		sample := before.seen[k*7%len(before.seen):]
		sample = sample[:min(len(sample), 20)]
		resp, err := fc.Jobs(rctx, client.JobFilter{All: true, IDs: sample}, client.QueryOptions{})
		var s *api.StatusResponse
		if err == nil {
			s, err = fc.Status(rctx)
		}
		cancel()
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
			unavailable++
		case err != nil:
			unreachable++
		default:
			answers++
			if firstAnswer == 0 {
				firstAnswer = time.Since(restartAt)
			}
			for _, idx := range []uint64{resp.Index, s.Index} {
				if idx < lastIndex {
					older++
					t.Errorf("%s answered at index %d after serving %d", f.id, idx, lastIndex)
				}
				lastIndex = max(lastIndex, idx)
			}
			got := map[api.JobID]bool{}
			for _, j := range resp.Jobs {
				got[j.ID] = true
			}
			for _, id := range sample {
				if !got[id] {
					forgotten++
					t.Errorf("%s no longer lists job %s it had shown", f.id, id)
				}
			}
			// One job by ID, as scontrol show job asks for it.
			jctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			_, jerr := fc.Job(jctx, sample[0])
			cancel()
			if client.IsNotFound(jerr) {
				forgotten++
				t.Errorf("%s answers 404 for job %s it had shown", f.id, sample[0])
			}
			if caughtUp == 0 && s.Index >= target {
				caughtUp = time.Since(restartAt)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if caughtUp == 0 {
		t.Errorf("%s did not reach index %d within 90 s of its restart (last %d)", f.id, target, lastIndex)
	}
	stopLoad()
	<-loadDone
	t.Logf("%s: first answer %v after restart, caught up with index %d after %v; %d polls: %d answers, %d unavailable (503), %d unreachable; older answers %d, forgotten jobs %d",
		f.id, firstAnswer.Round(time.Millisecond), target, caughtUp.Round(time.Millisecond), polls, answers, unavailable, unreachable, older, forgotten)
	t.Logf("load: %d acknowledged, errors %v", len(ld.acked), ld.errs)
	writeReport(t, map[string]any{
		"follower":           f.id,
		"index_before_stop":  before.index,
		"jobs_seen_before":   len(before.seen),
		"cluster_index":      target,
		"first_answer_secs":  secs(firstAnswer),
		"catch_up_secs":      secs(caughtUp),
		"polls":              polls,
		"answers":            answers,
		"unavailable_503":    unavailable,
		"unreachable":        unreachable,
		"older_answers":      older,
		"forgotten_jobs":     forgotten,
		"load_acknowledged":  len(ld.acked),
		"load_client_errors": ld.errs,
	})
}
