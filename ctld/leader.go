package ctld

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched"
)

// schedDebounce is the least time the leader waits after a state change
// before it schedules, so that a burst of changes costs one pass.
const schedDebounce = 50 * time.Millisecond

// priorityRewrite is how often the leader commits the pending jobs whose
// priority alone changed (squeue's %Q, sorting by priority; sprio computes
// them live), as Slurm recalculates priorities every PriorityCalcPeriod (5
// minutes by default). Rewriting them on every pass put thousands of job
// rewrites into a plan every few seconds at 10,000 pending jobs, applied on
// every replica.
const priorityRewrite = time.Minute

// leadershipPoll is how often leadership is re-checked besides the store's
// leadership notifications.
const leadershipPoll = 200 * time.Millisecond

// retentionInterval is how often the leader looks for expired jobs.
const retentionInterval = time.Minute

// watchLeadership runs the leader loop while this controller is the
// established leader, until ctx ends. The store reports leadership on
// LeaderCh once its state reflects every earlier commit and its HTTP address
// is recorded; raft's own state is polled as well, so that a lost leadership
// stops the loop promptly.
func (c *Controller) watchLeadership(ctx context.Context) {
	type leaderRun struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var (
		cur         *leaderRun
		established bool
	)
	stopLeading := func() {
		if cur != nil {
			cur.cancel()
			<-cur.done
			cur = nil
			c.log.Info("leader loop stopped")
		}
	}
	defer stopLeading()
	tick := time.NewTicker(leadershipPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case established = <-c.store.LeaderCh():
		case <-tick.C:
		}
		leader := established && c.store.IsLeader()
		if leader && cur == nil {
			run := &leaderRun{done: make(chan struct{})}
			var lctx context.Context
			lctx, run.cancel = context.WithCancel(ctx)
			cur = run
			go func() {
				defer close(run.done)
				c.lead(lctx)
			}()
		} else if !leader {
			stopLeading()
		}
	}
}

// lead is the leader loop: it applies the initial cluster configuration if
// there is none, restarts every node's heartbeat timer, and then runs a pass
// after every state change (debounced) and every SchedInterval, the
// fair-share usage accrual every UsageInterval (and once at the start), and
// the retention check every minute.
//
// Usage is not accrued before every pass: a commit per pass would cost the
// raft log and the submit path a write for every burst of submissions, and
// fair-share factors that lag by at most UsageInterval change no decision
// that matters (Slurm recomputes them every PriorityCalcPeriod, 5 minutes by
// default).
func (c *Controller) lead(ctx context.Context) {
	c.log.Info("became leader; starting leader loop")
	defer c.established.Store(false)
	if !c.establish(ctx) {
		return
	}
	c.established.Store(true)
	c.metrics.passes.lead(c.now())
	c.metrics.starts.lead(c.now().Unix())
	defer c.metrics.starts.lead(0)
	dirty := make(chan struct{}, 1)
	var watcher sync.WaitGroup
	defer watcher.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // runs before watcher.Wait
	watcher.Add(1)
	go func() {
		defer watcher.Done()
		var last uint64
		for ctx.Err() == nil {
			idx := c.store.WaitIndex(ctx, last)
			if idx > last {
				last = idx
				select {
				case dirty <- struct{}{}:
				default:
				}
			}
		}
	}()
	watcher.Add(1)
	go func() {
		defer watcher.Done()
		c.autopilot(ctx)
	}()
	watcher.Add(1)
	go func() {
		defer watcher.Done()
		c.estimateLoop(ctx)
	}()
	ticker := time.NewTicker(c.cfg.SchedInterval)
	defer ticker.Stop()
	retention := time.NewTicker(retentionInterval)
	defer retention.Stop()
	accrual := time.NewTicker(c.cfg.UsageInterval)
	defer accrual.Stop()
	// A pass waits at least three times as long as the previous pass
	// computed (and one triggered by changes at least schedDebounce), so
	// that under a storm of submissions a long queue costs the leader at
	// most about a quarter of a CPU. Waiting for the plan's commit does not
	// count: at 10,000 nodes a plan of 10,000 starts took seconds to
	// commit, and spacing passes by that wait left freed GPUs idle for
	// half a minute.
	var (
		debounce     <-chan time.Time
		nextEarliest time.Time
	)
	runPass := func() {
		computed := c.pass(ctx)
		nextEarliest = time.Now().Add(3 * computed)
	}
	c.accrueUsage(ctx)
	runPass()
	c.expireJobs(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirty:
			if debounce == nil {
				debounce = time.After(max(schedDebounce, time.Until(nextEarliest)))
			}
		case <-debounce:
			debounce = nil
			runPass()
		case <-ticker.C:
			if time.Now().After(nextEarliest) {
				runPass()
			}
		case <-retention.C:
			c.expireJobs(ctx)
		case <-accrual.C:
			c.accrueUsage(ctx)
		}
	}
}

