package fairshare_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
)

// bigTree is 10 divisions x 10 teams x 100 users (10,000 users, 111
// accounts), with random usage for most users and 500 implicit users seen in
// jobs.
func bigTree(b *testing.B) (*fairshare.Tree, map[string]float64) {
	b.Helper()
	rng := rand.New(rand.NewPCG(42, 42))
	var accounts []api.Account
	var seen [][2]string
	usage := map[string]float64{}
	for d := range 10 {
		div := fmt.Sprintf("div%02d", d)
		accounts = append(accounts, api.Account{Name: div, Shares: 1 + rng.IntN(100)})
		for tm := range 10 {
			team := fmt.Sprintf("%s-team%02d", div, tm)
			a := api.Account{Name: team, Parent: div, Shares: 1 + rng.IntN(100)}
			for u := range 100 {
				user := fmt.Sprintf("user%03d", u)
				if u%20 == 0 {
					seen = append(seen, [2]string{team, user}) // implicit
				} else {
					a.Users = append(a.Users, api.AccountUser{Name: user, Shares: 1 + rng.IntN(10)})
				}
				if rng.IntN(10) > 0 {
					usage[api.AssocKey(team, user)] = rng.Float64() * 1e6
				}
			}
			accounts = append(accounts, a)
		}
	}
	tree, err := fairshare.NewTree(accounts, seen)
	if err != nil {
		b.Fatal(err)
	}
	if tree.Users() != 10000 {
		b.Fatalf("%d users, want 10000", tree.Users())
	}
	return tree, usage
}

// BenchmarkFactors10kUsers is the per-pass cost of fair share for 10,000
// users.
func BenchmarkFactors10kUsers(b *testing.B) {
	tree, usage := bigTree(b)
	for _, alg := range []string{api.FairShareFairTree, api.FairShareClassic} {
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tree.Factors(alg, usage)
			}
		})
	}
}

func BenchmarkRows10kUsers(b *testing.B) {
	tree, usage := bigTree(b)
	b.ReportAllocs()
	for b.Loop() {
		tree.Rows(api.FairShareFairTree, usage)
	}
}

func BenchmarkNewTree10kUsers(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	accounts, seen, _ := randomTree(rng, 100, 0)
	for i := range accounts {
		for u := range 100 {
			seen = append(seen, [2]string{accounts[i].Name, fmt.Sprintf("user%03d", u)})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fairshare.NewTree(accounts, seen); err != nil {
			b.Fatal(err)
		}
	}
}
