// Package alerts evaluates the conditions the controller sees in its own
// state (nodes down or drained, unhealthy GPUs, idle GPUs while GPU jobs
// wait, jobs pending too long), so that the dashboard shows alerts without
// Prometheus. Evaluate is pure; a Tracker remembers since when each
// condition holds and fires it once it has held for its rule's duration.
package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// Defaults of Rules.
const (
	// DefaultPendingAge is how long a job may wait before LongPendingJob.
	DefaultPendingAge = time.Hour
	// DefaultIdleGPUsFor is how long GPUs must stay idle while GPU jobs
	// wait before IdleGPUsWhileJobsWait fires.
	DefaultIdleGPUsFor = 10 * time.Minute
)

// Rules are the alert thresholds; zero fields take the defaults.
type Rules struct {
	// PendingAge: an account's oldest waiting job (not held, not waiting
	// for a dependency or its begin time) older than this fires
	// LongPendingJob.
	PendingAge time.Duration
	// IdleGPUsFor: usable GPUs idle in a partition while GPU jobs of the
	// partition wait, for this long, fire IdleGPUsWhileJobsWait.
	IdleGPUsFor time.Duration
}

func (r Rules) withDefaults() Rules {
	if r.PendingAge <= 0 {
		r.PendingAge = DefaultPendingAge
	}
	if r.IdleGPUsFor <= 0 {
		r.IdleGPUsFor = DefaultIdleGPUsFor
	}
	return r
}

// Input is the state the rules read.
type Input struct {
	Config *api.ClusterConfig
	Nodes  []*api.Node // registered nodes, state derived (DOWN, DRAIN stored)
	Jobs   []*api.Job  // active jobs
	Now    time.Time
}

// Evaluate returns the conditions that hold in the input, each with its
// rule's ForSecs and Since 0 (a Tracker sets Since and Firing), in a stable
// order: by rule, then object.
func Evaluate(rules Rules, in Input) []api.Alert {
	rules = rules.withDefaults()
	now := in.Now.Unix()
	var out []api.Alert
	nodes := slices.Clone(in.Nodes)
	slices.SortFunc(nodes, func(a, b *api.Node) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		switch n.State {
		case api.NodeDown:
			out = append(out, api.Alert{Name: api.AlertNodeDown, Severity: api.SeverityCritical, Node: n.Name,
				Summary: fmt.Sprintf("node %s is down%s%s", n.Name, because(n.Reason), gpusOut(len(n.Resources.GPUs), "withdrawn"))})
		case api.NodeDrain:
			out = append(out, api.Alert{Name: api.AlertNodeDrained, Severity: api.SeverityWarning, Node: n.Name,
				Summary: fmt.Sprintf("node %s is drained%s%s", n.Name, because(n.Reason), gpusOut(len(n.Resources.GPUs), "out of scheduling"))})
		}
		for _, g := range n.Resources.GPUs {
			if !g.Healthy {
				idx := g.Index
				reason := cmp.Or(g.HealthReason, "no reason reported")
				out = append(out, api.Alert{Name: api.AlertGPUUnhealthy, Severity: api.SeverityCritical, Node: n.Name, GPU: &idx,
					Summary: fmt.Sprintf("GPU %d of node %s (%s) is unhealthy: %s", g.Index, n.Name, g.UUID, reason)})
			}
		}
	}
	out = append(out, idleWhileWaiting(rules, in)...)
	out = append(out, longPending(rules, in, now)...)
	return out
}

// because formats a node's reason.
func because(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// gpusOut says what happens to a node's GPUs ("" for a node without).
func gpusOut(n int, what string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "; its GPU is " + what
	}
	return fmt.Sprintf("; its %d GPUs are %s", n, what)
}

// waitsForCluster reports whether a pending job waits for the cluster (for
// resources, priority or a guarantee), rather than for itself (held, a
// dependency, its begin time).
func waitsForCluster(j *api.Job) bool {
	switch j.Reason {
	case api.ReasonHeldUser, api.ReasonHeldAdmin, api.ReasonDependency, api.ReasonBeginTime:
		return false
	}
	return true
}

// pendingCount is the jobs a pending job stands for (an array record's
// pending tasks).
func pendingCount(j *api.Job) int {
	if j.IsArrayRecord() {
		return len(j.ArrayPending)
	}
	return 1
}

