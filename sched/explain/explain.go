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

// explainPending explains a pending job by its reason.
func (x *explainer) explainPending(j *api.Job, e *api.Explanation) {
	if j.ExpectedStart > 0 && (j.Reason == api.ReasonResources || j.Reason == api.ReasonPriority) {
		e.Reservation = j.ExpectedStart
	}
	switch j.Reason {
	case api.ReasonHeldUser, api.ReasonHeldAdmin:
		x.held(j, e)
	case api.ReasonBeginTime:
		x.beginTime(j, e)
	case api.ReasonDependency, sched.ReasonDependencyNever:
		x.dependency(j, e)
	case api.ReasonPartitionDown, api.ReasonPartitionLimit, sched.ReasonPartitionNodeLimit, sched.ReasonBadConstraints, sched.ReasonPartitionConfig:
		x.partition(j, e)
	case sched.ReasonAssocGrpJobs, sched.ReasonAssocMaxJobs, sched.ReasonAssocGrpGRES:
		x.limit(j, e)
	case sched.ReasonArrayTaskLimit:
		x.arrayThrottle(j, e)
	case api.ReasonResources, api.ReasonPriority:
		x.waiting(j, e)
	default:
		if j.Spec.Hold {
			x.held(j, e)
			return
		}
		e.Summary = fmt.Sprintf("Job %d is pending (reason %s); the scheduler has not given it a more specific reason yet.", j.ID, cmp.Or(j.Reason, "none"))
	}
}

func (x *explainer) held(j *api.Job, e *api.Explanation) {
	if j.Reason == api.ReasonHeldAdmin {
		e.Summary = fmt.Sprintf("Job %d is held by an administrator: it will not start until an operator or an administrator releases it with scontrol release %d.", j.ID, j.ID)
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactHeld, Text: "Held by an administrator (JobHeldAdmin); its owner cannot release it."})
		return
	}
	e.Summary = fmt.Sprintf("Job %d is held by its user: it will not start until it is released with scontrol release %d.", j.ID, j.ID)
	e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactHeld,
		Text: fmt.Sprintf("Held by user %s (sbatch --hold or scontrol hold, JobHeldUser); its owner, a coordinator of account %s, an operator or an administrator may release it.", j.Spec.User, x.account(&j.Spec))})
}

func (x *explainer) beginTime(j *api.Job, e *api.Explanation) {
	if j.Spec.BeginTime > x.now {
		e.Summary = fmt.Sprintf("Job %d may not start before %s, the time its --begin asks for (in %s).", j.ID, x.time(j.Spec.BeginTime), api.FormatDuration(j.Spec.BeginTime-x.now))
	} else {
		e.Summary = fmt.Sprintf("Job %d's --begin time (%s) has passed; the scheduler considers it on its next pass.", j.ID, x.time(j.Spec.BeginTime))
	}
	e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactBeginTime, Text: fmt.Sprintf("--begin=%s", time.Unix(j.Spec.BeginTime, 0).In(x.loc).Format("2006-01-02T15:04:05 MST"))})
}

func (x *explainer) arrayThrottle(j *api.Job, e *api.Explanation) {
	arr := cmp.Or(j.ArrayJobID, j.ID)
	limit := j.ArrayMaxRun
	var tasks []*api.Job
	for _, r := range x.running {
		if r.ArrayJobID == arr {
			tasks = append(tasks, r)
		}
		if r.ID == arr && r.ArrayMaxRun > 0 {
			limit = r.ArrayMaxRun
		}
	}
	for _, p := range x.pending {
		if p.ID == arr && p.ArrayMaxRun > 0 {
			limit = p.ArrayMaxRun
		}
	}
	e.Summary = fmt.Sprintf("Job array %d runs %s at once, the most its %%%d throttle allows: its next task starts when one of them ends.", arr, plural(len(tasks), "task"), limit)
	if len(tasks) > 0 {
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactLimit, Text: fmt.Sprintf("Running tasks: %s.", x.jobsWord(ids(tasks))), Jobs: ids(tasks)})
	}
}

