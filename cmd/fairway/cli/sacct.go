package cli

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

const (
	sacctDefaultFormat = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode"
	sacctBriefFormat   = "JobID,State,ExitCode"
	sacctLongFormat    = "JobID,JobIDRaw,JobName,Partition,User,Account,AllocCPUS,AllocTRES,ReqMem,Timelimit,Submit,Start,End,Elapsed,State,ExitCode,Restarts,NodeList,Reason"
)

func sacctOpts() []*opt {
	return []*opt{
		{long: "jobs", short: 'j', aliases: []string{"job"}, usage: "only these job ids (comma-separated, or repeat the option)"},
		{long: "format", short: 'o', usage: "fields to print, e.g. JobID,JobName%30,State,ExitCode"},
		{long: "parsable2", short: 'P', kind: optFlag, usage: "fields separated by |, without a trailing |"},
		{long: "parsable", short: 'p', kind: optFlag, usage: "fields separated by |, with a trailing |"},
		{long: "delimiter", usage: "field separator for --parsable/--parsable2 (default |)"},
		{long: "noheader", short: 'n', kind: optFlag, usage: "do not print the header"},
		{long: "allocations", short: 'X', kind: optFlag, usage: "only job allocations, not their steps (ID.batch, ID.0, ...)"},
		{long: "name", aliases: []string{"jobname"}, usage: "only jobs with these names (comma-separated)"},
		{long: "starttime", short: 'S', usage: "only jobs active after this time (default: midnight today, or the epoch with -j/-s)"},
		{long: "endtime", short: 'E', usage: "only jobs active before this time (default: now)"},
		{long: "state", short: 's', aliases: []string{"states"}, usage: "only records in these states (CD,F,CA,TO,NF,PR,OOM,RQ,PD,R or long names)"},
		{long: "user", short: 'u', aliases: []string{"uid"}, usage: "only jobs of these users (comma-separated)"},
		{long: "allusers", short: 'a', kind: optFlag, usage: "jobs of all users"},
		{long: "partition", short: 'r', usage: "only jobs in these partitions (comma-separated)"},
		{long: "account", short: 'A', aliases: []string{"accounts"}, usage: "only jobs of these accounts (comma-separated)"},
		{long: "brief", short: 'b', kind: optFlag, usage: "print JobID, State and ExitCode only"},
		{long: "long", short: 'l', kind: optFlag, usage: "print many fields"},
		{long: "duplicates", short: 'D', kind: optFlag, usage: "every run of a requeued job, not only its last"},
		{long: "units", usage: "print memory in this unit: K, M, G, T or P"},
		{long: "noconvert", kind: optFlag, usage: "print memory unconverted"},
		{long: "truncate", short: 'T', kind: optFlag, usage: "clip start and end times to --starttime and --endtime"},
		{long: "clusters", short: 'M', aliases: []string{"cluster"}, usage: "clusters to query: this cluster's name ($" + envClusterName + ", default " + defaultClusterName + ") or all"},
		{long: "allclusters", short: 'L', kind: optFlag, usage: "all clusters (Fairway runs one)"},
		{long: "helpformat", short: 'e', kind: optFlag, usage: "list the fields --format accepts"},
		ignoredOpt("local", 0, optFlag), ignoredOpt("federation", 0, optFlag), ignoredOpt("array", 0, optFlag),
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		dataOpts()[0], dataOpts()[1],
		addrOpt(),
		helpOpt('h'),
	}
}

// sacctField is one sacct column. Its width follows printf: positive values
// are right-justified, negative ones left-justified.
type sacctField struct {
	name  string
	width int
}

