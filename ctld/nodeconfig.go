package ctld

import (
	"sync"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// nodeConfigCache keeps the stored nodes (their registered resources and
// partitions) that submissions are checked against, with their names, until
// a node's row changes or a snapshot replaces the state. Deriving every
// node's usage from its running jobs (State.Nodes) for each submission took
// a third of the leader's CPU at 500 nodes (docs/scale.md).
type nodeConfigCache struct {
	mu    sync.Mutex
	view  *raftstore.StaticNodes
	names map[string]bool
}

// get returns the stored nodes (read-only) and the set of their names.
func (c *nodeConfigCache) get(store *raftstore.Store) ([]*api.Node, map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view == nil || c.view.Changed() {
		c.view = store.StaticNodes()
		c.names = make(map[string]bool, len(c.view.Nodes))
		for _, n := range c.view.Nodes {
			c.names[n.Name] = true
		}
	}
	return c.view.Nodes, c.names
}
