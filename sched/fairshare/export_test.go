package fairshare

import "github.com/fairway-hpc/fairway/api"

// LevelOrder returns, for tests, the Fair Tree order of the level that
// account owns ("root" for the root's): the members' names, users as
// "account/user".
func (t *Tree) LevelOrder(usage map[string]float64, account string) []string {
	c := t.compute(api.FairShareFairTree, usage)
	for i := range t.nodes {
		nd := &t.nodes[i]
		if nd.user || nd.name != account {
			continue
		}
		var names []string
		for _, k := range c.levels[nd.levelStart:nd.levelEnd] {
			m := k.node
			if t.nodes[m].user {
				names = append(names, t.nodes[m].key)
			} else {
				names = append(names, t.nodes[m].name)
			}
		}
		return names
	}
	return nil
}
