package sched

import (
	"cmp"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Defaults of the scheduling settings the configuration leaves unset.
const (
	// DefaultMaxAgeSecs is Slurm's PriorityMaxAge default: 7 days.
	DefaultMaxAgeSecs = 7 * 24 * 3600
	// DefaultReservations is the number of reservations per partition in
	// windowed backfill mode.
	DefaultReservations = 8
	// DefaultWindowSecs is the backfill window (bf_window): one day.
	DefaultWindowSecs = 24 * 3600
)

// DefaultWeights are the priority weights used when the configuration sets
// none at all (every weight 0 and no TRES weights): fair share dominates,
// then age, partition and QOS.
var defaultWeights = api.PriorityWeights{FairShare: 10000, Age: 1000, Partition: 1000, QOS: 1000}

// DefaultWeights returns the priority weights a configuration with none set
// gets.
func DefaultWeights() api.PriorityWeights { return defaultWeights }

// EffectiveWeights returns the weights the scheduler uses for a
// configuration: its own, or DefaultWeights when it sets none, with
// MaxAgeSecs defaulted.
func EffectiveWeights(sc api.SchedulingConfig) api.PriorityWeights {
	w := sc.Weights
	if w.Age == 0 && w.FairShare == 0 && w.JobSize == 0 && w.Partition == 0 && w.QOS == 0 && len(w.TRES) == 0 {
		w.Age, w.FairShare, w.JobSize, w.Partition, w.QOS = defaultWeights.Age, defaultWeights.FairShare,
			defaultWeights.JobSize, defaultWeights.Partition, defaultWeights.QOS
	}
	if w.MaxAgeSecs <= 0 {
		w.MaxAgeSecs = DefaultMaxAgeSecs
	}
	return w
}

// settings are the configuration values one pass uses, with defaults
// applied and lookups indexed.
type settings struct {
	cfg        *api.ClusterConfig
	w          api.PriorityWeights
	fsAlgo     string
	queueOrder string
	bfMode     string
	bfResv     int // reservations per partition; <0: unlimited
	window     int64
	maxJobs    int
	minRuntime int64

	maxPartFactor float64
	qos           map[string]*api.QOS
	maxQOSPrio    float64
	accounts      map[string]*acctInfo
	defAccount    string
	limits        bool // some account has a job or GPU limit
}

// acctInfo is a configured account with its ancestry resolved.
type acctInfo struct {
	cfg *api.Account
	// chain is the account and its ancestors, nearest first (root excluded).
	chain []string
}

func newSettings(cfg *api.ClusterConfig) *settings {
	sc := cfg.Scheduling
	s := &settings{
		cfg:        cfg,
		w:          EffectiveWeights(sc),
		fsAlgo:     cmp.Or(sc.FairShare, api.FairShareFairTree),
		queueOrder: cmp.Or(sc.QueueOrder, api.QueuePriority),
		bfMode:     cmp.Or(sc.Backfill.Mode, api.BackfillWindowed),
		window:     sc.Backfill.WindowSecs,
		maxJobs:    sc.Backfill.MaxJobs,
		minRuntime: sc.PreemptMinRuntimeSecs,
		qos:        map[string]*api.QOS{},
		accounts:   map[string]*acctInfo{},
		defAccount: cmp.Or(cfg.DefaultAccount, api.RootAccount),
	}
	if s.window <= 0 {
		s.window = DefaultWindowSecs
	}
	switch s.bfMode {
	case api.BackfillNone:
		s.bfResv = 0
	case api.BackfillEASY:
		s.bfResv = 1
	case api.BackfillConservative:
		s.bfResv = -1
	default:
		s.bfMode = api.BackfillWindowed
		s.bfResv = sc.Backfill.Reservations
		if s.bfResv <= 0 {
			s.bfResv = DefaultReservations
		}
	}
	for _, p := range cfg.Partitions {
		s.maxPartFactor = max(s.maxPartFactor, p.PriorityFactor)
	}
	for i := range cfg.QOS {
		q := &cfg.QOS[i]
		if _, dup := s.qos[q.Name]; !dup {
			s.qos[q.Name] = q
		}
		s.maxQOSPrio = max(s.maxQOSPrio, float64(q.Priority))
	}
	parent := map[string]string{}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		if _, dup := s.accounts[a.Name]; dup || a.Name == api.RootAccount {
			continue
		}
		s.accounts[a.Name] = &acctInfo{cfg: a}
		parent[a.Name] = cmp.Or(a.Parent, api.RootAccount)
		if a.MaxRunningJobs > 0 || a.MaxGPUs > 0 || a.MaxRunningJobsPerUser > 0 || a.MaxGPUsPerUser > 0 ||
			slices.ContainsFunc(a.Users, func(u api.AccountUser) bool { return u.MaxRunningJobs > 0 || u.MaxGPUs > 0 }) {
			s.limits = true
		}
	}
	for name, ai := range s.accounts {
		for cur, steps := name, 0; cur != api.RootAccount && steps <= len(parent); steps++ {
			if _, ok := s.accounts[cur]; !ok {
				break
			}
			ai.chain = append(ai.chain, cur)
			cur = parent[cur]
		}
	}
	return s
}

// accountOf is the account a job is charged to: its own, else the default.
func (s *settings) accountOf(spec *api.JobSpec) string {
	return cmp.Or(spec.Account, s.defAccount)
}

// chain returns the account and its configured ancestors, nearest first.
func (s *settings) chain(account string) []string {
	if ai := s.accounts[account]; ai != nil {
		return ai.chain
	}
	return nil
}

// guarantee returns the account whose guarantee in partition part covers
// jobs of account (the nearest, from account up, that sets one) and the
// guaranteed GPUs. Without one it returns account itself and 0.
func (s *settings) guarantee(account, part string) (string, int) {
	for _, name := range s.chain(account) {
		if g, ok := s.accounts[name].cfg.Guarantees[part]; ok {
			return name, g
		}
	}
	return account, 0
}

// preemptMode returns the preempt mode of a running job (its QOS's when set,
// else its partition's; unset means requeue) and whether it may be preempted
// at all: not when either its partition or its QOS says off.
func (s *settings) preemptMode(j *api.Job) (api.PreemptMode, bool) {
	mode := api.PreemptRequeue
	p, _ := s.cfg.Partition(j.Partition)
	if p.PreemptMode == api.PreemptOff {
		return api.PreemptOff, false
	}
	if p.PreemptMode != "" {
		mode = p.PreemptMode
	}
	if q := s.qos[j.Spec.QOS]; q != nil && q.PreemptMode != "" {
		if q.PreemptMode == api.PreemptOff {
			return api.PreemptOff, false
		}
		mode = q.PreemptMode
	}
	return mode, true
}

// minRuntimeOf is how long a job must have run before it may be preempted.
func (s *settings) minRuntimeOf(j *api.Job) int64 {
	m := s.minRuntime
	if q := s.qos[j.Spec.QOS]; q != nil {
		m = max(m, q.MinRuntimeSecs)
	}
	return m
}
