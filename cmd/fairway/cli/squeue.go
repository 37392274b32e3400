package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// Default squeue formats, as Slurm's.
const (
	squeueDefaultFormat = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
	squeueLongFormat    = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
	squeueDefaultSort   = "P,t,-p"
	// squeueStartFormat, with sort S and state PENDING, is squeue --start.
	squeueStartFormat = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"
)

func squeueOpts() []*opt {
	return []*opt{
		{long: "format", short: 'o', usage: "output format, e.g. \"%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R\""},
		{long: "user", short: 'u', usage: "only jobs of these users (comma-separated)"},
		{long: "me", kind: optFlag, usage: "only my jobs"},
		{long: "jobs", short: 'j', aliases: []string{"job"}, usage: "only these job ids (comma-separated); shows them in any state"},
		{long: "partition", short: 'p', usage: "only jobs in these partitions (comma-separated)"},
		{long: "states", short: 't', aliases: []string{"state"}, usage: "only jobs in these states (PD,R,CD,... or long names, or all)"},
		{long: "name", short: 'n', usage: "only jobs with these names (comma-separated)"},
		{long: "noheader", short: 'h', kind: optFlag, usage: "do not print the header"},
		{long: "sort", short: 'S', usage: "sort by these fields, e.g. -S -t,i (default P,t,-p)"},
		{long: "long", short: 'l', kind: optFlag, usage: "long format (state names and time limits)"},
		{long: "start", kind: optFlag, usage: "pending jobs by expected start time: the backfill reservation, else the P50 of the controller's start estimate, else N/A " +
			"(format \"" + squeueStartFormat + "\", sort S, state PENDING; other options change them)"},
		{long: "json", kind: optFlag, usage: "print the jobs as JSON (Fairway's job objects)"},
		{long: "all", short: 'a', kind: optFlag, ignored: true},
		{long: "array", short: 'r', kind: optFlag, usage: "one line per job array task, pending ones included"},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "iterate", short: 'i', unsupported: "not supported; use watch squeue"},
		addrOpt(),
		helpOpt(0),
	}
}

// squeueColumn returns how a squeue format letter prints; its header is ""
// for letters squeue does not know.
func squeueColumn(letter byte) column {
	switch letter {
	case 'i', 'A':
		return column{"JOBID", true}
	case 'F':
		return column{"ARRAY_JOB_ID", true}
	case 'K':
		return column{"ARRAY_TASK_ID", true}
	case 'P':
		return column{"PARTITION", true}
	case 'j':
		return column{"NAME", true}
	case 'u':
		return column{"USER", true}
	case 'U':
		return column{"UID", true}
	case 'g':
		return column{"GROUP", true}
	case 'G':
		return column{"GID", true}
	case 't':
		return column{"ST", true}
	case 'T':
		return column{"STATE", true}
	case 'M':
		return column{"TIME", false}
	case 'l':
		return column{"TIME_LIMIT", false}
	case 'L':
		return column{"TIME_LEFT", false}
	case 'D':
		return column{"NODES", true}
	case 'R':
		return column{"NODELIST(REASON)", false}
	case 'r':
		return column{"REASON", true}
	case 'N':
		return column{"NODELIST", false}
	case 'C':
		return column{"CPUS", true}
	case 'c':
		return column{"MIN_CPUS", true}
	case 'b':
		return column{"TRES_PER_NODE", true}
	case 'Q', 'p':
		return column{"PRIORITY", true}
	case 'V':
		return column{"SUBMIT_TIME", true}
	case 'S':
		return column{"START_TIME", true}
	case 'Y':
		return column{"SCHEDNODES", true}
	case 'e':
		return column{"END_TIME", true}
	case 'a':
		return column{"ACCOUNT", true}
	case 'm':
		return column{"MIN_MEMORY", true}
	case 'Z':
		return column{"WORK_DIR", true}
	case 'E':
		return column{"DEPENDENCY", true}
	case 'y':
		return column{"NICE", true}
	case 'n':
		return column{"REQ_NODES", true}
	case 'q':
		return column{"QOS", true}
	}
	return column{}
}

func squeueValid(letter byte) bool { return squeueColumn(letter).header != "" }

