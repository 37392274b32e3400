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

// Why a pending job is held by something other than the queue: a hold, a
// begin time, its array's throttle, its partition, a limit.

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