// partition explains the partition reasons.
func (x *explainer) partition(j *api.Job, e *api.Explanation) {
	parts, missing := x.partitions(j)
	var facts []string
	for _, name := range missing {
		facts = append(facts, fmt.Sprintf("Partition %s does not exist in the cluster's configuration.", name))
	}
	for _, p := range parts {
		members := api.PartitionNodes(p, x.in.Nodes)
		limit := j.Spec.TimeLimitIn(p)
		switch {
		case !p.Up():
			facts = append(facts, fmt.Sprintf("Partition %s is %s: no job starts there until an administrator sets it UP.", p.Name, p.State))
		case p.MaxTimeSecs > 0 && limit > p.MaxTimeSecs:
			facts = append(facts, fmt.Sprintf("Partition %s allows at most %s; the job asks for %s.", p.Name, api.FormatDuration(p.MaxTimeSecs), api.FormatDuration(limit)))
		case len(members) > 0 && max(j.Spec.Nodes, 1) > len(members):
			facts = append(facts, fmt.Sprintf("Partition %s has %s; the job asks for %d.", p.Name, plural(len(members), "node"), max(j.Spec.Nodes, 1)))
		default:
			facts = append(facts, x.biggestNode(j, p, members))
		}
	}
	switch j.Reason {
	case api.ReasonPartitionDown:
		e.Summary = fmt.Sprintf("Job %d waits because its partition %s is down; it can start when an administrator sets the partition UP.", j.ID, partNames(parts, api.Partition.Up, false))
	case api.ReasonPartitionLimit:
		e.Summary = fmt.Sprintf("Job %d cannot start: its time limit (%s) is more than its partitions allow; cancel it and submit it again with a shorter --time.", j.ID, api.FormatDuration(j.Spec.TimeLimitSecs))
	case sched.ReasonPartitionNodeLimit:
		e.Summary = fmt.Sprintf("Job %d cannot start: it asks for %s, more than its partitions have.", j.ID, plural(max(j.Spec.Nodes, 1), "node"))
	case sched.ReasonBadConstraints:
		e.Summary = fmt.Sprintf("Job %d cannot start: it needs %s, and no node of its partitions has that much even when empty.", j.ID, gpuWords(&j.Spec))
	default:
		e.Summary = fmt.Sprintf("Job %d cannot start: none of the partitions it asks for (%s) exists.", j.ID, strings.Join(j.Spec.Partitions, ","))
	}
	for _, f := range facts {
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactPartition, Text: f})
	}
}

// partNames names the partitions for which keep(p) == want.
func partNames(parts []api.Partition, keep func(api.Partition) bool, want bool) string {
	var s []string
	for _, p := range parts {
		if keep(p) == want {
			s = append(s, p.Name)
		}
	}
	return andList(s)
}

// biggestNode says what the largest node of a partition has, against what
// the job needs per node.
func (x *explainer) biggestNode(j *api.Job, p api.Partition, members []*api.Node) string {
	nd := sched.NeedIn(&j.Spec, p)
	best, bestName := 0, ""
	cpus, mem := 0, int64(0)
	for _, n := range members {
		g := 0
		for _, gpu := range n.Resources.GPUs {
			if nd.GPUType == "" || strings.EqualFold(gpu.Type, nd.GPUType) {
				g++
			}
		}
		if g > best || bestName == "" {
			best, bestName = g, n.Name
		}
		cpus, mem = max(cpus, n.Resources.CPUs), max(mem, n.Resources.MemoryMB)
	}
	typ := "GPUs"
	if nd.GPUType != "" {
		typ = nd.GPUType + " GPUs"
	}
	on := "on one node"
	if n := max(j.Spec.Nodes, 1); n > 1 {
		on = fmt.Sprintf("on each of %d nodes", n)
	}
	return fmt.Sprintf("Partition %s: the job needs %d %s, %s and %d MB %s; its largest node has %d %s (%s), at most %d CPUs and %d MB.",
		p.Name, nd.GPUs, typ, plural(nd.CPUs, "CPU"), nd.MemoryMB, on, best, typ, cmp.Or(bestName, "none"), cpus, mem)
}

