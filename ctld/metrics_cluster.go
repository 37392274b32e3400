package ctld

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/prometheus/client_golang/prometheus"
)

// The cluster's figures are computed at scrape time from one read of the
// replicated state (clusterView), in one pass over the nodes and one over
// the jobs, so every controller, leader or not, exports the same values;
// dashboards take max() over the controllers (or the leader's).

// Job phases of the production report's job life cycle (the label of
// fairway_jobs_by_phase): submitted (not yet seen by a scheduler pass),
// pending (held back by something other than its turn: a hold, a
// dependency, a begin time, a limit, a partition), runnable (waiting only
// for its turn or for resources: Priority, Resources), starting (started
// by a plan, its node's start report not yet seen by this leader), running,
// succeeded (COMPLETED), failed (FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY),
// cancelled (CANCELLED, PREEMPTED without requeue).
const (
	phaseSubmitted = "submitted"
	phasePending   = "pending"
	phaseRunnable  = "runnable"
	phaseStarting  = "starting"
	phaseRunning   = "running"
	phaseSucceeded = "succeeded"
	phaseFailed    = "failed"
	phaseCancelled = "cancelled"
)

var jobPhases = []string{phaseSubmitted, phasePending, phaseRunnable, phaseStarting, phaseRunning, phaseSucceeded, phaseFailed, phaseCancelled}

// jobStates are the Slurm states fairway_jobs always reports (0 included).
var jobStates = []api.JobState{api.JobPending, api.JobRunning, api.JobCompleted, api.JobFailed, api.JobCancelled,
	api.JobTimeout, api.JobNodeFail, api.JobPreempted, api.JobOutOfMemory}

// Resource states of the per-partition GPU and CPU gauges.
const (
	resAllocated = "allocated"
	resIdle      = "idle"
	resDown      = "down"
)

// phaseOf is the job's phase; started tells whether the node's start
// report of a running job's current run was seen (nil: treat as seen).
func phaseOf(j *api.Job, started func(*api.Job) bool) string {
	switch j.State {
	case api.JobPending:
		switch j.Reason {
		case "", api.ReasonNone:
			return phaseSubmitted
		case api.ReasonPriority, api.ReasonResources:
			return phaseRunnable
		}
		return phasePending
	case api.JobRunning:
		if started != nil && !started(j) {
			return phaseStarting
		}
		return phaseRunning
	case api.JobCompleted:
		return phaseSucceeded
	case api.JobCancelled, api.JobPreempted:
		return phaseCancelled
	}
	return phaseFailed
}

// userWait reports whether a pending reason is the user's own doing (a
// hold, a dependency, a begin time), so the wait is not the cluster's.
func userWait(reason string) bool {
	switch reason {
	case api.ReasonHeldUser, api.ReasonHeldAdmin, api.ReasonDependency, api.ReasonBeginTime:
		return true
	}
	return strings.HasPrefix(reason, "Dependency")
}

// clusterView is what one scrape reads from the state.
type clusterView struct {
	now         time.Time
	cfg         api.ClusterConfig
	nodes       []*api.Node // Used derived from the running jobs
	jobs        []*api.Job
	preemptions []api.PreemptionTotal
	// started reports whether a running job's start was reported (nil: all).
	started func(*api.Job) bool
}

