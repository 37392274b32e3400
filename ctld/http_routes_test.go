package ctld_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
)

// bodyRule is how a /v1 route reads its request body.
type bodyRule int

const (
	// noBody: the route reads no body; whatever is sent is ignored.
	noBody bodyRule = iota
	// mayBeEmpty: an empty body is an empty request (allowEmpty).
	mayBeEmpty
	// needsBody: an empty body is refused.
	needsBody
)

// The body limits of the routes, as a client sees them.
const (
	smallLimit  = 64 << 10
	nodeLimit   = 1 << 20
	configLimit = 4 << 20
	// submitLimit is the default max_script_bytes (4 MiB) plus 1 MiB for
	// the rest of a submission.
	submitLimit = 5 << 20
)

// v1Route is one /v1 route as a client sees it: its path with {id} as job 1
// and {name} as node n1 (none exists), how it reads its body, its body
// limit, whether it parses a read's ?index=&wait=&consistent=, and its
// answer to the plain request (no body, no query) on a fresh controller.
type v1Route struct {
	method, path string
	body         bodyRule
	limit        int64
	query        bool
	plain        routeAnswer
}

// routeAnswer is what a client notices of an answer.
type routeAnswer struct {
	Status      int
	Error       string // api.ErrorResponse's error, "" on success
	Field       string
	ContentType string
	Index       bool   // the answer carries api.IndexHeader
	Challenge   string // WWW-Authenticate
}

const jsonType = "application/json"

// badBody begins the error message of a body that is not a valid request.
const badBody = `invalid body "": not a valid JSON request: `

// ok is a successful JSON answer; okRead one with the index header.
var (
	ok     = routeAnswer{Status: http.StatusOK, ContentType: jsonType}
	okRead = routeAnswer{Status: http.StatusOK, ContentType: jsonType, Index: true}
)

// refused is an error answer.
func refused(status int, msg, field string) routeAnswer {
	return routeAnswer{Status: status, Error: msg, Field: field, ContentType: jsonType}
}