// limit explains the account and user limits, in the order sched checks
// them: user limits up the account chain, then account limits.
func (x *explainer) limit(j *api.Job, e *api.Explanation) {
	acct, user, g := x.account(&j.Spec), j.Spec.User, wantGPUs(j)
	chain := x.chain(acct)
	inSubtree := func(r *api.Job, a string) bool {
		return slices.ContainsFunc(x.chain(x.account(&r.Spec)), func(c *api.Account) bool { return c.Name == a })
	}
	use := func(a string, userOnly bool) (jobs []*api.Job, gpus int) {
		for _, r := range x.running {
			if inSubtree(r, a) && (!userOnly || r.Spec.User == user) {
				jobs = append(jobs, r)
				gpus += gpusOf(r)
			}
		}
		return jobs, gpus
	}
	say := func(summary, field string, limit, now int, jobs []*api.Job) {
		e.Summary = summary
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactLimit,
			Text: fmt.Sprintf("Limit %s = %d; in use now: %d, by %s.", field, limit, now, cmp.Or(x.ownedList(jobs), "no job")), Jobs: ids(jobs)})
	}
	if len(chain) > 0 {
		// The association's own limits (sacctmgr's MaxJobs and GrpTRES on a user).
		a := chain[0]
		jobs, gpus := use(a.Name, true)
		for _, u := range a.Users {
			switch {
			case u.Name != user:
			case u.MaxRunningJobs > 0 && len(jobs)+1 > u.MaxRunningJobs:
				say(fmt.Sprintf("Job %d waits because user %s may run at most %s at once in account %s (MaxJobs of the association) and runs %d now; it starts when one of them ends.",
					j.ID, user, plural(u.MaxRunningJobs, "job"), a.Name, len(jobs)), "MaxJobs of user "+user+" in account "+a.Name, u.MaxRunningJobs, len(jobs), jobs)
				return
			case u.MaxGPUs > 0 && g > 0 && gpus+g > u.MaxGPUs:
				say(fmt.Sprintf("Job %d waits because user %s may use at most %s at once in account %s (GrpTRES=gres/gpu of the association): the user's jobs hold %d and this one needs %d more.",
					j.ID, user, plural(u.MaxGPUs, "GPU"), a.Name, gpus, g), "GrpTRES=gres/gpu of user "+user+" in account "+a.Name, u.MaxGPUs, gpus, jobs)
				return
			}
		}
	}
	for _, a := range chain {
		jobs, gpus := use(a.Name, true)
		switch {
		case a.MaxRunningJobsPerUser > 0 && len(jobs)+1 > a.MaxRunningJobsPerUser:
			say(fmt.Sprintf("Job %d waits because user %s may run at most %s at once in account %s (max_running_jobs_per_user) and runs %d now; it starts when one of them ends.",
				j.ID, user, plural(a.MaxRunningJobsPerUser, "job"), a.Name, len(jobs)), "max_running_jobs_per_user of account "+a.Name, a.MaxRunningJobsPerUser, len(jobs), jobs)
			return
		case a.MaxGPUsPerUser > 0 && g > 0 && gpus+g > a.MaxGPUsPerUser:
			say(fmt.Sprintf("Job %d waits because user %s may use at most %s at once in account %s (max_gpus_per_user): the user's jobs hold %d and this one needs %d more.",
				j.ID, user, plural(a.MaxGPUsPerUser, "GPU"), a.Name, gpus, g), "max_gpus_per_user of account "+a.Name, a.MaxGPUsPerUser, gpus, jobs)
			return
		}
	}
	for _, a := range chain {
		jobs, gpus := use(a.Name, false)
		switch {
		case a.MaxRunningJobs > 0 && len(jobs)+1 > a.MaxRunningJobs:
			say(fmt.Sprintf("Job %d waits because account %s may run at most %s at once (max_running_jobs) and runs %d now; it starts when one of them ends.",
				j.ID, a.Name, plural(a.MaxRunningJobs, "job"), len(jobs)), "max_running_jobs of account "+a.Name, a.MaxRunningJobs, len(jobs), jobs)
			return
		case a.MaxGPUs > 0 && g > 0 && gpus+g > a.MaxGPUs:
			say(fmt.Sprintf("Job %d waits because account %s may use at most %s at once (max_gpus): its jobs hold %d and this one needs %d more.",
				j.ID, a.Name, plural(a.MaxGPUs, "GPU"), gpus, g), "max_gpus of account "+a.Name, a.MaxGPUs, gpus, jobs)
			return
		}
	}
	e.Summary = fmt.Sprintf("Job %d waited for a limit of account %s (%s) at the last scheduling pass; none holds it now, so it should be considered on the next pass.", j.ID, acct, j.Reason)
}

