package ctld_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/sched/forecast"
)

// gpuSpec is a small job asking for gpus GPUs for an hour.
func gpuSpec(name string, gpus int) api.JobSpec {
	s := spec(name)
	s.GPUs, s.TimeLimitSecs = gpus, 3600
	return s
}

func submitOne(t *testing.T, cl *client.Client, s api.JobSpec) api.JobID {
	t.Helper()
	ids, err := cl.Submit(ctx(t), s)
	if err != nil {
		t.Fatalf("submit %s: %v", s.Name, err)
	}
	return ids[0]
}

func TestExplainRoute(t *testing.T) {
	_, cl := startController(t, func(cfg *ctld.Config) { cfg.Estimates.Interval = -1 })
	registerNode(t, cl, "n1", 8, 2).beat(t)
	running := submitOne(t, cl, gpuSpec("big", 2))
	waitJob(t, cl, running, "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	waiting := submitOne(t, cl, gpuSpec("next", 2))
	held := gpuSpec("held", 1)
	held.Hold = true
	heldID := submitOne(t, cl, held)
	waitJob(t, cl, waiting, "reserved", func(j *api.Job) bool { return j.ExpectedStart > 0 })

	e, err := cl.Explain(ctx(t), api.JobRef{ID: waiting})
	if err != nil {
		t.Fatal(err)
	}
	if e.State != api.JobPending || e.Reservation == 0 || !strings.Contains(e.Summary, "has a backfill reservation to start at") ||
		!strings.Contains(e.Summary, "when running job "+running.String()+" reaches its time limit") {
		t.Errorf("explain %d = %+v; want a reservation after job %d", waiting, e, running)
	}
	if e.Estimate != nil {
		t.Errorf("estimate %+v with estimates off", e.Estimate)
	}

	e, err = cl.Explain(ctx(t), api.JobRef{ID: heldID})
	if err != nil {
		t.Fatal(err)
	}
	if want := "is held by its user: it will not start until it is released with scontrol release " + heldID.String() + "."; !strings.HasSuffix(e.Summary, want) {
		t.Errorf("held job summary = %q, want it to end %q", e.Summary, want)
	}

	e, err = cl.Explain(ctx(t), api.JobRef{ID: running})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Summary, "is running since") || !strings.Contains(e.Summary, "on n1") {
		t.Errorf("running job summary = %q", e.Summary)
	}

	_, err = cl.Explain(ctx(t), api.JobRef{ID: 999})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("unknown job: err = %v, want 404", err)
	}
	resp, err := http.Get("http://" + strings.TrimPrefix(cl.Addrs()[0], "http://") + "/v1/jobs/x/explain")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad job id: status %d, want 400", resp.StatusCode)
	}
}

