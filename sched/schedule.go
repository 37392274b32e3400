package sched

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// run makes the plan.
func (ps *pass) run() api.Plan {
	var deferred []*entry
	for _, e := range ps.entries {
		if !ps.process(e, true) {
			deferred = append(deferred, e)
		}
	}
	for _, e := range deferred {
		ps.process(e, false)
	}
	ps.plan.Pending = make([]api.PendingInfo, 0, len(ps.entryStore))
	for i := range ps.entryStore {
		e := &ps.entryStore[i]
		if !e.remaining() {
			continue
		}
		prio := priorityValue(e.prio)
		if e.held {
			prio = 0
		}
		ps.plan.Pending = append(ps.plan.Pending, api.PendingInfo{JobID: e.job.ID, Reason: cmp.Or(e.reason, api.ReasonPriority),
			Priority: prio, ExpectedStart: e.expected})
	}
	byID := func(a, b api.PendingInfo) int { return cmp.Compare(a.JobID, b.JobID) }
	if !slices.IsSortedFunc(ps.plan.Pending, byID) {
		slices.SortFunc(ps.plan.Pending, byID)
	}
	return ps.plan
}

// sortQueue puts the pending entries in the order they are considered:
// partition tier, multifactor priority, then on equal values the job's own
// --priority, submit time, job ID (QueuePriority); submit time
// and ID (QueueFCFS); time limit, submit time and ID (QueueSJF).
func (ps *pass) sortQueue() {
	// Sorting compact keys by value is much faster than chasing pointers.
	type key struct {
		a   int64   // tier (priority order) or time limit (sjf), else 0
		b   float64 // -priority (priority order)
		sp  int     // -Spec.Priority (priority order): breaks ties inside an account
		sub int64
		id  api.JobID
		e   *entry
	}
	keys := make([]key, len(ps.entries))
	for i, e := range ps.entries {
		k := key{sub: e.job.SubmitTime, id: e.job.ID, e: e}
		switch ps.set.queueOrder {
		case api.QueueFCFS:
		case api.QueueSJF:
			k.a = e.job.Spec.TimeLimitSecs
			if e.ref != nil {
				k.a = e.job.Spec.TimeLimitIn(e.ref.cfg)
			}
		default:
			k.a, k.b, k.sp = -int64(e.tier), -e.prio, -e.job.Spec.Priority
		}
		keys[i] = k
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b), cmp.Compare(x.sp, y.sp), cmp.Compare(x.sub, y.sub), cmp.Compare(x.id, y.id))
	})
	for i, k := range keys {
		ps.entries[i] = k.e
	}
}

// process schedules one entry: starts (several for a job array), or a
// preemption, or a reservation, or a reason to wait. In phase 1 only jobs
// within their account's guarantee are taken (in the partitions where they
// are); process returns false to defer the entry to phase 2.
func (ps *pass) process(e *entry, phase1 bool) bool {
	if e.reason != "" {
		return true
	}
	for e.remaining() {
		parts := e.parts
		if phase1 {
			parts = ps.guaranteedParts(e)
			if len(parts) == 0 {
				return false
			}
		}
		if r := ps.dynamicReason(e); r != "" {
			e.reason = r
			return true
		}
		if ps.set.bfMode == api.BackfillNone {
			parts = slices.DeleteFunc(slices.Clone(parts), func(p *partState) bool { return p.blocked })
			if len(parts) == 0 {
				e.reason = api.ReasonPriority
				return true
			}
		}
		if ps.blockedAny && !e.tested {
			if ps.set.maxJobs > 0 && ps.tested >= ps.set.maxJobs {
				e.reason = api.ReasonPriority
				return true
			}
			ps.tested++
			e.tested = true
		}
		if !ps.tryStart(e, parts) {
			ps.block(e, parts, phase1)
			return true
		}
	}
	return true
}

// guaranteedParts returns the job's partitions in which its next start
// keeps its account within its guarantee.
func (ps *pass) guaranteedParts(e *entry) []*partState {
	g := e.totalGPUs()
	if g == 0 || !e.ap.guaranteed {
		return nil
	}
	var out []*partState
	for _, p := range e.parts {
		ga, G := ps.set.guarantee(e.acct, p.cfg.Name)
		used := ps.used[[2]string{ga, p.cfg.Name}]
		if p == e.promisedIn {
			used -= g // counted already
		}
		if G > 0 && used+g <= G {
			out = append(out, p)
		}
	}
	return out
}

// dynamicReason checks what changes as jobs start: singleton dependencies,
// account and user limits, and the job array throttle.
func (ps *pass) dynamicReason(e *entry) string {
	j := e.job
	if e.singleton {
		if ps.singletons == nil {
			ps.singletons = map[[2]string]bool{}
			for _, r := range ps.running {
				ps.singletons[[2]string{r.job.Spec.Name, r.job.Spec.User}] = true
			}
		}
		if ps.singletons[[2]string{j.Spec.Name, j.Spec.User}] {
			return api.ReasonDependency
		}
	}
	if ps.set.limits {
		if r := ps.limitReason(e); r != "" {
			return r
		}
	}
	if e.throttle > 0 && ps.arrayRunning[e.arrayID] >= e.throttle {
		return ReasonArrayTaskLimit
	}
	return ""
}