// ownedList writes jobs with their owners: "jobs 3 (alice/physics, 2 GPUs)
// and 4 (bob/physics, 4 GPUs)".
func (x *explainer) ownedList(jobs []*api.Job) string {
	if len(jobs) == 0 {
		return ""
	}
	var s []string
	for i, r := range jobs {
		if i == x.max {
			s = append(s, fmt.Sprintf("%d more", len(jobs)-i))
			break
		}
		g := gpusOf(r)
		if r.State == api.JobPending {
			g = wantGPUs(r)
		}
		s = append(s, fmt.Sprintf("%d (%s/%s, %s)", r.ID, r.Spec.User, x.account(&r.Spec), plural(g, "GPU")))
	}
	word := "jobs "
	if len(jobs) == 1 {
		word = "job "
	}
	return word + andList(s)
}

// depView is a dependency's referenced job as the explanation sees it.
type depView struct {
	known   bool
	state   string // for words
	started bool
	startAt int64
	ended   bool
	ok      bool
}

// view finds a referenced job or job array.
func (x *explainer) view(ref api.JobRef) depView {
	lookup := func(id api.JobID) (*api.Job, bool) {
		if i, ok := slices.BinarySearchFunc(x.running, id, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) }); ok {
			return x.running[i], true
		}
		if i, ok := slices.BinarySearchFunc(x.pending, id, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) }); ok {
			return x.pending[i], true
		}
		if x.in.Lookup != nil {
			return x.in.Lookup(id)
		}
		return nil, false
	}
	one := func(j *api.Job) depView {
		v := depView{known: true, state: string(j.State), started: j.StartTime > 0, startAt: j.StartTime, ended: j.State.Final()}
		if v.ended {
			v.ok = j.State == api.JobCompleted && j.ExitCode == 0
			if !v.ok {
				v.state += fmt.Sprintf(" (exit code %d)", j.ExitCode)
			}
		}
		if j.IsArrayRecord() && len(j.ArrayPending) > 0 {
			v.ended, v.ok, v.state = false, false, fmt.Sprintf("PENDING (%s of the array not started)", plural(len(j.ArrayPending), "task"))
		}
		return v
	}
	if ref.Task != nil {
		for _, set := range [][]*api.Job{x.running, x.pending} {
			for _, m := range set {
				if m.ArrayJobID == ref.ID && m.IsArrayTask() && m.ArrayTaskID == *ref.Task {
					return one(m)
				}
				if m.ID == ref.ID && m.IsArrayRecord() && m.ArrayPending.Contains(*ref.Task) {
					return depView{known: true, state: "PENDING"}
				}
			}
		}
		if j, ok := lookup(ref.ID); ok && j.ArrayTaskID == *ref.Task {
			return one(j)
		}
		return depView{}
	}
	var members []*api.Job
	for _, set := range [][]*api.Job{x.running, x.pending} {
		for _, m := range set {
			if m.ArrayJobID == ref.ID && m.ID != ref.ID {
				members = append(members, m)
			}
		}
	}
	j, ok := lookup(ref.ID)
	if !ok && len(members) == 0 {
		return depView{}
	}
	v := depView{known: true, ended: true, ok: true, state: "ended"}
	if ok {
		v = one(j)
	}
	if len(members) > 0 {
		v.ended, v.ok = false, false
		v.state = fmt.Sprintf("a job array with %s pending or running", plural(len(members), "task"))
		for _, m := range members {
			if m.StartTime > 0 && (!v.started || m.StartTime < v.startAt) {
				v.started, v.startAt = true, m.StartTime
			}
		}
	}
	return v
}

