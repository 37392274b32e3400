// Package simnode runs many simulated node daemons in one process. Each
// does what noded does through the real API with its own TLS client
// certificate (fairway://node/NAME, issued in-process from the cluster
// CA): it registers, heartbeats, holds a blocking watch on its job list
// (GET /v1/nodes/{name}/jobs with the last index), "runs" each job it is
// the first node of for the run time its name carries, and reports the
// start and the end (POST /v1/nodes/{name}/events) until acknowledged.
package simnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/report"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/workload"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// Config configures a fleet of simulated nodes.
type Config struct {
	Count       int    // nodes
	Prefix      string // node names: Prefix + 5-digit number
	GPUsPerNode int
	GPUType     string
	CPUs        int
	MemoryMB    int64
	// Addrs are the controllers' base URLs; node i lists them starting at
	// i % len(Addrs), so the watches spread over the controllers.
	Addrs []string
	CA    *pki.CA
	// Heartbeat is the time between a node's heartbeats; WatchWait the
	// longest a watch blocks.
	Heartbeat time.Duration
	WatchWait time.Duration
	// RegisterConcurrency bounds the registrations in flight at start.
	RegisterConcurrency int
	Routes              *report.Routes
	// OnStart is called once per run the fleet starts, at the moment its
	// first node saw it running.
	OnStart func(job *api.Job, at time.Time)
	Log     *slog.Logger
}

// Validate checks the configuration, naming the field at fault.
func (c Config) Validate() error {
	switch {
	case c.Count < 1:
		return fmt.Errorf("nodes: %d, want at least 1", c.Count)
	case c.GPUsPerNode < 0 || c.CPUs < 1 || c.MemoryMB < 1:
		return fmt.Errorf("node resources: %d GPUs, %d CPUs, %d MB: want GPUs >= 0, CPUs and memory >= 1", c.GPUsPerNode, c.CPUs, c.MemoryMB)
	case len(c.Addrs) == 0:
		return errors.New("controllers: no address")
	case c.CA == nil:
		return errors.New("CA: none to issue the nodes' certificates")
	case c.Heartbeat <= 0 || c.WatchWait <= 0:
		return fmt.Errorf("heartbeat %s, watch wait %s: want positive", c.Heartbeat, c.WatchWait)
	}
	return nil
}

// Stats are the fleet's counters.
type Stats struct {
	Registered    int64
	Wakeups       int64 // watch answers with a new index
	UsefulWakeups int64 // of those, answers that changed the node's runs
	Timeouts      int64 // watch answers with the index unchanged
	WatchErrors   int64
	Started       int64 // runs started (first nodes)
	Finished      int64 // runs whose end was reported and acknowledged
	Killed        int64 // runs ended early by a kill request
	GPUsBusy      int64 // GPUs of runs started and not yet ended
	EventErrors   int64
}

// Fleet is the simulated nodes.
type Fleet struct {
	cfg   Config
	nodes []*node
	st    struct {
		registered, wakeups, useful, timeouts, watchErrs, started, finished, killed, gpus, eventErrs atomic.Int64
	}
}

// New issues the nodes' certificates and returns the fleet, not started.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulated nodes: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.RegisterConcurrency <= 0 {
		cfg.RegisterConcurrency = 64
	}
	f := &Fleet{cfg: cfg, nodes: make([]*node, cfg.Count)}
	pool, err := apipki.ParseCAPool(cfg.CA.CertPEM())
	if err != nil {
		return nil, fmt.Errorf("simulated nodes: CA: %w", err)
	}
	now := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, cfg.Count)
	sem := make(chan struct{}, 8)
	for i := range cfg.Count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("%s%05d", cfg.Prefix, i)
			iss, err := cfg.CA.Issue(pki.IssueRequest{Identity: apipki.Node(name), Hosts: []string{"127.0.0.1"}, Now: now})
			if err != nil {
				errs[i] = fmt.Errorf("certificate of %s: %w", name, err)
				return
			}
			pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
			if err != nil {
				errs[i] = fmt.Errorf("key pair of %s: %w", name, err)
				return
			}
			creds := &apipki.Credentials{Cert: pair, Identity: apipki.Node(name), CAs: pool}
			addrs := append(slices.Clone(cfg.Addrs[i%len(cfg.Addrs):]), cfg.Addrs[:i%len(cfg.Addrs)]...)
			c := client.NewWithOptions(client.Options{Addrs: joinAddrs(addrs), TLS: creds.ClientConfig(),
				AttemptTimeout: 15 * time.Second, RetryFor: 30 * time.Second}).WithAuth(client.NoAuth{})
			f.nodes[i] = &node{f: f, name: name, api: c, runs: map[runKey]*run{}, done: map[runKey]bool{}, wake: make(chan struct{}, 1)}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulated nodes: %w", err)
	}
	return f, nil
}

