package raftstore

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
)

// Topic names a part of the state a blocking query can wait on. Every topic
// has a watch index: the raft index of the last command that changed it.
// Waiting on a topic wakes only when that topic changes, not on every
// commit.
type Topic string

// The topics of whole tables. A node's assignments have a topic of their own
// (NodeJobsTopic).
const (
	// TopicJobs changes with any job.
	TopicJobs Topic = "jobs"
	// TopicNodes changes with any node, and with any node's running jobs
	// (which change the nodes' derived usage and state).
	TopicNodes Topic = "nodes"
	// TopicConfig changes with the cluster configuration.
	TopicConfig Topic = "config"
	// TopicUsage changes with the fair-share usage.
	TopicUsage Topic = "usage"
	// TopicAll changes with every applied command (the applied index).
	TopicAll Topic = "all"
)

// nodeJobsPrefix starts the topics of the nodes' assignments.
const nodeJobsPrefix = "node-jobs/"

// NodeJobsTopic is the topic of the RUNNING jobs on a node (its node daemon's
// assignments): it changes when such a job starts, ends or leaves the node,
// or changes in any way (a kill or signal request, the end of its grace
// time).
func NodeJobsTopic(node string) Topic { return Topic(nodeJobsPrefix + node) }

// indexRow is a row of the index table: a topic's watch index. Rows are
// replaced as a whole; a reader watches its topic's row, whose memdb watch
// channel closes only when that row is written.
type indexRow struct {
	Topic string
	Index uint64
}

// baseTopics are the table topics, whose rows always exist.
func baseTopics() []Topic { return []Topic{TopicJobs, TopicNodes, TopicConfig, TopicUsage} }

// putIndexRows sets the watch index of the topics.
func putIndexRows(txn *memdb.Txn, topics []Topic, index uint64) error {
	for _, t := range topics {
		if err := txn.Insert(tableIndex, &indexRow{Topic: string(t), Index: index}); err != nil {
			return fmt.Errorf("set watch index of %s: %w", t, err)
		}
	}
	return nil
}

// recordChanges sets the watch index of every topic the transaction's
// changes (txn.TrackChanges) touch to index. It is deterministic, but
// replicas need not agree on it: the index table is not in snapshots.
func recordChanges(txn *memdb.Txn, index uint64) error {
	return putIndexRows(txn, touchedTopics(txn.Changes()), index)
}

// touchedTopics returns the topics that changes touch, sorted.
func touchedTopics(changes memdb.Changes) []Topic {
	touched := map[Topic]bool{}
	for _, ch := range changes {
		switch ch.Table {
		case tableJobs:
			touched[TopicJobs] = true
			before, _ := ch.Before.(*api.Job)
			after, _ := ch.After.(*api.Job)
			for _, j := range []*api.Job{before, after} {
				if j == nil || j.State != api.JobRunning {
					continue
				}
				for _, a := range j.Alloc {
					touched[NodeJobsTopic(a.Node)] = true
					touched[TopicNodes] = true
				}
			}
		case tableNodes:
			touched[TopicNodes] = true
			if n, ok := ch.After.(*api.Node); ok {
				// A registering node gets its row, so that its daemon's
				// query watches exactly its own assignments.
				touched[NodeJobsTopic(n.Name)] = true
			}
		case tableMeta:
			before, _ := ch.Before.(*meta)
			after, _ := ch.After.(*meta)
			if before == nil || after == nil {
				touched[TopicConfig], touched[TopicUsage] = true, true
				continue
			}
			if !reflect.DeepEqual(before.Config, after.Config) {
				touched[TopicConfig] = true
			}
			if before.UsageAt != after.UsageAt || !maps.Equal(before.Usage, after.Usage) {
				touched[TopicUsage] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(touched))
}

// topicIndex returns a topic's watch index and adds the channel that closes
// when it changes to ws. A topic without a row (a node that never
// registered) has index 0, and its channel closes on a nearby change.
func (st *State) topicIndex(ws memdb.WatchSet, t Topic) uint64 {
	if t == TopicAll {
		ch, _, err := st.txn.FirstWatch(tableMeta, indexID, metaKey)
		if err == nil {
			ws.Add(ch)
		}
		return st.meta.Index
	}
	ch, raw, err := st.txn.FirstWatch(tableIndex, indexID, string(t))
	if err != nil {
		return 0
	}
	ws.Add(ch)
	if raw == nil {
		return 0
	}
	return raw.(*indexRow).Index
}

// TopicIndex returns the largest watch index of the topics: the raft index
// of the last command that changed any of them (at most Index).
func (st *State) TopicIndex(topics ...Topic) uint64 {
	ws := memdb.NewWatchSet()
	var idx uint64
	for _, t := range topics {
		idx = max(idx, st.topicIndex(ws, t))
	}
	return idx
}

// wait blocks until one of the topics has a watch index above after, or ctx
// ends, and returns the state to answer from. It wakes only when one of the
// topics changes (or a snapshot restore replaces the state).
func (f *fsm) wait(ctx context.Context, after uint64, topics []Topic) *State {
	for {
		f.mu.Lock()
		abandon := f.abandon
		f.mu.Unlock()
		st := f.state()
		ws := memdb.NewWatchSet()
		ws.Add(abandon)
		var idx uint64
		for _, t := range topics {
			idx = max(idx, st.topicIndex(ws, t))
		}
		if idx > after {
			return st
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return f.state()
		}
		f.wakeups.Add(1)
	}
}

// Wait is a blocking query: it returns the state once one of the topics has
// changed after raft index after (its watch index exceeds after), or when ctx
// ends (then the current state). It wakes only when one of its topics
// changes, so N waiters on N nodes' assignments are not all woken by a
// commit that concerns one node. Answer with the returned state's Index: it
// is monotonic, and a query that passes it back as after blocks until the
// next change of its topics.
func (s *Store) Wait(ctx context.Context, after uint64, topics ...Topic) *State {
	return s.fsm.wait(ctx, after, topics)
}

// WatchWakeups counts the times a blocking query (Wait) was woken by a
// change, since the store opened: a metric of how much work commits cause
// the waiters.
func (s *Store) WatchWakeups() uint64 { return s.fsm.wakeups.Load() }
