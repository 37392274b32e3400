package sched

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// forever is the end of a job without a time limit, and of claims that last
// until their owner starts.
const forever = math.MaxInt64 / 4

// need is what a job needs on each of its nodes.
type need struct {
	cpu   int
	mem   int64
	gpu   int
	gtype string // "" = any type
}

// release is what a running job frees on a node when it ends.
type release struct {
	at  int64
	cpu int
	mem int64
	gpu int  // GPUs of type t
	t   int8 // index into nodeState.types; -1 when gpu is 0
}

// claim is what a reservation (or a promise to a preempting job) holds on a
// node from start to end: nobody else may use it then.
type claim struct {
	owner      int32 // entry index of the job it is for
	start, end int64
	cpu        int
	mem        int64
	gpu        int
}

// altMark records that a node was an alternative for a reservation: at
// time at it could have hosted the reserved job, but another node was
// chosen (fewer free GPUs, or first in order). No lower job may run on the
// node across that instant (one starting then may: it is placed after the
// reserved job started). Otherwise the node's free GPUs at that time could
// drop and make it the reserved job's preferred node on a later pass,
// moving the reservation onto resources promised to other jobs; with the
// mark, the feasible nodes and their order at that time stay as they were,
// and the reservation keeps its nodes.
type altMark struct {
	owner int32
	at    int64
}

// avail is what a node has for a job of one GPU type at one instant.
type avail struct {
	cpu  int
	mem  int64
	gAll int // GPUs of any type
	gT   int // GPUs of the job's type
}

func (a avail) fits(n need) bool {
	return a.cpu >= n.cpu && a.mem >= n.mem && a.gT >= n.gpu && a.gAll >= n.gpu
}

// partPos is a node's position in one partition.
type partPos struct {
	p   *partState
	pos int32
}

// nodeState is one node during a pass: what is free now, what frees later,
// and what reservations hold.
type nodeState struct {
	n      *api.Node
	idx    int32 // position in the cluster's natural name order
	usable bool  // not DOWN or DRAIN

	cpuFree int
	memFree int64
	gpus    []api.GPU // healthy GPUs by index
	gpuUsed []bool
	gpuT    []int8   // type index of each GPU
	types   []string // distinct types of the healthy GPUs, sorted
	capT    []int    // healthy GPUs per type
	freeT   []int    // free healthy GPUs per type
	capAll  int
	freeAll int

	rel    []release // by time
	claims []claim
	alts   []altMark
	parts  []partPos

	seen int32 // sweep stamp
	// excl counts the jobs with --exclusive on the node: while one runs,
	// no other job is placed there.
	excl int
}

// typeIdx returns the index of GPU type t on the node, -1 for "" (any), and
// -2 when the node has no such GPU.
func (x *nodeState) typeIdx(t string) int {
	if t == "" {
		return -1
	}
	for i, s := range x.types {
		if strings.EqualFold(s, t) {
			return i
		}
	}
	return -2
}

// freeOf is the node's free GPUs of type index ti now.
func (x *nodeState) freeOf(ti int) int {
	if ti < 0 {
		return x.freeAll
	}
	return x.freeT[ti]
}

// capOf is the node's healthy GPUs of type index ti.
func (x *nodeState) capOf(ti int) int {
	if ti < 0 {
		return x.capAll
	}
	return x.capT[ti]
}

// future reports whether anything beyond the free counts matters for a
// placement on the node: claims or alternative marks.
func (x *nodeState) future() bool { return len(x.claims) > 0 || len(x.alts) > 0 }

// availAt is what the node has at time t for GPU type index ti: free now,
// plus releases up to t, minus claims active at t not owned by owner.
func (x *nodeState) availAt(t int64, ti int, owner int32) avail {
	a := avail{cpu: x.cpuFree, mem: x.memFree, gAll: x.freeAll}
	if ti >= 0 {
		a.gT = x.freeT[ti]
	}
	for _, r := range x.rel {
		if r.at > t {
			break
		}
		a.cpu += r.cpu
		a.mem += r.mem
		a.gAll += r.gpu
		if ti >= 0 && int(r.t) == ti {
			a.gT += r.gpu
		}
	}
	for _, c := range x.claims {
		if c.owner != owner && c.start <= t && t < c.end {
			a.cpu -= c.cpu
			a.mem -= c.mem
			a.gAll -= c.gpu
			a.gT -= c.gpu
		}
	}
	if ti < 0 {
		a.gT = a.gAll
	}
	return a
}