// desc builds a metric description.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Descriptions of the figures computed from the state.
var (
	gpusDesc          = desc("fairway_partition_gpus", "GPUs of the partition's nodes by GPU type and state: allocated (held by running jobs), down (on a DOWN or DRAIN node, or withdrawn as unhealthy) or idle. A node in several partitions counts in each.", "partition", "gpu_type", "state")
	gpusCapDesc       = desc("fairway_partition_gpus_capacity", "GPUs of the partition's nodes by GPU type, in every state.", "partition", "gpu_type")
	cpusDesc          = desc("fairway_partition_cpus", "CPUs of the partition's nodes by the nodes' GPU type (none without GPUs) and state: allocated, down (DOWN or DRAIN node) or idle.", "partition", "gpu_type", "state")
	cpusCapDesc       = desc("fairway_partition_cpus_capacity", "CPUs of the partition's nodes by the nodes' GPU type, in every state.", "partition", "gpu_type")
	gpusUnhealthyDesc = desc("fairway_partition_gpus_unhealthy", "GPUs withdrawn as unhealthy (XID, ECC, lost), by partition and GPU type.", "partition", "gpu_type")

	acctGPUsDesc      = desc("fairway_account_gpus_used", "GPUs held by the account's running jobs (its own, not its sub-accounts'), by partition.", "account", "partition")
	acctGuarDesc      = desc("fairway_account_gpus_guarantee", "GPUs guaranteed to the account in the partition (Account.Guarantees; covers its sub-accounts).", "account", "partition")
	acctGuarUsedDesc  = desc("fairway_account_gpus_guarantee_used", "GPUs held by the jobs its guarantee covers (its subtree without a guarantee of its own), by partition.", "account", "partition")
	acctBorrowedDesc  = desc("fairway_account_gpus_borrowed", "GPUs the account's jobs hold above its guarantee in the partition (all of them without a guarantee).", "account", "partition")
	acctLentDesc      = desc("fairway_account_gpus_lent", "GPUs of the account's unused guarantee that other accounts' jobs use: the borrowed GPUs that the unguaranteed usable capacity cannot hold, shared among the unused guarantees in proportion.", "account", "partition")
	acctPendJobsDesc  = desc("fairway_account_pending_jobs", "Pending jobs (array tasks counted one by one) by account, partition (the first requested) and pending reason.", "account", "partition", "reason")
	acctPendGPUsDesc  = desc("fairway_account_pending_gpus", "GPUs the pending jobs ask for, by account, partition and pending reason.", "account", "partition", "reason")
	acctRunJobsDesc   = desc("fairway_account_running_jobs", "Running jobs by account and partition.", "account", "partition")
	acctOldestDesc    = desc("fairway_account_oldest_pending_job_age_seconds", "Age (since submission) of the account's oldest pending job in the partition, among jobs that wait for the cluster (held jobs, dependencies and begin times excluded); 0 when none waits.", "account", "partition")
	jobsDesc          = desc("fairway_jobs", "Jobs in the state store by Slurm state (finished jobs until retention expires them; array tasks counted one by one).", "state")
	phasesDesc        = desc("fairway_jobs_by_phase", "Jobs by life-cycle phase: submitted, pending (held back: hold, dependency, begin time, limits), runnable (waiting for Priority or Resources), starting, running, succeeded, failed, cancelled.", "phase")
	nodeStateDesc     = desc("fairway_node_state", "1 for each node's state (IDLE, MIXED, ALLOCATED, DOWN, DRAIN); one series per node.", "node", "state")
	nodesDesc         = desc("fairway_nodes", "Registered nodes, by state (IDLE, MIXED, ALLOCATED, DOWN, DRAIN).", "state")
	preemptCountDesc  = desc("fairway_account_preemptions_total", "Preemptions of the account's jobs since the cluster began, by reason (reclaim, priority), from the replicated state.", "account", "reason")
	preemptLostDesc   = desc("fairway_account_preemption_lost_gpu_seconds_total", "Work the account's preempted runs lost (GPUs x seconds since their last checkpoint, or start), by reason.", "account", "reason")
	slurmGPUsAlloc    = desc("slurm_gpus_alloc", "Allocated GPUs (prometheus-slurm-exporter name).")
	slurmGPUsIdle     = desc("slurm_gpus_idle", "GPUs not allocated, total minus allocated (prometheus-slurm-exporter name).")
	slurmGPUsTotal    = desc("slurm_gpus_total", "GPUs of all nodes (prometheus-slurm-exporter name).")
	slurmGPUsUtil     = desc("slurm_gpus_utilization", "Allocated GPUs over all GPUs (prometheus-slurm-exporter name).")
	slurmCPUsAlloc    = desc("slurm_cpus_alloc", "Allocated CPUs (prometheus-slurm-exporter name).")
	slurmCPUsIdle     = desc("slurm_cpus_idle", "Idle CPUs of usable nodes (prometheus-slurm-exporter name).")
	slurmCPUsOther    = desc("slurm_cpus_other", "CPUs of DOWN or DRAIN nodes not allocated (prometheus-slurm-exporter name).")
	slurmCPUsTotal    = desc("slurm_cpus_total", "CPUs of all nodes (prometheus-slurm-exporter name).")
	slurmPartCPUs     = descsByName("slurm_partition_cpus_", "CPUs of the partition: %s (prometheus-slurm-exporter name).", []string{"partition"}, "allocated", "idle", "other", "total")
	slurmPartPending  = desc("slurm_partition_jobs_pending", "Pending jobs by partition (prometheus-slurm-exporter name).", "partition")
	slurmAcctPending  = desc("slurm_account_jobs_pending", "Pending jobs by account (prometheus-slurm-exporter name).", "account")
	slurmAcctRunning  = desc("slurm_account_jobs_running", "Running jobs by account (prometheus-slurm-exporter name).", "account")
	slurmAcctCPUs     = desc("slurm_account_cpus_running", "CPUs of running jobs by account (prometheus-slurm-exporter name).", "account")
	slurmAcctSusp     = desc("slurm_account_jobs_suspended", "Suspended jobs by account: always 0, Fairway does not suspend (prometheus-slurm-exporter name).", "account")
	slurmUserPending  = desc("slurm_user_jobs_pending", "Pending jobs by user (prometheus-slurm-exporter name).", "user")
	slurmUserRunning  = desc("slurm_user_jobs_running", "Running jobs by user (prometheus-slurm-exporter name).", "user")
	slurmUserCPUs     = desc("slurm_user_cpus_running", "CPUs of running jobs by user (prometheus-slurm-exporter name).", "user")
	slurmUserSusp     = desc("slurm_user_jobs_suspended", "Suspended jobs by user: always 0 (prometheus-slurm-exporter name).", "user")
	slurmNodes        = descsByName("slurm_nodes_", "Nodes in state %s (prometheus-slurm-exporter name).", nil, slurmNodeStates...)
	slurmQueue        = descsByName("slurm_queue_", "Jobs in state %s (prometheus-slurm-exporter name).", nil, slurmQueueNames()...)
	slurmSchedQueue   = desc("slurm_scheduler_queue_size", "Pending jobs the scheduler considers (array records once) (prometheus-slurm-exporter name).")
	slurmNodeStateMap = map[api.NodeState]string{api.NodeAllocated: "alloc", api.NodeIdle: "idle", api.NodeMixed: "mix", api.NodeDown: "down", api.NodeDrain: "drain"}
)

