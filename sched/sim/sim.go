// Package sim replays workload traces through the production scheduler
// (sched.New) on virtual time, and measures what the HPC scheduling
// literature measures: waits, turnaround, bounded slowdown, utilization,
// per-account usage against share, fairness, preemptions and the work they
// cost.
//
// The simulator is a discrete-event loop. Its events are job arrivals (at
// their trace submit times), job ends (start plus the trace run time, or the
// time limit if shorter) and the end of a preempted job's grace time. At
// every instant at which something happened it runs one scheduling pass,
// sched.Scheduler.Schedule, on the active jobs, and applies the plan with
// the controller's own plan-apply model (planapply.Apply on a
// planapply.Mem): starts are verified and take their allocation, preempted
// jobs are asked to stop (with their QOS's or partition's grace time,
// requeued unless --no-requeue or preempt mode cancel) and leave their nodes
// when their grace time is over (requeued, keeping their submit time),
// pending jobs take the pass's reason and expected start. Fair-share usage accrues and decays between
// events as in the controller. The policies (fcfs, sjf, easy,
// conservative, fairway, static) are settings of that one scheduler.
//
// Jobs that the scheduler says can never start on the cluster (for example
// more GPUs than a static partition holds) are taken out of the replay and
// counted by reason, like the jobs the trace reader and trace.Filter drop.
package sim

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/eventq"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/fairway-hpc/fairway/sched/forecast"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// simJob is a job during the replay.
type simJob struct {
	tj        trace.Job
	job       *api.Job
	work      int64 // run time still to do
	runEnd    int64 // virtual time the current run ends by itself
	firstSt   int64
	started   bool
	backfill  bool
	preempts  int
	lost      int64
	heldSecs  int64
	res       Resources
	acctIdx   int
	dropped   bool
	finished  bool
	endState  api.JobState
	endTime   int64
	runSerial int   // bumped at every start, to spot stale events
	ckpt      int64 // checkpoint interval (see Options.CheckpointMix)
}

// evKind is a timed event's kind.
type evKind uint8

const (
	evEnd  evKind = iota // a run ends by itself
	evStop               // a preempted run's grace is over
)

type timedEvent struct {
	at     int64
	kind   evKind
	j      *simJob
	serial int
	seq    int64
}

// eventBefore orders the timed events: by time, ends before stops, then in
// the order they were pushed.
func eventBefore(a, b timedEvent) bool {
	return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.kind, b.kind), cmp.Compare(a.seq, b.seq)) < 0
}

