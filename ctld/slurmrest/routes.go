package slurmrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/fairway-hpc/fairway/api"
)

// checkQuery refuses query parameters a route does not take (422 naming
// the parameter, as slurmrestd's parser refuses them).
func checkQuery(q url.Values, allowed ...string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return queryError(k, "unknown query parameter; this path takes %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// flagList reads a flags parameter: names separated by commas, each one of
// known (case-insensitive).
func flagList(q url.Values, name string, known []string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		for _, f := range strings.Split(v, ",") {
			f = strings.ToUpper(strings.TrimSpace(f))
			if f == "" {
				continue
			}
			if !slices.Contains(known, f) {
				return nil, queryError(name, "unknown flag %q: want one of %s", f, strings.Join(known, ", "))
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// timestampParam reads a UNIX timestamp parameter (0 when absent).
func timestampParam(q url.Values, name string) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, queryError(name, "invalid value %q: want a UNIX timestamp such as 1700000000", s)
	}
	return n, nil
}

// jobShowFlags are v0.0.41's JOB_SHOW_FLAGS; Fairway's list is the same
// whichever are given.
var jobShowFlags = []string{"ALL", "DETAIL", "MIXED", "LOCAL", "SIBLING", "FEDERATION", "FUTURE"}

// jobRefParam parses {job_id}: a job ID or ARRAYID_TASK. A bad one is
// slurmrestd's ESLURM_INVALID_JOB_ID (404).
func jobRefParam(r *http.Request) (api.JobRef, error) {
	s := r.PathValue("job_id")
	ref, err := api.ParseJobRef(s)
	if err != nil || ref.ID == 0 {
		return api.JobRef{}, &Error{Status: http.StatusNotFound, Num: errInvalidJobID, Field: "job_id",
			Msg: fmt.Sprintf("Invalid JobID=%s rejected", strconv.Quote(s))}
	}
	return ref, nil
}

// jobChanged is the newest time a job's record shows a change at.
func jobChanged(j *api.Job) int64 {
	return max(j.SubmitTime, j.StartTime, j.EndTime)
}

// getJobs answers GET /slurm/v0.0.41/jobs: every job the controller holds
// (pending, running, and finished ones it keeps until the retention), as
// slurmctld lists the jobs in its memory. With update_time, the list is
// empty unless some job changed since then.
func (h *Handler) getJobs(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_jobs"
	q := r.URL.Query()
	if err := checkQuery(q, "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	since, err := timestampParam(q, "update_time")
	if err == nil {
		_, err = flagList(q, "flags", jobShowFlags)
	}
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	resp, err := h.opts.Backend.Jobs(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	parts, err := h.opts.Backend.Partitions(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	jobs := resp.Jobs
	if since > 0 && !slices.ContainsFunc(jobs, func(j *api.Job) bool { return jobChanged(j) >= since }) {
		jobs = nil
	}
	h.respond(w, r, h.jobInfo(r, jobs, parts.Partitions, resp.Now), nil)
}

// getJob answers GET /slurm/v0.0.41/job/{job_id}: the job, or an array's
// tasks for an array job ID.
func (h *Handler) getJob(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_job"
	q := r.URL.Query()
	if err := checkQuery(q, "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	if _, err := flagList(q, "flags", jobShowFlags); err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	ref, err := jobRefParam(r)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	j, err := h.opts.Backend.Job(r.Context(), ref)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	parts, err := h.opts.Backend.Partitions(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyJobInfo())
		return
	}
	jobs := []*api.Job{j}
	if ref.Task == nil && j.ArrayJobID == j.ID {
		// An array job ID names the whole array, as in slurmctld.
		all, err := h.opts.Backend.Jobs(r.Context())
		if err == nil {
			jobs = slices.DeleteFunc(slices.Clone(all.Jobs), func(o *api.Job) bool { return o.ArrayJobID != j.ID || o.ID == j.ID })
			jobs = append([]*api.Job{j}, jobs...)
		}
	}
	h.respond(w, r, h.jobInfo(r, jobs, parts.Partitions, h.opts.Now().Unix()), nil)
}

// killFlags are v0.0.41's WARN_FLAGS that DELETE accepts; Fairway cancels
// the whole job (or the named array task) whichever are given.
var killFlags = []string{"BATCH_JOB", "ARRAY_TASK", "FULL_STEPS_ONLY", "FULL_JOB", "FEDERATION_REQUEUE",
	"HURRY", "OUT_OF_MEMORY", "NO_SIBLING_JOBS", "RESERVATION_JOB", "VERBOSE", "CRON_JOBS", "WARNING_SENT"}

// deleteJob answers DELETE /slurm/v0.0.41/job/{job_id}: without signal (or
// with SIGKILL, slurmrestd's default) it cancels the job as scancel does;
// with another signal it sends that signal (scancel --signal).
func (h *Handler) deleteJob(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_job"
	q := r.URL.Query()
	if err := checkQuery(q, "signal", "flags"); err != nil {
		h.fail(w, r, src, err, nil, nil)
		return
	}
	if _, err := flagList(q, "flags", killFlags); err != nil {
		h.fail(w, r, src, err, nil, nil)
		return
	}
	sig, err := signalParam(q.Get("signal"))
	if err != nil {
		h.fail(w, r, src, err, nil, nil)
		return
	}
	ref, err := jobRefParam(r)
	if err != nil {
		h.fail(w, r, src, err, nil, nil)
		return
	}
	if err := h.opts.Backend.Cancel(r.Context(), ref, sig); err != nil {
		h.fail(w, r, "slurm_kill_jobs()", err, nil, nil)
		return
	}
	h.respond(w, r, nil, nil)
}

// signalParam reads DELETE's signal: a name ("TERM", "SIGTERM") or number;
// "" for SIGKILL (a cancel), else the signal's name without SIG.
func signalParam(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if n, err := strconv.Atoi(name); err == nil {
		if n <= 0 || n > 64 {
			return "", queryError("signal", "invalid value %q: want a signal such as SIGTERM or 15", s)
		}
		if n == int(syscall.SIGKILL) {
			return "", nil
		}
		name = signalName(syscall.Signal(n))
		if name == "" {
			return "", queryError("signal", "invalid value %q: want a signal such as SIGTERM or 15", s)
		}
	}
	if name == "KILL" {
		return "", nil
	}
	if !api.ValidSignalName(name) {
		return "", queryError("signal", "invalid value %q: want a signal such as SIGTERM or 15", s)
	}
	return name, nil
}

// signalName is the name of a signal number without SIG ("" unknown).
func signalName(s syscall.Signal) string {
	for _, name := range []string{"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
		"USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU",
		"XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"} {
		if int(s) == signalNumbers[name] {
			return name
		}
	}
	return ""
}

// signalNumbers are Linux's signal numbers.
var signalNumbers = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	"STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
	"XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31}

// submitResponse is v0.0.41_openapi_job_submit_response's own members.
type submitResponse struct {
	JobID            uint64 `json:"job_id"`
	StepID           string `json:"step_id"`
	JobSubmitUserMsg string `json:"job_submit_user_msg"`
}

// submitJob answers POST /slurm/v0.0.41/job/submit: the job description
// becomes a Fairway job spec (JobDescMsg.JobSpec) and is submitted as the
// caller; nothing is submitted when any field is wrong.
func (h *Handler) submitJob(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_submit_job"
	empty := submitResponse{}
	if err := checkQuery(r.URL.Query()); err != nil {
		h.fail(w, r, src, err, nil, empty)
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	dec.DisallowUnknownFields()
	var req JobSubmitReq
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, r, src, &Error{Status: http.StatusRequestEntityTooLarge, Num: errFailParsing, Msg: fmt.Sprintf("the request body is larger than %d bytes", h.opts.MaxBodyBytes)}, nil, empty)
			return
		}
		h.fail(w, r, src, &Error{Status: http.StatusBadRequest, Num: errFailParsing,
			Msg: "not a v0.0.41_job_submit_req JSON object: " + err.Error()}, nil, empty)
		return
	}
	if len(req.Jobs) > 0 && string(req.Jobs) != "null" {
		h.fail(w, r, src, &Error{Status: http.StatusBadRequest, Num: errNotSupported, Field: "jobs",
			Msg: "heterogeneous jobs are not supported by Fairway; submit one job in \"job\""}, nil, empty)
		return
	}
	if len(req.Job) == 0 || string(req.Job) == "null" {
		h.fail(w, r, src, &Error{Status: http.StatusUnprocessableEntity, Num: errInvalidQuery, Field: "job",
			Msg: "Specifing either \"job\" or \"jobs\" fields are required to submit job"}, nil, empty)
		return
	}
	desc, warnings, err := decodeJobDesc(req.Job, "job")
	if err != nil {
		h.fail(w, r, src, err, nil, empty)
		return
	}
	spec, err := desc.JobSpec(req.Script)
	if err != nil {
		h.fail(w, r, src, err, warnings, empty)
		return
	}
	id, err := h.opts.Backend.Submit(r.Context(), spec)
	if err != nil {
		e := asError(err, h.opts.Backend.Classify)
		e.Field = jobDescField(e.Field)
		h.fail(w, r, "slurm_submit_batch_job()", e, warnings, empty)
		return
	}
	h.respond(w, r, submitResponse{JobID: uint64(id), StepID: "batch"}, warnings)
}

// specFields maps the fields Fairway's spec checks name (sbatch's options
// and spec members) to the job description's.
var specFields = map[string]string{
	"--account": "account", "--begin": "begin_time", "--chdir": "current_working_directory",
	"--cpus-per-task": "cpus_per_task", "--export": "environment", "--gres": "tres_per_node",
	"--gpus": "tres_per_node", "--job-name": "name", "--mem": "memory_per_node", "--nice": "nice",
	"--nodes": "nodes", "--ntasks": "tasks", "--ntasks-per-node": "tasks_per_node",
	"--partition": "partition", "partitions": "partition", "--priority": "priority", "--qos": "qos",
	"--time": "time_limit", "script": "script", "--array": "array", "--dependency": "dependency",
	"--output": "standard_output", "--error": "standard_error", "--nodelist": "required_nodes",
	"--exclude": "excluded_nodes", "user": "user_id", "uid": "user_id", "gid": "group_id",
	"gids": "group_id", "name": "name", "resources.cpus": "cpus_per_task",
	"resources.gpus": "tres_per_node", "resources.memory_mb": "memory_per_node",
}

// jobDescField names a spec field as the job description's ("job.x"); a
// field without a counterpart keeps its name.
func jobDescField(f string) string {
	if f == "" || strings.HasPrefix(f, "job.") {
		return f
	}
	if d, ok := specFields[f]; ok {
		return "job." + d
	}
	return f
}

// getNodes answers GET /slurm/v0.0.41/nodes.
func (h *Handler) getNodes(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_nodes"
	if err := checkQuery(r.URL.Query(), "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyNodes())
		return
	}
	resp, err := h.opts.Backend.Nodes(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyNodes())
		return
	}
	h.respond(w, r, h.nodes(r, resp.Nodes, resp.Now), nil)
}

// getNode answers GET /slurm/v0.0.41/node/{node_name}.
func (h *Handler) getNode(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_node"
	if err := checkQuery(r.URL.Query(), "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyNodes())
		return
	}
	resp, err := h.opts.Backend.Nodes(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyNodes())
		return
	}
	name := r.PathValue("node_name")
	i := slices.IndexFunc(resp.Nodes, func(n *api.Node) bool { return n.Name == name })
	if i < 0 {
		h.fail(w, r, src, &Error{Status: http.StatusNotFound, Num: errInvalidNode, Field: "node_name",
			Msg: fmt.Sprintf("Unable to query node %s: no such node", strconv.Quote(name))}, nil, emptyNodes())
		return
	}
	h.respond(w, r, h.nodes(r, resp.Nodes[i:i+1], resp.Now), nil)
}

// getPartitions answers GET /slurm/v0.0.41/partitions.
func (h *Handler) getPartitions(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_partitions"
	if err := checkQuery(r.URL.Query(), "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyPartitions())
		return
	}
	parts, nodes, err := h.partitionsAndNodes(r)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyPartitions())
		return
	}
	h.respond(w, r, h.partitions(r, parts, nodes), nil)
}

