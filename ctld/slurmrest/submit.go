package slurmrest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// JobSubmitReq is the body of POST /slurm/v0.0.41/job/submit
// (v0.0.41_job_submit_req): one job description, and the script either in
// it or (deprecated in 24.05) beside it. Heterogeneous jobs ("jobs") are
// not supported.
type JobSubmitReq struct {
	Script string          `json:"script,omitempty"`
	Job    json.RawMessage `json:"job,omitempty"`
	Jobs   json.RawMessage `json:"jobs,omitempty"`
}

// NoVal is Slurm's number that may be unset or infinite
// (v0.0.41_uint32_no_val_struct, ..._uint64_..., ..._int32_...). As
// slurmrestd does, a request may give it as a plain number too.
type NoVal struct {
	Set      bool  `json:"set"`
	Infinite bool  `json:"infinite"`
	Number   int64 `json:"number"`
}

// UnmarshalJSON accepts {set, infinite, number} or a plain number.
func (n *NoVal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = NoVal{}
		return nil
	}
	if len(b) > 0 && b[0] != '{' {
		var v int64
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("want a whole number or {\"set\":true,\"number\":N}: %w", err)
		}
		*n = NoVal{Set: true, Number: v}
		return nil
	}
	type plain NoVal
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("want {\"set\":true,\"infinite\":false,\"number\":N}: %w", err)
	}
	*n = NoVal(p)
	return nil
}

// csvOrList is a string list given as a comma-separated string or as an
// array of strings (Slurm's CSV_STRING).
type csvOrList []string

// UnmarshalJSON accepts "a,b" or ["a","b"].
func (l *csvOrList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = nil
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*l = append(*l, part)
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a comma-separated string or an array of strings")
	}
	*l = list
	return nil
}

// countString is a count Slurm takes as a string or a number ("nodes":
// "2", "2-2" or 2).
type countString string

// UnmarshalJSON accepts a string or a whole number.
func (c *countString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = countString(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a node count such as \"2\" or 2")
	}
	*c = countString(strconv.FormatInt(n, 10))
	return nil
}

// JobDescMsg is the part of v0.0.41_job_desc_msg Fairway implements. Other
// fields of Slurm's job description are refused with an error naming them
// when they ask for something (a non-empty value), except for those that
// change nothing a job does (ignoredFields), which are answered with a
// warning.
type JobDescMsg struct {
	Account                 string      `json:"account,omitempty"`
	Array                   string      `json:"array,omitempty"`
	BeginTime               *NoVal      `json:"begin_time,omitempty"`
	CPUsPerTask             *int        `json:"cpus_per_task,omitempty"`
	CurrentWorkingDirectory string      `json:"current_working_directory,omitempty"`
	Dependency              string      `json:"dependency,omitempty"`
	Environment             []string    `json:"environment,omitempty"`
	ExcludedNodes           csvOrList   `json:"excluded_nodes,omitempty"`
	GroupID                 string      `json:"group_id,omitempty"`
	Hold                    *bool       `json:"hold,omitempty"`
	MaximumNodes            *int        `json:"maximum_nodes,omitempty"`
	MemoryPerCPU            *NoVal      `json:"memory_per_cpu,omitempty"`
	MemoryPerNode           *NoVal      `json:"memory_per_node,omitempty"`
	MinimumNodes            *int        `json:"minimum_nodes,omitempty"`
	Name                    string      `json:"name,omitempty"`
	Nice                    *int        `json:"nice,omitempty"`
	Nodes                   countString `json:"nodes,omitempty"`
	Partition               string      `json:"partition,omitempty"`
	Priority                *NoVal      `json:"priority,omitempty"`
	QOS                     string      `json:"qos,omitempty"`
	RequiredNodes           csvOrList   `json:"required_nodes,omitempty"`
	Requeue                 *bool       `json:"requeue,omitempty"`
	Script                  string      `json:"script,omitempty"`
	StandardError           string      `json:"standard_error,omitempty"`
	StandardOutput          string      `json:"standard_output,omitempty"`
	Tasks                   *int        `json:"tasks,omitempty"`
	TasksPerNode            *int        `json:"tasks_per_node,omitempty"`
	TimeLimit               *NoVal      `json:"time_limit,omitempty"`
	TRESPerJob              string      `json:"tres_per_job,omitempty"`
	TRESPerNode             string      `json:"tres_per_node,omitempty"`
	TRESPerTask             string      `json:"tres_per_task,omitempty"`
	UserID                  string      `json:"user_id,omitempty"`
}