// Run replays the jobs and returns the result. It stops early, with an
// error, when ctx is cancelled.
func Run(ctx context.Context, opt Options) (*Result, error) {
	wallStart := time.Now()
	if len(opt.Jobs) == 0 {
		return nil, fmt.Errorf("replay: no jobs")
	}
	cfg, err := PolicyConfig(opt.Policy, opt.Config)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r := &runner{opt: opt, cfg: cfg, sched: opt.Scheduler, nodes: opt.Cluster.apiNodes(), events: eventq.New(eventBefore), usage: map[string]float64{}, rate: map[string]float64{}}
	if r.sched == nil {
		r.sched = sched.New()
	}
	if opt.EstimateEvery > 0 && opt.EstimateReplays <= 0 {
		opt.EstimateReplays = forecast.DefaultReplays
	}
	r.opt = opt
	r.res = &Result{Policy: opt.Policy, Dropped: trace.Counts{}, Stats: Stats{PreemptionsByReason: map[string]int{}},
		EstimateEvery: opt.EstimateEvery, EstimateReplays: opt.EstimateReplays, EstimateArrivalsSecs: opt.EstimateArrivalsSecs}
	r.estIdx = map[api.JobID]int{}
	r.res.CPUs, r.res.GPUs = opt.Cluster.Capacity()
	r.res.GPUCluster = r.res.GPUs > 0
	r.jobPart = func(string) string { return PartitionName }
	if opt.Policy == PolicyStatic {
		if err := r.staticPartitions(); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	r.state = planapply.NewMem(&r.cfg, r.nodes)
	r.build()
	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	r.finish()
	r.res.Stats.Wall = time.Since(wallStart)
	return r.res, nil
}

type runner struct {
	opt     Options
	cfg     api.ClusterConfig
	sched   sched.Scheduler
	nodes   []*api.Node
	state   *planapply.Mem // the jobs that arrived, as the plan applier sees them
	jobs    []*simJob      // by arrival (ID - 1)
	active  []*simJob      // pending and running, by ID
	pending int
	now     int64 // virtual unix time
	usageAt int64
	usage   map[string]float64
	rate    map[string]float64 // billing rate per association of the running jobs
	events  *eventq.Queue[timedEvent]
	seq     int64
	next    int // next arrival index
	done    int
	res     *Result
	jobPart func(account string) string
	// arrived are the jobs that arrived at now (settle).
	arrived []*simJob
	// finishedJobs are the jobs that finished, for the estimates' history
	// model; estIdx indexes Result.Estimates by job.
	finishedJobs []*api.Job
	estIdx       map[api.JobID]int
	// time series
	held       []int // per account, what its running jobs hold
	want       []int // per account, what its pending jobs ask for
	busyCPU    int
	busyGPU    int
	sampleNext int64
	sampleStep int64
}

// build turns the trace jobs into api jobs (IDs in arrival order) and sets
// up accounts and the sampling step.
func (r *runner) build() {
	r.jobs = make([]*simJob, len(r.opt.Jobs))
	for i, tj := range r.opt.Jobs {
		acct := DefaultAccount
		if r.opt.Account != nil {
			acct = cmp.Or(r.opt.Account(tj), DefaultAccount)
		}
		spec := r.opt.Cluster.Spec(tj, acct)
		spec.Partitions = []string{r.jobPart(acct)}
		if r.opt.Priority != nil {
			spec.Priority = r.opt.Priority(tj)
		}
		j := &api.Job{ID: api.JobID(i + 1), Spec: spec, State: api.JobPending, Partition: spec.Partitions[0],
			SubmitTime: Epoch + tj.Submit, Reason: api.ReasonNone}
		r.jobs[i] = &simJob{tj: tj, job: j, work: tj.Run, firstSt: -1, ckpt: checkpointInterval(r.opt, j.ID)}
	}
	r.res.Accounts = accountsOf(r.jobs)
	idx := map[string]int{}
	for i, a := range r.res.Accounts {
		idx[a] = i
	}
	for _, sj := range r.jobs {
		sj.acctIdx = idx[sj.job.Spec.Account]
	}
	r.res.Shares = make([]float64, len(r.res.Accounts))
	if r.res.GPUs > 0 {
		for i, a := range r.res.Accounts {
			for _, ac := range r.opt.Config.Accounts {
				if ac.Name == a {
					r.res.Shares[i] = float64(ac.Guarantees[PartitionName]) / float64(r.res.GPUs)
				}
			}
		}
	}
	r.held = make([]int, len(r.res.Accounts))
	r.want = make([]int, len(r.res.Accounts))
	first, last := r.opt.Jobs[0].Submit, r.opt.Jobs[len(r.opt.Jobs)-1].Submit
	r.sampleStep = r.opt.SampleSecs
	if r.sampleStep <= 0 {
		r.sampleStep = max((last-first)/1500, 1)
	}
	r.sampleNext = Epoch + first
	r.res.SampleStep = r.sampleStep
}

// staticPartitions splits the nodes among the accounts with guarantees, in
// proportion to their guarantees (largest remainder), one partition each;
// jobs of an account run only in its partition.
func (r *runner) staticPartitions() error {
	var names []string
	var weights []float64
	for _, a := range r.opt.Config.Accounts {
		if g := a.Guarantees[PartitionName]; g > 0 {
			names = append(names, a.Name)
			weights = append(weights, float64(g))
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("policy static needs accounts with guarantees in partition %s", PartitionName)
	}
	counts := Apportion(len(r.nodes), weights)
	parts := map[string]string{}
	k := 0
	for i, name := range names {
		p := api.Partition{Name: "static-" + name, PreemptMode: api.PreemptOff}
		for range counts[i] {
			p.Nodes = append(p.Nodes, r.nodes[k].Name)
			k++
		}
		r.cfg.Partitions = append(r.cfg.Partitions, p)
		parts[name] = p.Name
	}
	r.jobPart = func(acct string) string { return cmp.Or(parts[acct], PartitionName) }
	return nil
}

// Apportion splits total into parts proportional to weights by the largest
// remainder method; the parts add up to total.
func Apportion(total int, weights []float64) []int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	if sum <= 0 {
		return out
	}
	type rem struct {
		i int
		r float64
	}
	var rems []rem
	given := 0
	for i, w := range weights {
		q := float64(total) * w / sum
		out[i] = int(math.Floor(q))
		given += out[i]
		rems = append(rems, rem{i, q - math.Floor(q)})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for k := 0; given < total; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

func (r *runner) push(at int64, kind evKind, j *simJob) {
	r.seq++
	r.events.Push(timedEvent{at: at, kind: kind, j: j, serial: j.runSerial, seq: r.seq})
}

// loop is the discrete-event loop.
func (r *runner) loop(ctx context.Context) error {
	total := len(r.jobs)
	r.now = r.jobs[0].job.SubmitTime
	r.usageAt = r.now
	lastReport := -1
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay stopped at t=%d: %w", r.now-Epoch, err)
		}
		r.sample(false)
		changed := r.settle()
		if changed && r.pending > 0 {
			r.pass()
		}
		if r.opt.EstimateEvery > 0 && len(r.arrived) > 0 {
			if err := r.estimateArrivals(ctx, r.arrived); err != nil {
				return fmt.Errorf("replay at t=%d: %w", r.now-Epoch, err)
			}
		}
		r.sample(true)
		if r.opt.Progress != nil && r.done/max(total/200, 1) != lastReport {
			lastReport = r.done / max(total/200, 1)
			r.opt.Progress(r.done, total)
		}
		next, ok := r.nextEvent()
		if !ok {
			break
		}
		r.advance(next)
	}
	if r.opt.Progress != nil {
		r.opt.Progress(r.done, total)
	}
	// Jobs still pending with nothing left to happen can never start.
	for _, sj := range r.active {
		if sj.job.State == api.JobPending && !sj.dropped {
			sj.dropped = true
			r.res.Dropped.Add("never started: " + cmp.Or(sj.job.Reason, "no event left"))
		}
	}
	return nil
}

// nextEvent is the time of the next arrival or timed event.
func (r *runner) nextEvent() (int64, bool) {
	next, ok := int64(math.MaxInt64), false
	if r.next < len(r.jobs) {
		next, ok = r.jobs[r.next].job.SubmitTime, true
	}
	if e, queued := r.events.Peek(); queued && e.at < next {
		next, ok = e.at, true
	}
	return next, ok
}

// advance moves virtual time to t, accruing fair-share usage.
func (r *runner) advance(t int64) {
	if dt := t - r.usageAt; dt > 0 {
		fairshare.Accrue(r.usage, r.rate, dt, r.cfg.Scheduling)
		r.usageAt = t
	}
	r.now = t
}

// settle applies everything due at now: run ends, stops and arrivals. It
// reports whether anything happened.
func (r *runner) settle() bool {
	changed := false
	r.arrived = r.arrived[:0]
	for e, ok := r.events.Peek(); ok && e.at <= r.now; e, ok = r.events.Peek() {
		ev, _ := r.events.Pop()
		sj := ev.j
		if ev.serial != sj.runSerial || sj.job.State != api.JobRunning {
			continue
		}
		r.res.Stats.Events++
		changed = true
		switch ev.kind {
		case evEnd:
			r.end(sj)
		case evStop:
			r.stop(sj)
		}
	}
	for r.next < len(r.jobs) && r.jobs[r.next].job.SubmitTime <= r.now {
		sj := r.jobs[r.next]
		r.next++
		r.put(sj, sj.job)
		r.active = append(r.active, sj)
		r.addPending(sj, 1)
		r.arrived = append(r.arrived, sj)
		r.res.Stats.Events++
		changed = true
	}
	return changed
}

// put stores a new version of a job's record.
func (r *runner) put(sj *simJob, j *api.Job) {
	if err := r.state.PutJob(j); err != nil {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("t=%d store job %d: %v", r.now-Epoch, j.ID, err))
	}
	sj.job = j
}

