package ctld_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// getJSON GETs a path of the controller's API and decodes the answer.
func getJSON(t *testing.T, c *ctld.Controller, path string, v any) {
	t.Helper()
	resp, err := http.Get(c.URL() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
}

// TestDashboardReads: with a node of 4 GPUs (one withdrawn as unhealthy) and
// a 2-GPU job running, /v1/history gives the figures now and keeps them in
// its history at the controller's (injected) clock; /v1/alerts reports the
// unhealthy GPU with its reason; /v1/dashboard the configured links.
func TestDashboardReads(t *testing.T) {
	clock := newFakeClock()
	c, cl := startController(t, func(cfg *ctld.Config) {
		cfg.Clock = clock.Now
		cfg.HistoryInterval = 20 * time.Millisecond
		cfg.PrometheusURL = "http://prom.example:9090"
	})
	req := api.RegisterNodeRequest{Name: "n1", Addr: "127.0.0.1:1", Resources: api.NodeResources{CPUs: 8, MemoryMB: 16000}}
	for i := range 4 {
		req.Resources.GPUs = append(req.Resources.GPUs, api.GPU{Index: i, UUID: fmt.Sprintf("GPU-%d", i), Type: "h100", Healthy: i != 3})
	}
	req.Resources.GPUs[3].HealthReason = "XID 79"
	if _, err := cl.RegisterNode(ctx(t), req); err != nil {
		t.Fatal(err)
	}
	s := spec("train")
	s.GPUs = 2
	ids, err := cl.Submit(ctx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, cl, ids[0], "running", func(j *api.Job) bool { return j.State == api.JobRunning })

	want := api.HistoryPoint{
		Time: clock.Now().Unix(), GPUsTotal: 4, GPUsUsable: 3, GPUsAllocated: 2, Running: 1,
		Partitions: []api.PartitionPoint{{Partition: "main", GPUsTotal: 4, GPUsUsable: 3, GPUsAllocated: 2, Running: 1}},
		Accounts:   []api.AccountPoint{{Account: api.RootAccount, Partition: "main", InUse: 2, Borrowed: 2}},
	}
	var h api.HistoryResponse
	getJSON(t, c, "/v1/history", &h)
	if diff := cmp.Diff(want, h.Now); diff != "" {
		t.Errorf("history now (-want +got):\n%s", diff)
	}
	var a api.AlertsResponse
	getJSON(t, c, "/v1/alerts", &a) // the unhealthy GPU seen now, at the clock's time
	// The sampler keeps the same figures in the 15 s point of the clock's
	// next interval (the current one averages the time before the job ran).
	clock.Advance(15 * time.Second)
	want.Time = clock.Now().Unix() - clock.Now().Unix()%15
	waitFor(t, "the sampled point", func() (bool, string) {
		getJSON(t, c, "/v1/history", &h)
		if len(h.Series) != 2 || len(h.Series[0].Points) == 0 {
			return false, fmt.Sprintf("%+v", h.Series)
		}
		got := h.Series[0].Points[len(h.Series[0].Points)-1]
		return cmp.Equal(want, got), cmp.Diff(want, got)
	})

	getJSON(t, c, "/v1/alerts", &a)
	wantAlerts := []api.Alert{{Name: api.AlertGPUUnhealthy, Severity: api.SeverityCritical, Node: "n1", GPU: new(3), Firing: true,
		Since: clock.Now().Add(-15 * time.Second).Unix(), Summary: "GPU 3 of node n1 (GPU-3) is unhealthy: XID 79"}}
	if diff := cmp.Diff(wantAlerts, a.Alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	var info api.DashboardInfo
	getJSON(t, c, "/v1/dashboard", &info)
	if diff := cmp.Diff(api.DashboardInfo{Controller: "ctl1", PrometheusURL: "http://prom.example:9090", HistoryIntervalSecs: 0, ExplainPending: 20}, info,
		cmpopts.IgnoreFields(api.DashboardInfo{}, "HistoryIntervalSecs")); diff != "" {
		t.Errorf("dashboard info (-want +got):\n%s", diff)
	}
}

// TestDashboardPages: the pages are served at /ui/ without credentials,
// with a content security policy that allows no inline script and no other
// origin; / sends a browser there.
func TestDashboardPages(t *testing.T) {
	c, _ := startController(t, nil)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(c.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / answered %s to %q, want a redirect to /ui/", resp.Status, resp.Header.Get("Location"))
	}
	for path, want := range map[string]string{"/ui/": "<title>Fairway</title>", "/ui/app.js": "use strict", "/ui/app.css": ".topbar"} {
		resp, err := http.Get(c.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s, body without %q", path, resp.Status, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	// Unknown API paths still get the API's JSON 404.
	resp, err = http.Get(c.URL() + "/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /v1/nope: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}
