package ctld_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// writeClusterConfig writes a cluster configuration file and returns its path.
func writeClusterConfig(t *testing.T, cfg api.ClusterConfig) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.json")
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// displayIDs lists the jobs' ids as squeue prints them, with their states.
func displayIDs(jobs []*api.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.DisplayID()+" "+string(j.State))
	}
	slices.Sort(out)
	return out
}

// TestJobArray runs a throttled job array through the API: one record at
// submission, at most two tasks running, each task a job of its own that
// ARRAYID_TASK names, a task cancelled before it starts, and the array
// cancelled by its id.
func TestJobArray(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	s := spec("sweep")
	s.Array = "0-3%2"
	s.Stdout = "sweep-%A_%a.out"
	ids, err := cl.Submit(c, s)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	rec, err := cl.Job(c, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !rec.IsArrayRecord() || rec.DisplayID() != "1_[0-3%2]" || rec.State != api.JobPending {
		t.Fatalf("the array after submit: %s %s, want one pending record 1_[0-3%%2]", rec.DisplayID(), rec.State)
	}

	node := registerNode(t, cl, "n1", 8, 0)
	node.beat(t)
	running := waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 2 })
	if diff := cmp.Diff([]string{"1_0 RUNNING", "1_1 RUNNING"}, displayIDs(running)); diff != "" {
		t.Fatalf("running tasks (-want +got):\n%s", diff)
	}
	for _, j := range running {
		if j.ID == 1 || j.ArrayJobID != 1 || j.Spec.Array != "" {
			t.Errorf("task %s: id %d array job %d spec array %q, want a new id under array 1", j.DisplayID(), j.ID, j.ArrayJobID, j.Spec.Array)
		}
		if want := fmt.Sprintf("/tmp/sweep-1_%d.out", j.ArrayTaskID); j.StdoutPath != want {
			t.Errorf("task %s writes to %s, want %s", j.DisplayID(), j.StdoutPath, want)
		}
	}
	// The throttle holds the other tasks back, however often the scheduler runs.
	time.Sleep(300 * time.Millisecond)
	if jobs := waitNodeJobs(t, cl, "n1", func([]*api.Job) bool { return true }); len(jobs) != 2 {
		t.Fatalf("%d tasks running, want 2 (the %%2 limit)", len(jobs))
	}

	// ARRAYID_TASK names a task: its own job, or the record while pending.
	task0, err := cl.JobRef(c, api.JobRef{ID: 1, Task: intp(0)})
	if err != nil || task0.DisplayID() != "1_0" {
		t.Fatalf("GET /v1/jobs/1_0 = %v, %v; want task 1_0", task0, err)
	}
	if j, err := cl.JobRef(c, api.JobRef{ID: 1, Task: intp(3)}); err != nil || !j.IsArrayRecord() {
		t.Fatalf("GET /v1/jobs/1_3 = %v, %v; want the array's record", j, err)
	}
	// Hold, release and requeue act on started tasks; the array's pending
	// remainder is held by the array's id.
	var apiErr *client.Error
	if err := cl.JobAction(c, api.JobRef{ID: 1, Task: intp(3)}, "hold"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("hold 1_3 before it started: %v, want a 409", err)
	}
	// Cancelling a pending task splits it off; the other runs when a slot frees.
	if err := cl.CancelRef(c, api.JobRef{ID: 1, Task: intp(3)}, api.CancelRequest{}); err != nil {
		t.Fatalf("cancel 1_3: %v", err)
	}
	if err := cl.ReportEvents(c, "n1", []api.JobEvent{{JobID: task0.ID, Kind: api.EventExited}}); err != nil {
		t.Fatal(err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool {
		return cmp.Equal([]string{"1_1 RUNNING", "1_2 RUNNING"}, displayIDs(jobs))
	})
	all, err := cl.Jobs(c, client.JobFilter{All: true, IDs: []api.JobID{1}}, client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1_0 COMPLETED", "1_1 RUNNING", "1_2 RUNNING", "1_3 CANCELLED"}
	if diff := cmp.Diff(want, displayIDs(all.Jobs)); diff != "" {
		t.Errorf("?id=1 lists the whole array (-want +got):\n%s", diff)
	}

	// The array's id cancels every task still running.
	if err := cl.Cancel(c, 1, ""); err != nil {
		t.Fatalf("cancel 1: %v", err)
	}
	stopping := waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool {
		return len(jobs) == 2 && jobs[0].Kill != nil && jobs[1].Kill != nil
	})
	for _, j := range stopping {
		if j.Kill.State != api.JobCancelled {
			t.Errorf("task %s is stopped for %s, want CANCELLED", j.DisplayID(), j.Kill.State)
		}
	}
}

func intp(i int) *int { return &i }

