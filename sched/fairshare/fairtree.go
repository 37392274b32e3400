package fairshare

import (
	"math"
	"slices"
)

// Level FS classes, highest first in a level.
const (
	lfZero   = 0 // S = 0
	lfFinite = 1 // S > 0, U > 0
	lfInf    = 2 // S > 0, U = 0, or a FairShare=parent user
)

// fairTree computes Slurm's Fair Tree factors, as Slurm's test24.4 checks
// them.
//
// Every member of a level (see the package doc) gets a Level FS
//
//	LF = S / U,  S = w / sum(w of the level),  U = usage / usage(level's owner)
//
// with LF = 0 when S = 0 and LF = +Inf when S > 0 and U = 0; a
// FairShare=parent user has LF = +Inf. LF > 1 means under-served, LF < 1
// over-served.
//
// Users are then ranked by a depth-first walk from the root that visits each
// level's members by LF descending (users before accounts on equal LF, then
// tree order), descending into each account where it stands. With N users,
// the walk starts with rank = N and counts each user down (rnt = N, N-1, ...);
// a user's factor is
//
//	F = rank / N
//
// where rank is rnt, except that a user whose LF equals the previous
// sibling's keeps the previous rank (ties). An account tied with its previous
// sibling passes the tie to its first member, so that (users sorting before
// accounts) an account tied with a user starts at that user's rank.
//
// Ties are exact: S is rounded to a float64 (Slurm keeps normalized shares in
// a double) and two siblings a, b compare as S_a*u_b against S_b*u_a with the
// products computed exactly, the usage of their common parent cancelling
// out. This reproduces Slurm's long double ranking: in test24.4, uD2 (40/170
// shares over 20/110 usage) ranks below uD3 (50/170 over 25/110) although
// both are 22/17 on paper.
func (t *Tree) fairTree(c *calc) {
	n := len(t.nodes)
	c.share[0] = 1
	if c.usage[0] > 0 {
		c.eff[0] = 1
	}
	// keys[k] describes t.members[k]; levels are contiguous, so sorting each
	// level's segment of keys orders the level.
	keys := make([]lfKey, len(t.members))
	for i := 1; i < n; i++ {
		nd := &t.nodes[i]
		u, p := c.usage[i], c.usage[nd.owner]
		if p > 0 {
			c.eff[i] = u / p
		}
		key := lfKey{node: int32(i), user: nd.user, u: u}
		switch {
		case nd.sharesParent:
			c.share[i] = c.share[nd.parent]
			c.lfs[i] = math.Inf(1)
			key.cls = lfInf
		default:
			s := 0.0
			if sum := t.nodes[nd.owner].levelSum; sum > 0 {
				s = nd.weight / sum
			}
			c.share[i], key.s = s, s
			switch {
			case s == 0:
				key.cls = lfZero
			case u == 0:
				key.cls, c.lfs[i] = lfInf, math.Inf(1)
			default:
				key.cls, c.lfs[i] = lfFinite, s/c.eff[i]
			}
		}
		if nd.sharesParent && !nd.user {
			continue // flattened: not a member of any level
		}
		keys[nd.pos] = key
	}
	for i := range t.nodes {
		nd := &t.nodes[i]
		if nd.levelEnd-nd.levelStart > 1 {
			slices.SortFunc(keys[nd.levelStart:nd.levelEnd], compareMembers)
		}
	}
	w := ftWalk{t: t, c: c, keys: keys, rank: len(t.users), rnt: len(t.users)}
	w.level(0, false)
	c.levels = keys
}

// lfKey is a level member as the Fair Tree sort sees it.
type lfKey struct {
	s, u float64 // normalized shares within the level, raw usage
	node int32
	cls  uint8 // lfZero, lfFinite or lfInf
	user bool
}

// ftWalk is the state of one Fair Tree ranking walk.
type ftWalk struct {
	t    *Tree
	c    *calc
	keys []lfKey // Tree.members, each level sorted by compareMembers
	rank int     // the rank the last user got
	rnt  int     // rank, no ties: the next user's rank unless tied
}

// level ranks the users of the level owned by node o; tied means o itself
// was tied with its previous sibling.
func (w *ftWalk) level(o int32, tied bool) {
	nd := &w.t.nodes[o]
	members := w.keys[nd.levelStart:nd.levelEnd]
	for k := range members {
		m := &members[k]
		tie := tied && k == 0
		if k > 0 {
			tie = compareLF(&members[k-1], m) == 0
		}
		if !m.user {
			w.level(m.node, tie)
			continue
		}
		if !tie {
			w.rank = w.rnt
		}
		w.c.factor[m.node] = float64(w.rank) / float64(len(w.t.users))
		w.rnt--
	}
}

// compareMembers orders a level: Level FS descending, users before accounts,
// then tree order.
func compareMembers(a, b lfKey) int {
	if r := compareLF(&a, &b); r != 0 {
		return r
	}
	if a.user != b.user {
		if a.user {
			return -1
		}
		return 1
	}
	return int(a.node - b.node)
}

// compareLF is -1 when a's Level FS is greater than b's, 1 when it is
// smaller, 0 when they are exactly equal. a and b are in the same level.
func compareLF(a, b *lfKey) int {
	switch {
	case a.cls != b.cls:
		if a.cls > b.cls {
			return -1
		}
		return 1
	case a.cls != lfFinite:
		return 0
	}
	// LF_a > LF_b  <=>  S_a/u_a > S_b/u_b  <=>  S_a*u_b > S_b*u_a.
	return -compareProducts(a.s, b.u, b.s, a.u)
}

// compareProducts compares a*b with c*d exactly (for finite, non-negative,
// normal operands): each product is split into its rounded value and the
// exact rounding error.
func compareProducts(a, b, c, d float64) int {
	x, y := a*b, c*d
	if x != y {
		// Rounding is monotone: different rounded products mean the exact
		// products differ the same way.
		if x < y {
			return -1
		}
		return 1
	}
	ex, ey := math.FMA(a, b, -x), math.FMA(c, d, -y)
	switch {
	case ex < ey:
		return -1
	case ex > ey:
		return 1
	}
	return 0
}
