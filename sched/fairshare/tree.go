// Package fairshare computes Slurm-style fair-share factors over an account
// tree: Fair Tree (Slurm's default since 19.05) and the classic 2^(-UE/S)
// formula, the rows `sshare -l` prints, usage decay and the billing rate that
// turns an allocation into usage.
//
// # The tree
//
// The tree is built once per scheduling pass by NewTree from the configured
// accounts and the (account, user) pairs seen in jobs. Its root is the
// implicit account "root" (api.RootAccount). Accounts hang below their Parent
// ("" means the root); users are leaves ("share identifiers") below their
// account. A pair seen in a job whose user is not listed under its account
// gets an implicit user leaf with 1 share; a pair whose account is not
// configured gets an implicit account with 1 share directly below the root
// (and its user below it with 1 share), so that every job has a factor. A
// pair with an empty account is a user of the root.
//
// Children are ordered by name, users before accounts, which is also the
// order of Rows (Slurm's sshare order): an account, its users, then its
// sub-accounts depth first.
//
// # Levels and shares
//
// Siblings compete in a level. An account or user with FairShare=parent
// (SharesParent) does not: a FairShare=parent account is flattened, its
// children competing directly in its parent's level, and a FairShare=parent
// user ranks first in its level (Fair Tree) or takes its parent's factor
// (classic). The share weight w of a member is its raw Shares, except in a
// level where some account has a WeightFactor (AWS Batch style): there every
// member weighs 1/WeightFactor, a member without one counting as
// WeightFactor 1 (AWS Batch's default) and Shares being ignored. The
// normalized share of a member within its level is
//
//	s = w / sum(w of the level's members)      (0 when that sum is 0)
//
// Shares 0 means no share at all (classic factor 0; Fair Tree Level FS 0, last
// among its siblings); it is not a default.
//
// # Fair Tree (default)
//
// Each member of a level gets a Level FS LF = S/U, with S its normalized share
// in the level and U = usage / usage of the level's owner (LF = +Inf for
// U = 0, 0 for S = 0, +Inf for a FairShare=parent user). A depth-first walk
// from the root visits each level by LF descending (users before accounts on
// equal LF) and ranks the N users as it meets them, N first; a user whose LF
// equals the previous sibling's keeps that rank. A user's factor is rank/N.
// Equal LFs are exact ties (see fairTree), as in Slurm's test24.4.
//
// # Classic
//
// Normalized shares multiply down the tree, S(child) = S(parent) * s;
// effective usage is UE = UA for the root's level and
// UE = UA + (UE(parent) - UA) * s below it, UA being usage over the root's;
// the factor is F = 2^(-UE/S), 0 when S = 0, as in Slurm's test24.1.
//
// # Usage
//
// Usage is keyed by api.AssocKey(account, user), leaves only; an account's
// usage is the sum over its subtree. Negative, NaN and infinite usage counts
// as 0. Usage is decayed by the caller with Decay and accrued at the rate
// Billing gives.
//
// A Tree is immutable once built: Factors and Rows allocate their own
// scratch space and may run concurrently.
package fairshare

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// node is one association of the tree: the root, an account or a user.
type node struct {
	name    string // the account's or the user's name
	account string // a user's account; an account's own name
	key     string // api.AssocKey(account, name), for users
	parent  int32  // index of the parent node; -1 for the root
	// owner is the level this node competes in: its nearest ancestor that
	// is not FairShare=parent (Slurm's fs_assoc). -1 for the root.
	owner        int32
	user         bool
	sharesParent bool
	rawShares    int
	// weight is the node's share weight in its owner's level (Shares, or
	// 1/WeightFactor in a weight level); 0 for FairShare=parent.
	weight float64
	// levelStart:levelEnd index Tree.members: the level this node owns
	// (the root and accounts that are not FairShare=parent).
	levelStart, levelEnd int32
	// levelSum is the sum of the weights of the level this node owns.
	levelSum float64
	// pos is the node's index in Tree.members, if it is a level member.
	pos int32
}

