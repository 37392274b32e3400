package ctld

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBodyBytes bounds request bodies (batch scripts travel inside them).
const maxBodyBytes = 32 << 20

// forwardedHeader marks a request a follower forwarded to the leader, so that
// a request is forwarded at most once.
const forwardedHeader = "X-Fairway-Forwarded-By"

// msgInvalidJobID is Slurm's message for a job that does not exist.
const msgInvalidJobID = "Invalid job id specified"

// routes builds the API's handler (Go 1.22 method and wildcard patterns).
// Writes go through leaderOnly: a follower forwards them to the leader.
func (c *Controller) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", c.leaderOnly(c.handleSubmit))
	mux.HandleFunc("GET /v1/jobs", c.handleJobs)
	mux.HandleFunc("GET /v1/jobs/{id}", c.handleJob)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", c.leaderOnly(c.handleCancel))
	mux.HandleFunc("GET /v1/priorities", c.handlePriorities)
	mux.HandleFunc("GET /v1/shares", c.handleShares)
	mux.HandleFunc("POST /v1/jobs/{id}/hold", c.leaderOnly(c.handleJobAction(func(now int64, id api.JobID) raftstore.Command {
		return raftstore.HoldJob{ID: id}
	})))
	mux.HandleFunc("POST /v1/jobs/{id}/release", c.leaderOnly(c.handleJobAction(func(now int64, id api.JobID) raftstore.Command {
		return raftstore.ReleaseJob{ID: id}
	})))
	mux.HandleFunc("POST /v1/jobs/{id}/requeue", c.leaderOnly(c.handleJobAction(func(now int64, id api.JobID) raftstore.Command {
		return raftstore.RequeueJob{Now: now, ID: id}
	})))
	mux.HandleFunc("POST /v1/jobs/{id}/end-grace", c.leaderOnly(c.handleJobAction(func(now int64, id api.JobID) raftstore.Command {
		return raftstore.EndGrace{Now: now, ID: id}
	})))
	mux.HandleFunc("GET /v1/nodes", c.handleNodes)
	mux.HandleFunc("POST /v1/nodes/register", c.leaderOnly(c.handleRegister))
	mux.HandleFunc("POST /v1/nodes/{name}/heartbeat", c.leaderOnly(c.handleHeartbeat))
	mux.HandleFunc("POST /v1/nodes/{name}/events", c.leaderOnly(c.handleEvents))
	mux.HandleFunc("GET /v1/nodes/{name}/jobs", c.handleNodeJobs)
	mux.HandleFunc("GET /v1/partitions", c.handlePartitions)
	mux.HandleFunc("GET /v1/config", c.handleGetConfig)
	mux.HandleFunc("PUT /v1/config", c.leaderOnly(c.handlePutConfig))
	mux.HandleFunc("GET /v1/status", c.handleStatus)
	mux.HandleFunc("POST /v1/cluster/join", c.leaderOnly(c.handleJoin))
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{}))
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

// writeError writes an api.ErrorResponse.
func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, api.ErrorResponse{Error: msg, Field: field})
}

// fail maps an error from validation or the store to an HTTP answer:
// field errors 400, not found 404, conflicts 409, no leader 503.
func (c *Controller) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *api.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, err.Error(), fe.Field)
	case errors.Is(err, raftstore.ErrNotFound):
		msg := err.Error()
		if r.PathValue("id") != "" {
			msg = msgInvalidJobID
		}
		writeError(w, http.StatusNotFound, msg, "")
	case errors.Is(err, raftstore.ErrConflict):
		writeError(w, http.StatusConflict, err.Error(), "")
	case errors.Is(err, raftstore.ErrNotLeader):
		writeError(w, http.StatusServiceUnavailable, "controller "+c.cfg.ID+" lost the leadership; retry", "")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "request abandoned: "+err.Error(), "")
	default:
		c.log.Error("ctld: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error(), "")
	}
}

// decodeBody decodes a JSON request body into v, rejecting unknown fields. An
// empty body leaves v as it is when allowEmpty.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && allowEmpty {
			return nil
		}
		return &api.FieldError{Field: "body", Value: "", Msg: "not a valid JSON request: " + err.Error()}
	}
	return nil
}

