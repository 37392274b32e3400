package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmdata"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
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
		{long: "Format", short: 'O', usage: "output format by field names, e.g. JobID,Name:20,State (width 20 unless NAME:WIDTH; NAME:.WIDTH right-justifies)"},
		{long: "user", short: 'u', aliases: []string{"users"}, usage: "only jobs of these users (comma-separated)"},
		{long: "me", kind: optFlag, usage: "only my jobs"},
		{long: "jobs", short: 'j', aliases: []string{"job"}, usage: "only these job ids (comma-separated); shows them in any state"},
		{long: "partition", short: 'p', aliases: []string{"partitions"}, usage: "only jobs in these partitions (comma-separated)"},
		{long: "states", short: 't', aliases: []string{"state"}, usage: "only jobs in these states (PD,R,CD,... or long names, or all)"},
		{long: "name", short: 'n', usage: "only jobs with these names (comma-separated)"},
		{long: "account", short: 'A', aliases: []string{"accounts"}, usage: "only jobs of these accounts (comma-separated)"},
		{long: "qos", short: 'q', usage: "only jobs with these QOS (comma-separated)"},
		{long: "nodelist", short: 'w', aliases: []string{"nodes", "node"}, usage: "only jobs running on these nodes (a hostlist such as node[1-3])"},
		{long: "steps", short: 's', aliases: []string{"step"}, kind: optOptional, def: "all", usage: "list job steps (of these JOBID.STEPID, comma-separated) instead of jobs"},
		{long: "noheader", short: 'h', kind: optFlag, usage: "do not print the header"},
		{long: "sort", short: 'S', usage: "sort by these fields, e.g. -S -t,i (default P,t,-p)"},
		{long: "long", short: 'l', kind: optFlag, usage: "long format (state names and time limits), after the date"},
		{long: "start", kind: optFlag, usage: "pending jobs by expected start time: the backfill reservation, else the P50 of the controller's start estimate, else N/A " +
			"(format \"" + squeueStartFormat + "\", sort S, state PENDING; other options change them)"},
		{long: "all", short: 'a', kind: optFlag, ignored: true},
		{long: "array", short: 'r', kind: optFlag, usage: "one line per job array task, pending ones included"},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "iterate", short: 'i', usage: "print the list again every N seconds, each after the date, until interrupted"},
		{long: "noconvert", kind: optFlag, usage: "print memory in megabytes, unconverted"},
		{long: "clusters", short: 'M', aliases: []string{"cluster"}, usage: "clusters to query: this cluster's name ($" + envClusterName + ", default " + defaultClusterName + ") or all"},
		ignoredOpt("hide", 0, optFlag), ignoredOpt("local", 0, optFlag), ignoredOpt("federation", 0, optFlag),
		ignoredOpt("sibling", 0, optFlag), ignoredOpt("array-unique", 0, optFlag),
		dataOpts()[0], dataOpts()[1],
		addrOpt(),
		helpOpt(0),
	}
}

// Letters for the -O/--Format fields that have no %-letter.
const (
	sqNumTasks byte = 0x80 + iota
	sqCluster
	sqCPUsPerTask
	sqExitCode
	sqStdout
	sqStderr
	sqStdin
	sqPendingTime
	sqRestartCount
	sqRequeue
	sqTRESAlloc
	sqTRESPerJob
	sqTRESPerTask
	sqNTasksPerNode
	sqEligibleTime
	sqBatchFlag
	sqLastSchedEval
)

