// Package explain says, in words for the job's owner, why a job waits (or
// that it does not), with the figures behind the words: the jobs ahead of it
// and whose they are, what it needs against what is free, its account's
// guarantee and the jobs being preempted for it, the backfill reservation it
// holds and the running jobs it waits for, the limit that holds it, its
// dependencies, its hold. It is pure like sched: Explain is a function of
// the scheduler's input (the cluster at one instant) and the job as stored,
// with its last pending information (Reason, Priority, ExpectedStart) from
// the scheduler's pass; it does no I/O and reads no clock.
//
// Times in the words are written in Options.Location (the controller's time
// zone) with the zone's name; the structured fields are unix seconds.
package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
)

// Options are how an explanation is written.
type Options struct {
	// Location is the time zone of the times in the words; nil: UTC.
	Location *time.Location
	// MaxListed caps the jobs a sentence names (the rest are counted);
	// 0: 5.
	MaxListed int
}

// Explain explains job j (as stored, with the pending information of the
// scheduler's last pass) against the cluster in in. j may be pending,
// running or finished; in.Jobs holds the active jobs and in.Lookup the
// retained ones.
func Explain(in sched.Input, j *api.Job, opt Options) api.Explanation {
	x := newExplainer(in, opt)
	e := api.Explanation{JobID: j.ID, State: j.State, Reason: j.Reason}
	switch j.State {
	case api.JobPending:
		x.explainPending(j, &e)
	case api.JobRunning:
		x.explainRunning(j, &e)
	default:
		x.finished(j, &e)
	}
	return e
}

// WithEstimate adds a start-time estimate to an explanation of a pending
// job: the Estimate field and a fact saying how the range was made.
func WithEstimate(e *api.Explanation, est api.StartEstimate, opt Options) {
	if e.State != api.JobPending {
		return
	}
	loc := cmp.Or(opt.Location, time.UTC)
	c := est
	e.Estimate = &c
	e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactEstimate, Text: EstimateText(est, loc)})
}

// EstimateText says a start estimate in words: the P50-P90 range, or that
// the job did not start within the horizon in enough replays.
func EstimateText(est api.StartEstimate, loc *time.Location) string {
	made := fmt.Sprintf("from %d replays of the queue made at %s", est.Replays, clock(est.MadeAt, est.MadeAt, loc))
	switch {
	case est.P50 > 0 && est.P90 > 0:
		return fmt.Sprintf("Expected start between %s and %s (P50-P90 %s).", clock(est.P50, est.MadeAt, loc), clock(est.P90, est.MadeAt, loc), made)
	case est.P50 > 0:
		return fmt.Sprintf("Expected start at %s (P50) or later: it started before %s in only %d of %d replays (%s).",
			clock(est.P50, est.MadeAt, loc), clock(est.Horizon, est.MadeAt, loc), est.Started, est.Replays, made)
	}
	return fmt.Sprintf("No start expected before %s: it started in %d of %d replays (%s).",
		clock(est.Horizon, est.MadeAt, loc), est.Started, est.Replays, made)
}

// explainer is one explanation's view of the input.
type explainer struct {
	in      sched.Input
	cfg     *api.ClusterConfig
	loc     *time.Location
	max     int
	now     int64
	running []*api.Job
	pending []*api.Job
	parent  map[string]string
	accts   map[string]*api.Account
}

func newExplainer(in sched.Input, opt Options) *explainer {
	x := &explainer{in: in, cfg: &in.Config, loc: cmp.Or(opt.Location, time.UTC), max: cmp.Or(opt.MaxListed, 5), now: in.Now,
		parent: map[string]string{}, accts: map[string]*api.Account{}}
	for _, j := range in.Jobs {
		switch {
		case j == nil:
		case j.State == api.JobRunning:
			x.running = append(x.running, j)
		case j.State == api.JobPending:
			x.pending = append(x.pending, j)
		}
	}
	byID := func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(x.running, byID)
	slices.SortFunc(x.pending, byID)
	for i := range in.Config.Accounts {
		a := &in.Config.Accounts[i]
		if _, dup := x.accts[a.Name]; !dup && a.Name != api.RootAccount {
			x.accts[a.Name] = a
			x.parent[a.Name] = cmp.Or(a.Parent, api.RootAccount)
		}
	}
	return x
}