// apply commits a command and records its latency.
func (c *Controller) apply(ctx context.Context, cmd raftstore.Command) (raftstore.ApplyResult, error) {
	start := time.Now()
	res, err := c.store.Apply(ctx, cmd)
	c.metrics.applyLatency.WithLabelValues(commandName(cmd)).Observe(time.Since(start).Seconds())
	return res, err
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

// forward proxies a write to the leader's HTTP address.
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
	target := &url.URL{Scheme: "http", Host: addr}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(forwardedHeader, c.cfg.ID)
		},
		Transport: c.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("forward to leader %s: %v", addr, err), "")
		},
	}
	proxy.ServeHTTP(w, r)
}

// readState returns the state for a read, after waiting as a blocking query
// asks (?index=N[&wait=D]), and sets the index header.
func (c *Controller) readState(w http.ResponseWriter, r *http.Request) (*raftstore.State, bool) {
	if !c.store.Ready() {
		// A restarted replica replays its log only once a leader commits; until
		// then it would show a state older than what it acknowledged.
		writeError(w, http.StatusServiceUnavailable, "controller "+c.cfg.ID+" is catching up with the raft log; retry", "")
		return nil, false
	}
	q := r.URL.Query()
	if s := q.Get("index"); s != "" {
		after, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid index %q: must be a raft index such as 42", s), "index")
			return nil, false
		}
		wait := MaxBlockingWait
		if s := q.Get("wait"); s != "" {
			d, err := parseWait(s)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid wait %q: must be a duration such as 30s or 5m", s), "wait")
				return nil, false
			}
			wait = min(d, MaxBlockingWait)
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		stop := context.AfterFunc(c.stopCtx, cancel)
		c.store.WaitIndex(ctx, after)
		stop()
		cancel()
	}
	st := c.store.State()
	w.Header().Set(api.IndexHeader, strconv.FormatUint(st.Index(), 10))
	return st, true
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
func jobRef(w http.ResponseWriter, r *http.Request) (api.JobRef, bool) {
	s := r.PathValue("id")
	ref, err := api.ParseJobRef(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgInvalidJobID+": "+strconv.Quote(s), "id")
		return api.JobRef{}, false
	}
	return ref, true
}

// taskJobID resolves a job reference to the ID of the job an action on it
// acts on: the job itself, or a started array task's own job. A task that
// has not started has no job of its own yet: that is answered 409 (act on
// the whole array by its job ID), an unknown task 404.
func (c *Controller) taskJobID(w http.ResponseWriter, ref api.JobRef) (api.JobID, bool) {
	if ref.Task == nil {
		return ref.ID, true
	}
	j, ok := c.store.State().ArrayTask(ref.ID, *ref.Task)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, msgInvalidJobID, "")
		return 0, false
	case j.IsArrayRecord():
		writeError(w, http.StatusConflict, fmt.Sprintf("task %s has not started yet; act on the whole array with %d", ref, ref.ID), "")
		return 0, false
	}
	return j.ID, true
}

// fillDefaults sets what the controller decides for a submitted spec: the
// default partition when none is named; the account (the configuration's
// DefaultAccount, else "root"); Nodes, CPUsPerTask at least 1 and NTasks at
// least Nodes; and, for a job in a single existing partition, the
// partition's default memory and time limit when the job sets none (a job
// naming several partitions gets them from the partition it starts in).
func fillDefaults(spec *api.JobSpec, cfg *api.ClusterConfig) {
	if len(spec.Partitions) == 0 {
		if p, ok := cfg.DefaultPartition(); ok {
			spec.Partitions = []string{p.Name}
		}
	}
	if spec.Account == "" {
		spec.Account = cfg.DefaultAccount
		if spec.Account == "" {
			spec.Account = api.RootAccount
		}
	}
	if spec.Nodes == 0 {
		spec.Nodes = 1
	}
	if spec.NTasks == 0 {
		spec.NTasks = max(spec.Nodes, 1)
	}
	if spec.CPUsPerTask == 0 {
		spec.CPUsPerTask = 1
	}
	if len(spec.Partitions) == 1 {
		if p, ok := cfg.Partition(spec.Partitions[0]); ok {
			spec.MemoryMB = spec.MemoryIn(p)
			if spec.TimeLimitSecs == 0 {
				spec.TimeLimitSecs = p.DefaultTime()
			}
		}
	}
}