// limitReason checks the account and user limits of the job's account and
// its ancestors: the association's own limits first, then the accounts'
// per-user limits, then account limits.
func (ps *pass) limitReason(e *entry) string {
	g, user := e.totalGPUs(), e.job.Spec.User
	if len(e.ap.chain) > 0 {
		// The association's own limits (sacctmgr's MaxJobs and GrpTRES on a user).
		k := [2]string{e.ap.chain[0], user}
		for _, u := range e.ap.info[0].cfg.Users {
			switch {
			case u.Name != user:
			case u.MaxRunningJobs > 0 && ps.userJobs[k]+1 > u.MaxRunningJobs:
				return ReasonAssocMaxJobs
			case u.MaxGPUs > 0 && g > 0 && ps.userGPUs[k]+g > u.MaxGPUs:
				return ReasonAssocGrpGRES
			}
		}
	}
	for i, a := range e.ap.chain {
		c := e.ap.info[i].cfg
		k := [2]string{a, user}
		switch {
		case c.MaxRunningJobsPerUser > 0 && ps.userJobs[k]+1 > c.MaxRunningJobsPerUser:
			return ReasonAssocMaxJobs
		case c.MaxGPUsPerUser > 0 && g > 0 && ps.userGPUs[k]+g > c.MaxGPUsPerUser:
			return ReasonAssocGrpGRES
		}
	}
	for i, a := range e.ap.chain {
		c := e.ap.info[i].cfg
		switch {
		case c.MaxRunningJobs > 0 && ps.acctJobs[a]+1 > c.MaxRunningJobs:
			return ReasonAssocGrpJobs
		case c.MaxGPUs > 0 && g > 0 && ps.acctGPUs[a]+g > c.MaxGPUs:
			return ReasonAssocGrpGRES
		}
	}
	return ""
}

// tryStart starts the entry's next job (or task) now in the first of parts
// where it fits.
func (ps *pass) tryStart(e *entry, parts []*partState) bool {
	for _, p := range parts {
		nd, dur := e.needIn(p), e.durIn(p)
		var nodes []*nodeState
		if e.constrained() {
			nodes = ps.placeConstrained(p, nd, e, dur)
		} else {
			nodes = ps.placeNow(p, nd, e.nodes, dur, e.idx, !e.promised)
		}
		if nodes != nil {
			ps.start(e, p, nd, dur, nodes)
			return true
		}
	}
	return false
}

// placeNow finds the nodes for a job of owner needing nd on each of k nodes
// in partition p, from now for dur seconds: the nodes with the fewest free
// GPUs of its type that fit (then node order), beside every claim and
// alternative mark. useCache allows the failed-shape cache (not for a job
// with promised resources, which others cannot use).
func (ps *pass) placeNow(p *partState, nd need, k int, dur int64, owner int32, useCache bool) []*nodeState {
	pl := p.pools[strings.ToLower(nd.gtype)]
	if pl == nil || nd.gpu >= len(pl.buckets) || pl.atLeast(nd.gpu) < k {
		return nil
	}
	if useCache && pl.dominatedFailure(k, nd, dur) {
		return nil
	}
	end := min(ps.now+dur, forever)
	chosen := make([]*nodeState, 0, k)
	timeDep := false
	for b := nd.gpu; b < len(pl.buckets) && len(chosen) < k; b++ {
		if pl.counts[b] == 0 {
			continue
		}
		pl.each(b, func(pos int32) bool {
			x := p.members[pos]
			if x.cpuFree < nd.cpu || x.memFree < nd.mem || x.excl > 0 {
				return true
			}
			if x.future() && !x.fits(nd, ps.now, end, owner) {
				timeDep = true
				return true
			}
			chosen = append(chosen, x)
			return len(chosen) < k
		})
	}
	if len(chosen) < k {
		if useCache {
			f := failedShape{nodes: k, nd: nd}
			if timeDep {
				f.dur = dur
			}
			pl.recordFailure(f)
		}
		return nil
	}
	return chosen
}

// constrained reports whether a job chooses its nodes (sbatch -w, -x,
// --exclusive, or nodes a retry avoids): it is placed by placeConstrained.
func (e *entry) constrained() bool {
	s := &e.job.Spec
	return len(s.NodeList) > 0 || len(e.exclude) > 0 || s.Exclusive
}

