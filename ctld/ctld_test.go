package ctld_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/google/go-cmp/cmp"
)

// TestJobLifecycle follows one job from submission to completion through the
// API, with the test playing the node daemon.
func TestJobLifecycle(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)

	s := spec("train")
	s.GPUs = 2
	ids, err := cl.Submit(c, s)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if diff := cmp.Diff([]api.JobID{1}, ids); diff != "" {
		t.Fatalf("job IDs (-want +got):\n%s", diff)
	}
	j, err := cl.Job(c, 1)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	if j.State != api.JobPending || j.SubmitTime == 0 {
		t.Fatalf("new job: state %s submit time %d, want PENDING with a submit time", j.State, j.SubmitTime)
	}
	// The server filled the defaults.
	want := api.JobSpec{Partitions: []string{"main"}, Account: "root", Nodes: 1, NTasks: 1, CPUsPerTask: 1,
		MemoryMB: api.DefaultMemPerNodeMB, TimeLimitSecs: 3600}
	got := api.JobSpec{Partitions: j.Spec.Partitions, Account: j.Spec.Account, Nodes: j.Spec.Nodes, NTasks: j.Spec.NTasks,
		CPUsPerTask: j.Spec.CPUsPerTask, MemoryMB: j.Spec.MemoryMB, TimeLimitSecs: j.Spec.TimeLimitSecs}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults filled at submit (-want +got):\n%s", diff)
	}
	// No node yet: it waits for resources.
	waitJob(t, cl, 1, "pending for Resources", func(j *api.Job) bool { return j.Reason == api.ReasonResources })

	node := registerNode(t, cl, "n1", 8, 4)
	node.beat(t)
	nodes, err := cl.Nodes(c, client.QueryOptions{})
	if err != nil || len(nodes.Nodes) != 1 || !cmp.Equal(nodes.Nodes[0].Partitions, []string{"main"}) {
		t.Fatalf("registered nodes %+v %v, want n1 in the default partition main", nodes, err)
	}
	jobs := waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 1 })
	wantAlloc := []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: api.DefaultMemPerNodeMB, GPUs: []int{0, 1}, GPUUUIDs: []string{"GPU-n1-0", "GPU-n1-1"}}}
	if diff := cmp.Diff(wantAlloc, jobs[0].Alloc); diff != "" {
		t.Errorf("allocation (-want +got):\n%s", diff)
	}
	if jobs[0].State != api.JobRunning || jobs[0].StartTime == 0 {
		t.Errorf("assigned job: state %s start %d, want RUNNING with a start time", jobs[0].State, jobs[0].StartTime)
	}

	events := []api.JobEvent{
		{JobID: 1, Run: 0, Kind: api.EventStarted},
		{JobID: 1, Run: 0, Kind: api.EventExited, ExitCode: 0},
	}
	if err := cl.ReportEvents(c, "n1", events); err != nil {
		t.Fatalf("report events: %v", err)
	}
	j, err = cl.Job(c, 1)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	if j.State != api.JobCompleted {
		t.Errorf("after exit 0: state %s, want COMPLETED", j.State)
	}
	// Resending events changes nothing (idempotent).
	if err := cl.ReportEvents(c, "n1", events[1:]); err != nil {
		t.Fatalf("resend events: %v", err)
	}

	active, err := cl.Jobs(c, client.JobFilter{}, client.QueryOptions{})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	all, err := cl.Jobs(c, client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil {
		t.Fatalf("list all jobs: %v", err)
	}
	if len(active.Jobs) != 0 || len(all.Jobs) != 1 || all.Jobs[0].State != api.JobCompleted {
		t.Errorf("lists: %d active (want 0), %d with ?all (want 1 COMPLETED)", len(active.Jobs), len(all.Jobs))
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 0 })
}

func TestCancelPendingJob(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	ids, err := cl.Submit(c, spec("a"), spec("b"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if err := cl.Cancel(c, ids[0], ""); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	j, err := cl.Job(c, ids[0])
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	if j.State != api.JobCancelled || j.EndTime == 0 {
		t.Errorf("cancelled job: state %s end %d, want CANCELLED with an end time", j.State, j.EndTime)
	}
	var apiErr *client.Error
	err = cl.Cancel(c, ids[0], "")
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("cancelling a cancelled job: %v, want 409", err)
	}
	err = cl.Cancel(c, ids[1], "USR1")
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("scancel --signal of a pending job: %v, want 409 (running jobs only)", err)
	}
	if j, _ := cl.Job(c, ids[1]); j.State != api.JobPending {
		t.Errorf("after a refused signal the job is %s, want PENDING", j.State)
	}
}