// depOutcome is a dependency term's outcome for one job, in words.
func (x *explainer) depOutcome(t api.DependencyTerm, v depView) (met, never bool, why string) {
	if !v.known {
		switch t.Type {
		case api.DepAfter, api.DepAfterAny:
			return true, false, "no longer known, so it counts as ended"
		}
		return false, true, "no longer known, so whether it succeeded cannot be told"
	}
	switch t.Type {
	case api.DepAfter:
		switch {
		case v.started && x.now >= v.startAt+int64(t.DelayMins)*60:
			return true, false, "started: satisfied"
		case v.started:
			return false, false, fmt.Sprintf("started at %s; satisfied at %s", x.time(v.startAt), x.time(v.startAt+int64(t.DelayMins)*60))
		case v.ended:
			return true, false, "ended without starting: satisfied"
		}
		return false, false, "not started yet; satisfied once it starts"
	case api.DepAfterAny:
		if v.ended {
			return true, false, "ended: satisfied"
		}
		return false, false, "satisfied once it ends, however it ends"
	case api.DepAfterOK:
		switch {
		case v.ended && v.ok:
			return true, false, "completed: satisfied"
		case v.ended:
			return false, true, "it did not complete successfully, so afterok can never be satisfied"
		}
		return false, false, "satisfied if it completes with exit code 0"
	case api.DepAfterNotOK:
		switch {
		case v.ended && v.ok:
			return false, true, "it completed successfully, so afternotok can never be satisfied"
		case v.ended:
			return true, false, "it failed: satisfied"
		}
		return false, false, "satisfied if it fails, is cancelled or times out"
	}
	return false, true, "unknown dependency type"
}

// dependency explains Dependency and DependencyNeverSatisfied.
func (x *explainer) dependency(j *api.Job, e *api.Explanation) {
	d, err := api.ParseDependency(j.Spec.Dependency)
	if err != nil {
		e.Summary = fmt.Sprintf("Job %d can never start: its dependency %q does not parse (%v). Cancel it with scancel %d and submit it again.", j.ID, j.Spec.Dependency, err, j.ID)
		return
	}
	var waiting, never []string
	for _, t := range d.Terms {
		if t.Type == api.DepSingleton {
			var same []*api.Job
			for _, r := range x.running {
				if r.Spec.Name == j.Spec.Name && r.Spec.User == j.Spec.User {
					same = append(same, r)
				}
			}
			text := fmt.Sprintf("singleton: no other job named %q of user %s is running", j.Spec.Name, j.Spec.User)
			if len(same) > 0 {
				text = fmt.Sprintf("singleton: %s named %q of user %s is running; satisfied once it ends", x.jobsWord(ids(same)), j.Spec.Name, j.Spec.User)
				waiting = append(waiting, fmt.Sprintf("%s (singleton) to end", x.jobsWord(ids(same))))
			}
			e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactDependency, Text: text + ".", Jobs: ids(same)})
			continue
		}
		for _, ref := range t.Jobs {
			v := x.view(ref)
			met, nev, why := x.depOutcome(t, v)
			state := cmp.Or(v.state, "unknown")
			if !v.known {
				state = "unknown"
			}
			term := t.Type + ":" + ref.String()
			if t.DelayMins > 0 {
				term += fmt.Sprintf("+%d", t.DelayMins)
			}
			e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactDependency, Text: fmt.Sprintf("%s: job %s is %s; %s.", term, ref, state, why), Jobs: []api.JobID{ref.ID}})
			switch {
			case nev:
				never = append(never, fmt.Sprintf("job %s is %s", ref, state))
			case !met:
				waiting = append(waiting, fmt.Sprintf("job %s (%s, now %s)", ref, t.Type, state))
			}
		}
	}
	join := " and "
	if d.Any {
		join = " or "
	}
	switch {
	case j.Reason == sched.ReasonDependencyNever || (len(waiting) == 0 && len(never) > 0):
		e.Summary = fmt.Sprintf("Job %d can never start: its dependency %s cannot be satisfied any more, because %s. Cancel it with scancel %d and submit it again.",
			j.ID, j.Spec.Dependency, andList(never), j.ID)
	case len(waiting) > 0:
		e.Summary = fmt.Sprintf("Job %d waits for its dependency %s: it waits for %s.", j.ID, j.Spec.Dependency, strings.Join(waiting, join))
	default:
		e.Summary = fmt.Sprintf("Job %d's dependency %s is satisfied now; the scheduler considers it on its next pass.", j.ID, j.Spec.Dependency)
	}
}

