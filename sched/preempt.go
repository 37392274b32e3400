package sched

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// maxPreemptSearches bounds the victim searches of one pass: a job that
// needs one beyond it waits for the next pass.
const maxPreemptSearches = 64

// preemptKey identifies a preemption attempt that failed in this pass:
// victims only become fewer, so the same attempt fails again.
type preemptKey struct {
	reason string
	acct   string
	prio   int
	part   int
	shape  shapeKey
}

// preempt tries to make room for entry e in one of parts by stopping
// running jobs, by reclaim (e's account is below its guarantee: victims
// from accounts above theirs) or priority (e's account is at or above its
// guarantee: victims among its own jobs of lower --priority). It plans the
// victims, promises their resources to e and returns true, or changes
// nothing and returns false.
func (ps *pass) preempt(e *entry, parts []*partState, reason string) bool {
	g := e.totalGPUs()
	for _, p := range parts {
		ga, G := ps.set.guarantee(e.acct, p.cfg.Name)
		used := ps.used[[2]string{ga, p.cfg.Name}]
		var eligible func(r *runJob) bool
		var slack map[string]int
		switch reason {
		case PreemptReclaim:
			if G == 0 || used+g > G {
				continue
			}
			slack = map[string]int{}
			eligible = func(r *runJob) bool {
				if r.gacct == ga {
					return false
				}
				if _, ok := slack[r.gacct]; !ok {
					_, rg := ps.set.guarantee(r.gacct, p.cfg.Name)
					slack[r.gacct] = ps.used[[2]string{r.gacct, p.cfg.Name}] - rg
				}
				return slack[r.gacct] > 0
			}
		case PreemptPriority:
			if G == 0 || used < G {
				continue
			}
			prio := e.job.Spec.Priority
			eligible = func(r *runJob) bool { return r.gacct == ga && r.job.Spec.Priority < prio }
		}
		nd := e.needIn(p)
		key := preemptKey{reason: reason, acct: ga, prio: e.job.Spec.Priority, part: p.idx, shape: shapeKey{e.nodes, nd}}
		if ps.preemptFails[key] || ps.preemptSearches >= maxPreemptSearches {
			continue
		}
		ps.preemptSearches++
		if ps.preemptIn(e, p, nd, reason, ga, eligible, slack) {
			return true
		}
		ps.preemptFails[key] = true
	}
	return false
}

// victimOK reports whether a running job may be preempted now: its
// preempt mode is not off, it ran its minimum run time, and it is not
// already being stopped or chosen.
func (ps *pass) victimOK(r *runJob) bool {
	return r.preemptable && !r.victim && r.gpus > 0
}

// workLost is what preempting r now would lose: its GPUs x the time since
// its last checkpoint, or since its start when it checkpointed before it
// (or never).
func (ps *pass) workLost(r *runJob) int64 {
	return int64(r.gpus) * max(ps.now-max(r.job.StartTime, r.job.LastCheckpoint), 0)
}

// victimsIn returns the running jobs of partition p that may ever be
// preempted in this pass, in the order victims are taken: lowest
// --priority first, then the least work lost (VictimWorkLost: GPUs x time
// since the last checkpoint or the start) or the least run time lost
// (VictimRuntime: the latest start), then the newest job. With acct, only
// those whose guarantee account is acct.
func (ps *pass) victimsIn(p *partState, acct string) []*runJob {
	if p.victims == nil {
		p.victims = map[string][]*runJob{}
		type key struct {
			prio int
			cost int64 // lower is taken first
			id   api.JobID
			r    *runJob
		}
		var keys []key
		for _, r := range p.running {
			if r.preemptable && r.gpus > 0 {
				cost := -r.job.StartTime
				if ps.set.cfg.Scheduling.VictimOrder != api.VictimRuntime {
					cost = ps.workLost(r)
				}
				keys = append(keys, key{r.job.Spec.Priority, cost, r.job.ID, r})
			}
		}
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.prio, b.prio), cmp.Compare(a.cost, b.cost), cmp.Compare(b.id, a.id))
		})
		all := make([]*runJob, len(keys))
		for i, k := range keys {
			all[i] = k.r
		}
		p.victims[""] = all
		for _, r := range all {
			p.victims["="+r.gacct] = append(p.victims["="+r.gacct], r)
		}
	}
	if acct == "" {
		return p.victims[""]
	}
	return p.victims["="+acct]
}

// byLossPerGPU orders victim candidates for a job that needs gpus GPUs a
// node by --priority, then by the work each loses per GPU it frees toward
// that need (GPUs x time since its checkpoint / min(GPUs, gpus)): the
// greedy rule for covering a need at the least total cost. Ordering by
// total work lost instead takes many small jobs to free a node, and lost
// more GPU-hours on the Philly trace than the latest-start rule
// (docs/sim/estimates.md). Ties keep the victimsIn order.
func (ps *pass) byLossPerGPU(cands []*runJob, gpus int) {
	freed := func(r *runJob) int64 {
		if gpus <= 0 {
			return int64(r.gpus)
		}
		return int64(max(min(r.gpus, gpus), 1))
	}
	slices.SortStableFunc(cands, func(a, b *runJob) int {
		return cmp.Or(cmp.Compare(a.job.Spec.Priority, b.job.Spec.Priority),
			cmp.Compare(ps.workLost(a)*freed(b), ps.workLost(b)*freed(a)))
	})
}

// graceOf is the grace time a preempted job will get: its QOS's, else its
// partition's, else DefaultKillGraceSecs.
func (ps *pass) graceOf(r *runJob) int64 {
	if q := ps.set.qos[r.job.Spec.QOS]; q != nil && q.GraceSecs > 0 {
		return int64(q.GraceSecs)
	}
	if r.part != nil && r.part.cfg.GraceSecs > 0 {
		return int64(r.part.cfg.GraceSecs)
	}
	return DefaultKillGraceSecs
}

