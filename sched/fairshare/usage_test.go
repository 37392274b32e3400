package fairshare_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecay(t *testing.T) {
	const day = 86400
	tests := []struct {
		name              string
		usage             float64
		elapsed, halfLife int64
		want              float64
	}{
		{"one half-life halves", 1000, 7 * day, 7 * day, 500},
		{"two half-lives quarter", 1000, 14 * day, 7 * day, 250},
		{"half a half-life", 1000, 30, 60, 1000 / 1.4142135623730951},
		{"no time passed", 1000, 0, 60, 1000},
		{"negative elapsed does not grow", 1000, -60, 60, 1000},
		{"half-life 0: no decay", 1000, 1e9, 0, 1000},
		{"negative half-life: no decay", 1000, 1e9, -5, 1000},
		{"zero usage", 0, 60, 60, 0},
	}
	for _, tt := range tests {
		got := fairshare.Decay(tt.usage, tt.elapsed, tt.halfLife)
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
			t.Errorf("%s: Decay(%v, %d, %d) (-want +got):\n%s", tt.name, tt.usage, tt.elapsed, tt.halfLife, diff)
		}
	}
	// Decaying in steps equals decaying at once.
	stepped := 1000.0
	for range 10 {
		stepped = fairshare.Decay(stepped, 300, 3600)
	}
	if diff := cmp.Diff(fairshare.Decay(1000, 3000, 3600), stepped, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("ten 300 s steps vs one 3000 s step (-want +got):\n%s", diff)
	}
}

func TestBilling(t *testing.T) {
	// Node "a" has h100s at indices 0-3 and a100s at 4-7; node "b" has
	// untyped GPUs.
	gpuType := func(node string, idx int) string {
		switch {
		case node == "a" && idx < 4:
			return "h100"
		case node == "a":
			return "a100"
		}
		return ""
	}
	alloc := []api.NodeAlloc{
		{Node: "a", CPUs: 16, MemoryMB: 64 * 1024, GPUs: []int{0, 1, 4}},
		{Node: "b", CPUs: 8, MemoryMB: 2048, GPUs: []int{2}},
	}
	tests := []struct {
		name    string
		weights map[string]float64
		alloc   []api.NodeAlloc
		gpuType func(string, int) string
		want    float64
	}{
		{"default: GPU-seconds", nil, alloc, gpuType, 4},
		{"empty map is the default", map[string]float64{}, alloc, gpuType, 4},
		{"cpu and mem per GB", map[string]float64{"cpu": 0.5, "mem": 0.25}, alloc, gpuType, 0.5*24 + 0.25*66},
		{"typed GPU weight, plain for the rest", map[string]float64{"gpu": 1, "gpu:h100": 3}, alloc, gpuType, 3 + 3 + 1 + 1},
		{"typed weight only: others weigh 0", map[string]float64{"gpu:a100": 2}, alloc, gpuType, 2},
		{"no type function: plain weight", map[string]float64{"gpu": 2, "gpu:h100": 10}, alloc, nil, 8},
		{"no allocation", nil, nil, gpuType, 0},
		{"CPU-only job bills 0 by default", nil, []api.NodeAlloc{{Node: "b", CPUs: 64, MemoryMB: 1 << 20}}, gpuType, 0},
	}
	for _, tt := range tests {
		if got := fairshare.Billing(tt.weights, tt.alloc, tt.gpuType); got != tt.want {
			t.Errorf("%s: Billing = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAccrue(t *testing.T) {
	week := int64(7 * 24 * 3600)
	for _, tc := range []struct {
		name  string
		sc    api.SchedulingConfig
		usage map[string]float64
		rate  map[string]float64
		dt    int64
		want  map[string]float64
	}{
		{name: "a week at the default half-life halves usage, then charges the rate",
			usage: map[string]float64{"a/x": 1000}, rate: map[string]float64{"a/x": 1, "b/y": 2}, dt: week,
			want: map[string]float64{"a/x": 500 + float64(week), "b/y": 2 * float64(week)}},
		{name: "no decay", sc: api.SchedulingConfig{UsageNoDecay: true},
			usage: map[string]float64{"a/x": 1000}, rate: map[string]float64{"a/x": 1}, dt: 100,
			want: map[string]float64{"a/x": 1100}},
		{name: "a half-life of its own", sc: api.SchedulingConfig{UsageHalfLifeSecs: 100},
			usage: map[string]float64{"a/x": 1000}, dt: 200,
			want: map[string]float64{"a/x": 250}},
		{name: "no time, no change",
			usage: map[string]float64{"a/x": 1000}, rate: map[string]float64{"a/x": 1}, dt: 0,
			want: map[string]float64{"a/x": 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fairshare.Accrue(tc.usage, tc.rate, tc.dt, tc.sc)
			if diff := cmp.Diff(tc.want, tc.usage, cmpopts.EquateApprox(1e-9, 1e-6)); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		})
	}
}
