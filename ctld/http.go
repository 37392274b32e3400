package ctld

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Request body limits: a submission may carry batch scripts up to the
// cluster's max_script_bytes plus submitSlackBytes for the rest of the
// specs; node registrations, heartbeats and event reports nodeBodyBytes; a cluster
// configuration (many accounts and users) configBodyBytes; every other
// request smallBodyBytes. A larger body is answered 413.
const (
	submitSlackBytes = 1 << 20
	nodeBodyBytes    = 1 << 20
	configBodyBytes  = 4 << 20
	smallBodyBytes   = 64 << 10
	// maxBodyBytes is the most the MUNGE check reads to hash a body,
	// before any route's own limit applies; a larger body is refused 413.
	maxBodyBytes = 32 << 20
)

// msgInvalidJobID is Slurm's message for a job that does not exist.
const msgInvalidJobID = "Invalid job id specified"

// routes builds the API's handler (Go 1.22 method and wildcard patterns).
// Writes go through leaderOnly: a follower forwards them to the leader,
// which authenticates them (authn) itself; leaderPreferred routes go to the
// leader when one is known. authn identifies the caller before the route
// runs. Most routes are endpoints (http_endpoint.go): they read their
// inputs, call one Service method with the caller and return its answer,
// which serve writes, or its error, which writeErr answers.
func (c *Controller) routes() http.Handler {
	mux := http.NewServeMux()
	s := c.svc
	// Where a route runs: on any replica, on the leader only (followers
	// forward), or on the leader when one is known.
	anyReplica := func(e endpoint) http.HandlerFunc { return c.authn(c.serve(e)) }
	leader := func(e endpoint) http.HandlerFunc { return c.leaderOnly(c.authn(c.serve(e))) }
	preferLeader := func(e endpoint) http.HandlerFunc { return c.leaderPreferred(c.authn(c.serve(e))) }
	small, node, big := int64(smallBodyBytes), int64(nodeBodyBytes), int64(configBodyBytes)

	mux.HandleFunc("POST /v1/jobs", leader(callOf(c.submission(true), c.submit)))
	mux.HandleFunc("POST /v1/jobs/will-run", preferLeader(callOf(c.submission(false), c.willRun)))
	// Streamed in the view asked for (writeJobList), not one JSON value.
	mux.HandleFunc("GET /v1/jobs", c.authn(c.handleJobs))
	mux.HandleFunc("GET /v1/jobs/{id}", anyReplica(readIndexedOf(jobParam, c.job)))
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", leader(callOf2(jobParam, body[api.CancelRequest](true, small), c.cancel)))
	mux.HandleFunc("POST /v1/jobs/{id}/steps", leader(callOf2(jobParam, body[api.StepRequest](false, small), s.CreateStep)))
	mux.HandleFunc("GET /v1/jobs/{id}/steps", anyReplica(readOf(jobParam, s.Steps, func(r api.StepsResponse) uint64 { return r.Index })))
	mux.HandleFunc("GET /v1/jobs/{id}/explain", preferLeader(readIndexedOf(jobParam, s.Explain)))
	mux.HandleFunc("GET /v1/estimates", preferLeader(call(s.Estimates)))
	mux.HandleFunc("GET /v1/estimates/accuracy", anyReplica(readIndexed(s.EstimateAccuracy)))
	mux.HandleFunc("POST /v1/whatif", anyReplica(callOf(body[api.WhatIfRequest](true, big), s.WhatIf)))
	mux.HandleFunc("GET /v1/priorities", anyReplica(readOf(priorityFilter, s.Priorities, func(r api.PrioritiesResponse) uint64 { return r.Index })))
	mux.HandleFunc("GET /v1/shares", anyReplica(read(s.Shares, func(r api.SharesResponse) uint64 { return r.Index })))
	mux.HandleFunc("POST /v1/jobs/{id}/hold", leader(callOf(jobParam, s.Hold)))
	mux.HandleFunc("POST /v1/jobs/{id}/release", leader(callOf(jobParam, s.Release)))
	mux.HandleFunc("POST /v1/jobs/{id}/requeue", leader(callOf(jobParam, s.Requeue)))
	mux.HandleFunc("POST /v1/jobs/{id}/end-grace", leader(callOf(jobParam, s.EndGrace)))
	mux.HandleFunc("POST /v1/jobs/{id}/checkpoint", leader(callOf(jobParam, s.RecordCheckpoint)))
	mux.HandleFunc("POST /v1/jobs/{id}/update", leader(callOf2(jobParam, body[api.JobUpdate](false, small), s.UpdateJob)))
	mux.HandleFunc("GET /v1/nodes", preferLeader(read(s.Nodes, func(r api.NodesResponse) uint64 { return r.Index })))
	mux.HandleFunc("POST /v1/nodes/update", leader(callOf(body[api.NodeUpdate](false, small), c.updateNodes)))
	mux.HandleFunc("POST /v1/partitions/{name}/update", leader(callOf2(nameParam, body[api.PartitionUpdate](false, small), c.updatePartition)))
	mux.HandleFunc("GET /v1/diag", preferLeader(call(s.Diag)))
	mux.HandleFunc("POST /v1/diag/reset", preferLeader(call(c.resetDiag)))
	mux.HandleFunc("POST /v1/nodes/register", leader(callOf(body[api.RegisterNodeRequest](false, node), s.RegisterNode)))
	mux.HandleFunc("POST /v1/nodes/{name}/heartbeat", leader(callOf2(nameParam, body[api.HeartbeatRequest](true, node), c.heartbeat)))
	mux.HandleFunc("POST /v1/nodes/{name}/events", leader(callOf2(nameParam, body[api.EventsRequest](false, node), c.reportEvents)))
	mux.HandleFunc("POST /v1/nodes/{name}/steps", leader(callOf2(nameParam, body[api.StepReport](false, node), s.ReportStep)))
	mux.HandleFunc("GET /v1/nodes/{name}/jobs", anyReplica(readOf(nameParam, s.NodeJobs, func(r api.JobsResponse) uint64 { return r.Index })))
	mux.HandleFunc("GET /v1/partitions", anyReplica(read(s.Partitions, func(r api.PartitionsResponse) uint64 { return r.Index })))
	mux.HandleFunc("GET /v1/config", anyReplica(readIndexed(s.Config)))
	mux.HandleFunc("PUT /v1/config", leader(callOf(body[api.ClusterConfig](false, big), s.SetConfig)))
	mux.HandleFunc("POST /v1/assoc", leader(callOf(body[api.AssocRequest](false, big), s.ChangeAssociations)))
	mux.HandleFunc("GET /v1/status", anyReplica(read(s.Status, func(r api.StatusResponse) uint64 { return r.Index })))
	mux.HandleFunc("POST /v1/cluster/join", leader(callOf(body[JoinRequest](false, small), s.AddController)))
	mux.HandleFunc("POST /v1/token", anyReplica(callOf(body[api.TokenRequest](true, small), s.Token)))
	// Handlers of service_members.go.
	mux.HandleFunc("GET /v1/cluster", c.authn(c.handleCluster))
	mux.HandleFunc("POST /v1/cluster/remove", c.leaderOnly(c.authn(c.handleRemoveController)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{}))
	c.dashboardRoutes(mux)
	c.slurmRESTRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such API endpoint: %s %s", r.Method, r.URL.Path), "")
	})
	return mux
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeRead writes a read's answer with the index header.
func writeRead(w http.ResponseWriter, index uint64, v any) {
	w.Header().Set(api.IndexHeader, strconv.FormatUint(index, 10))
	writeJSON(w, http.StatusOK, v)
}