// placeConstrained finds the nodes for a job that chooses them, now, for
// dur seconds: every node of its --nodelist (in the partition, fitting),
// then others in node order up to its node count, none of its --exclude
// or the nodes its retry avoids (entry.exclude), none running an --exclusive job, and for an --exclusive job only nodes
// running nothing. Nil when they do not all fit. It uses no pool or
// failed-shape cache: such jobs are few, and their shape says nothing
// about other jobs.
func (ps *pass) placeConstrained(p *partState, nd need, e *entry, dur int64) []*nodeState {
	spec := &e.job.Spec
	end := min(ps.now+dur, forever)
	fits := func(x *nodeState) bool {
		if !x.usable || x.excl > 0 || slices.Contains(e.exclude, x.n.Name) {
			return false
		}
		if spec.Exclusive && (x.cpuFree != x.n.Resources.CPUs || x.freeAll != x.capAll || len(x.claims) > 0) {
			return false
		}
		return x.cpuFree >= nd.cpu && x.memFree >= nd.mem && x.fits(nd, ps.now, end, e.idx)
	}
	chosen := make([]*nodeState, 0, e.nodes)
	for _, name := range spec.NodeList {
		i := slices.IndexFunc(p.members, func(x *nodeState) bool { return x.n.Name == name })
		if i < 0 || !fits(p.members[i]) {
			return nil
		}
		chosen = append(chosen, p.members[i])
	}
	for _, x := range p.members {
		if len(chosen) >= e.nodes {
			break
		}
		if !slices.Contains(chosen, x) && fits(x) {
			chosen = append(chosen, x)
		}
	}
	if len(chosen) < e.nodes {
		return nil
	}
	return chosen
}

// start records a start of the entry on nodes of partition p.
func (ps *pass) start(e *entry, p *partState, nd need, dur int64, nodes []*nodeState) {
	s := api.Start{JobID: e.job.ID, Partition: p.cfg.Name, Priority: priorityValue(e.prio)}
	if e.arrayRec {
		task := e.tasks[e.next]
		s.ArrayTaskID = &task
	}
	end := min(ps.now+dur, forever)
	for _, x := range nodes {
		picks := x.pickGPUs(nd.gtype, nd.gpu)
		a := api.NodeAlloc{Node: x.n.Name, CPUs: nd.cpu, MemoryMB: nd.mem}
		for _, i := range picks {
			a.GPUs = append(a.GPUs, x.gpus[i].Index)
			a.GPUUUIDs = append(a.GPUUUIDs, x.gpus[i].UUID)
		}
		oldAll, oldT := x.freeAll, slices.Clone(x.freeT)
		x.occupy(a, end)
		if e.job.Spec.Exclusive {
			x.excl++
		}
		ps.reindex(x, oldAll, oldT)
		t := int8(-1)
		if len(picks) > 0 {
			t = x.gpuT[picks[0]]
		}
		ps.addEvent(x, end, len(picks), t)
		s.Alloc = append(s.Alloc, a)
	}
	ps.plan.Starts = append(ps.plan.Starts, s)
	if e.arrayRec {
		e.next++
	} else {
		e.started = true
	}
	g := e.totalGPUs()
	ps.countStart(e.acct, e.job.Spec.User, g)
	ga, _ := ps.set.guarantee(e.acct, p.cfg.Name)
	if !e.promised {
		ps.used[[2]string{ga, p.cfg.Name}] += g
	}
	if e.arrayID != 0 {
		ps.arrayRunning[e.arrayID]++
	}
	if ps.singletons != nil {
		ps.singletons[[2]string{e.job.Spec.Name, e.job.Spec.User}] = true
	}
	e.reason = ""
}

// block handles an entry that cannot start now: it waits for Resources
// (the first such job in its partitions) or Priority, preempts for it when
// the rules allow, and otherwise reserves its earliest start while the
// backfill mode's budget lasts.
func (ps *pass) block(e *entry, parts []*partState, phase1 bool) {
	e.reason = api.ReasonResources
	for _, p := range parts {
		if p.waiting {
			e.reason = api.ReasonPriority
		}
	}
	for _, p := range parts {
		p.waiting = true
		if ps.set.bfMode == api.BackfillNone {
			p.blocked = true
		}
	}
	ps.blockedAny = true
	if !e.promised && e.gpu > 0 {
		var ok bool
		if phase1 {
			ok = ps.preempt(e, parts, PreemptReclaim)
		} else {
			ok = ps.preempt(e, parts, PreemptPriority)
		}
		if ok {
			return
		}
	}
	if ps.set.bfMode == api.BackfillNone {
		return
	}
	budget := e.promised
	for _, p := range parts {
		if p.resvLeft != 0 {
			budget = true
		}
	}
	if !budget {
		return
	}
	var best *reservation
	for _, p := range parts {
		nd, dur := e.needIn(p), e.durIn(p)
		r, ok := ps.earliest(p, nd, e.nodes, dur, e.idx, ps.now+ps.set.window, e.pick())
		if ok && (best == nil || r.at < best.at) {
			best = r
		}
	}
	if best == nil {
		return
	}
	if e.promised {
		// The reservation (on the freed resources, which it may use)
		// replaces the open-ended promise: both would count the same
		// GPUs twice for every later job's reservation.
		for _, x := range e.promiseNodes {
			x.claims = slices.DeleteFunc(x.claims, func(c claim) bool { return c.owner == e.idx && c.end == forever })
		}
	}
	ps.hold(best, e.idx)
	e.expected = best.at
	if !e.promised {
		for _, p := range parts {
			if p.resvLeft > 0 {
				p.resvLeft--
			}
		}
	}
}
