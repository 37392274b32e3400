package sim

import (
	"math"
	"slices"
)

// BoundedSlowdownTau is the run time threshold of the bounded slowdown,
// in seconds: bsld = max(1, turnaround / max(run, 10)).
const BoundedSlowdownTau = 10

// Formulas of the summary's derived numbers, written into summary.json.
const (
	UtilizationFormula = "sum over jobs of (resources held x seconds held, all runs) / (capacity x (last end - first submit)); " +
		"resources are GPUs on a GPU cluster, CPUs otherwise"
	UsefulUtilizationFormula  = "as utilization, counting only the seconds of work not lost to preemption"
	ArrivalUtilizationFormula = "time-average of the resources held from the first to the last submit (the period with arrivals), / capacity"
	JainFormula               = "Jain's index J(x) = (sum x)^2 / (n * sum x^2) over the accounts with jobs: 1 = all equal, 1/n = one account takes all"
)

// Dist summarizes a distribution.
type Dist struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P95    float64 `json:"p95"`
	Max    float64 `json:"max"`
}

// distOf summarizes xs (which it sorts). Percentiles are nearest-rank.
func distOf(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return Dist{Mean: sum / float64(len(xs)), Median: percentile(xs, 50), P95: percentile(xs, 95), Max: xs[len(xs)-1]}
}

// percentile is the nearest-rank p-th percentile of sorted xs.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// Jain is Jain's fairness index of xs: (sum x)^2 / (n sum x^2); 1 for an
// empty or all-zero list.
func Jain(xs []float64) float64 {
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	if len(xs) == 0 || s2 == 0 {
		return 1
	}
	return s * s / (float64(len(xs)) * s2)
}

// AccountSummary is one account's outcome.
type AccountSummary struct {
	Name string `json:"name"`
	Jobs int    `json:"jobs"`
	// Share is the account's guaranteed fraction of the cluster (0 without
	// a guarantee).
	Share float64 `json:"share"`
	// UsageFraction is the account's fraction of all resource-seconds held.
	UsageFraction float64 `json:"usage_fraction"`
	// DemandFraction is the account's fraction of the work the trace asks
	// for (resources x run time).
	DemandFraction float64 `json:"demand_fraction"`
	// ResourceHours is what its jobs held (GPU-hours on a GPU cluster,
	// CPU-hours otherwise).
	ResourceHours   float64 `json:"resource_hours"`
	Wait            Dist    `json:"wait_secs"`
	BoundedSlowdown Dist    `json:"bounded_slowdown"`
	Preemptions     int     `json:"preemptions"`
	LostHours       float64 `json:"lost_resource_hours"`
	// ShortfallHours is how far, while it had jobs waiting, the account
	// held less than its guarantee (or than what it asked for, if less):
	// the integral over time of max(0, min(guarantee, held + asked) -
	// held), in resource-hours. 0 for an account without a guarantee.
	ShortfallHours float64 `json:"guarantee_shortfall_hours"`
}