func joinAddrs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

// Stats returns the counters now.
func (f *Fleet) Stats() Stats {
	return Stats{Registered: f.st.registered.Load(), Wakeups: f.st.wakeups.Load(), UsefulWakeups: f.st.useful.Load(),
		Timeouts: f.st.timeouts.Load(), WatchErrors: f.st.watchErrs.Load(), Started: f.st.started.Load(),
		Finished: f.st.finished.Load(), Killed: f.st.killed.Load(), GPUsBusy: f.st.gpus.Load(), EventErrors: f.st.eventErrs.Load()}
}

// Names lists the nodes' names.
func (f *Fleet) Names() []string {
	out := make([]string, len(f.nodes))
	for i, n := range f.nodes {
		out[i] = n.name
	}
	return out
}

// Run registers every node (RegisterConcurrency at a time) and runs them
// until ctx ends; it returns when every node's goroutines have stopped.
func (f *Fleet) Run(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, f.cfg.RegisterConcurrency)
	for _, n := range f.nodes {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := n.register(ctx)
			<-sem
			if !ok {
				return
			}
			n.runLoops(ctx)
		}()
	}
	wg.Wait()
}

type runKey struct {
	job api.JobID
	run int
}

// run is a job run the node "runs".
type run struct {
	gpus   int
	seen   uint64 // the list index it was first seen at
	timer  *time.Timer
	ending bool // its end event is queued
}

// node is one simulated node daemon.
type node struct {
	f    *Fleet
	name string
	api  *client.Client

	mu     sync.Mutex
	runs   map[runKey]*run
	done   map[runKey]bool // runs ended: never started again by a stale list
	outbox []api.JobEvent
	wake   chan struct{} // the event sender has work
}

// call times one API call under its route.
func (n *node) call(route string, fn func() error) error {
	start := time.Now()
	err := fn()
	if n.f.cfg.Routes != nil {
		n.f.cfg.Routes.Observe(route, time.Since(start), err)
	}
	return err
}

func (n *node) register(ctx context.Context) bool {
	cfg := n.f.cfg
	gpus := make([]api.GPU, cfg.GPUsPerNode)
	for i := range gpus {
		gpus[i] = api.GPU{Index: i, Minor: i, Type: cfg.GPUType, UUID: fmt.Sprintf("GPU-%s-%d", n.name, i), MemoryMB: 81920, Healthy: true}
	}
	req := api.RegisterNodeRequest{Name: n.name, Addr: "127.0.0.1:1", Resources: api.NodeResources{CPUs: cfg.CPUs, MemoryMB: cfg.MemoryMB, GPUs: gpus},
		BootTime: time.Now().Add(-time.Hour).Unix()}
	for attempt := 0; ; attempt++ {
		err := n.call("POST /v1/nodes/register", func() error { _, err := n.api.RegisterNode(ctx, req); return err })
		if err == nil {
			n.f.st.registered.Add(1)
			_ = n.heartbeat(ctx)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt%10 == 0 {
			cfg.Log.Warn("simulated node cannot register; retrying", "node", n.name, "err", err)
		}
		if !sleep(ctx, time.Second) {
			return false
		}
	}
}

func (n *node) heartbeat(ctx context.Context) error {
	n.mu.Lock()
	refs := make([]api.JobRunRef, 0, len(n.runs))
	for k := range n.runs {
		refs = append(refs, api.JobRunRef{JobID: k.job, Run: k.run})
	}
	n.mu.Unlock()
	return n.call("POST /v1/nodes/{name}/heartbeat", func() error {
		_, err := n.api.Heartbeat(ctx, n.name, api.HeartbeatRequest{Running: refs})
		return err
	})
}

func (n *node) runLoops(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); n.heartbeatLoop(ctx) }()
	go func() { defer wg.Done(); n.watchLoop(ctx) }()
	go func() { defer wg.Done(); n.sendLoop(ctx) }()
	wg.Wait()
	n.mu.Lock()
	for _, r := range n.runs {
		if r.timer != nil {
			r.timer.Stop()
		}
	}
	n.mu.Unlock()
}

func (n *node) heartbeatLoop(ctx context.Context) {
	hb := n.f.cfg.Heartbeat
	// Spread the fleet's heartbeats over the interval.
	if !sleep(ctx, time.Duration(rand.Int64N(int64(hb)))) {
		return
	}
	for {
		err := n.heartbeat(ctx)
		if client.IsNotFound(err) && !n.register(ctx) {
			return
		}
		if !sleep(ctx, hb) {
			return
		}
	}
}

