package api

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
)

// The cluster configuration: its defaults and its validation (ValidateConfig).

// Node liveness and fencing defaults (see ClusterConfig).
const (
	// DefaultNodeDownAfterSecs is NodeDownAfterSecs when it is 0.
	DefaultNodeDownAfterSecs int64 = 30
	// DefaultNodeLeaseSecs is NodeLeaseSecs when it is 0.
	DefaultNodeLeaseSecs int64 = 10
	// DefaultFenceGraceSecs is FenceGraceSecs when it is 0.
	DefaultFenceGraceSecs int64 = 5
	// FenceKillWaitSecs is how long a fencing node may take to kill what is
	// left of its jobs after their grace time.
	FenceKillWaitSecs int64 = 2
)

// NodeDownAfter is NodeDownAfterSecs, or its default.
func (c *ClusterConfig) NodeDownAfter() int64 {
	return cmp.Or(c.NodeDownAfterSecs, DefaultNodeDownAfterSecs)
}

// NodeLease is NodeLeaseSecs, or its default.
func (c *ClusterConfig) NodeLease() int64 { return cmp.Or(c.NodeLeaseSecs, DefaultNodeLeaseSecs) }

// FenceGrace is FenceGraceSecs, or its default.
func (c *ClusterConfig) FenceGrace() int64 { return cmp.Or(c.FenceGraceSecs, DefaultFenceGraceSecs) }

// FenceDeadline is how long after a node sent its last acknowledged
// heartbeat its jobs may still be alive: lease, grace and kill wait. A node
// must not be declared DOWN (its jobs requeued) before that.
func (c *ClusterConfig) FenceDeadline() int64 {
	return c.NodeLease() + c.FenceGrace() + FenceKillWaitSecs
}

// ValidateConfig checks a cluster configuration and returns a *FieldError
// naming the offending field by its JSON path (for example
// "partitions[1].max_time_secs"), or nil.
func ValidateConfig(cfg *ClusterConfig) error {
	if cfg == nil || len(cfg.Partitions) == 0 {
		return fieldErr("partitions", "", "at least one partition is required")
	}
	if err := validatePartitions(cfg.Partitions); err != nil {
		return err
	}
	if err := validateAccounts(cfg); err != nil {
		return err
	}
	if err := validateQOS(cfg.QOS); err != nil {
		return err
	}
	if err := validateScheduling(&cfg.Scheduling); err != nil {
		return err
	}
	if err := validateLimits(cfg); err != nil {
		return err
	}
	switch {
	case cfg.MaxArraySize < 0 || cfg.MaxArraySize > ClientMaxArraySize:
		return fieldErr("max_array_size", itoa(cfg.MaxArraySize), "must be from 1 to %d, or 0 for the default (%d)", ClientMaxArraySize, DefaultMaxArraySize)
	case cfg.NodeDownAfterSecs < 0:
		return fieldErr("node_down_after_secs", itoa(cfg.NodeDownAfterSecs), "must be 0 (the default) or more seconds")
	case cfg.NodeLeaseSecs < 0:
		return fieldErr("node_lease_secs", itoa(cfg.NodeLeaseSecs), "must be 0 (the default, %d) or more seconds", DefaultNodeLeaseSecs)
	case cfg.FenceGraceSecs < 0:
		return fieldErr("fence_grace_secs", itoa(cfg.FenceGraceSecs), "must be 0 (the default, %d) or more seconds", DefaultFenceGraceSecs)
	case cfg.NodeDownAfter() <= cfg.FenceDeadline():
		return fieldErr("node_down_after_secs", itoa(cfg.NodeDownAfter()),
			"must be more than node_lease_secs + fence_grace_secs + %d s of kill wait (%d s), so that a node cut off from the controllers has stopped its jobs before they are requeued",
			FenceKillWaitSecs, cfg.FenceDeadline())
	case cfg.JobRetentionSecs < 0:
		return fieldErr("job_retention_secs", itoa(cfg.JobRetentionSecs), "must be 0 (the default) or more seconds")
	}
	return nil
}

