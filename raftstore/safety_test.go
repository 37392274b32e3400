package raftstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

// mustEncode encodes a command for a raw log entry.
func mustEncode(t *testing.T, cmd Command) []byte {
	t.Helper()
	data, err := encodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEntriesThatHaltTheReplica(t *testing.T) {
	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		wantMsg string // in the halt error's text
	}{
		{"empty entry", func(*testing.T) []byte { return nil }, "empty log entry"},
		{"type 0", func(*testing.T) []byte { return []byte{0} }, "unknown command type 0"},
		{"unknown type", func(*testing.T) []byte { return []byte{99, '{', '}'} }, "unknown command type 99"},
		{"known type, undecodable", func(*testing.T) []byte {
			return append([]byte{byte(cmdCancelJob)}, "not json"...)
		}, "decode command CancelJob"},
		{"unknown usage formula version", func(t *testing.T) []byte {
			return mustEncode(t, AccrueUsage{Now: cmdNow, Formula: 99})
		}, "usage formula version 99 is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			var halts []*HaltError
			h.f.onHalt = func(e *HaltError) { halts = append(halts, e) }
			before := stateContents(h.state())
			data := tt.data(t)
			badIndex := h.idx + 1
			h.idx++
			res := h.f.Apply(&raft.Log{Index: h.idx, Type: raft.LogCommand, Data: data}).(*applyResult)
			var he *HaltError
			if !errors.As(res.err, &he) || !errors.Is(res.err, ErrHalted) {
				t.Fatalf("bad entry: error = %v, want a *HaltError", res.err)
			}
			if he.Index != badIndex || !strings.Contains(he.Error(), tt.wantMsg) {
				t.Errorf("halt error = %q at index %d, want index %d and %q", he, he.Index, badIndex, tt.wantMsg)
			}
			// Later entries are not applied either: a halted replica never
			// shows or persists a state that skipped an entry.
			if _, err := h.apply(HoldJob{ID: 1}); !errors.Is(err, ErrHalted) {
				t.Errorf("apply after the halt: error = %v, want ErrHalted", err)
			}
			if diff := cmp.Diff(before, stateContents(h.state())); diff != "" {
				t.Errorf("the halted replica's state changed (-before +after):\n%s", diff)
			}
			if _, err := h.f.Snapshot(); !errors.Is(err, ErrHalted) {
				t.Errorf("Snapshot after the halt: error = %v, want ErrHalted", err)
			}
			if len(halts) != 1 {
				t.Errorf("onHalt called %d times, want 1", len(halts))
			}
		})
	}
}

func TestIgnorableUnknownEntryIsSkipped(t *testing.T) {
	h := setup(t)
	h.f.onHalt = func(e *HaltError) { t.Errorf("halted: %v", e) }
	before := stateContents(h.state())
	h.idx++
	data := []byte{flagIgnoreUnknown | 99, '{', '}'}
	res := h.f.Apply(&raft.Log{Index: h.idx, Type: raft.LogCommand, Data: data}).(*applyResult)
	if res.err != nil {
		t.Fatalf("ignorable entry: %v", res.err)
	}
	after := stateContents(h.state())
	if after.Index != h.idx {
		t.Errorf("index = %d after the ignorable entry, want %d", after.Index, h.idx)
	}
	after.Index = before.Index
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the ignorable entry changed the state (-before +after):\n%s", diff)
	}
	h.must(HoldJob{ID: 1})
}

func TestEncodeSetsIgnorableFlagOnlyWhenAsked(t *testing.T) {
	for _, cmd := range []Command{SubmitJobs{}, AccrueUsage{Now: 1, Formula: CurrentUsageFormula}, SignalJob{}} {
		data := mustEncode(t, cmd)
		if data[0]&flagIgnoreUnknown != 0 {
			t.Errorf("%T: type byte %#x has the ignore-unknown flag", cmd, data[0])
		}
		got, err := decodeCommand(data)
		if err != nil || commandName(got) != commandName(cmd) {
			t.Errorf("%T: decoded %T, %v", cmd, got, err)
		}
	}
}

func TestUsageFormulaVersions(t *testing.T) {
	tests := []struct {
		version   int
		wantFatal bool
	}{
		{version: 0}, // entries written before versions: version 1
		{version: 1},
		{version: CurrentUsageFormula},
		{version: CurrentUsageFormula + 1, wantFatal: true},
		{version: -1, wantFatal: true},
	}
	for _, tt := range tests {
		f, err := usageFormulaFor(tt.version)
		var fatal *fatalError
		if got := errors.As(err, &fatal); got != tt.wantFatal {
			t.Errorf("version %d: error = %v, want fatal %v", tt.version, err, tt.wantFatal)
		}
		if err != nil {
			continue
		}
		// Version 1: half the usage after one half-life; a GPU-second is 1
		// without weights.
		if got := f.decay(100, 60, 60); got != 50 {
			t.Errorf("version %d: decay(100, one half-life) = %v, want 50", tt.version, got)
		}
		alloc := []api.NodeAlloc{{Node: "n", CPUs: 4, GPUs: []int{0, 1}}}
		if got := f.billing(nil, alloc, func(string, int) string { return "" }); got != 2 {
			t.Errorf("version %d: billing of 2 GPUs = %v, want 2", tt.version, got)
		}
	}
}

func TestAccrueUsageRecordsItsFormula(t *testing.T) {
	// Version 0 and version 1 entries give the same usage, and the version
	// is kept for the runs charged until the next accrual.
	var usages []map[string]float64
	for _, version := range []int{0, 1} {
		h := setup(t)
		h.must(AccrueUsage{Now: cmdNow, Formula: version})
		h.must(AccrueUsage{Now: cmdNow + 600, Formula: version})
		if got := getMeta(h.state().txn).UsageFormula; got != version {
			t.Errorf("meta formula = %d, want %d", got, version)
		}
		u, _ := h.state().Usage()
		usages = append(usages, u)
	}
	if diff := cmp.Diff(usages[0], usages[1]); diff != "" {
		t.Errorf("usage with formula 0 and 1 differ (-0 +1):\n%s", diff)
	}
}

func TestStoreHaltsOnUnknownCommand(t *testing.T) {
	ctx := testCtx(t)
	addr := freeAddrs(t, 1)[0]
	s := open(t, Config{ID: "a", DataDir: t.TempDir(), RaftAddr: addr, HTTPAddr: "127.0.0.1:1", Bootstrap: true})
	waitLeaderAmong(ctx, t, []*Store{s})
	submit(ctx, t, s, "before")
	idx := s.Index()
	// A newer leader's command this controller does not know.
	f := s.raft.Apply([]byte{99, '{', '}'}, 5*time.Second)
	if err := f.Error(); err != nil {
		t.Fatalf("raft apply: %v", err)
	}
	select {
	case <-s.Halted():
	case <-ctx.Done():
		t.Fatal("the store did not halt")
	}
	var he *HaltError
	if err := s.Err(); !errors.As(err, &he) || he.Index <= idx || he.Type != 99 {
		t.Fatalf("Err() = %v, want a halt at an index after %d for type 99", err, idx)
	}
	if s.Index() != idx {
		t.Errorf("applied index = %d, want %d (the bad entry is not applied)", s.Index(), idx)
	}
	if _, err := s.Apply(ctx, HoldJob{ID: 1}); !errors.Is(err, ErrHalted) {
		t.Errorf("Apply on a halted store: error = %v, want ErrHalted", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