func TestUnknownJob(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	calls := map[string]func() error{
		"get":     func() error { _, err := cl.Job(c, 42); return err },
		"cancel":  func() error { return cl.Cancel(c, 42, "") },
		"hold":    func() error { return cl.Hold(c, 42) },
		"release": func() error { return cl.Release(c, 42) },
		"requeue": func() error { return cl.Requeue(c, 42) },
	}
	for name, call := range calls {
		err := call()
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Msg != "Invalid job id specified" {
			t.Errorf("%s of an unknown job: %v, want 404 Invalid job id specified", name, err)
		}
	}
}

// TestBadInput checks that invalid requests are answered 400 naming the
// field, and change nothing.
func TestBadInput(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "cluster.json")
	cluster := api.ClusterConfig{Partitions: []api.Partition{
		{Name: "main", Default: true, MaxTimeSecs: 3600}, {Name: "gpu"},
	}, Accounts: []api.Account{{Name: "search", Shares: 1}}}
	data, _ := json.Marshal(cluster)
	if err := os.WriteFile(cfgFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctl, cl := startController(t, func(cfg *ctld.Config) { cfg.ClusterConfigFile = cfgFile })
	c := ctx(t)
	if _, err := cl.Submit(c, spec("ok")); err != nil {
		t.Fatalf("submit a valid job: %v", err)
	}

	tests := []struct {
		name      string
		edit      func(s *api.JobSpec)
		field     string
		msgSubstr string
	}{
		{"unknown partition", func(s *api.JobSpec) { s.Partitions = []string{"h200"} }, "--partition", "known partitions: main, gpu"},
		{"negative memory", func(s *api.JobSpec) { s.MemoryMB = -5 }, "--mem", "-5M"},
		{"time above partition max", func(s *api.JobSpec) { s.TimeLimitSecs = 7200 }, "--time", "main allows at most 01:00:00"},
		{"priority out of range", func(s *api.JobSpec) { s.Priority = 150 }, "--priority", ""},
		{"script without #!", func(s *api.JobSpec) { s.Script = "echo hi" }, "script", ""},
		{"relative chdir", func(s *api.JobSpec) { s.WorkDir = "work" }, "--chdir", ""},
		{"unknown account", func(s *api.JobSpec) { s.Account = "vision" }, "--account", ""},
		{"negative nodes", func(s *api.JobSpec) { s.Nodes = -1 }, "--nodes", ""},
		{"bad image", func(s *api.JobSpec) { s.ContainerImage = "oci-archive:rel.tar" }, "--container-image", ""},
		{"array beyond MaxArraySize", func(s *api.JobSpec) { s.Array = "0-100001" }, "--array", "indices go from 0 to 100000"},
		{"bad array", func(s *api.JobSpec) { s.Array = "1-3%" }, "--array", ""},
		{"bad dependency", func(s *api.JobSpec) { s.Dependency = "afterwards:1" }, "--dependency", `unknown dependency type "afterwards"`},
		{"unknown QOS", func(s *api.JobSpec) { s.QOS = "urgent" }, "--qos", "known QOS: normal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(tt.name)
			tt.edit(&s)
			// The bad job travels with a good one: neither is accepted.
			_, err := cl.Submit(c, spec("good"), s)
			var apiErr *client.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("submit: %v, want a 400", err)
			}
			if apiErr.Field != tt.field || !strings.Contains(apiErr.Msg, tt.msgSubstr) {
				t.Errorf("error field %q message %q, want field %q mentioning %q", apiErr.Field, apiErr.Msg, tt.field, tt.msgSubstr)
			}
		})
	}

	raw := []struct {
		name, method, path, body, field string
	}{
		{"unknown JSON field", "POST", "/v1/jobs", `{"jobs":[{"name":"x","memory":5}]}`, "body"},
		{"no jobs", "POST", "/v1/jobs", `{"jobs":[]}`, "jobs"},
		{"bad blocking index", "GET", "/v1/jobs?index=abc", "", "index"},
		{"bad wait", "GET", "/v1/jobs?index=1&wait=soon", "", "wait"},
		{"bad config", "PUT", "/v1/config", `{"partitions":[{"name":"a"},{"name":"a"}]}`, "partitions[1].name"},
		{"node without CPUs", "POST", "/v1/nodes/register", `{"name":"n9","resources":{"cpus":0}}`, "resources.cpus"},
		{"node in unknown partition", "POST", "/v1/nodes/register", `{"name":"n9","resources":{"cpus":1},"partitions":["h200"]}`, "partitions"},
		{"bad job id", "GET", "/v1/jobs/abc", "", "id"},
	}
	for _, tt := range raw {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(c, tt.method, "http://"+ctl.Addr()+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e api.ErrorResponse
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != http.StatusBadRequest || e.Field != tt.field {
				t.Errorf("%s %s: %d field %q (%s), want 400 field %q", tt.method, tt.path, resp.StatusCode, e.Field, e.Error, tt.field)
			}
		})
	}

	all, err := cl.Jobs(c, client.JobFilter{All: true}, client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Jobs) != 1 {
		t.Errorf("after the rejected requests there are %d jobs, want the 1 valid one", len(all.Jobs))
	}
	nodes, err := cl.Nodes(c, client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cl.Config(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Nodes) != 0 || len(cfg.Partitions) != 2 {
		t.Errorf("after the rejected requests: %d nodes (want 0), %d partitions (want 2)", len(nodes.Nodes), len(cfg.Partitions))
	}
}