// getPartition answers GET /slurm/v0.0.41/partition/{partition_name}.
func (h *Handler) getPartition(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_partition"
	if err := checkQuery(r.URL.Query(), "update_time", "flags"); err != nil {
		h.fail(w, r, src, err, nil, emptyPartitions())
		return
	}
	parts, nodes, err := h.partitionsAndNodes(r)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyPartitions())
		return
	}
	name := r.PathValue("partition_name")
	i := slices.IndexFunc(parts, func(p api.Partition) bool { return p.Name == name })
	if i < 0 {
		h.fail(w, r, src, &Error{Status: http.StatusNotFound, Num: errInvalidPart, Field: "partition_name",
			Msg: fmt.Sprintf("Unable to find partition %s", strconv.Quote(name))}, nil, emptyPartitions())
		return
	}
	h.respond(w, r, h.partitions(r, parts[i:i+1], nodes), nil)
}

func (h *Handler) partitionsAndNodes(r *http.Request) ([]api.Partition, []*api.Node, error) {
	parts, err := h.opts.Backend.Partitions(r.Context())
	if err != nil {
		return nil, nil, err
	}
	nodes, err := h.opts.Backend.Nodes(r.Context())
	if err != nil {
		return nil, nil, err
	}
	return parts.Partitions, nodes.Nodes, nil
}

