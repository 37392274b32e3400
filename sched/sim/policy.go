package sim

import (
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Policies the simulator knows. Each is a setting of the production
// scheduler (sched.New), not an implementation of its own.
const (
	// PolicyFCFS: first come first served, strictly in order (queue order
	// fcfs, backfill none).
	PolicyFCFS = "fcfs"
	// PolicySJF: shortest requested time first, strictly in order (queue
	// order sjf, backfill none).
	PolicySJF = "sjf"
	// PolicyEASY: FCFS with EASY backfill (one reservation).
	PolicyEASY = "easy"
	// PolicyConservative: FCFS with conservative backfill (a reservation for
	// every waiting job).
	PolicyConservative = "conservative"
	// PolicyFairway: Fairway's default configuration: multifactor priority
	// with fair share, guarantees that lend and reclaim (when the cluster
	// configuration sets guarantees), priority preemption inside an account,
	// windowed backfill.
	PolicyFairway = "fairway"
	// PolicyStatic: every account runs only on its own guaranteed share
	// (reserved capacity without lending), FCFS with EASY backfill inside
	// each share.
	PolicyStatic = "static"
)

// Policies lists the policy names.
func Policies() []string {
	return []string{PolicyFCFS, PolicySJF, PolicyEASY, PolicyConservative, PolicyFairway, PolicyStatic}
}

// noWindow is the backfill window of the textbook policies: their
// reservations are not limited to a horizon.
const noWindow = 100 * 365 * 24 * 3600

// PolicyConfig returns the cluster configuration for policy, from base (its
// accounts, guarantees, QOS and weights) with the scheduling settings the
// policy names. The partition PartitionName is added when base has none of
// that name.
func PolicyConfig(policy string, base api.ClusterConfig) (api.ClusterConfig, error) {
	cfg := base
	cfg.Partitions = slices.Clone(base.Partitions)
	if !slices.ContainsFunc(cfg.Partitions, func(p api.Partition) bool { return p.Name == PartitionName }) {
		cfg.Partitions = append(cfg.Partitions, api.Partition{Name: PartitionName, Default: true, PreemptMode: api.PreemptRequeue, GraceSecs: 30})
	}
	cfg.DefaultAccount = DefaultAccount
	sc := &cfg.Scheduling
	switch policy {
	case PolicyFCFS:
		sc.QueueOrder, sc.Backfill = api.QueueFCFS, api.BackfillConfig{Mode: api.BackfillNone}
	case PolicySJF:
		sc.QueueOrder, sc.Backfill = api.QueueSJF, api.BackfillConfig{Mode: api.BackfillNone}
	case PolicyEASY, PolicyStatic:
		sc.QueueOrder, sc.Backfill = api.QueueFCFS, api.BackfillConfig{Mode: api.BackfillEASY, WindowSecs: noWindow}
	case PolicyConservative:
		sc.QueueOrder, sc.Backfill = api.QueueFCFS, api.BackfillConfig{Mode: api.BackfillConservative, WindowSecs: noWindow}
	case PolicyFairway:
		sc.QueueOrder = api.QueuePriority
	default:
		return cfg, fmt.Errorf("unknown policy %q: want one of %v", policy, Policies())
	}
	if policy != PolicyFairway {
		// The textbook policies neither preempt nor lend: guarantees
		// only matter to Fairway (static partitions are built by
		// splitting the cluster instead).
		cfg.Accounts = slices.Clone(cfg.Accounts)
		for i := range cfg.Accounts {
			cfg.Accounts[i].Guarantees = nil
		}
	}
	return cfg, nil
}