// squeueLongFields maps squeue's -O/--Format names to format letters
// (Slurm 22.05's src/squeue/opts.c).
func squeueLongFields() []longField {
	return []longField{
		{"account", 'a'}, {"jobid", 'A'}, {"gres", 'b'}, {"tres-per-node", 'b'}, {"batchhost", 'B'},
		{"mincpus", 'c'}, {"numcpus", 'C'}, {"mintmpdisk", 'd'}, {"numnodes", 'D'}, {"endtime", 'e'},
		{"dependency", 'E'}, {"feature", 'f'}, {"arrayjobid", 'F'}, {"groupname", 'g'}, {"groupid", 'G'},
		{"oversubscribe", 'h'}, {"shared", 'h'}, {"sockets", 'H'}, {"jobarrayid", 'i'}, {"cores", 'I'},
		{"name", 'j'}, {"threads", 'J'}, {"comment", 'k'}, {"arraytaskid", 'K'}, {"timelimit", 'l'},
		{"timeleft", 'L'}, {"minmemory", 'm'}, {"timeused", 'M'}, {"reqnodes", 'n'}, {"nodelist", 'N'},
		{"command", 'o'}, {"contiguous", 'O'}, {"priority", 'p'}, {"partition", 'P'}, {"qos", 'q'},
		{"prioritylong", 'Q'}, {"reason", 'r'}, {"reasonlist", 'R'}, {"selectjobinfo", 's'},
		{"starttime", 'S'}, {"statecompact", 't'}, {"state", 'T'}, {"userid", 'U'}, {"username", 'u'},
		{"reservation", 'v'}, {"submittime", 'V'}, {"wckey", 'w'}, {"licenses", 'W'}, {"corespec", 'X'},
		{"nice", 'y'}, {"schednodes", 'Y'}, {"sct", 'z'}, {"workdir", 'Z'},
		{"numtasks", sqNumTasks}, {"numtask", sqNumTasks}, {"cluster", sqCluster},
		{"cpuspertask", sqCPUsPerTask}, {"cpus-per-task", sqCPUsPerTask}, {"exit_code", sqExitCode},
		{"stdout", sqStdout}, {"stderr", sqStderr}, {"stdin", sqStdin}, {"pendingtime", sqPendingTime},
		{"restartcnt", sqRestartCount}, {"requeue", sqRequeue}, {"tres", sqTRESAlloc}, {"tres-alloc", sqTRESAlloc},
		{"tres-per-job", sqTRESPerJob}, {"tres-per-task", sqTRESPerTask}, {"ntpernode", sqNTasksPerNode},
		{"eligibletime", sqEligibleTime}, {"batchflag", sqBatchFlag}, {"lastschedeval", sqLastSchedEval},
	}
}

// squeueColumn returns how a squeue format letter prints (headers from
// Slurm 22.05's src/squeue/print.c); its header is "" for letters squeue
// does not know, and for %s (the select plugin's data, empty with
// cons_tres).
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
	case 'B':
		return column{"EXEC_HOST", true}
	case 'd':
		return column{"MIN_TMP_DISK", true}
	case 'f':
		return column{"FEATURES", true}
	case 'h':
		return column{"OVER_SUBSCRIBE", true}
	case 'H':
		return column{"SOCKETS_PER_NODE", true}
	case 'I':
		return column{"CORES_PER_SOCKET", true}
	case 'J':
		return column{"THREADS_PER_CORE", true}
	case 'k':
		return column{"COMMENT", true}
	case 'o':
		return column{"COMMAND", true}
	case 'O':
		return column{"CONTIGUOUS", true}
	case 'v':
		return column{"RESERVATION", true}
	case 'w':
		return column{"WCKEY", true}
	case 'W':
		return column{"LICENSES", true}
	case 'x':
		return column{"EXC_NODES", false}
	case 'X':
		return column{"CORE_SPEC", true}
	case 'z':
		return column{"S:C:T", true}
	case 'Q', 'p':
		return column{"PRIORITY", true}
	case 'V':
		return column{"SUBMIT_TIME", true}
	case 'S':
		return column{"START_TIME", true}
	case 'Y':
		return column{"SCHEDNODES", false}
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
	case sqNumTasks:
		return column{"TASKS", true}
	case sqCluster:
		return column{"CLUSTER", true}
	case sqCPUsPerTask:
		return column{"CPUS_PER_TASK", true}
	case sqExitCode:
		return column{"EXIT_CODE", true}
	case sqStdout:
		return column{"STDOUT", true}
	case sqStderr:
		return column{"STDERR", true}
	case sqStdin:
		return column{"STDIN", true}
	case sqPendingTime:
		return column{"PENDING_TIME", true}
	case sqRestartCount:
		return column{"RESTART_COUNT", true}
	case sqRequeue:
		return column{"REQUEUE", true}
	case sqTRESAlloc:
		return column{"TRES_ALLOC", true}
	case sqTRESPerJob:
		return column{"TRES_PER_JOB", true}
	case sqTRESPerTask:
		return column{"TRES_PER_TASK", true}
	case sqNTasksPerNode:
		return column{"NTASKS_PER_NODE", true}
	case sqEligibleTime:
		return column{"ELIGIBLE_TIME", true}
	case sqBatchFlag:
		return column{"BATCH_FLAG", true}
	case sqLastSchedEval:
		return column{"LAST_SCHED_EVAL", true}
	}
	return column{}
}

