package slurmrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// Version is the data_parser version this API serves.
const Version = "v0.0.41"

// msgUnknownURL and msgMethod are slurmrestd's answers (text/plain) to a
// path it does not serve, or a method a path does not take.
const (
	msgUnknownURL = "Unable find requested URL. Please view /openapi/v3 for API reference."
	msgMethod     = "Requested REST method is not defined at URL. Please view /openapi/v3 for API reference."
)

// Backend is the controller as this API calls it: the same Service methods
// as the /v1 API, with the caller Authenticate established. Every method
// but Authenticate and Classify takes the context Authenticate returned.
type Backend interface {
	// Authenticate identifies the caller of r (X-SLURM-USER-NAME and
	// X-SLURM-USER-TOKEN, a bearer token, MUNGE, a certificate) and returns
	// r's context carrying the identity, or an error Classify calls
	// KindUnauthenticated.
	Authenticate(r *http.Request) (context.Context, error)
	// Caller returns the authenticated caller's user and group names, for
	// the responses' meta.client.
	Caller(ctx context.Context) (user, group string)
	// Submit submits a job as the caller and returns its ID.
	Submit(ctx context.Context, spec api.JobSpec) (api.JobID, error)
	// Jobs lists every job the controller holds, finished ones included;
	// the list carries no scripts or environments.
	Jobs(ctx context.Context) (api.JobsResponse, error)
	// Job returns one job (redacted unless the caller may read it).
	Job(ctx context.Context, ref api.JobRef) (*api.Job, error)
	// Cancel cancels a job (signal "") or sends it a signal.
	Cancel(ctx context.Context, ref api.JobRef, signal string) error
	// Nodes lists the nodes.
	Nodes(ctx context.Context) (api.NodesResponse, error)
	// Partitions lists the partitions.
	Partitions(ctx context.Context) (api.PartitionsResponse, error)
	// Diag returns the scheduler's statistics.
	Diag(ctx context.Context) (api.DiagResponse, error)
	// Ping reports the controllers and whether each answers.
	Ping(ctx context.Context) ([]Ping, error)
	// Classify says what kind of failure a Backend error is.
	Classify(err error) BackendError
}

// Ping is one controller's answer for GET /slurm/v0.0.41/ping.
type Ping struct {
	Hostname  string // the controller's ID
	Up        bool   // it answered
	Primary   bool   // it is the raft leader
	LatencyUS int64  // how long the answer took, in microseconds
}

// Options configure a Handler.
type Options struct {
	// Backend is the controller; required.
	Backend Backend
	// ClusterName is meta.slurm.cluster and the slurmdb jobs' cluster;
	// "fairway" when empty.
	ClusterName string
	// Log receives the refused and failed requests; slog.Default when nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxBodyBytes bounds a submission's body; 32 MiB when 0.
	MaxBodyBytes int64
}

// Handler serves the REST API. Mount it on the controller's mux for the
// prefixes Prefixes names.
type Handler struct {
	opts  Options
	mux   *http.ServeMux
	doc   []byte // the OpenAPI document, built once
	paths *http.ServeMux
	// empties are the routes' empty responses by pattern: a refused
	// request is answered in its route's response type.
	empties map[string]any
}

// Prefixes are the URL path patterns the Handler serves, for mounting:
// "/openapi/v3", "/openapi", "/openapi.json", "/slurm/", "/slurmdb/".
var Prefixes = []string{"/openapi/v3", "/openapi", "/openapi.json", "/slurm/", "/slurmdb/"}

// IsWrite reports whether r changes state (a job submission or a cancel),
// so that the controller forwards it to the raft leader like a /v1 write.
func IsWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
}