// sacctWidth returns the canonical name of a sacct field and its default
// width (Slurm's), or ok=false for an unknown field.
func sacctWidth(name string) (string, int, bool) {
	fields := []sacctField{
		{"Account", 10}, {"AllocCPUS", 10}, {"AllocNodes", 10}, {"AllocTRES", 10}, {"Comment", 14},
		{"DerivedExitCode", 15}, {"Elapsed", 10}, {"ElapsedRaw", 10}, {"Eligible", 19}, {"End", 19},
		{"ExitCode", 8}, {"GID", 6}, {"Group", 9}, {"JobID", -12}, {"JobIDRaw", -12}, {"JobName", 10},
		{"NCPUS", 10}, {"NNodes", 8}, {"NodeList", 15}, {"NTasks", 8}, {"Partition", 10}, {"Priority", 10},
		{"QOS", 10}, {"Reason", 22}, {"ReqCPUS", 8}, {"ReqMem", 10}, {"ReqNodes", 8}, {"ReqTRES", 10},
		{"Restarts", 8}, {"Start", 19}, {"State", 10}, {"StdErr", 20}, {"StdIn", 20}, {"StdOut", 20},
		{"Submit", 19}, {"Suspended", 10}, {"Timelimit", 10}, {"TimelimitRaw", 10}, {"UID", 6},
		{"User", 9}, {"WorkDir", 20}, {"Container", 19}, {"Cluster", 10},
		{"MaxRSS", 10}, {"AveRSS", 10}, {"MaxVMSize", 10}, {"TotalCPU", 10}, {"UserCPU", 10}, {"SystemCPU", 10},
		{"CPUTime", 10}, {"CPUTimeRAW", 10}, {"AveCPU", 10}, {"TRESUsageInTot", 14},
		// Fairway's own: the GPU-hours a run lost to a preemption.
		{"LostGPUHours", 12},
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return f.name, f.width, true
		}
	}
	return "", 0, false
}

// parseSacctFormat parses a --format list: names with optional %width.
func parseSacctFormat(s string) ([]sacctField, error) {
	var out []sacctField
	for _, item := range splitList(s) {
		name, width, hasWidth := strings.Cut(item, "%")
		canon, w, ok := sacctWidth(name)
		if !ok {
			return nil, &api.FieldError{Field: "--format", Value: name, Msg: "invalid field requested; fields are JobID, JobName, Partition, Account, User, State, ExitCode, Start, End, Elapsed, Submit, NodeList, AllocCPUS, AllocTRES, ReqMem, Timelimit, Restarts, Reason and more (see --help)"}
		}
		if hasWidth {
			n, err := strconv.Atoi(width)
			if err != nil || n == 0 {
				return nil, &api.FieldError{Field: "--format", Value: item, Msg: "the width after % must be a non-zero number, as in JobName%30"}
			}
			w = n
		}
		out = append(out, sacctField{name: canon, width: w})
	}
	if len(out) == 0 {
		return nil, &api.FieldError{Field: "--format", Value: s, Msg: "no fields given"}
	}
	return out, nil
}

// sacctRow is one accounting record: one run of a job, or one step of a
// run (its batch script, ID.batch, or an srun step, ID.N).
type sacctRow struct {
	job          *api.Job
	state        api.JobState
	start, end   int64
	nodes        []string
	code, signal int
	reason       string
	current      bool
	// run is the run's record, when the job has one (its steps' usage).
	run *api.JobRun
	// kind says what the row is: a run of the job, its batch step or an
	// srun step (step).
	kind  sacctKind
	step  *api.Step
	usage *api.Usage // the step's usage; nil: none reported
}

// sacctKind is what an accounting row describes.
type sacctKind int

// The kinds of accounting rows.
const (
	rowJob sacctKind = iota
	rowBatch
	rowStep
)