func (c *Controller) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		c.fail(w, r, err)
		return
	}
	if len(req.Jobs) == 0 {
		writeError(w, http.StatusBadRequest, "the request has no jobs", "jobs")
		return
	}
	cfg := c.store.State().Config()
	for i := range req.Jobs {
		spec := &req.Jobs[i]
		// The checks that need no configuration run before the defaults are
		// filled, so that values are reported as the user gave them.
		if err := api.ValidateSpec(spec, nil); err != nil {
			c.failJob(w, r, i, len(req.Jobs), err)
			return
		}
		fillDefaults(spec, &cfg)
		if err := api.ValidateSpec(spec, &cfg); err != nil {
			c.failJob(w, r, i, len(req.Jobs), err)
			return
		}
	}
	res, err := c.apply(r.Context(), raftstore.SubmitJobs{Now: c.now().Unix(), Specs: req.Jobs})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ids := res.IDs
	c.metrics.submissions.Add(float64(len(ids)))
	writeJSON(w, http.StatusOK, api.SubmitResponse{IDs: ids, Index: c.store.Index()})
}

// failJob reports a validation error of the i-th of n submitted jobs.
func (c *Controller) failJob(w http.ResponseWriter, r *http.Request, i, n int, err error) {
	var fe *api.FieldError
	if n > 1 && errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("job %d of %d: %v", i+1, n, err), fe.Field)
		return
	}
	c.fail(w, r, err)
}

func (c *Controller) handleJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ids []api.JobID
	if s := q.Get("id"); s != "" {
		for _, part := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid job id %q in id=%s", part, s), "id")
				return
			}
			ids = append(ids, api.JobID(n))
		}
	}
	all := q.Get("all") != "" && q.Get("all") != "0" && q.Get("all") != "false"
	user := q.Get("user")
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	var jobs []*api.Job
	switch {
	case len(ids) > 0:
		// A job array's id lists the whole array: its record and its tasks.
		seen := map[api.JobID]bool{}
		for _, id := range ids {
			j, ok := st.Job(id)
			if !ok {
				continue
			}
			members := []*api.Job{j}
			if j.ArrayJobID == j.ID {
				members = st.ArrayJobs(id)
			}
			for _, m := range members {
				if !seen[m.ID] && (all || !m.State.Final()) {
					seen[m.ID] = true
					jobs = append(jobs, m)
				}
			}
		}
	case all:
		jobs = st.Jobs()
	default:
		jobs = st.ActiveJobs()
	}
	if user != "" {
		jobs = slices.DeleteFunc(jobs, func(j *api.Job) bool { return j.Spec.User != user })
	}
	if jobs == nil {
		jobs = []*api.Job{}
	}
	writeJSON(w, http.StatusOK, api.JobsResponse{Index: st.Index(), Now: c.now().Unix(), Jobs: jobs})
}

// handleJob answers one job; ARRAYID_TASK names a task of a job array (its
// own job once started, the array's record while it is pending there).
func (c *Controller) handleJob(w http.ResponseWriter, r *http.Request) {
	ref, ok := jobRef(w, r)
	if !ok {
		return
	}
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	var j *api.Job
	var found bool
	if ref.Task != nil {
		j, found = st.ArrayTask(ref.ID, *ref.Task)
	} else {
		j, found = st.Job(ref.ID)
	}
	if !found {
		writeError(w, http.StatusNotFound, msgInvalidJobID, "")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// handleCancel cancels a job: an array job ID cancels the whole array,
// ARRAYID_TASK one task. With a signal (scancel --signal) the job is not
// cancelled: the signal is committed for its node daemon to deliver.
func (c *Controller) handleCancel(w http.ResponseWriter, r *http.Request) {
	ref, ok := jobRef(w, r)
	if !ok {
		return
	}
	var req api.CancelRequest
	if err := decodeBody(w, r, &req, true); err != nil {
		c.fail(w, r, err)
		return
	}
	if req.Signal != "" {
		// scancel --signal: the job keeps running; its node delivers the signal.
		id := ref.ID
		if ref.Task != nil {
			task, found := c.store.State().ArrayTask(ref.ID, *ref.Task)
			if !found {
				writeError(w, http.StatusNotFound, msgInvalidJobID, "")
				return
			}
			id = task.ID
		}
		c.commitAction(w, r, raftstore.SignalJob{Now: c.now().Unix(), ID: id, Signal: req.Signal})
		return
	}
	c.commitAction(w, r, raftstore.CancelJob{Now: c.now().Unix(), ID: ref.ID, Task: ref.Task, JobOnly: req.JobOnly, Reason: "cancelled by user"})
}

// handleJobAction returns a handler committing the command mk builds for the
// job in the path (a started array task's own job for ARRAYID_TASK).
func (c *Controller) handleJobAction(mk func(now int64, id api.JobID) raftstore.Command) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, ok := jobRef(w, r)
		if !ok {
			return
		}
		id, ok := c.taskJobID(w, ref)
		if !ok {
			return
		}
		c.commitAction(w, r, mk(c.now().Unix(), id))
	}
}