// Tree is the fair-share account tree. Build it with NewTree.
type Tree struct {
	nodes   []node  // pre-order (sshare order); nodes[0] is the root
	members []int32 // level members, each level contiguous, in tree order
	users   []int32 // indices of the user leaves, in tree order
}

// acctSpec is an account while the tree is built.
type acctSpec struct {
	name         string
	parent       string
	shares       int
	sharesParent bool
	weightFactor float64
	users        map[string]api.AccountUser
	subAccounts  []string
}

// NewTree builds the tree from the configured accounts and the {account,
// user} pairs seen in jobs (duplicates are fine). An Account named "root"
// (api.RootAccount) may list the root's own users; its other fields are
// ignored. It fails on an invalid configuration: an empty or duplicate
// account or user name, a parent that does not exist, a cycle, negative
// shares, a WeightFactor that is negative or not finite, or a pair with an
// empty user.
func NewTree(accounts []api.Account, assocs [][2]string) (*Tree, error) {
	specs := map[string]*acctSpec{api.RootAccount: {name: api.RootAccount, users: map[string]api.AccountUser{}}}
	for i, a := range accounts {
		if err := checkAccount(a); err != nil {
			return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: %w", i, a.Name, err)
		}
		s := specs[a.Name]
		switch {
		case a.Name == api.RootAccount:
			if a.Parent != "" {
				return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: the root has no parent (got %q)", i, a.Name, a.Parent)
			}
		case s != nil:
			return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: duplicate account name", i, a.Name)
		default:
			s = &acctSpec{name: a.Name, parent: cmp.Or(a.Parent, api.RootAccount), shares: a.Shares,
				sharesParent: a.SharesParent, weightFactor: a.WeightFactor, users: map[string]api.AccountUser{}}
			specs[a.Name] = s
		}
		for j, u := range a.Users {
			switch {
			case u.Name == "":
				return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: users[%d]: empty user name", i, a.Name, j)
			case u.Shares < 0:
				return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: user %q: shares %d: must be 0 or more", i, a.Name, u.Name, u.Shares)
			}
			if _, dup := s.users[u.Name]; dup {
				return nil, fmt.Errorf("fair-share tree: accounts[%d] %q: user %q listed twice", i, a.Name, u.Name)
			}
			s.users[u.Name] = u
		}
	}
	for i, p := range assocs {
		acct, user := cmp.Or(p[0], api.RootAccount), p[1]
		if user == "" {
			return nil, fmt.Errorf("fair-share tree: assocs[%d] (account %q): empty user name", i, acct)
		}
		s := specs[acct]
		if s == nil {
			// An account no configuration names: below the root, 1 share.
			s = &acctSpec{name: acct, parent: api.RootAccount, shares: 1, users: map[string]api.AccountUser{}}
			specs[acct] = s
		}
		if _, ok := s.users[user]; !ok {
			s.users[user] = api.AccountUser{Name: user, Shares: 1}
		}
	}
	for _, s := range specs {
		if s.name == api.RootAccount {
			continue
		}
		p := specs[s.parent]
		if p == nil {
			return nil, fmt.Errorf("fair-share tree: account %q: parent %q: no such account", s.name, s.parent)
		}
		p.subAccounts = append(p.subAccounts, s.name)
	}

	nUsers := 0
	for _, s := range specs {
		nUsers += len(s.users)
	}
	t := &Tree{nodes: make([]node, 0, len(specs)+nUsers), users: make([]int32, 0, nUsers)}
	t.add(specs, specs[api.RootAccount], -1)
	if visited := countAccounts(t.nodes); visited != len(specs) {
		var lost []string
		for name := range specs {
			if !slices.ContainsFunc(t.nodes, func(n node) bool { return !n.user && n.name == name }) {
				lost = append(lost, name)
			}
		}
		slices.Sort(lost)
		return nil, fmt.Errorf("fair-share tree: accounts %v form a cycle of parents", lost)
	}
	t.buildLevels(specs)
	return t, nil
}