// squeueValue is the value of one format letter for a job.
func (v *view) squeueValue(j *api.Job, letter byte) string {
	s := &j.Spec
	switch letter {
	case 'i':
		return j.DisplayID()
	case 'A':
		return j.ID.String()
	case 'F':
		return arrayBase(j).String()
	case 'K':
		return arrayTaskString(j)
	case 'P':
		return partitionList(j)
	case 'j':
		return s.Name
	case 'u':
		if s.User != "" {
			return s.User
		}
		return strconv.Itoa(s.UID)
	case 'U':
		return strconv.Itoa(s.UID)
	case 'g', 'G':
		return strconv.Itoa(s.GID)
	case 't':
		return j.State.Short()
	case 'T':
		return string(j.State)
	case 'M':
		return slurmtime.Short(v.runTime(j))
	case 'l':
		secs, unlimited, known := v.timeLimit(j)
		switch {
		case unlimited:
			return "UNLIMITED"
		case !known:
			return "NOT_SET"
		}
		return slurmtime.Short(secs)
	case 'L':
		secs, unlimited, known := v.timeLimit(j)
		switch {
		case unlimited:
			return "UNLIMITED"
		case !known:
			return "NOT_SET"
		}
		return slurmtime.Short(max(secs-v.runTime(j), 0))
	case 'D':
		return strconv.Itoa(numNodes(j))
	case 'R':
		if j.State == api.JobPending || j.State == api.JobTimeout || j.State == api.JobFailed {
			return "(" + reason(j) + ")"
		}
		return nodeList(jobNodes(j))
	case 'r':
		return reason(j)
	case 'N':
		return nodeList(jobNodes(j))
	case 'C':
		return strconv.Itoa(numCPUs(j))
	case 'c':
		return strconv.Itoa(max(s.CPUsPerTask, 1))
	case 'b':
		return gresString(s)
	case 'Q':
		return strconv.FormatUint(uint64(j.Priority), 10)
	case 'p':
		return fmt.Sprintf("%16.14f", float64(j.Priority)/float64(^uint32(0)))
	case 'V':
		return v.date(j.SubmitTime)
	case 'S':
		if t := v.startTime(j); t > 0 {
			return v.date(t)
		}
		return "N/A"
	case 'Y':
		return "(null)"
	case 'e':
		return v.endTime(j, "N/A")
	case 'a':
		return orNull(s.Account)
	case 'm':
		return memString(v.memoryMB(j))
	case 'Z':
		return s.WorkDir
	case 'E':
		return orNull(s.Dependency)
	case 'y':
		return strconv.Itoa(s.Nice)
	case 'n':
		return ""
	case 'q':
		return qosName(s)
	}
	return ""
}

// startTime is squeue's %S as unix seconds (0: unknown): a running or
// finished job's start; a pending job's backfill reservation, else the P50
// of its start estimate (fetched only for formats with %S), else unknown.
// The reservation comes first: it is what the scheduler has promised
// (Slurm's --start shows it), while the estimate is a forecast that also
// covers the jobs the backfill window does not reach.
func (v *view) startTime(j *api.Job) int64 {
	if j.State != api.JobPending {
		return j.StartTime
	}
	if j.ExpectedStart != 0 {
		return j.ExpectedStart
	}
	if e, ok := v.estimates[j.ID]; ok && e.P50 > 0 {
		return e.P50
	}
	return 0
}

// arrayTaskString is squeue's %K: the task index of an array task, the
// pending tasks (and throttle) of an array's record, N/A for other jobs.
func arrayTaskString(j *api.Job) string {
	switch {
	case j.IsArrayTask():
		return strconv.Itoa(j.ArrayTaskID)
	case j.IsArrayRecord():
		s := j.ArrayPending.Display()
		if j.ArrayMaxRun > 0 {
			s += "%" + strconv.Itoa(j.ArrayMaxRun)
		}
		return s
	}
	return "N/A"
}