// commitAction commits cmd and answers an api.ActionResponse.
func (c *Controller) commitAction(w http.ResponseWriter, r *http.Request, cmd raftstore.Command) {
	if _, err := c.apply(r.Context(), cmd); err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: c.store.Index()})
}

func (c *Controller) handleNodes(w http.ResponseWriter, r *http.Request) {
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	nodes := st.Nodes()
	if nodes == nil {
		nodes = []*api.Node{}
	}
	writeJSON(w, http.StatusOK, api.NodesResponse{Index: st.Index(), Now: c.now().Unix(), Nodes: nodes})
}

// validateRegistration checks a node's registration against the configuration.
func validateRegistration(req *api.RegisterNodeRequest, cfg *api.ClusterConfig) error {
	known := make([]string, len(cfg.Partitions))
	for i, p := range cfg.Partitions {
		known[i] = p.Name
	}
	switch {
	case req.Name == "" || strings.ContainsAny(req.Name, "/ \t\n,") || len(req.Name) > 64:
		return &api.FieldError{Field: "name", Value: req.Name, Msg: "must be a node name such as gpu-node-01"}
	case req.Resources.CPUs <= 0:
		return &api.FieldError{Field: "resources.cpus", Value: strconv.Itoa(req.Resources.CPUs), Msg: "must be 1 or more"}
	case req.Resources.MemoryMB < 0:
		return &api.FieldError{Field: "resources.memory_mb", Value: strconv.FormatInt(req.Resources.MemoryMB, 10), Msg: "must be 0 or more"}
	}
	seen := map[int]bool{}
	for _, g := range req.Resources.GPUs {
		if g.Index < 0 || seen[g.Index] {
			return &api.FieldError{Field: "resources.gpus", Value: strconv.Itoa(g.Index), Msg: "GPU indices must be distinct and 0 or more"}
		}
		seen[g.Index] = true
	}
	for _, p := range req.Partitions {
		if !slices.Contains(known, p) {
			return &api.FieldError{Field: "partitions", Value: p, Msg: "no such partition; known partitions: " + strings.Join(known, ", ")}
		}
	}
	return nil
}

// handleRegister registers or re-registers a node (a DOWN node becomes
// usable again). A node that names no partitions is put in the default
// partition when no partition lists its nodes explicitly.
func (c *Controller) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterNodeRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		c.fail(w, r, err)
		return
	}
	cfg := c.store.State().Config()
	if err := validateRegistration(&req, &cfg); err != nil {
		c.fail(w, r, err)
		return
	}
	if len(req.Partitions) == 0 {
		// A node that names no partition joins the default one, unless
		// partitions list their nodes explicitly.
		if p, ok := cfg.DefaultPartition(); ok && !slices.ContainsFunc(cfg.Partitions, func(p api.Partition) bool { return len(p.Nodes) > 0 }) {
			req.Partitions = []string{p.Name}
		}
	}
	now := c.now()
	if _, err := c.apply(r.Context(), raftstore.RegisterNode{Now: now.Unix(), Req: req}); err != nil {
		c.fail(w, r, err)
		return
	}
	c.live.seen(req.Name, now)
	st := c.store.State()
	resp := api.RegisterNodeResponse{Index: st.Index()}
	if n, ok := st.Node(req.Name); ok {
		resp.Node = *n
	}
	c.log.Info("ctld: node registered", "node", req.Name, "cpus", req.Resources.CPUs,
		"memory_mb", req.Resources.MemoryMB, "gpus", len(req.Resources.GPUs))
	writeJSON(w, http.StatusOK, resp)
}

