package sched

import (
	"github.com/fairway-hpc/fairway/api"
)

// depState is the outcome of a dependency check.
type depState int

const (
	depMet   depState = iota // the job may start
	depWait                  // not yet
	depNever                 // can never be satisfied
)

// checkDependency evaluates a job's --dependency (except singleton, which
// the pass checks as jobs start) against the jobs of the input and
// Input.Lookup. Terms separated by "," must all hold; with "?" any one.
//
//   - after:ID[+MIN]: ID started (MIN minutes ago) or ended without starting.
//   - afterany:ID: ID ended.
//   - afterok:ID: ID completed with exit code 0; any other end: never.
//   - afternotok:ID: ID ended in another way; completing: never.
//
// A job array's ID stands for all its tasks: it has ended when no task is
// pending or running and its record has ended. A job that is not known (not
// active and not found by Lookup) counts as ended well for after and
// afterany and as never satisfiable for afterok and afternotok, whose
// outcome cannot be known. An expression that does not parse is never
// satisfiable. hasSingleton reports a singleton term.
func (ps *pass) checkDependency(j *api.Job) (st depState, hasSingleton bool) {
	if j.Spec.Dependency == "" {
		return depMet, false
	}
	d, err := api.ParseDependency(j.Spec.Dependency)
	if err != nil {
		return depNever, false
	}
	results := make([]depState, 0, len(d.Terms))
	for _, t := range d.Terms {
		if t.Type == api.DepSingleton {
			hasSingleton = true
			results = append(results, depMet)
			continue
		}
		r := depMet
		for _, ref := range t.Jobs {
			r = worse(r, ps.checkTerm(t, ref))
		}
		results = append(results, r)
	}
	if !d.Any {
		st = depMet
		for _, r := range results {
			st = worse(st, r)
		}
		return st, hasSingleton
	}
	st = depNever
	for _, r := range results {
		st = better(st, r)
	}
	return st, hasSingleton
}

func worse(a, b depState) depState  { return max(a, b) }
func better(a, b depState) depState { return min(a, b) }

// jobView is what a dependency needs to know about one job (or all tasks of
// a job array).
type jobView struct {
	started  bool
	startAt  int64
	ended    bool
	ok       bool // ended COMPLETED with exit code 0 (every task, for an array)
	endedBad bool // some part ended otherwise
}

// checkTerm evaluates one dependency term for one referenced job.
func (ps *pass) checkTerm(t api.DependencyTerm, ref api.JobRef) depState {
	v, known := ps.viewOf(ref)
	if !known {
		switch t.Type {
		case api.DepAfter, api.DepAfterAny:
			return depMet
		}
		return depNever
	}
	switch t.Type {
	case api.DepAfter:
		switch {
		case v.started && ps.now >= v.startAt+int64(t.DelayMins)*60:
			return depMet
		case v.ended && !v.started:
			return depMet
		}
		return depWait
	case api.DepAfterAny:
		if v.ended {
			return depMet
		}
		return depWait
	case api.DepAfterOK:
		switch {
		case v.endedBad:
			return depNever
		case v.ended:
			return depMet
		}
		return depWait
	case api.DepAfterNotOK:
		switch {
		case v.ended && v.ok:
			return depNever
		case v.endedBad && v.ended:
			return depMet
		}
		return depWait
	}
	return depNever
}

// viewOf finds a referenced job: an active job of the input, a task of an
// active array, or a retained job through Lookup.
func (ps *pass) viewOf(ref api.JobRef) (jobView, bool) {
	if ref.Task != nil {
		for _, j := range ps.arrayMembers[ref.ID] {
			if j.IsArrayTask() && j.ArrayTaskID == *ref.Task {
				return viewOne(j), true
			}
			if j.IsArrayRecord() && j.ArrayPending.Contains(*ref.Task) {
				return jobView{}, true
			}
		}
		j, ok := ps.lookup(ref.ID)
		if !ok {
			return jobView{}, false
		}
		if j.IsArrayTask() && j.ArrayTaskID == *ref.Task {
			return viewOne(j), true
		}
		if j.IsArrayRecord() && j.ArrayPending.Contains(*ref.Task) {
			return jobView{}, true
		}
		return jobView{}, false
	}
	members := ps.arrayMembers[ref.ID]
	j, ok := ps.lookup(ref.ID)
	if !ok && len(members) == 0 {
		return jobView{}, false
	}
	var v jobView
	if ok {
		v = viewOne(j)
	} else {
		v = jobView{ended: true, ok: true}
	}
	if len(members) == 0 {
		return v, true
	}
	// A job array: every active part must have ended (none has: they are
	// active), and the record's own outcome (it may be a finished task).
	v.ended, v.ok = false, false
	for _, m := range members {
		if m.State == api.JobRunning || m.StartTime > 0 {
			if !v.started || m.StartTime < v.startAt {
				v.startAt = m.StartTime
			}
			v.started = true
		}
	}
	return v, true
}

// viewOne describes one job.
func viewOne(j *api.Job) jobView {
	v := jobView{started: j.StartTime > 0, startAt: j.StartTime, ended: j.State.Final()}
	if v.ended {
		v.ok = j.State == api.JobCompleted && j.ExitCode == 0
		v.endedBad = !v.ok
	}
	if j.IsArrayRecord() && len(j.ArrayPending) > 0 {
		v.ended, v.ok, v.endedBad = false, false, false
	}
	return v
}

// lookup finds a job among the input's jobs, then through Input.Lookup.
func (ps *pass) lookup(id api.JobID) (*api.Job, bool) {
	if j := ps.activeJob(id); j != nil {
		return j, true
	}
	if ps.in.Lookup != nil {
		return ps.in.Lookup(id)
	}
	return nil, false
}