// fits reports whether a job of owner needing nd fits on the node for the
// whole span [t0, t1): at t0 and at every claim start inside the span,
// beside every claim of another owner, and without breaking an alternative
// mark of another owner inside the span.
func (x *nodeState) fits(nd need, t0, t1 int64, owner int32) bool {
	return x.check(nd, t0, t1, owner) == fitOK
}

// Outcomes of nodeState.check.
const (
	fitOK       = iota
	fitCapacity // not enough at t0 or during a claim
	fitAlt      // the span crosses an alternative mark
)

// check is fits with the reason of a refusal.
func (x *nodeState) check(nd need, t0, t1 int64, owner int32) int {
	ti := x.typeIdx(nd.gtype)
	if ti == -2 {
		return fitCapacity
	}
	if !x.availAt(t0, ti, owner).fits(nd) {
		return fitCapacity
	}
	for _, c := range x.claims {
		if c.owner != owner && c.start > t0 && c.start < t1 && !x.availAt(c.start, ti, owner).fits(nd) {
			return fitCapacity
		}
	}
	for _, a := range x.alts {
		if a.owner != owner && a.at > t0 && a.at < t1 {
			return fitAlt
		}
	}
	return fitOK
}

// pickGPUs returns the n lowest-index free healthy GPUs of type gtype ("" =
// any), or nil when there are not enough.
func (x *nodeState) pickGPUs(gtype string, n int) []int {
	if n == 0 {
		return nil
	}
	out := make([]int, 0, n)
	for i, g := range x.gpus {
		if x.gpuUsed[i] || (gtype != "" && !strings.EqualFold(g.Type, gtype)) {
			continue
		}
		out = append(out, i)
		if len(out) == n {
			return out
		}
	}
	return nil
}

// gpuPos returns the position in x.gpus of the GPU with the given index.
func (x *nodeState) gpuPos(index int) int {
	if index >= 0 && index < len(x.gpus) && x.gpus[index].Index == index {
		return index
	}
	i, ok := slices.BinarySearchFunc(x.gpus, index, func(g api.GPU, idx int) int { return cmp.Compare(g.Index, idx) })
	if !ok {
		return -1
	}
	return i
}

// occupy takes an allocation's resources off the node (a running job or a
// start of this pass) and records its releases at time end.
func (x *nodeState) occupy(a api.NodeAlloc, end int64) {
	x.cpuFree -= a.CPUs
	x.memFree -= a.MemoryMB
	first := release{at: end, cpu: a.CPUs, mem: a.MemoryMB, t: -1}
	var more []release
	for _, idx := range a.GPUs {
		i := x.gpuPos(idx)
		if i < 0 || x.gpuUsed[i] {
			continue
		}
		x.gpuUsed[i] = true
		t := x.gpuT[i]
		x.freeT[t]--
		x.freeAll--
		switch {
		case first.t < 0 || first.t == t:
			first.t = t
			first.gpu++
		default:
			k := slices.IndexFunc(more, func(r release) bool { return r.t == t })
			if k < 0 {
				more = append(more, release{at: end, t: t})
				k = len(more) - 1
			}
			more[k].gpu++
		}
	}
	if end >= forever {
		return
	}
	x.addRelease(first)
	for _, r := range more {
		x.addRelease(r)
	}
}

// addRelease inserts a release into the node's time-ordered list.
func (x *nodeState) addRelease(r release) {
	i := len(x.rel)
	for i > 0 && x.rel[i-1].at > r.at {
		i--
	}
	x.rel = slices.Insert(x.rel, i, r)
}

// nodeAlloc hands out the small per-node slices of a pass from shared
// slabs, and shares identical GPU type lists, so that building ten thousand
// nodes costs a few allocations.
type nodeAlloc struct {
	nodes []nodeState
	bools []bool
	int8s []int8
	ints  []int
	types map[string][]string
}

// carve returns n elements cut from *slab, refilling the slab in chunks of
// at least 4096 so that a pass's many small per-node slices share a few
// allocations.
func carve[T any](slab *[]T, n int) []T {
	if len(*slab) < n {
		*slab = make([]T, max(n, 4096))
	}
	out := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return out
}

func (na *nodeAlloc) boolsN(n int) []bool { return carve(&na.bools, n) }

func (na *nodeAlloc) int8sN(n int) []int8 { return carve(&na.int8s, n) }

func (na *nodeAlloc) intsN(n int) []int { return carve(&na.ints, n) }

