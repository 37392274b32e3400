// Package schedtest drives a sched.Scheduler over virtual time on an
// in-memory cluster: it applies each plan with the controller's own
// plan-apply model (planapply.Apply on a planapply.Mem: starts verified,
// preemptions, array task splits, pending reasons),
// ends jobs at their run times, stops preempted jobs after their grace time
// (requeued or ended), accrues decayed fair-share usage, and runs a pass at
// every event. Unit tests of the scheduler and the trace simulator use it.
//
// A start that does not verify (resources not free, a job that cannot
// start) or a preemption that does not apply is recorded in Errors, since
// it means the scheduler planned something the real state machine would
// refuse.
package schedtest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/fairway-hpc/fairway/sched/planapply"
)

// EventKind names what happened to a job.
type EventKind string

// Event kinds.
const (
	Submitted EventKind = "submit"
	Started   EventKind = "start"
	Ended     EventKind = "end"     // the job finished (State says how)
	Preempted EventKind = "preempt" // the plan asked the job to stop (For, Reason)
	Stopped   EventKind = "stop"    // a stopped job left its nodes (requeued or ended)
)

// Event is one entry of the cluster's log.
type Event struct {
	Time   int64
	Kind   EventKind
	Job    api.JobID
	State  api.JobState // Ended, Stopped: the state reached
	For    api.JobID    // Preempted: the job it makes room for
	Reason string       // Preempted: reclaim or priority
	GPUs   int          // Started: GPUs allocated
}

// Cluster is an in-memory cluster on virtual time.
type Cluster struct {
	// Now is the current virtual time (unix seconds).
	Now int64
	// Config is the cluster configuration passed to every pass.
	Config api.ClusterConfig
	// Nodes are the cluster's nodes.
	Nodes []*api.Node
	// Sched makes the plans.
	Sched sched.Scheduler
	// Usage is the decayed fair-share usage per association, accrued by
	// the cluster as jobs run (fairshare.Billing, fairshare.Decay).
	Usage map[string]float64
	// Tick, when positive, runs a pass at least this often even when
	// nothing happens (age and fair-share changes).
	Tick int64
	// OnPlan, when set, is called with every plan before it is applied.
	OnPlan func(in sched.Input, plan api.Plan)

	// Log is every event in order.
	Log []Event
	// Errors are the plan entries the cluster refused (scheduler bugs).
	Errors []string
	// Passes counts the passes run.
	Passes int

	state    *planapply.Mem
	active   map[api.JobID]bool  // pending and running
	runTime  map[api.JobID]int64 // run time of each job's runs; for array tasks, inherited from the record
	arrivals []arrival
	usageAt  int64
}

type arrival struct {
	at      int64
	spec    api.JobSpec
	runTime int64
}

// New returns a cluster at time now with the given configuration and nodes,
// scheduled by s.
func New(cfg api.ClusterConfig, nodes []*api.Node, s sched.Scheduler, now int64) *Cluster {
	c := &Cluster{Now: now, Config: cfg, Nodes: nodes, Sched: s, Usage: map[string]float64{},
		active: map[api.JobID]bool{}, runTime: map[api.JobID]int64{}, usageAt: now}
	c.state = planapply.NewMem(&c.Config, nodes)
	return c
}