// TestUsageAccrual: the leader charges running jobs their GPU-seconds into
// the fair-share usage, which /v1/shares shows and the scheduler uses.
func TestUsageAccrual(t *testing.T) {
	clock := newFakeClock()
	cfgFile := writeClusterConfig(t, api.ClusterConfig{
		Partitions: []api.Partition{{Name: "main", Default: true}},
		Accounts:   []api.Account{{Name: "ml", Shares: 3}, {Name: "vision", Shares: 1}},
		Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{FairShare: 1000, Age: 10}},
	})
	_, cl := startController(t, func(cfg *ctld.Config) {
		cfg.Clock = clock.Now
		cfg.ClusterConfigFile = cfgFile
		cfg.UsageInterval = 50 * time.Millisecond
		cfg.NodeDownAfter = time.Hour // the clock jumps ahead of the heartbeats
	})
	c := ctx(t)
	node := registerNode(t, cl, "n1", 8, 4)
	node.beat(t)
	s := spec("train")
	s.Account, s.GPUs = "ml", 2
	if _, err := cl.Submit(c, s); err != nil {
		t.Fatal(err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 1 })
	clock.Advance(100 * time.Second)

	var shares *api.SharesResponse
	waitFor(t, "200 GPU-seconds of usage for ml/alice", func() (bool, string) {
		var err error
		if shares, err = cl.Shares(c); err != nil {
			return false, err.Error()
		}
		for _, r := range shares.Rows {
			if r.Account == "ml" && r.User == "alice" {
				return r.RawUsage == 200, fmt.Sprintf("usage %v", r.RawUsage)
			}
		}
		return false, fmt.Sprintf("rows %+v", shares.Rows)
	})
	var tree []string
	for _, r := range shares.Rows {
		tree = append(tree, fmt.Sprintf("%d %s/%s %d", r.Depth, r.Account, r.User, int(r.RawUsage)))
	}
	want := []string{"0 root/ 200", "1 ml/ 200", "2 ml/alice 200", "1 vision/ 0"}
	if diff := cmp.Diff(want, tree); diff != "" {
		t.Errorf("share rows: depth account/user usage (-want +got):\n%s", diff)
	}
	if shares.Algorithm != api.FairShareFairTree || shares.UsageAt != clock.Now().Unix() {
		t.Errorf("algorithm %q usage at %d, want fair_tree at %d", shares.Algorithm, shares.UsageAt, clock.Now().Unix())
	}

	// The user of the busy account now ranks below an idle account's user.
	busy, idle := spec("busy"), spec("idle")
	busy.Account, busy.GPUs = "ml", 4
	idle.Account, idle.GPUs, idle.User = "vision", 4, "bob"
	ids, err := cl.Submit(c, busy, idle)
	if err != nil {
		t.Fatal(err)
	}
	var prios *api.PrioritiesResponse
	waitFor(t, "priority rows of both pending jobs", func() (bool, string) {
		if prios, err = cl.Priorities(c, client.PriorityFilter{}); err != nil {
			return false, err.Error()
		}
		return len(prios.Rows) == 2, fmt.Sprintf("%+v", prios.Rows)
	})
	if prios.Rows[0].JobID != ids[0] || prios.Rows[1].JobID != ids[1] {
		t.Fatalf("priority rows for jobs %d and %d, want %v in id order", prios.Rows[0].JobID, prios.Rows[1].JobID, ids)
	}
	if b, i := prios.Rows[0], prios.Rows[1]; b.FairShare >= i.FairShare || b.Priority >= i.Priority {
		t.Errorf("busy account's job: fair share %v priority %v; idle account's: %v, %v; want the idle one higher",
			b.FairShare, b.Priority, i.FairShare, i.Priority)
	}
}

// TestPrioritiesAndShares checks the read endpoints' selection and answers.
func TestPrioritiesAndShares(t *testing.T) {
	cfgFile := writeClusterConfig(t, api.ClusterConfig{
		Partitions: []api.Partition{{Name: "main", Default: true}},
		Accounts: []api.Account{{Name: "ml", Shares: 1, Users: []api.AccountUser{{Name: "alice", Shares: 2}}},
			{Name: "sub", Parent: "ml", Shares: 1}},
		QOS:        []api.QOS{{Name: "high", Priority: 10}},
		Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{Age: 100, QOS: 1000}},
	})
	_, cl := startController(t, func(cfg *ctld.Config) { cfg.ClusterConfigFile = cfgFile })
	c := ctx(t)
	a, b := spec("a"), spec("b")
	a.Account, a.QOS = "ml", "high"
	b.Account, b.User = "sub", "bob"
	ids, err := cl.Submit(c, a, b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter client.PriorityFilter
		want   []api.JobID
	}{
		{client.PriorityFilter{}, ids},
		{client.PriorityFilter{Users: []string{"bob"}}, ids[1:]},
		{client.PriorityFilter{IDs: []api.JobID{ids[0], 99}}, ids[:1]},
	}
	for _, tt := range tests {
		resp, err := cl.Priorities(c, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []api.JobID
		for _, r := range resp.Rows {
			got = append(got, r.JobID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("priorities %+v (-want +got):\n%s", tt.filter, diff)
		}
		if resp.Weights.QOS != 1000 {
			t.Errorf("weights %+v, want the configured ones", resp.Weights)
		}
	}
	resp, _ := cl.Priorities(c, client.PriorityFilter{IDs: ids[:1]})
	if r := resp.Rows[0]; r.QOSName != "high" || r.QOS <= 0 || r.User != "alice" || r.Account != "ml" {
		t.Errorf("row of the high-QOS job: %+v, want QOS high with a QOS factor", r)
	}

	shares, err := cl.Shares(c)
	if err != nil {
		t.Fatal(err)
	}
	var tree []string
	for _, r := range shares.Rows {
		levelFS := fmt.Sprint(r.LevelFS)
		if math.IsInf(r.LevelFS, 1) {
			levelFS = "inf"
		}
		tree = append(tree, fmt.Sprintf("%d %s/%s shares=%d levelfs=%s", r.Depth, r.Account, r.User, r.RawShares, levelFS))
	}
	want := []string{
		"0 root/ shares=0 levelfs=0",
		"1 ml/ shares=1 levelfs=inf",
		"2 ml/alice shares=2 levelfs=inf",
		"2 sub/ shares=1 levelfs=inf",
		"3 sub/bob shares=1 levelfs=inf",
	}
	if diff := cmp.Diff(want, tree); diff != "" {
		t.Errorf("share rows (-want +got):\n%s", diff)
	}
	// A bad selection is refused.
	r, err := http.Get("http://" + cl.Addrs()[0][len("http://"):] + "/v1/priorities?id=x")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("?id=x: status %d, want 400", r.StatusCode)
	}
}