// waiting explains Resources and Priority: a preemption for the job under
// way, a backfill reservation, or what it needs against what is free, with
// the jobs ahead of it and its account's guarantee.
func (x *explainer) waiting(j *api.Job, e *api.Explanation) {
	parts, _ := x.partitions(j)
	acct := x.account(&j.Spec)
	var victims []*api.Job
	for _, r := range x.running {
		if r.Kill != nil && r.Kill.For == j.ID {
			victims = append(victims, r)
		}
	}
	ahead := x.ahead(j, parts)
	switch {
	case len(victims) > 0:
		x.reclaim(j, e, acct, victims)
	case e.Reservation > 0:
		x.reservation(j, e, parts)
	case j.Reason == api.ReasonPriority && len(ahead) > 0:
		e.Summary = fmt.Sprintf("Job %d waits behind %s of higher priority in partition %s: %s. It needs %s.",
			j.ID, plural(len(ahead), "job"), partNames(parts, func(api.Partition) bool { return true }, true), x.ownedList(ahead), gpuWords(&j.Spec))
	default:
		e.Summary = fmt.Sprintf("Job %d waits for resources: it needs %s, and %s.", j.ID, gpuWords(&j.Spec), x.freeSentence(j, parts))
	}
	if len(ahead) > 0 {
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactAhead,
			Text: fmt.Sprintf("Ahead of it in the queue (higher priority, same partition): %s.", x.ownedList(ahead)), Jobs: ids(ahead)})
	}
	if len(victims) == 0 {
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactResources, Text: fmt.Sprintf("It needs %s; %s.", gpuWords(&j.Spec), x.freeSentence(j, parts))})
		for _, p := range parts {
			if f, ok := x.guaranteeFact(acct, p.Name, wantGPUs(j)); ok {
				e.Facts = append(e.Facts, f)
			}
		}
	}
}