// time writes a unix time as a clock time in the explanation's zone (with
// the date when it is not today).
func (x *explainer) time(t int64) string { return clock(t, x.now, x.loc) }

// clock writes t as 15:04:05 MST, with the date when it is not the same day
// as ref.
func clock(t, ref int64, loc *time.Location) string {
	tt, rt := time.Unix(t, 0).In(loc), time.Unix(ref, 0).In(loc)
	if tt.YearDay() == rt.YearDay() && tt.Year() == rt.Year() {
		return tt.Format("15:04:05 MST")
	}
	return tt.Format("Mon 2 Jan 15:04:05 MST")
}

// account is the account a job is charged to.
func (x *explainer) account(spec *api.JobSpec) string {
	return cmp.Or(spec.Account, x.cfg.DefaultAccount, api.RootAccount)
}

// chain is the account and its configured ancestors, nearest first.
func (x *explainer) chain(account string) []*api.Account {
	var out []*api.Account
	for cur := account; cur != api.RootAccount && len(out) <= len(x.accts); cur = x.parent[cur] {
		a := x.accts[cur]
		if a == nil {
			break
		}
		out = append(out, a)
	}
	return out
}

// guarantee is the account whose guarantee in part covers jobs of account,
// and its GPUs (account itself and 0 without one).
func (x *explainer) guarantee(account, part string) (string, int) {
	for _, a := range x.chain(account) {
		if g, ok := a.Guarantees[part]; ok {
			return a.Name, g
		}
	}
	return account, 0
}

// guaranteeUse is the GPUs the running jobs covered by gacct's guarantee
// hold in part, and those jobs; being-stopped jobs are counted apart.
func (x *explainer) guaranteeUse(gacct, part string) (held int, jobs []*api.Job, stopping int) {
	for _, r := range x.running {
		if r.Partition != part {
			continue
		}
		if ga, _ := x.guarantee(x.account(&r.Spec), part); ga != gacct {
			continue
		}
		if r.Kill != nil {
			stopping += gpusOf(r)
			continue
		}
		held += gpusOf(r)
		jobs = append(jobs, r)
	}
	return held, jobs, stopping
}

// gpusOf is the GPUs a running job holds.
func gpusOf(j *api.Job) int {
	n := 0
	for _, a := range j.Alloc {
		n += len(a.GPUs)
	}
	return n
}

// wantGPUs is the GPUs one start of a job takes.
func wantGPUs(j *api.Job) int { return max(j.Spec.Nodes, 1) * max(j.Spec.GPUs, 0) }

// partitions are the partitions a pending job may run in, in its order
// (configured ones only), and the names it asked for that do not exist.
func (x *explainer) partitions(j *api.Job) (parts []api.Partition, missing []string) {
	if len(j.Spec.Partitions) == 0 {
		if p, ok := x.cfg.DefaultPartition(); ok {
			parts = append(parts, p)
		}
		return parts, nil
	}
	for _, name := range j.Spec.Partitions {
		if p, ok := x.cfg.Partition(name); ok {
			parts = append(parts, p)
		} else {
			missing = append(missing, name)
		}
	}
	return parts, missing
}

// endOf is when a running job is expected to free its resources, as the
// scheduler's timeline counts it: its kill request plus grace when it is
// being stopped, else its start plus its time limit (0: no limit).
func (x *explainer) endOf(r *api.Job) int64 {
	if r.Kill != nil {
		grace := int64(r.Kill.GraceSecs)
		if grace <= 0 {
			grace = sched.DefaultKillGraceSecs
		}
		return max(r.Kill.RequestedAt, r.StartTime) + grace
	}
	limit := r.TimeLimitSecs
	if limit <= 0 {
		p, _ := x.cfg.Partition(r.Partition)
		limit = r.Spec.TimeLimitIn(p)
	}
	if api.Unlimited(limit) {
		return 0
	}
	return r.StartTime + limit
}

