package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// explainFake answers the explain, accuracy, estimates and what-if routes
// and hands every other request to the fixture's fake controller.
type explainFake struct {
	mu        sync.Mutex
	srv       *httptest.Server
	paths     []string
	explained map[string]*api.Explanation
	accuracy  api.EstimateAccuracy
	estimates api.EstimatesResponse
	whatIf    []api.WhatIfRequest
	// whatIfErr, when set, is answered to what-if requests (400).
	whatIfErr *api.ErrorResponse
}

func newExplainFake(t *testing.T, f *fakeCtld) *explainFake {
	t.Helper()
	x := &explainFake{explained: map[string]*api.Explanation{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}/explain", func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.paths = append(x.paths, r.URL.Path)
		e, ok := x.explained[r.PathValue("id")]
		if !ok {
			writeJSON(w, http.StatusNotFound, api.ErrorResponse{Error: "Invalid job id specified"})
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
	mux.HandleFunc("GET /v1/estimates/accuracy", func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		defer x.mu.Unlock()
		writeJSON(w, http.StatusOK, x.accuracy)
	})
	mux.HandleFunc("GET /v1/estimates", func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		defer x.mu.Unlock()
		writeJSON(w, http.StatusOK, x.estimates)
	})
	mux.HandleFunc("POST /v1/whatif", func(w http.ResponseWriter, r *http.Request) {
		var req api.WhatIfRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
			return
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		x.whatIf = append(x.whatIf, req)
		if x.whatIfErr != nil {
			writeJSON(w, http.StatusBadRequest, x.whatIfErr)
			return
		}
		replays, horizon := req.Replays, req.HorizonSecs
		if replays == 0 {
			replays = 10
		}
		if horizon == 0 {
			horizon = 7 * 86400
		}
		writeJSON(w, http.StatusOK, api.WhatIfResult{Now: testNow.Unix(), Replays: replays, HorizonSecs: horizon,
			Accounts: []api.AccountWhatIf{
				{Account: "bio", Jobs: 3, CurrentMeanWait: 5400, ProposedMeanWait: 2700, CurrentP90Wait: 9000, ProposedP90Wait: 4500},
				{Account: "physics", Jobs: 1, CurrentMeanWait: 600, ProposedMeanWait: 900, CurrentP90Wait: 600, ProposedP90Wait: 1200, ProposedUnstarted: 0.5},
			}})
	})
	mux.Handle("/", f.srv.Config.Handler)
	x.srv = httptest.NewServer(mux)
	t.Cleanup(x.srv.Close)
	return x
}

// run runs a command against the fake.
func (x *explainFake) run(t *testing.T, te *testEnv, args ...string) int {
	t.Helper()
	te.vars = map[string]string{"FAIRWAY_ADDR": x.srv.URL, "FAIRWAY_RETRY_SECS": "0"}
	return te.run(t, nil, args...)
}