// expandArrays returns the jobs with every array record replaced by one
// line per pending task (squeue -r).
func expandArrays(jobs []*api.Job) []*api.Job {
	var out []*api.Job
	for _, j := range jobs {
		if !j.IsArrayRecord() || j.State != api.JobPending {
			out = append(out, j)
			continue
		}
		for _, t := range j.ArrayPending {
			task := *j
			task.ArrayTaskID, task.ArrayPending, task.ArrayMaxRun = t, nil, 0
			out = append(out, &task)
		}
	}
	return out
}

// endTime is when the job ended, or is expected to end when it runs.
func (v *view) endTime(j *api.Job, unknown string) string {
	if j.EndTime != 0 && j.State != api.JobRunning && j.State != api.JobPending {
		return v.date(j.EndTime)
	}
	if j.State == api.JobRunning && j.StartTime != 0 {
		secs, unlimited, known := v.timeLimit(j)
		if unlimited {
			return "NONE"
		}
		if known {
			return v.date(j.StartTime + secs)
		}
	}
	return unknown
}

func reason(j *api.Job) string {
	if j.Reason == "" {
		return api.ReasonNone
	}
	return j.Reason
}

func orNull(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}

// squeueCompare compares two jobs by one sort letter (-1, 0 or 1).
func (v *view) squeueCompare(a, b *api.Job, letter byte) int {
	num := func(x, y int64) int {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	switch letter {
	case 'i':
		return compareJobIDs(a, b)
	case 'A':
		return num(int64(a.ID), int64(b.ID))
	case 'F':
		return num(int64(arrayBase(a)), int64(arrayBase(b)))
	case 'K':
		return num(int64(arrayTask(a)), int64(arrayTask(b)))
	case 't', 'T':
		return num(int64(stateRank(a.State)), int64(stateRank(b.State)))
	case 'p', 'Q':
		return num(int64(a.Priority), int64(b.Priority))
	case 'M':
		return num(v.runTime(a), v.runTime(b))
	case 'l', 'L':
		as, _, _ := v.timeLimit(a)
		bs, _, _ := v.timeLimit(b)
		return num(as, bs)
	case 'D':
		return num(int64(numNodes(a)), int64(numNodes(b)))
	case 'C':
		return num(int64(numCPUs(a)), int64(numCPUs(b)))
	case 'V':
		return num(a.SubmitTime, b.SubmitTime)
	case 'S':
		// Pending jobs without an expected start sort last.
		as, bs := v.startTime(a), v.startTime(b)
		if as == 0 {
			as = math.MaxInt64
		}
		if bs == 0 {
			bs = math.MaxInt64
		}
		return num(as, bs)
	case 'e':
		return num(a.EndTime, b.EndTime)
	case 'U', 'G', 'g':
		return num(int64(a.Spec.UID), int64(b.Spec.UID))
	}
	return strings.Compare(v.squeueValue(a, letter), v.squeueValue(b, letter))
}

func (v *view) sortJobs(jobs []*api.Job, keys []sortKey) {
	sort.SliceStable(jobs, func(x, y int) bool {
		for _, k := range keys {
			c := v.squeueCompare(jobs[x], jobs[y], k.letter)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return compareJobIDs(jobs[x], jobs[y]) < 0
	})
}

// squeueFilter selects the jobs squeue shows.
type squeueFilter struct {
	states     map[api.JobState]bool // nil: any state
	users      map[string]bool
	partitions map[string]bool
	names      map[string]bool
	refs       *refSet // nil: any job
}

func (f *squeueFilter) match(j *api.Job) bool {
	if f.states != nil && !f.states[j.State] {
		return false
	}
	if f.users != nil && !f.users[j.Spec.User] && !f.users[strconv.Itoa(j.Spec.UID)] {
		return false
	}
	if f.names != nil && !f.names[j.Spec.Name] {
		return false
	}
	if !f.refs.match(j) {
		return false
	}
	if f.partitions != nil {
		ok := f.partitions[j.Partition]
		for _, p := range j.Spec.Partitions {
			ok = ok || f.partitions[p]
		}
		if !ok {
			return false
		}
	}
	return true
}

func setOf(items []string) map[string]bool {
	if len(items) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}

// squeue lists jobs as Slurm's squeue does.
func squeue(ctx context.Context, inv *invocation) error {
	o := inv.opts
	format := squeueDefaultFormat
	if env := inv.env.Getenv("SQUEUE_FORMAT"); env != "" {
		format = env
	}
	if o.flag("long") {
		format = squeueLongFormat
	}
	if o.flag("start") {
		format = squeueStartFormat
	}
	if o.has("format") {
		format = o.str("format")
	}
	spec, err := parseFormat(format, "--format", squeueValid)
	if err != nil {
		return err
	}
	sortList := squeueDefaultSort
	if env := inv.env.Getenv("SQUEUE_SORT"); env != "" {
		sortList = env
	}
	if o.flag("start") {
		sortList = "S"
	}
	if o.has("sort") {
		sortList = o.str("sort")
	}
	keys, err := parseSort(sortList, "--sort", squeueValid)
	if err != nil {
		return err
	}

	f := squeueFilter{}
	refs, err := parseJobRefs(append(valuesOf(o, "jobs"), inv.args...), "--jobs")
	if err != nil {
		return err
	}
	f.refs = newRefSet(refs)
	ids := refIDs(refs)
	switch {
	case o.has("states"):
		if f.states, err = parseStates(o.str("states"), "--states"); err != nil {
			return err
		}
	case o.flag("start"):
		f.states = map[api.JobState]bool{api.JobPending: true}
	case f.refs == nil:
		f.states = map[api.JobState]bool{api.JobPending: true, api.JobRunning: true}
	}
	users := splitList(o.str("user"))
	if o.flag("me") {
		me, err := inv.env.User()
		if err != nil {
			return err
		}
		users = append(users, me.Name)
	}
	f.users = setOf(users)
	f.partitions = setOf(splitList(o.str("partition")))
	f.names = setOf(splitList(o.str("name")))

	all := f.states == nil
	for s := range f.states {
		all = all || s.Final()
	}
	filter := client.JobFilter{All: all, IDs: ids}
	if len(users) == 1 {
		filter.User = users[0]
	}
	c := inv.client()
	resp, err := c.Jobs(ctx, filter, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	v := inv.view(resp.Now)
	if spec.has("S") || slices.ContainsFunc(keys, func(k sortKey) bool { return k.letter == 'S' }) {
		// Without estimates (none made yet, an older controller) the
		// column shows the reservations alone.
		if est, err := c.Estimates(ctx); err == nil {
			v.estimates = est.Estimates
		}
	}
	if spec.has("lLme") {
		if v.parts, err = fetchPartitions(ctx, c); err != nil {
			return err
		}
	}
	listed := resp.Jobs
	if o.flag("array") {
		listed = expandArrays(listed)
	}
	var jobs []*api.Job
	for _, j := range listed {
		if f.match(j) {
			jobs = append(jobs, j)
		}
	}
	v.sortJobs(jobs, keys)

	if o.flag("json") {
		enc := json.NewEncoder(inv.env.Stdout)
		enc.SetIndent("", "  ")
		if jobs == nil {
			jobs = []*api.Job{}
		}
		return enc.Encode(map[string]any{"jobs": jobs})
	}
	var b strings.Builder
	if !o.flag("noheader") {
		b.WriteString(spec.render(headers(spec, squeueColumn), squeueColumn, true) + "\n")
	}
	for _, j := range jobs {
		values := make([]string, len(spec.fields))
		for i, fl := range spec.fields {
			values[i] = v.squeueValue(j, fl.letter)
		}
		b.WriteString(spec.render(values, squeueColumn, false) + "\n")
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

// headers returns the header of each field of a format.
func headers(spec fmtSpec, cols func(byte) column) []string {
	out := make([]string, len(spec.fields))
	for i, f := range spec.fields {
		out[i] = cols(f.letter).header
	}
	return out
}

// valuesOf returns every value given for an option (repeated options add up).
func valuesOf(o optSet, key string) []string {
	var out []string
	for _, v := range o[key] {
		out = append(out, v.value)
	}
	return out
}

func fetchPartitions(ctx context.Context, c *client.Client) (map[string]api.Partition, error) {
	resp, err := c.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	parts := map[string]api.Partition{}
	for _, p := range resp.Partitions {
		parts[p.Name] = p
	}
	return parts, nil
}