// v1Routes are the /v1 routes that authenticate their caller (all but the
// dashboard's static pages), with their plain answers on a fresh
// single-controller cluster with --insecure-no-auth and no jobs or nodes.
var v1Routes = []v1Route{
	{"POST", "/v1/jobs", needsBody, submitLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/jobs/will-run", needsBody, submitLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/jobs", noBody, 0, true, okRead},
	{"GET", "/v1/jobs/1", noBody, 0, true, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/cancel", mayBeEmpty, smallLimit, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/steps", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/jobs/1/steps", noBody, 0, true, refused(404, "Invalid job id specified", "")},
	{"GET", "/v1/jobs/1/explain", noBody, 0, true, refused(404, "Invalid job id specified", "")},
	{"GET", "/v1/estimates", noBody, 0, false, ok},
	{"GET", "/v1/estimates/accuracy", noBody, 0, true, okRead},
	{"POST", "/v1/whatif", mayBeEmpty, configLimit, false, ok},
	{"GET", "/v1/priorities", noBody, 0, true, okRead},
	{"GET", "/v1/shares", noBody, 0, true, okRead},
	{"POST", "/v1/jobs/1/hold", noBody, 0, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/release", noBody, 0, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/requeue", noBody, 0, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/end-grace", noBody, 0, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/checkpoint", noBody, 0, false, refused(404, "Invalid job id specified", "")},
	{"POST", "/v1/jobs/1/update", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/nodes", noBody, 0, true, okRead},
	{"POST", "/v1/nodes/update", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/partitions/main/update", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/diag", noBody, 0, false, ok},
	{"POST", "/v1/diag/reset", noBody, 0, false, ok},
	{"POST", "/v1/nodes/register", needsBody, nodeLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/nodes/n1/heartbeat", mayBeEmpty, nodeLimit, false, refused(404, "unknown node n1: register first", "")},
	{"POST", "/v1/nodes/n1/events", needsBody, nodeLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/nodes/n1/steps", needsBody, nodeLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/nodes/n1/jobs", noBody, 0, true, refused(404, "unknown node n1: register first", "")},
	{"GET", "/v1/partitions", noBody, 0, true, okRead},
	{"GET", "/v1/config", noBody, 0, true, okRead},
	{"PUT", "/v1/config", needsBody, configLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/assoc", needsBody, configLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/status", noBody, 0, true, okRead},
	{"POST", "/v1/cluster/join", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"GET", "/v1/cluster", noBody, 0, true, okRead},
	{"POST", "/v1/cluster/remove", needsBody, smallLimit, false, refused(400, badBody+"EOF", "body")},
	{"POST", "/v1/token", mayBeEmpty, smallLimit, false, refused(409, "tokens are not enabled: controller ctl1 runs without a JWT key (--jwt-key)", "")},
	{"GET", "/v1/history", noBody, 0, true, okRead},
	{"GET", "/v1/alerts", noBody, 0, true, okRead},
	{"GET", "/v1/dashboard", noBody, 0, false, ok},
}

// TestV1RoutesRefuseBadRequests: every /v1 route's answer to an
// unauthenticated caller, a malformed query, a malformed, empty or too
// large body and a malformed job ID in its path: the status, the error
// message and field, the content type and the index header a client sees.
func TestV1RoutesRefuseBadRequests(t *testing.T) {
	c, _ := startController(t, nil)
	// oversized is a JSON body of n bytes whose one field is unknown.
	oversized := func(n int64) []byte {
		const head, tail = `{"nope":"`, `"}`
		return []byte(head + strings.Repeat("a", int(n)-len(head)-len(tail)) + tail)
	}
	unknownField := refused(http.StatusBadRequest, badBody+`json: unknown field "nope"`, "body")
	for _, r := range v1Routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			type check struct {
				name   string
				path   string
				body   []byte
				header map[string]string
				want   routeAnswer
			}
			// ifBody is want where the route reads a body, its plain
			// answer where it ignores the body.
			ifBody := func(want routeAnswer) routeAnswer {
				if r.body == noBody {
					return r.plain
				}
				return want
			}
			ifQuery := func(want routeAnswer) routeAnswer {
				if !r.query {
					return r.plain
				}
				return want
			}
			checks := []check{
				{name: "plain", path: r.path, want: r.plain},
				{name: "unauthenticated", path: r.path + "?index=x", body: []byte("{"),
					header: map[string]string{"Authorization": "Bearer not-a-token"},
					want: routeAnswer{Status: http.StatusUnauthorized, Error: "token not accepted: this controller has no JWT key (--jwt-key)",
						ContentType: jsonType, Challenge: `Bearer realm="fairway"`}},
				{name: "bad index", path: r.path + "?index=x",
					want: ifQuery(refused(http.StatusBadRequest, `invalid index "x": must be a raft index such as 42`, "index"))},
				{name: "bad wait", path: r.path + "?index=1&wait=soon",
					want: ifQuery(refused(http.StatusBadRequest, `invalid wait "soon": must be a duration such as 30s or 5m`, "wait"))},
				{name: "bad consistent", path: r.path + "?consistent=maybe",
					want: ifQuery(refused(http.StatusBadRequest, `invalid consistent "maybe": must be 1, true, 0 or false`, "consistent"))},
				{name: "unknown field", path: r.path, body: []byte(`{"nope":1}`), want: ifBody(unknownField)},
				{name: "bad JSON", path: r.path, body: []byte(`{`),
					want: ifBody(refused(http.StatusBadRequest, badBody+"unexpected EOF", "body"))},
			}
			if r.body != noBody {
				tooLarge := refused(http.StatusRequestEntityTooLarge,
					fmt.Sprintf("the request body is larger than %d bytes, the limit of %s %s", r.limit, r.method, r.path), "")
				if r.path == "/v1/jobs" {
					tooLarge = refused(http.StatusRequestEntityTooLarge,
						fmt.Sprintf("batch script too large: %s (the cluster's max_script_bytes is %d)", tooLarge.Error, api.DefaultMaxScriptBytes), "script")
				}
				checks = append(checks,
					check{name: "at the limit", path: r.path, body: oversized(r.limit), want: unknownField},
					check{name: "over the limit", path: r.path, body: oversized(r.limit + 1), want: tooLarge})
			}
			if strings.HasPrefix(r.path, "/v1/jobs/1") {
				// The job ID is checked before the query and the body.
				checks = append(checks, check{name: "bad job id",
					path: strings.Replace(r.path, "/1", "/x", 1) + "?index=x", body: []byte("{"),
					want: refused(http.StatusBadRequest, `Invalid job id specified: "x"`, "id")})
			}
			for _, ch := range checks {
				got := sendRoute(t, c, r.method, ch.path, ch.body, ch.header)
				if diff := cmp.Diff(ch.want, got); diff != "" {
					t.Errorf("%s: %s %s (-want +got):\n%s", ch.name, r.method, ch.path, diff)
				}
			}
		})
	}
}

