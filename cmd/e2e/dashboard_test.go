//go:build e2e

package e2e

// The web dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
// driven with chromedp) against a real cluster: sign in with a token from
// scontrol token, load every page, and check what a person sees there.
// FAIRWAY_SCREENSHOTS=DIR saves a PNG of each page into DIR.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fairway-hpc/fairway/api"
)

// browser is one headless Chromium tab on the cluster's dashboard.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // https://host:port/ui/
	shot string // FAIRWAY_SCREENSHOTS
}

func newBrowser(t *testing.T, c *cluster) *browser {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the dashboard tests need Debian's chromium at %s: %v", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the e2e tests run as root
		// The controller's certificate is from the run's private CA.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("user-data-dir", t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: c.ctldURL + "/ui/", shot: os.Getenv("FAIRWAY_SCREENSHOTS")}
	// Other tests add and remove bridges while this one runs; Chromium
	// aborts a page load when the machine's addresses change
	// (net::ERR_NETWORK_CHANGED), so the first load is tried again.
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(ctx, chromedp.Navigate(c.ctldURL+"/"))
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") || attempt == 10 {
			t.Fatalf("open the dashboard: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return b
}

// do runs actions with a deadline.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text is the text of the first element matching a CSS selector, "" when
// there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent.trim() : "" })()`, q))
}

// show loads a page (#/hash) afresh, as a person clicking to it or coming
// back to it, and waits until it has rendered.
func (b *browser) show(page, hash string) {
	b.t.Helper()
	h, _ := json.Marshal("#/" + hash)
	eval[bool](b, fmt.Sprintf(`(() => {
		const m = document.querySelector("#main > *"); if (m) m.setAttribute("data-stale", "1");
		if (location.hash !== %[1]s) location.hash = %[1]s; else window.dispatchEvent(new HashChangeEvent("hashchange"));
		return true })()`, h))
	b.do("render page "+hash, chromedp.WaitVisible(chromedp.CSS(`#main > [data-page="`+page+`"]:not([data-stale])`)))
}

// until reloads a page until check (reading the page) returns "" or the
// deadline passes; it returns check's last complaint.
func (b *browser) until(page, hash string, timeout time.Duration, check func() string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.show(page, hash)
		why := check()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("page %s after %v: %s", hash, timeout, why)
		}
		time.Sleep(time.Second)
	}
}

// screenshot saves the page as DIR/name.png when FAIRWAY_SCREENSHOTS=DIR.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if b.shot == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shot, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn pastes a token into the sign-in form and submits it.
func (b *browser) signIn(tok string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS("#signin-button")))
}

// apiGet reads a /v1 path with the token; ok false on a status other than 200.
func (c *cluster) apiGet(tok, path string, v any) (ok bool) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.ctldURL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		c.t.Fatalf("GET %s: decode: %v", path, err)
	}
	return true
}

