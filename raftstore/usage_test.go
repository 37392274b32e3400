package raftstore

import (
	"math"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestAccrueUsage follows the fair-share usage of the setup's running jobs 2
// and 5 (one H100 each on n1, started at setupNow, user ann, no account:
// leaf root/ann) through accruals, run ends and the usage settings.
func TestAccrueUsage(t *testing.T) {
	const half = 1000 // half-life used by most cases
	withSched := func(edit func(s *api.SchedulingConfig)) Command {
		cfg := testConfig()
		cfg.Scheduling.UsageHalfLifeSecs = half
		edit(&cfg.Scheduling)
		return SetConfig{Config: cfg}
	}
	plain := withSched(func(*api.SchedulingConfig) {})
	exit2 := func(now int64) Command {
		return JobEvents{Now: now, Node: "n1", Events: []api.JobEvent{{JobID: 2, Kind: api.EventExited}}}
	}
	tests := []struct {
		name      string
		cmds      []Command
		wantUsage map[string]float64
		wantAt    int64
	}{
		{
			name:      "before any accrual there is no usage",
			cmds:      []Command{plain},
			wantUsage: map[string]float64{},
		},
		{
			name:      "the first accrual charges running jobs from their start, one per GPU-second by default",
			cmds:      []Command{plain, AccrueUsage{Now: cmdNow}},
			wantUsage: map[string]float64{"root/ann": 2 * (cmdNow - setupNow)},
			wantAt:    cmdNow,
		},
		{
			name:      "usage decays by half over a half-life, then the running jobs are charged",
			cmds:      []Command{plain, AccrueUsage{Now: cmdNow}, AccrueUsage{Now: cmdNow + half}},
			wantUsage: map[string]float64{"root/ann": 2*(cmdNow-setupNow)/2 + 2*half},
			wantAt:    cmdNow + half,
		},
		{
			name:      "a run that ends between accruals is charged up to its end",
			cmds:      []Command{plain, AccrueUsage{Now: cmdNow}, exit2(cmdNow + 500), AccrueUsage{Now: cmdNow + half}},
			wantUsage: map[string]float64{"root/ann": (2*(cmdNow-setupNow)+500)/2 + half},
			wantAt:    cmdNow + half,
		},
		{
			name:      "a run that ends before the first accrual is charged from its start",
			cmds:      []Command{plain, exit2(cmdNow)},
			wantUsage: map[string]float64{"root/ann": cmdNow - setupNow},
		},
		{
			name: "a preempted run is charged up to its end, though the job goes back to pending",
			cmds: []Command{plain,
				ApplyPlan{Plan: api.Plan{Now: cmdNow, Preemptions: []api.Preemption{{JobID: 2, Reason: "reclaim", For: 1}}}},
				exit2(cmdNow + 20)},
			wantUsage: map[string]float64{"root/ann": cmdNow + 20 - setupNow},
		},
		{
			name:      "jobs of a node marked down are charged",
			cmds:      []Command{plain, AccrueUsage{Now: cmdNow}, MarkNodeDown{Now: cmdNow + 100, Node: "n1"}, AccrueUsage{Now: cmdNow + 200}},
			wantUsage: map[string]float64{"root/ann": (2*(cmdNow-setupNow) + 200) * math.Pow(0.5, 200.0/half)},
			wantAt:    cmdNow + 200,
		},
		{
			name:      "an accrual not after the last changes nothing",
			cmds:      []Command{plain, AccrueUsage{Now: cmdNow}, AccrueUsage{Now: cmdNow}, AccrueUsage{Now: cmdNow - 10}},
			wantUsage: map[string]float64{"root/ann": 2 * (cmdNow - setupNow)},
			wantAt:    cmdNow,
		},
		{
			name: "without decay usage only grows",
			cmds: []Command{withSched(func(s *api.SchedulingConfig) { s.UsageNoDecay = true }),
				AccrueUsage{Now: cmdNow}, AccrueUsage{Now: cmdNow + half}},
			wantUsage: map[string]float64{"root/ann": 2 * (cmdNow - setupNow + half)},
			wantAt:    cmdNow + half,
		},
		{
			name: "a reset boundary clears usage; running jobs are charged from the boundary",
			cmds: []Command{withSched(func(s *api.SchedulingConfig) { s.UsageResetSecs = 3000 }),
				AccrueUsage{Now: cmdNow}, AccrueUsage{Now: 3500}},
			wantUsage: map[string]float64{"root/ann": 2 * (3500 - 3000)},
			wantAt:    3500,
		},
		{
			name: "billing weights per GPU type and per CPU; jobs of a default account",
			cmds: []Command{
				func() Command {
					cfg := testConfig()
					cfg.DefaultAccount = "ml"
					cfg.Scheduling.BillingWeights = map[string]float64{"gpu": 1, "gpu:h100": 4, "cpu": 0.5}
					return SetConfig{Config: cfg}
				}(),
				AccrueUsage{Now: cmdNow},
			},
			// Each job: one H100 (4) and 2 CPUs (2 x 0.5).
			wantUsage: map[string]float64{"ml/ann": 2 * 5 * (cmdNow - setupNow)},
			wantAt:    cmdNow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			for i, c := range tt.cmds {
				if _, err := h.apply(c); err != nil {
					t.Fatalf("command %d (%T): %v", i, c, err)
				}
			}
			usage, at := h.state().Usage()
			if diff := cmp.Diff(tt.wantUsage, usage, cmpopts.EquateApprox(1e-12, 1e-9)); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			if at != tt.wantAt {
				t.Errorf("usage accrued at %d, want %d", at, tt.wantAt)
			}
		})
	}
}

// TestUsageIsACopy: changing the map State.Usage returns changes nothing.
func TestUsageIsACopy(t *testing.T) {
	h := setup(t)
	h.must(AccrueUsage{Now: cmdNow})
	u, _ := h.state().Usage()
	u["root/ann"] = -1
	if again, _ := h.state().Usage(); again["root/ann"] != 2*(cmdNow-setupNow) {
		t.Errorf("usage after changing a copy = %v", again)
	}
}
