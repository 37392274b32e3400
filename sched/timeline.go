package sched

import (
	"cmp"
	"slices"
	"strings"
)

// event is a moment at which a node may become able to host more: a job on
// it ends, a claim on it ends, or an alternative mark on it passes.
type event struct {
	at int64
	x  int32 // node index
}

func compareEvents(a, b event) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.x, b.x)) }

// timeline is a partition's events in time order. It is built on first use
// in a pass; events added later wait in add until the next sweep merges them.
type timeline struct {
	built bool
	ev    []event
	add   []event
}

// timeline returns the partition's timeline, built and up to date.
func (ps *pass) timeline(p *partState) *timeline {
	tl := &p.tl
	if !tl.built {
		tl.built = true
		for _, x := range p.members {
			if !x.usable {
				continue
			}
			for _, r := range x.rel {
				tl.ev = append(tl.ev, event{r.at, x.idx})
			}
			for _, c := range x.claims {
				if c.end < forever {
					tl.ev = append(tl.ev, event{c.end, x.idx})
				}
			}
			for _, a := range x.alts {
				tl.ev = append(tl.ev, event{a.at + 1, x.idx})
			}
		}
		slices.SortFunc(tl.ev, compareEvents)
		return tl
	}
	if len(tl.add) > 0 {
		slices.SortFunc(tl.add, compareEvents)
		merged := make([]event, 0, len(tl.ev)+len(tl.add))
		i, j := 0, 0
		for i < len(tl.ev) && j < len(tl.add) {
			if compareEvents(tl.ev[i], tl.add[j]) <= 0 {
				merged = append(merged, tl.ev[i])
				i++
			} else {
				merged = append(merged, tl.add[j])
				j++
			}
		}
		merged = append(merged, tl.ev[i:]...)
		merged = append(merged, tl.add[j:]...)
		tl.ev, tl.add = merged, tl.add[:0]
	}
	return tl
}

// addEvent records a new event on node x in the built timelines of its
// partitions.
func (ps *pass) addEvent(x *nodeState, at int64) {
	if at >= forever {
		return
	}
	for _, pp := range x.parts {
		if pp.p.tl.built {
			pp.p.tl.add = append(pp.p.tl.add, event{at, x.idx})
		}
	}
}

// reservation is where and when a blocked job is expected to start.
type reservation struct {
	at    int64
	p     *partState
	nodes []*nodeState
	alts  []*nodeState
	base  []avail // what each alternative had at `at`
	nd    need
	dur   int64
}

// earliest finds the earliest time after now, up to horizon, at which a job
// of owner needing nd on each of k nodes fits partition p for dur seconds,
// and the nodes it would take then: the k feasible nodes with the fewest
// GPUs of its type available at that time (ties: node order), the same rule
// as an immediate start. The other feasible nodes at that time are the
// alternatives.
//
// A node can only become feasible at one of its events: free resources grow
// only when a job or a claim on it ends, and an alternative mark stops
// mattering just after its time. So the sweep walks the partition's events
// in time order and checks only the nodes with an event at each time (a gang
// also rechecks the nodes it found feasible before).
func (ps *pass) earliest(p *partState, nd need, k int, dur int64, owner int32, horizon int64) (*reservation, bool) {
	pl := p.pools[strings.ToLower(nd.gtype)]
	if pl == nil {
		return nil, false
	}
	tl := ps.timeline(p)
	i, _ := slices.BinarySearchFunc(tl.ev, ps.now+1, func(e event, at int64) int { return cmp.Compare(e.at, at) })
	ps.stamp++
	stamp := ps.stamp
	var cand []*nodeState
	for i < len(tl.ev) {
		at := tl.ev[i].at
		if at > horizon {
			break
		}
		var fresh []*nodeState
		for ; i < len(tl.ev) && tl.ev[i].at == at; i++ {
			x := ps.nodes[tl.ev[i].x]
			if x.seen == stamp || !ps.canHost(x, nd) {
				continue
			}
			if x.fits(nd, at, at+dur, owner) {
				x.seen = stamp
				fresh = append(fresh, x)
			}
		}
		if k == 1 {
			if len(fresh) > 0 {
				return ps.choose(p, fresh, nd, 1, at, dur, owner), true
			}
			continue
		}
		if len(fresh) == 0 {
			continue
		}
		cand = append(cand, fresh...)
		if len(cand) < k {
			continue
		}
		kept := cand[:0]
		for _, x := range cand {
			if x.fits(nd, at, at+dur, owner) {
				kept = append(kept, x)
			} else {
				x.seen = 0
			}
		}
		cand = kept
		if len(cand) >= k {
			return ps.choose(p, slices.Clone(cand), nd, k, at, dur, owner), true
		}
	}
	return nil, false
}

// canHost reports whether a node could ever host a job needing nd: usable,
// with enough CPUs, memory and GPUs of the type when empty.
func (ps *pass) canHost(x *nodeState, nd need) bool {
	if !x.usable || x.n.Resources.CPUs < nd.cpu || x.n.Resources.MemoryMB < nd.mem {
		return false
	}
	ti := x.typeIdx(nd.gtype)
	return ti != -2 && x.capOf(ti) >= nd.gpu
}

// choose picks the k best of the feasible nodes at time at (fewest GPUs of
// the job's type available, then node order); the rest are alternatives.
func (ps *pass) choose(p *partState, feasible []*nodeState, nd need, k int, at, dur int64, owner int32) *reservation {
	type keyed struct {
		x   *nodeState
		a   avail
		key int
	}
	ks := make([]keyed, len(feasible))
	for i, x := range feasible {
		a := x.availAt(at, x.typeIdx(nd.gtype), owner)
		ks[i] = keyed{x, a, a.gT}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.x.idx, b.x.idx)) })
	r := &reservation{at: at, p: p, nd: nd, dur: dur}
	for i, kx := range ks {
		if i < k {
			r.nodes = append(r.nodes, kx.x)
		} else {
			r.alts = append(r.alts, kx.x)
			r.base = append(r.base, kx.a)
		}
	}
	slices.SortFunc(r.nodes, func(a, b *nodeState) int { return cmp.Compare(a.idx, b.idx) })
	return r
}

// hold puts a reservation's claims and alternative marks on its nodes.
func (ps *pass) hold(r *reservation, owner int32) {
	end := r.at + r.dur
	if r.dur >= forever || end >= forever {
		end = forever
	}
	for _, x := range r.nodes {
		x.claims = append(x.claims, claim{owner: owner, start: r.at, end: end, cpu: r.nd.cpu, mem: r.nd.mem, gpu: r.nd.gpu})
		ps.addEvent(x, end)
	}
	for i, x := range r.alts {
		x.alts = append(x.alts, altMark{owner: owner, at: r.at, want: r.nd, base: r.base[i]})
		ps.addEvent(x, r.at+1)
	}
}