// checkAccount reports what is wrong with one configured account.
func checkAccount(a api.Account) error {
	switch {
	case a.Name == "":
		return fmt.Errorf("empty account name")
	case a.Shares < 0:
		return fmt.Errorf("shares %d: must be 0 or more", a.Shares)
	case a.WeightFactor < 0 || math.IsNaN(a.WeightFactor) || math.IsInf(a.WeightFactor, 0):
		return fmt.Errorf("weight_factor %v: must be a finite number, 0 (unset) or more", a.WeightFactor)
	case a.Parent == a.Name:
		return fmt.Errorf("an account cannot be its own parent")
	}
	return nil
}

func countAccounts(nodes []node) int {
	n := 0
	for _, nd := range nodes {
		if !nd.user {
			n++
		}
	}
	return n
}

// add appends account s below parent in pre-order: the account, its users by
// name, then its sub-accounts by name, depth first.
func (t *Tree) add(specs map[string]*acctSpec, s *acctSpec, parent int32) {
	self := int32(len(t.nodes))
	t.nodes = append(t.nodes, node{name: s.name, account: s.name, parent: parent, owner: -1,
		sharesParent: s.sharesParent, rawShares: s.shares})
	users := make([]string, 0, len(s.users))
	for name := range s.users {
		users = append(users, name)
	}
	slices.Sort(users)
	for _, name := range users {
		u := s.users[name]
		t.users = append(t.users, int32(len(t.nodes)))
		t.nodes = append(t.nodes, node{name: name, account: s.name, key: api.AssocKey(s.name, name),
			parent: self, owner: -1, user: true, sharesParent: u.SharesParent, rawShares: u.Shares})
	}
	slices.Sort(s.subAccounts)
	for _, sub := range s.subAccounts {
		t.add(specs, specs[sub], self)
	}
}

// buildLevels flattens FairShare=parent accounts into their parents' levels,
// sets each node's owner and weight, and each owner's level sum.
func (t *Tree) buildLevels(specs map[string]*acctSpec) {
	children := make([][]int32, len(t.nodes))
	for i := 1; i < len(t.nodes); i++ {
		p := t.nodes[i].parent
		children[p] = append(children[p], int32(i))
	}
	var flatten func(owner, of int32)
	flatten = func(owner, of int32) {
		for _, c := range children[of] {
			nd := &t.nodes[c]
			nd.owner = owner
			if nd.sharesParent && !nd.user {
				flatten(owner, c)
				continue
			}
			nd.pos = int32(len(t.members))
			t.members = append(t.members, c)
		}
	}
	t.members = make([]int32, 0, len(t.nodes))
	for i := range t.nodes {
		nd := &t.nodes[i]
		if nd.user || (i > 0 && nd.sharesParent) {
			continue
		}
		nd.levelStart = int32(len(t.members))
		flatten(int32(i), int32(i))
		nd.levelEnd = int32(len(t.members))
		level := t.members[nd.levelStart:nd.levelEnd]

		weighted := slices.ContainsFunc(level, func(m int32) bool {
			c := t.nodes[m]
			return !c.user && specs[c.name].weightFactor > 0
		})
		sum := 0.0
		for _, m := range level {
			c := &t.nodes[m]
			switch {
			case c.sharesParent:
				c.weight = 0
			case !weighted:
				c.weight = float64(c.rawShares)
			case !c.user && specs[c.name].weightFactor > 0:
				c.weight = 1 / specs[c.name].weightFactor
			default:
				c.weight = 1
			}
			sum += c.weight
		}
		nd.levelSum = sum
	}
}

// Len is the number of associations in the tree: the root, the accounts and
// the users.
func (t *Tree) Len() int { return len(t.nodes) }

// Users is the number of user leaves (Fair Tree's divisor).
func (t *Tree) Users() int { return len(t.users) }
