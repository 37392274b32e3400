package ctld

import (
	"sync"
	"time"
)

// liveness holds the leader's in-memory record of node heartbeats. It is not
// replicated: only the DOWN transition is committed. After a leadership
// change every node's timer starts again at the new leader's "now".
type liveness struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newLiveness() *liveness { return &liveness{last: map[string]time.Time{}} }

// seen records a sign of life from a node.
func (l *liveness) seen(node string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last[node] = at
}

// reset forgets every node and starts the given ones' timers at now.
func (l *liveness) reset(nodes []string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.last)
	for _, n := range nodes {
		l.last[n] = now
	}
}

// lastSeen returns the node's last sign of life; a node not seen yet starts
// its timer at now.
func (l *liveness) lastSeen(node string, now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.last[node]
	if !ok {
		l.last[node] = now
		return now
	}
	return t
}