// newNodeState builds a node's state from its registration (nothing used).
func (na *nodeAlloc) newNodeState(n *api.Node) *nodeState {
	if len(na.nodes) == 0 {
		na.nodes = make([]nodeState, 1024)
	}
	x := &na.nodes[0]
	na.nodes = na.nodes[1:]
	*x = nodeState{n: n, usable: n.State != api.NodeDown && n.State != api.NodeDrain,
		cpuFree: n.Resources.CPUs, memFree: n.Resources.MemoryMB}
	// The usual node lists healthy GPUs by increasing index: use the list
	// as it is.
	gpus := n.Resources.GPUs
	clean := true
	for i, g := range gpus {
		if !g.Healthy || (i > 0 && gpus[i-1].Index >= g.Index) {
			clean = false
			break
		}
	}
	if !clean {
		gpus = nil
		for _, g := range n.Resources.GPUs {
			if g.Healthy {
				gpus = append(gpus, g)
			}
		}
		slices.SortStableFunc(gpus, func(a, b api.GPU) int { return cmp.Compare(a.Index, b.Index) })
		gpus = slices.CompactFunc(gpus, func(a, b api.GPU) bool { return a.Index == b.Index })
	}
	x.gpus = gpus
	var key strings.Builder
	var types []string
	for _, g := range gpus {
		if !slices.Contains(types, g.Type) {
			types = append(types, g.Type)
		}
	}
	slices.Sort(types)
	for _, t := range types {
		key.WriteString(t)
		key.WriteByte(0)
	}
	if shared, ok := na.types[key.String()]; ok {
		x.types = shared
	} else {
		na.types[key.String()] = types
		x.types = types
	}
	x.gpuUsed = na.boolsN(len(gpus))
	x.gpuT = na.int8sN(len(gpus))
	x.capT = na.intsN(len(x.types))
	for i, g := range gpus {
		t := 0
		if len(x.types) > 1 {
			t = slices.Index(x.types, g.Type)
		}
		x.gpuT[i] = int8(t)
		x.capT[t]++
	}
	x.freeT = na.intsN(len(x.types))
	copy(x.freeT, x.capT)
	x.capAll, x.freeAll = len(gpus), len(gpus)
	return x
}

// pool indexes the usable nodes of one partition that have GPUs of one type
// ("" = every usable node, by its free GPUs of any type) in buckets by
// free GPU count: a bitset per count over the partition's node positions.
type pool struct {
	gtype   string
	buckets [][]uint64
	counts  []int
	fails   []failedShape
}

// failedShape is a placement that failed in this pass. Free resources only
// shrink during a pass and claims only grow, so any job asking at least as
// much (and, when the failure depended on claims, running at least as long)
// fails too.
type failedShape struct {
	nodes int
	nd    need
	dur   int64 // 0: failed whatever the duration
}

const maxFailedShapes = 64

func newPool(gtype string, members int, maxFree int) *pool {
	words := (members + 63) / 64
	pl := &pool{gtype: gtype, buckets: make([][]uint64, maxFree+1), counts: make([]int, maxFree+1)}
	for b := range pl.buckets {
		pl.buckets[b] = make([]uint64, words)
	}
	return pl
}

func (pl *pool) set(b int, pos int32) {
	pl.buckets[b][pos/64] |= 1 << (uint(pos) % 64)
	pl.counts[b]++
}

func (pl *pool) clear(b int, pos int32) {
	pl.buckets[b][pos/64] &^= 1 << (uint(pos) % 64)
	pl.counts[b]--
}

// atLeast counts the nodes with at least g free GPUs.
func (pl *pool) atLeast(g int) int {
	n := 0
	for b := g; b < len(pl.counts); b++ {
		n += pl.counts[b]
	}
	return n
}

// dominatedFailure reports whether a placement of this shape is known to fail.
func (pl *pool) dominatedFailure(nodes int, nd need, dur int64) bool {
	for _, f := range pl.fails {
		if nodes >= f.nodes && nd.gpu >= f.nd.gpu && nd.cpu >= f.nd.cpu && nd.mem >= f.nd.mem && dur >= f.dur {
			return true
		}
	}
	return false
}

func (pl *pool) recordFailure(f failedShape) {
	if len(pl.fails) < maxFailedShapes {
		pl.fails = append(pl.fails, f)
	}
}

// each calls fn for every node position in bucket b, in order, until fn
// returns false.
func (pl *pool) each(b int, fn func(pos int32) bool) bool {
	for w, word := range pl.buckets[b] {
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &= word - 1
			if !fn(int32(w*64 + bit)) {
				return false
			}
		}
	}
	return true
}

// naturalCompare orders names with embedded numbers numerically: node2 < node10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := splitDigits(a)
			nb, rb := splitDigits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := cmp.Or(cmp.Compare(len(ta), len(tb)), strings.Compare(ta, tb)); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// sortedKeys returns a map's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