func TestExplainCommand(t *testing.T) {
	now := testNow.Unix()
	reclaim := &api.Explanation{JobID: 12, State: api.JobPending, Reason: api.ReasonResources,
		Summary: "Job 12 waits for its account physics to take back its guarantee on partition gpu: it holds 2 of 8 guaranteed GPUs; " +
			"jobs 7 and 9 (account bio, borrowing) are being preempted for it and stop by 12:33:20 UTC.",
		Facts: []api.ExplainFact{
			{Kind: api.FactGuarantee, Text: "Account physics is guaranteed 8 GPUs on partition gpu, holds 2 and this job needs 6."},
			{Kind: api.FactReclaim, Text: "Job 7 (bob/bio, 4 GPUs on n2) got its checkpoint signal USR1 at 12:32:20 UTC; its grace of 00:01:00 ends at 12:33:20 UTC.", Jobs: []api.JobID{7}},
			{Kind: api.FactEstimate, Text: "Expected start between ... (server time)."},
		},
		Reservation: now + 5*60,
		Estimate:    &api.StartEstimate{MadeAt: now, P50: now + 35*60, P90: now + 70*60, Horizon: now + 7*86400, Replays: 20, Started: 20},
	}
	unsure := &api.Explanation{JobID: 40, State: api.JobPending, Reason: api.ReasonPriority, Summary: "Job 40 waits behind 9 jobs of higher priority in partition gpu.",
		Estimate: &api.StartEstimate{MadeAt: now, P50: now + 86400 + 3600, Horizon: now + 7*86400, Replays: 20, Started: 12}}
	never := &api.Explanation{JobID: 41, State: api.JobPending, Reason: api.ReasonPriority, Summary: "Job 41 waits.",
		Estimate: &api.StartEstimate{MadeAt: now, Horizon: now + 7*86400, Replays: 20, Started: 3}}
	task := &api.Explanation{JobID: 30, State: api.JobPending, Reason: api.ReasonHeldUser,
		Summary: "Job 30 is held by its user: it will not start until it is released with scontrol release 30."}
	running := &api.Explanation{JobID: 1, State: api.JobRunning, Summary: "Job 1 is running since 11:28:15 UTC on node1,node2 (partition gpu)."}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // stdout, or stderr when wantCode != 0
		wantPath string
	}{
		{name: "reclaim with reservation and estimate", args: []string{"fairway", "explain", "12"}, want: lines(
			reclaim.Summary,
			"  - Account physics is guaranteed 8 GPUs on partition gpu, holds 2 and this job needs 6.",
			"  - Job 7 (bob/bio, 4 GPUs on n2) got its checkpoint signal USR1 at 12:32:20 UTC; its grace of 00:01:00 ends at 12:33:20 UTC.",
			"Reserved start: 14:35 (the backfill reservation; it holds if running jobs use their whole time limits)",
			"Expected start: between 15:05 and 15:40 (P50-P90 of 20 replays)"), wantPath: "/v1/jobs/12/explain"},
		{name: "P50 only, tomorrow", args: []string{"fairway", "explain", "40"}, want: lines(unsure.Summary,
			"Expected start: Sun 16 Jun 15:30 or later (P50 of 20 replays; in 12 of them it started within 7-00:00:00)")},
		{name: "not within the horizon", args: []string{"fairway", "explain", "41"}, want: lines(never.Summary,
			"Expected start: not within 7-00:00:00 in most replays (it started in 3 of 20)")},
		{name: "array task, no estimate yet", args: []string{"fairway", "explain", "30_2"}, want: lines(task.Summary,
			"Expected start: no estimate yet (the controller replays the queue about once a minute, the first 5,000 pending jobs by priority by default)"), wantPath: "/v1/jobs/30_2/explain"},
		{name: "running", args: []string{"fairway", "explain", "1"}, want: lines(running.Summary)},
		{name: "unknown job", args: []string{"fairway", "explain", "99"}, wantCode: 1, want: "explain: error: job 99: Invalid job id specified\n"},
		{name: "bad job id", args: []string{"fairway", "explain", "12x"}, wantCode: 1,
			want: "explain: error: invalid JOB_ID \"12x\": not a job id such as 12, or 12_3 for task 3 of job array 12\n"},
		{name: "no job", args: []string{"fairway", "explain"}, wantCode: 1, want: "explain: error: usage: fairway explain JOB_ID, or fairway explain --accuracy\n"},
		{name: "accuracy", args: []string{"fairway", "explain", "--accuracy"}, want: lines(
			"Jobs measured:              40 (retained jobs that had a start estimate while pending, and started)",
			"Started within [made, P90]: 31 of 40 (78%)",
			"Median |start - P50|:       7:30 (over the 38 jobs with a P50)")},
		{name: "accuracy with a job", args: []string{"fairway", "explain", "--accuracy", "12"}, wantCode: 1,
			want: "explain: error: invalid JOB_ID \"12\": --accuracy takes no job: it measures every retained job\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newExplainFake(t, newFakeCtld(t).fixture())
			x.explained = map[string]*api.Explanation{"12": reclaim, "40": unsure, "41": never, "30_2": task, "1": running}
			x.accuracy = api.EstimateAccuracy{Jobs: 40, InRange: 31, WithP50: 38, MedianAbsErrorSecs: 450}
			te := &testEnv{}
			code := x.run(t, te, tc.args...)
			got := te.stdout.String()
			if tc.wantCode != 0 {
				got = te.stderr.String()
			}
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, te.stderr.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if tc.wantPath != "" && (len(x.paths) != 1 || x.paths[0] != tc.wantPath) {
				t.Errorf("requests %v, want %s", x.paths, tc.wantPath)
			}
		})
	}
}