// TestNodeDown stops a node's heartbeats and checks that it goes DOWN, its
// job is requeued, and it is usable again once it registers again.
func TestNodeDown(t *testing.T) {
	cluster := ctld.DefaultClusterConfig()
	cluster.NodeLeaseSecs, cluster.FenceGraceSecs = 1, 1 // fencing deadline 1 + 1 + 2 s of kill wait
	file := filepath.Join(t.TempDir(), "cluster.json")
	if data, err := json.Marshal(cluster); err != nil || os.WriteFile(file, data, 0o600) != nil {
		t.Fatalf("write cluster config: %v", err)
	}
	_, cl := startController(t, func(cfg *ctld.Config) { cfg.NodeDownAfter, cfg.ClusterConfigFile = 5*time.Second, file })
	c := ctx(t)
	node := registerNode(t, cl, "n1", 4, 0)
	hb, err := cl.Heartbeat(c, "n1", api.HeartbeatRequest{})
	if err != nil || hb.LeaseSecs != 1 || hb.FenceGraceSecs != 1 {
		t.Fatalf("heartbeat: lease %d s, grace %d s, err %v; want the configuration's 1 s and 1 s", hb.LeaseSecs, hb.FenceGraceSecs, err)
	}
	node.beat(t)
	ids, err := cl.Submit(c, spec("long"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 1 })
	if err := cl.ReportEvents(c, "n1", []api.JobEvent{{JobID: ids[0], Kind: api.EventStarted}}); err != nil {
		t.Fatalf("report start: %v", err)
	}

	node.silence()
	waitFor(t, "node n1 DOWN", func() (bool, string) {
		resp, err := cl.Nodes(c, client.QueryOptions{})
		if err != nil || len(resp.Nodes) != 1 {
			return false, fmt.Sprint(resp, err)
		}
		return resp.Nodes[0].State == api.NodeDown, string(resp.Nodes[0].State)
	})
	j := waitJob(t, cl, ids[0], "requeued", func(j *api.Job) bool { return j.State == api.JobPending })
	if j.RestartCount != 1 || len(j.Runs) != 1 || j.Runs[0].EndTime == 0 {
		t.Fatalf("requeued job: restarts %d runs %+v, want 1 restart and one ended run", j.RestartCount, j.Runs)
	}
	// The run is recorded fenced, ending at the latest time the node can
	// have kept it alive: before the node was declared DOWN.
	if r := j.Runs[0]; !r.Fenced || !r.EndBound || r.EndTime > time.Now().Unix() || r.EndTime < r.StartTime {
		t.Errorf("run of the DOWN node: %+v, want fenced with its end bounded by the fencing deadline", r)
	}

	_, err = cl.Heartbeat(c, "n1", api.HeartbeatRequest{})
	if !client.IsNotFound(err) || !strings.Contains(err.Error(), "register again") {
		t.Errorf("heartbeat of a DOWN node: %v, want 404 asking to register again", err)
	}
	registerNode(t, cl, "n1", 4, 0).beat(t)
	jobs := waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 1 })
	if jobs[0].RestartCount != 1 {
		t.Errorf("restarted job has restart count %d, want 1", jobs[0].RestartCount)
	}
}

