package sched

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
)

// PriorityRow is one pending job's priority as sprio shows it: each factor
// already multiplied by its weight, and the priority the job is scheduled
// with.
type PriorityRow = api.PriorityRow

// Priorities computes, for every pending job of the input (job array records
// included, one row each), its multifactor priority the way Schedule does,
// ordered by job ID.
//
// Each factor is in [0,1] and multiplied by its weight from
// Config.Scheduling.Weights (DefaultWeights when none is set):
//
//   - Age: time since SubmitTime (kept across requeues), capped at
//     MaxAgeSecs, divided by MaxAgeSecs.
//   - FairShare: the association's factor from sched/fairshare (Fair Tree,
//     or classic 2^(-U/S)) on Input.Usage.
//   - JobSize: the job's largest fraction of its partition's nodes, CPUs or
//     GPUs; one minus that with FavorSmall.
//   - Partition: the largest PriorityFactor among the job's partitions,
//     divided by the largest of all partitions.
//   - QOS: the job's QOS Priority divided by the largest QOS Priority.
//   - TRES: per weighted resource ("cpu", "mem", "gpu", "gpu:TYPE"), the
//     job's share of its partition's total.
//
// The sum minus the job's nice value is the job's own multifactor value.
// Inside an account, the job's --priority (0-99) then orders the account's
// jobs: the account's multifactor values, sorted, are handed out again to its
// jobs sorted by --priority (then by their own value, submit time, ID), so a
// job's --priority never moves it ahead of another account's jobs but always
// ahead of its own account's jobs of lower --priority. Priority is that
// value; the factor columns are the job's own. Held jobs have priority 0 and
// take no part in the exchange.
func Priorities(in Input) []PriorityRow {
	ps := newPassFor(in, true)
	rows := make([]PriorityRow, 0, len(ps.entries))
	for _, e := range ps.entries {
		f := ps.factors[e.idx]
		part := ""
		switch {
		case e.ref != nil:
			part = e.ref.cfg.Name
		case len(e.job.Spec.Partitions) > 0:
			part = e.job.Spec.Partitions[0]
		}
		row := PriorityRow{
			JobID: e.job.ID, Partition: part, User: e.job.Spec.User, Account: e.acct, QOSName: e.job.Spec.QOS,
			Priority: e.prio, Age: f.age, FairShare: f.fs, JobSize: f.size, PartitionF: f.part, QOS: f.qos,
			Nice: float64(e.job.Spec.Nice),
		}
		if len(f.tres) > 0 {
			row.TRES = map[string]float64{}
			for i, k := range ps.tresKeys {
				row.TRES[k] = f.tres[i]
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b PriorityRow) int { return cmp.Compare(a.JobID, b.JobID) })
	return rows
}

// factors are a job's weighted priority factors.
type factors struct {
	age, fs, size, part, qos float64
	tres                     []float64 // by pass.tresKeys
}

// partTotals are a partition's capacities, for the job-size and TRES factors.
type partTotals struct {
	nodes, cpus int
	mem         int64
	gpus        int
	gpuByType   map[string]int // lower-case type
}

// computePriorities fills every entry's factors, own value and effective
// priority.
func (ps *pass) computePriorities() {
	s := ps.set
	w := s.w
	ps.tresKeys = sortedKeys(w.TRES)
	fsf := ps.fairShareFactors()
	if ps.keepFactors {
		ps.factors = make([]factors, len(ps.entries))
	}
	for _, e := range ps.entries {
		j := e.job
		var f factors
		age := float64(min(max(ps.now-j.SubmitTime, 0), w.MaxAgeSecs)) / float64(w.MaxAgeSecs)
		f.age = w.Age * age
		fs, ok := e.ap.fs[j.Spec.User]
		if !ok {
			fs = fsf[e.assocKey()]
			e.ap.fs[j.Spec.User] = fs
		}
		f.fs = w.FairShare * fs
		var tot partTotals
		if e.ref != nil {
			tot = e.ref.tot
		}
		nodes := max(j.Spec.Nodes, 1)
		cpus := nodes * j.Spec.TotalCPUsPerNode()
		gpus := nodes * j.Spec.GPUs
		mem := int64(nodes) * e.memIn(e.ref)
		size := 0.0
		if tot.nodes > 0 {
			size = max(size, float64(nodes)/float64(tot.nodes))
		}
		if tot.cpus > 0 {
			size = max(size, float64(cpus)/float64(tot.cpus))
		}
		if tot.gpus > 0 {
			size = max(size, float64(gpus)/float64(tot.gpus))
		}
		size = min(size, 1)
		if w.FavorSmall {
			size = 1 - size
		}
		f.size = w.JobSize * size
		if s.maxPartFactor > 0 {
			best := 0.0
			for _, p := range e.named {
				best = max(best, p.cfg.PriorityFactor)
			}
			f.part = w.Partition * best / s.maxPartFactor
		}
		if q := s.qos[j.Spec.QOS]; q != nil && s.maxQOSPrio > 0 {
			f.qos = w.QOS * float64(q.Priority) / s.maxQOSPrio
		}
		if len(ps.tresKeys) > 0 {
			f.tres = make([]float64, len(ps.tresKeys))
			for i, k := range ps.tresKeys {
				var amount, total float64
				switch {
				case k == "cpu":
					amount, total = float64(cpus), float64(tot.cpus)
				case k == "mem":
					amount, total = float64(mem), float64(tot.mem)
				case k == "gpu":
					amount, total = float64(gpus), float64(tot.gpus)
				case strings.HasPrefix(k, "gpu:"):
					typ := strings.ToLower(strings.TrimPrefix(k, "gpu:"))
					if strings.EqualFold(j.Spec.GPUType, typ) {
						amount = float64(gpus)
					}
					total = float64(tot.gpuByType[typ])
				}
				if total > 0 {
					f.tres[i] = w.TRES[k] * min(amount/total, 1)
				}
			}
		}
		if ps.keepFactors {
			ps.factors[e.idx] = f
		}
		sum := f.age + f.fs + f.size + f.part + f.qos
		for _, v := range f.tres {
			sum += v
		}
		e.own = sum - float64(j.Spec.Nice)
		e.prio = e.own
	}
	ps.exchangeWithinAccounts()
}

// exchangeWithinAccounts lets --priority order each account's jobs: the
// account's values, sorted, go to its jobs sorted by --priority.
func (ps *pass) exchangeWithinAccounts() {
	// Group the jobs by account (in order of first appearance: groups are
	// independent), then sort within each group.
	var groups [][]*entry
	for _, e := range ps.entries {
		if e.held {
			e.prio = 0
			continue
		}
		if e.ap.group < 0 {
			e.ap.group = len(groups)
			groups = append(groups, nil)
		}
		groups[e.ap.group] = append(groups[e.ap.group], e)
	}
	type key struct {
		spec int
		own  float64
		sub  int64
		id   api.JobID
		e    *entry
	}
	var keys []key
	var values []float64
	for _, es := range groups {
		same := true
		for _, e := range es[1:] {
			if e.job.Spec.Priority != es[0].job.Spec.Priority {
				same = false
				break
			}
		}
		if same {
			continue // the order by own value stands
		}
		keys, values = keys[:0], values[:0]
		for _, e := range es {
			keys = append(keys, key{e.job.Spec.Priority, e.own, e.job.SubmitTime, e.job.ID, e})
			values = append(values, e.own)
		}
		slices.SortFunc(values, func(a, b float64) int { return cmp.Compare(b, a) })
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(b.spec, a.spec), cmp.Compare(b.own, a.own), cmp.Compare(a.sub, b.sub), cmp.Compare(a.id, b.id))
		})
		for i, k := range keys {
			k.e.prio = values[i]
		}
	}
}

// fairShareFactors returns the fair-share factor of every association seen
// in the input's jobs. An invalid account tree gives no factors (all 0).
func (ps *pass) fairShareFactors() map[string]float64 {
	if ps.set.w.FairShare == 0 {
		return nil
	}
	seen := map[[2]string]bool{}
	for _, e := range ps.entries {
		seen[[2]string{e.acct, e.job.Spec.User}] = true
	}
	for _, r := range ps.running {
		seen[[2]string{r.acct, r.job.Spec.User}] = true
	}
	pairs := make([][2]string, 0, len(seen))
	for p := range seen {
		if p[1] != "" {
			pairs = append(pairs, p)
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	tree, err := fairshare.NewTree(ps.set.cfg.Accounts, pairs)
	if err != nil {
		return nil
	}
	return tree.Factors(ps.set.fsAlgo, ps.in.Usage)
}

// priorityValue converts a priority to the api's integer form.
func priorityValue(p float64) uint32 {
	switch {
	case !(p > 0):
		return 0
	case p >= math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(math.Round(p))
}
