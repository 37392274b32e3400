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
	members map[string]*partitionNodeList // by partition name
}

// partitionNodeList is a partition's nodes, for the node list the
// partition had when they were listed (the configuration may change while
// the nodes do not), and the requests known to fit them.
type partitionNodeList struct {
	list  []string
	nodes []*api.Node
	fits  map[api.FitKey]bool
}

// nodeConfig is what one submission is checked against: the stored nodes
// (read-only), their names, and each partition's members (an
// api.NodeSource).
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
		c.members = map[string]*partitionNodeList{}
	}
	return nodeConfig{cache: c, view: c.view, names: c.names}
}

// partition returns partition p's entry, listing its nodes when the cache
// has none for its node list. The cache's mutex must be held; nil when the
// cache has moved on to newer nodes than nc's.
func (nc nodeConfig) partition(p api.Partition) *partitionNodeList {
	c := nc.cache
	if c.view != nc.view {
		return nil
	}
	if m, ok := c.members[p.Name]; ok && slices.Equal(m.list, p.Nodes) {
		return m
	}
	m := &partitionNodeList{list: slices.Clone(p.Nodes), nodes: api.PartitionNodes(p, nc.view.Nodes), fits: map[api.FitKey]bool{}}
	c.members[p.Name] = m
	return m
}

// Members implements api.NodeSource.
func (nc nodeConfig) Members(p api.Partition) []*api.Node {
	nc.cache.mu.Lock()
	defer nc.cache.mu.Unlock()
	if m := nc.partition(p); m != nil {
		return m.nodes
	}
	return api.PartitionNodes(p, nc.view.Nodes)
}

// Fits implements api.NodeSource.
func (nc nodeConfig) Fits(p api.Partition, key api.FitKey) bool {
	nc.cache.mu.Lock()
	defer nc.cache.mu.Unlock()
	m := nc.partition(p)
	return m != nil && m.fits[key]
}

// maxFitsKept bounds the request shapes remembered per partition.
const maxFitsKept = 4096

// Fitted implements api.NodeSource.
func (nc nodeConfig) Fitted(p api.Partition, key api.FitKey) {
	nc.cache.mu.Lock()
	defer nc.cache.mu.Unlock()
	if m := nc.partition(p); m != nil && len(m.fits) < maxFitsKept {
		m.fits[key] = true
	}
}
