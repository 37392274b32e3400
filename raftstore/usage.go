package raftstore

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// defaultUsageHalfLifeSecs is the usage half-life when the configuration sets
// none (Slurm's PriorityDecayHalfLife default: 7 days).
const defaultUsageHalfLifeSecs = 7 * 24 * 3600

// usageKey is the fair-share leaf a job's usage is charged to: its account
// (the configuration's default account, else root, when it names none) and
// its user.
func usageKey(cfg *api.ClusterConfig, spec *api.JobSpec) string {
	account := spec.Account
	if account == "" {
		account = cfg.DefaultAccount
	}
	if account == "" {
		account = api.RootAccount
	}
	return api.AssocKey(account, spec.User)
}

// CurrentUsageFormula is the usage formula version this controller's leader
// puts in AccrueUsage. Changing how the FSM decays or charges usage means a
// new version (a new case in usageFormulaFor) with the old versions' code
// kept, so that replicas applying old entries compute what the leader did.
const CurrentUsageFormula = 1

// usageFormula is one version of the formulas the FSM uses for fair-share
// usage.
type usageFormula struct {
	// decay is usage after elapsedSecs with the given half-life.
	decay func(usage float64, elapsedSecs, halfLifeSecs int64) float64
	// billing is the per-second charge of an allocation.
	billing func(weights map[string]float64, alloc []api.NodeAlloc, gpuType func(node string, idx int) string) float64
}

// usageFormulaFor returns the formulas of a version (0 is version 1: entries
// written before versions). An unknown version halts the replica.
func usageFormulaFor(version int) (usageFormula, error) {
	switch version {
	case 0, 1:
		return usageFormula{decay: decayV1, billing: billingV1}, nil
	}
	return usageFormula{}, fatalf("usage formula version %d is unknown to this controller (it knows 1 to %d)", version, CurrentUsageFormula)
}

// decayV1 is version 1 of the usage decay: exponential with the half-life
// (fairshare.Decay as of version 1, frozen here).
func decayV1(usage float64, elapsedSecs, halfLifeSecs int64) float64 {
	if halfLifeSecs <= 0 || elapsedSecs <= 0 {
		return usage
	}
	return usage * math.Exp2(-float64(elapsedSecs)/float64(halfLifeSecs))
}

// billingV1 is version 1 of the billing rate: Slurm's TRESBillingWeights
// with SUM (fairshare.Billing as of version 1, frozen here).
func billingV1(weights map[string]float64, alloc []api.NodeAlloc, gpuType func(node string, idx int) string) float64 {
	cpu, mem, gpu := weights["cpu"], weights["mem"], weights["gpu"]
	if len(weights) == 0 {
		gpu = 1
	}
	total := 0.0
	for _, a := range alloc {
		total += cpu*float64(a.CPUs) + mem*float64(a.MemoryMB)/1024
		for _, idx := range a.GPUs {
			w := gpu
			if typ := gpuType(a.Node, idx); typ != "" {
				if tw, ok := weights["gpu:"+typ]; ok {
					w = tw
				}
			}
			total += w
		}
	}
	return total
}

// runCharge is the usage a running job accrues from max(from, its start) to
// now: its billing rate (the formula's billing with the configured weights)
// times the seconds. The product is rounded on its own
// (the conversion stops the compiler from fusing it with the addition that
// follows), so that every replica computes the same bits.
func (w *writer) runCharge(f usageFormula, cfg *api.ClusterConfig, j *api.Job, from, now int64) float64 {
	secs := now - max(from, j.StartTime)
	if j.StartTime == 0 || secs <= 0 {
		return 0
	}
	rate := f.billing(cfg.Scheduling.BillingWeights, j.Alloc, w.gpuType)
	charge := float64(rate * float64(secs))
	if math.IsNaN(charge) || math.IsInf(charge, 0) || charge < 0 {
		return 0 // a configuration the API refuses; never store what JSON cannot hold
	}
	return charge
}

// gpuType returns the type of GPU idx of a node ("" when unknown).
func (w *writer) gpuType(node string, idx int) string {
	n := getNode(w.txn, node)
	if n == nil {
		return ""
	}
	for _, g := range n.Resources.GPUs {
		if g.Index == idx {
			return g.Type
		}
	}
	return ""
}

// chargeRun charges a running job's current run, which ends at now, with
// its usage since the last accrual (or its start), so that a run ending
// between two accruals loses nothing.
func (w *writer) chargeRun(j *api.Job, now int64) error {
	if j.State != api.JobRunning {
		return nil
	}
	m := *w.meta()
	f, err := usageFormulaFor(m.UsageFormula)
	if err != nil {
		return err
	}
	charge := w.runCharge(f, &m.Config, j, m.UsageAt, now)
	if charge == 0 {
		return nil
	}
	usage := maps.Clone(m.Usage)
	if usage == nil {
		usage = map[string]float64{}
	}
	key := usageKey(&m.Config, &j.Spec)
	usage[key] = usage[key] + charge
	m.Usage = usage
	if err := w.put(tableMeta, &m); err != nil {
		return fmt.Errorf("charge usage of job %d: %w", j.ID, err)
	}
	return nil
}

// accrueUsage applies AccrueUsage with the formulas of c.Formula.
func (w *writer) accrueUsage(c *AccrueUsage) error {
	f, err := usageFormulaFor(c.Formula)
	if err != nil {
		return err
	}
	m := *w.meta()
	if m.UsageAt != 0 && c.Now <= m.UsageAt {
		return nil
	}
	sc := &m.Config.Scheduling
	usage := maps.Clone(m.Usage)
	if usage == nil {
		usage = map[string]float64{}
	}
	from := m.UsageAt
	if r := sc.UsageResetSecs; r > 0 && from < c.Now/r*r {
		// A reset boundary passed: usage starts again from it.
		clear(usage)
		from = c.Now / r * r
	} else if from != 0 && !sc.UsageNoDecay {
		halfLife := sc.UsageHalfLifeSecs
		if halfLife <= 0 {
			halfLife = defaultUsageHalfLifeSecs
		}
		for _, k := range slices.Sorted(maps.Keys(usage)) {
			usage[k] = f.decay(usage[k], c.Now-from, halfLife)
		}
	}
	// Running jobs in ID order, so that every replica adds in the same order.
	for _, j := range jobsInState(w.txn, api.JobRunning) {
		if charge := w.runCharge(f, &m.Config, j, from, c.Now); charge != 0 {
			key := usageKey(&m.Config, &j.Spec)
			usage[key] = usage[key] + charge
		}
	}
	if len(usage) == 0 {
		usage = nil
	}
	m.Usage, m.UsageAt, m.UsageFormula = usage, c.Now, c.Formula
	if err := w.put(tableMeta, &m); err != nil {
		return fmt.Errorf("accrue usage: %w", err)
	}
	return nil
}

// Usage returns the fair-share usage per leaf (api.AssocKey(account, user);
// decayed, billing-weighted resource-seconds) and the time it was last
// accrued (unix seconds, 0: never). The map is a copy, never nil.
func (st *State) Usage() (map[string]float64, int64) {
	usage := maps.Clone(st.meta.Usage)
	if usage == nil {
		usage = map[string]float64{}
	}
	return usage, st.meta.UsageAt
}