// idleWhileWaiting finds partitions with usable idle GPUs while GPU jobs of
// the partition wait for the cluster.
func idleWhileWaiting(rules Rules, in Input) []api.Alert {
	cfg := in.Config
	used := map[string]map[int]bool{} // node -> GPU indices held
	for _, j := range in.Jobs {
		if j.State != api.JobRunning {
			continue
		}
		for _, a := range j.Alloc {
			if used[a.Node] == nil {
				used[a.Node] = map[int]bool{}
			}
			for _, g := range a.GPUs {
				used[a.Node][g] = true
			}
		}
	}
	var out []api.Alert
	for _, p := range cfg.Partitions {
		idle := 0
		for _, n := range in.Nodes {
			if n.State == api.NodeDown || n.State == api.NodeDrain || !inPartition(p, n) {
				continue
			}
			for _, g := range n.Resources.GPUs {
				if g.Healthy && !used[n.Name][g.Index] {
					idle++
				}
			}
		}
		waiting, gpus := 0, 0
		for _, j := range in.Jobs {
			if j.State == api.JobPending && j.Partition == p.Name && j.Spec.GPUs > 0 && waitsForCluster(j) {
				c := pendingCount(j)
				waiting += c
				gpus += c * j.Spec.GPUs * max(j.Spec.Nodes, 1)
			}
		}
		if idle > 0 && waiting > 0 {
			out = append(out, api.Alert{Name: api.AlertIdleGPUsWait, Severity: api.SeverityWarning, Partition: p.Name,
				ForSecs: int64(rules.IdleGPUsFor / time.Second),
				Summary: fmt.Sprintf("partition %s: %d idle GPUs while %d GPU jobs wait for %d GPUs", p.Name, idle, waiting, gpus)})
		}
	}
	return out
}

// inPartition reports whether the node is in the partition: listed, or
// naming it when the partition lists none.
func inPartition(p api.Partition, n *api.Node) bool {
	if len(p.Nodes) > 0 {
		return slices.Contains(p.Nodes, n.Name)
	}
	return slices.Contains(n.Partitions, p.Name)
}

// longPending finds, per account, the oldest job waiting for the cluster
// longer than the rule's age (from its submission, or its begin time when
// later).
func longPending(rules Rules, in Input, now int64) []api.Alert {
	limit := int64(rules.PendingAge / time.Second)
	oldest := map[string]*api.Job{}
	waited := func(j *api.Job) int64 { return now - max(j.SubmitTime, j.Spec.BeginTime) }
	for _, j := range in.Jobs {
		if j.State != api.JobPending || !waitsForCluster(j) || pendingCount(j) == 0 || waited(j) <= limit {
			continue
		}
		account := cmp.Or(j.Spec.Account, in.Config.DefaultAccount, api.RootAccount)
		if o := oldest[account]; o == nil || waited(j) > waited(o) || waited(j) == waited(o) && j.ID < o.ID {
			oldest[account] = j
		}
	}
	accounts := make([]string, 0, len(oldest))
	for a := range oldest {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	var out []api.Alert
	for _, a := range accounts {
		j := oldest[a]
		out = append(out, api.Alert{Name: api.AlertLongPendingJob, Severity: api.SeverityWarning, Account: a, JobID: j.ID,
			Summary: fmt.Sprintf("account %s: job %d of user %s has waited %s (%s), more than %s",
				a, j.ID, j.Spec.User, Duration(waited(j)), cmp.Or(j.Reason, "no reason yet"), Duration(limit))})
	}
	return out
}

// Duration formats seconds as people read a wait: 45s, 12m, 3h 05m, 2d 4h.
func Duration(secs int64) string {
	d := time.Duration(secs) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", secs)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Tracker remembers since when each condition holds. It is safe for
// concurrent use.
type Tracker struct {
	rules Rules
	mu    sync.Mutex
	since map[string]int64 // alert key -> first seen (unix seconds)
}

// NewTracker returns a Tracker of these rules.
func NewTracker(rules Rules) *Tracker {
	return &Tracker{rules: rules.withDefaults(), since: map[string]int64{}}
}

// Rules are the tracker's rules, defaults filled in.
func (t *Tracker) Rules() Rules { return t.rules }

// Update evaluates the rules on the input and returns the alerts with
// Since (the first Update that saw the condition, continuously since) and
// Firing set: firing first (critical, then warning), then pending ones.
// Conditions that no longer hold are forgotten.
func (t *Tracker) Update(in Input) []api.Alert {
	alerts := Evaluate(t.rules, in)
	now := in.Now.Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]bool, len(alerts))
	for i := range alerts {
		a := &alerts[i]
		k := key(a)
		seen[k] = true
		since, ok := t.since[k]
		if !ok || since > now {
			since = now
			t.since[k] = since
		}
		a.Since = since
		a.Firing = now-since >= a.ForSecs
	}
	for k := range t.since {
		if !seen[k] {
			delete(t.since, k)
		}
	}
	slices.SortStableFunc(alerts, func(a, b api.Alert) int {
		return cmp.Or(rank(a)-rank(b), 0)
	})
	if alerts == nil {
		alerts = []api.Alert{}
	}
	return alerts
}

// rank orders alerts: firing critical, firing warning, pending.
func rank(a api.Alert) int {
	switch {
	case !a.Firing:
		return 2
	case a.Severity == api.SeverityCritical:
		return 0
	}
	return 1
}

// key identifies a condition across evaluations: its rule and object (a
// long-pending alert stays the same while another job becomes the
// account's oldest).
func key(a *api.Alert) string {
	gpu := -1
	if a.GPU != nil {
		gpu = *a.GPU
	}
	return fmt.Sprintf("%s|%s|%d|%s|%s", a.Name, a.Node, gpu, a.Partition, a.Account)
}