func TestExplainJSON(t *testing.T) {
	x := newExplainFake(t, newFakeCtld(t).fixture())
	want := &api.Explanation{JobID: 3, State: api.JobPending, Reason: api.ReasonHeldUser, Summary: "Job 3 is held by its user."}
	x.explained["3"] = want
	te := &testEnv{}
	if code := x.run(t, te, "fairway", "explain", "--json", "3"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	var got api.Explanation
	if err := json.Unmarshal(te.stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, te.stdout.String())
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestSimFromLive(t *testing.T) {
	dir := t.TempDir()
	proposed := filepath.Join(dir, "proposed.json")
	if err := os.WriteFile(proposed, []byte(`{"partitions":[{"name":"gpu"}],"scheduling":{"weights":{"fair_share":100},"backfill":{"mode":"conservative"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	misspelt := filepath.Join(dir, "misspelt.json")
	if err := os.WriteFile(misspelt, []byte(`{"partitions":[{"name":"gpu"}],"schedulng":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		serveErr *api.ErrorResponse
		wantCode int
		want     string
		wantReq  *api.WhatIfRequest
	}{
		{
			name: "proposed configuration",
			args: []string{"fairway", "sim", "--from-live", "--config", proposed, "--replays", "5", "--horizon", "72h"},
			want: lines(
				"Replayed the queue of the current configuration (CUR) and the proposed one (NEW) 5 times each, 3-00:00:00 ahead from 2024-06-15T14:30:00.",
				"Waits of the jobs pending now, from now to their start (mean and P90 over replays and jobs); UNSTARTED: jobs not started within the horizon, per replay.",
				"ACCOUNT  JOBS  MEAN_CUR  MEAN_NEW  CHANGE  P90_CUR   P90_NEW   UNSTARTED_CUR  UNSTARTED_NEW",
				"bio      3     01:30:00  00:45:00  -50%    02:30:00  01:15:00  0.0            0.0",
				"physics  1     00:10:00  00:15:00  +50%    00:10:00  00:20:00  0.0            0.5"),
			wantReq: &api.WhatIfRequest{Replays: 5, HorizonSecs: 72 * 3600, Config: &api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu"}},
				Scheduling: api.SchedulingConfig{Weights: api.PriorityWeights{FairShare: 100}, Backfill: api.BackfillConfig{Mode: api.BackfillConservative}}}},
		},
		{name: "Slurm horizon, current configuration", args: []string{"fairway", "sim", "--from-live", "--horizon", "2-00:00:00"},
			wantReq: &api.WhatIfRequest{HorizonSecs: 2 * 86400}},
		{name: "needs --from-live", args: []string{"fairway", "sim"}, wantCode: 1,
			want: "sim: error: invalid --from-live \"\": fairway sim replays the live queue and needs --from-live (replay a trace with fairway-sim)\n"},
		{name: "too many replays", args: []string{"fairway", "sim", "--from-live", "--replays", "51"}, wantCode: 1,
			want: "sim: error: invalid --replays \"51\": must be a number from 1 to 50\n"},
		{name: "bad horizon", args: []string{"fairway", "sim", "--from-live", "--horizon", "soon"}, wantCode: 1,
			want: "sim: error: invalid --horizon \"soon\": must be a positive duration such as 72h, or a Slurm time such as 7-00:00:00 (want minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED, not UNLIMITED)\n"},
		{name: "misspelt setting", args: []string{"fairway", "sim", "--from-live", "--config", misspelt}, wantCode: 1,
			want: "sim: error: invalid --config \"" + misspelt + "\": not a cluster configuration (JSON): json: unknown field \"schedulng\"\n"},
		{name: "missing file", args: []string{"fairway", "sim", "--from-live", "--config", filepath.Join(dir, "nope.json")}, wantCode: 1,
			want: "sim: error: invalid --config \"" + filepath.Join(dir, "nope.json") + "\": cannot read it: open " + filepath.Join(dir, "nope.json") + ": no such file or directory\n"},
		{name: "the controller names the field", args: []string{"fairway", "sim", "--from-live", "--config", proposed}, wantCode: 1,
			serveErr: &api.ErrorResponse{Error: `the proposed configuration is not valid: invalid config.partitions[0].max_time_secs "-5": must be 0 or more`, Field: "config.partitions[0].max_time_secs"},
			want:     "sim: error: what-if replay: the proposed configuration is not valid: invalid config.partitions[0].max_time_secs \"-5\": must be 0 or more\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newExplainFake(t, newFakeCtld(t).fixture())
			x.whatIfErr = tc.serveErr
			te := &testEnv{}
			code := x.run(t, te, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, te.stderr.String())
			}
			got := te.stdout.String()
			if tc.wantCode != 0 {
				got = te.stderr.String()
			}
			if tc.want != "" {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
			if tc.wantReq != nil {
				if len(x.whatIf) != 1 {
					t.Fatalf("what-if requests: %d, want 1", len(x.whatIf))
				}
				if diff := cmp.Diff(*tc.wantReq, x.whatIf[0]); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSqueueStart(t *testing.T) {
	f := newFakeCtld(t).fixture()
	now := testNow.Unix()
	// A third pending job, released: its start comes from the estimate.
	f.jobs = append(f.jobs, &api.Job{ID: 6, State: api.JobPending, Partition: "gpu", Reason: api.ReasonPriority, Priority: 100,
		Spec: api.JobSpec{Name: "later", User: "carol", UID: 1003, Nodes: 2, NTasks: 2, CPUsPerTask: 1, GPUs: 1}, SubmitTime: now - 10})
	x := newExplainFake(t, f)
	x.estimates = api.EstimatesResponse{Now: now, MadeAt: now - 20, Estimates: map[api.JobID]api.StartEstimate{
		2: {MadeAt: now - 20, P50: now + 600, P90: now + 900}, // the reservation wins
		6: {MadeAt: now - 20, P50: now + 2*3600, P90: now + 3*3600},
	}}
	te := &testEnv{}
	if code := x.run(t, te, "squeue", "--start"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	want := lines(
		"             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)",
		"                 2   gpu,cpu a-very-l      bob PD 2024-06-15T15:00:00      1 (null)               (Resources)",
		"                 6       gpu    later    carol PD 2024-06-15T16:30:00      2 (null)               (Priority)",
		"                 3       gpu     held    alice PD                 N/A      1 (null)               (JobHeldUser)")
	if diff := cmp.Diff(want, te.stdout.String()); diff != "" {
		t.Errorf("squeue --start (-want +got):\n%s", diff)
	}
	// Other options change what --start sets.
	if code := x.run(t, te, "squeue", "--start", "-h", "-o", "%i %S", "-t", "PD,R"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	if got, want := te.stdout.String(), lines("1 2024-06-15T13:27:55", "2 2024-06-15T15:00:00", "6 2024-06-15T16:30:00", "3 N/A"); got != want {
		t.Errorf("squeue --start -o '%%i %%S' -t PD,R = %q, want %q", got, want)
	}
}

func FuzzParseHorizon(f *testing.F) {
	for _, s := range []string{"72h", "7-00:00:00", "90", "1:30", "0", "-5m", "UNLIMITED", "500ms", "", "2-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, err := parseHorizon(s)
		if err == nil && secs <= 0 {
			t.Errorf("parseHorizon(%q) = %d without an error; want a positive horizon", s, secs)
		}
		if _, err := whatIfRequest(true, "", "", s, nil); (err == nil) != (s == "" || secs > 0) {
			t.Errorf("whatIfRequest with --horizon %q: %v", s, err)
		}
	})
}
