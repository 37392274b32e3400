package fairshare

import (
	"math"

	"github.com/fairway-hpc/fairway/api"
)

// calc holds one computation's per-node values, indexed like Tree.nodes.
type calc struct {
	usage  []float64 // raw usage of the node's subtree
	share  []float64 // normalized shares: within the level (Fair Tree) or of the whole tree (classic)
	eff    []float64 // effective usage: u/P (Fair Tree) or UE (classic)
	factor []float64 // fair-share factor (users; classic also accounts)
	lfs    []float64 // Level FS (Fair Tree)
	levels []lfKey   // Fair Tree: Tree.members with each level sorted
}

// Factors returns the fair-share factor in [0,1] of every user leaf, keyed by
// api.AssocKey(account, user), for usage keyed the same way. algorithm is
// api.FairShareClassic or api.FairShareFairTree; anything else (including "")
// means Fair Tree, the default. A job whose association is not in the tree
// has no entry. One call walks the tree once and sorts each level: O(n log n)
// in the number of associations.
func (t *Tree) Factors(algorithm string, usage map[string]float64) map[string]float64 {
	c := t.compute(algorithm, usage)
	out := make(map[string]float64, len(t.users))
	for _, u := range t.users {
		out[t.nodes[u].key] = c.factor[u]
	}
	return out
}

// compute runs the chosen algorithm.
func (t *Tree) compute(algorithm string, usage map[string]float64) *calc {
	n := len(t.nodes)
	buf := make([]float64, 5*n)
	c := &calc{usage: buf[:n:n], share: buf[n : 2*n : 2*n], eff: buf[2*n : 3*n : 3*n],
		factor: buf[3*n : 4*n : 4*n], lfs: buf[4*n:]}
	for _, u := range t.users {
		v := usage[t.nodes[u].key]
		if !(v > 0) || math.IsInf(v, 1) {
			v = 0
		}
		c.usage[u] = v
	}
	// Pre-order puts every parent before its children: summing backwards
	// gives each account the usage of its subtree.
	for i := n - 1; i > 0; i-- {
		c.usage[t.nodes[i].parent] += c.usage[i]
	}
	if algorithm == api.FairShareClassic {
		t.classic(c)
	} else {
		t.fairTree(c)
	}
	return c
}
