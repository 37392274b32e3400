package fairshare

import "math"

// classic computes Slurm's classic fair share (PriorityFlags=NO_FAIR_TREE,
// FairShareDampeningFactor=1), as Slurm's test24.1 checks it.
//
// Normalized shares multiply down the tree from the root (S = 1):
//
//	S(child) = S(parent) * w(child) / sum(w of the child's level)
//
// Normalized usage is a fraction of the root's: UA = usage / usage(root).
// Effective usage lets a parent's usage weigh on its children:
//
//	UE(child) = UA(child)                                       for the root's level
//	UE(child) = UA(child) + (UE(parent) - UA(child)) * w / sum(w)   below it
//
// and the factor of an account or a user is
//
//	F = 2^(-UE/S)          (0 when S = 0)
//
// "parent" is the level's owner: a FairShare=parent account is flattened
// away. A FairShare=parent account or user takes its parent's S, UE and F.
// The root has S = 1 and UE = 1 (0 with no usage at all).
func (t *Tree) classic(c *calc) {
	rootU := c.usage[0]
	c.share[0] = 1
	if rootU > 0 {
		c.eff[0] = 1
	}
	c.factor[0] = math.Exp2(-c.eff[0])
	for i := 1; i < len(t.nodes); i++ {
		nd := &t.nodes[i]
		if nd.sharesParent {
			c.share[i], c.eff[i], c.factor[i] = c.share[nd.parent], c.eff[nd.parent], c.factor[nd.parent]
			continue
		}
		o := nd.owner
		frac := 0.0
		if sum := t.nodes[o].levelSum; sum > 0 {
			frac = nd.weight / sum
		}
		ua := 0.0
		if rootU > 0 {
			ua = c.usage[i] / rootU
		}
		ue := ua
		if o != 0 {
			ue = ua + (c.eff[o]-ua)*frac
		}
		s := c.share[o] * frac
		c.share[i], c.eff[i] = s, ue
		if s > 0 {
			c.factor[i] = math.Exp2(-ue / s)
		}
	}
}
