package raftstore

import (
	"github.com/fairway-hpc/fairway/api"
)

// StaticNodes is every node as stored, at one moment: registered
// resources, partitions, features and the stored state, without the usage
// Nodes derives from the running jobs. The nodes are the store's own
// objects, shared: read-only. It stays current until Changed reports true:
// running jobs do not change node rows, so a submission's check against the
// nodes' configuration can reuse it across many submissions.
type StaticNodes struct {
	// Nodes are ordered by name.
	Nodes []*api.Node
	// changed closes when a node row changes after the view was taken;
	// abandoned when a snapshot restore replaces the whole state.
	changed, abandoned <-chan struct{}
}

// Changed reports whether a node row changed (or a snapshot replaced the
// state) since the view was taken.
func (v *StaticNodes) Changed() bool {
	select {
	case <-v.changed:
		return true
	case <-v.abandoned:
		return true
	default:
		return false
	}
}

// StaticNodes returns the stored nodes of the current state (see
// StaticNodes). It costs one walk of the nodes table, where State.Nodes
// derives each node's usage from the jobs running on it.
func (s *Store) StaticNodes() *StaticNodes { return s.fsm.staticNodes() }

func (f *fsm) staticNodes() *StaticNodes {
	f.mu.Lock()
	abandoned := f.abandon
	f.mu.Unlock()
	nodes, changed := f.state().nodesStatic()
	return &StaticNodes{Nodes: nodes, changed: changed, abandoned: abandoned}
}

// nodesStatic returns the stored nodes, ordered by name, and the channel
// that closes when a node row changes.
func (st *State) nodesStatic() ([]*api.Node, <-chan struct{}) {
	it, err := st.txn.Get(tableNodes, indexID)
	if err != nil {
		closed := make(chan struct{})
		close(closed)
		return nil, closed
	}
	var out []*api.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Node))
	}
	return out, it.WatchCh()
}