func TestStartEstimatesRecordedAndMeasured(t *testing.T) {
	c, cl := startController(t, func(cfg *ctld.Config) { cfg.Estimates.Interval = 100 * time.Millisecond })
	// Every pending job but the first (which starts at once, however
	// soon the estimator runs) is expected to start between now and an
	// hour from now.
	var withArrivals atomic.Bool
	ctld.SetForecast(c, func(_ context.Context, snap forecast.Snapshot, _ forecast.RuntimeModel, opt forecast.Options) (map[api.JobID]api.StartEstimate, error) {
		out := map[api.JobID]api.StartEstimate{}
		if opt.Arrivals != nil {
			withArrivals.Store(true)
		}
		for _, j := range snap.Jobs {
			if j.State == api.JobPending && j.Spec.Name != "first" {
				out[j.ID] = api.StartEstimate{MadeAt: snap.Now, P50: snap.Now + 1, P90: snap.Now + 3600, Horizon: snap.Now + 7*86400, Replays: 20, Started: 20}
			}
		}
		return out, nil
	}, nil)
	registerNode(t, cl, "n1", 8, 2).beat(t)
	first := submitOne(t, cl, gpuSpec("first", 2))
	waitJob(t, cl, first, "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	second := submitOne(t, cl, gpuSpec("second", 2))
	j := waitJob(t, cl, second, "with a first estimate", func(j *api.Job) bool { return j.FirstEstimate != nil })
	if j.FirstEstimate.Replays != 20 || j.FirstEstimate.P90-j.FirstEstimate.MadeAt != 3600 {
		t.Errorf("first estimate = %+v", j.FirstEstimate)
	}
	e, err := cl.Explain(ctx(t), api.JobRef{ID: second})
	if err != nil {
		t.Fatal(err)
	}
	if e.Estimate == nil || len(e.Facts) == 0 || e.Facts[len(e.Facts)-1].Kind != api.FactEstimate ||
		!strings.HasPrefix(e.Facts[len(e.Facts)-1].Text, "Expected start between ") {
		t.Errorf("explain %d: estimate %+v, facts %+v; want the estimate and its fact", second, e.Estimate, e.Facts)
	}
	all, err := cl.Estimates(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if est, ok := all.Estimates[second]; !ok || all.MadeAt == 0 || est.Replays != 20 {
		t.Errorf("estimates = %+v, want job %d's", all, second)
	}
	// Jobs were submitted in the last hour: the replays get arrivals like them.
	if !withArrivals.Load() {
		t.Error("the estimates were made without arrivals, though jobs were submitted in the last hour")
	}
	if j, _ := cl.Job(ctx(t), first); j.FirstEstimate != nil {
		t.Errorf("job %d was never estimated but has an estimate: %+v", first, j.FirstEstimate)
	}

	acc, err := cl.EstimateAccuracy(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if acc.Jobs != 0 {
		t.Errorf("accuracy before any estimated job started = %+v, want no jobs", acc)
	}
	if err := cl.Cancel(ctx(t), first, ""); err != nil {
		t.Fatal(err)
	}
	// The fake node never reports the cancelled job's end: report it.
	if err := cl.ReportEvents(ctx(t), "n1", []api.JobEvent{{JobID: first, Node: "n1", Kind: api.EventExited, Signal: 15}}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, second, "running", func(j *api.Job) bool { return j.State == api.JobRunning })
	acc, err = cl.EstimateAccuracy(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if acc.Jobs != 1 || acc.InRange != 1 || acc.WithP50 != 1 {
		t.Errorf("accuracy = %+v, want job %d measured, in range", acc, second)
	}
	// The metrics say the same (computed at most every 30 s: the first
	// scrape here is the first computation).
	resp, err := http.Get(c.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"fairway_start_estimate_measured_jobs 1", "fairway_start_estimate_in_range_ratio 1"} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestWhatIfRoute(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) {
		cfg.Estimates.Interval = -1
		ctld.WithIdentity(cfg, testIdentify)
	})
	var proposed api.ClusterConfig
	ctld.SetForecast(c, nil, func(_ context.Context, snap forecast.Snapshot, _ forecast.RuntimeModel, p api.ClusterConfig, opt forecast.Options) (api.WhatIfResult, error) {
		proposed = p
		return api.WhatIfResult{Now: snap.Now, Replays: opt.Replays, HorizonSecs: opt.HorizonSecs,
			Accounts: []api.AccountWhatIf{{Account: "physics", Jobs: 2, CurrentMeanWait: 600, ProposedMeanWait: 300}}}, nil
	})
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	bad := *cfg
	bad.Partitions = []api.Partition{{Name: "main", MaxTimeSecs: -5}}
	better := *cfg
	better.Scheduling.Backfill.Mode = api.BackfillConservative
	tests := []struct {
		name       string
		user       string
		req        api.WhatIfRequest
		wantStatus int
		wantField  string
	}{
		{name: "a user may not", user: "alice", req: api.WhatIfRequest{}, wantStatus: http.StatusForbidden},
		{name: "an operator may", user: "olga", req: api.WhatIfRequest{Config: &better, Replays: 5}, wantStatus: http.StatusOK},
		{name: "too many replays", user: "olga", req: api.WhatIfRequest{Replays: 51}, wantStatus: http.StatusBadRequest, wantField: "replays"},
		{name: "negative horizon", user: "olga", req: api.WhatIfRequest{HorizonSecs: -1}, wantStatus: http.StatusBadRequest, wantField: "horizon_secs"},
		{name: "invalid configuration", user: "olga", req: api.WhatIfRequest{Config: &bad}, wantStatus: http.StatusBadRequest, wantField: "config.partitions[0].max_time_secs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, c, tc.user, http.MethodPost, "/v1/whatif", tc.req)
			if status != tc.wantStatus {
				t.Fatalf("status %d (%v), want %d", status, body, tc.wantStatus)
			}
			if tc.wantField != "" && body["field"] != tc.wantField {
				t.Errorf("field = %v (%v), want %s", body["field"], body["error"], tc.wantField)
			}
			if status == http.StatusOK {
				if body["replays"] != float64(5) || proposed.Scheduling.Backfill.Mode != api.BackfillConservative {
					t.Errorf("answer %v, proposed %+v: want 5 replays of the conservative configuration", body, proposed.Scheduling.Backfill)
				}
			}
		})
	}
}