func TestHeartbeatUnknownNode(t *testing.T) {
	_, cl := startController(t, nil)
	_, err := cl.Heartbeat(ctx(t), "ghost", api.HeartbeatRequest{})
	if !client.IsNotFound(err) || !strings.Contains(err.Error(), "unknown node ghost: register first") {
		t.Errorf("heartbeat of an unknown node: %v, want 404 unknown node ghost: register first", err)
	}
	if _, err := cl.NodeJobs(ctx(t), "ghost", client.QueryOptions{}); !client.IsNotFound(err) {
		t.Errorf("jobs of an unknown node: %v, want 404", err)
	}
	nodes, err := cl.Nodes(ctx(t), client.QueryOptions{})
	if err != nil || len(nodes.Nodes) != 0 {
		t.Errorf("nodes after the refused heartbeat: %v %v, want none", nodes, err)
	}
}

// TestTimeLimit runs a job past its time limit on a fake clock.
func TestTimeLimit(t *testing.T) {
	clock := newFakeClock()
	_, cl := startController(t, func(cfg *ctld.Config) {
		cfg.Clock = clock.Now
		cfg.NodeDownAfter = time.Hour
	})
	c := ctx(t)
	registerNode(t, cl, "n1", 4, 0)
	s := spec("short")
	s.TimeLimitSecs = 60
	ids, err := cl.Submit(c, s)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 1 })
	clock.Advance(59 * time.Second)
	// A later submission forces a pass at +59 s; the job must not be killed.
	if _, err := cl.Submit(c, spec("other")); err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, ids[0]+1, "scheduled", func(j *api.Job) bool { return j.State == api.JobRunning })
	if j, _ := cl.Job(c, ids[0]); j.Kill != nil {
		t.Fatalf("job killed before its time limit: %+v", j.Kill)
	}
	clock.Advance(2 * time.Second)
	j := waitJob(t, cl, ids[0], "asked to stop", func(j *api.Job) bool { return j.Kill != nil })
	if j.Kill.State != api.JobTimeout || j.Kill.Reason != api.ReasonTimeLimit {
		t.Errorf("kill request %+v, want TIMEOUT for TimeLimit", j.Kill)
	}
	if err := cl.ReportEvents(c, "n1", []api.JobEvent{{JobID: ids[0], Kind: api.EventExited, ExitCode: 0, Signal: 15}}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, ids[0], "TIMEOUT", func(j *api.Job) bool { return j.State == api.JobTimeout })
}

func TestHoldRelease(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	registerNode(t, cl, "n1", 4, 0).beat(t)
	s := spec("held")
	s.Hold = true
	ids, err := cl.Submit(c, s, spec("free"))
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, ids[1], "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	if j, _ := cl.Job(c, ids[0]); j.State != api.JobPending || j.Reason != api.ReasonHeldUser {
		t.Fatalf("held job: %s %q, want PENDING JobHeldUser", j.State, j.Reason)
	}
	if err := cl.Release(c, ids[0]); err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, ids[0], "running after release", func(j *api.Job) bool { return j.State == api.JobRunning })
	err = cl.Hold(c, ids[0])
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("holding a running job: %v, want 409", err)
	}
}

