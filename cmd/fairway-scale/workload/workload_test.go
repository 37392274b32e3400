package workload

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func testMix() Mix {
	return Mix{GPUsPerNode: 8, GangFraction: 0.1, ArrayFraction: 0.2, ArrayMin: 4, ArrayMax: 8,
		MeanDuration: 10 * time.Second, MinDuration: time.Second, MaxDuration: time.Minute}
}

// TestSyntheticMix draws many submissions and checks their shapes and
// shares (deterministic for the seed).
func TestSyntheticMix(t *testing.T) {
	g, err := NewSynthetic(testMix(), 7)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	kinds := map[string]int{}
	gpus := map[int]int{}
	for range n {
		j, ok := g.Next()
		if !ok {
			t.Fatal("the synthetic source ran out")
		}
		if j.Duration < time.Second || j.Duration > time.Minute {
			t.Fatalf("run time %s outside [1s, 1m]", j.Duration)
		}
		switch {
		case j.Nodes > 1:
			kinds["gang"]++
			if j.Nodes > 4 || j.GPUsPerNode != 8 {
				t.Fatalf("gang %+v: want 2-4 whole nodes of 8 GPUs", j)
			}
		case j.Tasks > 0:
			kinds["array"]++
			if j.Tasks < 4 || j.Tasks > 8 || j.GPUsPerNode != 1 {
				t.Fatalf("array %+v: want 4-8 tasks of 1 GPU", j)
			}
		default:
			kinds["single"]++
			if j.GPUsPerNode < 1 || j.GPUsPerNode > 8 {
				t.Fatalf("single job %+v: want 1-8 GPUs", j)
			}
			gpus[j.GPUsPerNode]++
		}
	}
	share := func(k string) float64 { return float64(kinds[k]) / n }
	if s := share("gang"); s < 0.08 || s > 0.12 {
		t.Errorf("gang share %.3f, want about 0.1", s)
	}
	if s := share("array"); s < 0.18 || s > 0.22 {
		t.Errorf("array share %.3f, want about 0.2", s)
	}
	if gpus[1] < gpus[2] || gpus[2] < gpus[3] {
		t.Errorf("single-node GPU counts %v: want 1 GPU most common, then 2, 3 rare", gpus)
	}
	g2, _ := NewSynthetic(testMix(), 7)
	g3, _ := NewSynthetic(testMix(), 7)
	for range 100 {
		a, _ := g2.Next()
		b, _ := g3.Next()
		if d := cmp.Diff(a, b); d != "" {
			t.Fatalf("same seed, different jobs (-a +b):\n%s", d)
		}
	}
}

func TestMixValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Mix)
		field string
	}{
		{"no GPUs", func(m *Mix) { m.GPUsPerNode = 0 }, "gpus-per-node"},
		{"shares over 1", func(m *Mix) { m.GangFraction, m.ArrayFraction = 0.6, 0.6 }, "gang-fraction"},
		{"array bounds", func(m *Mix) { m.ArrayMin, m.ArrayMax = 5, 4 }, "array-min"},
		{"min over max", func(m *Mix) { m.MinDuration = 2 * time.Minute }, "durations"},
	} {
		m := testMix()
		tc.edit(&m)
		_, err := NewSynthetic(m, 1)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.field)
		}
	}
}

func TestNameCarriesDuration(t *testing.T) {
	d := 12345 * time.Millisecond
	got, ok := DurationOf(Name(d))
	if !ok || got != d {
		t.Errorf("DurationOf(Name(%s)) = %s, %v", d, got, ok)
	}
	for _, bad := range []string{"job", "sim-", "sim-x", "sim--5"} {
		if _, ok := DurationOf(bad); ok {
			t.Errorf("DurationOf(%q) accepted", bad)
		}
	}
}

func TestSpec(t *testing.T) {
	got := Spec(Job{Nodes: 1, GPUsPerNode: 1, Tasks: 10, Duration: 30 * time.Second}, "acct1")
	if got.Array != "0-9" || got.Account != "acct1" || got.GPUs != 1 || got.Nodes != 1 || got.TimeLimitSecs != 180 {
		t.Errorf("array spec = %+v", got)
	}
	cfg := ClusterConfig(map[string]string{"u": "acct1"}, time.Minute)
	got.User, got.UID = "u", 1000
	if err := api.ValidateSpec(&got, &cfg); err != nil {
		t.Errorf("the spec does not validate: %v", err)
	}
}

func TestClusterConfig(t *testing.T) {
	acc := Accounts([]string{"a", "b", "c"}, 2)
	if d := cmp.Diff(map[string]string{"a": "acct0", "b": "acct1", "c": "acct0"}, acc); d != "" {
		t.Errorf("Accounts (-want +got):\n%s", d)
	}
	cfg := ClusterConfig(acc, 5*time.Minute)
	want := []api.Account{
		{Name: "acct0", Shares: 1, Users: []api.AccountUser{{Name: "a", Shares: 1}, {Name: "c", Shares: 1}}},
		{Name: "acct1", Shares: 1, Users: []api.AccountUser{{Name: "b", Shares: 1}}},
	}
	if d := cmp.Diff(want, cfg.Accounts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	if err := api.ValidateConfig(&cfg); err != nil {
		t.Errorf("the configuration does not validate: %v", err)
	}
}