func validatePartitions(parts []Partition) *FieldError {
	seen := map[string]bool{}
	defaults := 0
	for i, p := range parts {
		f := func(name string) string { return fmt.Sprintf("partitions[%d].%s", i, name) }
		switch {
		case !nameRE().MatchString(p.Name):
			return fieldErr(f("name"), p.Name, "must be a name of letters, digits and . _ -, at most 64 characters")
		case seen[p.Name]:
			return fieldErr(f("name"), p.Name, "partition names must be unique")
		case p.MaxTimeSecs < 0:
			return fieldErr(f("max_time_secs"), itoa(p.MaxTimeSecs), "must be 0 (unlimited) or more seconds")
		case p.DefaultTimeSecs < 0:
			return fieldErr(f("default_time_secs"), itoa(p.DefaultTimeSecs), "must be 0 or more seconds")
		case p.MaxTimeSecs > 0 && p.DefaultTimeSecs > p.MaxTimeSecs:
			return fieldErr(f("default_time_secs"), itoa(p.DefaultTimeSecs), "must not exceed max_time_secs (%d)", p.MaxTimeSecs)
		case p.DefMemPerNodeMB < 0:
			return fieldErr(f("def_mem_per_node_mb"), itoa(p.DefMemPerNodeMB), "must be 0 or more MB")
		case p.PriorityFactor < 0:
			return fieldErr(f("priority_factor"), strconv.FormatFloat(p.PriorityFactor, 'g', -1, 64), "must be 0 or more")
		case !slices.Contains([]PreemptMode{"", PreemptOff, PreemptRequeue, PreemptCancel}, p.PreemptMode):
			return fieldErr(f("preempt_mode"), string(p.PreemptMode), "must be off, requeue or cancel")
		case p.GraceSecs < 0:
			return fieldErr(f("grace_secs"), itoa(p.GraceSecs), "must be 0 or more seconds")
		case !slices.Contains([]string{"", PartitionUp, PartitionDown, PartitionDrain, PartitionInactive}, p.State):
			return fieldErr(f("state"), p.State, "must be UP, DOWN, DRAIN or INACTIVE")
		case p.MaxNodes < 0:
			return fieldErr(f("max_nodes"), itoa(p.MaxNodes), "must be 0 (unlimited) or more nodes")
		}
		if p.Retry != "" {
			if _, err := parseRetry(f("retry"), p.Retry); err != nil {
				return err
			}
		}
		seen[p.Name] = true
		if p.Default {
			defaults++
			if defaults > 1 {
				return fieldErr(f("default"), "true", "only one partition may be the default")
			}
		}
		nodes := map[string]bool{}
		for _, n := range p.Nodes {
			if !nameRE().MatchString(n) || nodes[n] {
				return fieldErr(f("nodes"), n, "must list distinct node names")
			}
			nodes[n] = true
		}
	}
	return nil
}

func validateQOS(list []QOS) *FieldError {
	seen := map[string]bool{}
	for i, q := range list {
		f := func(name string) string { return fmt.Sprintf("qos[%d].%s", i, name) }
		switch {
		case !nameRE().MatchString(q.Name):
			return fieldErr(f("name"), q.Name, "must be a name of letters, digits and . _ @ -, at most 64 characters")
		case seen[q.Name]:
			return fieldErr(f("name"), q.Name, "QOS names must be unique")
		case q.Priority < 0:
			return fieldErr(f("priority"), itoa(q.Priority), "must be 0 or more")
		case !slices.Contains([]PreemptMode{"", PreemptOff, PreemptRequeue, PreemptCancel}, q.PreemptMode):
			return fieldErr(f("preempt_mode"), string(q.PreemptMode), "must be off, requeue or cancel")
		case q.GraceSecs < 0:
			return fieldErr(f("grace_secs"), itoa(q.GraceSecs), "must be 0 or more seconds")
		case q.MinRuntimeSecs < 0:
			return fieldErr(f("min_runtime_secs"), itoa(q.MinRuntimeSecs), "must be 0 or more seconds")
		}
		seen[q.Name] = true
	}
	return nil
}

