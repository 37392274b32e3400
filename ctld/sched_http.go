package ctld

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/fairshare"
)

// handlePriorities answers sprio: the scheduler's priority factors of the
// pending jobs on the current state (?id=1,2 and ?user=a,b select jobs),
// ordered by job ID.
func (c *Controller) handlePriorities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ids map[api.JobID]bool
	if s := q.Get("id"); s != "" {
		ids = map[api.JobID]bool{}
		for _, part := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
			if err != nil || n == 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid job id %q in id=%s", part, s), "id")
				return
			}
			ids[api.JobID(n)] = true
		}
	}
	var users map[string]bool
	if s := q.Get("user"); s != "" {
		users = map[string]bool{}
		for _, u := range strings.Split(s, ",") {
			users[strings.TrimSpace(u)] = true
		}
	}
	st, ok := c.readState(w, r)
	if !ok {
		return
	}
	now := c.now().Unix()
	cfg := st.Config()
	jobs := st.ActiveJobs()
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
			row.QOSName = cmpOr(qos[row.JobID], api.DefaultQOS)
		}
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b api.PriorityRow) int { return compareIDs(a.JobID, b.JobID) })
	writeJSON(w, http.StatusOK, api.PrioritiesResponse{Index: st.Index(), Now: now, Weights: cfg.Scheduling.Weights, Rows: out})
}

// handleShares answers sshare: the fair-share tree of the configured
// accounts and the associations seen in active jobs and in the usage, with
// the usage as last accrued, in tree order.
func (c *Controller) handleShares(w http.ResponseWriter, r *http.Request) {
	st, ok := c.readState(w, r)
	if !ok {
		return
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
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("build the fair-share tree: %v", err), "")
		return
	}
	algorithm := cmpOr(cfg.Scheduling.FairShare, api.FairShareFairTree)
	rows := tree.Rows(algorithm, usage)
	parent := map[string]string{}
	for _, a := range cfg.Accounts {
		if a.Name != api.RootAccount {
			parent[a.Name] = cmpOr(a.Parent, api.RootAccount)
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
	writeJSON(w, http.StatusOK, api.SharesResponse{Index: st.Index(), Now: c.now().Unix(), Algorithm: algorithm, UsageAt: usageAt, Rows: out})
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// compareIDs orders job IDs.
func compareIDs(a, b api.JobID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