// slurmNodeStates are the node gauges of prometheus-slurm-exporter (nodes.go),
// in the order it declares them; Fairway has no node in comp, err, fail,
// maint or resv.
var slurmNodeStates = []string{"alloc", "comp", "down", "drain", "err", "fail", "idle", "maint", "mix", "resv"}

// slurmQueueStates are the queue gauges of prometheus-slurm-exporter
// (queue.go) and the Slurm state each counts ("" for states Fairway has not).
var slurmQueueStates = []struct {
	name  string
	state api.JobState
}{
	{"pending", api.JobPending}, {"pending_dependency", ""}, {"running", api.JobRunning}, {"suspended", ""},
	{"cancelled", api.JobCancelled}, {"completing", ""}, {"completed", api.JobCompleted}, {"configuring", ""},
	{"failed", api.JobFailed}, {"timeout", api.JobTimeout}, {"preempted", api.JobPreempted}, {"node_fail", api.JobNodeFail},
}

// slurmQueueNames are the names of slurmQueueStates.
func slurmQueueNames() []string {
	out := make([]string, len(slurmQueueStates))
	for i, q := range slurmQueueStates {
		out[i] = q.name
	}
	return out
}

// descsByName builds one description per suffix: prefix+suffix, help with
// the suffix for %s.
func descsByName(prefix, help string, labels []string, suffixes ...string) map[string]*prometheus.Desc {
	out := make(map[string]*prometheus.Desc, len(suffixes))
	for _, s := range suffixes {
		out[s] = prometheus.NewDesc(prefix+s, fmt.Sprintf(help, s), labels, nil)
	}
	return out
}

