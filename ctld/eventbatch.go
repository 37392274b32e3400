package ctld

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// eventBatch is the group commit of the job events nodes report: reports
// that arrive while a raft commit of earlier ones is in flight wait and go
// to raft together, as one JobEvents command whose events each name their
// node (the FSM has read JobEvents this way since Node could be empty, so
// older replicas apply it alike). Each report still gets its own answer,
// and only once the command holding it is committed and applied. A report
// alone is committed as before (JobEvents.Node set). At 2,000 nodes each
// report was a raft command of its own, queueing behind each other (p50
// commit 0.8 s, docs/scale.md).
type eventBatch struct {
	mu       sync.Mutex
	queue    []*eventReport
	flushing bool // a goroutine is committing the queue
}

// eventReport is one node's report waiting for its commit.
type eventReport struct {
	node   string
	events []api.JobEvent
	done   chan error // receives the outcome once
}

// maxEventsPerCommand bounds the events one JobEvents command carries: a
// larger queue is committed in several commands.
const maxEventsPerCommand = 2048

// eventCommitTimeout bounds the commit of one batch: the reports in it are
// answered (their nodes resend) when it passes.
const eventCommitTimeout = 30 * time.Second

// commitEvents commits a node's validated events with the reports that
// arrive alongside, and returns when they are applied, or ctx ends (the
// outcome is then unknown; events may be resent).
func (s *Service) commitEvents(ctx context.Context, node string, events []api.JobEvent) error {
	r := &eventReport{node: node, events: events, done: make(chan error, 1)}
	b := &s.events
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if !b.flushing {
		b.flushing = true
		go s.flushEvents()
	}
	b.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("events of node %s: %w: %w", node, raftstore.ErrOutcomeUnknown, context.Cause(ctx))
	}
}

// flushEvents commits the queued reports, a batch at a time, until the
// queue is empty.
func (s *Service) flushEvents() {
	b := &s.events
	for {
		b.mu.Lock()
		n, count := 0, 0
		for n < len(b.queue) && (n == 0 || count+len(b.queue[n].events) <= maxEventsPerCommand) {
			count += len(b.queue[n].events)
			n++
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		if n == 0 {
			b.flushing = false
			b.queue = nil
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		cmd := eventsCommand(s.now().Unix(), batch)
		ctx, cancel := context.WithTimeout(s.stopCtx, eventCommitTimeout)
		_, err := s.apply(ctx, cmd)
		cancel()
		for _, r := range batch {
			r.done <- err
		}
	}
}

// eventsCommand is the JobEvents command of a batch of reports: the one
// report's node, or, for several, every event naming its node.
func eventsCommand(now int64, batch []*eventReport) raftstore.JobEvents {
	if len(batch) == 1 {
		return raftstore.JobEvents{Now: now, Node: batch[0].node, Events: batch[0].events}
	}
	cmd := raftstore.JobEvents{Now: now}
	for _, r := range batch {
		for _, ev := range r.events {
			ev.Node = r.node
			cmd.Events = append(cmd.Events, ev)
		}
	}
	return cmd
}