// TestV1RoutesFilters: the job list's and the priorities' own query
// parameters are checked before the blocking-query ones.
func TestV1RoutesFilters(t *testing.T) {
	c, _ := startController(t, nil)
	for _, tc := range []struct {
		path string
		want routeAnswer
	}{
		{"/v1/jobs?state=bogus&index=x", refused(http.StatusBadRequest, `unknown job state "bogus" in state=bogus`, "state")},
		{"/v1/jobs?id=1,a&index=x", refused(http.StatusBadRequest, `invalid job id "a" in id=1,a`, "id")},
		{"/v1/jobs?id=0", okRead},
		{"/v1/priorities?id=0&index=x", refused(http.StatusBadRequest, `invalid job id "0" in id=0`, "id")},
		{"/v1/priorities?id=1&user=alice", okRead},
		{"/v1/jobs?view=brief", routeAnswer{Status: http.StatusOK, ContentType: api.BriefJobsContentType, Index: true}},
	} {
		got := sendRoute(t, c, "GET", tc.path, nil, nil)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
		}
	}
}

// TestV1RoutesAnswer: the answers of writes and reads that succeed carry
// the content type and, for reads and heartbeats, the index header.
func TestV1RoutesAnswer(t *testing.T) {
	c, cl := startController(t, nil)
	registerNode(t, cl, "n1", 4, 0)
	submit, err := json.Marshal(api.SubmitRequest{Jobs: []api.JobSpec{spec("a")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, body string
		want               routeAnswer
	}{
		{"POST", "/v1/nodes/n1/heartbeat", "", okRead},
		{"POST", "/v1/jobs", string(submit), ok},
		{"GET", "/v1/jobs/1", "", okRead},
		{"GET", "/v1/jobs/1/steps", "", okRead},
		{"GET", "/v1/nodes/n1/jobs", "", okRead},
		{"POST", "/v1/jobs/1/hold", "", ok},
		{"POST", "/v1/jobs/1/release", "", ok},
		{"POST", "/v1/jobs/1/update", `{"nice":5}`, ok},
		{"POST", "/v1/nodes/update", `{"nodes":["n1"],"state":"RESUME"}`, ok},
		{"POST", "/v1/jobs/1/cancel", "", ok},
	} {
		got := sendRoute(t, c, tc.method, tc.path, []byte(tc.body), nil)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
}

// sendRoute sends a request to c and returns what a client notices of the
// answer.
func sendRoute(t *testing.T, c *ctld.Controller, method, path string, body []byte, header map[string]string) routeAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, "http://"+c.Addr()+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := routeAnswer{
		Status:      resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
		Index:       resp.Header.Get(api.IndexHeader) != "",
		Challenge:   resp.Header.Get("WWW-Authenticate"),
	}
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorResponse
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s %s: %d answer %q is not an api.ErrorResponse: %v", method, path, resp.StatusCode, raw, err)
		}
		a.Error, a.Field = e.Error, e.Field
	}
	return a
}
