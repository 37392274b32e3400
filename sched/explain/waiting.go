package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
)

// Waiting for resources: the jobs ahead, what is free, the guarantee and
// the reclaim for it, the backfill reservation.

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