// update stores a changed copy of a job's record.
func (r *runner) update(sj *simJob, change func(j *api.Job)) {
	nj := *sj.job
	change(&nj)
	r.put(sj, &nj)
}

// release accounts for a running job leaving its nodes; the caller stores
// its new state.
func (r *runner) release(sj *simJob) {
	j := sj.job
	r.heldSecs(sj)
	r.busyCPU -= sj.res.CPUs
	r.busyGPU -= sj.res.GPUs
	r.held[sj.acctIdx] -= r.accountAmount(sj.res)
	k := api.AssocKey(j.Spec.Account, j.Spec.User)
	r.rate[k] -= fairshare.Billing(r.cfg.Scheduling.BillingWeights, j.Alloc, nil)
	if r.rate[k] <= 1e-9 {
		delete(r.rate, k)
	}
}

func (r *runner) heldSecs(sj *simJob) {
	sj.heldSecs += r.now - sj.job.StartTime
}

// accountAmount is what counts for per-account usage: GPUs on a GPU
// cluster, CPUs otherwise.
func (r *runner) accountAmount(res Resources) int {
	if r.res.GPUCluster {
		return res.GPUs
	}
	return res.CPUs
}

// end finishes a run that ended by itself (completed, or reached its
// limit).
func (r *runner) end(sj *simJob) {
	j := sj.job
	ran := r.now - j.StartTime
	r.release(sj)
	sj.work -= ran
	state := api.JobCompleted
	if sj.work > 0 {
		state = api.JobTimeout
	}
	r.update(sj, func(j *api.Job) {
		j.State, j.EndTime, j.Alloc, j.Kill = state, r.now, nil, nil
		endRun(j, r.now, state)
	})
	sj.finished, sj.endState, sj.endTime = true, state, r.now
	r.finishedJobs = append(r.finishedJobs, sj.job)
	r.done++
}

