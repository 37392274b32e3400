package ctld_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestPriorityRewrittenEveryMinute: a pending job's first priority is
// stored at once; a priority that only its age changed is stored again
// once a minute, not on every pass (as Slurm's PriorityCalcPeriod).
func TestPriorityRewrittenEveryMinute(t *testing.T) {
	clock := newFakeClock()
	cluster := ctld.DefaultClusterConfig()
	// Fair share 1 without usage; age adds a point a second.
	cluster.Scheduling.Weights = api.PriorityWeights{FairShare: 1000, Age: 1000, MaxAgeSecs: 1000}
	file := filepath.Join(t.TempDir(), "cluster.json")
	if data, err := json.Marshal(cluster); err != nil || os.WriteFile(file, data, 0o600) != nil {
		t.Fatalf("write cluster config: %v", err)
	}
	_, cl := startController(t, func(cfg *ctld.Config) { cfg.Clock, cfg.ClusterConfigFile = clock.Now, file })
	c := ctx(t)
	submit := func(name string) api.JobID {
		t.Helper()
		ids, err := cl.Submit(c, spec(name))
		if err != nil {
			t.Fatalf("submit %s: %v", name, err)
		}
		return ids[0]
	}
	stored := func(id api.JobID) uint32 {
		t.Helper()
		j, err := cl.Job(c, id)
		if err != nil {
			t.Fatalf("job %d: %v", id, err)
		}
		return j.Priority
	}
	waitPriority := func(id api.JobID) uint32 {
		t.Helper()
		var p uint32
		waitFor(t, fmt.Sprintf("job %d's first priority", id), func() (bool, string) {
			p = stored(id)
			return p > 0, fmt.Sprintf("priority %d", p)
		})
		return p
	}

	first := submit("first")
	p0 := waitPriority(first)
	clock.Advance(10 * time.Second)
	waitPriority(submit("ten seconds later")) // a pass ran at +10 s
	if got := stored(first); got != p0 {
		t.Errorf("10 s later the first job's stored priority is %d, want it unchanged at %d until the minute is up", got, p0)
	}
	clock.Advance(60 * time.Second)
	waitPriority(submit("seventy seconds later"))
	waitFor(t, "the first job's priority rewritten after a minute", func() (bool, string) {
		got := stored(first)
		return got >= p0+60, fmt.Sprintf("priority %d, first %d", got, p0)
	})
}