// Submit adds a pending job at Now and returns its ID. The job runs for
// runTime seconds once started (0: until its time limit; a run time past the
// limit ends it TIMEOUT at the limit). A spec with Array becomes a job array
// record whose tasks each run runTime.
func (c *Cluster) Submit(spec api.JobSpec, runTime int64) api.JobID {
	id, _ := c.state.NewJobID()
	j := &api.Job{ID: id, Spec: spec, State: api.JobPending, SubmitTime: c.Now, Reason: api.ReasonNone}
	if spec.Hold {
		j.Reason = api.ReasonHeldUser
	}
	if spec.Array != "" {
		as, err := api.ParseArray(spec.Array, c.Config.MaxArraySizeOrDefault())
		if err != nil {
			c.Errors = append(c.Errors, fmt.Sprintf("submit: %v", err))
			return 0
		}
		j.ArrayJobID, j.ArrayTaskID, j.ArrayPending, j.ArrayMaxRun = id, -1, as.Tasks, as.MaxRun
	}
	parts := spec.Partitions
	if len(parts) == 0 {
		if p, ok := c.Config.DefaultPartition(); ok {
			j.Partition = p.Name
		}
	} else {
		j.Partition = parts[0]
	}
	j.StdoutPath, j.StderrPath = planapply.OutputPaths(j, "")
	j.StdinPath = planapply.InputPath(j, "")
	j.CheckpointDir = planapply.CheckpointDir(&c.Config, id)
	c.put(j)
	c.active[id] = true
	c.runTime[id] = runTime
	c.Log = append(c.Log, Event{Time: c.Now, Kind: Submitted, Job: id})
	return id
}