func validateScheduling(s *SchedulingConfig) *FieldError {
	ff := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	w := s.Weights
	for _, c := range []struct {
		name string
		v    float64
	}{{"age", w.Age}, {"fair_share", w.FairShare}, {"job_size", w.JobSize}, {"partition", w.Partition}, {"qos", w.QOS}} {
		if bad(c.v) {
			return fieldErr("scheduling.weights."+c.name, ff(c.v), "must be 0 or more")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(w.TRES)) {
		if v := w.TRES[k]; bad(v) {
			return fieldErr("scheduling.weights.tres", k+"="+ff(v), "must be 0 or more")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.BillingWeights)) {
		if v := s.BillingWeights[k]; bad(v) {
			return fieldErr("scheduling.billing_weights", k+"="+ff(v), "must be 0 or more")
		}
	}
	switch {
	case w.MaxAgeSecs < 0:
		return fieldErr("scheduling.weights.max_age_secs", itoa(w.MaxAgeSecs), "must be 0 (the default, 7 days) or more seconds")
	case !slices.Contains([]string{"", FairShareFairTree, FairShareClassic}, s.FairShare):
		return fieldErr("scheduling.fair_share", s.FairShare, "must be %s or %s", FairShareFairTree, FairShareClassic)
	case s.UsageHalfLifeSecs < 0:
		return fieldErr("scheduling.usage_half_life_secs", itoa(s.UsageHalfLifeSecs), "must be 0 (the default, 7 days) or more seconds")
	case s.UsageResetSecs < 0:
		return fieldErr("scheduling.usage_reset_secs", itoa(s.UsageResetSecs), "must be 0 (never) or more seconds")
	case !slices.Contains([]string{"", BackfillNone, BackfillEASY, BackfillConservative, BackfillWindowed}, s.Backfill.Mode):
		return fieldErr("scheduling.backfill.mode", s.Backfill.Mode, "must be none, easy, conservative or windowed")
	case s.Backfill.Reservations < 0:
		return fieldErr("scheduling.backfill.reservations", itoa(s.Backfill.Reservations), "must be 0 (the default) or more")
	case s.Backfill.WindowSecs < 0:
		return fieldErr("scheduling.backfill.window_secs", itoa(s.Backfill.WindowSecs), "must be 0 (the default) or more seconds")
	case s.Backfill.MaxJobs < 0:
		return fieldErr("scheduling.backfill.max_jobs", itoa(s.Backfill.MaxJobs), "must be 0 (all) or more")
	case !slices.Contains([]string{"", QueuePriority, QueueFCFS, QueueSJF}, s.QueueOrder):
		return fieldErr("scheduling.queue_order", s.QueueOrder, "must be priority, fcfs or sjf")
	case !slices.Contains([]string{"", VictimWorkLost, VictimRuntime}, s.VictimOrder):
		return fieldErr("scheduling.victim_order", s.VictimOrder, "must be %s or %s", VictimWorkLost, VictimRuntime)
	case s.PreemptMinRuntimeSecs < 0:
		return fieldErr("scheduling.preempt_min_runtime_secs", itoa(s.PreemptMinRuntimeSecs), "must be 0 or more seconds")
	case s.CheckpointDirBase != "" && (!path.IsAbs(s.CheckpointDirBase) || path.Clean(s.CheckpointDirBase) == "/"):
		return fieldErr("scheduling.checkpoint_dir_base", s.CheckpointDirBase, "must be an absolute directory other than /, such as /shared/fairway/checkpoints")
	}
	return nil
}

func validateAccounts(cfg *ClusterConfig) *FieldError {
	parent := map[string]string{}
	defaults := map[string]string{} // user -> default account
	for i, a := range cfg.Accounts {
		f := func(name string) string { return fmt.Sprintf("accounts[%d].%s", i, name) }
		switch {
		case !nameRE().MatchString(a.Name) || a.Name == RootAccount:
			return fieldErr(f("name"), a.Name, "must be a name of letters, digits and . _ @ - other than %q", RootAccount)
		case parent[a.Name] != "":
			return fieldErr(f("name"), a.Name, "account names must be unique")
		case a.Shares < 0:
			return fieldErr(f("shares"), itoa(a.Shares), "must be 0 or more")
		case a.MaxRunningJobs < 0:
			return fieldErr(f("max_running_jobs"), itoa(a.MaxRunningJobs), "must be 0 (no limit) or more")
		case a.MaxGPUs < 0:
			return fieldErr(f("max_gpus"), itoa(a.MaxGPUs), "must be 0 (no limit) or more")
		case a.MaxRunningJobsPerUser < 0:
			return fieldErr(f("max_running_jobs_per_user"), itoa(a.MaxRunningJobsPerUser), "must be 0 (no limit) or more")
		case a.MaxGPUsPerUser < 0:
			return fieldErr(f("max_gpus_per_user"), itoa(a.MaxGPUsPerUser), "must be 0 (no limit) or more")
		case a.WeightFactor < 0 || math.IsNaN(a.WeightFactor) || math.IsInf(a.WeightFactor, 0):
			return fieldErr(f("weight_factor"), strconv.FormatFloat(a.WeightFactor, 'g', -1, 64), "must be 0 (unset) or a positive number")
		case a.MaxSubmitJobsPerUser < 0:
			return fieldErr(f("max_submit_jobs_per_user"), itoa(a.MaxSubmitJobsPerUser), "must be 0 (no limit) or more")
		case a.DefaultQOS != "" && !cfg.knownQOS(a.DefaultQOS):
			return fieldErr(f("default_qos"), a.DefaultQOS, "no such QOS")
		case a.DefaultQOS != "" && len(a.QOS) > 0 && !slices.Contains(a.QOS, a.DefaultQOS):
			return fieldErr(f("default_qos"), a.DefaultQOS, "must be one of the account's qos")
		}
		for j, q := range a.QOS {
			if !cfg.knownQOS(q) {
				return fieldErr(fmt.Sprintf("accounts[%d].qos[%d]", i, j), q, "no such QOS")
			}
		}
		users := map[string]bool{}
		for j, u := range a.Users {
			uf := fmt.Sprintf("accounts[%d].users[%d]", i, j)
			switch {
			case u.Name == "" || strings.ContainsAny(u.Name, "/:\x00\n"):
				return fieldErr(uf+".name", u.Name, "must be a user name")
			case users[u.Name]:
				return fieldErr(uf+".name", u.Name, "a user is listed once per account")
			case u.Shares < 0:
				return fieldErr(uf+".shares", itoa(u.Shares), "must be 0 or more")
			case u.MaxRunningJobs < 0:
				return fieldErr(uf+".max_running_jobs", itoa(u.MaxRunningJobs), "must be 0 (no limit) or more")
			case u.MaxGPUs < 0:
				return fieldErr(uf+".max_gpus", itoa(u.MaxGPUs), "must be 0 (no limit) or more")
			case u.MaxSubmitJobs < 0:
				return fieldErr(uf+".max_submit_jobs", itoa(u.MaxSubmitJobs), "must be 0 (no limit) or more")
			case u.Default && defaults[u.Name] != "":
				return fieldErr(uf+".default", "true", "user %s already has default account %s", u.Name, defaults[u.Name])
			}
			if u.Default {
				defaults[u.Name] = a.Name
			}
			users[u.Name] = true
		}
		for part, n := range a.Guarantees {
			if _, ok := cfg.Partition(part); !ok {
				return fieldErr(f("guarantees"), part, "no such partition; known partitions: %s", knownPartitions(cfg))
			}
			if n < 0 {
				return fieldErr(f("guarantees"), part+"="+itoa(n), "guaranteed GPUs must be 0 or more")
			}
		}
		parent[a.Name] = cmpOr(a.Parent, RootAccount)
	}
	for i, a := range cfg.Accounts {
		p := parent[a.Name]
		if p != RootAccount && parent[p] == "" {
			return fieldErr(fmt.Sprintf("accounts[%d].parent", i), a.Parent, "no such account")
		}
		// Walk up; more steps than accounts means a cycle.
		for steps := 0; p != RootAccount; steps++ {
			if steps > len(cfg.Accounts) {
				return fieldErr(fmt.Sprintf("accounts[%d].parent", i), a.Parent, "accounts form a cycle")
			}
			p = parent[p]
		}
	}
	if d := cfg.DefaultAccount; d != "" && d != RootAccount && len(cfg.Accounts) > 0 && parent[d] == "" {
		return fieldErr("default_account", d, "no such account")
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
