package ctld

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/fairshare"
)

// PriorityFilter selects the rows Priorities answers.
type PriorityFilter struct {
	IDs   map[api.JobID]bool // nil: every job
	Users map[string]bool    // nil: every user
}

// Priorities answers sprio: the scheduler's priority factors of the pending
// jobs on the current state, ordered by job ID.
func (s *Service) Priorities(ctx context.Context, caller Identity, f PriorityFilter, q Query) (api.PrioritiesResponse, error) {
	ids, users := f.IDs, f.Users
	st, err := s.read(ctx, q, raftstore.TopicAll)
	if err != nil {
		return api.PrioritiesResponse{}, err
	}
	now := s.now().Unix()
	cfg := st.Config()
	jobs := st.ActiveJobsShared() // read-only
	rows := sched.Priorities(schedInput(st, now, cfg, st.Nodes(), jobs))
	qos := make(map[api.JobID]string, len(jobs))
	for _, j := range jobs {
		qos[j.ID] = j.Spec.QOS
	}
	out := make([]api.PriorityRow, 0, len(rows))
	for _, row := range rows {
		if (ids != nil && !ids[row.JobID]) || (users != nil && !users[row.User]) {
			continue
		}
		if row.QOSName == "" {
			row.QOSName = cmp.Or(qos[row.JobID], api.DefaultQOS)
		}
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b api.PriorityRow) int { return cmp.Compare(a.JobID, b.JobID) })
	return api.PrioritiesResponse{Index: st.Index(), Now: now, Weights: cfg.Scheduling.Weights, Rows: out}, nil
}

// Shares answers sshare: the fair-share tree of the configured accounts and
// the associations seen in active jobs and in the usage, with the usage as
// last accrued, in tree order.
func (s *Service) Shares(ctx context.Context, caller Identity, q Query) (api.SharesResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicUsage, raftstore.TopicConfig, raftstore.TopicJobs)
	if err != nil {
		return api.SharesResponse{}, err
	}
	cfg := st.Config()
	usage, usageAt := st.Usage()
	seen := map[[2]string]bool{}
	for _, j := range st.ActiveJobs() {
		seen[[2]string{j.Spec.Account, j.Spec.User}] = true
	}
	for key := range usage {
		if account, user, ok := strings.Cut(key, "/"); ok && user != "" {
			seen[[2]string{account, user}] = true
		}
	}
	assocs := make([][2]string, 0, len(seen))
	for a := range seen {
		if a[1] != "" {
			assocs = append(assocs, a)
		}
	}
	slices.SortFunc(assocs, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	tree, err := fairshare.NewTree(cfg.Accounts, assocs)
	if err != nil {
		return api.SharesResponse{}, &Error{Kind: KindInternal, Msg: fmt.Sprintf("build the fair-share tree: %v", err), Err: err}
	}
	algorithm := cmp.Or(cfg.Scheduling.FairShare, api.FairShareFairTree)
	rows := tree.Rows(algorithm, usage)
	parent := map[string]string{}
	for _, a := range cfg.Accounts {
		if a.Name != api.RootAccount {
			parent[a.Name] = cmp.Or(a.Parent, api.RootAccount)
		}
	}
	depth := func(account string) int {
		d := 0
		for a := account; a != api.RootAccount && d <= len(parent); d++ {
			p, ok := parent[a]
			if !ok {
				p = api.RootAccount // an account only jobs name hangs below the root
			}
			a = p
		}
		return d
	}
	out := make([]api.ShareRow, len(rows))
	for i, row := range rows {
		d := depth(row.Account)
		if row.User != "" {
			d++
		}
		out[i] = api.ShareRow{
			Account: row.Account, User: row.User, Depth: d, RawShares: row.RawShares, SharesParent: row.Parent,
			NormShares: row.NormShares, RawUsage: row.RawUsage, NormUsage: row.NormUsage,
			EffectvUsage: row.EffectvUsage, FairShare: row.FairShare, LevelFS: row.LevelFS,
		}
	}
	return api.SharesResponse{Index: st.Index(), Now: s.now().Unix(), Algorithm: algorithm, UsageAt: usageAt, Rows: out}, nil
}