// clusterDescs lists every description clusterMetrics may send.
func clusterDescs() []*prometheus.Desc {
	out := []*prometheus.Desc{gpusDesc, gpusCapDesc, cpusDesc, cpusCapDesc, gpusUnhealthyDesc,
		acctGPUsDesc, acctGuarDesc, acctGuarUsedDesc, acctBorrowedDesc, acctLentDesc, acctPendJobsDesc, acctPendGPUsDesc,
		acctRunJobsDesc, acctOldestDesc, jobsDesc, phasesDesc, nodesDesc, nodeStateDesc, preemptCountDesc, preemptLostDesc,
		slurmGPUsAlloc, slurmGPUsIdle, slurmGPUsTotal, slurmGPUsUtil, slurmCPUsAlloc, slurmCPUsIdle, slurmCPUsOther, slurmCPUsTotal,
		slurmPartPending, slurmAcctPending, slurmAcctRunning, slurmAcctCPUs, slurmAcctSusp,
		slurmUserPending, slurmUserRunning, slurmUserCPUs, slurmUserSusp, slurmSchedQueue}
	for _, s := range slurmNodeStates {
		out = append(out, slurmNodes[s])
	}
	for _, q := range slurmQueueStates {
		out = append(out, slurmQueue[q.name])
	}
	for _, s := range []string{"allocated", "idle", "other", "total"} {
		out = append(out, slurmPartCPUs[s])
	}
	return out
}

// pk is a (partition, GPU type) key.
type pk struct{ part, gtype string }

// ak is an (account, partition) key.
type ak struct{ acct, part string }