// stop ends a preempted run at the end of its grace time: the job is
// requeued, keeping its submit time, with the work it saved.
func (r *runner) stop(sj *simJob) {
	j := sj.job
	ran := r.now - j.StartTime
	requeue := j.Kill.Requeue
	r.release(sj)
	saved := int64(0)
	switch c := sj.ckpt; {
	case c < 0:
		saved = ran
	case c > 0:
		saved = ran / c * c
	}
	saved = min(saved, sj.work)
	sj.lost += ran - saved
	sj.work -= saved
	if !requeue {
		end := j.Kill.State
		r.update(sj, func(j *api.Job) {
			j.State, j.EndTime, j.Alloc, j.Kill = end, r.now, nil, nil
			endRun(j, r.now, end)
		})
		sj.finished, sj.endState, sj.endTime = true, end, r.now
		r.done++
		return
	}
	r.update(sj, func(j *api.Job) {
		endRun(j, r.now, api.JobRequeued)
		j.State, j.Reason, j.RestartCount = api.JobPending, api.ReasonRequeued, j.RestartCount+1
		j.StartTime, j.ExpectedStart, j.Alloc, j.Kill = 0, 0, nil, nil
	})
	r.addPending(sj, 1)
}

// addPending counts a job into (d = 1) or out of (d = -1) the pending
// jobs.
func (r *runner) addPending(sj *simJob, d int) {
	r.pending += d
	s := &sj.job.Spec
	nodes := max(s.Nodes, 1)
	amt := nodes * s.GPUs
	if !r.res.GPUCluster {
		amt = nodes * s.TotalCPUsPerNode()
	}
	r.want[sj.acctIdx] += d * amt
}