// Summary is summary.json: the replay's outcome in the literature's terms.
type Summary struct {
	Policy string `json:"policy"`
	Trace  string `json:"trace,omitempty"`
	// Resource is "gpu" or "cpu": what utilization and usage count.
	Resource string `json:"resource"`
	Capacity int    `json:"capacity"`
	// Jobs counts the jobs that ran to the end.
	Jobs int `json:"jobs"`
	// Filtered counts the trace records that did not run, by stage and
	// reason: "reader" (unusable records), "machine" (cannot run on the
	// simulated machine), "scheduler" (the scheduler said they can never
	// start); Adjusted counts jobs kept with a field changed.
	Filtered map[string]map[string]int `json:"filtered"`
	Adjusted map[string]int            `json:"adjusted,omitempty"`

	WaitSecs       Dist `json:"wait_secs"`
	TurnaroundSecs Dist `json:"turnaround_secs"`
	// BoundedSlowdown uses a threshold of BoundedSlowdownTau seconds.
	BoundedSlowdown    Dist    `json:"bounded_slowdown"`
	BoundedSlowdownTau int     `json:"bounded_slowdown_tau_secs"`
	Utilization        float64 `json:"utilization"`
	UtilizationFormula string  `json:"utilization_formula"`
	UsefulUtilization  float64 `json:"useful_utilization"`
	UsefulFormula      string  `json:"useful_utilization_formula"`
	// ArrivalUtilization is the utilization while jobs arrive.
	ArrivalUtilization float64 `json:"arrival_utilization"`
	ArrivalFormula     string  `json:"arrival_utilization_formula"`
	// OfferedLoad is the work the trace asks for over the capacity during
	// the arrival period: sum(resources x run) / (capacity x (last submit
	// - first submit)).
	OfferedLoad float64 `json:"offered_load"`
	// Makespan is from the first submit to the last end, seconds.
	Makespan int64 `json:"makespan_secs"`
	// Backfilled counts jobs started while an earlier-arrived job waited
	// for resources.
	Backfilled int `json:"backfilled"`
	// Preemptions counts preemptions; PreemptedJobs the jobs preempted at
	// least once; LostHours the resource-hours of work lost to them.
	Preemptions   int `json:"preemptions"`
	PreemptedJobs int `json:"preempted_jobs"`
	// PreemptionsByReason splits the preemptions by reason: "reclaim" (an
	// account below its guarantee takes it back) and "priority" (a job of
	// higher --priority in an account at its quota).
	PreemptionsByReason map[string]int `json:"preemptions_by_reason,omitempty"`
	LostHours           float64        `json:"lost_resource_hours"`

	Accounts []AccountSummary `json:"accounts"`
	// ShortfallHours sums the accounts' guarantee shortfall.
	ShortfallHours float64 `json:"guarantee_shortfall_hours"`
	// JainUsageOverShare is Jain's index over usage fraction / share, over
	// the accounts with a share; JainSlowdown over the accounts' mean
	// bounded slowdown.
	JainUsageOverShare float64 `json:"jain_usage_over_share,omitempty"`
	JainSlowdown       float64 `json:"jain_mean_bounded_slowdown"`
	JainFormula        string  `json:"jain_formula"`

	Sim SimStats `json:"sim"`

	// Estimates measure the start-time estimates made at submission
	// against the actual starts (Options.EstimateEvery); nil without.
	Estimates *EstimateSummary `json:"estimates,omitempty"`
}

// SimStats is the replay's own cost.
type SimStats struct {
	Events       int     `json:"events"`
	Passes       int     `json:"passes"`
	MaxPending   int     `json:"max_pending"`
	WallSecs     float64 `json:"wall_secs"`
	EventsPerSec float64 `json:"events_per_sec"`
	PassMicros   float64 `json:"mean_pass_micros"`
	Errors       int     `json:"plan_errors"`
}

