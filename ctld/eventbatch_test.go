package ctld_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

// Nodes that report their jobs' ends at the same moment are each answered,
// and every job ends with the exit code its node reported (the controller
// commits concurrent reports together).
func TestConcurrentEventReports(t *testing.T) {
	const nodes = 12
	_, cl := startController(t, nil)
	c := ctx(t)
	ids := make([]api.JobID, nodes)
	for i := range nodes {
		name := fmt.Sprintf("n%02d", i)
		registerNode(t, cl, name, 4, 0).beat(t)
		s := spec(name)
		s.NodeList = []string{name}
		got, err := cl.Submit(c, s)
		if err != nil {
			t.Fatalf("submit to %s: %v", name, err)
		}
		ids[i] = got[0]
	}
	for i := range nodes {
		waitNodeJobs(t, cl, fmt.Sprintf("n%02d", i), func(jobs []*api.Job) bool { return len(jobs) == 1 })
	}
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			errs[i] = cl.ReportEvents(c, fmt.Sprintf("n%02d", i), []api.JobEvent{
				{JobID: ids[i], Run: 0, Kind: api.EventStarted},
				{JobID: ids[i], Run: 0, Kind: api.EventExited, ExitCode: i},
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		j, err := cl.Job(c, id)
		if err != nil {
			t.Fatal(err)
		}
		want := api.JobCompleted
		if i != 0 {
			want = api.JobFailed
		}
		if j.State != want || j.ExitCode != i {
			t.Errorf("job %d of node n%02d: %s exit %d, want %s exit %d", id, i, j.State, j.ExitCode, want, i)
		}
	}
}
