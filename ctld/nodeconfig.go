package ctld

import (
	"slices"
	"sync"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// nodeConfigCache keeps the stored nodes (their registered resources and
// partitions) that submissions are checked against, with their names and
// each partition's members, until a node's row changes or a snapshot
// replaces the state. Deriving every node's usage from its running jobs
// (State.Nodes) for each submission took a third of the leader's CPU at 500
// nodes, and listing a partition's members for each submission a tenth of
// its allocations at 2,000 (docs/scale.md).
type nodeConfigCache struct {
	mu      sync.Mutex
	view    *raftstore.StaticNodes
	names   map[string]bool
	members map[string]partitionNodeList // by partition name
}

// partitionNodeList is a partition's nodes, for the node list the
// partition had when they were listed (the configuration may change while
// the nodes do not).
type partitionNodeList struct {
	list  []string
	nodes []*api.Node
}

// nodeConfig is what one submission is checked against: the stored nodes
// (read-only), their names, and each partition's members.
type nodeConfig struct {
	cache *nodeConfigCache
	view  *raftstore.StaticNodes
	names map[string]bool
}

// get returns the current stored nodes.
func (c *nodeConfigCache) get(store *raftstore.Store) nodeConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view == nil || c.view.Changed() {
		c.view = store.StaticNodes()
		c.names = make(map[string]bool, len(c.view.Nodes))
		for _, n := range c.view.Nodes {
			c.names[n.Name] = true
		}
		c.members = map[string]partitionNodeList{}
	}
	return nodeConfig{cache: c, view: c.view, names: c.names}
}

// membersOf returns partition p's nodes (api.PartitionNodes), kept while the
// nodes and the partition's node list stay the same.
func (nc nodeConfig) membersOf(p api.Partition) []*api.Node {
	c := nc.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view != nc.view {
		return api.PartitionNodes(p, nc.view.Nodes) // the cache moved on
	}
	if m, ok := c.members[p.Name]; ok && slices.Equal(m.list, p.Nodes) {
		return m.nodes
	}
	nodes := api.PartitionNodes(p, nc.view.Nodes)
	c.members[p.Name] = partitionNodeList{list: slices.Clone(p.Nodes), nodes: nodes}
	return nodes
}
