package forecast

import (
	"cmp"
	"slices"
	"sort"

	"github.com/fairway-hpc/fairway/api"
)

// History model bounds.
const (
	// HistoryPerKey is how many of the latest finished runs the history
	// model keeps per user, per account and for the cluster.
	HistoryPerKey = 200
	// HistoryMinRuns is how many runs a user (or account) needs before
	// its own history is used instead of the next wider one.
	HistoryMinRuns = 5
	// LaunchFailureSecs: a run that failed within this many seconds of its
	// start failed at launch and says nothing about run times.
	LaunchFailureSecs = 10
)

// History is the run-time model made from finished runs: a job's run time
// as a fraction of its time limit is drawn uniformly from its user's
// recorded fractions (account and user), else its account's, else the
// cluster's, else 1 (the job runs to its limit). It is immutable and safe
// for concurrent use.
type History struct {
	byUser  map[string][]float64 // api.AssocKey(account, user); sorted
	byAcct  map[string][]float64
	cluster []float64
}

// histRun is one finished run used by the model.
type histRun struct {
	end        int64
	id         api.JobID
	acct, user string
	frac       float64
}

// NewHistoryModel returns the model that samples a job's run-time fraction
// from its user's finished jobs, else its account's, else the cluster's
// (run time / time limit of each finished run). A run counts when it ended
// by itself (COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY), not by a
// preemption, a requeue or a node failure, had a finite time limit, and did
// not fail within LaunchFailureSecs of its start. Only the latest
// HistoryPerKey runs (by end time) are kept per key.
func NewHistoryModel(finished []*api.Job) RuntimeModel {
	return newHistory(finished)
}

func newHistory(finished []*api.Job) *History {
	var runs []histRun
	for _, j := range finished {
		limit := j.TimeLimitSecs
		if limit <= 0 {
			limit = j.Spec.TimeLimitSecs
		}
		if limit <= 0 || api.Unlimited(limit) {
			continue
		}
		add := func(start, end int64, state api.JobState) {
			ran := end - start
			if start <= 0 || ran <= 0 || !countable(state) || state != api.JobCompleted && ran < LaunchFailureSecs {
				return
			}
			runs = append(runs, histRun{end: end, id: j.ID, acct: j.Spec.Account, user: j.Spec.User,
				frac: min(float64(ran)/float64(limit), 1)})
		}
		if len(j.Runs) > 0 {
			for _, r := range j.Runs {
				add(r.StartTime, r.EndTime, r.State)
			}
			continue
		}
		add(j.StartTime, j.EndTime, j.State) // a job without run records: its last run
	}
	slices.SortFunc(runs, func(a, b histRun) int { return cmp.Or(cmp.Compare(b.end, a.end), cmp.Compare(b.id, a.id)) })
	h := &History{byUser: map[string][]float64{}, byAcct: map[string][]float64{}}
	for _, r := range runs { // newest first: the first HistoryPerKey are kept
		if k := api.AssocKey(r.acct, r.user); len(h.byUser[k]) < HistoryPerKey {
			h.byUser[k] = append(h.byUser[k], r.frac)
		}
		if len(h.byAcct[r.acct]) < HistoryPerKey {
			h.byAcct[r.acct] = append(h.byAcct[r.acct], r.frac)
		}
		if len(h.cluster) < HistoryPerKey {
			h.cluster = append(h.cluster, r.frac)
		}
	}
	for _, v := range h.byUser {
		slices.Sort(v)
	}
	for _, v := range h.byAcct {
		slices.Sort(v)
	}
	slices.Sort(h.cluster)
	return h
}

// countable reports whether a run that ended in state s ended by itself.
func countable(s api.JobState) bool {
	switch s {
	case api.JobCompleted, api.JobFailed, api.JobTimeout, api.JobCancelled, api.JobOutOfMemory:
		return true
	}
	return false
}

// fractions returns the sorted fractions the job's run time is drawn
// from: its user's, else its account's, else the cluster's (nil: none).
func (h *History) fractions(j *api.Job) []float64 {
	if v := h.byUser[api.AssocKey(j.Spec.Account, j.Spec.User)]; len(v) >= HistoryMinRuns {
		return v
	}
	if v := h.byAcct[j.Spec.Account]; len(v) >= HistoryMinRuns {
		return v
	}
	if len(h.cluster) > 0 {
		return h.cluster
	}
	return nil
}

// Fraction implements RuntimeModel: one of the recorded fractions, chosen
// uniformly by u.
func (h *History) Fraction(j *api.Job, u float64) float64 {
	return h.FractionAbove(j, 0, u)
}

// FractionAbove implements ConditionalModel: one of the recorded
// fractions above above, chosen uniformly by u; 1 when none is.
func (h *History) FractionAbove(j *api.Job, above, u float64) float64 {
	v := h.fractions(j)
	i := sort.Search(len(v), func(i int) bool { return v[i] > above })
	v = v[i:]
	if len(v) == 0 {
		return 1
	}
	k := min(int(u*float64(len(v))), len(v)-1)
	return max(v[k], 1e-9)
}

// constantModel is a model whose every job runs its fraction of its limit.
type constantModel float64

// Fraction implements RuntimeModel.
func (c constantModel) Fraction(*api.Job, float64) float64 { return float64(c) }

// Constant returns the model whose every job runs fraction f of its time
// limit (1: every job runs to its limit, as backfill assumes).
func Constant(f float64) RuntimeModel { return constantModel(f) }