// writeError writes an api.ErrorResponse.
func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, api.ErrorResponse{Error: msg, Field: field})
}

// callerKey is the request context key of the caller's Identity.
type callerKey struct{}

// authn identifies the caller (Controller.identify, or the function tests
// configure instead) and runs h with the identity in the request's context,
// or answers the error (401) itself. A consistent read (?consistent=1) that
// reaches a follower is forwarded to the leader unopened, like a write: the
// leader authenticates it (a MUNGE credential is decoded once) and answers
// it after its read-index check.
func (c *Controller) authn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && consistentAsked(r) && !c.store.IsLeader() {
			c.forward(w, r)
			return
		}
		var id Identity
		var err error
		if c.cfg.identify != nil {
			id = c.cfg.identify(r)
		} else {
			id, err = c.identify(r)
		}
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, id)))
	}
}

// callerOf returns the identity authn put in the request's context.
func callerOf(r *http.Request) Identity {
	id, _ := r.Context().Value(callerKey{}).(Identity)
	return id
}

// writeErr answers an error: the one place where service error kinds
// become HTTP status codes (httpStatus). Internal errors are logged.
func (c *Controller) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	e := c.svc.classify(err)
	if e.Kind == KindInternal || e.Kind == KindOutcomeUnknown {
		c.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "kind", e.Kind.String(), "err", err)
	}
	if e.Kind == KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fairway"`)
	}
	writeError(w, httpStatus(e.Kind), e.Msg, e.Field)
}