// establish does the leader's setup, retrying until it succeeds or the
// leadership (ctx) ends.
func (c *Controller) establish(ctx context.Context) bool {
	for {
		err := c.establishOnce(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil || errors.Is(err, raftstore.ErrNotLeader) {
			return false
		}
		c.log.Warn("leader setup failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

func (c *Controller) establishOnce(ctx context.Context) error {
	st := c.store.State()
	if cfg := st.Config(); len(cfg.Partitions) == 0 {
		if _, err := c.apply(ctx, raftstore.SetConfig{Config: c.initial}); err != nil {
			return err
		}
		c.log.Info("applied the initial cluster configuration", "partitions", len(c.initial.Partitions))
	}
	var names []string
	for _, n := range st.Nodes() {
		names = append(names, n.Name)
	}
	c.live.reset(names, c.now())
	return nil
}

// pass is one round of the leader's duties on a fresh snapshot: mark silent
// nodes DOWN, stop jobs past their time limit, then schedule. The nodes and
// the active jobs are read once per pass, as stored (not copied: copying
// 100,000 jobs took longer than scheduling them); nothing in the pass
// modifies them. It
// returns the time the pass computed (reading the state, making the plan),
// not counting the waits for its commits.
func (c *Controller) pass(ctx context.Context) time.Duration {
	start := time.Now()
	st := c.store.State()
	now := c.now()
	cfg := st.Config()
	if len(cfg.Partitions) == 0 {
		return time.Since(start)
	}
	// The nodes as stored, shared: the scheduler derives their usage from
	// the running jobs itself.
	nodes := st.NodesShared()
	read := time.Since(start)
	if c.checkLiveness(ctx, nodes, &cfg, now) {
		// Jobs on the nodes just marked DOWN were requeued or ended.
		reread := time.Now()
		st = c.store.State()
		cfg, nodes = st.Config(), st.NodesShared()
		read += time.Since(reread)
	}
	reread := time.Now()
	jobs := st.ActiveJobsShared()
	read += time.Since(reread)
	// A job asked to stop keeps its resources until it exits, so the
	// snapshot stays valid for scheduling after time-limit kills.
	c.checkTimeLimits(ctx, jobs, &cfg, now)
	return read + c.schedule(ctx, schedInput(st, now.Unix(), cfg, nodes, jobs))
}

// schedInput is the scheduler's view of a state: its nodes and active jobs,
// the fair-share usage, and every retained job for dependencies.
func schedInput(st *raftstore.State, now int64, cfg api.ClusterConfig, nodes []*api.Node, jobs []*api.Job) sched.Input {
	usage, _ := st.Usage()
	return sched.Input{Now: now, Config: cfg, Nodes: nodes, Jobs: jobs, Usage: usage, Lookup: st.Job}
}

// accrueUsage commits the fair-share usage accrual up to now.
func (c *Controller) accrueUsage(ctx context.Context) {
	if _, err := c.apply(ctx, raftstore.AccrueUsage{Now: c.now().Unix(), Formula: raftstore.CurrentUsageFormula}); err != nil && ctx.Err() == nil {
		c.log.Warn("cannot accrue fair-share usage", "err", err)
	}
}

// checkLiveness marks DOWN the nodes whose last heartbeat is older than the
// node-down timeout. It reports whether it committed anything.
func (c *Controller) checkLiveness(ctx context.Context, nodes []*api.Node, cfg *api.ClusterConfig, now time.Time) bool {
	after := c.nodeDownAfter(cfg)
	changed := false
	for _, n := range nodes {
		if n.State == api.NodeDown {
			continue
		}
		last := c.live.lastSeen(n.Name, now)
		if now.Sub(last) <= after {
			continue
		}
		// The node's lease ran out at the latest a lease after its last
		// acknowledged heartbeat (which it sent before we saw it), and it
		// has stopped its jobs a grace and kill wait after that.
		fencedBy := last.Add(time.Duration(cfg.FenceDeadline()) * time.Second)
		res, err := c.apply(ctx, raftstore.MarkNodeDown{Now: now.Unix(), Node: n.Name, Reason: "Not responding",
			FencedBy: min(fencedBy.Unix(), now.Unix())})
		if err != nil {
			c.log.Warn("cannot mark node DOWN", "node", n.Name, "err", err)
			continue
		}
		changed = true
		jobs := res.IDs
		c.log.Warn("node marked DOWN: no heartbeat", "node", n.Name,
			"last_heartbeat", last.Format(time.RFC3339), "jobs_affected", jobs)
	}
	return changed
}

// checkTimeLimits asks running jobs past their time limit to stop, ending
// TIMEOUT.
func (c *Controller) checkTimeLimits(ctx context.Context, jobs []*api.Job, cfg *api.ClusterConfig, now time.Time) {
	for _, j := range jobs {
		if j.State != api.JobRunning || j.Kill != nil || j.StartTime == 0 {
			continue
		}
		p, _ := cfg.Partition(j.Partition)
		limit := j.Spec.TimeLimitIn(p)
		if api.Unlimited(limit) || j.StartTime+limit > now.Unix() {
			continue
		}
		kill := api.KillRequest{State: api.JobTimeout, Reason: api.ReasonTimeLimit, RequestedAt: now.Unix()}
		if _, err := c.apply(ctx, raftstore.KillJob{Now: now.Unix(), ID: j.ID, Kill: kill}); err != nil {
			c.log.Warn("cannot stop job at its time limit", "job", j.ID, "err", err)
			continue
		}
		c.log.Info("job reached its time limit", "job", j.ID, "limit", api.FormatDuration(limit))
	}
}

// schedule runs the scheduler and commits the plan when it starts a job or
// changes a pending job's reason or priority. Only the pending entries that
// differ from the jobs' current values are sent. It returns the time spent
// making the plan, not the wait for its commit.
func (c *Controller) schedule(ctx context.Context, in sched.Input) (computed time.Duration) {
	jobs := in.Jobs
	c.preempt.observe(jobs)
	start := time.Now()
	plan := c.cfg.Scheduler.Schedule(in)
	took := time.Since(start)
	c.metrics.schedPass.Observe(took.Seconds())
	c.metrics.passes.record(plan.Stats, took, time.Now())

	byID := make(map[api.JobID]*api.Job, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
	}
	// A priority that changed alone (age, fair share) is written with the
	// others every priorityRewrite; a new reason or expected start, or a
	// job's first priority, at once.
	now := c.now()
	rewrite := now.Sub(c.prioritiesWrittenAt) >= priorityRewrite || now.Before(c.prioritiesWrittenAt)
	pending := plan.Pending[:0]
	for _, p := range plan.Pending {
		j := byID[p.JobID]
		if j == nil || j.Reason != p.Reason || j.ExpectedStart != p.ExpectedStart ||
			j.Priority != p.Priority && (rewrite || j.Priority == 0) {
			pending = append(pending, p)
		}
	}
	plan.Pending = pending
	computed = time.Since(start)
	if len(plan.Starts) == 0 && len(plan.Preemptions) == 0 && len(plan.Pending) == 0 {
		return computed
	}
	res, err := c.apply(ctx, raftstore.ApplyPlan{Plan: plan})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cannot commit plan", "err", err)
		}
		return computed
	}
	if rewrite {
		c.prioritiesWrittenAt = now
	}
	started := res.IDs
	if len(plan.Preemptions) > 0 || len(started) > 0 {
		st := c.store.State()
		c.preempt.committed(c.metrics, st, &plan, started)
		c.metrics.observeStarts(st, &in.Config, started)
	}
	if len(plan.Preemptions) > 0 {
		c.log.Info("plan preempts jobs", "preemptions", plan.Preemptions)
	}
	if len(started) > 0 || len(plan.Starts) > 0 {
		// The IDs only at debug level: a pass at 10,000 nodes starts
		// thousands of jobs, and a line listing them all cost more than the
		// rest of the pass's logging.
		c.log.Info("plan committed", "starts", len(plan.Starts), "started", len(started), "pending_updates", len(plan.Pending))
		c.log.Debug("jobs started", "ids", started)
	}
	if len(started) < len(plan.Starts) {
		c.log.Warn("plan starts rejected at apply", "planned", len(plan.Starts), "applied", len(started))
	}
	return computed
}

// expireJobs garbage-collects finished jobs older than the retention time;
// it commits only when there is one.
func (c *Controller) expireJobs(ctx context.Context) {
	st := c.store.State()
	cfg := st.Config()
	now := c.now()
	before := now.Add(-jobRetention(&cfg)).Unix()
	expired := false
	for _, j := range st.RetainedJobsShared() { // read only: no copies
		if j.State.Final() && j.EndTime < before {
			expired = true
			break
		}
	}
	if !expired {
		return
	}
	res, err := c.apply(ctx, raftstore.ExpireJobs{Now: now.Unix(), Before: before})
	if err != nil {
		c.log.Warn("cannot expire old jobs", "err", err)
		return
	}
	c.log.Info("expired finished jobs", "count", res.Count)
}
