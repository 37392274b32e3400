//go:build e2e

package hatest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// envInt reads a positive integer from the environment, else def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("$%s=%q: want a positive integer", name, v)
	}
	return n
}

// load submits jobs through every controller from many goroutines, paced
// to a target rate, and records what was acknowledged and what failed.
type load struct {
	c       *cluster
	prefix  string
	rate    int // submissions per second
	workers int
	// runnableEvery makes every n-th submission a runnable job.
	runnableEvery int

	seq atomic.Int64

	mu       sync.Mutex
	acked    map[string]api.JobID // submission name -> acknowledged ID
	runnable map[string]bool      // names of runnable submissions
	acks     []ack                // in acknowledgement order
	errs     map[string]int
	// Every readEvery-th acknowledged job is read back at once, with a
	// consistent read that starts at another controller than the submission.
	readEvery  int
	reads      int            // reads that answered
	readMisses []string       // acknowledged jobs a consistent read did not show
	readErrs   map[string]int // reads that failed, by kind
	latency    []time.Duration
	started    time.Time
	stopped    time.Time
}

func newLoad(c *cluster, prefix string, rate, workers int) *load {
	return &load{c: c, prefix: prefix, rate: rate, workers: workers, runnableEvery: 50, readEvery: 10,
		acked: map[string]api.JobID{}, runnable: map[string]bool{}, errs: map[string]int{}, readErrs: map[string]int{}}
}

// run submits until ctx ends, then waits for the submissions in flight
// (each bounded by its own timeout).
func (l *load) run(ctx context.Context) {
	// One client per controller order, so every controller takes
	// submissions first from some workers.
	var clients, readers []*client.Client
	for i := range l.c.ctlds {
		order := append(slices.Clone(l.c.ctlds[i:]), l.c.ctlds[:i]...)
		clients = append(clients, l.c.client(20*time.Second, 5*time.Second, order...))
		readers = append(readers, l.c.client(20*time.Second, 5*time.Second, order...).WithConsistent(true))
	}
	tokens := make(chan struct{}, l.rate)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		credit := 0.0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			credit += float64(l.rate) / 100
			for ; credit >= 1; credit-- {
				select {
				case tokens <- struct{}{}:
				default: // the workers are behind: the rate is not reached
				}
			}
		}
	}()
	l.started = time.Now()
	var wg sync.WaitGroup
	for w := range l.workers {
		cl, reader := clients[w%len(clients)], readers[(w+1)%len(readers)]
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-tokens:
				}
				l.submit(cl, reader)
			}
		})
	}
	wg.Wait()
	l.stopped = time.Now()
}

// submit sends one keyed submission with a unique name; every readEvery-th
// acknowledged one is read back through reader, consistently.
func (l *load) submit(cl, reader *client.Client) {
	n := l.seq.Add(1)
	name := fmt.Sprintf("%s-%d", l.prefix, n)
	runnable := n%int64(l.runnableEvery) == 0
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	t0 := time.Now()
	ids, err := cl.Submit(ctx, l.c.submitSpec(name, runnable))
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if runnable {
		l.runnable[name] = true
	}
	if err != nil {
		l.errs[errKind(err)]++
		return
	}
	if len(ids) != 1 {
		l.errs[fmt.Sprintf("%d IDs for one job", len(ids))]++
		return
	}
	l.acked[name] = ids[0]
	l.acks = append(l.acks, ack{sent: t0, acked: now})
	l.latency = append(l.latency, now.Sub(t0))
	if n%int64(l.readEvery) != 0 {
		return
	}
	l.mu.Unlock()
	j, err := reader.Job(ctx, ids[0])
	l.mu.Lock()
	switch {
	case client.IsNotFound(err), err == nil && (j.ID != ids[0] || j.Spec.Name != name):
		l.readMisses = append(l.readMisses, name)
	case err != nil:
		l.readErrs[errKind(err)]++
	default:
		l.reads++
	}
}

// ack is one acknowledged submission: when it was sent and answered.
type ack struct{ sent, acked time.Time }

// ackedSince returns the first acknowledgement of a submission sent at or
// after t (a submission sent before a fault may be answered just after it,
// which says nothing about recovery).
func (l *load) ackedSince(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, a := range l.acks {
		if !a.sent.Before(t) && (first.IsZero() || a.acked.Before(first)) {
			first = a.acked
		}
	}
	return first, !first.IsZero()
}

// percentile returns the p-th percentile (0..100) of ds, 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// secs is d in seconds with millisecond precision, for the report.
func secs(d time.Duration) float64 { return float64(d.Round(time.Millisecond)) / float64(time.Second) }