// Summarize computes the summary of a replay.
func Summarize(res *Result) Summary {
	s := Summary{Policy: res.Policy, Resource: "cpu", Capacity: res.CPUs, BoundedSlowdownTau: BoundedSlowdownTau,
		UtilizationFormula: UtilizationFormula, UsefulFormula: UsefulUtilizationFormula, ArrivalFormula: ArrivalUtilizationFormula,
		JainFormula: JainFormula, Filtered: map[string]map[string]int{}}
	if res.GPUCluster {
		s.Resource, s.Capacity = "gpu", res.GPUs
	}
	if len(res.Dropped) > 0 {
		s.Filtered["scheduler"] = res.Dropped
	}
	amount := func(j *JobResult) float64 {
		if res.GPUCluster {
			return float64(j.GPUs)
		}
		return float64(j.CPUs)
	}
	n := len(res.Jobs)
	s.Jobs = n
	waits, tas, bslds := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	acct := map[string]int{}
	for i, a := range res.Accounts {
		acct[a] = i
		s.Accounts = append(s.Accounts, AccountSummary{Name: a, Share: res.Shares[i]})
	}
	perWait := make([][]float64, len(res.Accounts))
	perBsld := make([][]float64, len(res.Accounts))
	var held, useful, demand float64
	first, lastSub, lastEnd := int64(math.MaxInt64), int64(math.MinInt64), int64(math.MinInt64)
	for i := range res.Jobs {
		j := &res.Jobs[i]
		w, ta, b := float64(j.Wait()), float64(j.Turnaround()), j.BoundedSlowdown(BoundedSlowdownTau)
		waits, tas, bslds = append(waits, w), append(tas, ta), append(bslds, b)
		a := acct[j.Account]
		perWait[a] = append(perWait[a], w)
		perBsld[a] = append(perBsld[a], b)
		h := amount(j) * float64(j.HeldSecs)
		d := amount(j) * float64(j.Trace.Run)
		held += h
		useful += h - amount(j)*float64(j.LostSecs)
		demand += d
		as := &s.Accounts[a]
		as.Jobs++
		as.ResourceHours += h / 3600
		as.DemandFraction += d
		as.Preemptions += j.Preemptions
		as.LostHours += amount(j) * float64(j.LostSecs) / 3600
		if j.Backfilled {
			s.Backfilled++
		}
		if j.Preemptions > 0 {
			s.PreemptedJobs++
			s.Preemptions += j.Preemptions
		}
		s.LostHours += amount(j) * float64(j.LostSecs) / 3600
		first = min(first, j.Trace.Submit)
		lastSub = max(lastSub, j.Trace.Submit)
		lastEnd = max(lastEnd, j.End)
	}
	s.WaitSecs, s.TurnaroundSecs, s.BoundedSlowdown = distOf(waits), distOf(tas), distOf(bslds)
	if n > 0 {
		s.Makespan = lastEnd - first
		if span := float64(s.Makespan) * float64(s.Capacity); span > 0 {
			s.Utilization, s.UsefulUtilization = held/span, useful/span
		}
		if lastSub > first && s.Capacity > 0 {
			s.OfferedLoad = demand / (float64(lastSub-first) * float64(s.Capacity))
			s.ArrivalUtilization = arrivalUtilization(res, first, lastSub, res.GPUCluster) / float64(s.Capacity)
		}
	}
	var overShare, meanBsld []float64
	for i := range s.Accounts {
		as := &s.Accounts[i]
		if held > 0 {
			as.UsageFraction = as.ResourceHours * 3600 / held
		}
		if demand > 0 {
			as.DemandFraction /= demand
		}
		as.Wait, as.BoundedSlowdown = distOf(perWait[i]), distOf(perBsld[i])
		if as.Jobs == 0 {
			continue
		}
		meanBsld = append(meanBsld, as.BoundedSlowdown.Mean)
		if as.Share > 0 {
			overShare = append(overShare, as.UsageFraction/as.Share)
		}
	}
	for _, sm := range res.Samples {
		for i := range s.Accounts {
			g := s.Accounts[i].Share * float64(s.Capacity)
			if g <= 0 || i >= len(sm.ByAccount) || sm.WantByAccount[i] == 0 {
				continue
			}
			h := float64(sm.ByAccount[i])
			if short := min(g, h+float64(sm.WantByAccount[i])) - h; short > 0 {
				s.Accounts[i].ShortfallHours += short * float64(res.SampleStep) / 3600
			}
		}
	}
	for i := range s.Accounts {
		s.ShortfallHours += s.Accounts[i].ShortfallHours
	}
	s.JainSlowdown = Jain(meanBsld)
	if len(overShare) > 0 {
		s.JainUsageOverShare = Jain(overShare)
	}
	st := res.Stats
	if len(st.PreemptionsByReason) > 0 {
		s.PreemptionsByReason = st.PreemptionsByReason
	}
	s.Sim = SimStats{Events: st.Events, Passes: st.Passes, MaxPending: st.MaxPending, WallSecs: st.Wall.Seconds(), Errors: len(res.Errors)}
	if st.Wall > 0 {
		s.Sim.EventsPerSec = float64(st.Events) / st.Wall.Seconds()
	}
	if st.Passes > 0 {
		s.Sim.PassMicros = float64(st.PassTime.Microseconds()) / float64(st.Passes)
	}
	s.Estimates = summarizeEstimates(res)
	return s
}

// arrivalUtilization is the time-average of the resources held over
// [from, to] (trace seconds), from the samples.
func arrivalUtilization(res *Result, from, to int64, gpu bool) float64 {
	var sum float64
	var cnt int
	for _, sm := range res.Samples {
		if sm.Time < from || sm.Time > to {
			continue
		}
		v := sm.CPUs
		if gpu {
			v = sm.GPUs
		}
		sum += float64(v)
		cnt++
	}
	if cnt == 0 {
		return 0
	}
	return sum / float64(cnt)
}
