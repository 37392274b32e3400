package sched

import (
	"cmp"
	"slices"
	"strings"
)

// event is a moment at which a node may become able to host more: a job on
// it ends, a claim on it ends, or an alternative mark on it passes.
type event struct {
	at  int64
	x   int32 // node index
	gpu int32 // GPUs it frees (an upper bound of what the node gains)
	t   int8  // their type index on the node; -1 for any
}

func compareEvents(a, b event) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.x, b.x)) }

// timeline is a partition's events in time order. It is built on first use
// in a pass. Events added later go to add, a short sorted list that sweeps
// read alongside ev, folded into ev only when it grows long: a pass that
// makes many reservations does not copy the whole timeline for each.
type timeline struct {
	built bool
	ev    []event
	add   []event
}

// timelineIter walks the merge of a timeline's two lists in order.
type timelineIter struct {
	a, b []event
	i, j int
}

// from returns an iterator at the first event after time t.
func (tl *timeline) from(t int64) timelineIter {
	after := func(list []event) int {
		k, _ := slices.BinarySearchFunc(list, t+1, func(e event, at int64) int { return cmp.Compare(e.at, at) })
		return k
	}
	return timelineIter{a: tl.ev, b: tl.add, i: after(tl.ev), j: after(tl.add)}
}

// peek returns the next event without consuming it.
func (it *timelineIter) peek() (event, bool) {
	switch {
	case it.i < len(it.a) && (it.j >= len(it.b) || compareEvents(it.a[it.i], it.b[it.j]) <= 0):
		return it.a[it.i], true
	case it.j < len(it.b):
		return it.b[it.j], true
	}
	return event{}, false
}

