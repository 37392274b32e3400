package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
)

// Dependencies: what each term of a job's dependency waits for.

// depView is a dependency's referenced job as the explanation sees it.
type depView struct {
	known   bool
	state   string // for words
	started bool
	startAt int64
	ended   bool
	ok      bool
}

// view finds a referenced job or job array.
func (x *explainer) view(ref api.JobRef) depView {
	lookup := func(id api.JobID) (*api.Job, bool) {
		if i, ok := slices.BinarySearchFunc(x.running, id, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) }); ok {
			return x.running[i], true
		}
		if i, ok := slices.BinarySearchFunc(x.pending, id, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) }); ok {
			return x.pending[i], true
		}
		if x.in.Lookup != nil {
			return x.in.Lookup(id)
		}
		return nil, false
	}
	one := func(j *api.Job) depView {
		v := depView{known: true, state: string(j.State), started: j.StartTime > 0, startAt: j.StartTime, ended: j.State.Final()}
		if v.ended {
			v.ok = j.State == api.JobCompleted && j.ExitCode == 0
			if !v.ok {
				v.state += fmt.Sprintf(" (exit code %d)", j.ExitCode)
			}
		}
		if j.IsArrayRecord() && len(j.ArrayPending) > 0 {
			v.ended, v.ok, v.state = false, false, fmt.Sprintf("PENDING (%s of the array not started)", plural(len(j.ArrayPending), "task"))
		}
		return v
	}
	if ref.Task != nil {
		for _, set := range [][]*api.Job{x.running, x.pending} {
			for _, m := range set {
				if m.ArrayJobID == ref.ID && m.IsArrayTask() && m.ArrayTaskID == *ref.Task {
					return one(m)
				}
				if m.ID == ref.ID && m.IsArrayRecord() && m.ArrayPending.Contains(*ref.Task) {
					return depView{known: true, state: "PENDING"}
				}
			}
		}
		if j, ok := lookup(ref.ID); ok && j.ArrayTaskID == *ref.Task {
			return one(j)
		}
		return depView{}
	}
	var members []*api.Job
	for _, set := range [][]*api.Job{x.running, x.pending} {
		for _, m := range set {
			if m.ArrayJobID == ref.ID && m.ID != ref.ID {
				members = append(members, m)
			}
		}
	}
	j, ok := lookup(ref.ID)
	if !ok && len(members) == 0 {
		return depView{}
	}
	v := depView{known: true, ended: true, ok: true, state: "ended"}
	if ok {
		v = one(j)
	}
	if len(members) > 0 {
		v.ended, v.ok = false, false
		v.state = fmt.Sprintf("a job array with %s pending or running", plural(len(members), "task"))
		for _, m := range members {
			if m.StartTime > 0 && (!v.started || m.StartTime < v.startAt) {
				v.started, v.startAt = true, m.StartTime
			}
		}
	}
	return v
}

// depOutcome is a dependency term's outcome for one job, in words.
func (x *explainer) depOutcome(t api.DependencyTerm, v depView) (met, never bool, why string) {
	if !v.known {
		switch t.Type {
		case api.DepAfter, api.DepAfterAny:
			return true, false, "no longer known, so it counts as ended"
		}
		return false, true, "no longer known, so whether it succeeded cannot be told"
	}
	switch t.Type {
	case api.DepAfter:
		switch {
		case v.started && x.now >= v.startAt+int64(t.DelayMins)*60:
			return true, false, "started: satisfied"
		case v.started:
			return false, false, fmt.Sprintf("started at %s; satisfied at %s", x.time(v.startAt), x.time(v.startAt+int64(t.DelayMins)*60))
		case v.ended:
			return true, false, "ended without starting: satisfied"
		}
		return false, false, "not started yet; satisfied once it starts"
	case api.DepAfterAny:
		if v.ended {
			return true, false, "ended: satisfied"
		}
		return false, false, "satisfied once it ends, however it ends"
	case api.DepAfterOK:
		switch {
		case v.ended && v.ok:
			return true, false, "completed: satisfied"
		case v.ended:
			return false, true, "it did not complete successfully, so afterok can never be satisfied"
		}
		return false, false, "satisfied if it completes with exit code 0"
	case api.DepAfterNotOK:
		switch {
		case v.ended && v.ok:
			return false, true, "it completed successfully, so afternotok can never be satisfied"
		case v.ended:
			return true, false, "it failed: satisfied"
		}
		return false, false, "satisfied if it fails, is cancelled or times out"
	}
	return false, true, "unknown dependency type"
}

// dependency explains Dependency and DependencyNeverSatisfied.
func (x *explainer) dependency(j *api.Job, e *api.Explanation) {
	d, err := api.ParseDependency(j.Spec.Dependency)
	if err != nil {
		e.Summary = fmt.Sprintf("Job %d can never start: its dependency %q does not parse (%v). Cancel it with scancel %d and submit it again.", j.ID, j.Spec.Dependency, err, j.ID)
		return
	}
	var waiting, never []string
	for _, t := range d.Terms {
		if t.Type == api.DepSingleton {
			var same []*api.Job
			for _, r := range x.running {
				if r.Spec.Name == j.Spec.Name && r.Spec.User == j.Spec.User {
					same = append(same, r)
				}
			}
			text := fmt.Sprintf("singleton: no other job named %q of user %s is running", j.Spec.Name, j.Spec.User)
			if len(same) > 0 {
				text = fmt.Sprintf("singleton: %s named %q of user %s is running; satisfied once it ends", x.jobsWord(ids(same)), j.Spec.Name, j.Spec.User)
				waiting = append(waiting, fmt.Sprintf("%s (singleton) to end", x.jobsWord(ids(same))))
			}
			e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactDependency, Text: text + ".", Jobs: ids(same)})
			continue
		}
		for _, ref := range t.Jobs {
			v := x.view(ref)
			met, nev, why := x.depOutcome(t, v)
			state := cmp.Or(v.state, "unknown")
			if !v.known {
				state = "unknown"
			}
			term := t.Type + ":" + ref.String()
			if t.DelayMins > 0 {
				term += fmt.Sprintf("+%d", t.DelayMins)
			}
			e.Facts = append(e.Facts, api.ExplainFact{Kind: api.FactDependency, Text: fmt.Sprintf("%s: job %s is %s; %s.", term, ref, state, why), Jobs: []api.JobID{ref.ID}})
			switch {
			case nev:
				never = append(never, fmt.Sprintf("job %s is %s", ref, state))
			case !met:
				waiting = append(waiting, fmt.Sprintf("job %s (%s, now %s)", ref, t.Type, state))
			}
		}
	}
	join := " and "
	if d.Any {
		join = " or "
	}
	switch {
	case j.Reason == sched.ReasonDependencyNever || (len(waiting) == 0 && len(never) > 0):
		e.Summary = fmt.Sprintf("Job %d can never start: its dependency %s cannot be satisfied any more, because %s. Cancel it with scancel %d and submit it again.",
			j.ID, j.Spec.Dependency, andList(never), j.ID)
	case len(waiting) > 0:
		e.Summary = fmt.Sprintf("Job %d waits for its dependency %s: it waits for %s.", j.ID, j.Spec.Dependency, strings.Join(waiting, join))
	default:
		e.Summary = fmt.Sprintf("Job %d's dependency %s is satisfied now; the scheduler considers it on its next pass.", j.ID, j.Spec.Dependency)
	}
}
