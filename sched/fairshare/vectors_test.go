package fairshare_test

import (
	"math"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sixDecimals compares floats as Slurm prints them: an expected value printed
// with 6 decimals matches anything that rounds to it. Infinities compare
// exactly.
var sixDecimals = cmpopts.EquateApprox(0, 5.000001e-7)

var inf = math.Inf(1)

// test241 is Slurm's classic fair-share test, from
// shared/testvectors/classic-test24.1.json (SchedMD/slurm
// testsuite/expect/test24.1; PriorityFlags=NO_FAIR_TREE,
// FairShareDampeningFactor=1). The JSON gives usage as fractions of the
// root's; here it is raw usage out of 100. The JSON lists u6 (zero shares,
// factor 0 whatever its usage) with usage 0 but counts its 0.3 in the root's
// usage, as Slurm's test24.1 does with AccountG's RawUsage 30: u6 gets 30.
func test241(t *testing.T) (*fairshare.Tree, map[string]float64) {
	t.Helper()
	accounts := []api.Account{
		{Name: "A", Shares: 40},
		{Name: "B", Parent: "A", Shares: 30, Users: []api.AccountUser{{Name: "u1", Shares: 1}}},
		{Name: "C", Parent: "A", Shares: 10, Users: []api.AccountUser{{Name: "u2", Shares: 1}, {Name: "u3", Shares: 1}}},
		{Name: "D", Shares: 60},
		{Name: "E", Parent: "D", Shares: 25, Users: []api.AccountUser{{Name: "u4", Shares: 1}}},
		{Name: "F", Parent: "D", Shares: 35, Users: []api.AccountUser{{Name: "u5", Shares: 1}}},
		{Name: "G", Shares: 0, Users: []api.AccountUser{{Name: "u6", Shares: 0}}},
	}
	usage := map[string]float64{
		api.AssocKey("B", "u1"): 20, api.AssocKey("C", "u2"): 25, api.AssocKey("C", "u3"): 0,
		api.AssocKey("E", "u4"): 25, api.AssocKey("F", "u5"): 0, api.AssocKey("G", "u6"): 30,
	}
	tree, err := fairshare.NewTree(accounts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tree, usage
}

func TestClassicTest24_1(t *testing.T) {
	tree, usage := test241(t)
	rows := tree.Rows(api.FairShareClassic, usage)

	type sue struct{ S, UE, F float64 }
	got := map[string]sue{}
	for _, r := range rows {
		name := r.Account
		if r.User != "" {
			name = r.User
		}
		got[name] = sue{r.NormShares, r.EffectvUsage, r.FairShare}
	}
	// "expected" and "intermediate_UE" of classic-test24.1.json.
	want := map[string]sue{
		"u1": {0.3, 0.3875, 0.408479},
		"u2": {0.05, 0.275, 0.022097},
		"u3": {0.05, 0.15, 0.125},
		"u4": {0.25, 0.25, 0.5},
		"u5": {0.35, 0.145833, 0.749154},
		"u6": {0, 0.3, 0},
	}
	wantUE := map[string]float64{"B": 0.3875, "C": 0.3, "E": 0.25, "F": 0.145833}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name], sixDecimals); diff != "" {
			t.Errorf("user %s (-want +got):\n%s", name, diff)
		}
	}
	for name, w := range wantUE {
		if diff := cmp.Diff(w, got[name].UE, sixDecimals); diff != "" {
			t.Errorf("account %s effective usage (-want +got):\n%s", name, diff)
		}
	}

	factors := tree.Factors(api.FairShareClassic, usage)
	wantFactors := map[string]float64{
		"B/u1": 0.408479, "C/u2": 0.022097, "C/u3": 0.125, "E/u4": 0.5, "F/u5": 0.749154, "G/u6": 0,
	}
	if diff := cmp.Diff(wantFactors, factors, sixDecimals); diff != "" {
		t.Errorf("Factors (-want +got):\n%s", diff)
	}

	// The sshare lines Slurm's test24.1 expects (AccountX|UserN|RawShares|
	// NormShares|RawUsage|NormUsage|EffectvUsage|FairShare), in tree order.
	wantRows := []fairshare.Row{
		{Account: "root", NormShares: 1, RawUsage: 100, NormUsage: 1, EffectvUsage: 1},
		{Account: "A", RawShares: 40, NormShares: 0.4, RawUsage: 45, NormUsage: 0.45, EffectvUsage: 0.45, FairShare: 0.458502},
		{Account: "B", RawShares: 30, NormShares: 0.3, RawUsage: 20, NormUsage: 0.2, EffectvUsage: 0.3875, FairShare: 0.408479},
		{Account: "B", User: "u1", RawShares: 1, NormShares: 0.3, RawUsage: 20, NormUsage: 0.2, EffectvUsage: 0.3875, FairShare: 0.408479},
		{Account: "C", RawShares: 10, NormShares: 0.1, RawUsage: 25, NormUsage: 0.25, EffectvUsage: 0.3, FairShare: 0.125},
		{Account: "C", User: "u2", RawShares: 1, NormShares: 0.05, RawUsage: 25, NormUsage: 0.25, EffectvUsage: 0.275, FairShare: 0.022097},
		{Account: "C", User: "u3", RawShares: 1, NormShares: 0.05, RawUsage: 0, NormUsage: 0, EffectvUsage: 0.15, FairShare: 0.125},
		{Account: "D", RawShares: 60, NormShares: 0.6, RawUsage: 25, NormUsage: 0.25, EffectvUsage: 0.25, FairShare: 0.749154},
		{Account: "E", RawShares: 25, NormShares: 0.25, RawUsage: 25, NormUsage: 0.25, EffectvUsage: 0.25, FairShare: 0.5},
		{Account: "E", User: "u4", RawShares: 1, NormShares: 0.25, RawUsage: 25, NormUsage: 0.25, EffectvUsage: 0.25, FairShare: 0.5},
		{Account: "F", RawShares: 35, NormShares: 0.35, RawUsage: 0, NormUsage: 0, EffectvUsage: 0.145833, FairShare: 0.749154},
		{Account: "F", User: "u5", RawShares: 1, NormShares: 0.35, RawUsage: 0, NormUsage: 0, EffectvUsage: 0.145833, FairShare: 0.749154},
		{Account: "G", RawShares: 0, NormShares: 0, RawUsage: 30, NormUsage: 0.3, EffectvUsage: 0.3, FairShare: 0},
		// Slurm's test checks only "AccountG|User6|0|"; the rest follows the
		// formulas (a zero-share level: UE = UA).
		{Account: "G", User: "u6", RawShares: 0, NormShares: 0, RawUsage: 30, NormUsage: 0.3, EffectvUsage: 0.3, FairShare: 0},
	}
	if diff := cmp.Diff(wantRows, rows, sixDecimals); diff != "" {
		t.Errorf("Rows (-want +got):\n%s", diff)
	}
}