// sacctRows returns a job's records: its earlier runs (requeued, preempted,
// node failures) with their own state, then its current or last run; each
// run followed by its steps (unless allocationsOnly): ID.batch when the
// node reported the batch script's usage, then srun's steps ID.0, ID.1, ...
func sacctRows(j *api.Job, allocationsOnly bool) []sacctRow {
	var rows []sacctRow
	withSteps := func(row sacctRow, r *api.JobRun) {
		row.run = r
		rows = append(rows, row)
		if allocationsOnly || r == nil {
			return
		}
		if r.Usage != nil {
			b := sacctRow{job: j, kind: rowBatch, state: batchState(row.state), start: r.StartTime, end: r.EndTime,
				code: r.ExitCode, signal: r.Signal, usage: r.Usage, run: r}
			if len(r.Nodes) > 0 {
				b.nodes = r.Nodes[:1]
			}
			if row.current && row.state == api.JobRunning {
				b.end, b.current = 0, true
			}
			rows = append(rows, b)
		}
		for i := range r.Steps {
			st := &r.Steps[i]
			rows = append(rows, sacctRow{job: j, kind: rowStep, step: st, state: st.State, start: st.StartTime, end: st.EndTime,
				nodes: st.Nodes, code: st.ExitCode, signal: st.Signal, reason: st.Reason, usage: st.Usage, run: r,
				current: st.State == api.JobRunning})
		}
	}
	for i := range j.Runs {
		r := &j.Runs[i]
		if r.Run >= j.RestartCount {
			continue
		}
		withSteps(sacctRow{job: j, state: r.State, start: r.StartTime, end: r.EndTime,
			nodes: r.Nodes, code: r.ExitCode, signal: r.Signal, reason: r.Reason}, r)
	}
	cur := sacctRow{job: j, state: j.State, start: j.StartTime, end: j.EndTime, nodes: jobNodes(j),
		code: j.ExitCode, signal: j.Signal, reason: j.Reason, current: true}
	if j.State == api.JobPending {
		cur.start, cur.end, cur.nodes = 0, 0, nil
		rows = append(rows, cur)
		return rows
	}
	var run *api.JobRun
	for i := range j.Runs {
		if j.Runs[i].Run == j.RestartCount {
			run = &j.Runs[i]
		}
	}
	withSteps(cur, run)
	return rows
}

// batchState is the state of a run's batch step: a run stopped by the
// controller (time limit, preemption, requeue) has its batch script
// CANCELLED, as in Slurm.
func batchState(run api.JobState) api.JobState {
	switch run {
	case api.JobTimeout, api.JobPreempted, api.JobRequeued:
		return api.JobCancelled
	}
	return run
}

// rowUsage sums the usage of a job row's steps (batch and srun), for
// TotalCPU and friends; a step row's is its own.
func rowUsage(r sacctRow) (api.Usage, bool) {
	if r.kind != rowJob {
		if r.usage == nil {
			return api.Usage{}, false
		}
		return *r.usage, true
	}
	if r.run == nil {
		return api.Usage{}, false
	}
	var sum api.Usage
	found := false
	add := func(u *api.Usage) {
		if u == nil {
			return
		}
		found = true
		sum.UserCPUMillis += u.UserCPUMillis
		sum.SysCPUMillis += u.SysCPUMillis
		sum.MaxRSSBytes = max(sum.MaxRSSBytes, u.MaxRSSBytes)
		sum.MaxVMSizeBytes = max(sum.MaxVMSizeBytes, u.MaxVMSizeBytes)
		sum.GPUs = max(sum.GPUs, u.GPUs)
	}
	add(r.run.Usage)
	for i := range r.run.Steps {
		add(r.run.Steps[i].Usage)
	}
	return sum, found
}

// stepTasks is the number of tasks of a step.
func stepTasks(st *api.Step) int {
	n := 0
	for _, t := range st.TasksPerNode {
		n += t
	}
	return n
}

// stepCPUs is the number of CPUs a step's tasks use.
func stepCPUs(st *api.Step) int { return stepTasks(st) * max(st.CPUsPerTask, 1) }

// stepGPUs is the number of GPUs a step asked for, over its nodes.
func stepGPUs(st *api.Step) int {
	n := 0
	for _, t := range st.TasksPerNode {
		n += max(st.GPUsPerNode, st.GPUsPerTask*t)
	}
	return n
}

// rowCPUs is a row's allocated CPUs (AllocCPUS).
func (v *view) rowCPUs(r sacctRow) int {
	j, s := r.job, &r.job.Spec
	switch {
	case r.kind == rowStep:
		return stepCPUs(r.step)
	case r.kind == rowBatch:
		for _, a := range j.Alloc {
			if len(r.nodes) > 0 && a.Node == r.nodes[0] && r.current {
				return a.CPUs
			}
		}
		return s.TotalCPUsPerNode()
	case r.start == 0:
		return 0
	case r.current:
		return allocCPUs(j)
	}
	return s.TotalCPUsPerNode() * max(len(r.nodes), 1)
}