// ahead lists the pending jobs that the queue takes before j in one of its
// partitions: higher priority (then earlier submission, lower ID), not
// held or blocked by their own reason.
func (x *explainer) ahead(j *api.Job, parts []api.Partition) []*api.Job {
	names := map[string]bool{}
	for _, p := range parts {
		names[p.Name] = true
	}
	var out []*api.Job
	for _, p := range x.pending {
		if p.ID == j.ID || (p.Reason != api.ReasonPriority && p.Reason != api.ReasonResources) {
			continue
		}
		pp, _ := x.partitions(p)
		if !slices.ContainsFunc(pp, func(q api.Partition) bool { return names[q.Name] }) {
			continue
		}
		if c := cmp.Or(cmp.Compare(j.Priority, p.Priority), cmp.Compare(p.SubmitTime, j.SubmitTime), cmp.Compare(p.ID, j.ID)); c < 0 {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *api.Job) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.SubmitTime, b.SubmitTime), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// free is what a partition has free now for a job's GPU type.
type free struct {
	gpus      int
	best      int
	bestNode  string
	nodesUp   int
	nodesDown int
}

// freeIn counts the healthy GPUs (of the job's type) that no running job
// holds on the usable nodes of partition p.
func (x *explainer) freeIn(j *api.Job, p api.Partition) free {
	var f free
	for _, n := range api.PartitionNodes(p, x.in.Nodes) {
		if n.State == api.NodeDown || n.State == api.NodeDrain {
			f.nodesDown++
			continue
		}
		f.nodesUp++
		used := sched.NodeUsage(n, x.running)
		k := 0
		for _, g := range n.Resources.GPUs {
			if !g.Healthy || (j.Spec.GPUType != "" && !strings.EqualFold(g.Type, j.Spec.GPUType)) {
				continue
			}
			if slices.ContainsFunc(used.GPUs, func(u api.GPU) bool { return u.Index == g.Index }) {
				continue
			}
			k++
		}
		f.gpus += k
		if k > f.best || f.bestNode == "" {
			f.best, f.bestNode = k, n.Name
		}
	}
	return f
}

// freeSentence says what each of the job's partitions has free now.
func (x *explainer) freeSentence(j *api.Job, parts []api.Partition) string {
	typ := "GPUs"
	if j.Spec.GPUType != "" {
		typ = j.Spec.GPUType + " GPUs"
	}
	var s []string
	for _, p := range parts {
		f := x.freeIn(j, p)
		t := fmt.Sprintf("partition %s has %d %s free now", p.Name, f.gpus, typ)
		if f.gpus > 0 && f.bestNode != "" {
			t += fmt.Sprintf(" (at most %d on one node, %s)", f.best, f.bestNode)
		}
		if f.nodesDown > 0 {
			t += fmt.Sprintf(", with %s down or drained", plural(f.nodesDown, "node"))
		}
		s = append(s, t)
	}
	if len(s) == 0 {
		return "none of its partitions exists"
	}
	return andList(s)
}

// guaranteeFact describes the job's account's guarantee in a partition,
// when it has one.
func (x *explainer) guaranteeFact(acct, part string, want int) (api.ExplainFact, bool) {
	ga, g := x.guarantee(acct, part)
	if g <= 0 {
		return api.ExplainFact{}, false
	}
	held, jobs, _ := x.guaranteeUse(ga, part)
	t := fmt.Sprintf("Account %s is guaranteed %s on partition %s and holds %d", ga, plural(g, "GPU"), part, held)
	switch {
	case held+want <= g:
		t += fmt.Sprintf("; this job's %d would keep it within its guarantee, so running jobs of accounts beyond theirs may be preempted for it", want)
	case held >= g:
		t += ": at or beyond its guarantee, so it borrows idle GPUs only and preempts no other account"
	default:
		t += fmt.Sprintf("; this job's %d would take it beyond its guarantee, so it borrows idle GPUs only and preempts no other account", want)
	}
	return api.ExplainFact{Kind: api.FactGuarantee, Text: t + ".", Jobs: ids(jobs)}, true
}

// reclaim explains a job for which running jobs are being preempted.
func (x *explainer) reclaim(j *api.Job, e *api.Explanation, acct string, victims []*api.Job) {
	part := victims[0].Partition
	ga, g := x.guarantee(acct, part)
	held, _, _ := x.guaranteeUse(ga, part)
	stopBy := int64(0)
	for _, v := range victims {
		stopBy = max(stopBy, x.endOf(v))
	}
	// Group the victims by account, in the order they first appear.
	var order []string
	byAcct := map[string][]*api.Job{}
	for _, v := range victims {
		a := x.account(&v.Spec)
		if _, ok := byAcct[a]; !ok {
			order = append(order, a)
		}
		byAcct[a] = append(byAcct[a], v)
	}
	own := len(order) == 1 && order[0] == acct
	var groups []string
	for _, a := range order {
		vga, vg := x.guarantee(a, part)
		vheld, _, stopping := x.guaranteeUse(vga, part)
		tag := "account " + a
		if vheld+stopping > vg {
			tag += ", borrowing"
		}
		groups = append(groups, fmt.Sprintf("%s (%s)", x.jobsWord(ids(byAcct[a])), tag))
	}
	verb, pronoun := "are", "they are"
	if len(victims) == 1 {
		verb, pronoun = "is", "it is"
	}
	if own {
		e.Summary = fmt.Sprintf("Job %d waits for %s of its own account %s, of lower --priority, to stop: %s being preempted for it and %s by %s.",
			j.ID, x.jobsWord(ids(victims)), acct, pronoun, stopWord(len(victims)), x.time(stopBy))
	} else {
		e.Summary = fmt.Sprintf("Job %d waits for its account %s to take back its guarantee on partition %s: it holds %d of %d guaranteed GPUs; %s %s being preempted for it and %s by %s.",
			j.ID, ga, part, held, g, andList(groups), verb, stopWord(len(victims)), x.time(stopBy))
	}
	if g > 0 {
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactGuarantee,
			Text: fmt.Sprintf("Account %s is guaranteed %s on partition %s, holds %d and this job needs %d.", ga, plural(g, "GPU"), part, held, wantGPUs(j))})
	}
	for _, v := range victims {
		k := v.Kill
		grace := int64(k.GraceSecs)
		if grace <= 0 {
			grace = sched.DefaultKillGraceSecs
		}
		t := fmt.Sprintf("Job %d (%s/%s, %s on %s) got its checkpoint signal %s at %s; its grace of %s ends at %s.",
			v.ID, v.Spec.User, x.account(&v.Spec), plural(gpusOf(v), "GPU"), strings.Join(v.NodeNames(), ","), cmp.Or(k.Signal, v.CheckpointSignal()),
			x.time(k.RequestedAt), api.FormatDuration(grace), x.time(x.endOf(v)))
		if k.EndGrace {
			t = fmt.Sprintf("Job %d (%s/%s, %s on %s) saved its checkpoint and is stopping now.", v.ID, v.Spec.User, x.account(&v.Spec),
				plural(gpusOf(v), "GPU"), strings.Join(v.NodeNames(), ","))
		}
		e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactReclaim, Text: t, Jobs: []api.JobID{v.ID}})
	}
}

