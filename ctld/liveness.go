package ctld

import (
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// liveness holds the leader's in-memory record of node heartbeats and of
// the figures they carry (free memory, CPU load). It is not replicated:
// only the DOWN transition is committed, and a commit per heartbeat is what
// the scale work forbids. After a leadership change every node's timer
// starts again at the new leader's "now" and its figures are unknown until
// its next heartbeat.
type liveness struct {
	mu      sync.Mutex
	last    map[string]time.Time
	figures map[string]nodeFigures
}

// nodeFigures are a node's latest reported free memory (MB) and 5-minute
// load average; nil when it did not report one.
type nodeFigures struct {
	freeMemMB *int64
	cpuLoad   *float64
}

func newLiveness() *liveness {
	return &liveness{last: map[string]time.Time{}, figures: map[string]nodeFigures{}}
}

// seen records a sign of life from a node.
func (l *liveness) seen(node string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last[node] = at
}

// heartbeat records a heartbeat from a node at a time, with its figures.
func (l *liveness) heartbeat(node string, at time.Time, req api.HeartbeatRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last[node] = at
	f := nodeFigures{}
	if req.FreeMemMB != nil && *req.FreeMemMB >= 0 {
		v := *req.FreeMemMB
		f.freeMemMB = &v
	}
	if req.CPULoad != nil && *req.CPULoad >= 0 {
		v := *req.CPULoad
		f.cpuLoad = &v
	}
	l.figures[node] = f
}

// reset forgets every node and starts the given ones' timers at now.
func (l *liveness) reset(nodes []string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.last)
	clear(l.figures)
	for _, n := range nodes {
		l.last[n] = now
	}
}

// fill sets the figures of the nodes (copies the caller owns) from their
// latest heartbeats; nodes without any keep nil figures.
func (l *liveness) fill(nodes []*api.Node) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range nodes {
		if f, ok := l.figures[n.Name]; ok {
			n.FreeMemMB, n.CPULoad = f.freeMemMB, f.cpuLoad
		}
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