// clusterMetrics computes every figure of v and sends it to ch.
func clusterMetrics(v *clusterView, ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	counter := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, val, labels...)
	}
	members := partitionMembers(&v.cfg, v.nodes)

	// Nodes: per partition and GPU type.
	gpus := map[pk]map[string]int{}
	cpus := map[pk]map[string]int{}
	unhealthy := map[pk]int{}
	add := func(m map[pk]map[string]int, k pk, state string, n int) {
		if m[k] == nil {
			m[k] = map[string]int{resAllocated: 0, resIdle: 0, resDown: 0}
		}
		m[k][state] += n
	}
	// usable GPUs per partition (all types), for lending.
	usable := map[string]int{}
	var slurmAlloc, slurmTotal, cAlloc, cIdle, cOther, cTotal int
	nodeStates := map[string]int{}
	for _, s := range slurmNodeStates {
		nodeStates[s] = 0
	}
	apiNodeStates := map[api.NodeState]int{api.NodeIdle: 0, api.NodeMixed: 0, api.NodeAllocated: 0, api.NodeDown: 0, api.NodeDrain: 0}
	for _, n := range v.nodes {
		down := n.State == api.NodeDown || n.State == api.NodeDrain
		apiNodeStates[n.State]++
		gauge(nodeStateDesc, 1, n.Name, string(n.State))
		if s, ok := slurmNodeStateMap[n.State]; ok {
			nodeStates[s]++
		}
		used := map[int]bool{}
		for _, g := range n.Used.GPUs {
			used[g.Index] = true
		}
		slurmTotal += len(n.Resources.GPUs)
		slurmAlloc += len(used)
		cTotal += n.Resources.CPUs
		cAlloc += min(n.Used.CPUs, n.Resources.CPUs)
		if down {
			cOther += max(n.Resources.CPUs-n.Used.CPUs, 0)
		} else {
			cIdle += max(n.Resources.CPUs-n.Used.CPUs, 0)
		}
		for _, part := range members[n.Name] {
			nodeType := "none"
			for _, g := range n.Resources.GPUs {
				k := pk{part, strings.ToLower(g.Type)}
				nodeType = k.gtype
				state := resIdle
				switch {
				case used[g.Index]:
					state = resAllocated
				case down || !g.Healthy:
					state = resDown
				}
				add(gpus, k, state, 1)
				if !g.Healthy {
					unhealthy[k]++
				} else if !down {
					usable[part]++
				}
			}
			k := pk{part, nodeType}
			alloc := min(n.Used.CPUs, n.Resources.CPUs)
			add(cpus, k, resAllocated, alloc)
			if down {
				add(cpus, k, resDown, n.Resources.CPUs-alloc)
			} else {
				add(cpus, k, resIdle, n.Resources.CPUs-alloc)
			}
		}
	}
	for k, m := range gpus {
		total := 0
		for state, n := range m {
			gauge(gpusDesc, float64(n), k.part, k.gtype, state)
			total += n
		}
		gauge(gpusCapDesc, float64(total), k.part, k.gtype)
		gauge(gpusUnhealthyDesc, float64(unhealthy[k]), k.part, k.gtype)
	}
	partCPUs := map[string]map[string]int{}
	for k, m := range cpus {
		total := 0
		for state, n := range m {
			gauge(cpusDesc, float64(n), k.part, k.gtype, state)
			total += n
		}
		gauge(cpusCapDesc, float64(total), k.part, k.gtype)
		if partCPUs[k.part] == nil {
			partCPUs[k.part] = map[string]int{}
		}
		partCPUs[k.part]["allocated"] += m[resAllocated]
		partCPUs[k.part]["idle"] += m[resIdle]
		partCPUs[k.part]["other"] += m[resDown]
		partCPUs[k.part]["total"] += total
	}
	for part, m := range partCPUs {
		for s, n := range m {
			gauge(slurmPartCPUs[s], float64(n), part)
		}
	}
	for s, n := range nodeStates {
		gauge(slurmNodes[s], float64(n))
	}
	for s, n := range apiNodeStates {
		gauge(nodesDesc, float64(n), string(s))
	}
	gauge(slurmGPUsAlloc, float64(slurmAlloc))
	gauge(slurmGPUsIdle, float64(slurmTotal-slurmAlloc))
	gauge(slurmGPUsTotal, float64(slurmTotal))
	util := 0.0
	if slurmTotal > 0 {
		util = float64(slurmAlloc) / float64(slurmTotal)
	}
	gauge(slurmGPUsUtil, util)
	gauge(slurmCPUsAlloc, float64(cAlloc))
	gauge(slurmCPUsIdle, float64(cIdle))
	gauge(slurmCPUsOther, float64(cOther))
	gauge(slurmCPUsTotal, float64(cTotal))

	// Jobs: one pass.
	acctOf := func(j *api.Job) string { return cmp.Or(j.Spec.Account, v.cfg.DefaultAccount, api.RootAccount) }
	states := map[api.JobState]int{}
	for _, s := range jobStates {
		states[s] = 0
	}
	phases := map[string]int{}
	for _, p := range jobPhases {
		phases[p] = 0
	}
	type rk struct{ acct, part, reason string }
	pendJobs, pendGPUs := map[rk]int{}, map[rk]int{}
	acctGPUs, acctRun := map[ak]int{}, map[ak]int{}
	oldest := map[ak]int64{}
	partPending := map[string]int{}
	acctPending, acctRunning, acctCPUs := map[string]int{}, map[string]int{}, map[string]int{}
	userPending, userRunning, userCPUs := map[string]int{}, map[string]int{}, map[string]int{}
	queueSize, pendingDep := 0, 0
	for _, p := range v.cfg.Partitions {
		partPending[p.Name] = 0
	}
	for _, a := range v.cfg.Accounts {
		acctPending[a.Name], acctRunning[a.Name], acctCPUs[a.Name] = 0, 0, 0
	}
	for _, j := range v.jobs {
		n := 1
		if j.IsArrayRecord() && j.State == api.JobPending {
			n = len(j.ArrayPending)
			if n == 0 {
				continue
			}
		}
		acct, user := acctOf(j), j.Spec.User
		states[j.State] += n
		phases[phaseOf(j, v.started)] += n
		switch j.State {
		case api.JobPending:
			queueSize++
			reason := cmp.Or(j.Reason, api.ReasonNone)
			k := rk{acct, j.Partition, reason}
			pendJobs[k] += n
			pendGPUs[k] += n * max(j.Spec.Nodes, 1) * max(j.Spec.GPUs, 0)
			partPending[j.Partition] += n
			acctPending[acct] += n
			userPending[user] += n
			if strings.HasPrefix(reason, api.ReasonDependency) {
				pendingDep += n
			}
			if !userWait(reason) && j.SubmitTime > 0 {
				a := ak{acct, j.Partition}
				if o := oldest[a]; o == 0 || j.SubmitTime < o {
					oldest[a] = j.SubmitTime
				}
			} else if _, ok := oldest[ak{acct, j.Partition}]; !ok {
				oldest[ak{acct, j.Partition}] = 0
			}
		case api.JobRunning:
			a := ak{acct, j.Partition}
			acctRun[a]++
			cpus := 0
			for _, al := range j.Alloc {
				acctGPUs[a] += len(al.GPUs)
				cpus += al.CPUs
			}
			acctRunning[acct]++
			acctCPUs[acct] += cpus
			userRunning[user]++
			userCPUs[user] += cpus
		}
	}
	for s, n := range states {
		gauge(jobsDesc, float64(n), string(s))
	}
	for p, n := range phases {
		gauge(phasesDesc, float64(n), p)
	}
	for _, q := range slurmQueueStates {
		n := states[q.state]
		if q.state == "" {
			n = 0
		}
		if q.name == "pending_dependency" {
			n = pendingDep
		}
		gauge(slurmQueue[q.name], float64(n))
	}
	gauge(slurmSchedQueue, float64(queueSize))
	for k, n := range pendJobs {
		gauge(acctPendJobsDesc, float64(n), k.acct, k.part, k.reason)
		gauge(acctPendGPUsDesc, float64(pendGPUs[k]), k.acct, k.part, k.reason)
	}
	for k, t := range oldest {
		age := 0.0
		if t > 0 {
			age = max(v.now.Sub(time.Unix(t, 0)).Seconds(), 0)
		}
		gauge(acctOldestDesc, age, k.acct, k.part)
	}
	for k, n := range acctRun {
		gauge(acctRunJobsDesc, float64(n), k.acct, k.part)
		gauge(acctGPUsDesc, float64(acctGPUs[k]), k.acct, k.part)
	}
	for part, n := range partPending {
		gauge(slurmPartPending, float64(n), part)
	}
	for a, n := range acctPending {
		gauge(slurmAcctPending, float64(n), a)
		gauge(slurmAcctRunning, float64(acctRunning[a]), a)
		gauge(slurmAcctCPUs, float64(acctCPUs[a]), a)
		gauge(slurmAcctSusp, 0, a)
	}
	for a, n := range acctRunning {
		if _, ok := acctPending[a]; !ok {
			gauge(slurmAcctPending, 0, a)
			gauge(slurmAcctRunning, float64(n), a)
			gauge(slurmAcctCPUs, float64(acctCPUs[a]), a)
			gauge(slurmAcctSusp, 0, a)
		}
	}
	users := map[string]bool{}
	for u := range userPending {
		users[u] = true
	}
	for u := range userRunning {
		users[u] = true
	}
	for u := range users {
		gauge(slurmUserPending, float64(userPending[u]), u)
		gauge(slurmUserRunning, float64(userRunning[u]), u)
		gauge(slurmUserCPUs, float64(userCPUs[u]), u)
		gauge(slurmUserSusp, 0, u)
	}

	// Guarantees: borrowed and lent.
	for _, g := range guaranteeFigures(&v.cfg, acctGPUs, usable) {
		gauge(acctGuarDesc, float64(g.guarantee), g.acct, g.part)
		gauge(acctGuarUsedDesc, float64(g.used), g.acct, g.part)
		gauge(acctBorrowedDesc, float64(g.borrowed), g.acct, g.part)
		gauge(acctLentDesc, g.lent, g.acct, g.part)
	}

	for _, p := range v.preemptions {
		counter(preemptCountDesc, float64(p.Count), p.Account, p.Reason)
		counter(preemptLostDesc, float64(p.LostGPUSecs), p.Account, p.Reason)
	}
}

