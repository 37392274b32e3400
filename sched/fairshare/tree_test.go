package fairshare_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/google/go-cmp/cmp"
)

// assoc is one row's identity and raw shares.
type assoc struct {
	Account, User string
	RawShares     int
	Parent        bool
}

func assocs(rows []fairshare.Row) []assoc {
	out := make([]assoc, len(rows))
	for i, r := range rows {
		out[i] = assoc{r.Account, r.User, r.RawShares, r.Parent}
	}
	return out
}

func TestNewTreeOrderAndImplicitAssociations(t *testing.T) {
	accounts := []api.Account{
		{Name: "zeta", Shares: 5, Users: []api.AccountUser{{Name: "bob", Shares: 2}}},
		{Name: "ml", Parent: "zeta", Shares: 3},
		{Name: "alpha", Shares: 7, Users: []api.AccountUser{{Name: "carol", Shares: 4}, {Name: "al", Shares: 1, SharesParent: true}}},
		{Name: "eval", Parent: api.RootAccount, Shares: 2}, // "root" as a parent is the root
	}
	seen := [][2]string{
		{"zeta", "bob"},     // configured
		{"zeta", "amy"},     // implicit user: 1 share, sorted among the configured
		{"zeta", "amy"},     // duplicate
		{"ghost", "dan"},    // unknown account: below the root, 1 share
		{"", "root-user"},   // no account: a user of the root
		{"ml", "eve"},       // implicit user of a sub-account
		{"alpha", "carol"},  // configured
		{"root", "another"}, // the root by name
	}
	tree, err := fairshare.NewTree(accounts, seen)
	if err != nil {
		t.Fatal(err)
	}
	want := []assoc{
		{"root", "", 0, false},
		{"root", "another", 1, false},
		{"root", "root-user", 1, false},
		{"alpha", "", 7, false},
		{"alpha", "al", 1, true},
		{"alpha", "carol", 4, false},
		{"eval", "", 2, false},
		{"ghost", "", 1, false},
		{"ghost", "dan", 1, false},
		{"zeta", "", 5, false},
		{"zeta", "amy", 1, false},
		{"zeta", "bob", 2, false},
		{"ml", "", 3, false},
		{"ml", "eve", 1, false},
	}
	if diff := cmp.Diff(want, assocs(tree.Rows("", nil))); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got := tree.Len(); got != len(want) {
		t.Errorf("Len() = %d, want %d", got, len(want))
	}
	if got := tree.Users(); got != 8 {
		t.Errorf("Users() = %d, want 8", got)
	}
	if got := len(tree.Factors(api.FairShareClassic, nil)); got != 8 {
		t.Errorf("Factors has %d entries, want one per user (8)", got)
	}
}

func TestNewTreeIsIndependentOfInputOrder(t *testing.T) {
	tree, usage := test244(t)
	want := tree.Rows(api.FairShareFairTree, usage)

	rng := rand.New(rand.NewPCG(1, 2))
	base := []api.Account{
		{Name: "root", Users: []api.AccountUser{{Name: "u1", Shares: 10}, {Name: "u2", Shares: 10}}},
		{Name: "aA", Shares: 40},
		{Name: "aAA", Parent: "aA", Shares: 30, Users: []api.AccountUser{{Name: "uAA1", Shares: 1}}},
		{Name: "aAB", Parent: "aA", Shares: 10, Users: []api.AccountUser{{Name: "uAB1", Shares: 1}, {Name: "uAB2", Shares: 1}}},
		{Name: "aB", Shares: 60},
		{Name: "aBA", Parent: "aB", Shares: 25, Users: []api.AccountUser{{Name: "uBA1", Shares: 1}}},
		{Name: "aBB", Parent: "aB", Shares: 35, Users: []api.AccountUser{{Name: "uBB1", Shares: 1}}},
		{Name: "aC", Shares: 0, Users: []api.AccountUser{{Name: "uC1", Shares: 0}}},
		{Name: "aD", Shares: 50, Users: []api.AccountUser{{Name: "uD1", SharesParent: true}, {Name: "uD2", Shares: 40}, {Name: "uD3", Shares: 50}}},
		{Name: "aDA", Parent: "aD", SharesParent: true, Users: []api.AccountUser{{Name: "uDA1", SharesParent: true}, {Name: "uDA2", Shares: 30}, {Name: "uDA3", Shares: 50}}},
		{Name: "aE", Shares: 10, Users: []api.AccountUser{{Name: "aE1", Shares: 10}, {Name: "aE2", Shares: 10}}},
		{Name: "aF", Shares: 20, Users: []api.AccountUser{{Name: "uF1", Shares: 10}, {Name: "uF2", Shares: 20}}},
		{Name: "aG", Shares: 8, Users: []api.AccountUser{{Name: "uG1", Shares: 10}}},
		{Name: "aGA", Parent: "aG", Shares: 10, Users: []api.AccountUser{{Name: "uGA1", Shares: 20}, {Name: "uGA2", Shares: 20}}},
	}
	var seen [][2]string
	for k := range usage {
		acct, user, _ := strings.Cut(k, "/")
		seen = append(seen, [2]string{acct, user})
	}
	for range 20 {
		accounts := append([]api.Account(nil), base...)
		rng.Shuffle(len(accounts), func(i, j int) { accounts[i], accounts[j] = accounts[j], accounts[i] })
		for i := range accounts {
			us := append([]api.AccountUser(nil), accounts[i].Users...)
			rng.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
			accounts[i].Users = us
		}
		rng.Shuffle(len(seen), func(i, j int) { seen[i], seen[j] = seen[j], seen[i] })
		shuffled, err := fairshare.NewTree(accounts, seen)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, shuffled.Rows(api.FairShareFairTree, usage)); diff != "" {
			t.Fatalf("rows depend on input order (-want +got):\n%s", diff)
		}
	}
}