// jobList writes job IDs as "7", "7 and 9", "7, 9 and 11", naming at most
// x.max and counting the rest.
func (x *explainer) jobList(ids []api.JobID) string {
	var s []string
	for i, id := range ids {
		if i == x.max {
			s = append(s, fmt.Sprintf("%d more", len(ids)-i))
			break
		}
		s = append(s, id.String())
	}
	return andList(s)
}

// andList joins words as "a", "a and b", "a, b and c".
func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// jobsWord is "job 7" or "jobs 7 and 9".
func (x *explainer) jobsWord(ids []api.JobID) string {
	if len(ids) == 1 {
		return "job " + ids[0].String()
	}
	return "jobs " + x.jobList(ids)
}

// ids lists the IDs of jobs.
func ids(jobs []*api.Job) []api.JobID {
	out := make([]api.JobID, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// gpuWords describes a job's GPU request: "4 GPUs (a100) on each of 2
// nodes (8 in all)", "2 GPUs on 1 node", "no GPUs (4 CPUs on 1 node)".
func gpuWords(spec *api.JobSpec) string {
	nodes := max(spec.Nodes, 1)
	typ := ""
	if spec.GPUType != "" {
		typ = " of type " + spec.GPUType
	}
	switch {
	case spec.GPUs <= 0:
		return fmt.Sprintf("no GPUs (%s on each of %s)", plural(spec.TotalCPUsPerNode(), "CPU"), plural(nodes, "node"))
	case nodes == 1:
		return fmt.Sprintf("%s%s on 1 node", plural(spec.GPUs, "GPU"), typ)
	}
	return fmt.Sprintf("%s%s on each of %d nodes (%d in all)", plural(spec.GPUs, "GPU"), typ, nodes, spec.GPUs*nodes)
}

// explainRunning explains a running job.
func (x *explainer) explainRunning(j *api.Job, e *api.Explanation) {
	nodes := strings.Join(j.NodeNames(), ",")
	s := fmt.Sprintf("Job %d is running since %s on %s (partition %s)", j.ID, x.time(j.StartTime), nodes, j.Partition)
	if end := x.endOf(j); j.Kill == nil && end > 0 {
		s += fmt.Sprintf("; its time limit ends it at %s", x.time(end))
	}
	e.Summary = s + "."
	if k := j.Kill; k != nil {
		what := strings.ToLower(string(k.State))
		if k.Requeue {
			what = "requeued"
		}
		t := fmt.Sprintf("It is being stopped (%s, %s) since %s", what, cmp.Or(k.Reason, "no reason given"), x.time(k.RequestedAt))
		if k.For != 0 {
			t += fmt.Sprintf(", to make room for job %d", k.For)
		}
		if end := x.endOf(j); end > 0 && !k.EndGrace {
			t += fmt.Sprintf("; its grace time ends at %s", x.time(end))
		}
		e.Summary += " " + t + "."
		var jobs []api.JobID
		if k.For != 0 {
			jobs = []api.JobID{k.For}
		}
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactReclaim, Text: t + ".", Jobs: jobs})
	}
}

// finished explains a job that has ended.
func (x *explainer) finished(j *api.Job, e *api.Explanation) {
	how := string(j.State)
	if j.State == api.JobCompleted || j.State == api.JobFailed {
		how += fmt.Sprintf(" (exit code %d)", j.ExitCode)
	}
	if j.Reason != "" && j.Reason != api.ReasonNone && j.State != api.JobCompleted {
		how += ", " + j.Reason
	}
	if j.StartTime == 0 {
		e.Summary = fmt.Sprintf("Job %d ended %s at %s without starting.", j.ID, how, x.time(j.EndTime))
		return
	}
	e.Summary = fmt.Sprintf("Job %d ended %s at %s after running %s on %s.", j.ID, how, x.time(j.EndTime),
		api.FormatDuration(max(j.EndTime-j.StartTime, 0)), strings.Join(lastNodes(j), ","))
}

// lastNodes are the nodes of a finished job's last run.
func lastNodes(j *api.Job) []string {
	if len(j.Runs) > 0 {
		return j.Runs[len(j.Runs)-1].Nodes
	}
	return j.NodeNames()
}