// ignoredFields are job description fields that change nothing a Fairway
// job does: accepted with a warning, their values dropped.
var ignoredFields = map[string]string{
	"comment":                  "Fairway keeps no job comments",
	"mail_type":                "Fairway sends no mail",
	"mail_user":                "Fairway sends no mail",
	"wckey":                    "Fairway has no workload characterization keys",
	"account_gather_frequency": "Fairway samples usage at its own interval",
	"profile":                  "Fairway has no acct_gather_profile plugin",
	"open_mode":                "Fairway opens output files for appending",
	"kill_on_node_fail":        "Fairway ends or requeues a job whose node fails",
}

// slurmJobDescFields are the other fields of Slurm's v0.0.41_job_desc_msg
// (data_parser v0.0.41, JOB_DESC_MSG): Fairway refuses them when they ask
// for something, naming the field, rather than ignore what was asked.
var slurmJobDescFields = map[string]bool{
	"admin_comment": true, "allocation_node_list": true, "allocation_node_port": true, "argv": true,
	"batch_features": true, "flags": true, "burst_buffer": true, "clusters": true,
	"cluster_constraint": true, "contiguous": true, "container": true, "container_id": true,
	"core_specification": true, "thread_specification": true, "cpu_binding": true,
	"cpu_binding_flags": true, "cpu_frequency": true, "cpus_per_tres": true, "crontab": true,
	"deadline": true, "delay_boot": true, "end_time": true, "rlimits": true, "extra": true,
	"constraints": true, "hetjob_group": true, "immediate": true, "job_id": true, "licenses": true,
	"mcs_label": true, "memory_binding": true, "memory_binding_type": true, "memory_per_tres": true,
	"network": true, "reserve_ports": true, "overcommit": true, "distribution_plane_size": true,
	"power_flags": true, "prefer": true, "reboot": true, "reservation": true, "resv_mpi_ports": true,
	"shared": true, "exclusive": true, "oversubscribe": true, "site_factor": true,
	"spank_environment": true, "distribution": true, "time_minimum": true, "tres_bind": true,
	"tres_freq": true, "tres_per_socket": true, "wait_all_nodes": true, "kill_warning_flags": true,
	"kill_warning_signal": true, "kill_warning_delay": true, "minimum_cpus": true,
	"maximum_cpus": true, "minimum_boards_per_node": true, "minimum_sockets_per_board": true,
	"sockets_per_node": true, "threads_per_core": true, "tasks_per_socket": true,
	"tasks_per_core": true, "tasks_per_board": true, "ntasks_per_tres": true,
	"minimum_cpus_per_node": true, "temporary_disk_per_node": true, "selinux_context": true,
	"required_switches": true, "segment_size": true, "standard_input": true,
	"wait_for_switch": true, "x11": true, "x11_magic_cookie": true, "x11_target_host": true,
	"x11_target_port": true,
}

// Warning is a warning for the response's "warnings" list.
type Warning struct {
	Description string
	Source      string
}

// decodeJobDesc decodes a job description (the "job" member, prefix "job")
// and returns it with the warnings for the fields it drops. Unknown fields,
// Slurm fields Fairway does not implement given a value, and values of the
// wrong type are errors naming the field.
func decodeJobDesc(raw json.RawMessage, prefix string) (JobDescMsg, []Warning, error) {
	var desc JobDescMsg
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return desc, nil, fieldError(prefix, "must be a job description (a JSON object)")
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := jobDescKeys()
	var warnings []Warning
	supported := map[string]json.RawMessage{}
	for _, k := range keys {
		v := fields[k]
		switch {
		case known[k]:
			supported[k] = v
		case ignoredFields[k] != "":
			if !emptyJSON(v) {
				warnings = append(warnings, Warning{Description: fmt.Sprintf("%s.%s ignored: %s", prefix, k, ignoredFields[k]), Source: "job.submit"})
			}
		case slurmJobDescFields[k]:
			if !emptyJSON(v) {
				return desc, nil, &Error{Status: 400, Num: errNotSupported, Field: prefix + "." + k,
					Msg: "Fairway does not implement this field of Slurm's job description; leave it out"}
			}
		default:
			return desc, nil, fieldError(prefix+"."+k, "unknown field: not a field of v0.0.41_job_desc_msg")
		}
	}
	for _, k := range keys {
		v, ok := supported[k]
		if !ok {
			continue
		}
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		if err := json.Unmarshal(one, &desc); err != nil {
			return desc, nil, fieldError(prefix+"."+k, "invalid value %s: %s", truncate(string(v), 64), typeHint(err))
		}
	}
	return desc, warnings, nil
}

