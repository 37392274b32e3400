package ctld_test

import (
	"context"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

func TestNodeJobsQueryWakesOnlyForItsNode(t *testing.T) {
	// Two one-CPU nodes; the first job runs on one of them (A), the second
	// on the other (B). A's blocking query must not return for B's job, and
	// must return when A's job gets a kill request.
	_, cl := startController(t, nil)
	for _, name := range []string{"na", "nb"} {
		registerNode(t, cl, name, 1, 0).beat(t)
	}
	first, err := cl.Submit(ctx(t), spec("first"))
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, cl, first[0], "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	a, b := j.Alloc[0].Node, "na"
	if a == "na" {
		b = "nb"
	}
	cur, err := cl.NodeJobs(ctx(t), a, client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		resp *api.JobsResponse
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := cl.NodeJobs(ctx(t), a, client.QueryOptions{WaitIndex: cur.Index, WaitTime: 20 * time.Second})
		answers <- answer{resp, err}
	}()
	second, err := cl.Submit(ctx(t), spec("second"))
	if err != nil {
		t.Fatal(err)
	}
	waitNodeJobs(t, cl, b, func(jobs []*api.Job) bool { return len(jobs) == 1 && jobs[0].ID == second[0] })
	select {
	case ans := <-answers:
		t.Fatalf("node %s's query returned after node %s's change: %+v, %v", a, b, ans.resp, ans.err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := cl.Cancel(ctx(t), first[0], ""); err != nil {
		t.Fatal(err)
	}
	select {
	case ans := <-answers:
		if ans.err != nil {
			t.Fatal(ans.err)
		}
		if len(ans.resp.Jobs) != 1 || ans.resp.Jobs[0].Kill == nil || ans.resp.Index <= cur.Index {
			t.Errorf("node %s's query answered %+v at index %d, want its job with a kill request after index %d", a, ans.resp.Jobs, ans.resp.Index, cur.Index)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("node %s's query did not return after its job was cancelled", a)
	}
}

func TestBlockingQueryReturnsOnTimeout(t *testing.T) {
	_, cl := startController(t, nil)
	registerNode(t, cl, "n1", 1, 0)
	cur, err := cl.NodeJobs(ctx(t), "n1", client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx(t), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := cl.NodeJobs(c, "n1", client.QueryOptions{WaitIndex: cur.Index, WaitTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || resp.Index < cur.Index {
		t.Errorf("query returned after %v at index %d, want about 300ms and index >= %d", d, resp.Index, cur.Index)
	}
}
