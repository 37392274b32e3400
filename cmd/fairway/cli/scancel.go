package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

func scancelOpts() []*opt {
	return []*opt{
		{long: "signal", short: 's', usage: "send this signal (USR1, TERM, 10, ...) instead of cancelling"},
		{long: "user", short: 'u', usage: "cancel the jobs of this user"},
		{long: "me", kind: optFlag, usage: "cancel my jobs"},
		{long: "name", short: 'n', aliases: []string{"jobname"}, usage: "cancel the jobs with this name"},
		{long: "partition", short: 'p', usage: "cancel the jobs in this partition"},
		{long: "state", short: 't', aliases: []string{"states"}, usage: "cancel the jobs in this state (PENDING, RUNNING)"},
		{long: "account", short: 'A', usage: "cancel the jobs of this account"},
		{long: "quiet", short: 'Q', kind: optFlag, usage: "print no messages for errors"},
		{long: "batch", short: 'b', kind: optFlag, ignored: true},
		{long: "full", short: 'f', kind: optFlag, ignored: true},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "interactive", short: 'i', unsupported: "not supported"},
		{long: "clusters", short: 'M', aliases: []string{"cluster"}, usage: "clusters: this cluster's name ($" + envClusterName + ", default " + defaultClusterName + ") or all"},
		addrOpt(),
		helpOpt('h'),
	}
}

// normalizeSignal checks a signal given by name (USR1, SIGUSR1) or number and
// returns its name without the SIG prefix.
func normalizeSignal(s, option string) (string, error) {
	up := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if n, err := strconv.Atoi(up); err == nil {
		if name, ok := signalName(n); ok {
			return name, nil
		}
	} else if _, ok := signalNumber(up); ok {
		return up, nil
	}
	return "", &api.FieldError{Field: option, Value: s, Msg: "unknown signal; use a name such as USR1, TERM or KILL, or a number"}
}

// signalNames lists Linux signal names by number (index 0 unused).
func signalNames() []string {
	return []string{"", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
		"USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
		"TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"}
}

func signalName(n int) (string, bool) {
	names := signalNames()
	if n <= 0 || n >= len(names) {
		return "", false
	}
	return names[n], true
}

func signalNumber(name string) (int, bool) {
	for i, n := range signalNames() {
		if i > 0 && n == name {
			return i, true
		}
	}
	if name == "POLL" {
		return 29, true
	}
	return 0, false
}