func squeueValid(letter byte) bool { return letter == 's' || squeueColumn(letter).header != "" }

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
	case 'g':
		if v.groupName != nil {
			if name := v.groupName(s.GID); name != "" {
				return name
			}
		}
		return strconv.Itoa(s.GID)
	case 'G':
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
		if v.noconvert {
			return strconv.FormatInt(v.memoryMB(j), 10) + "M"
		}
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
	case 'B':
		if nodes := jobNodes(j); len(nodes) > 0 && j.State == api.JobRunning {
			return nodes[0]
		}
		return "n/a"
	case 'd':
		return "0"
	case 'f', 'k', 'v', 'w', 'W':
		return "(null)"
	case 'h':
		if s.Exclusive {
			return "NO"
		}
		return "OK"
	case 'H', 'I', 'J':
		return "*"
	case 'o':
		return orNull(s.Command)
	case 'O':
		return "0"
	case 's':
		return ""
	case 'x':
		return orNull(nodeList(s.Exclude))
	case 'X':
		return "N/A"
	case 'z':
		return "*:*:*"
	case sqNumTasks:
		return strconv.Itoa(max(s.NTasks, 1))
	case sqCluster:
		return v.cluster
	case sqCPUsPerTask:
		return strconv.Itoa(max(s.CPUsPerTask, 1))
	case sqExitCode:
		return strconv.Itoa(j.ExitCode) + ":" + strconv.Itoa(j.Signal)
	case sqStdout:
		return j.StdoutPath
	case sqStderr:
		return j.StderrPath
	case sqStdin:
		return j.StdinShown()
	case sqPendingTime:
		switch {
		case j.StartTime > 0:
			return strconv.FormatInt(max(j.StartTime-j.SubmitTime, 0), 10)
		case j.State == api.JobPending:
			return strconv.FormatInt(max(v.now-j.SubmitTime, 0), 10)
		}
		return "0"
	case sqRestartCount:
		return strconv.Itoa(j.RestartCount)
	case sqRequeue:
		if s.Requeueable() {
			return "1"
		}
		return "0"
	case sqTRESAlloc:
		if t, ok := v.allocTRES(j); ok {
			return t.scontrolString()
		}
		return ""
	case sqTRESPerJob, sqTRESPerTask:
		return ""
	case sqNTasksPerNode:
		return strconv.Itoa(s.NTasksPerNode)
	case sqEligibleTime:
		return v.date(max(j.SubmitTime, s.BeginTime))
	case sqBatchFlag:
		return "1"
	case sqLastSchedEval:
		return "N/A"
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
	return v.squeueSortVal(a, letter).compare(v.squeueSortVal(b, letter))
}

// sortVal is a job's value for one sort letter: numbers (n, then n2)
// compare first, then text.
type sortVal struct {
	n, n2 int64
	s     string
}

// compare compares two values of one sort letter (-1, 0 or 1).
func (a sortVal) compare(b sortVal) int {
	return cmp.Or(cmp.Compare(a.n, b.n), cmp.Compare(a.n2, b.n2), strings.Compare(a.s, b.s))
}