// TestBlockingQuery checks that a blocking read returns when the state
// changes, with a larger index, and that reads carry the index header.
func TestBlockingQuery(t *testing.T) {
	ctl, cl := startController(t, nil)
	c := ctx(t)
	first, err := cl.Jobs(c, client.JobFilter{}, client.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *api.JobsResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := cl.Jobs(c, client.JobFilter{}, client.QueryOptions{WaitIndex: first.Index, WaitTime: 20 * time.Second})
		done <- result{resp, err}
	}()
	if _, err := cl.Submit(c, spec("wake")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.resp.Index <= first.Index || len(r.resp.Jobs) != 1 {
		t.Errorf("blocking query returned index %d (asked > %d) with %d jobs, want a later index and the new job", r.resp.Index, first.Index, len(r.resp.Jobs))
	}
	resp, err := http.Get("http://" + ctl.Addr() + "/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(api.IndexHeader) == "" {
		t.Errorf("GET /v1/nodes has no %s header", api.IndexHeader)
	}
}

func TestMetrics(t *testing.T) {
	ctl, cl := startController(t, nil)
	if _, err := cl.Submit(ctx(t), spec("m")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + ctl.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`fairway_jobs{state="PENDING"} 1`,
		`fairway_job_submissions_total 1`,
		`fairway_raft_apply_duration_seconds_count{command="SubmitJobs"} 1`,
		`fairway_scheduler_pass_duration_seconds_count`,
		`fairway_raft_leader 1`,
		`fairway_raft_has_leader 1`,
		`fairway_raft_voters 1`,
		`slurm_queue_pending 1`,
		`slurm_gpus_total 0`,
		`fairway_scheduler_passes_total`,
		`slurm_scheduler_last_cycle`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestClusterForwarding runs three controllers and submits through a
// follower: the write is forwarded to the leader and acknowledged, and the
// follower serves the job from its own replica.
func TestClusterForwarding(t *testing.T) {
	var peers []raftstore.Peer
	ids := []string{"c1", "c2", "c3"}
	raftAddrs := map[string]string{}
	for _, id := range ids {
		raftAddrs[id] = freeAddr(t)
		peers = append(peers, raftstore.Peer{ID: id, RaftAddr: raftAddrs[id]})
	}
	ctls := map[string]*ctld.Controller{}
	for _, id := range ids {
		ctl, _ := startClusterMember(t, id, raftAddrs[id], peers)
		ctls[id] = ctl
	}
	var all []string
	for _, id := range ids {
		all = append(all, ctls[id].Addr())
	}
	waitReady(t, client.New(strings.Join(all, ",")))

	var follower *ctld.Controller
	var leaderID string
	waitFor(t, "a leader known to every controller", func() (bool, string) {
		follower, leaderID = nil, ""
		for _, id := range ids {
			st, err := client.New(ctls[id].Addr()).Status(ctx(t))
			if err != nil || st.LeaderAddr == "" {
				return false, fmt.Sprintf("%s: %+v %v", id, st, err)
			}
			if st.Leader {
				leaderID = id
			} else {
				follower = ctls[id]
			}
		}
		return leaderID != "" && follower != nil, "no leader yet"
	})

	fc := client.New(follower.Addr())
	c := ctx(t)
	got, err := fc.Submit(c, spec("via-follower"))
	if err != nil {
		t.Fatalf("submit through follower: %v", err)
	}
	if diff := cmp.Diff([]api.JobID{1}, got); diff != "" {
		t.Fatalf("IDs (-want +got):\n%s", diff)
	}
	if _, err := client.New(ctls[leaderID].Addr()).Job(c, 1); err != nil {
		t.Errorf("leader does not have the job: %v", err)
	}
	waitJob(t, fc, 1, "replicated to the follower", func(j *api.Job) bool { return j.State == api.JobPending })
	if err := fc.Cancel(c, 1, ""); err != nil {
		t.Errorf("cancel through follower: %v", err)
	}
	waitJob(t, fc, 1, "cancelled", func(j *api.Job) bool { return j.State == api.JobCancelled })
}

func startClusterMember(t *testing.T, id, raftAddr string, peers []raftstore.Peer) (*ctld.Controller, *client.Client) {
	return startControllerWith(t, func(cfg *ctld.Config) {
		cfg.ID, cfg.RaftAddr, cfg.Peers = id, raftAddr, peers
	})
}

// TestJoin starts a second controller that joins the first through the API.
func TestJoin(t *testing.T) {
	first, cl := startController(t, nil)
	if _, err := cl.Submit(ctx(t), spec("before-join")); err != nil {
		t.Fatal(err)
	}
	_, cl2 := startControllerWith(t, func(cfg *ctld.Config) {
		cfg.ID, cfg.Bootstrap, cfg.Join = "ctl2", false, first.Addr()
	})
	waitJob(t, cl2, 1, "replicated to the joined controller", func(j *api.Job) bool { return j.State == api.JobPending })
	st, err := cl2.Status(ctx(t))
	if err != nil || st.Leader || st.LeaderID != "ctl1" {
		t.Errorf("joined controller status %+v %v, want a follower of ctl1", st, err)
	}
}

// TestNodeDownAfterMustOutlastFencing: a node-down timeout that would requeue
// jobs before a cut-off node has stopped them is refused at start, naming
// the setting.
func TestNodeDownAfterMustOutlastFencing(t *testing.T) {
	_, err := ctld.Start(context.Background(), ctld.Config{
		ID: "ctl1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		NodeDownAfter: 17 * time.Second, // default lease 10 + grace 5 + kill wait 2
	})
	if err == nil || !strings.Contains(err.Error(), "node-down-after 17s must be more than") {
		t.Fatalf("start with node-down-after 17s: %v, want an error naming node-down-after", err)
	}
}
