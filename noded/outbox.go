package noded

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// outbox holds the job events the controller has not committed yet and
// reports them, in the order they were added, retrying with backoff until
// the controller acknowledges them. Each event is persisted in its run's
// record before it is added (Launched, End), and marked reported there when
// acknowledged (StartedReported, EndReported, through the ack function), so
// a restarted daemon adds again exactly the events not yet committed. The
// controller applies events idempotently, so a report repeated after a
// crash between its commit and the record changes nothing.
type outbox struct {
	mu    sync.Mutex
	items []outItem
	seq   uint64
	wake  chan struct{}
}

// outItem is one event waiting for the controller.
type outItem struct {
	seq uint64
	key runKey
	ev  api.JobEvent
	ack func()
}

func newOutbox() *outbox {
	return &outbox{wake: make(chan struct{}, 1)}
}

// add queues an event of the run key; ack is called once the controller
// has committed it.
func (o *outbox) add(key runKey, ev api.JobEvent, ack func()) {
	o.mu.Lock()
	o.seq++
	o.items = append(o.items, outItem{seq: o.seq, key: key, ev: ev, ack: ack})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// drop withdraws the events of a run that is no longer to be reported
// (abandoned or forgotten).
func (o *outbox) drop(key runKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	kept := o.items[:0]
	for _, it := range o.items {
		if it.key != key {
			kept = append(kept, it)
		}
	}
	clear(o.items[len(kept):])
	o.items = kept
}

// pending returns the events waiting, oldest first.
func (o *outbox) pending() []outItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]outItem(nil), o.items...)
}

// flush reports what is waiting with send, once. On success the events are
// removed and acknowledged; it returns how many were sent.
func (o *outbox) flush(ctx context.Context, send func(context.Context, []api.JobEvent) error) (int, error) {
	items := o.pending()
	if len(items) == 0 {
		return 0, nil
	}
	events := make([]api.JobEvent, len(items))
	for i, it := range items {
		events[i] = it.ev
	}
	if err := send(ctx, events); err != nil {
		return len(items), err
	}
	sent := map[uint64]bool{}
	for _, it := range items {
		sent[it.seq] = true
	}
	o.mu.Lock()
	kept := o.items[:0]
	var acked []outItem
	for _, it := range o.items {
		if sent[it.seq] {
			acked = append(acked, it)
		} else {
			kept = append(kept, it)
		}
	}
	clear(o.items[len(kept):])
	o.items = kept
	o.mu.Unlock()
	for _, it := range acked {
		it.ack()
	}
	return len(items), nil
}

// run reports events as they are added until ctx is done.
func (o *outbox) run(ctx context.Context, send func(context.Context, []api.JobEvent) error, clock Clock, m *metrics, log *slog.Logger) {
	var retry <-chan time.Time
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-retry:
		}
		retry = nil
		n, err := o.flush(ctx, send)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.reportErrors.Inc()
			backoff = nextBackoff(backoff)
			log.Warn("cannot report job events; retrying", "events", n, "err", err, "in", backoff)
			retry = clock.After(backoff)
			continue
		}
		backoff = 0
	}
}