// jobDescKeys are the JSON names of JobDescMsg's fields.
func jobDescKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range []string{"account", "array", "begin_time", "cpus_per_task", "current_working_directory",
		"dependency", "environment", "excluded_nodes", "group_id", "hold", "maximum_nodes",
		"memory_per_cpu", "memory_per_node", "minimum_nodes", "name", "nice", "nodes", "partition",
		"priority", "qos", "required_nodes", "requeue", "script", "standard_error", "standard_output",
		"tasks", "tasks_per_node", "time_limit", "tres_per_job", "tres_per_node", "tres_per_task", "user_id"} {
		keys[k] = true
	}
	return keys
}

// emptyJSON reports whether a value asks for nothing: null, false, 0, "",
// [], {} or an unset {set:false} number.
func emptyJSON(v json.RawMessage) bool {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return false
	}
	switch t := x.(type) {
	case nil:
		return true
	case bool:
		return !t
	case float64:
		return t == 0
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		if set, ok := t["set"].(bool); ok {
			return !set
		}
		return len(t) == 0
	}
	return false
}

// typeHint turns a json decoding error into what the field wants.
func typeHint(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want " + jsonKind(te.Type.Kind().String())
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "uint32":
		return "a whole number"
	case "bool", "ptr":
		return "true or false"
	case "slice":
		return "an array of strings"
	}
	return "a string"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// JobSpec converts a job description into Fairway's job spec. The script
// is the description's, else script (the request's deprecated top-level
// one). The controller's Submit completes and checks the spec against the
// cluster's configuration; JobSpec checks what only the REST form can get
// wrong, naming the job description's fields ("job.time_limit").
func (d JobDescMsg) JobSpec(script string) (api.JobSpec, error) {
	const p = "job."
	spec := api.JobSpec{
		Name:       d.Name,
		Account:    d.Account,
		QOS:        d.QOS,
		Array:      d.Array,
		Dependency: d.Dependency,
		WorkDir:    d.CurrentWorkingDirectory,
		Stdout:     d.StandardOutput,
		Stderr:     d.StandardError,
		Requeue:    d.Requeue,
		Script:     d.Script,
		Nodes:      1,
		NTasks:     1,
	}
	if spec.Script == "" {
		spec.Script = script
	}
	if strings.TrimSpace(spec.Script) == "" {
		return spec, &Error{Status: 400, Num: errScriptMissing, Field: p + "script", Msg: "a populated script is required for job submission"}
	}
	if d.Partition != "" {
		for _, part := range strings.Split(d.Partition, ",") {
			if part = strings.TrimSpace(part); part != "" {
				spec.Partitions = append(spec.Partitions, part)
			}
		}
	}
	if d.UserID != "" {
		if uid, err := strconv.Atoi(d.UserID); err == nil {
			spec.UID = uid
			spec.User = d.UserID
		} else {
			spec.User = d.UserID
		}
	}
	if d.GroupID != "" {
		gid, err := strconv.Atoi(d.GroupID)
		if err != nil || gid < 0 {
			return spec, fieldError(p+"group_id", "invalid value %q: want a numeric group ID", d.GroupID)
		}
		spec.GID = gid
	}
	if d.Environment == nil {
		return spec, fieldError(p+"environment", "required: an array of \"NAME=value\" strings (Slurm refuses a batch job without an environment), e.g. [\"PATH=/bin:/usr/bin\"]")
	}
	if len(d.Environment) == 0 {
		return spec, fieldError(p+"environment", "empty: give at least one \"NAME=value\" string, e.g. [\"PATH=/bin:/usr/bin\"]")
	}
	spec.Env = make(map[string]string, len(d.Environment))
	for i, kv := range d.Environment {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return spec, fieldError(fmt.Sprintf("%senvironment[%d]", p, i), "invalid value %q: want NAME=value", truncate(kv, 64))
		}
		spec.Env[k] = v
	}
	if err := d.nodes(&spec); err != nil {
		return spec, err
	}
	if d.Tasks != nil {
		if *d.Tasks < 1 {
			return spec, fieldError(p+"tasks", "invalid value %d: want at least 1 task", *d.Tasks)
		}
		spec.NTasks = *d.Tasks
	}
	if d.TasksPerNode != nil {
		if *d.TasksPerNode < 1 {
			return spec, fieldError(p+"tasks_per_node", "invalid value %d: want at least 1 task per node", *d.TasksPerNode)
		}
		spec.NTasksPerNode = *d.TasksPerNode
		if d.Tasks == nil {
			spec.NTasks = *d.TasksPerNode * spec.Nodes
		}
	}
	spec.CPUsPerTask = 1
	if d.CPUsPerTask != nil {
		if *d.CPUsPerTask < 1 {
			return spec, fieldError(p+"cpus_per_task", "invalid value %d: want at least 1 CPU per task", *d.CPUsPerTask)
		}
		spec.CPUsPerTask = *d.CPUsPerTask
	}
	if err := d.memory(&spec); err != nil {
		return spec, err
	}
	if err := d.gpus(&spec); err != nil {
		return spec, err
	}
	if d.TimeLimit != nil && (d.TimeLimit.Set || d.TimeLimit.Infinite) {
		switch {
		case d.TimeLimit.Infinite:
			spec.TimeLimitSecs = api.TimeLimitUnlimited
		case d.TimeLimit.Number <= 0 || d.TimeLimit.Number > api.TimeLimitUnlimited/60:
			return spec, &Error{Status: 400, Num: errTimeLimit, Field: p + "time_limit",
				Msg: fmt.Sprintf("invalid value %d: want minutes from 1 to %d, or {\"set\":true,\"infinite\":true} for UNLIMITED", d.TimeLimit.Number, api.TimeLimitUnlimited/60)}
		default:
			spec.TimeLimitSecs = d.TimeLimit.Number * 60
		}
	}
	if d.BeginTime != nil && d.BeginTime.Set && !d.BeginTime.Infinite {
		if d.BeginTime.Number < 0 {
			return spec, fieldError(p+"begin_time", "invalid value %d: want a UNIX timestamp", d.BeginTime.Number)
		}
		spec.BeginTime = d.BeginTime.Number
	}
	if d.Hold != nil {
		spec.Hold = *d.Hold
	}
	if d.Nice != nil {
		spec.Nice = *d.Nice
	}
	if d.Priority != nil && d.Priority.Set && !d.Priority.Infinite {
		if d.Priority.Number < 0 || d.Priority.Number > math.MaxInt32 {
			return spec, fieldError(p+"priority", "invalid value %d", d.Priority.Number)
		}
		spec.Priority = int(d.Priority.Number)
	}
	spec.NodeList = slices.Clone([]string(d.RequiredNodes))
	spec.Exclude = slices.Clone([]string(d.ExcludedNodes))
	return spec, nil
}