// decodeBody decodes a JSON request body of at most limit bytes into v,
// rejecting unknown fields. An empty body leaves v as it is when
// allowEmpty. A body over the limit is a KindTooLarge error.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && allowEmpty {
			return nil
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Kind: KindTooLarge, Msg: fmt.Sprintf("the request body is larger than %d bytes, the limit of %s %s", limit, r.Method, r.URL.Path), Err: err}
		}
		return &api.FieldError{Field: "body", Value: "", Msg: "not a valid JSON request: " + err.Error()}
	}
	return nil
}

// leaderOnly runs h on the leader and forwards the request to the leader
// elsewhere.
func (c *Controller) leaderOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.store.IsLeader() {
			if !c.established.Load() {
				writeError(w, http.StatusServiceUnavailable, "controller "+c.cfg.ID+" became the leader and is still setting up; retry", "")
				return
			}
			h(w, r)
			return
		}
		c.forward(w, r)
	}
}

// forward proxies a write to the leader's HTTP address, over TLS with this
// controller's certificate when it serves TLS. The caller's credential
// headers travel as they are, for the leader to authenticate again; a caller
// this controller identified by its client certificate (which cannot travel)
// is attested in attestedHeader, which the leader trusts only because the
// forwarding connection carries a controller certificate. An attestedHeader
// the caller sent itself is dropped.
func (c *Controller) forward(w http.ResponseWriter, r *http.Request) {
	if by := r.Header.Get(forwardedHeader); by != "" {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("controller %s (forwarded from %s) is not the leader; retry", c.cfg.ID, by), "")
		return
	}
	addr := c.store.LeaderHTTPAddr()
	if addr == "" || addr == c.advertise {
		writeError(w, http.StatusServiceUnavailable, "no raft leader is known yet; retry", "")
		return
	}
	target := &url.URL{Scheme: c.scheme(), Host: addr}
	// Only a certificate identity is attested: user credentials travel as
	// they are and are decoded once, by the leader.
	certID, _ := c.identifyCert(r)
	attested := attestedIdentity(certID)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(forwardedHeader, c.cfg.ID)
			pr.Out.Header.Del(attestedHeader)
			if attested != "" {
				pr.Out.Header.Set(attestedHeader, attested)
			}
		},
		Transport: c.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if cause := context.Cause(r.Context()); errors.Is(cause, errLeaderChanged) {
				err = cause
			}
			var opErr *net.OpError
			if r.Method == http.MethodGet || (errors.As(err, &opErr) && opErr.Op == "dial") {
				// A read, or a write the leader never received: safe to retry.
				writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("forward to leader %s: %v; retry", addr, err), "")
				return
			}
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("forwarded to leader %s, which did not answer (%v): the request may or may not have been applied", addr, err), "")
		},
	}
	// A leader that freezes or is cut off is replaced by an election; the
	// requests forwarded to it are abandoned then rather than left to hang.
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if now := c.store.LeaderHTTPAddr(); now != "" && now != addr {
					cancel(errLeaderChanged)
					return
				}
			}
		}
	}()
	proxy.ServeHTTP(w, r.WithContext(ctx))
}

// errLeaderChanged abandons a request forwarded to a controller that is no
// longer the leader.
var errLeaderChanged = errors.New("the leader changed while the request was forwarded")

// query parses a read's blocking-query parameters (?index=N[&wait=D]).
func query(r *http.Request) (Query, error) {
	var q Query
	v := r.URL.Query()
	if s := v.Get("index"); s != "" {
		idx, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, invalid("index", "invalid index %q: must be a raft index such as 42", s)
		}
		q.Index = idx
	}
	if s := v.Get("wait"); s != "" {
		d, err := parseWait(s)
		if err != nil {
			return q, invalid("wait", "invalid wait %q: must be a duration such as 30s or 5m", s)
		}
		q.Wait = d
	}
	if v.Has(api.ConsistentParam) {
		b, err := parseBool(v.Get(api.ConsistentParam))
		if err != nil {
			return q, invalid(api.ConsistentParam, "invalid consistent %q: must be 1, true, 0 or false", v.Get(api.ConsistentParam))
		}
		q.Consistent = b
	}
	return q, nil
}

// parseBool reads a query flag: "", "1", "true" are true; "0", "false"
// false.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "1", "true", "yes":
		return true, nil
	case "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// consistentAsked reports whether the request asks for a consistent read