// TestDashboard: the production report's Figure 1 live. Account research
// (no guarantee) borrows all three usable GPUs of a node whose fourth GPU is
// unhealthy; account prod (guarantee 2) submits a job and reclaims its two
// GPUs. In Chromium, signed in with a token, a person sees: the accounts'
// bars against the guarantees with the numbers of the cluster, before and
// after the reclaim; the preempted job pending with its reason in words (and
// its start range from the controller's estimate); the unhealthy GPU and
// its reason; the running job's page; alerts; and is sent back to sign in
// when the token expires.
func TestDashboard(t *testing.T) {
	cfg := lendingConfig(2, 2)
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, cfg), nodeCPUs: "8", nodeMemory: "8192", gpus: "4:h100",
		nodedArgs: []string{"--gpus-unhealthy", "3:XID 79 (GPU has fallen off the bus)"},
		ctldArgs: []string{"--history-interval", "2s", "--alert-pending-age", "20s", "--estimate-interval", "2s",
			"--prometheus-url", "http://127.0.0.1:9090", "--grafana-url", "http://127.0.0.1:3000/d/fairway"}})
	tok := c.tokenAsRoot()

	// research borrows every usable GPU.
	borrow2 := c.sbatch("-A", "research", "-J", "train-large", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 600")
	c.waitState(borrow2, "RUNNING", 60*time.Second)
	borrow1 := c.sbatch("-A", "research", "-J", "train-small", "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 600")
	c.waitState(borrow1, "RUNNING", 60*time.Second)
	held := c.sbatch("-A", "research", "-J", "sweep", "--hold", "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 600")

	b := newBrowser(t, c)
	// Not signed in: the sign-in form; a bad token is refused with the
	// controller's reason.
	b.do("sign-in page", chromedp.WaitVisible(chromedp.CSS("#signin")))
	b.screenshot("signin")
	b.signIn("SLURM_JWT=not-a-token")
	b.do("sign-in error", chromedp.WaitVisible(chromedp.CSS("#signin-error .error")))
	if got := b.text("#signin-error"); !strings.Contains(got, "Sign-in failed: token malformed") {
		t.Errorf("sign-in with a bad token shows %q, want the controller's reason (token malformed)", got)
	}
	b.signIn("SLURM_JWT=" + tok)
	b.do("overview after sign-in", chromedp.WaitVisible(chromedp.CSS(`#main > [data-page="overview"]`)))
	if got := b.text("#signed-in-as"); got != "Signed in as root" {
		t.Errorf("header shows %q, want Signed in as root", got)
	}
	if got := eval[string](b, `[...document.querySelectorAll("#links a")].map(a => a.textContent + "=" + a.href).join(" ")`); got != "Prometheus=http://127.0.0.1:9090/ Grafana=http://127.0.0.1:3000/d/fairway" {
		t.Errorf("links %q, want Prometheus and Grafana as configured", got)
	}

	// Accounts while research borrows: its 3 GPUs, all borrowed; prod's
	// whole guarantee lent.
	bar := func(account, part string) string {
		return b.text(`[data-account="` + account + `"] .` + part)
	}
	b.until("accounts", "accounts", 30*time.Second, func() string {
		got := [4]string{bar("research", "inuse"), bar("research", "borrowed"), bar("prod", "inuse"), bar("prod", "lent")}
		want := [4]string{"3 GPUs in use", "borrowed 3", "0 GPUs in use of 2 guaranteed", "lent 2"}
		if got != want {
			return fmt.Sprintf("account bars show %q, want %q", got, want)
		}
		return ""
	})
	b.screenshot("accounts-borrowing")

	// prod takes its guarantee back: research's 2-GPU job is preempted and
	// requeued.
	owner := c.sbatch("-A", "prod", "-J", "eval", "--gres=gpu:2", "--mem=64M", "--wrap", "sleep 600")
	c.waitState(owner, "RUNNING", 90*time.Second)
	c.waitState(borrow2, "PENDING", 30*time.Second)

	b.until("accounts", "accounts", 30*time.Second, func() string {
		got := [6]string{bar("prod", "inuse"), bar("prod", "lent"), bar("research", "inuse"), bar("research", "borrowed"), bar("research", "lent"), bar("research", "pendingjobs")}
		want := [6]string{"2 GPUs in use of 2 guaranteed", "lent 0", "1 GPU in use", "borrowed 1", "lent 0", "2 pending jobs (3 GPUs)"}
		if got != want {
			return fmt.Sprintf("account bars show %q, want %q", got, want)
		}
		return ""
	})
	// The bar: prod's blue segment ends at its guarantee line.
	if n := eval[int](b, `document.querySelectorAll('[data-account="prod"] svg line').length`); n != 1 {
		t.Errorf("prod's bar has %d guarantee marks, want 1", n)
	}

	// The queue: the preempted job pending with its reason in words, and its
	// start range from the controller's estimates; the held job likewise.
	var ex api.Explanation
	c.waitFor("a start range for job "+borrow2, 60*time.Second, func() bool {
		return c.apiGet(tok, "/v1/jobs/"+borrow2+"/explain", &ex) && ex.Estimate != nil && ex.Estimate.P50 > 0 && ex.Estimate.P90 > 0
	})
	b.until("queue", "queue?state=pending", 30*time.Second, func() string {
		for _, id := range []string{borrow2, held} {
			var j api.Job
			if !c.apiGet(tok, "/v1/jobs/"+id, &j) {
				return "job " + id + " not readable"
			}
			row := `[data-job-row="` + id + `"] `
			// The queue shows the controller's explanation in words.
			var jx api.Explanation
			if !c.apiGet(tok, "/v1/jobs/"+id+"/explain", &jx) {
				return "job " + id + " not explained"
			}
			want := jx.Summary
			// The summary says how long from now ("in 00:59:29"), which
			// moves between the page's read and this one.
			if got := b.text(row + ".reason-words"); want == "" || withoutCountdown(got) != withoutCountdown(want) {
				return fmt.Sprintf("job %s (reason %s) shows %q, want %q", id, j.Reason, got, want)
			}
		}
		return ""
	})
	if start := b.text(`[data-job-row="` + borrow2 + `"] .start`); !strings.HasPrefix(start, "between ") {
		t.Errorf("expected start of job %s shows %q, want its range between P50 and P90", borrow2, start)
	}
	// Filtering by account: prod's only job.
	b.show("queue", "queue")
	eval[bool](b, `(() => { const f = document.getElementById("filter-account"); f.value = "prod";
		document.querySelector("#main > *").setAttribute("data-stale", "1"); f.dispatchEvent(new Event("change")); return true })()`)
	b.do("filtered queue", chromedp.WaitVisible(chromedp.CSS(`#main > [data-page="queue"]:not([data-stale])`)))
	if got := eval[[]string](b, `[...document.querySelectorAll("[data-job-row]")].map(r => r.dataset.jobRow)`); !slices.Equal(got, []string{owner}) {
		t.Errorf("the queue filtered by account prod lists jobs %v, want [%s]", got, owner)
	}
	b.show("queue", "queue")
	b.screenshot("queue")

	// Nodes and GPUs: the unhealthy GPU and its reason; who holds the others.
	b.show("nodes", "nodes")
	if got := b.text(`[data-unhealthy="node1/3"] .health-reason`); got != "XID 79 (GPU has fallen off the bus)" {
		t.Errorf("nodes page shows GPU 3's reason as %q", got)
	}
	if got := b.text(`[data-gpu="node1/3"]`); !strings.Contains(got, "XID 79") {
		t.Errorf("GPU 3's tile shows %q, want its health reason", got)
	}
	holders := eval[[]string](b, `[...document.querySelectorAll('[data-node="node1"] .gpu.busy a')].map(a => a.textContent)`)
	slices.Sort(holders)
	if want := []string{borrow1, owner, owner}; !slices.Equal(holders, slices.Sorted(slices.Values(want))) {
		t.Errorf("the busy GPU tiles name jobs %v, want %v", holders, want)
	}
	b.screenshot("nodes")

	// The overview: utilization, counts, and the unhealthy GPU's alert.
	b.until("overview", "overview", 30*time.Second, func() string {
		got := [3]string{b.text("#card-gpu-util .value"), b.text("#card-running .value"), b.text("#card-pending .value")}
		if want := [3]string{"100%", "2", "2"}; got != want {
			return fmt.Sprintf("cards show utilization, running, pending %q, want %q", got, want)
		}
		if a := b.text(`[data-alert="GPUUnhealthy"] .alert-summary`); a != "GPU 3 of node node1 (GPU-fake-node1-3) is unhealthy: XID 79 (GPU has fallen off the bus)" {
			return fmt.Sprintf("GPUUnhealthy alert shows %q", a)
		}
		return ""
	})
	if n := eval[int](b, `document.querySelectorAll('#main svg path[data-series="Allocated GPUs"]').length`); n != 1 {
		t.Errorf("overview draws %d allocated-GPU lines, want 1", n)
	}
	// Let the long-pending alert fire for the screenshot.
	b.until("overview", "overview", 40*time.Second, func() string {
		if b.text(`[data-alert="LongPendingJob"] .alert-summary`) == "" {
			return "no LongPendingJob alert yet"
		}
		return ""
	})

	// The running job's page.
	b.show("jobs", "jobs/"+owner)
	if got := b.text("#main h1"); !strings.HasPrefix(got, "Job "+owner+" — eval") || !strings.HasSuffix(got, "RUNNING") {
		t.Errorf("job page title %q", got)
	}
	if got := b.text("#explanation"); !strings.HasPrefix(got, "Running on node1 (GPUs ") {
		t.Errorf("running job's state %q", got)
	}
	if got := b.text(`[data-run="0"]`); !strings.Contains(got, "RUNNING") {
		t.Errorf("running job's run 0: %q", got)
	}
	b.screenshot("job-running")

	// The preempted job's page: its first run preempted for prod's job, and
	// why it waits now.
	b.show("jobs", "jobs/"+borrow2)
	if got := b.text(`[data-run="0"]`); !strings.Contains(got, "PREEMPTED") || !strings.Contains(got, "Preempted (reclaim) for job "+owner) {
		t.Errorf("preempted job's run 0 shows %q, want PREEMPTED by the reclaim for job %s", got, owner)
	}
	if got := b.text("#preemptions"); !strings.Contains(got, "Preempted (reclaim) for job "+owner) {
		t.Errorf("preemptions panel %q", got)
	}
	if got := b.text("#explanation .reason-words"); got == "" {
		t.Errorf("the pending job's page says nothing about why it waits")
	}
	b.screenshot("job-pending")

	// The screenshots of the overview and the accounts, once the history
	// has a minute of points after the reclaim.
	if b.shot != "" {
		time.Sleep(75 * time.Second)
		b.show("overview", "overview")
		b.screenshot("overview")
		b.show("accounts", "accounts")
		b.screenshot("accounts")
	}

	// A token that expires sends the person back to sign in, with the reason.
	short := strings.TrimPrefix(strings.TrimSpace(c.must("scontrol", "token", "lifespan=1")), "SLURM_JWT=")
	eval[bool](b, fmt.Sprintf(`sessionStorage.setItem("fairway.token", %q), true`, short))
	time.Sleep(7 * time.Second) // the token's second and the controller's 5 s leeway
	b.do("reload with an expired token", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#signin-error .error")))
	if got := b.text("#signin-error"); !strings.Contains(got, "token expired") {
		t.Errorf("after the token expired the sign-in page says %q, want token expired", got)
	}
}

// countdown is the "(in 00:59:29)" of an explanation's summary.
var countdown = regexp.MustCompile(`\(in [0-9:-]+\)`)

// withoutCountdown removes the time-from-now parts of a summary.
func withoutCountdown(s string) string { return countdown.ReplaceAllString(s, "(in …)") }