// pass runs one scheduling pass and applies its plan.
func (r *runner) pass() {
	// Compact the active list (finished and dropped jobs leave it).
	act := r.active[:0]
	in := make([]*api.Job, 0, len(r.active))
	periodic := r.opt.CheckpointSecs > 0 || slices.ContainsFunc(r.opt.CheckpointMix, func(c int64) bool { return c > 0 })
	for _, sj := range r.active {
		if sj.finished || sj.dropped {
			continue
		}
		if periodic {
			r.checkpoint(sj)
		}
		act = append(act, sj)
		in = append(in, sj.job)
	}
	clear(r.active[len(act):])
	r.active = act
	r.res.Stats.MaxPending = max(r.res.Stats.MaxPending, r.pending)
	input := sched.Input{Now: r.now, Config: r.cfg, Nodes: r.nodes, Jobs: in, Usage: maps.Clone(r.usage)}
	t0 := time.Now()
	plan := r.sched.Schedule(input)
	r.res.Stats.PassTime += time.Since(t0)
	r.res.Stats.Passes++
	r.apply(plan)
}

// byID finds an active job by ID (the active list is in ID order).
func (r *runner) byID(id api.JobID) *simJob {
	if id < 1 || int(id) > len(r.jobs) {
		return nil
	}
	return r.jobs[id-1]
}

// neverReasons are pending reasons that mean a job can never start on
// this cluster.
var neverReasons = map[string]bool{
	sched.ReasonBadConstraints: true, sched.ReasonPartitionNodeLimit: true, sched.ReasonPartitionConfig: true,
	api.ReasonPartitionLimit: true,
}

// apply applies a plan with the controller's plan-apply model and does the
// replay's bookkeeping for what it did.
func (r *runner) apply(p api.Plan) {
	res, err := planapply.Apply(r.state, &p)
	if err != nil {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("t=%d apply: %v", r.now-Epoch, err))
	}
	for _, sk := range res.Skipped {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("t=%d preemption of job %d: %s", r.now-Epoch, sk.JobID, sk.Why))
	}
	for _, d := range res.Dropped {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("t=%d start of job %d: %s", r.now-Epoch, d.JobID, d.Why))
	}
	for _, pr := range p.Preemptions {
		if !slices.Contains(res.Preempted, pr.JobID) {
			continue
		}
		sj := r.byID(pr.JobID)
		sj.job = r.state.Job(pr.JobID)
		sj.preempts++
		r.res.Stats.PreemptionsByReason[pr.Reason]++
		if stopAt := planapply.StopDeadline(sj.job.Kill); stopAt < sj.runEnd {
			r.push(stopAt, evStop, sj)
		}
	}
	started := make([]*simJob, 0, len(res.Started))
	for _, id := range res.Started {
		sj := r.byID(id)
		if sj == nil {
			r.res.Errors = append(r.res.Errors, fmt.Sprintf("t=%d start of job %d: not a job of the trace", r.now-Epoch, id))
			continue
		}
		sj.job = r.state.Job(id)
		r.start(sj)
		started = append(started, sj)
	}
	// A job started while a job ahead of it in the queue's static order
	// (arrival; for sjf, requested time then arrival) was left waiting
	// for resources in the same partition was backfilled.
	var blockers []*simJob
	for _, pi := range p.Pending {
		sj := r.byID(pi.JobID)
		if sj == nil {
			continue
		}
		sj.job = r.state.Job(pi.JobID)
		if sj.job == nil || sj.job.State != api.JobPending {
			continue
		}
		if neverReasons[pi.Reason] {
			sj.dropped = true
			r.addPending(sj, -1)
			r.res.Dropped.Add("cannot run on the cluster (" + pi.Reason + ")")
			continue
		}
		if pi.Reason == api.ReasonResources || pi.Reason == api.ReasonPriority {
			blockers = append(blockers, sj)
		}
	}
	for _, sj := range started {
		if sj.job.RestartCount > 0 {
			continue
		}
		for _, b := range blockers {
			if b.job.Partition == sj.job.Partition && r.ahead(b, sj) {
				sj.backfill = true
				break
			}
		}
	}
}

