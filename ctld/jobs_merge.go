package ctld

import (
	"cmp"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// jobsInStates returns the stored jobs in the given states (none: every
// job), ordered by ID, without copying them. Each state's jobs come from
// the store's state index already ordered by ID, so several states are
// merged rather than sorted together: squeue -t all names every state,
// and sorting 200,000 listed jobs was a good part of the controller's
// time for it (raftstore.State.JobsShared sorts them).
func jobsInStates(st *raftstore.State, states []api.JobState) []*api.Job {
	var runs [][]*api.Job
	for i, s := range states {
		if !slices.Contains(states[:i], s) {
			runs = append(runs, st.JobsShared("", s))
		}
	}
	if len(runs) <= 1 {
		return st.JobsShared("", states...)
	}
	return mergeByID(runs)
}

// mergeByID merges lists of jobs each ordered by ID, without duplicates
// among them, into one ordered by ID.
func mergeByID(runs [][]*api.Job) []*api.Job {
	n := 0
	for _, r := range runs {
		n += len(r)
	}
	out := make([]*api.Job, 0, n)
	for {
		best := -1
		for i, r := range runs {
			if len(r) > 0 && (best < 0 || r[0].ID < runs[best][0].ID) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		// Take the whole stretch of the best run below every other head.
		r := runs[best]
		limit := api.JobID(0)
		for i, o := range runs {
			if i != best && len(o) > 0 && (limit == 0 || o[0].ID < limit) {
				limit = o[0].ID
			}
		}
		k := len(r)
		if limit != 0 {
			k, _ = slices.BinarySearchFunc(r, limit, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) })
		}
		out = append(out, r[:k]...)
		runs[best] = r[k:]
	}
}
