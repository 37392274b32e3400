package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// adminFake adds the administration routes (scontrol update, sdiag,
// show config) in front of a fakeCtld, recording each update as
// "METHOD PATH BODY".
type adminFake struct {
	*fakeCtld
	mu      sync.Mutex
	updates []string
	// refuse, when set, answers every update with this status and message.
	refuseStatus int
	refuseMsg    string
	diag         api.DiagResponse
	url          string
}

func newAdminFake(t *testing.T) *adminFake {
	f := &adminFake{fakeCtld: newFakeCtld(t).fixture()}
	mux := http.NewServeMux()
	update := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.updates = append(f.updates, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(body)))
		status, msg := f.refuseStatus, f.refuseMsg
		f.mu.Unlock()
		if status != 0 {
			writeJSON(w, status, api.ErrorResponse{Error: msg})
			return
		}
		writeJSON(w, http.StatusOK, api.ActionResponse{Index: 3})
	}
	mux.HandleFunc("POST /v1/jobs/{id}/update", update)
	mux.HandleFunc("POST /v1/nodes/update", update)
	mux.HandleFunc("POST /v1/partitions/{name}/update", update)
	mux.HandleFunc("GET /v1/diag", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, f.diag) })
	mux.Handle("/", f.srv.Config.Handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *adminFake) run(t *testing.T, te *testEnv, args ...string) int {
	t.Helper()
	te.vars = map[string]string{"FAIRWAY_ADDR": f.url}
	return te.run(t, nil, args...)
}

func (f *adminFake) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.updates...)
}