// nodes sets the node count from nodes ("N", "N-N"), minimum_nodes and
// maximum_nodes: Fairway runs a job on an exact number of nodes, so a range
// must be one number.
func (d JobDescMsg) nodes(spec *api.JobSpec) error {
	const p = "job."
	n := 0
	if d.Nodes != "" {
		lo, hi, ranged := strings.Cut(string(d.Nodes), "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && ranged {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a < 1 {
			return fieldError(p+"nodes", "invalid value %q: want a node count such as \"2\"", string(d.Nodes))
		}
		if a != b {
			return fieldError(p+"nodes", "invalid value %q: Fairway runs a job on an exact number of nodes; give one count such as \"%d\"", string(d.Nodes), a)
		}
		n = a
	}
	if d.MinimumNodes != nil {
		if *d.MinimumNodes < 1 || (n != 0 && *d.MinimumNodes != n) {
			return fieldError(p+"minimum_nodes", "invalid value %d: want the node count (at least 1; nodes says %d)", *d.MinimumNodes, n)
		}
		n = *d.MinimumNodes
	}
	if d.MaximumNodes != nil && *d.MaximumNodes != 0 {
		if n == 0 {
			n = 1
		}
		if *d.MaximumNodes != n {
			return fieldError(p+"maximum_nodes", "invalid value %d: Fairway runs a job on an exact number of nodes; make it equal to the minimum, %d", *d.MaximumNodes, n)
		}
	}
	if n > 0 {
		spec.Nodes = n
	}
	return nil
}