// preemptIn chooses victims in partition p among the eligible running jobs
// so that e fits: candidates in victim order (victimsIn, then for
// VictimWorkLost byLossPerGPU) are added until e fits on its nodes, then
// each is dropped again, most valuable first (the most work lost, or for
// VictimRuntime the last taken), if e still fits without it. With slack
// (reclaim), an account's victims never take it below its guarantee.
func (ps *pass) preemptIn(e *entry, p *partState, nd need, reason, acct string, eligible func(*runJob) bool, slack map[string]int) bool {
	pl := p.pools[strings.ToLower(nd.gtype)]
	if pl == nil {
		return false
	}
	list := ps.victimsIn(p, "")
	if reason == PreemptPriority {
		list = ps.victimsIn(p, acct)
	}
	var cands []*runJob
	for _, r := range list {
		if ps.victimOK(r) && eligible(r) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return false
	}
	workLost := ps.set.cfg.Scheduling.VictimOrder != api.VictimRuntime
	if workLost {
		ps.byLossPerGPU(cands, nd.gpu)
	}
	// A node may take part when nothing else is planned on it.
	usable := func(x *nodeState) bool {
		if x == nil || !ps.canHost(x, nd) || !slices.ContainsFunc(x.parts, func(pp partPos) bool { return pp.p == p }) {
			return false
		}
		for _, c := range x.claims {
			if c.owner != e.idx {
				return false
			}
		}
		for _, a := range x.alts {
			if a.owner != e.idx {
				return false
			}
		}
		return true
	}
	sim := map[*nodeState]*avail{}
	simOf := func(x *nodeState) *avail {
		if a := sim[x]; a != nil {
			return a
		}
		ti := x.typeIdx(nd.gtype)
		a := &avail{cpu: x.cpuFree, mem: x.memFree, gAll: x.freeAll, gT: x.freeOf(ti)}
		sim[x] = a
		return a
	}
	// Nodes that fit without any victim (fewer than e.nodes, or e would
	// have started).
	fitting := 0
	for b := nd.gpu; b < len(pl.buckets) && fitting < e.nodes; b++ {
		if pl.counts[b] == 0 {
			continue
		}
		pl.each(b, func(pos int32) bool {
			x := p.members[pos]
			if usable(x) && simOf(x).fits(nd) {
				fitting++
			}
			return fitting < e.nodes
		})
	}
	apply := func(r *runJob, sign int) {
		for i, a := range r.allocs {
			x := r.nodes[i]
			if !usable(x) {
				continue
			}
			s := simOf(x)
			was := s.fits(nd)
			s.cpu += sign * a.CPUs
			s.mem += int64(sign) * a.MemoryMB
			ti := x.typeIdx(nd.gtype)
			for _, idx := range a.GPUs {
				k := x.gpuPos(idx)
				if k < 0 {
					continue
				}
				s.gAll += sign
				if ti < 0 || int(x.gpuT[k]) == ti {
					s.gT += sign
				}
			}
			switch now := s.fits(nd); {
			case now && !was:
				fitting++
			case was && !now:
				fitting--
			}
		}
	}
	var chosen []*runJob
	for _, r := range cands {
		if fitting >= e.nodes {
			break
		}
		if slack != nil && slack[r.gacct] < r.gpus {
			continue
		}
		apply(r, +1)
		if slack != nil {
			slack[r.gacct] -= r.gpus
		}
		chosen = append(chosen, r)
	}
	if fitting < e.nodes || len(chosen) == 0 {
		return false
	}
	// Minimize: drop each victim, most valuable first (the most work lost,
	// or the last taken), when e still fits without it.
	drop := slices.Clone(chosen)
	slices.Reverse(drop)
	if workLost {
		slices.SortStableFunc(drop, func(a, b *runJob) int { return cmp.Compare(ps.workLost(b), ps.workLost(a)) })
	}
	for _, r := range drop {
		apply(r, -1)
		if fitting >= e.nodes {
			chosen = slices.DeleteFunc(chosen, func(x *runJob) bool { return x == r })
			continue
		}
		apply(r, +1)
	}
	if len(chosen) == 0 {
		return false
	}
	// The nodes e will take: the fitting ones with the fewest GPUs left.
	var nodes []*nodeState
	for x, a := range sim {
		if a.fits(nd) {
			nodes = append(nodes, x)
		}
	}
	slices.SortFunc(nodes, func(a, b *nodeState) int {
		return cmp.Or(cmp.Compare(sim[a].gT, sim[b].gT), cmp.Compare(a.idx, b.idx))
	})
	nodes = nodes[:e.nodes]
	at := ps.now + 1
	ga, _ := ps.set.guarantee(e.acct, p.cfg.Name)
	for _, r := range chosen {
		r.victim = true
		at = max(at, ps.now+ps.graceOf(r))
		ps.plan.Preemptions = append(ps.plan.Preemptions, api.Preemption{JobID: r.job.ID, Reason: reason, For: e.job.ID})
		ps.used[[2]string{r.gacct, p.cfg.Name}] -= r.gpus
	}
	for _, x := range nodes {
		x.claims = append(x.claims, claim{owner: e.idx, start: at, end: forever, cpu: nd.cpu, mem: nd.mem, gpu: nd.gpu})
	}
	ps.used[[2]string{ga, p.cfg.Name}] += e.totalGPUs()
	e.promised, e.promisedIn = true, p
	e.expected = at
	return true
}