func TestScontrolUpdate(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		refuse     int
		wantCode   int
		wantSent   []string
		wantStderr string
	}{
		{"time limit in minutes", []string{"update", "JobId=5", "TimeLimit=30"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"time_limit_secs":1800}`}, ""},
		{"keys are case-insensitive; +TIME adds", []string{"update", "jobid=5", "timelimit=+1:00:00"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"time_limit_delta_secs":3600}`}, ""},
		{"TimeLimit+= adds, -= subtracts", []string{"update", "JobId=5", "TimeLimit-=10"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"time_limit_delta_secs":-600}`}, ""},
		{"UNLIMITED", []string{"update", "JobId=5", "TimeLimit=UNLIMITED"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"time_limit_secs":2147483647}`}, ""},
		{"several jobs, a partition list", []string{"update", "JobId=5,6", "Partition=cpu,gpu"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"partitions":["cpu","gpu"]}`, `POST /v1/jobs/6/update {"partitions":["cpu","gpu"]}`}, ""},
		{"an array task, priority and nice", []string{"update", "JobId=7_2", "Priority=5", "Nice=10"}, 0, 0,
			[]string{`POST /v1/jobs/7_2/update {"priority":5,"nice":10}`}, ""},
		{"node count, QOS, account, dependency", []string{"update", "JobId=5", "NumNodes=2-2", "QOS=high", "Account=ml", "Dependency=afterok:4"}, 0, 0,
			[]string{`POST /v1/jobs/5/update {"dependency":"afterok:4","nodes":2,"qos":"high","account":"ml"}`}, ""},
		{"a node range", []string{"update", "JobId=5", "NumNodes=2-4"}, 0, 1, nil,
			`scontrol: error: invalid NumNodes "2-4": Fairway runs a job on an exact node count: give one number, or min-max with min equal to max` + "\n"},
		{"an unknown field", []string{"update", "JobId=5", "Features=a100"}, 0, 1, nil,
			`scontrol: error: invalid features "Features=a100": Update of this parameter is not supported` + "\n"},
		{"a bad time", []string{"update", "JobId=5", "TimeLimit=abc"}, 0, 1, nil,
			`scontrol: error: invalid TimeLimit "abc": Invalid TimeLimit value: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED, with + or - to add or subtract` + "\n"},
		{"the controller refuses: Slurm's per-job message", []string{"update", "JobId=5", "TimeLimit=600"}, http.StatusForbidden, 1,
			[]string{`POST /v1/jobs/5/update {"time_limit_secs":36000}`}, "Access/permission denied for job 5\n"},
		{"drain nodes with a reason of several words", []string{"update", "NodeName=node[1-2]", "State=DRAIN", "Reason=replace", "fan"}, 0, 0,
			[]string{`POST /v1/nodes/update {"nodes":["node1","node2"],"state":"DRAIN","reason":"replace fan"}`}, ""},
		{"a drain without a reason", []string{"update", "NodeName=node1", "State=drain"}, 0, 1, nil,
			"You must specify a reason when DOWNING or DRAINING a node. Request denied\n"},
		{"resume", []string{"update", "NodeName=node1", "State=resume"}, 0, 0,
			[]string{`POST /v1/nodes/update {"nodes":["node1"],"state":"RESUME"}`}, ""},
		{"a node update refused", []string{"update", "NodeName=node1", "State=DOWN", "Reason=psu"}, http.StatusForbidden, 1,
			[]string{`POST /v1/nodes/update {"nodes":["node1"],"state":"DOWN","reason":"psu"}`}, "slurm_update error: Access/permission denied\n"},
		{"partition state and limits", []string{"update", "PartitionName=gpu", "State=drain", "MaxTime=2-00:00:00", "DefaultTime=60", "MaxNodes=UNLIMITED"}, 0, 0,
			[]string{`POST /v1/partitions/gpu/update {"name":"gpu","state":"DRAIN","max_time_secs":172800,"default_time_secs":3600,"max_nodes":0}`}, ""},
		{"nothing named", []string{"update", "TimeLimit=5"}, 0, 1, nil,
			`scontrol: error: invalid update "TimeLimit=5": name what to update: JobId=N, NodeName=LIST or PartitionName=NAME` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAdminFake(t)
			f.refuseStatus, f.refuseMsg = tt.refuse, "Access/permission denied"
			te := &testEnv{dir: "/home/alice"}
			code := f.run(t, te, append([]string{"scontrol"}, tt.args...)...)
			if diff := cmp.Diff([]any{tt.wantCode, tt.wantStderr}, []any{code, te.stderr.String()}); diff != "" {
				t.Errorf("exit status, stderr (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSent, f.sent()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSinfoReasons checks sinfo -R against Slurm's documented formats
// ("%20E %9u %19H %N", with -l "%20E %12U %19H %6t %N"): reasons cut to
// 20 characters, nodes with the same reason, user and time on one line,
// only down, drained and draining nodes.
func TestSinfoReasons(t *testing.T) {
	at := testNow.Unix() - 3600
	f := newAdminFake(t)
	f.nodes = append(f.nodes[:0:0], f.nodes...)
	for _, n := range f.nodes {
		switch n.Name {
		case "node1": // draining: jobs still running
			n.State, n.Reason, n.ReasonUser, n.ReasonTime = api.NodeDrain, "replace fan", "admin", at
		case "node3", "node4":
			n.State, n.Reason, n.ReasonUser, n.ReasonTime = api.NodeDrain, "firmware upgrade of the NICs", "admin", at
		case "cpu2":
			n.ReasonTime = at + 60
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sinfo", "-R"}, lines(
			"REASON               USER      TIMESTAMP           NODELIST",
			"Not responding       root      2024-06-15T13:31:00 cpu2",
			"firmware upgrade of  admin     2024-06-15T13:30:00 node[3-4]",
			"replace fan          admin     2024-06-15T13:30:00 node1",
		)},
		{[]string{"sinfo", "-R", "-l"}, lines(
			"REASON               USER         TIMESTAMP           STATE  NODELIST",
			"Not responding       root(0)      2024-06-15T13:31:00 down   cpu2",
			"firmware upgrade of  admin        2024-06-15T13:30:00 drain  node[3-4]",
			"replace fan          admin        2024-06-15T13:30:00 drng   node1",
		)},
		{[]string{"sinfo", "-R", "-r", "-h"}, lines(
			"firmware upgrade of  admin     2024-06-15T13:30:00 node[3-4]",
			"replace fan          admin     2024-06-15T13:30:00 node1",
		)},
		{[]string{"sinfo", "-R", "-o", "%30E|%u|%N"}, lines(
			"REASON                        |USER|NODELIST",
			"Not responding                |root|cpu2",
			"firmware upgrade of the NICs  |admin|node[3-4]",
			"replace fan                   |admin|node1",
		)},
		{[]string{"sinfo", "-t", "drain"}, lines(
			"PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST",
			"gpu*         up 1-00:00:00      1   drng node1",
			"gpu*         up 1-00:00:00      2  drain node[3-4]",
		)},
	}
	for _, tt := range tests {
		te := &testEnv{dir: "/home/alice"}
		if code := f.run(t, te, tt.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, te.stderr.String())
		}
		if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.args, diff)
		}
	}
}

// TestSdiag checks sdiag's layout against Slurm 22.05's (sdiag.c): the
// sections Fairway has figures for, in Slurm's words, tabs and spacing.
func TestSdiag(t *testing.T) {
	f := newAdminFake(t)
	now := testNow.Unix()
	f.diag = api.DiagResponse{
		Now: now, StatsSince: now - 600, ControllerID: "ctl1", Leader: true,
		JobsSubmitted: 12, JobsStarted: 9, JobsCompleted: 6, JobsCanceled: 1, JobsFailed: 2, JobsPending: 3, JobsRunning: 2,
		Sched: api.DiagSched{Cycles: 300, LastCycleUsec: 812, MaxCycleUsec: 4100, MeanCycleUsec: 950, LastCycleAt: now - 2,
			CyclesPerMin: 30, LastDepth: 4, MeanDepth: 3.6, LastBfDepth: 2, MeanBfDepth: 1.5, LastQueueLen: 3, MeanQueueLen: 2.9, Backfilled: 5, BackfilledSinceReset: 2},
		Raft: api.DiagRaft{Role: "leader", LeaderID: "ctl1", Term: 3, CommitIndex: 420, AppliedIndex: 420, LastContactMS: 0, Voters: 3, Reachable: 3},
	}
	te := &testEnv{dir: "/home/alice"}
	if code := f.run(t, te, "sdiag"); code != 0 {
		t.Fatalf("sdiag: exit %d: %s", code, te.stderr.String())
	}
	want := lines(
		"*******************************************************",
		"sdiag output at Sat Jun 15 14:30:00 2024 (1718454600)",
		"Data since      Sat Jun 15 14:20:00 2024 (1718454000)",
		"*******************************************************",
		"Jobs submitted: 12",
		"Jobs started:   9",
		"Jobs completed: 6",
		"Jobs canceled:  1",
		"Jobs failed:    2",
		"",
		"Job states ts:  Sat Jun 15 14:30:00 2024 (1718454600)",
		"Jobs pending:   3",
		"Jobs running:   2",
		"",
		"Main schedule statistics (microseconds):",
		"\tLast cycle:   812",
		"\tMax cycle:    4100",
		"\tTotal cycles: 300",
		"\tMean cycle:   950",
		"\tMean depth cycle:  3",
		"\tCycles per minute: 30",
		"\tLast queue length: 3",
		"",
		"Backfilling stats",
		"\tTotal backfilled jobs (since last slurm start): 5",
		"\tTotal backfilled jobs (since last stats cycle start): 2",
		"\tTotal cycles: 300",
		"\tLast cycle when: Sat Jun 15 14:29:58 2024 (1718454598)",
		"\tLast cycle: 812",
		"\tMax cycle:  4100",
		"\tMean cycle: 950",
		"\tLast depth cycle: 2",
		"\tLast depth cycle (try sched): 2",
		"\tDepth Mean: 1",
		"\tDepth Mean (try depth): 1",
		"\tLast queue length: 3",
		"\tQueue length mean: 2",
		"",
		"Raft statistics",
		"\tController: ctl1 (leader)",
		"\tLeader: ctl1",
		"\tTerm: 3",
		"\tCommit index: 420",
		"\tApplied index: 420",
		"\tLast contact (ms): 0",
		"\tVoters: 3",
		"\tVoters reachable: 3",
	)
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("sdiag (-want +got):\n%s", diff)
	}
}

func TestScontrolShowStepAndNode(t *testing.T) {
	f := newAdminFake(t)
	start := testNow.Unix() - 120
	f.jobs = []*api.Job{{
		ID: 40, State: api.JobRunning, Partition: "gpu", StartTime: start, RestartCount: 0, TimeLimitSecs: 3600,
		Spec: api.JobSpec{User: "alice", UID: 1000, TimeLimitSecs: 3600},
		Runs: []api.JobRun{{Run: 0, StartTime: start, State: api.JobRunning, Steps: []api.Step{
			{JobID: 40, ID: 0, Name: "hostname", Nodes: []string{"node1", "node2"}, TasksPerNode: []int{2, 2}, CPUsPerTask: 2, GPUsPerTask: 1, State: api.JobRunning, StartTime: start + 5},
			{JobID: 40, ID: 1, Nodes: []string{"node1"}, TasksPerNode: []int{1}, Command: []string{"true"}, State: api.JobCompleted, StartTime: start + 6},
		}}},
	}}
	te := &testEnv{dir: "/home/alice"}
	if code := f.run(t, te, "scontrol", "show", "step", "40"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	want := lines(
		"StepId=40.0 UserId=1000 StartTime=2024-06-15T14:28:05 TimeLimit=01:00:00",
		"   State=RUNNING Partition=gpu NodeList=node[1-2]",
		"   Nodes=2 CPUs=8 Tasks=4 Name=hostname Network=(null)",
		"   TRES=cpu=8,node=2,gres/gpu=4",
		"   ResvPorts=(null)",
		"   CPUFreqReq=Default Dist=Block",
		"",
	)
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("show step (-want +got):\n%s", diff)
	}
	if code := f.run(t, te, "scontrol", "show", "step", "40.1"); code != 1 || te.stderr.String() != "Job step 40.1 not found\n" {
		t.Errorf("a finished step: exit %d, stderr %q", code, te.stderr.String())
	}

	for _, n := range f.nodes {
		if n.Name == "node3" {
			n.State, n.Reason, n.ReasonUser, n.ReasonTime = api.NodeDrain, "replace fan", "admin", testNow.Unix()-60
		}
	}
	if code := f.run(t, te, "scontrol", "show", "node", "node3"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	out := te.stdout.String()
	for _, wantLine := range []string{"   State=IDLE+DRAIN ", "   Reason=replace fan [admin@2024-06-15T14:29:00]\n"} {
		if !strings.Contains(out, wantLine) {
			t.Errorf("show node lacks %q:\n%s", wantLine, out)
		}
	}
}

func TestShowConfig(t *testing.T) {
	cfg := &api.ClusterConfig{
		Partitions:        []api.Partition{{Name: "gpu"}},
		NodeDownAfterSecs: 60, JobRetentionSecs: 300,
		Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{Age: 1000, FairShare: 10000, TRES: map[string]float64{"gpu": 2000, "cpu": 1}}},
	}
	st := &api.StatusResponse{Now: testNow.Unix(), LeaderID: "ctl1", LeaderAddr: "10.0.0.1:6817", Term: 2, Index: 77}
	got := configText(cfg, st, []api.ControllerInfo{{ID: "ctl1", HTTPAddr: "10.0.0.1:6817"}, {ID: "ctl2", HTTPAddr: "10.0.0.2:6817"}}, testLoc)
	first, _, _ := strings.Cut(got, "\n")
	if first != "Configuration data as of 2024-06-15T14:30:00" {
		t.Errorf("header %q", first)
	}
	want := []string{
		"PriorityType            = priority/multifactor",
		"PriorityWeightAge       = 1000",
		"PriorityWeightFairShare = 10000",
		"PriorityWeightTRES      = cpu=1,gpu=2000",
		"SchedulerType           = sched/backfill",
		"SchedulerParameters     = mode=windowed",
		"SlurmctldHost[0]        = ctl1(10.0.0.1:6817)",
		"SlurmctldHost[1]        = ctl2(10.0.0.2:6817)",
		"NodeLease               = 10 sec",
		"SlurmdTimeout           = 60 sec",
		"MinJobAge               = 300 sec",
		"FairwayBackfillReservations = 0",
	}
	gotLines := strings.Split(got, "\n")
	for _, w := range want {
		found := false
		for _, l := range gotLines {
			found = found || l == w
		}
		if !found {
			t.Errorf("show config lacks %q:\n%s", w, got)
		}
	}
	// Sorted by key, as Slurm prints it.
	var keys []string
	for _, l := range gotLines[1 : len(gotLines)-1] {
		k, _, _ := strings.Cut(l, " ")
		keys = append(keys, k)
	}
	sorted := append([]string(nil), keys...)
	sortStrings(sorted)
	if diff := cmp.Diff(sorted, keys); diff != "" {
		t.Errorf("keys not sorted (-sorted +got):\n%s", diff)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// FuzzParseJobUpdate: scontrol update's parser never panics, and what it
// accepts names at least one field and only values the API can carry.
func FuzzParseJobUpdate(f *testing.F) {
	for _, s := range []string{"TimeLimit=30", "timelimit=+1:00:00", "TimeLimit-=5", "Partition=a,b Nice=-5", "NumNodes=2-2 QOS=x", "Reason=a b", "x", "=", "TimeLimit=UNLIMITED"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ua, err := parseUpdateArgs(strings.Fields(s))
		if err != nil {
			return
		}
		u, err := parseJobUpdate(ua)
		if err != nil {
			return
		}
		if len(u.Fields()) == 0 {
			t.Errorf("%q: accepted with no field", s)
		}
		if u.Nodes != nil && *u.Nodes < 0 && !strings.Contains(s, "-") {
			t.Errorf("%q: negative node count %d", s, *u.Nodes)
		}
	})
}