func TestNewTreeErrors(t *testing.T) {
	tests := []struct {
		name     string
		accounts []api.Account
		assocs   [][2]string
		want     string
	}{
		{"empty name", []api.Account{{Name: ""}}, nil, "empty account name"},
		{"duplicate", []api.Account{{Name: "a"}, {Name: "a"}}, nil, `"a": duplicate account name`},
		{"negative shares", []api.Account{{Name: "a", Shares: -1}}, nil, "shares -1: must be 0 or more"},
		{"negative weight", []api.Account{{Name: "a", WeightFactor: -2}}, nil, "weight_factor -2"},
		{"infinite weight", []api.Account{{Name: "a", WeightFactor: math.Inf(1)}}, nil, "weight_factor +Inf"},
		{"unknown parent", []api.Account{{Name: "a", Parent: "nope"}}, nil, `account "a": parent "nope": no such account`},
		{"own parent", []api.Account{{Name: "a", Parent: "a"}}, nil, "cannot be its own parent"},
		{"cycle", []api.Account{{Name: "a", Parent: "b"}, {Name: "b", Parent: "a"}, {Name: "c"}}, nil, "accounts [a b] form a cycle"},
		{"root with parent", []api.Account{{Name: "x"}, {Name: "root", Parent: "x"}}, nil, "the root has no parent"},
		{"empty user", []api.Account{{Name: "a", Users: []api.AccountUser{{Shares: 1}}}}, nil, "users[0]: empty user name"},
		{"user twice", []api.Account{{Name: "a", Users: []api.AccountUser{{Name: "u"}, {Name: "u"}}}}, nil, `user "u" listed twice`},
		{"negative user shares", []api.Account{{Name: "a", Users: []api.AccountUser{{Name: "u", Shares: -3}}}}, nil, "shares -3"},
		{"assoc without user", nil, [][2]string{{"a", ""}}, "assocs[0] (account \"a\"): empty user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fairshare.NewTree(tt.accounts, tt.assocs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewTree error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestWeightFactor is the production report's HIGHPRI/MIDPRI/LOWPRI share
// identifiers with weights 1, 3 and 5 (AWS Batch: lower weight, larger
// share).
func TestWeightFactor(t *testing.T) {
	accounts := []api.Account{
		{Name: "HIGHPRI", WeightFactor: 1},
		{Name: "MIDPRI", WeightFactor: 3},
		{Name: "LOWPRI", WeightFactor: 5},
	}
	seen := [][2]string{{"HIGHPRI", "h"}, {"MIDPRI", "m"}, {"LOWPRI", "l"}}
	tree, err := fairshare.NewTree(accounts, seen)
	if err != nil {
		t.Fatal(err)
	}
	norm := map[string]float64{}
	for _, r := range tree.Rows("", nil) {
		if r.User == "" && r.Account != "root" {
			norm[r.Account] = r.NormShares
		}
	}
	// 1/1 : 1/3 : 1/5 = 15 : 5 : 3.
	want := map[string]float64{"HIGHPRI": 15.0 / 23, "MIDPRI": 5.0 / 23, "LOWPRI": 3.0 / 23}
	if diff := cmp.Diff(want, norm, sixDecimals); diff != "" {
		t.Errorf("normalized shares (-want +got):\n%s", diff)
	}

	// Equal usage: the lower weight is further below its share.
	usage := map[string]float64{"HIGHPRI/h": 100, "MIDPRI/m": 100, "LOWPRI/l": 100}
	for _, alg := range []string{api.FairShareFairTree, api.FairShareClassic} {
		f := tree.Factors(alg, usage)
		if !(f["HIGHPRI/h"] > f["MIDPRI/m"] && f["MIDPRI/m"] > f["LOWPRI/l"]) {
			t.Errorf("%s factors %v: want HIGHPRI > MIDPRI > LOWPRI", alg, f)
		}
	}
	// Usage in proportion to the shares is fair: classic gives each
	// 2^(-UE/S) with UE = S, i.e. 0.5.
	fair := map[string]float64{"HIGHPRI/h": 15, "MIDPRI/m": 5, "LOWPRI/l": 3}
	wantFair := map[string]float64{"HIGHPRI/h": 0.5, "MIDPRI/m": 0.5, "LOWPRI/l": 0.5}
	if diff := cmp.Diff(wantFair, tree.Factors(api.FairShareClassic, fair), sixDecimals); diff != "" {
		t.Errorf("classic factors at fair usage (-want +got):\n%s", diff)
	}
}

// TestWeightFactorMixedWithShares: in a level where any account has a
// weight factor, a sibling without one counts as weight factor 1 and shares
// are ignored; other levels keep their shares.
func TestWeightFactorMixedWithShares(t *testing.T) {
	accounts := []api.Account{
		{Name: "a", WeightFactor: 0.5, Shares: 1},
		{Name: "b", Shares: 1000}, // no weight factor: 1, its shares ignored
		{Name: "b1", Parent: "b", Shares: 3},
		{Name: "b2", Parent: "b", Shares: 1},
	}
	tree, err := fairshare.NewTree(accounts, [][2]string{{"a", "x"}, {"b1", "y"}, {"b2", "z"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range tree.Rows(api.FairShareFairTree, nil) {
		got[r.Account+"/"+r.User] = r.NormShares
	}
	want := map[string]float64{
		"root/": 1, "a/": 2.0 / 3, "a/x": 1, "b/": 1.0 / 3,
		"b1/": 0.75, "b1/y": 1, "b2/": 0.25, "b2/z": 1,
	}
	if diff := cmp.Diff(want, got, sixDecimals); diff != "" {
		t.Errorf("normalized shares (-want +got):\n%s", diff)
	}
}

func TestNoUsage(t *testing.T) {
	tree, _ := test244(t)
	for alg, want := range map[string]func(r fairshare.Row) float64{
		// Every level FS is +Inf (or 0 without shares): all users with
		// shares tie at the top; uC1 (no shares) is last.
		api.FairShareFairTree: func(r fairshare.Row) float64 {
			if r.User == "uC1" {
				return 1.0 / 21
			}
			return 1
		},
		// 2^0 with shares, 0 without.
		api.FairShareClassic: func(r fairshare.Row) float64 {
			if r.User == "uC1" {
				return 0
			}
			return 1
		},
	} {
		for _, r := range tree.Rows(alg, map[string]float64{"aD/uD2": 0, "aD/uD3": -5, "aC/uC1": math.NaN()}) {
			if r.User == "" {
				continue
			}
			if w := want(r); math.Abs(r.FairShare-w) > 1e-12 {
				t.Errorf("%s: %s/%s factor %v, want %v", alg, r.Account, r.User, r.FairShare, w)
			}
			if r.RawUsage != 0 || r.NormUsage != 0 || r.EffectvUsage != 0 {
				t.Errorf("%s: %s/%s usage %v/%v/%v, want 0", alg, r.Account, r.User, r.RawUsage, r.NormUsage, r.EffectvUsage)
			}
		}
	}
}

// TestClassicSharesParent: a FairShare=parent user takes its account's
// factor; a FairShare=parent account's users compete in its parent's level.
func TestClassicSharesParent(t *testing.T) {
	accounts := []api.Account{
		{Name: "a", Shares: 1, Users: []api.AccountUser{{Name: "p", SharesParent: true}, {Name: "q", Shares: 1}}},
		{Name: "flat", Parent: "a", SharesParent: true, Users: []api.AccountUser{{Name: "r", Shares: 1}}},
		{Name: "b", Shares: 1, Users: []api.AccountUser{{Name: "s", Shares: 1}}},
	}
	tree, err := fairshare.NewTree(accounts, nil)
	if err != nil {
		t.Fatal(err)
	}
	usage := map[string]float64{"a/p": 10, "a/q": 20, "flat/r": 10, "b/s": 60}
	// a: S = 0.5, UA = UE = 0.4, F = 2^-0.8. Its level is {p (parent), q, r}
	// with shares 1 and 1: q: S = 0.25, UE = 0.2 + (0.4-0.2)/2 = 0.3;
	// r: S = 0.25, UE = 0.1 + (0.4-0.1)/2 = 0.25. b/s: S = 0.5, UE = 0.6.
	want := map[string]float64{
		"a/p":    math.Exp2(-0.8),
		"a/q":    math.Exp2(-0.3 / 0.25),
		"flat/r": math.Exp2(-0.25 / 0.25),
		"b/s":    math.Exp2(-0.6 / 0.5),
	}
	if diff := cmp.Diff(want, tree.Factors(api.FairShareClassic, usage), sixDecimals); diff != "" {
		t.Errorf("classic factors (-want +got):\n%s", diff)
	}
}

func TestFactorsInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 50 {
		accounts, seen, usage := randomTree(rng, 3+rng.IntN(20), 1+rng.IntN(8))
		tree, err := fairshare.NewTree(accounts, seen)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, alg := range []string{api.FairShareFairTree, api.FairShareClassic} {
			f := tree.Factors(alg, usage)
			if len(f) != tree.Users() {
				t.Fatalf("trial %d %s: %d factors for %d users", trial, alg, len(f), tree.Users())
			}
			for k, v := range f {
				if !(v >= 0 && v <= 1) {
					t.Errorf("trial %d %s: factor %s = %v, not in [0,1]", trial, alg, k, v)
				}
			}
		}
		// Fair Tree gives the top user 1.
		top := 0.0
		for _, v := range tree.Factors(api.FairShareFairTree, usage) {
			top = max(top, v)
		}
		if top != 1 {
			t.Errorf("trial %d: top Fair Tree factor %v, want 1", trial, top)
		}
	}
}

func TestRowJSON(t *testing.T) {
	tree, usage := test244(t)
	rows := tree.Rows(api.FairShareFairTree, usage)
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if !strings.Contains(string(b), `{"account":"root","user":"u1","raw_shares":10,`) ||
		!strings.Contains(string(b), `"level_fs":"inf"`) {
		t.Errorf("JSON lacks the expected fields: %s", b)
	}
	var back []fairshare.Row
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if diff := cmp.Diff(rows, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var bad fairshare.Row
	if err := json.Unmarshal([]byte(`{"level_fs":"high"}`), &bad); err == nil {
		t.Errorf("decoding level_fs \"high\" succeeded, want an error")
	}
}

// randomTree returns nAccounts accounts (random parents among the earlier
// ones, random shares, some FairShare=parent, some weight factors), up to
// usersPer users each, and random usage.
func randomTree(rng *rand.Rand, nAccounts, usersPer int) ([]api.Account, [][2]string, map[string]float64) {
	accounts := make([]api.Account, nAccounts)
	var seen [][2]string
	usage := map[string]float64{}
	for i := range accounts {
		a := api.Account{Name: "acct" + itoa(i), Shares: rng.IntN(5)}
		if i > 0 && rng.IntN(2) == 0 {
			a.Parent = accounts[rng.IntN(i)].Name
		}
		switch rng.IntN(8) {
		case 0:
			a.SharesParent = true
		case 1:
			a.WeightFactor = 0.5 + rng.Float64()*4
		}
		for u := range rng.IntN(usersPer + 1) {
			user := api.AccountUser{Name: "user" + itoa(u), Shares: rng.IntN(3), SharesParent: rng.IntN(10) == 0}
			a.Users = append(a.Users, user)
			if rng.IntN(4) > 0 {
				usage[api.AssocKey(a.Name, user.Name)] = float64(rng.IntN(1000))
			}
		}
		if rng.IntN(3) == 0 {
			seen = append(seen, [2]string{a.Name, "implicit"})
		}
		accounts[i] = a
	}
	return accounts, seen, usage
}

func itoa(i int) string {
	return string(rune('a'+i/26)) + string(rune('a'+i%26))
}

// TestConcurrentUse: a Tree is read-only once built; run with -race.
func TestConcurrentUse(t *testing.T) {
	tree, usage := test244(t)
	want := tree.Factors(api.FairShareFairTree, usage)
	done := make(chan map[string]float64)
	for i := range 4 {
		alg := []string{api.FairShareFairTree, api.FairShareClassic}[i%2]
		go func() {
			tree.Rows(alg, usage)
			done <- tree.Factors(api.FairShareFairTree, usage)
		}()
	}
	for range 4 {
		if diff := cmp.Diff(want, <-done); diff != "" {
			t.Errorf("concurrent Factors differ (-want +got):\n%s", diff)
		}
	}
}