// SubmitAt schedules a submission at time at (after Now); the job gets its
// ID when it arrives. Arrivals at the same time keep their order.
func (c *Cluster) SubmitAt(at int64, spec api.JobSpec, runTime int64) {
	c.arrivals = append(c.arrivals, arrival{at: at, spec: spec, runTime: runTime})
	slices.SortStableFunc(c.arrivals, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
}

// Job returns a job (any state) or nil.
func (c *Cluster) Job(id api.JobID) *api.Job { return c.state.Job(id) }

// Jobs returns every job, by ID.
func (c *Cluster) Jobs() []*api.Job { return c.state.Jobs() }

// put stores a job version in the state.
func (c *Cluster) put(j *api.Job) {
	if err := c.state.PutJob(j); err != nil {
		c.Errors = append(c.Errors, fmt.Sprintf("t=%d store job %d: %v", c.Now, j.ID, err))
	}
}

// update stores a changed copy of job id.
func (c *Cluster) update(id api.JobID, change func(j *api.Job)) *api.Job {
	nj := *c.state.Job(id)
	change(&nj)
	c.put(&nj)
	return &nj
}

// Active returns the pending and running jobs, by ID.
func (c *Cluster) Active() []*api.Job {
	out := make([]*api.Job, 0, len(c.active))
	for _, id := range slices.Sorted(maps.Keys(c.active)) {
		out = append(out, c.state.Job(id))
	}
	return out
}

// SetHold holds or releases a pending job.
func (c *Cluster) SetHold(id api.JobID, hold bool) {
	if j := c.state.Job(id); j != nil && j.State == api.JobPending {
		c.update(id, func(j *api.Job) {
			j.Spec.Hold = hold
			j.Reason = api.ReasonNone
			if hold {
				j.Reason = api.ReasonHeldUser
			}
		})
	}
}

// Input returns the scheduler's input for the current state.
func (c *Cluster) Input() sched.Input {
	return sched.Input{
		Now: c.Now, Config: c.Config, Nodes: c.Nodes, Jobs: c.Active(), Usage: maps.Clone(c.Usage),
		Lookup: func(id api.JobID) (*api.Job, bool) { j := c.state.Job(id); return j, j != nil },
	}
}

// Step runs one pass at Now and applies its plan.
func (c *Cluster) Step() api.Plan {
	in := c.Input()
	plan := c.Sched.Schedule(in)
	c.Passes++
	if c.OnPlan != nil {
		c.OnPlan(in, plan)
	}
	c.apply(plan)
	return plan
}

// RunUntil processes events and runs passes until virtual time until: a
// pass at the current time, then at each later event (a job ending, a
// stopped job leaving, an arrival, a begin time, a tick) up to until. It
// returns early when nothing is left to happen.
func (c *Cluster) RunUntil(until int64) {
	for {
		c.settle()
		c.Step()
		next, ok := c.nextEvent()
		if !ok || next > until {
			if until > c.Now && until < forever {
				c.advance(until)
			}
			return
		}
		c.advance(next)
	}
}

// RunUntilIdle runs until no job is pending or running, or until limit.
// It reports whether the cluster became idle.
func (c *Cluster) RunUntilIdle(limit int64) bool {
	for {
		c.settle()
		c.Step()
		if len(c.Active()) == 0 && len(c.arrivals) == 0 {
			return true
		}
		next, ok := c.nextEvent()
		if !ok || next > limit {
			return false
		}
		c.advance(next)
	}
}

const forever = int64(1) << 60

// advance moves virtual time to t, accruing usage.
func (c *Cluster) advance(t int64) {
	c.accrue(t)
	c.Now = t
}

// accrue decays usage and charges the running jobs up to time t.
func (c *Cluster) accrue(t int64) {
	dt := t - c.usageAt
	if dt <= 0 {
		return
	}
	half := c.Config.Scheduling.UsageHalfLifeSecs
	if half == 0 && !c.Config.Scheduling.UsageNoDecay {
		half = 7 * 24 * 3600
	}
	if c.Config.Scheduling.UsageNoDecay {
		half = 0
	}
	for _, k := range slices.Sorted(maps.Keys(c.Usage)) {
		c.Usage[k] = fairshare.Decay(c.Usage[k], dt, half)
	}
	gpuType := func(node string, idx int) string {
		if n := c.state.Node(node); n != nil {
			for _, g := range n.Resources.GPUs {
				if g.Index == idx {
					return g.Type
				}
			}
		}
		return ""
	}
	for _, j := range c.Active() {
		if j.State != api.JobRunning {
			continue
		}
		rate := fairshare.Billing(c.Config.Scheduling.BillingWeights, j.Alloc, gpuType)
		acct := cmp.Or(j.Spec.Account, c.Config.DefaultAccount, api.RootAccount)
		c.Usage[api.AssocKey(acct, j.Spec.User)] += rate * float64(dt)
	}
	c.usageAt = t
}

// settle applies everything due at Now: arrivals, job ends and stops.
func (c *Cluster) settle() {
	for len(c.arrivals) > 0 && c.arrivals[0].at <= c.Now {
		a := c.arrivals[0]
		c.arrivals = c.arrivals[1:]
		c.Submit(a.spec, a.runTime)
	}
	for _, j := range c.Active() {
		if j.State != api.JobRunning {
			continue
		}
		end, stop := c.endOf(j), c.stopOf(j)
		switch {
		case end <= c.Now && end <= stop:
			c.finish(j)
		case stop <= c.Now:
			c.stop(j)
		}
	}
}

// limitOf is a running job's time limit in its partition.
func (c *Cluster) limitOf(j *api.Job) int64 {
	p, _ := c.Config.Partition(j.Partition)
	return j.Spec.TimeLimitIn(p)
}

// endOf is when a running job ends by itself: after its run time, or at its
// time limit.
func (c *Cluster) endOf(j *api.Job) int64 {
	limit := c.limitOf(j)
	rt := c.runTime[j.ID]
	if rt <= 0 || rt > limit {
		rt = limit
	}
	if api.Unlimited(rt) {
		return forever
	}
	return j.StartTime + rt
}

// stopOf is when a job being stopped leaves its nodes.
func (c *Cluster) stopOf(j *api.Job) int64 {
	if j.Kill == nil {
		return forever
	}
	return planapply.StopDeadline(j.Kill)
}

// finish ends a job that ran its course.
func (c *Cluster) finish(j *api.Job) {
	state := api.JobCompleted
	if rt := c.runTime[j.ID]; rt > c.limitOf(j) {
		state = api.JobTimeout
	}
	end := c.endOf(j)
	c.update(j.ID, func(j *api.Job) { j.State, j.EndTime, j.Alloc, j.Kill = state, end, nil, nil })
	delete(c.active, j.ID)
	c.Log = append(c.Log, Event{Time: c.Now, Kind: Ended, Job: j.ID, State: state})
}

// stop ends or requeues a job whose kill grace is over.
func (c *Cluster) stop(j *api.Job) {
	k := j.Kill
	j = c.update(j.ID, func(j *api.Job) {
		if k.Requeue {
			j.State, j.Reason, j.RestartCount = api.JobPending, api.ReasonRequeued, j.RestartCount+1
			j.StartTime, j.ExpectedStart = 0, 0
		} else {
			j.State, j.EndTime = k.State, c.Now
		}
		j.Alloc, j.Kill = nil, nil
	})
	if !k.Requeue {
		delete(c.active, j.ID)
	}
	c.Log = append(c.Log, Event{Time: c.Now, Kind: Stopped, Job: j.ID, State: j.State})
}

// nextEvent is the earliest time after Now at which something happens.
func (c *Cluster) nextEvent() (int64, bool) {
	next := forever
	if len(c.arrivals) > 0 {
		next = min(next, max(c.arrivals[0].at, c.Now+1))
	}
	pending := false
	for _, j := range c.Active() {
		switch j.State {
		case api.JobRunning:
			next = min(next, c.endOf(j), c.stopOf(j))
		case api.JobPending:
			pending = true
			if j.Spec.BeginTime > c.Now {
				next = min(next, j.Spec.BeginTime)
			}
		}
	}
	if c.Tick > 0 && pending {
		next = min(next, c.Now+c.Tick)
	}
	return next, next < forever
}

// apply applies a plan with the controller's plan-apply model and logs
// what it did.
func (c *Cluster) apply(p api.Plan) {
	res, err := planapply.Apply(c.state, &p)
	if err != nil {
		c.Errors = append(c.Errors, fmt.Sprintf("t=%d apply: %v", c.Now, err))
	}
	for _, r := range res.Skipped {
		c.Errors = append(c.Errors, fmt.Sprintf("t=%d preemption of job %d: %s", c.Now, r.JobID, r.Why))
	}
	for _, r := range res.Dropped {
		c.Errors = append(c.Errors, fmt.Sprintf("t=%d start of job %d: %s", c.Now, r.JobID, r.Why))
	}
	for _, pr := range p.Preemptions {
		if j := c.state.Job(pr.JobID); j != nil && slices.Contains(res.Preempted, pr.JobID) {
			c.Log = append(c.Log, Event{Time: c.Now, Kind: Preempted, Job: pr.JobID, For: pr.For, Reason: pr.Reason})
		}
	}
	for _, id := range res.Started {
		j := c.state.Job(id)
		if !c.active[id] {
			// An array task split off its record runs as long as the
			// record's tasks.
			c.active[id] = true
			c.runTime[id] = c.runTime[j.ArrayJobID]
		}
		gpus := 0
		for _, a := range j.Alloc {
			gpus += len(a.GPUs)
		}
		c.Log = append(c.Log, Event{Time: c.Now, Kind: Started, Job: id, GPUs: gpus})
	}
}

// GPUsInUse counts the GPUs held by running jobs of an account (any
// account when empty), in a partition (any when empty). Jobs being stopped
// count until they leave.
func (c *Cluster) GPUsInUse(account, partition string) int {
	n := 0
	for id := range c.active {
		j := c.state.Job(id)
		if j.State != api.JobRunning || (account != "" && j.Spec.Account != account) || (partition != "" && j.Partition != partition) {
			continue
		}
		for _, a := range j.Alloc {
			n += len(a.GPUs)
		}
	}
	return n
}

// Events returns the log entries of one kind, in order.
func (c *Cluster) Events(kind EventKind) []Event {
	var out []Event
	for _, e := range c.Log {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Node returns an up node with cpus CPUs, memMB MB of memory and gpus
// healthy GPUs of gpuType (indices from 0, UUIDs "<name>-gpu<i>"), in the
// given partitions.
func Node(name string, cpus int, memMB int64, gpus int, gpuType string, partitions ...string) *api.Node {
	n := &api.Node{Name: name, Partitions: partitions, State: api.NodeIdle,
		Resources: api.NodeResources{CPUs: cpus, MemoryMB: memMB}}
	for i := range gpus {
		n.Resources.GPUs = append(n.Resources.GPUs, api.GPU{Index: i, Minor: i, UUID: fmt.Sprintf("%s-gpu%d", name, i), Type: gpuType, Healthy: true})
	}
	return n
}