// kbytes prints a size in bytes as sacct prints memory use: kibibytes
// with a K ("102400K"); 0 is "0".
func kbytes(b int64) string {
	if b <= 0 {
		return "0"
	}
	return strconv.FormatInt(b/1024, 10) + "K"
}

// memBytes prints a memory size for sacct: in kilobytes, or in the unit
// of --units (two decimals when not a whole number, as Slurm's
// convert_num_unit).
func (v *view) memBytes(b int64) string {
	if v.units == 0 {
		return kbytes(b)
	}
	if b <= 0 {
		return "0"
	}
	div := float64(int64(1) << (10 * (strings.IndexByte("KMGTP", v.units) + 1)))
	x := float64(b) / div
	if x == float64(int64(x)) {
		return strconv.FormatInt(int64(x), 10) + string(v.units)
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + string(v.units)
}

// cpuTime prints a CPU time as sacct does (TotalCPU, UserCPU, SystemCPU):
// "MM:SS.mmm" under an hour, "HH:MM:SS" under a day, then "D-HH:MM:SS".
func cpuTime(ms int64) string {
	if ms < 0 {
		ms = 0
	}
	secs := ms / 1000
	if secs < 3600 {
		return fmt.Sprintf("%02d:%02d.%03d", secs/60, secs%60, ms%1000)
	}
	return slurmtime.Clock(secs)
}

func (v *view) elapsed(r sacctRow) int64 {
	switch {
	case r.start == 0:
		return 0
	case r.end != 0 && (!r.current || r.state != api.JobRunning):
		return max(r.end-r.start, 0)
	}
	return max(v.now-r.start, 0)
}

// sacctValue is the value of one field for a record.
func (v *view) sacctValue(r sacctRow, field string) string {
	if val, ok := v.usageValue(r, field); ok {
		return val
	}
	if r.kind != rowJob {
		if val, ok := v.stepValue(r, field); ok {
			return val
		}
	}
	j, s := r.job, &r.job.Spec
	switch field {
	case "JobID":
		return j.DisplayID()
	case "JobIDRaw":
		return j.ID.String()
	case "JobName":
		return s.Name
	case "Partition":
		return partitionList(j)
	case "Account":
		return s.Account
	case "User":
		return s.User
	case "UID":
		return strconv.Itoa(s.UID)
	case "GID", "Group":
		return strconv.Itoa(s.GID)
	case "State":
		if r.kind == rowJob && r.state == api.JobCancelled && j.CancelledBy != nil {
			return "CANCELLED by " + strconv.Itoa(*j.CancelledBy)
		}
		return string(r.state)
	case "Cluster":
		return v.cluster
	case "ExitCode":
		return exitCode(r.code, r.signal)
	case "DerivedExitCode":
		return "0:0"
	case "Start":
		return v.date(r.start)
	case "End":
		if r.current && r.state == api.JobRunning {
			return "Unknown"
		}
		return v.date(r.end)
	case "Submit":
		return v.date(j.SubmitTime)
	case "Eligible":
		return v.date(max(j.SubmitTime, s.BeginTime))
	case "Elapsed":
		return slurmtime.Clock(v.elapsed(r))
	case "ElapsedRaw":
		return strconv.FormatInt(v.elapsed(r), 10)
	case "NodeList":
		if len(r.nodes) == 0 {
			return "None assigned"
		}
		return nodeList(r.nodes)
	case "NNodes", "AllocNodes":
		if len(r.nodes) == 0 {
			if field == "AllocNodes" {
				return "0"
			}
			return strconv.Itoa(max(s.Nodes, 1))
		}
		return strconv.Itoa(len(r.nodes))
	case "AllocCPUS", "NCPUS":
		if r.start == 0 {
			return "0"
		}
		return strconv.Itoa(v.rowCPUs(r))
	case "ReqCPUS":
		return strconv.Itoa(s.TotalCPUsPerNode() * max(s.Nodes, 1))
	case "ReqNodes":
		return strconv.Itoa(max(s.Nodes, 1))
	case "NTasks":
		return ""
	case "CPUTime":
		return slurmtime.Clock(v.elapsed(r) * int64(v.rowCPUs(r)))
	case "CPUTimeRAW":
		return strconv.FormatInt(v.elapsed(r)*int64(v.rowCPUs(r)), 10)
	case "AllocTRES":
		if r.start == 0 {
			return ""
		}
		if r.current {
			if t, ok := v.allocTRES(j); ok {
				return t.sacctString()
			}
			return ""
		}
		n := max(len(r.nodes), 1)
		t := tres{cpu: s.TotalCPUsPerNode() * n, node: n, memMB: v.memoryMB(j) * int64(n), gpu: s.GPUs * n, gpuType: s.GPUType}
		return t.sacctString()
	case "ReqTRES":
		return v.reqTRES(j).sacctString()
	case "ReqMem":
		if v.units != 0 {
			return v.memBytes(v.memoryMB(j) << 20)
		}
		return memString(v.memoryMB(j))
	case "Timelimit", "TimelimitRaw":
		secs, unlimited, known := v.timeLimit(j)
		switch {
		case unlimited:
			return "UNLIMITED"
		case !known:
			return "Partition_Limit"
		case field == "TimelimitRaw":
			return strconv.FormatInt((secs+59)/60, 10)
		}
		return slurmtime.Clock(secs)
	case "Restarts":
		return strconv.Itoa(j.RestartCount)
	case "Reason":
		if r.reason == "" {
			return api.ReasonNone
		}
		return r.reason
	case "Priority":
		return strconv.FormatUint(uint64(j.Priority), 10)
	case "QOS":
		return qosName(s)
	case "WorkDir":
		return s.WorkDir
	case "StdOut": // expanded by the controller (at submit, and at start with %N)
		return j.StdoutPath
	case "StdErr":
		return j.StderrPath
	case "StdIn":
		return j.StdinShown()
	case "Comment":
		return ""
	case "Suspended":
		return "00:00:00"
	case "Container":
		return s.ContainerImage
	case "LostGPUHours":
		if r.run == nil {
			return ""
		}
		return gpuHours(r.run.LostGPUSecs)
	}
	return ""
}

// gpuHours prints GPU-seconds as GPU-hours with two decimals ("1.25").
func gpuHours(secs int64) string {
	return strconv.FormatFloat(float64(secs)/3600, 'f', 2, 64)
}

// sacctCell formats one value as Slurm's print_fields_str does: cut to the
// width with a "+" marking the cut, justified by the width's sign, followed by
// a space.
func sacctCell(value string, width int) string {
	w := width
	if w < 0 {
		w = -w
	}
	if len([]rune(value)) > w {
		value = string([]rune(value)[:w-1]) + "+"
	}
	if width > 0 {
		return fmt.Sprintf("%*s ", w, value)
	}
	return fmt.Sprintf("%-*s ", w, value)
}

// sacctFilter selects records.
type sacctFilter struct {
	refs       *refSet // nil: any job
	users      map[string]bool
	names      map[string]bool
	partitions map[string]bool
	accounts   map[string]bool
	states     map[api.JobState]bool
	start, end int64 // window, unix seconds
}

func (f *sacctFilter) job(j *api.Job) bool {
	switch {
	case !f.refs.match(j):
		return false
	case f.users != nil && !f.users[j.Spec.User] && !f.users[strconv.Itoa(j.Spec.UID)]:
		return false
	case f.names != nil && !f.names[j.Spec.Name]:
		return false
	case f.accounts != nil && !f.accounts[j.Spec.Account]:
		return false
	case j.SubmitTime > f.end:
		return false
	case j.EndTime != 0 && j.State.Final() && j.EndTime < f.start:
		return false
	}
	if f.partitions != nil {
		ok := f.partitions[j.Partition]
		for _, p := range j.Spec.Partitions {
			ok = ok || f.partitions[p]
		}
		return ok
	}
	return true
}

// sacct prints accounting records as Slurm's sacct does.
func sacct(ctx context.Context, inv *invocation) error {
	o := inv.opts
	if o.flag("helpformat") {
		_, err := fmt.Fprint(inv.env.Stdout, sacctHelpFormat())
		return err
	}
	if _, err := parseClusters(inv, o.str("clusters")); err != nil {
		return err
	}
	units := byte(0)
	if o.has("units") {
		u := strings.ToUpper(o.str("units"))
		if len(u) != 1 || !strings.Contains("KMGTP", u) {
			return &codedError{code: 1, msgs: []string{"Invalid unit type"},
				err: &api.FieldError{Field: "--units", Value: o.str("units"), Msg: "want K, M, G, T or P"}}
		}
		units = u[0]
	}
	format := sacctDefaultFormat
	switch {
	case o.flag("brief"):
		format = sacctBriefFormat
	case o.flag("long"):
		format = sacctLongFormat
	}
	if env := inv.env.Getenv("SACCT_FORMAT"); env != "" {
		format = env
	}
	if o.has("format") {
		format = o.str("format")
	}
	fields, err := parseSacctFormat(format)
	if err != nil {
		return err
	}
	data, err := dataFormat(o)
	if err != nil {
		return err
	}

	now := inv.env.Now().In(inv.env.Location)
	f := sacctFilter{end: now.Unix()}
	refs, err := parseJobRefs(valuesOf(o, "jobs"), "--jobs")
	if err != nil {
		return err
	}
	f.refs = newRefSet(refs)
	ids := refIDs(refs)
	if o.has("state") {
		if f.states, err = parseStates(o.str("state"), "--state"); err != nil {
			return err
		}
	}
	if len(ids) == 0 && !o.has("state") {
		y, m, d := now.Date()
		f.start = time.Date(y, m, d, 0, 0, 0, 0, now.Location()).Unix()
	}
	if o.has("starttime") {
		t, err := slurmtime.ParseDate(o.str("starttime"), now, true)
		if err != nil {
			return &api.FieldError{Field: "--starttime", Value: o.str("starttime"), Msg: err.Error()}
		}
		f.start = t.Unix()
	}
	if o.has("endtime") {
		t, err := slurmtime.ParseDate(o.str("endtime"), now, true)
		if err != nil {
			return &api.FieldError{Field: "--endtime", Value: o.str("endtime"), Msg: err.Error()}
		}
		f.end = t.Unix()
	}
	users := splitList(o.str("user"))
	if len(users) == 0 && !o.flag("allusers") {
		me, err := inv.env.User()
		if err != nil {
			return err
		}
		if me.UID != 0 {
			users = []string{me.Name}
		}
	}
	f.users = setOf(users)
	f.names = setOf(splitList(o.str("name")))
	f.partitions = setOf(splitList(o.str("partition")))
	f.accounts = setOf(splitList(o.str("account")))

	c := inv.client()
	// The controller filters as f.job does (states apply to each run's
	// row here, so they stay on this side).
	filter := client.JobFilter{All: true, IDs: ids, Users: users,
		Names: splitList(o.str("name")), Partitions: splitList(o.str("partition")), Accounts: splitList(o.str("account"))}
	resp, err := c.Jobs(ctx, filter, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	v := inv.view(resp.Now)
	v.cluster = clusterName(inv)
	v.units, v.noconvert = units, o.flag("noconvert")
	if v.parts, err = fetchPartitions(ctx, c); err != nil {
		return err
	}
	if data != "" {
		return sacctData(ctx, inv, data, resp.Now, sortedJobs(resp.Jobs), &f)
	}
	var rows []sacctRow
	for _, j := range sortedJobs(resp.Jobs) {
		if !f.job(j) {
			continue
		}
		for _, r := range sacctRows(j, o.flag("allocations")) {
			if !o.flag("duplicates") && r.run != nil && r.run.Run < j.RestartCount {
				// Slurm shows a requeued job's earlier runs with -D only.
				continue
			}
			if o.flag("truncate") {
				r = truncateRow(r, f.start, f.end)
			}
			if f.states == nil || f.states[r.state] {
				rows = append(rows, r)
			}
		}
	}
	_, err = fmt.Fprint(inv.env.Stdout, v.renderSacct(fields, rows, sacctStyle{
		parsable:  o.flag("parsable") || o.flag("parsable2"),
		trailing:  o.flag("parsable") && !o.flag("parsable2"),
		delimiter: o.str("delimiter"),
		header:    !o.flag("noheader"),
	}))
	return err
}

// truncateRow clips a row's times to the window [start, end] (sacct -T):
// a run that began before the window starts at its start, one that ended
// after it (or runs on) ends at its end.
func truncateRow(r sacctRow, start, end int64) sacctRow {
	if r.start > 0 && start > 0 && r.start < start {
		r.start = start
	}
	if end > 0 && r.start > 0 && (r.end > end || r.end == 0) {
		r.end = end
		r.current = false
	}
	return r
}

// sacctHelpFormat is sacct -e: the field names, four to a line, each
// padded to 19 characters (Slurm's _help_fields_msg).
func sacctHelpFormat() string {
	names := []string{
		"Account", "AllocCPUS", "AllocNodes", "AllocTRES", "AveCPU", "AveRSS", "Cluster", "Comment", "Container",
		"CPUTime", "CPUTimeRAW", "DerivedExitCode", "Elapsed", "ElapsedRaw", "Eligible", "End", "ExitCode",
		"GID", "Group", "JobID", "JobIDRaw", "JobName", "LostGPUHours", "MaxRSS", "MaxVMSize", "NCPUS", "NNodes",
		"NodeList", "NTasks", "Partition", "Priority", "QOS", "Reason", "ReqCPUS", "ReqMem", "ReqNodes", "ReqTRES",
		"Restarts", "Start", "State", "StdErr", "StdIn", "StdOut", "Submit", "Suspended", "SystemCPU", "Timelimit",
		"TimelimitRaw", "TotalCPU", "TRESUsageInTot", "UID", "User", "UserCPU", "WorkDir",
	}
	var b strings.Builder
	for i, n := range names {
		switch {
		case i&3 != 0:
			b.WriteString(" ")
		case i > 0:
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%-19s", n)
	}
	b.WriteString("\n")
	return b.String()
}

// sacctStyle is how sacct lays out its output.
type sacctStyle struct {
	parsable  bool
	trailing  bool   // --parsable: a delimiter after the last field too
	delimiter string // "" means "|"
	header    bool
}

func (v *view) renderSacct(fields []sacctField, rows []sacctRow, st sacctStyle) string {
	delim := st.delimiter
	if delim == "" {
		delim = "|"
	}
	var b strings.Builder
	line := func(header bool, value func(sacctField) string) {
		for i, fl := range fields {
			val := printable(value(fl))
			switch {
			case !st.parsable && header:
				w := max(fl.width, -fl.width)
				if len(val) > w {
					val = val[:w]
				}
				b.WriteString(sacctCell(val, fl.width))
			case !st.parsable:
				b.WriteString(sacctCell(val, fl.width))
			case i == len(fields)-1 && !st.trailing:
				b.WriteString(val)
			default:
				b.WriteString(val + delim)
			}
		}
		b.WriteString("\n")
	}
	if st.header {
		line(true, func(fl sacctField) string { return fl.name })
		if !st.parsable {
			for _, fl := range fields {
				b.WriteString(strings.Repeat("-", max(fl.width, -fl.width)) + " ")
			}
			b.WriteString("\n")
		}
	}
	for _, r := range rows {
		line(false, func(fl sacctField) string { return v.sacctValue(r, fl.name) })
	}
	return b.String()
}

// usageValue is the value of a usage field (MaxRSS, TotalCPU, ...) for a
// record: a step's own usage, or for a job row the sum of its steps'
// CPU times (Slurm leaves the memory fields of the job row empty).
func (v *view) usageValue(r sacctRow, field string) (string, bool) {
	switch field {
	case "MaxRSS", "AveRSS", "MaxVMSize", "TotalCPU", "UserCPU", "SystemCPU", "AveCPU", "TRESUsageInTot":
	default:
		return "", false
	}
	u, ok := rowUsage(r)
	if !ok {
		return "", true
	}
	if r.kind == rowJob {
		switch field {
		case "TotalCPU":
			return cpuTime(u.UserCPUMillis + u.SysCPUMillis), true
		case "UserCPU":
			return cpuTime(u.UserCPUMillis), true
		case "SystemCPU":
			return cpuTime(u.SysCPUMillis), true
		}
		return "", true
	}
	switch field {
	case "MaxRSS":
		return v.memBytes(u.MaxRSSBytes), true
	case "AveRSS":
		return v.memBytes(u.AveRSSBytes), true
	case "MaxVMSize":
		return v.memBytes(u.MaxVMSizeBytes), true
	case "TotalCPU":
		return cpuTime(u.UserCPUMillis + u.SysCPUMillis), true
	case "UserCPU":
		return cpuTime(u.UserCPUMillis), true
	case "SystemCPU":
		return cpuTime(u.SysCPUMillis), true
	case "AveCPU":
		return slurmtime.Clock((u.UserCPUMillis + u.SysCPUMillis) / 1000 / int64(max(u.Tasks, 1))), true
	}
	// TRESUsageInTot
	t := "cpu=" + slurmtime.Clock((u.UserCPUMillis+u.SysCPUMillis)/1000)
	if u.GPUs > 0 {
		t += fmt.Sprintf(",gres/gpu=%d", u.GPUs)
	}
	return t + ",mem=" + kbytes(u.MaxRSSBytes) + ",vmem=" + kbytes(u.MaxVMSizeBytes), true
}

// stepValue is the value of a field for a step row (ID.batch, ID.N) where
// it differs from the job's.
func (v *view) stepValue(r sacctRow, field string) (string, bool) {
	j := r.job
	switch field {
	case "JobID":
		if r.kind == rowBatch {
			return j.DisplayID() + ".batch", true
		}
		return j.DisplayID() + "." + strconv.Itoa(r.step.ID), true
	case "JobIDRaw":
		if r.kind == rowBatch {
			return j.ID.String() + ".batch", true
		}
		return j.ID.String() + "." + strconv.Itoa(r.step.ID), true
	case "JobName":
		if r.kind == rowBatch {
			return "batch", true
		}
		if r.step.Name != "" {
			return r.step.Name, true
		}
		if len(r.step.Command) > 0 {
			return path.Base(r.step.Command[0]), true
		}
		return "", true
	case "Partition", "User", "Timelimit", "TimelimitRaw", "Submit", "Eligible", "Priority", "QOS", "Restarts", "ReqCPUS", "ReqNodes", "ReqTRES", "Reason", "Group", "GID", "UID", "WorkDir", "StdOut", "StdErr", "StdIn", "Comment", "Container", "LostGPUHours":
		return "", true
	case "End":
		if r.current {
			return "Unknown", true
		}
		return v.date(r.end), true
	case "NNodes", "AllocNodes":
		return strconv.Itoa(max(len(r.nodes), 1)), true
	case "NTasks":
		if r.kind == rowBatch {
			return "1", true
		}
		return strconv.Itoa(stepTasks(r.step)), true
	case "AllocTRES":
		cpus, gpus := v.rowCPUs(r), 0
		if r.kind == rowStep {
			gpus = stepGPUs(r.step)
		} else if r.usage != nil {
			gpus = r.usage.GPUs
		}
		t := fmt.Sprintf("cpu=%d", cpus)
		if gpus > 0 {
			t += fmt.Sprintf(",gres/gpu=%d", gpus)
		}
		return t + fmt.Sprintf(",node=%d", max(len(r.nodes), 1)), true
	}
	return "", false
}