// getDiag answers GET /slurm/v0.0.41/diag.
func (h *Handler) getDiag(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_diag"
	if err := checkQuery(r.URL.Query()); err != nil {
		h.fail(w, r, src, err, nil, emptyDiag())
		return
	}
	d, err := h.opts.Backend.Diag(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyDiag())
		return
	}
	h.respond(w, r, h.diag(r, d), nil)
}

// pingResponse is v0.0.41_openapi_ping_array_resp's own member.
type pingResponse struct {
	Pings []controllerPing `json:"pings"`
}

// controllerPing is v0.0.41_controller_ping.
type controllerPing struct {
	Hostname string `json:"hostname"`
	Pinged   string `json:"pinged"`
	Latency  int64  `json:"latency"`
	Mode     string `json:"mode"`
}

// getPing answers GET /slurm/v0.0.41/ping: each controller, UP or DOWN,
// "primary" for the raft leader and "backup" for the others.
func (h *Handler) getPing(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_ping"
	empty := pingResponse{Pings: []controllerPing{}}
	if err := checkQuery(r.URL.Query()); err != nil {
		h.fail(w, r, src, err, nil, empty)
		return
	}
	pings, err := h.opts.Backend.Ping(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, empty)
		return
	}
	out := pingResponse{Pings: make([]controllerPing, 0, len(pings))}
	for _, p := range pings {
		cp := controllerPing{Hostname: p.Hostname, Pinged: "DOWN", Latency: p.LatencyUS, Mode: "backup"}
		if p.Up {
			cp.Pinged = "UP"
		}
		if p.Primary {
			cp.Mode = "primary"
		}
		out.Pings = append(out.Pings, cp)
	}
	h.respond(w, r, out, nil)
}