// squeueSortVal is the value a job sorts by for one sort letter: numbers
// for ids, states (in Slurm's order), times and counts, else the printed
// value.
func (v *view) squeueSortVal(j *api.Job, letter byte) sortVal {
	switch letter {
	case 'i':
		return sortVal{n: int64(arrayBase(j)), n2: int64(arrayTask(j))}
	case 'A':
		return sortVal{n: int64(j.ID)}
	case 'F':
		return sortVal{n: int64(arrayBase(j))}
	case 'K':
		return sortVal{n: int64(arrayTask(j))}
	case 't', 'T':
		return sortVal{n: int64(stateRank(j.State))}
	case 'p', 'Q':
		return sortVal{n: int64(j.Priority)}
	case 'M':
		return sortVal{n: v.runTime(j)}
	case 'l', 'L':
		secs, _, _ := v.timeLimit(j)
		return sortVal{n: secs}
	case 'D':
		return sortVal{n: int64(numNodes(j))}
	case 'C':
		return sortVal{n: int64(numCPUs(j))}
	case 'V':
		return sortVal{n: j.SubmitTime}
	case 'S':
		// Pending jobs without an expected start sort last.
		t := v.startTime(j)
		if t == 0 {
			t = math.MaxInt64
		}
		return sortVal{n: t}
	case 'e':
		return sortVal{n: j.EndTime}
	case 'U', 'G', 'g':
		return sortVal{n: int64(j.Spec.UID)}
	}
	return sortVal{s: v.squeueValue(j, letter)}
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
	accounts   map[string]bool
	qos        map[string]bool
	nodes      map[string]bool // jobs with any of these nodes
	refs       *refSet         // nil: any job
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
	if f.accounts != nil && !f.accounts[j.Spec.Account] {
		return false
	}
	if f.qos != nil && !f.qos[qosName(&j.Spec)] {
		return false
	}
	if f.nodes != nil && !slices.ContainsFunc(jobNodes(j), func(n string) bool { return f.nodes[n] }) {
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
	if o.has("format") && o.has("Format") {
		return errors.New("-o (--format) is incompatible with -O (--Format)")
	}
	if o.has("format") && o.flag("long") {
		//lint:ignore ST1005 Slurm's exact message
		return errors.New("Options -o(--format) and -l(--long) are mutually exclusive. Please remove one and retry.")
	}
	clusters, err := parseClusters(inv, o.str("clusters"))
	if err != nil {
		return err
	}
	iterate := 0
	if o.has("iterate") {
		if iterate, err = strconv.Atoi(o.str("iterate")); err != nil || iterate <= 0 {
			return &api.FieldError{Field: "--iterate", Value: o.str("iterate"), Msg: "want a number of seconds, at least 1"}
		}
	}
	if o.has("steps") {
		return squeueSteps(ctx, inv)
	}
	q, err := newSqueueQuery(inv)
	if err != nil {
		return err
	}
	if q.data, err = dataFormat(o); err != nil {
		return err
	}
	for {
		var b strings.Builder
		if q.data == "" && !o.flag("noheader") && (iterate > 0 || o.flag("long")) {
			b.WriteString(inv.env.Now().In(inv.env.Location).Format("Mon Jan 02 15:04:05 2006") + "\n")
		}
		if clusters && q.data == "" && !o.flag("noheader") {
			b.WriteString("CLUSTER: " + clusterName(inv) + "\n")
		}
		if err := q.run(ctx, &b); err != nil {
			return err
		}
		if iterate > 0 {
			b.WriteString("\n")
		}
		if _, err := fmt.Fprint(inv.env.Stdout, b.String()); err != nil {
			return err
		}
		if iterate == 0 {
			return nil
		}
		t := time.NewTimer(time.Duration(iterate) * time.Second)
		select {
		case <-ctx.Done():
			// Interrupted: the end of squeue -i.
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// squeueQuery is one parsed squeue invocation, run once or every -i seconds.
type squeueQuery struct {
	inv    *invocation
	spec   fmtSpec
	keys   []sortKey
	f      squeueFilter
	filter client.JobFilter
	// single is squeue -j with one job id: Slurm loads that job alone and
	// fails when the controller does not know it.
	single bool
	// data is "json" or "yaml" for --json and --yaml (Slurm's data_parser
	// shape), "" for the table.
	data string
}

func newSqueueQuery(inv *invocation) (*squeueQuery, error) {
	o := inv.opts
	q := &squeueQuery{inv: inv}
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
	var err error
	longFormat := o.str("Format")
	if !o.has("Format") && !o.has("format") && !o.flag("long") && !o.flag("start") && inv.env.Getenv("SQUEUE_FORMAT") == "" {
		longFormat = inv.env.Getenv("SQUEUE_FORMAT2")
	}
	if longFormat != "" {
		q.spec, err = parseLongFormat(longFormat, squeueLongFields())
	} else {
		q.spec, err = parseFormatLenient(format, "--format", squeueValid)
	}
	if err != nil {
		return nil, err
	}
	for _, bad := range q.spec.invalid {
		fmt.Fprintf(inv.env.Stderr, "%s: error: Invalid job format specification: %s\n", inv.name, bad)
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
	if q.keys, err = parseSort(sortList, "--sort", squeueValid); err != nil {
		return nil, err
	}

	f := &q.f
	refs, err := parseJobRefs(append(valuesOf(o, "jobs"), inv.args...), "--jobs")
	if err != nil {
		return nil, err
	}
	q.single = len(refs) == 1
	f.refs = newRefSet(refs)
	ids := refIDs(refs)
	switch {
	case o.has("states"):
		if f.states, err = parseStates(o.str("states"), "--states"); err != nil {
			return nil, err
		}
	case o.flag("start"):
		f.states = map[api.JobState]bool{api.JobPending: true}
	case f.refs == nil:
		f.states = map[api.JobState]bool{api.JobPending: true, api.JobRunning: true}
	}
	users := splitList(o.str("user"))
	for _, u := range users {
		if !inv.env.UserExists(u) {
			//lint:ignore ST1005 Slurm's exact message, which scripts match
			return nil, fmt.Errorf("Invalid user: %s", u)
		}
	}
	if o.flag("me") {
		me, err := inv.env.User()
		if err != nil {
			return nil, err
		}
		users = append(users, me.Name)
	}
	f.users = setOf(users)
	f.partitions = setOf(splitList(o.str("partition")))
	f.names = setOf(splitList(o.str("name")))
	f.accounts = setOf(splitList(o.str("account")))
	f.qos = setOf(splitList(o.str("qos")))
	if o.has("nodelist") {
		nodes, err := hostlist.Expand(o.str("nodelist"))
		if err != nil {
			return nil, &api.FieldError{Field: "--nodelist", Value: o.str("nodelist"), Msg: "invalid entry for --nodelist: " + err.Error()}
		}
		f.nodes = setOf(nodes)
	}

	all := f.states == nil
	for s := range f.states {
		all = all || s.Final()
	}
	// One job id: the job in any state, filtered here (Slurm's
	// slurm_load_job, which fails for an unknown job).
	q.filter = client.JobFilter{All: all || q.single, IDs: ids, Users: users,
		Accounts: splitList(o.str("account")), Partitions: splitList(o.str("partition")), Names: splitList(o.str("name"))}
	if !q.single {
		// The controller filters as match does, so that squeue -u U does
		// not fetch every job; one job id is fetched in any state, to
		// tell an unknown job from one filtered out.
		for s := range f.states {
			q.filter.States = append(q.filter.States, s)
		}
		slices.Sort(q.filter.States)
	}
	return q, nil
}

// run fetches the jobs and writes squeue's table (table, from the brief
// view), or for --json and --yaml the whole jobs.
func (q *squeueQuery) run(ctx context.Context, b *strings.Builder) error {
	inv, o := q.inv, q.inv.opts
	if q.data == "" {
		return q.table(ctx, b)
	}
	// --json and --yaml print whole jobs.
	c := inv.client()
	resp, err := c.Jobs(ctx, q.filter, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if q.single && !slices.ContainsFunc(resp.Jobs, q.f.refs.match) {
		fmt.Fprintln(inv.env.Stderr, "slurm_load_jobs error: Invalid job id specified")
		return &exitError{code: 1}
	}
	v := inv.view(resp.Now)
	v.cluster = clusterName(inv)
	v.noconvert = o.flag("noconvert")
	if q.spec.has("S") || slices.ContainsFunc(q.keys, func(k sortKey) bool { return k.letter == 'S' }) {
		// Without estimates (none made yet, an older controller) the
		// column shows the reservations alone.
		if est, err := c.Estimates(ctx); err == nil {
			v.estimates = est.Estimates
		}
	}
	if q.spec.has("lLme") {
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
		if q.f.match(j) {
			jobs = append(jobs, j)
		}
	}
	v.sortJobs(jobs, q.keys)

	if q.data != "" {
		// Slurm's squeue --json: the jobs the filters keep, in squeue's order.
		parts, err := fetchPartitionList(ctx, inv)
		if err != nil {
			return err
		}
		out, err := encodeData(q.data, slurmdata.JobInfoResponse(jobs, parts, dataOptions(inv, resp.Now, q.data)))
		if err != nil {
			return err
		}
		b.Write(out)
	}
	return nil
}

// squeueRow is one line of squeue's table: what it sorts by and its text.
type squeueRow struct {
	keys []sortVal // one per sort key
	id   sortVal   // the job id, which orders equal keys
	line string
}

// table fetches the jobs in the brief view and writes squeue's table. It
// keeps each job's sort keys and line, not the job: 200,000 jobs hold a
// few tens of megabytes.
func (q *squeueQuery) table(ctx context.Context, b *strings.Builder) error {
	inv, o := q.inv, q.inv.opts
	c := inv.client()
	v := inv.view(0)
	v.cluster = clusterName(inv)
	v.noconvert = o.flag("noconvert")
	if q.spec.has("S") || slices.ContainsFunc(q.keys, func(k sortKey) bool { return k.letter == 'S' }) {
		// Without estimates (none made yet, an older controller) the
		// column shows the reservations alone.
		if est, err := c.Estimates(ctx); err == nil {
			v.estimates = est.Estimates
		}
	}
	if q.spec.has("lLme") {
		var err error
		if v.parts, err = fetchPartitions(ctx, c); err != nil {
			return err
		}
	}
	spec := q.spec
	values := make([]string, len(spec.fields))
	var rows []squeueRow
	var keys []sortVal // rows' keys, allocated together
	found := false
	add := func(j *api.Job) {
		if !q.f.match(j) {
			return
		}
		if len(keys) < len(q.keys) {
			keys = make([]sortVal, len(q.keys)*1024)
		}
		row := squeueRow{keys: keys[:len(q.keys):len(q.keys)], id: v.squeueSortVal(j, 'i')}
		keys = keys[len(q.keys):]
		for i, k := range q.keys {
			row.keys[i] = v.squeueSortVal(j, k.letter)
		}
		for i, fl := range spec.fields {
			values[i] = v.squeueValue(j, fl.letter)
		}
		row.line = spec.render(values, squeueColumn, false)
		rows = append(rows, row)
	}
	head := func(_ uint64, now int64) error {
		if now == 0 {
			now = inv.env.Now().Unix()
		}
		v.now, rows, found = now, rows[:0], false
		return nil
	}
	each := func(j *api.Job) error {
		found = found || q.single && q.f.refs.match(j)
		if !o.flag("array") || !j.IsArrayRecord() || j.State != api.JobPending {
			add(j)
			return nil
		}
		// squeue -r: one line per pending task.
		for _, t := range j.ArrayPending {
			task := *j
			task.ArrayTaskID, task.ArrayPending, task.ArrayMaxRun = t, nil, 0
			add(&task)
		}
		return nil
	}
	if err := c.JobsBriefEach(ctx, q.filter, client.QueryOptions{}, head, each); err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if q.single && !found {
		fmt.Fprintln(inv.env.Stderr, "slurm_load_jobs error: Invalid job id specified")
		return &exitError{code: 1}
	}
	slices.SortStableFunc(rows, func(x, y squeueRow) int {
		for i, k := range q.keys {
			c := x.keys[i].compare(y.keys[i])
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return x.id.compare(y.id)
	})
	size := 0
	for _, r := range rows {
		size += len(r.line) + 1
	}
	b.Grow(size + 256)
	if !o.flag("noheader") {
		b.WriteString(spec.render(headers(spec, squeueColumn), squeueColumn, true) + "\n")
	}
	for _, r := range rows {
		b.WriteString(r.line)
		b.WriteByte('\n')
	}
	return nil
}

// squeueSteps is squeue -s: the steps of the running jobs, in Slurm's
// step format "%.15i %.8j %.9P %.8u %.9M %N".
func squeueSteps(ctx context.Context, inv *invocation) error {
	o := inv.opts
	c := inv.client()
	want := map[string]bool{}
	if v := o.str("steps"); v != "all" {
		for _, s := range splitList(v) {
			want[s] = true
		}
	}
	for _, a := range inv.args {
		for _, s := range splitList(a) {
			want[s] = true
		}
	}
	resp, err := c.Jobs(ctx, client.JobFilter{}, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	v := inv.view(resp.Now)
	users := setOf(splitList(o.str("user")))
	var b strings.Builder
	if !o.flag("noheader") {
		fmt.Fprintf(&b, "%15s %8s %9s %8s %9s %s\n", "STEPID", "NAME", "PARTITION", "USER", "TIME", "NODELIST")
	}
	for _, j := range sortedJobs(resp.Jobs) {
		if j.State != api.JobRunning || (users != nil && !users[j.Spec.User]) {
			continue
		}
		sr, err := c.Steps(ctx, j.ID)
		if err != nil {
			return fmt.Errorf("list steps of job %s: %w", j.DisplayID(), err)
		}
		for _, st := range sr.Steps {
			if st.State != api.JobRunning {
				continue
			}
			id := j.DisplayID() + "." + strconv.Itoa(st.ID)
			if len(want) > 0 && !want[id] {
				continue
			}
			name := st.Name
			if name == "" && len(st.Command) > 0 {
				name = filepath.Base(st.Command[0])
			}
			secs := int64(0)
			if st.StartTime > 0 {
				secs = max(v.now-st.StartTime, 0)
			}
			fmt.Fprintf(&b, "%s %s %s %s %s %s\n", cell(id, 15, true, true), cell(name, 8, true, true),
				cell(j.Partition, 9, true, true), cell(j.Spec.User, 8, true, true),
				cell(slurmtime.Short(secs), 9, true, false), nodeList(st.Nodes))
		}
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