// stopWord is "stops" or "stop".
func stopWord(n int) string {
	if n == 1 {
		return "stops"
	}
	return "stop"
}

// reservation explains a job with a backfill reservation: the running jobs
// whose ends (their time limits) it waits for.
func (x *explainer) reservation(j *api.Job, e *api.Explanation, parts []api.Partition) {
	names := map[string]bool{}
	for _, p := range parts {
		names[p.Name] = true
	}
	var ends []*api.Job
	for _, r := range x.running {
		// A job being stopped for another pending job frees its resources
		// for that job, not for this one.
		if !names[r.Partition] || (r.Kill != nil && r.Kill.For != 0 && r.Kill.For != j.ID) {
			continue
		}
		if end := x.endOf(r); end > 0 && end <= j.ExpectedStart && (j.Spec.GPUs == 0 || gpusOf(r) > 0) {
			ends = append(ends, r)
		}
	}
	// The latest ends first: the last of them is what the reservation waits for.
	slices.SortStableFunc(ends, func(a, b *api.Job) int { return cmp.Compare(x.endOf(b), x.endOf(a)) })
	if len(ends) > x.max {
		ends = ends[:x.max]
	}
	s := fmt.Sprintf("Job %d has a backfill reservation to start at %s (in %s)", j.ID, x.time(j.ExpectedStart), api.FormatDuration(max(j.ExpectedStart-x.now, 0)))
	switch len(ends) {
	case 0:
	case 1:
		s += fmt.Sprintf(", when running job %d reaches its time limit", ends[0].ID)
	default:
		s += fmt.Sprintf(", when running %s reach their time limits", x.jobsWord(ids(ends)))
	}
	e.Summary = s + fmt.Sprintf("; it needs %s. Jobs that end before their time limits bring it forward.", gpuWords(&j.Spec))
	var lines []string
	for _, r := range ends {
		lines = append(lines, fmt.Sprintf("%d (%s/%s, %s, ends %s)", r.ID, r.Spec.User, x.account(&r.Spec), plural(gpusOf(r), "GPU"), x.time(x.endOf(r))))
	}
	t := fmt.Sprintf("Reserved start %s.", x.time(j.ExpectedStart))
	switch len(lines) {
	case 0:
	case 1:
		t = fmt.Sprintf("Reserved start %s, after running job %s.", x.time(j.ExpectedStart), lines[0])
	default:
		t = fmt.Sprintf("Reserved start %s, after running jobs %s.", x.time(j.ExpectedStart), andList(lines))
	}
	e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactReservation, Text: t, Jobs: ids(ends)})
}

// Accuracy measures the recorded first estimates (Job.FirstEstimate)
// against the actual starts of the jobs that had one and started: the
// first run's start, which is what the estimate made while the job had
// never run was about.
func Accuracy(jobs []*api.Job) api.EstimateAccuracy {
	var acc api.EstimateAccuracy
	var errs []int64
	for _, j := range jobs {
		e := j.FirstEstimate
		if e == nil || len(j.Runs) == 0 || j.Runs[0].StartTime == 0 {
			continue
		}
		start := j.Runs[0].StartTime
		acc.Jobs++
		if start >= e.MadeAt && (e.P90 == 0 || start <= e.P90) {
			acc.InRange++
		}
		if e.P50 > 0 {
			acc.WithP50++
			d := start - e.P50
			if d < 0 {
				d = -d
			}
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		if n := len(errs); n%2 == 1 {
			acc.MedianAbsErrorSecs = errs[n/2]
		} else {
			acc.MedianAbsErrorSecs = (errs[n/2-1] + errs[n/2]) / 2
		}
	}
	return acc
}
