package gpu

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// fakeLib is a Lib whose GPUs, faults and events the test sets.
type fakeLib struct {
	devs   []Device
	events chan Event
	noEvts bool

	mu       sync.Mutex
	problems map[string]string
	samples  map[string]Sample
	closed   bool
}

func newFakeLib(n int) *fakeLib {
	l := &fakeLib{events: make(chan Event, 8), problems: map[string]string{}, samples: map[string]Sample{}}
	for i := 0; i < n; i++ {
		l.devs = append(l.devs, Device{Index: i, UUID: fmt.Sprintf("GPU-%d", i), Minor: i, Model: "NVIDIA H100 80GB HBM3", MemoryMB: 81559})
	}
	return l
}

func (l *fakeLib) Devices() ([]Device, error) { return l.devs, nil }

func (l *fakeLib) Sample(uuid string) (Sample, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.samples[uuid]
	if !ok {
		return UnknownSample(), fmt.Errorf("GPU %s is lost", uuid)
	}
	return s, nil
}

func (l *fakeLib) Check(uuid string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.problems[uuid], nil
}

func (l *fakeLib) setProblem(uuid, p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problems[uuid] = p
}

func (l *fakeLib) WatchEvents(ctx context.Context, fn func(Event)) error {
	if l.noEvts {
		return fmt.Errorf("register: %w", ErrNoEvents)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-l.events:
			fn(ev)
		}
	}
}

func (l *fakeLib) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func health(m *Monitor) map[int]string {
	out := map[int]string{}
	for _, g := range m.GPUs() {
		if !g.Healthy {
			out[g.Index] = g.HealthReason
		}
	}
	return out
}

func TestMonitorInventory(t *testing.T) {
	lib := newFakeLib(2)
	m, err := NewMonitor(MonitorConfig{Lib: lib})
	if err != nil {
		t.Fatal(err)
	}
	want := []api.GPU{
		{Index: 0, UUID: "GPU-0", Type: "h100", Minor: 0, MemoryMB: 81559, Healthy: true},
		{Index: 1, UUID: "GPU-1", Type: "h100", Minor: 1, MemoryMB: 81559, Healthy: true},
	}
	if diff := cmp.Diff(want, m.GPUs()); diff != "" {
		t.Errorf("GPUs (-want +got):\n%s", diff)
	}
	if !m.FromNVML() {
		t.Error("FromNVML() = false with a library")
	}

	m, err = NewMonitor(MonitorConfig{Lib: lib, TypeOverride: "h100-sxm"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.GPUs()[1].Type; got != "h100-sxm" {
		t.Errorf("type with an override = %q, want h100-sxm", got)
	}

	declared := []api.GPU{{Index: 0, UUID: "GPU-fake-0", Type: "gpu", Minor: 0, Healthy: true}}
	m, err = NewMonitor(MonitorConfig{Declared: declared})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(declared, m.GPUs()); diff != "" || m.FromNVML() {
		t.Errorf("declared GPUs (-want +got):\n%s; FromNVML %v", diff, m.FromNVML())
	}
	if d, ok := m.Device(0); !ok || d.UUID != "GPU-fake-0" {
		t.Errorf("Device(0) = %+v, %v", d, ok)
	}
}

func TestMonitorJudgesEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   map[int]string
	}{
		{"application XID leaves the GPU healthy", []Event{{UUID: "GPU-1", Kind: EventXID, XID: 13}, {UUID: "GPU-1", Kind: EventXID, XID: 43}}, map[int]string{}},
		{"XID 79 withdraws the GPU", []Event{{UUID: "GPU-1", Kind: EventXID, XID: 79}}, map[int]string{1: "XID 79 critical error"}},
		{"double-bit ECC withdraws the GPU", []Event{{UUID: "GPU-2", Kind: EventDoubleBitECC}}, map[int]string{2: "double-bit ECC error"}},
		{"an event of no known GPU withdraws them all", []Event{{Kind: EventXID, XID: 48}}, map[int]string{
			0: "XID 48 critical error on an unidentified GPU", 1: "XID 48 critical error on an unidentified GPU", 2: "XID 48 critical error on an unidentified GPU",
		}},
		{"the first reason stays", []Event{{UUID: "GPU-0", Kind: EventXID, XID: 79}, {UUID: "GPU-0", Kind: EventDoubleBitECC}}, map[int]string{0: "XID 79 critical error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMonitor(MonitorConfig{Lib: newFakeLib(3)})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.events {
				m.handle(ev)
			}
			if diff := cmp.Diff(tc.want, health(m)); diff != "" {
				t.Errorf("unhealthy GPUs (-want +got):\n%s", diff)
			}
			select {
			case <-m.Changed():
				if len(tc.want) == 0 {
					t.Error("Changed signalled though every GPU stayed healthy")
				}
			default:
				if len(tc.want) > 0 {
					t.Error("Changed not signalled after a GPU was withdrawn")
				}
			}
		})
	}
}

func TestMonitorRunWatchesAndPolls(t *testing.T) {
	lib := newFakeLib(3)
	m, err := NewMonitor(MonitorConfig{Lib: lib, CheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	lib.events <- Event{UUID: "GPU-0", Kind: EventXID, XID: 94}
	waitUntil(t, func() bool { return health(m)[0] != "" })
	lib.setProblem("GPU-2", "3 uncorrected ECC errors")
	waitUntil(t, func() bool { return health(m)[2] != "" })
	want := map[int]string{0: "XID 94 critical error", 2: "3 uncorrected ECC errors"}
	if diff := cmp.Diff(want, health(m)); diff != "" {
		t.Errorf("unhealthy GPUs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]string{2: "3 uncorrected ECC errors"}, m.Unhealthy([]int{1, 2})); diff != "" {
		t.Errorf("Unhealthy([1 2]) (-want +got):\n%s", diff)
	}
}

func TestMonitorPollsWhenEventsAreUnsupported(t *testing.T) {
	lib := newFakeLib(1)
	lib.noEvts = true
	m, err := NewMonitor(MonitorConfig{Lib: lib, CheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	lib.setProblem("GPU-0", "GPU is lost")
	waitUntil(t, func() bool { return health(m)[0] == "GPU is lost" })
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