func (n *node) watchLoop(ctx context.Context) {
	var index uint64
	var last []runKey
	for {
		var resp *api.JobsResponse
		err := n.call("GET /v1/nodes/{name}/jobs (watch)", func() error {
			var err error
			resp, err = n.api.NodeJobs(ctx, n.name, client.QueryOptions{WaitIndex: index, WaitTime: n.f.cfg.WatchWait})
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			n.f.st.watchErrs.Add(1)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		switch {
		case index != 0 && resp.Index > index:
			n.f.st.wakeups.Add(1)
		case index != 0 && resp.Index == index:
			n.f.st.timeouts.Add(1)
		}
		wasIndex := index
		if resp.Index < index {
			index = 0
		} else {
			index = resp.Index
		}
		keys := n.reconcile(resp)
		if wasIndex != 0 && resp.Index > wasIndex && !slices.Equal(keys, last) {
			n.f.st.useful.Add(1)
		}
		last = keys
		if resp.Index == 0 && !sleep(ctx, time.Second) {
			return
		}
	}
}

// reconcile starts the runs the list gives this node as first node, ends
// those with a kill request, forgets those no longer listed, and returns
// the listed runs (with their kill state) sorted, to tell a list that
// changed from one that did not.
func (n *node) reconcile(resp *api.JobsResponse) []runKey {
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	listed := map[runKey]bool{}
	var keys []runKey
	for _, job := range resp.Jobs {
		if job == nil || job.State != api.JobRunning || len(job.Alloc) == 0 {
			continue
		}
		k := runKey{job.ID, job.RestartCount}
		kk := k
		if job.Kill != nil {
			kk.run = -1 - kk.run // a kill request changes the list
		}
		keys = append(keys, kk)
		if job.Alloc[0].Node != n.name {
			continue
		}
		listed[k] = true
		r := n.runs[k]
		if r == nil && n.done[k] {
			continue
		}
		if r == nil {
			gpus := 0
			for _, a := range job.Alloc {
				gpus += len(a.GPUs)
			}
			r = &run{gpus: gpus, seen: resp.Index}
			n.runs[k] = r
			n.f.st.started.Add(1)
			n.f.st.gpus.Add(int64(gpus))
			if n.f.cfg.OnStart != nil {
				n.f.cfg.OnStart(job, now)
			}
			n.queueLocked(api.JobEvent{JobID: job.ID, Run: job.RestartCount, Node: n.name, Kind: api.EventStarted})
			d, _ := workload.DurationOf(job.Spec.Name)
			r.timer = time.AfterFunc(d, func() { n.end(k, api.JobEvent{ExitCode: 0}) })
		}
		if job.Kill != nil && !r.ending {
			r.timer.Stop()
			n.f.st.killed.Add(1)
			n.endLocked(k, r, api.JobEvent{ExitCode: 0, Signal: 15, Message: "killed"})
		}
	}
	for k, r := range n.runs {
		if !listed[k] && !r.ending && resp.Index >= r.seen {
			// The controller ended it without us (node down, requeue):
			// nothing to report.
			r.timer.Stop()
			n.f.st.gpus.Add(-int64(r.gpus))
			delete(n.runs, k)
			n.done[k] = true
		}
	}
	slices.SortFunc(keys, func(a, b runKey) int {
		if a.job != b.job {
			return int(a.job - b.job)
		}
		return a.run - b.run
	})
	return keys
}

// end queues the end of a run that finished its run time.
func (n *node) end(k runKey, ev api.JobEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.runs[k]; r != nil && !r.ending {
		n.endLocked(k, r, ev)
	}
}

func (n *node) endLocked(k runKey, r *run, ev api.JobEvent) {
	r.ending = true
	n.f.st.gpus.Add(-int64(r.gpus))
	ev.JobID, ev.Run, ev.Node, ev.Kind = k.job, k.run, n.name, api.EventExited
	n.queueLocked(ev)
}

func (n *node) queueLocked(ev api.JobEvent) {
	n.outbox = append(n.outbox, ev)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// sendLoop reports the outbox's events, all pending at once, until each
// is acknowledged (as noded's outbox).
func (n *node) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		for {
			n.mu.Lock()
			batch := slices.Clone(n.outbox)
			n.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			err := n.call("POST /v1/nodes/{name}/events", func() error { return n.api.ReportEvents(ctx, n.name, batch) })
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				n.f.st.eventErrs.Add(1)
				if !sleep(ctx, time.Second) {
					return
				}
				continue
			}
			n.mu.Lock()
			n.outbox = n.outbox[len(batch):]
			for _, ev := range batch {
				if ev.Kind == api.EventExited {
					delete(n.runs, runKey{ev.JobID, ev.Run})
					n.done[runKey{ev.JobID, ev.Run}] = true
					n.f.st.finished.Add(1)
				}
			}
			n.mu.Unlock()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