// (a valid true ?consistent); a malformed value is refused by query.
func consistentAsked(r *http.Request) bool {
	v := r.URL.Query()
	if !v.Has(api.ConsistentParam) {
		return false
	}
	b, err := parseBool(v.Get(api.ConsistentParam))
	return err == nil && b
}

// parseWait reads a Go duration ("30s") or a number of seconds ("30").
func parseWait(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}

// jobRef parses the {id} path segment: a job ID ("12") or a task of a job
// array ("12_3").
func jobRef(r *http.Request) (api.JobRef, error) {
	s := r.PathValue("id")
	ref, err := api.ParseJobRef(s)
	if err != nil {
		return api.JobRef{}, invalid("id", "%s: %s", msgInvalidJobID, strconv.Quote(s))
	}
	return ref, nil
}

// parseIDs reads a comma-separated list of job IDs (?id=1,2); "" is none.
func parseIDs(s string, allowZero bool) ([]api.JobID, error) {
	var ids []api.JobID
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || (n == 0 && !allowZero) {
			return nil, invalid("id", "invalid job id %q in id=%s", part, s)
		}
		ids = append(ids, api.JobID(n))
	}
	return ids, nil
}

// submission is a SubmitRequest body of at most the cluster's
// max_script_bytes plus submitSlackBytes. When script, a body over it is
// answered as a batch script too large (field "script").
func (c *Controller) submission(script bool) param[api.SubmitRequest] {
	return func(w http.ResponseWriter, r *http.Request) (api.SubmitRequest, error) {
		var req api.SubmitRequest
		cfg := c.store.State().Config()
		err := decodeBody(w, r, &req, false, cfg.MaxScriptBytesOrDefault()+submitSlackBytes)
		var e *Error
		if script && errors.As(err, &e) && e.Kind == KindTooLarge {
			err = &Error{Kind: KindTooLarge, Field: "script", Err: err,
				Msg: fmt.Sprintf("batch script too large: %s (the cluster's max_script_bytes is %d)", e.Msg, cfg.MaxScriptBytesOrDefault())}
		}
		return req, err
	}
}

// submit answers POST /v1/jobs with the new jobs' IDs.
func (c *Controller) submit(ctx context.Context, caller Identity, req api.SubmitRequest) (api.SubmitResponse, error) {
	res, err := c.svc.Submit(ctx, caller, req.Jobs, req.Key)
	return api.SubmitResponse{IDs: res.IDs, Index: res.Index}, err
}

// job answers GET /v1/jobs/{id} with the job alone.
func (c *Controller) job(ctx context.Context, caller Identity, ref api.JobRef, q Query) (*api.Job, uint64, error) {
	res, err := c.svc.Job(ctx, caller, ref, q)
	return res.Job, res.Index, err
}

// cancel cancels a job, or with a signal (scancel --signal) commits the
// signal for its node daemon to deliver.
func (c *Controller) cancel(ctx context.Context, caller Identity, ref api.JobRef, req api.CancelRequest) (WriteResult, error) {
	if req.Signal != "" {
		return c.svc.Signal(ctx, caller, ref, req.Signal)
	}
	return c.svc.Cancel(ctx, caller, ref, CancelOptions{JobOnly: req.JobOnly})
}

// priorityFilter reads GET /v1/priorities's filter: id (job IDs, not 0) and
// user, comma-separated lists.
func priorityFilter(_ http.ResponseWriter, r *http.Request) (PriorityFilter, error) {
	v := r.URL.Query()
	ids, err := parseIDs(v.Get("id"), false)
	if err != nil {
		return PriorityFilter{}, err
	}
	var f PriorityFilter
	for _, id := range ids {
		if f.IDs == nil {
			f.IDs = map[api.JobID]bool{}
		}
		f.IDs[id] = true
	}
	if s := v.Get("user"); s != "" {
		f.Users = map[string]bool{}
		for _, u := range strings.Split(s, ",") {
			f.Users[strings.TrimSpace(u)] = true
		}
	}
	return f, nil
}

// heartbeat answers a node's heartbeat with the index header.
func (c *Controller) heartbeat(ctx context.Context, caller Identity, node string, req api.HeartbeatRequest) (reply, error) {
	res, err := c.svc.Heartbeat(ctx, caller, node, req)
	return readReply(res, res.Index), err
}

// reportEvents records a node's job events.
func (c *Controller) reportEvents(ctx context.Context, caller Identity, node string, req api.EventsRequest) (WriteResult, error) {
	return c.svc.ReportEvents(ctx, caller, node, req.Events)
}