// New returns the REST API's handler.
func New(opts Options) (*Handler, error) {
	if opts.Backend == nil {
		return nil, errors.New("slurmrest: no backend")
	}
	if opts.ClusterName == "" {
		opts.ClusterName = "fairway"
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	doc, err := Document()
	if err != nil {
		return nil, fmt.Errorf("slurmrest: build the OpenAPI document: %w", err)
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), paths: http.NewServeMux(), doc: doc, empties: map[string]any{}}
	for _, p := range []string{"GET /openapi/v3", "GET /openapi", "GET /openapi.json"} {
		h.mux.HandleFunc(p, h.serveDocument)
	}
	h.mux.HandleFunc("/slurm/", h.serveAPI)
	h.mux.HandleFunc("/slurmdb/", h.serveAPI)
	h.mux.HandleFunc("/", h.unknownURL)

	v := "/slurm/" + Version
	db := "/slurmdb/" + Version
	route := func(method, path string, fn http.HandlerFunc, empty any) {
		patterns := []string{method + " " + path}
		// slurmrestd takes each path with and without a trailing slash.
		if strings.HasSuffix(path, "/") {
			patterns = append(patterns, method+" "+strings.TrimSuffix(path, "/"))
		} else if !strings.HasSuffix(path, "}") {
			patterns = append(patterns, method+" "+path+"/")
		}
		for _, p := range patterns {
			h.paths.HandleFunc(p, fn)
			h.empties[p] = empty
		}
	}
	route("GET", v+"/jobs/", h.getJobs, emptyJobInfo())
	route("GET", v+"/job/{job_id}", h.getJob, emptyJobInfo())
	route("DELETE", v+"/job/{job_id}", h.deleteJob, nil)
	route("POST", v+"/job/submit", h.submitJob, submitResponse{})
	route("GET", v+"/nodes/", h.getNodes, emptyNodes())
	route("GET", v+"/node/{node_name}", h.getNode, emptyNodes())
	route("GET", v+"/partitions/", h.getPartitions, emptyPartitions())
	route("GET", v+"/partition/{partition_name}", h.getPartition, emptyPartitions())
	route("GET", v+"/diag/", h.getDiag, emptyDiag())
	route("GET", v+"/ping/", h.getPing, pingResponse{Pings: []controllerPing{}})
	route("GET", db+"/jobs/", h.getDBJobs, emptyDBJobs())
	route("GET", db+"/job/{job_id}", h.getDBJob, emptyDBJobs())
	h.paths.HandleFunc("/", h.unknownURL)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// serveDocument answers the OpenAPI document. It needs no authentication:
// it describes the API and holds no cluster data.
func (h *Handler) serveDocument(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(h.doc)
}

// serveAPI authenticates the caller, as slurmrestd does before it looks at
// the path, and routes the request.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	ctx, err := h.opts.Backend.Authenticate(r)
	if err != nil {
		e := asError(err, h.opts.Backend.Classify)
		if e.Status == http.StatusUnauthorized {
			e.Source = "rest_authenticate_http_request"
			e.Msg = "Authentication failure: " + e.Msg
			w.Header().Set("WWW-Authenticate", `Bearer realm="fairway"`)
		}
		h.opts.Log.Info("slurmrest: request refused: not authenticated", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		// Answered in the route's response type (the generic one for a
		// path the API does not serve).
		_, pattern := h.paths.Handler(r)
		h.writeError(w, r, e, nil, h.empties[pattern])
		return
	}
	h.paths.ServeHTTP(w, r.WithContext(ctx))
}

// unknownURL answers a path the API does not serve (an unknown version
// among them) with slurmrestd's 404, or a known path with a method it does
// not take with slurmrestd's 405.
func (h *Handler) unknownURL(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.paths.Handler(probe); pattern != "/" && pattern != "" {
			writeText(w, http.StatusMethodNotAllowed, msgMethod)
			return
		}
	}
	writeText(w, http.StatusNotFound, msgUnknownURL)
}

// writeText answers a plain-text error as slurmrestd's router does.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// writeJSON writes a response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers an error as slurmrestd does: the route's response type
// with the error in "errors" (meta and the warnings so far with it).
// empty is the route's response with nothing in it (its required members
// empty), or nil for the generic v0.0.41_openapi_resp.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *Error, warnings []Warning, empty any) {
	if e.Status >= 500 {
		h.opts.Log.Error("slurmrest: request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", e.Error())
	}
	desc := e.Msg
	if e.Field != "" {
		desc = e.Field + ": " + e.Msg
	}
	writeJSON(w, e.Status, h.envelope(r, empty, warnings, []apiError{{
		Description: desc, ErrorNumber: e.Num, Error: errorString(e.Num), Source: e.Source,
	}}))
}

// fail answers a Backend (or this package's) error, from source, in the
// route's response type (empty).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, source string, err error, warnings []Warning, empty any) {
	e := asError(err, h.opts.Backend.Classify)
	if e.Source == "" {
		e.Source = source
	}
	h.writeError(w, r, e, warnings, empty)
}