// test244 is Slurm's Fair Tree test, from
// shared/testvectors/fairtree-test24.4.json (SchedMD/slurm
// testsuite/expect/test24.4 with test24.4.prog.c): 21 users, raw usage,
// root usage 240. "parent" shares are SharesParent.
func test244(t testing.TB) (*fairshare.Tree, map[string]float64) {
	t.Helper()
	users := func(us ...api.AccountUser) []api.AccountUser { return us }
	u := func(name string, shares int) api.AccountUser { return api.AccountUser{Name: name, Shares: shares} }
	accounts := []api.Account{
		{Name: api.RootAccount, Users: users(u("u1", 10), u("u2", 10))},
		{Name: "aA", Shares: 40},
		{Name: "aAA", Parent: "aA", Shares: 30, Users: users(u("uAA1", 1))},
		{Name: "aAB", Parent: "aA", Shares: 10, Users: users(u("uAB1", 1), u("uAB2", 1))},
		{Name: "aB", Shares: 60},
		{Name: "aBA", Parent: "aB", Shares: 25, Users: users(u("uBA1", 1))},
		{Name: "aBB", Parent: "aB", Shares: 35, Users: users(u("uBB1", 1))},
		{Name: "aC", Shares: 0, Users: users(u("uC1", 0))},
		{Name: "aD", Shares: 50, Users: users(api.AccountUser{Name: "uD1", SharesParent: true}, u("uD2", 40), u("uD3", 50))},
		{Name: "aDA", Parent: "aD", SharesParent: true,
			Users: users(api.AccountUser{Name: "uDA1", SharesParent: true}, u("uDA2", 30), u("uDA3", 50))},
		{Name: "aE", Shares: 10, Users: users(u("aE1", 10), u("aE2", 10))},
		{Name: "aF", Shares: 20, Users: users(u("uF1", 10), u("uF2", 20))},
		{Name: "aG", Shares: 8, Users: users(u("uG1", 10))},
		{Name: "aGA", Parent: "aG", Shares: 10, Users: users(u("uGA1", 20), u("uGA2", 20))},
	}
	usage := map[string]float64{
		"root/u2": 10, "aAA/uAA1": 20, "aAB/uAB1": 25, "aBA/uBA1": 25, "aC/uC1": 30,
		"aD/uD1": 20, "aD/uD2": 20, "aD/uD3": 25, "aDA/uDA1": 10, "aDA/uDA2": 10, "aDA/uDA3": 25,
		"aG/uG1": 10, "aGA/uGA1": 4, "aGA/uGA2": 6,
	}
	tree, err := fairshare.NewTree(accounts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tree, usage
}

func TestFairTreeTest24_4(t *testing.T) {
	tree, usage := test244(t)
	if tree.Users() != 21 {
		t.Fatalf("Users() = %d, want 21", tree.Users())
	}
	// "expected_fairshare" of fairtree-test24.4.json.
	want := map[string]float64{
		"root/u1": 1.0, "root/u2": 0.666667,
		"aAA/uAA1": 0.619048, "aAB/uAB1": 0.52381, "aAB/uAB2": 0.571429,
		"aBA/uBA1": 0.714286, "aBB/uBB1": 0.761905, "aC/uC1": 0.047619,
		"aD/uD1": 0.47619, "aD/uD2": 0.238095, "aD/uD3": 0.333333,
		"aDA/uDA1": 0.47619, "aDA/uDA2": 0.380952, "aDA/uDA3": 0.333333,
		"aE/aE1": 1.0, "aE/aE2": 1.0, "aF/uF1": 1.0, "aF/uF2": 1.0,
		"aG/uG1": 0.190476, "aGA/uGA1": 0.190476, "aGA/uGA2": 0.095238,
	}
	for _, alg := range []string{api.FairShareFairTree, "", "no-such-algorithm"} {
		if diff := cmp.Diff(want, tree.Factors(alg, usage), sixDecimals); diff != "" {
			t.Errorf("Factors(%q) (-want +got):\n%s", alg, diff)
		}
	}

	// The 35 sshare lines Slurm's test24.4 expects, in its order
	// (Account|User|RawShares|NormShares|RawUsage|NormUsage|EffectvUsage|
	// FairShare|LevelFS). Slurm prints the root's NormShares as 0 and its
	// NormUsage blank; ours are 1.
	p := func(r fairshare.Row) fairshare.Row { r.Parent = true; return r }
	wantRows := []fairshare.Row{
		{Account: "root", NormShares: 1, RawUsage: 240, NormUsage: 1, EffectvUsage: 1},
		{Account: "root", User: "u1", RawShares: 10, NormShares: 0.048077, RawUsage: 0, NormUsage: 0, EffectvUsage: 0, FairShare: 1, LevelFS: inf},
		{Account: "root", User: "u2", RawShares: 10, NormShares: 0.048077, RawUsage: 10, NormUsage: 0.041667, EffectvUsage: 0.041667, FairShare: 0.666667, LevelFS: 1.153846},
		{Account: "aA", RawShares: 40, NormShares: 0.192308, RawUsage: 45, NormUsage: 0.1875, EffectvUsage: 0.1875, LevelFS: 1.025641},
		{Account: "aAA", RawShares: 30, NormShares: 0.75, RawUsage: 20, NormUsage: 0.083333, EffectvUsage: 0.444444, LevelFS: 1.6875},
		{Account: "aAA", User: "uAA1", RawShares: 1, NormShares: 1, RawUsage: 20, NormUsage: 0.083333, EffectvUsage: 1, FairShare: 0.619048, LevelFS: 1},
		{Account: "aAB", RawShares: 10, NormShares: 0.25, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 0.555556, LevelFS: 0.45},
		{Account: "aAB", User: "uAB1", RawShares: 1, NormShares: 0.5, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 1, FairShare: 0.52381, LevelFS: 0.5},
		{Account: "aAB", User: "uAB2", RawShares: 1, NormShares: 0.5, RawUsage: 0, NormUsage: 0, EffectvUsage: 0, FairShare: 0.571429, LevelFS: inf},
		{Account: "aB", RawShares: 60, NormShares: 0.288462, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 0.104167, LevelFS: 2.769231},
		{Account: "aBA", RawShares: 25, NormShares: 0.416667, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 1, LevelFS: 0.416667},
		{Account: "aBA", User: "uBA1", RawShares: 1, NormShares: 1, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 1, FairShare: 0.714286, LevelFS: 1},
		{Account: "aBB", RawShares: 35, NormShares: 0.583333, RawUsage: 0, NormUsage: 0, EffectvUsage: 0, LevelFS: inf},
		{Account: "aBB", User: "uBB1", RawShares: 1, NormShares: 1, RawUsage: 0, NormUsage: 0, EffectvUsage: 0, FairShare: 0.761905, LevelFS: inf},
		{Account: "aC", RawShares: 0, NormShares: 0, RawUsage: 30, NormUsage: 0.125, EffectvUsage: 0.125, LevelFS: 0},
		{Account: "aC", User: "uC1", RawShares: 0, NormShares: 0, RawUsage: 30, NormUsage: 0.125, EffectvUsage: 1, FairShare: 0.047619, LevelFS: 0},
		{Account: "aD", RawShares: 50, NormShares: 0.240385, RawUsage: 110, NormUsage: 0.458333, EffectvUsage: 0.458333, LevelFS: 0.524476},
		p(fairshare.Row{Account: "aD", User: "uD1", NormShares: 0.240385, RawUsage: 20, NormUsage: 0.083333, EffectvUsage: 0.181818, FairShare: 0.47619}),
		{Account: "aD", User: "uD2", RawShares: 40, NormShares: 0.235294, RawUsage: 20, NormUsage: 0.083333, EffectvUsage: 0.181818, FairShare: 0.238095, LevelFS: 1.294118},
		{Account: "aD", User: "uD3", RawShares: 50, NormShares: 0.294118, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 0.227273, FairShare: 0.333333, LevelFS: 1.294118},
		p(fairshare.Row{Account: "aDA", NormShares: 0.240385, RawUsage: 45, NormUsage: 0.1875, EffectvUsage: 0.409091}),
		p(fairshare.Row{Account: "aDA", User: "uDA1", NormShares: 0.240385, RawUsage: 10, NormUsage: 0.041667, EffectvUsage: 0.090909, FairShare: 0.47619}),
		{Account: "aDA", User: "uDA2", RawShares: 30, NormShares: 0.176471, RawUsage: 10, NormUsage: 0.041667, EffectvUsage: 0.090909, FairShare: 0.380952, LevelFS: 1.941176},
		{Account: "aDA", User: "uDA3", RawShares: 50, NormShares: 0.294118, RawUsage: 25, NormUsage: 0.104167, EffectvUsage: 0.227273, FairShare: 0.333333, LevelFS: 1.294118},
		{Account: "aE", RawShares: 10, NormShares: 0.048077, LevelFS: inf},
		{Account: "aE", User: "aE1", RawShares: 10, NormShares: 0.5, FairShare: 1, LevelFS: inf},
		{Account: "aE", User: "aE2", RawShares: 10, NormShares: 0.5, FairShare: 1, LevelFS: inf},
		{Account: "aF", RawShares: 20, NormShares: 0.096154, LevelFS: inf},
		{Account: "aF", User: "uF1", RawShares: 10, NormShares: 0.333333, FairShare: 1, LevelFS: inf},
		{Account: "aF", User: "uF2", RawShares: 20, NormShares: 0.666667, FairShare: 1, LevelFS: inf},
		{Account: "aG", RawShares: 8, NormShares: 0.038462, RawUsage: 20, NormUsage: 0.083333, EffectvUsage: 0.083333, LevelFS: 0.461538},
		{Account: "aG", User: "uG1", RawShares: 10, NormShares: 0.5, RawUsage: 10, NormUsage: 0.041667, EffectvUsage: 0.5, FairShare: 0.190476, LevelFS: 1},
		{Account: "aGA", RawShares: 10, NormShares: 0.5, RawUsage: 10, NormUsage: 0.041667, EffectvUsage: 0.5, LevelFS: 1},
		{Account: "aGA", User: "uGA1", RawShares: 20, NormShares: 0.5, RawUsage: 4, NormUsage: 0.016667, EffectvUsage: 0.4, FairShare: 0.190476, LevelFS: 1.25},
		{Account: "aGA", User: "uGA2", RawShares: 20, NormShares: 0.5, RawUsage: 6, NormUsage: 0.025, EffectvUsage: 0.6, FairShare: 0.095238, LevelFS: 0.833333},
	}
	if diff := cmp.Diff(wantRows, tree.Rows(api.FairShareFairTree, usage), sixDecimals); diff != "" {
		t.Errorf("Rows (-want +got):\n%s", diff)
	}
}

// TestFairTreeLevelOrder checks the walk order behind test24.4's factors:
// Level FS descending, users before accounts on ties, FairShare=parent
// accounts flattened into their parent's level.
func TestFairTreeLevelOrder(t *testing.T) {
	tree, usage := test244(t)
	tests := []struct {
		level string
		want  []string
	}{
		// u1, aE, aF: no usage (+Inf), the user first; then 2.77, 1.15,
		// 1.03, 0.52, 0.46 and aC's 0 (no shares).
		{api.RootAccount, []string{"root/u1", "aE", "aF", "aB", "root/u2", "aA", "aD", "aG", "aC"}},
		// aDA is flattened: its users compete with aD's. uD1 and uDA1 are
		// FairShare=parent (+Inf); uD3 and uDA3 tie exactly; uD2 is a hair
		// lower in floating point, as in Slurm.
		{"aD", []string{"aD/uD1", "aDA/uDA1", "aDA/uDA2", "aD/uD3", "aDA/uDA3", "aD/uD2"}},
		// uG1 and aGA tie at 1: the user first.
		{"aG", []string{"aG/uG1", "aGA"}},
		{"aAB", []string{"aAB/uAB2", "aAB/uAB1"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tree.LevelOrder(usage, tt.level)); diff != "" {
			t.Errorf("level %s (-want +got):\n%s", tt.level, diff)
		}
	}
}