// memory sets the memory per node from memory_per_node or memory_per_cpu
// (megabytes; the latter times the CPUs per node, as sbatch --mem-per-cpu).
func (d JobDescMsg) memory(spec *api.JobSpec) error {
	const p = "job."
	node := d.MemoryPerNode != nil && (d.MemoryPerNode.Set || d.MemoryPerNode.Infinite)
	cpu := d.MemoryPerCPU != nil && (d.MemoryPerCPU.Set || d.MemoryPerCPU.Infinite)
	switch {
	case node && cpu:
		return fieldError(p+"memory_per_cpu", "give memory_per_node or memory_per_cpu, not both")
	case node:
		if d.MemoryPerNode.Infinite || d.MemoryPerNode.Number < 0 || d.MemoryPerNode.Number > math.MaxInt32 {
			return fieldError(p+"memory_per_node", "invalid value: want megabytes per node from 0 (the partition's default) to %d", math.MaxInt32)
		}
		spec.MemoryMB = d.MemoryPerNode.Number
	case cpu:
		cpus := int64(spec.TotalCPUsPerNode())
		if d.MemoryPerCPU.Infinite || d.MemoryPerCPU.Number < 1 || d.MemoryPerCPU.Number > math.MaxInt32/cpus {
			return fieldError(p+"memory_per_cpu", "invalid value: want megabytes per CPU from 1 to %d for %d CPUs per node", math.MaxInt32/cpus, cpus)
		}
		spec.MemoryMB = d.MemoryPerCPU.Number * cpus
	}
	return nil
}

// gpus sets the GPUs per node from tres_per_node, tres_per_job (spread
// evenly over the nodes, as sbatch --gpus) or tres_per_task.
func (d JobDescMsg) gpus(spec *api.JobSpec) error {
	const p = "job."
	given := 0
	for _, v := range []string{d.TRESPerNode, d.TRESPerJob, d.TRESPerTask} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		return fieldError(p+"tres_per_node", "give GPUs in one of tres_per_node, tres_per_job or tres_per_task")
	}
	field, value := "", ""
	switch {
	case d.TRESPerNode != "":
		field, value = p+"tres_per_node", d.TRESPerNode
	case d.TRESPerJob != "":
		field, value = p+"tres_per_job", d.TRESPerJob
	case d.TRESPerTask != "":
		field, value = p+"tres_per_task", d.TRESPerTask
	default:
		return nil
	}
	typ, n, err := ParseGPUTRES(value)
	if err != nil {
		return fieldError(field, "invalid value %q: %v", value, err)
	}
	nodes := max(spec.Nodes, 1)
	switch field {
	case p + "tres_per_job":
		if n%nodes != 0 {
			return fieldError(field, "invalid value %q: %d GPUs cannot be spread evenly over %d nodes; use a multiple of %d or tres_per_node", value, n, nodes, nodes)
		}
		n /= nodes
	case p + "tres_per_task":
		n *= (max(spec.NTasks, 1) + nodes - 1) / nodes
	}
	spec.GPUs, spec.GPUType = n, typ
	return nil
}

// ParseGPUTRES reads a TRES list asking for GPUs, in the forms Slurm
// accepts for tres_per_node / tres_per_job: "gres/gpu:2", "gres/gpu:a100:2",
// "gres/gpu=2", "gpu:2" (and "gres:gpu:2"); a count of 0 asks for none.
func ParseGPUTRES(s string) (typ string, n int, err error) {
	items := strings.Split(s, ",")
	if len(items) != 1 {
		return "", 0, errors.New("only GPUs are scheduled by Fairway: want one item such as gres/gpu:2")
	}
	item := strings.TrimSpace(items[0])
	for _, prefix := range []string{"gres/", "gres:", "tres/"} {
		item = strings.TrimPrefix(item, prefix)
	}
	item = strings.Replace(item, "=", ":", 1)
	parts := strings.Split(item, ":")
	if parts[0] != "gpu" {
		return "", 0, errors.New("only GPUs are scheduled by Fairway: want gres/gpu:N or gres/gpu:TYPE:N")
	}
	switch len(parts) {
	case 1:
		return "", 1, nil
	case 2:
		n, err = strconv.Atoi(parts[1])
		if err != nil {
			// gpu:TYPE means one GPU of that type, as in Slurm.
			return parts[1], 1, nil
		}
	case 3:
		typ = parts[1]
		n, err = strconv.Atoi(parts[2])
	default:
		return "", 0, errors.New("want gres/gpu:N or gres/gpu:TYPE:N")
	}
	if err != nil || n < 0 {
		return "", 0, errors.New("want a GPU count such as gres/gpu:2")
	}
	return typ, n, nil
}