// partitionMembers maps each node to the partitions it belongs to: the
// partition's node list when it has one, else the partitions the node names.
func partitionMembers(cfg *api.ClusterConfig, nodes []*api.Node) map[string][]string {
	out := map[string][]string{}
	for _, p := range cfg.Partitions {
		if len(p.Nodes) > 0 {
			for _, name := range p.Nodes {
				if !slices.Contains(out[name], p.Name) {
					out[name] = append(out[name], p.Name)
				}
			}
			continue
		}
		for _, n := range nodes {
			if slices.Contains(n.Partitions, p.Name) && !slices.Contains(out[n.Name], p.Name) {
				out[n.Name] = append(out[n.Name], p.Name)
			}
		}
	}
	return out
}

// guaranteeFigure is one account's guarantee in one partition and how it
// is used.
type guaranteeFigure struct {
	acct, part string
	// guarantee is the account's guaranteed GPUs (0 without one); used the
	// GPUs of the jobs it covers.
	guarantee, used int
	// borrowed is used above guarantee; lent the share of its unused
	// guarantee that borrowers hold.
	borrowed int
	lent     float64
}

// guaranteeFigures computes borrowing and lending per (account, partition)
// from the GPUs each account's running jobs hold (used, by the job's own
// account) and the usable (healthy, up) GPUs per partition. A job counts
// against the nearest account, from its own up, with a guarantee in the
// partition, as the scheduler counts it. Borrowers first fill the usable
// GPUs nobody is guaranteed; what they hold beyond that is lent by the
// accounts with unused guarantees, in proportion to what each leaves
// unused. Accounts without a guarantee and without running jobs are left
// out.
func guaranteeFigures(cfg *api.ClusterConfig, used map[ak]int, usable map[string]int) []guaranteeFigure {
	parent := map[string]string{}
	guar := map[ak]int{}
	for _, a := range cfg.Accounts {
		parent[a.Name] = a.Parent
		for part, g := range a.Guarantees {
			guar[ak{a.Name, part}] = g
		}
	}
	// coverOf is the account whose guarantee covers acct's jobs in part.
	coverOf := func(acct, part string) string {
		for a, depth := acct, 0; a != "" && depth < 64; a, depth = parent[a], depth+1 {
			if _, ok := guar[ak{a, part}]; ok {
				return a
			}
		}
		return acct
	}
	cover := map[ak]int{}
	for k := range guar {
		cover[k] = 0
	}
	for k, n := range used {
		cover[ak{coverOf(k.acct, k.part), k.part}] += n
	}
	type partSum struct {
		guaranteed, unused, borrowed int
	}
	sums := map[string]*partSum{}
	for k, n := range cover {
		s := sums[k.part]
		if s == nil {
			s = &partSum{}
			sums[k.part] = s
		}
		g := guar[k]
		s.guaranteed += g
		s.unused += max(g-n, 0)
		s.borrowed += max(n-g, 0)
	}
	var out []guaranteeFigure
	for k, n := range cover {
		g := guar[k]
		f := guaranteeFigure{acct: k.acct, part: k.part, guarantee: g, used: n, borrowed: max(n-g, 0)}
		s := sums[k.part]
		if unused := max(g-n, 0); unused > 0 && s.unused > 0 {
			free := max(usable[k.part]-s.guaranteed, 0) // unguaranteed usable GPUs
			fromGuarantees := min(max(s.borrowed-free, 0), s.unused)
			f.lent = float64(fromGuarantees) * float64(unused) / float64(s.unused)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b guaranteeFigure) int {
		return cmp.Or(cmp.Compare(a.part, b.part), cmp.Compare(a.acct, b.acct))
	})
	return out
}