// dbJobParams are the query parameters of GET /slurmdb/v0.0.41/jobs
// Fairway filters on; dbJobIgnored are the other JOB_CONDITION parameters
// of v0.0.41, accepted with a warning.
var (
	dbJobParams  = []string{"users", "account", "partition", "state", "start_time", "end_time", "job_name"}
	dbJobIgnored = []string{"association", "cluster", "constraints", "cpus_max", "cpus_min", "scheduler_unset",
		"scheduled_on_submit", "scheduled_by_main", "scheduled_by_backfill", "job_started", "exit_code",
		"show_duplicates", "skip_steps", "disable_truncate_usage_time", "whole_hetjob",
		"disable_whole_hetjob", "disable_wait_for_result", "usage_time_as_submit_time", "show_batch_script",
		"show_job_environment", "format", "groups", "nodes_max", "nodes_min", "qos", "reason",
		"reservation", "reservation_id", "step", "timelimit_max", "timelimit_min", "submit_time", "node", "wckey"}
)

// dbFilter selects the jobs of a slurmdb query.
type dbFilter struct {
	users, accounts, partitions, names []string
	states                             []api.JobState
	start, end                         int64
}

// jobStateNames maps Slurm's state names and short forms to Fairway's.
var jobStateNames = map[string]api.JobState{
	"PENDING": api.JobPending, "PD": api.JobPending, "RUNNING": api.JobRunning, "R": api.JobRunning,
	"COMPLETED": api.JobCompleted, "CD": api.JobCompleted, "FAILED": api.JobFailed, "F": api.JobFailed,
	"CANCELLED": api.JobCancelled, "CA": api.JobCancelled, "TIMEOUT": api.JobTimeout, "TO": api.JobTimeout,
	"NODE_FAIL": api.JobNodeFail, "NF": api.JobNodeFail, "PREEMPTED": api.JobPreempted, "PR": api.JobPreempted,
	"OUT_OF_MEMORY": api.JobOutOfMemory, "OOM": api.JobOutOfMemory, "REQUEUED": api.JobRequeued, "RQ": api.JobRequeued,
}

func csvParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseDBFilter reads a slurmdb jobs query.
func parseDBFilter(q url.Values) (dbFilter, []Warning, error) {
	var f dbFilter
	var warnings []Warning
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case slices.Contains(dbJobParams, k):
		case slices.Contains(dbJobIgnored, k):
			warnings = append(warnings, Warning{Description: fmt.Sprintf("query parameter %s ignored: Fairway does not filter on it", k), Source: "_op_handler_jobs"})
		default:
			return f, nil, queryError(k, "unknown query parameter of GET /slurmdb/%s/jobs; Fairway filters on %s", Version, strings.Join(dbJobParams, ", "))
		}
	}
	f.users, f.accounts, f.partitions, f.names = csvParam(q, "users"), csvParam(q, "account"), csvParam(q, "partition"), csvParam(q, "job_name")
	for _, s := range csvParam(q, "state") {
		st, ok := jobStateNames[strings.ToUpper(s)]
		if !ok {
			return f, nil, queryError("state", "invalid value %q: want job states such as PENDING,RUNNING,COMPLETED (or PD,R,CD)", s)
		}
		f.states = append(f.states, st)
	}
	var err error
	if f.start, err = timestampParam(q, "start_time"); err != nil {
		return f, nil, err
	}
	if f.end, err = timestampParam(q, "end_time"); err != nil {
		return f, nil, err
	}
	if f.end > 0 && f.start > f.end {
		return f, nil, queryError("start_time", "start_time %d is after end_time %d", f.start, f.end)
	}
	return f, warnings, nil
}

// match reports whether a job passes the filter. A time window selects the
// jobs that were eligible or running in it (sacct's rule): submitted before
// its end and not ended before its start.
func (f dbFilter) match(j *api.Job) bool {
	if len(f.users) > 0 && !slices.Contains(f.users, j.Spec.User) && !slices.Contains(f.users, strconv.Itoa(j.Spec.UID)) {
		return false
	}
	if len(f.accounts) > 0 && !slices.Contains(f.accounts, j.Spec.Account) {
		return false
	}
	if len(f.partitions) > 0 && !slices.Contains(f.partitions, j.Partition) {
		return false
	}
	if len(f.names) > 0 && !slices.Contains(f.names, j.Spec.Name) {
		return false
	}
	if len(f.states) > 0 && !slices.Contains(f.states, j.State) {
		return false
	}
	if f.end > 0 && j.SubmitTime > f.end {
		return false
	}
	if f.start > 0 && j.EndTime != 0 && j.EndTime < f.start {
		return false
	}
	return true
}

// getDBJobs answers GET /slurmdb/v0.0.41/jobs: the accounting records of
// the jobs the controller keeps (sacct's list), filtered.
func (h *Handler) getDBJobs(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_jobs"
	f, warnings, err := parseDBFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyDBJobs())
		return
	}
	resp, err := h.opts.Backend.Jobs(r.Context())
	if err != nil {
		h.fail(w, r, src, err, warnings, emptyDBJobs())
		return
	}
	parts, err := h.opts.Backend.Partitions(r.Context())
	if err != nil {
		h.fail(w, r, src, err, warnings, emptyDBJobs())
		return
	}
	jobs := slices.DeleteFunc(slices.Clone(resp.Jobs), func(j *api.Job) bool { return !f.match(j) })
	h.respond(w, r, h.dbJobs(r, jobs, parts.Partitions, resp.Now), warnings)
}

// getDBJob answers GET /slurmdb/v0.0.41/job/{job_id}.
func (h *Handler) getDBJob(w http.ResponseWriter, r *http.Request) {
	const src = "_op_handler_job"
	if err := checkQuery(r.URL.Query()); err != nil {
		h.fail(w, r, src, err, nil, emptyDBJobs())
		return
	}
	ref, err := jobRefParam(r)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyDBJobs())
		return
	}
	j, err := h.opts.Backend.Job(r.Context(), ref)
	if err != nil {
		h.fail(w, r, src, err, nil, emptyDBJobs())
		return
	}
	parts, err := h.opts.Backend.Partitions(r.Context())
	if err != nil {
		h.fail(w, r, src, err, nil, emptyDBJobs())
		return
	}
	h.respond(w, r, h.dbJobs(r, []*api.Job{redactJob(j)}, parts.Partitions, h.opts.Now().Unix()), nil)
}

// redactJob drops what accounting records never carry: the script, the
// environment and the arguments.
func redactJob(j *api.Job) *api.Job {
	c := *j
	c.Spec.Script, c.Spec.Env, c.Spec.Args = "", nil, nil
	return &c
}