// next consumes the event peek returned.
func (it *timelineIter) next() {
	if it.i < len(it.a) && (it.j >= len(it.b) || compareEvents(it.a[it.i], it.b[it.j]) <= 0) {
		it.i++
	} else {
		it.j++
	}
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
				tl.ev = append(tl.ev, event{r.at, x.idx, int32(r.gpu), r.t})
			}
			for _, c := range x.claims {
				if c.end < forever {
					tl.ev = append(tl.ev, event{c.end, x.idx, int32(c.gpu), -1})
				}
			}
			for _, a := range x.alts {
				tl.ev = append(tl.ev, event{a.at, x.idx, 0, -1})
			}
		}
		slices.SortFunc(tl.ev, compareEvents)
		return tl
	}
	if len(tl.add) > 64 && len(tl.add) > len(tl.ev)/8 {
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

// addEvent records a new event on node x, freeing gpu GPUs of type index t
// (-1: any), in the built timelines of its partitions.
func (ps *pass) addEvent(x *nodeState, at int64, gpu int, t int8) {
	if at >= forever {
		return
	}
	e := event{at, x.idx, int32(gpu), t}
	for _, pp := range x.parts {
		if tl := &pp.p.tl; tl.built {
			k, _ := slices.BinarySearchFunc(tl.add, e, compareEvents)
			tl.add = slices.Insert(tl.add, k, e)
		}
	}
}

// reservation is where and when a blocked job is expected to start.
type reservation struct {
	at    int64
	p     *partState
	nodes []*nodeState
	alts  []*nodeState
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
// mattering at its time. So the sweep walks the partition's events
// in time order and checks only the nodes with an event at each time (a gang
// also rechecks the nodes it found feasible before).
//
// A job that chooses its nodes (pick: -x/--exclude, -w/--nodelist, the
// nodes a retry avoids) is reserved only nodes it may use, with every
// node it lists among them.
func (ps *pass) earliest(p *partState, nd need, k int, dur int64, owner int32, horizon int64, pick *nodePick) (*reservation, bool) {
	pl := p.pools[strings.ToLower(nd.gtype)]
	if pl == nil {
		return nil, false
	}
	it := ps.timeline(p).from(ps.now)
	ps.stamp++
	stamp := ps.stamp
	if ps.sweepStamp == nil {
		ps.sweepStamp = make([]int32, len(ps.nodes))
		ps.sweepTi = make([]int8, len(ps.nodes))
		ps.sweepFree = make([]int, len(ps.nodes))
	}
	var cand []*nodeState
	// A job listing nodes combines nodes as a gang does, whatever its
	// node count: the listed ones must all be feasible at once.
	gang := k > 1 || (pick != nil && len(pick.required) > 0)
	if gang {
		// A gang may combine nodes that fit already with nodes that
		// free later.
		end := min(ps.now+dur, forever)
		for b := nd.gpu; b < len(pl.buckets); b++ {
			if pl.counts[b] == 0 {
				continue
			}
			pl.each(b, func(pos int32) bool {
				x := p.members[pos]
				if x.cpuFree >= nd.cpu && x.memFree >= nd.mem && x.excl == 0 && pick.allows(x, k) && x.fits(nd, ps.now, end, owner) {
					x.seen = stamp
					cand = append(cand, x)
				}
				return true
			})
		}
	}
	for {
		first, ok := it.peek()
		if !ok || first.at > horizon {
			break
		}
		at := first.at
		var fresh []*nodeState
		for ev, ok := it.peek(); ok && ev.at == at; ev, ok = it.peek() {
			it.next()
			x := ps.nodes[ev.x]
			// An upper bound of the node's GPUs of the type at this time:
			// free now plus what the events so far freed.
			if ps.sweepStamp[ev.x] != stamp {
				ps.sweepStamp[ev.x] = stamp
				ti := x.typeIdx(nd.gtype)
				ps.sweepTi[ev.x] = int8(ti)
				if ti >= -1 {
					ps.sweepFree[ev.x] = x.freeOf(ti)
				}
			}
			ti := ps.sweepTi[ev.x]
			if ti < -1 {
				continue
			}
			if ti == -1 || ev.t == -1 || ev.t == ti {
				ps.sweepFree[ev.x] += int(ev.gpu)
			}
			if ps.sweepFree[ev.x] < nd.gpu || x.seen == stamp || !ps.canHost(x, nd) || !pick.allows(x, k) {
				continue
			}
			if x.fits(nd, at, at+dur, owner) {
				x.seen = stamp
				fresh = append(fresh, x)
			}
		}
		if !gang {
			if len(fresh) > 0 {
				return ps.choose(p, fresh, nd, 1, at, dur, owner, nil), true
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
		if len(cand) >= k && pick.complete(cand) {
			return ps.choose(p, slices.Clone(cand), nd, k, at, dur, owner, pick), true
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

// choose picks the k best of the feasible nodes at time at (the nodes the
// job lists first, then fewest GPUs of the job's type available, then node
// order); the rest are alternatives.
func (ps *pass) choose(p *partState, feasible []*nodeState, nd need, k int, at, dur int64, owner int32, pick *nodePick) *reservation {
	type keyed struct {
		x      *nodeState
		listed int // 0 for a node the job lists, else 1
		key    int
	}
	ks := make([]keyed, len(feasible))
	for i, x := range feasible {
		ks[i] = keyed{x, 1, x.availAt(at, x.typeIdx(nd.gtype), owner).gT}
		if pick.isRequired(x) {
			ks[i].listed = 0
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.listed, b.listed), cmp.Compare(a.key, b.key), cmp.Compare(a.x.idx, b.x.idx))
	})
	r := &reservation{at: at, p: p, nd: nd, dur: dur}
	for i, kx := range ks {
		if i < k {
			r.nodes = append(r.nodes, kx.x)
		} else {
			r.alts = append(r.alts, kx.x)
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
		ps.addEvent(x, end, r.nd.gpu, -1)
	}
	for _, x := range r.alts {
		x.alts = append(x.alts, altMark{owner: owner, at: r.at})
		ps.addEvent(x, r.at, 0, -1)
	}
}