func (c *Controller) handleJobs(w http.ResponseWriter, r *http.Request) {
	f, err := parseJobFilter(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	resp, err := c.svc.Jobs(r.Context(), callerOf(r), f, q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJobList(w, r, resp)
}

// writeJobList writes GET /v1/jobs's answer in the view the request asks
// for: view=brief, the brief list (api.BriefJobsContentType, what squeue
// prints); anything else, the JSON list of whole jobs. A view this
// controller does not know gets the JSON list, as from a controller
// before views: the Content-Type tells the client which it got.
func writeJobList(w http.ResponseWriter, r *http.Request, resp api.JobsResponse) {
	if r.URL.Query().Get(api.JobsViewParam) == api.JobsViewBrief {
		writeBriefJobs(w, resp)
		return
	}
	writeJobs(w, resp)
}

// writeBriefJobs writes the brief job list, one job at a time into a
// buffered writer.
func writeBriefJobs(w http.ResponseWriter, resp api.JobsResponse) {
	w.Header().Set(api.IndexHeader, strconv.FormatUint(resp.Index, 10))
	w.Header().Set("Content-Type", api.BriefJobsContentType)
	w.WriteHeader(http.StatusOK)
	const flushAt = 64 << 10
	buf := api.AppendBriefJobsHeader(make([]byte, 0, flushAt+4<<10), resp.Index, resp.Now)
	for _, j := range resp.Jobs {
		buf = api.AppendBriefJob(buf, j)
		if len(buf) >= flushAt {
			if _, err := w.Write(buf); err != nil {
				// The client went away: the answer ends short, which
				// the client's reader reports as a cut line.
				return
			}
			buf = buf[:0]
		}
	}
	_, _ = w.Write(buf)
}

// parseJobFilter reads GET /v1/jobs's filter from the query string: id
// (job ids), all (finished jobs too), state (states: PENDING,RUNNING,...),
// user and users (names or uids; clients send several in users=, which
// controllers before it ignore), account, partition and name, each a
// comma-separated list; view=brief asks for the brief list (writeJobList).
func parseJobFilter(r *http.Request) (JobFilter, error) {
	v := r.URL.Query()
	ids, err := parseIDs(v.Get("id"), true)
	if err != nil {
		return JobFilter{}, err
	}
	f := JobFilter{IDs: ids}
	f.All = v.Get("all") != "" && v.Get("all") != "0" && v.Get("all") != "false"
	f.Users = append(listParam(v.Get("user")), listParam(v.Get("users"))...)
	f.Accounts = listParam(v.Get("account"))
	f.Partitions = listParam(v.Get("partition"))
	f.Names = listParam(v.Get("name"))
	f.Brief = v.Get(api.JobsViewParam) == api.JobsViewBrief
	for _, s := range listParam(v.Get("state")) {
		st := api.JobState(strings.ToUpper(s))
		// Every state a job can be in, and REQUEUED, which only a run has
		// (squeue -t all names it): it matches no job.
		if !slices.Contains(jobStates, st) && st != api.JobRequeued {
			return JobFilter{}, invalid("state", "unknown job state %q in state=%s", s, v.Get("state"))
		}
		f.States = append(f.States, st)
	}
	return f, nil
}

// listParam splits a comma-separated query parameter, dropping empty items.
func listParam(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// writeJobs writes GET /v1/jobs's answer, encoding one job at a time into
// a buffered writer instead of building the whole answer (100 MB for
// 200,000 jobs) in memory first. The JSON is api.JobsResponse's.
func writeJobs(w http.ResponseWriter, resp api.JobsResponse) {
	w.Header().Set(api.IndexHeader, strconv.FormatUint(resp.Index, 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, `{"index":%d,"now":%d,"jobs":`, resp.Index, resp.Now)
	if resp.Jobs == nil {
		bw.WriteString("null")
	} else {
		enc := json.NewEncoder(bw)
		for i, j := range resp.Jobs {
			if i == 0 {
				bw.WriteByte('[')
			} else {
				bw.WriteByte(',')
			}
			// Encode ends each job with a newline, which JSON allows
			// between array elements.
			if err := enc.Encode(j); err != nil {
				// The status is sent: end the answer short, so that
				// the client fails to decode it.
				return
			}
		}
		if len(resp.Jobs) == 0 {
			bw.WriteByte('[')
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	_ = bw.Flush()
}

// writeAction answers a write with an api.ActionResponse, or its error.
func (c *Controller) writeAction(w http.ResponseWriter, r *http.Request, res WriteResult, err error) {
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: res.Index})
}