// scancel cancels or signals jobs as Slurm's scancel does. A job array's id
// cancels the whole array, ARRAYID_TASK one task; with filters, each job that
// matches is cancelled alone (an array's record: the tasks that have not
// started).
func scancel(ctx context.Context, inv *invocation) error {
	o := inv.opts
	if _, err := parseClusters(inv, o.str("clusters")); err != nil {
		return err
	}
	refs, err := parseCancelRefs(inv.args)
	if err != nil {
		return err
	}
	signal := ""
	if o.has("signal") {
		if signal, err = normalizeSignal(o.str("signal"), "--signal"); err != nil {
			return err
		}
	}
	filtered := o.has("user") || o.flag("me") || o.has("name") || o.has("partition") || o.has("state") || o.has("account")
	if len(refs) == 0 && !filtered {
		//lint:ignore ST1005 Slurm's exact message, which scripts match
		return errors.New("No job identification provided")
	}
	c := inv.client()
	var jobOnly map[api.JobID]bool
	if filtered {
		if refs, jobOnly, err = scancelSelect(ctx, inv, c, refs); err != nil {
			return err
		}
	}
	failed := false
	for _, ref := range refs {
		err := c.CancelRef(ctx, ref, api.CancelRequest{Signal: signal, JobOnly: ref.Task == nil && jobOnly[ref.ID]})
		if err == nil {
			continue
		}
		if signal == "" && isAlreadyDone(err) {
			// Slurm 22.05 ignores cancelling a job that has ended.
			continue
		}
		failed = true
		if o.flag("quiet") {
			continue
		}
		msg := err.Error()
		if client.IsNotFound(err) {
			msg = "Invalid job id specified"
		}
		what := "Kill job error"
		if signal != "" {
			what = "Signal job error"
		}
		fmt.Fprintf(inv.env.Stderr, "%s: error: %s on job id %s: %s\n", inv.name, what, ref, msg)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}

// isAlreadyDone reports whether the controller refused an action because
// the job has ended (409: "job 5 already COMPLETED", "job array 6 already
// ended").
func isAlreadyDone(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == http.StatusConflict && strings.Contains(ce.Msg, " already ")
}

// maxCancelTasks bounds the tasks one ARRAYID_[LIST] may name: scancel
// sends one request per task.
const maxCancelTasks = 100000

// parseCancelRefs parses scancel's job ids: ID, ID_TASK and ID_[LIST] (a
// task range list such as 94_[2-3,7], one reference per task), separated by
// commas or given as separate arguments.
func parseCancelRefs(args []string) ([]api.JobRef, error) {
	var refs []api.JobRef
	for _, a := range args {
		for _, item := range splitOutsideBrackets(a) {
			id, list, ok := strings.Cut(item, "_[")
			if !ok {
				r, err := parseJobRefs([]string{item}, "job id")
				if err != nil {
					return nil, err
				}
				refs = append(refs, r...)
				continue
			}
			bad := &api.FieldError{Field: "job id", Value: item, Msg: "not a job array task list; write ARRAYID_[TASKS], such as 94_[2-3,7]"}
			if !strings.HasSuffix(list, "]") {
				return nil, bad
			}
			r, err := parseJobRefs([]string{id}, "job id")
			if err != nil || len(r) != 1 {
				return nil, bad
			}
			spec, err := api.ParseArray(strings.TrimSuffix(list, "]"), api.ClientMaxArraySize)
			if err != nil || spec.MaxRun != 0 {
				return nil, bad
			}
			if len(spec.Tasks) > maxCancelTasks {
				return nil, &api.FieldError{Field: "job id", Value: item, Msg: fmt.Sprintf("names %d tasks, more than %d; cancel the whole array by its id", len(spec.Tasks), maxCancelTasks)}
			}
			for _, task := range spec.Tasks {
				refs = append(refs, api.JobRef{ID: r[0].ID, Task: &task})
			}
		}
	}
	return refs, nil
}

// splitOutsideBrackets splits s at the commas outside [ ].
func splitOutsideBrackets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				if t := strings.TrimSpace(s[start:i]); t != "" {
					out = append(out, t)
				}
				start = i + 1
			}
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// scancelSelect returns the active jobs that match scancel's filters (and,
// when references are given, are among them). A task of a job array is
// returned as ARRAYID_TASK; jobOnly holds the ids that are job arrays' ids,
// to be cancelled without the rest of their array.
func scancelSelect(ctx context.Context, inv *invocation, c *client.Client, refs []api.JobRef) (out []api.JobRef, jobOnly map[api.JobID]bool, err error) {
	o := inv.opts
	f := squeueFilter{states: map[api.JobState]bool{api.JobPending: true, api.JobRunning: true}}
	if o.has("state") {
		states, err := parseStates(o.str("state"), "--state")
		if err != nil {
			return nil, nil, err
		}
		f.states = states
	}
	users := splitList(o.str("user"))
	if o.flag("me") {
		me, err := inv.env.User()
		if err != nil {
			return nil, nil, err
		}
		users = append(users, me.Name)
	}
	f.users = setOf(users)
	f.names = setOf(splitList(o.str("name")))
	f.partitions = setOf(splitList(o.str("partition")))
	f.refs = newRefSet(refs)
	filter := client.JobFilter{IDs: refIDs(refs)}
	if len(users) == 1 {
		filter.User = users[0]
	}
	resp, err := c.Jobs(ctx, filter, client.QueryOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list jobs: %w", err)
	}
	accounts := setOf(splitList(o.str("account")))
	jobOnly = map[api.JobID]bool{}
	for _, j := range sortedJobs(resp.Jobs) {
		if !f.match(j) || (accounts != nil && !accounts[j.Spec.Account]) {
			continue
		}
		ref := api.JobRef{ID: j.ID}
		switch {
		case j.IsArrayTask():
			task := j.ArrayTaskID
			ref = api.JobRef{ID: j.ArrayJobID, Task: &task}
		case j.IsArrayRecord():
			jobOnly[j.ID] = true
		}
		out = append(out, ref)
	}
	return out, jobOnly, nil
}