// handleHeartbeat records a node's heartbeat in the leader's memory; nothing
// is committed. An unknown node is told to register first, and so is a node
// marked DOWN (registering makes it usable again); both answers are 404.
func (c *Controller) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req api.HeartbeatRequest
	if err := decodeBody(w, r, &req, true); err != nil {
		c.fail(w, r, err)
		return
	}
	st := c.store.State()
	n, ok := st.Node(name)
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown node %s: register first", name), "")
		return
	case n.State == api.NodeDown:
		writeError(w, http.StatusNotFound, fmt.Sprintf("node %s is DOWN (%s): register again", name, n.Reason), "")
		return
	}
	c.live.seen(name, c.now())
	w.Header().Set(api.IndexHeader, strconv.FormatUint(st.Index(), 10))
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: st.Index()})
}

func (c *Controller) handleEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req api.EventsRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		c.fail(w, r, err)
		return
	}
	for i := range req.Events {
		e := &req.Events[i]
		if e.Node == "" {
			e.Node = name
		}
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case e.Node != name:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("event for node %s sent as node %s", e.Node, name), field+".node")
			return
		case !slices.Contains([]api.JobEventKind{api.EventStarted, api.EventExited, api.EventLaunchFail, api.EventLost}, e.Kind):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event kind %q: must be started, exited, launch_failed or lost", e.Kind), field+".kind")
			return
		}
	}
	if _, ok := c.store.State().Node(name); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown node %s: register first", name), "")
		return
	}
	now := c.now()
	if len(req.Events) > 0 {
		if _, err := c.apply(r.Context(), raftstore.JobEvents{Now: now.Unix(), Node: name, Events: req.Events}); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: c.store.Index()})
}

// handleNodeJobs lists the RUNNING jobs allocated on a node (those being
// stopped included): the node daemon's assignments. An unknown node is told
// to register first (404).
func (c *Controller) handleNodeJobs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	if _, known := st.Node(name); !known {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown node %s: register first", name), "")
		return
	}
	jobs := slices.DeleteFunc(st.JobsOnNode(name), func(j *api.Job) bool { return j.State != api.JobRunning })
	if jobs == nil {
		jobs = []*api.Job{}
	}
	writeJSON(w, http.StatusOK, api.JobsResponse{Index: st.Index(), Now: c.now().Unix(), Jobs: jobs})
}

// handlePartitions lists the partitions with their nodes: the configured
// list, or the registered nodes that name the partition.
func (c *Controller) handlePartitions(w http.ResponseWriter, r *http.Request) {
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	cfg := st.Config()
	nodes := st.Nodes()
	parts := cfg.Partitions
	for i := range parts {
		if len(parts[i].Nodes) > 0 {
			continue
		}
		for _, n := range nodes {
			if slices.Contains(n.Partitions, parts[i].Name) {
				parts[i].Nodes = append(parts[i].Nodes, n.Name)
			}
		}
	}
	if parts == nil {
		parts = []api.Partition{}
	}
	writeJSON(w, http.StatusOK, api.PartitionsResponse{Index: st.Index(), Partitions: parts})
}

func (c *Controller) handleGetConfig(w http.ResponseWriter, r *http.Request) {
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, st.Config())
}

func (c *Controller) handlePutConfig(w http.ResponseWriter, r *http.Request) {
	var cfg api.ClusterConfig
	if err := decodeBody(w, r, &cfg, false); err != nil {
		c.fail(w, r, err)
		return
	}
	if err := api.ValidateConfig(&cfg); err != nil {
		c.fail(w, r, err)
		return
	}
	c.commitAction(w, r, raftstore.SetConfig{Config: cfg})
}

func (c *Controller) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, api.StatusResponse{
		ID:         c.cfg.ID,
		Leader:     c.store.IsLeader(),
		LeaderID:   c.store.LeaderID(),
		LeaderAddr: c.store.LeaderHTTPAddr(),
		Index:      st.Index(),
		Now:        c.now().Unix(),
	})
}

func (c *Controller) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		c.fail(w, r, err)
		return
	}
	switch {
	case req.ID == "":
		writeError(w, http.StatusBadRequest, "the joining controller's id is required", "id")
		return
	case req.RaftAddr == "":
		writeError(w, http.StatusBadRequest, "the joining controller's raft_addr is required", "raft_addr")
		return
	}
	if err := c.store.AddVoter(r.Context(), req.ID, req.RaftAddr); err != nil {
		c.fail(w, r, fmt.Errorf("add voter %s at %s: %w", req.ID, req.RaftAddr, err))
		return
	}
	c.log.Info("ctld: controller joined", "id", req.ID, "raft", req.RaftAddr)
	writeJSON(w, http.StatusOK, api.ActionResponse{Index: c.store.Index()})
}