// ahead reports whether a comes before b in the queue's static order:
// arrival, or for sjf requested time then arrival.
func (r *runner) ahead(a, b *simJob) bool {
	if r.opt.Policy == PolicySJF {
		if c := cmp.Compare(a.job.Spec.TimeLimitSecs, b.job.Spec.TimeLimitSecs); c != 0 {
			return c < 0
		}
	}
	return a.job.ID < b.job.ID
}

// start does the replay's bookkeeping for a job the plan started.
func (r *runner) start(sj *simJob) {
	j := sj.job
	sj.runSerial++
	if !sj.started {
		sj.started, sj.firstSt = true, r.now
	}
	sj.res = held(j.Alloc)
	r.busyCPU += sj.res.CPUs
	r.busyGPU += sj.res.GPUs
	r.held[sj.acctIdx] += r.accountAmount(sj.res)
	k := api.AssocKey(j.Spec.Account, j.Spec.User)
	r.rate[k] += fairshare.Billing(r.cfg.Scheduling.BillingWeights, j.Alloc, nil)
	run := sj.work
	if !api.Unlimited(j.TimeLimitSecs) {
		run = min(run, j.TimeLimitSecs)
	}
	sj.runEnd = r.now + run
	r.push(sj.runEnd, evEnd, sj)
	r.addPending(sj, -1)
}

// sample records the time series: a sample every sampleStep seconds of
// virtual time, each the state in force at its instant. Called before the
// events at now are applied it records the instants before now (through is
// false); called after, the instant now itself (through is true).
func (r *runner) sample(through bool) {
	for r.sampleNext < r.now || through && r.sampleNext == r.now {
		r.res.Samples = append(r.res.Samples, Sample{Time: r.sampleNext - Epoch, CPUs: r.busyCPU, GPUs: r.busyGPU,
			Pending: r.pending, ByAccount: slices.Clone(r.held), WantByAccount: slices.Clone(r.want)})
		r.sampleNext += r.sampleStep
	}
}

// finish collects the per-job results.
func (r *runner) finish() {
	for _, sj := range r.jobs {
		if sj.dropped || !sj.finished {
			if !sj.dropped && !sj.finished {
				r.res.Dropped.Add("never started")
			}
			continue
		}
		j := sj.job
		jr := JobResult{Trace: sj.tj, ID: j.ID, Account: j.Spec.Account, User: j.Spec.User,
			Nodes: max(j.Spec.Nodes, 1), CPUs: sj.res.CPUs, GPUs: sj.res.GPUs, Limit: j.Spec.TimeLimitSecs,
			Start: sj.firstSt - Epoch, End: sj.endTime - Epoch, State: sj.endState, Backfilled: sj.backfill,
			Preemptions: sj.preempts, LostSecs: sj.lost, HeldSecs: sj.heldSecs}
		r.res.Jobs = append(r.res.Jobs, jr)
		if i, ok := r.estIdx[j.ID]; ok {
			r.res.Estimates[i].Start = jr.Start
		}
	}
}
