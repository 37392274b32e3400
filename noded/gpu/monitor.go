package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// DefaultIgnoredXIDs are the XID errors a user program causes (illegal
// memory access, page fault, a kernel stopped or preempted, video processor
// exception, context switch timeout): they end that program but say nothing
// about the GPU, so they do not make it unhealthy. This is NVIDIA's Kubernetes
// device plugin's list.
var DefaultIgnoredXIDs = []uint64{13, 31, 43, 45, 68, 109}

// DefaultCheckInterval is how often a Monitor polls each GPU by default.
const DefaultCheckInterval = 30 * time.Second

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Lib is NVML; nil when the node has none, and Declared is the inventory.
	Lib Lib
	// Declared is the inventory when Lib is nil (healthy fake GPUs).
	Declared []api.GPU
	// TypeOverride, when set, is the type of every GPU found by NVML.
	TypeOverride string
	// CheckInterval is the time between two polls of a GPU's health;
	// default DefaultCheckInterval.
	CheckInterval time.Duration
	// IgnoredXIDs are XID errors that leave a GPU healthy; nil means
	// DefaultIgnoredXIDs.
	IgnoredXIDs []uint64
	Clock       Clock
	Logger      *slog.Logger
}

// Monitor is the node's GPU inventory and watches its health. It is safe for
// concurrent use.
type Monitor struct {
	cfg     MonitorConfig
	log     *slog.Logger
	changed chan struct{}

	mu   sync.Mutex
	gpus []api.GPU
	devs map[int]Device // by index
}

// NewMonitor reads the inventory: from cfg.Lib when set, else cfg.Declared.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.IgnoredXIDs == nil {
		cfg.IgnoredXIDs = DefaultIgnoredXIDs
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, log: cfg.Logger, changed: make(chan struct{}, 1), devs: map[int]Device{}}
	if cfg.Lib == nil {
		for _, g := range cfg.Declared {
			m.gpus = append(m.gpus, g)
			m.devs[g.Index] = Device{Index: g.Index, UUID: g.UUID, Minor: g.Minor, MemoryMB: g.MemoryMB}
		}
		return m, nil
	}
	devs, err := cfg.Lib.Devices()
	if err != nil {
		return nil, fmt.Errorf("GPU inventory: %w", err)
	}
	for _, d := range devs {
		typ := cfg.TypeOverride
		if typ == "" {
			typ = TypeFromModel(d.Model)
		}
		m.gpus = append(m.gpus, api.GPU{
			Index: d.Index, UUID: d.UUID, Type: typ, Minor: d.Minor, MemoryMB: d.MemoryMB, Healthy: true,
		})
		m.devs[d.Index] = d
		m.log.Info("GPU found", "index", d.Index, "uuid", d.UUID, "model", d.Model, "type", typ,
			"minor", d.Minor, "memory_mb", d.MemoryMB, "mig", d.MIGEnabled, "mig_instances", len(d.MIG))
	}
	return m, nil
}

// FromNVML reports whether the inventory comes from NVML (rather than from
// the configuration).
func (m *Monitor) FromNVML() bool { return m.cfg.Lib != nil }

// Lib returns NVML, or nil.
func (m *Monitor) Lib() Lib { return m.cfg.Lib }

// GPUs returns the inventory with each GPU's current health, in index order.
func (m *Monitor) GPUs() []api.GPU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.gpus)
}

// Device returns what NVML told about the GPU with this index.
func (m *Monitor) Device(index int) (Device, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devs[index]
	return d, ok
}

// Unhealthy returns the GPUs among indices that are unhealthy, with why.
func (m *Monitor) Unhealthy(indices []int) map[int]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int]string{}
	for _, g := range m.gpus {
		if !g.Healthy && slices.Contains(indices, g.Index) {
			out[g.Index] = g.HealthReason
		}
	}
	return out
}

// Changed is signalled after a GPU's health changed.
func (m *Monitor) Changed() <-chan struct{} { return m.changed }

// MarkUnhealthy withdraws the GPU with this UUID ("" for every GPU) and
// signals Changed. It reports whether a GPU was healthy before.
func (m *Monitor) MarkUnhealthy(uuid, reason string) bool {
	m.mu.Lock()
	changed := false
	for i := range m.gpus {
		g := &m.gpus[i]
		if (uuid == "" || g.UUID == uuid) && g.Healthy {
			g.Healthy, g.HealthReason = false, reason
			changed = true
			m.log.Error("GPU unhealthy: withdrawn from scheduling", "index", g.Index, "uuid", g.UUID, "reason", reason)
		}
	}
	m.mu.Unlock()
	if changed {
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
	return changed
}

// Run watches NVML's events and polls every GPU until ctx is done. Without
// NVML it returns at once.
func (m *Monitor) Run(ctx context.Context) {
	lib := m.cfg.Lib
	if lib == nil || len(m.GPUs()) == 0 {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.watch(ctx)
	}()
	for {
		m.poll()
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-m.cfg.Clock.After(m.cfg.CheckInterval):
		}
	}
}

// watch follows NVML's critical events, restarting the watch after errors.
func (m *Monitor) watch(ctx context.Context) {
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		err := m.cfg.Lib.WatchEvents(ctx, m.handle)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrNoEvents):
			m.log.Warn("GPU events unavailable; health is polled only", "err", err, "interval", m.cfg.CheckInterval)
			return
		case err != nil:
			m.log.Warn("watching GPU events failed; retrying", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.cfg.Clock.After(backoff):
		}
	}
}

// handle judges one critical event.
func (m *Monitor) handle(ev Event) {
	var reason string
	switch ev.Kind {
	case EventXID:
		if slices.Contains(m.cfg.IgnoredXIDs, ev.XID) {
			m.log.Info("GPU reported an application XID error; GPU stays healthy", "uuid", ev.UUID, "xid", ev.XID)
			return
		}
		reason = fmt.Sprintf("XID %d critical error", ev.XID)
	case EventDoubleBitECC:
		reason = "double-bit ECC error"
	default:
		reason = fmt.Sprintf("critical event %s", ev.Kind)
	}
	if ev.UUID == "" {
		reason += " on an unidentified GPU"
	}
	m.MarkUnhealthy(ev.UUID, reason)
}

// poll checks every healthy GPU once.
func (m *Monitor) poll() {
	for _, g := range m.GPUs() {
		if !g.Healthy {
			continue
		}
		problem, err := m.cfg.Lib.Check(g.UUID)
		if err != nil {
			m.log.Warn("cannot check GPU health", "index", g.Index, "uuid", g.UUID, "err", err)
			continue
		}
		if problem != "" {
			m.MarkUnhealthy(g.UUID, problem)
		}
	}
}
