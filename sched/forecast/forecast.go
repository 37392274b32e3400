// Package forecast replays the live queue forward through the production
// scheduler on virtual time to estimate when pending jobs will start, and to
// compare configurations (what-if). It is pure like sched: no I/O, no clock.
//
// # One replay
//
// A replay copies the snapshot's active jobs into a planapply.Mem (the
// controller's own plan-apply model, as the trace simulator and the
// scheduler's test driver use it) and moves virtual time forward from
// Snapshot.Now. Its events are the ends of running jobs, the ends of jobs
// it started, the ends of the grace periods of jobs being stopped (they
// leave their nodes then, requeued or ended, as planapply.KillFor decided)
// and the begin times of pending jobs. At Now and at each event instant it
// runs one pass of sched.New() on the active jobs and applies the plan with
// planapply.Apply. Without Options.Arrivals no job arrives: only today's
// queue is replayed. With it, jobs keep arriving as a Poisson process at
// the rate of the recent submissions, each a copy of one of them (see
// ArrivalModel), up to Options.MaxArrivals per replay and not past the
// horizon; their arrivals are events too. They are not estimated: they
// compete with the jobs that are, as later submissions with a better
// fair-share factor, priority or guarantee do on the live cluster.
// Fair-share usage accrues and decays between events as in the controller.
//
// A job's run time is sampled from a RuntimeModel as a fraction of its time
// limit: for a running job, its total run time conditioned on being longer
// than what it already ran, capped at its limit; for a job started in the
// replay, a fresh sample. Each sample is drawn from a PCG stream seeded by
// (Options.Seed, the replay's number, the job, its run), so a forecast is
// repeatable and two replays with the same number see the same run times
// whatever order jobs start in (what WhatIf relies on). A job that ends in
// the replay ends COMPLETED (dependencies on it are satisfied).
//
// Virtual time is coarsened (Options.Resolution): an event at offset d from
// Now is handled at the next multiple of a round step of at most d/16, so a
// replay runs a bounded number of passes per doubling of its time; the
// passes, not the events, are what a replay costs (a pass on 1,500 jobs
// takes milliseconds). Each event is handled at most a sixteenth of its
// offset late; a start behind a chain of ends (a job that starts when one
// that started in the replay ends) can add up these delays.
//
// A replay stops at the horizon, after MaxPasses passes, when every job it
// tracks has started, or when nothing is left to happen. The first start of
// each pending job (of an array record, its first task) is recorded;
// Estimate's P50 and P90 are nearest-rank percentiles over the replays,
// with a replay in which the job did not start before the horizon counting
// as later than any start.
package forecast

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/eventq"
	"github.com/fairway-hpc/fairway/sched/fairshare"
	"github.com/fairway-hpc/fairway/sched/planapply"
)

// Snapshot is the cluster at one instant: what a replay starts from.
type Snapshot struct {
	// Now is the snapshot's time (unix seconds, the leader's clock).
	Now int64
	// Config is the cluster configuration.
	Config api.ClusterConfig
	// Nodes are the registered nodes.
	Nodes []*api.Node
	// Jobs are the active jobs (pending, array records, running). They are
	// not modified.
	Jobs []*api.Job
	// Usage is the decayed fair-share usage per leaf (api.AssocKey).
	Usage map[string]float64
	// Lookup finds any retained job (dependencies); nil: only Jobs.
	Lookup func(id api.JobID) (*api.Job, bool)
}

// Options bound a forecast.
type Options struct {
	// Replays is the number of sampled replays (default 20).
	Replays int
	// Seed seeds the run-time sampling, so that a forecast is repeatable.
	Seed uint64
	// HorizonSecs is how far past Now a replay goes (default a week).
	HorizonSecs int64
	// MaxPasses caps the scheduling passes of one replay (default
	// DefaultMaxPasses); jobs not started when a replay reaches it count
	// as not started before the horizon.
	MaxPasses int
	// Resolution coarsens virtual time to bound the passes: an event at
	// offset d from Now is handled at the next multiple of a round step
	// (1, 5, 10, 30 s, 1, 5, 10, 30 min, 1, 2, 6 h) of at most
	// d/Resolution (a start behind a chain of ends can add up these
	// delays). 0: DefaultResolution; negative: exact event times.
	Resolution int
	// Workers is how many replays run at once (default 1). Snapshot.Lookup
	// must then be safe for concurrent use. The result does not depend on
	// it.
	Workers int
	// Jobs, when set, are the pending jobs to estimate (and to track in
	// each replay, which stops once they all started); nil: every pending
	// job.
	Jobs []api.JobID
	// Arrivals, when set, makes jobs keep arriving in each replay after
	// Now, as the recent past did (see ArrivalModel): they are not
	// estimated, they compete with the jobs that are. Nil: no job arrives,
	// only the snapshot's queue is replayed.
	Arrivals *ArrivalModel
	// MaxArrivals caps the jobs one replay makes arrive (default
	// DefaultMaxArrivals); arrivals past the horizon are never made.
	MaxArrivals int
}

// Defaults of Options.
const (
	DefaultReplays     = 20
	DefaultHorizonSecs = 7 * 24 * 3600
	DefaultMaxPasses   = 5000
	DefaultResolution  = 16
)

// steps are the round steps virtual time is coarsened to.
var steps = [...]int64{1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600}

// coarsen returns the time an event at t is handled: t itself with exact
// times, else the next multiple (from now) of the largest round step of
// at most (t-now)/res.
func coarsen(now, t int64, res int) int64 {
	d := t - now
	if res < 0 || d <= 0 {
		return t
	}
	step := int64(1)
	for _, s := range steps {
		if s*int64(res) <= d {
			step = s
		}
	}
	return now + (d+step-1)/step*step
}

func (o Options) withDefaults() Options {
	if o.Replays <= 0 {
		o.Replays = DefaultReplays
	}
	if o.HorizonSecs <= 0 {
		o.HorizonSecs = DefaultHorizonSecs
	}
	if o.MaxPasses <= 0 {
		o.MaxPasses = DefaultMaxPasses
	}
	if o.Resolution == 0 {
		o.Resolution = DefaultResolution
	}
	if o.MaxArrivals <= 0 {
		o.MaxArrivals = DefaultMaxArrivals
	}
	return o
}

// RuntimeModel samples a job's actual run time.
type RuntimeModel interface {
	// Fraction returns a sample of the job's run time as a fraction of
	// its time limit, in (0, 1], given u uniform in [0, 1).
	Fraction(j *api.Job, u float64) float64
}

// ConditionalModel is a RuntimeModel that can also sample a running job's
// run time given what it already ran. Models that are not one are
// conditioned by rejection (a few tries, then the job runs to its limit).
type ConditionalModel interface {
	RuntimeModel
	// FractionAbove returns a sample of the job's run time as a fraction
	// of its time limit, conditioned on being more than above (in [0,
	// 1)), given u uniform in [0, 1); 1 when the model knows no longer
	// run.
	FractionAbove(j *api.Job, above, u float64) float64
}

// Estimate replays snap forward opt.Replays times and returns the start
// range of every pending job (array records: their next task), or of
// opt.Jobs.
func Estimate(ctx context.Context, snap Snapshot, model RuntimeModel, opt Options) (map[api.JobID]api.StartEstimate, error) {
	opt = opt.withDefaults()
	track := pendingJobs(snap.Jobs)
	if opt.Jobs != nil {
		track = slices.DeleteFunc(track, func(id api.JobID) bool { return !slices.Contains(opt.Jobs, id) })
	}
	starts := make(map[api.JobID][]int64, len(track))
	runs, err := replays(ctx, snap, []api.ClusterConfig{snap.Config}, model, opt, track)
	if err != nil {
		return nil, err
	}
	for i := range opt.Replays {
		got := runs[i][0]
		for _, id := range track {
			at, ok := got[id]
			if !ok {
				at = math.MaxInt64
			}
			starts[id] = append(starts[id], at)
		}
	}
	horizon := snap.Now + opt.HorizonSecs
	out := make(map[api.JobID]api.StartEstimate, len(track))
	for _, id := range track {
		s := starts[id]
		slices.Sort(s)
		e := api.StartEstimate{MadeAt: snap.Now, Horizon: horizon, Replays: opt.Replays,
			P50: percentile(s, 0.5), P90: percentile(s, 0.9)}
		for _, at := range s {
			if at != math.MaxInt64 {
				e.Started++
			}
		}
		out[id] = e
	}
	return out, nil
}

// percentile is the nearest-rank percentile of sorted starts, 0 when it is
// a replay without a start.
func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	v := sorted[min(max(k, 0), len(sorted)-1)]
	if v == math.MaxInt64 {
		return 0
	}
	return v
}

// pendingJobs returns the IDs of the pending jobs (array records with
// pending tasks included), in ID order.
func pendingJobs(jobs []*api.Job) []api.JobID {
	var out []api.JobID
	for _, j := range jobs {
		if j.State == api.JobPending && (!j.IsArrayRecord() || len(j.ArrayPending) > 0) {
			out = append(out, j.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WhatIf replays snap under its own configuration and under proposed and
// compares the waits of today's pending jobs per account.
func WhatIf(ctx context.Context, snap Snapshot, model RuntimeModel, proposed api.ClusterConfig, opt Options) (api.WhatIfResult, error) {
	opt = opt.withDefaults()
	track := pendingJobs(snap.Jobs)
	acctOf := map[api.JobID]string{}
	for _, j := range snap.Jobs {
		acctOf[j.ID] = cmp.Or(j.Spec.Account, snap.Config.DefaultAccount, api.RootAccount)
	}
	type waits struct {
		all       [2][]float64
		unstarted [2]int
		jobs      int
	}
	per := map[string]*waits{}
	for _, id := range track {
		w := per[acctOf[id]]
		if w == nil {
			w = &waits{}
			per[acctOf[id]] = w
		}
		w.jobs++
	}
	runs, err := replays(ctx, snap, []api.ClusterConfig{snap.Config, proposed}, model, opt, track)
	if err != nil {
		return api.WhatIfResult{}, err
	}
	for i := range opt.Replays {
		for c := range 2 {
			got := runs[i][c]
			for _, id := range track {
				w := per[acctOf[id]]
				at, ok := got[id]
				if !ok {
					w.unstarted[c]++
					w.all[c] = append(w.all[c], float64(opt.HorizonSecs))
					continue
				}
				w.all[c] = append(w.all[c], float64(at-snap.Now))
			}
		}
	}
	res := api.WhatIfResult{Now: snap.Now, Replays: opt.Replays, HorizonSecs: opt.HorizonSecs}
	for _, acct := range slices.Sorted(maps.Keys(per)) {
		w := per[acct]
		a := api.AccountWhatIf{Account: acct, Jobs: w.jobs,
			CurrentMeanWait: mean(w.all[0]), ProposedMeanWait: mean(w.all[1]),
			CurrentP90Wait: p90(w.all[0]), ProposedP90Wait: p90(w.all[1]),
			CurrentUnstarted:  float64(w.unstarted[0]) / float64(opt.Replays),
			ProposedUnstarted: float64(w.unstarted[1]) / float64(opt.Replays)}
		res.Accounts = append(res.Accounts, a)
	}
	return res, nil
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// p90 is the nearest-rank 90th percentile.
func p90(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(max(int(math.Ceil(0.9*float64(len(s))))-1, 0), len(s)-1)]
}

// replays runs opt.Replays replays of snap under each of cfgs (replay i
// with the same seed under each), opt.Workers at a time, and returns the
// first starts of the tracked jobs by replay and configuration.
func replays(ctx context.Context, snap Snapshot, cfgs []api.ClusterConfig, model RuntimeModel, opt Options, track []api.JobID) ([][]map[api.JobID]int64, error) {
	out := make([][]map[api.JobID]int64, opt.Replays)
	for i := range out {
		out[i] = make([]map[api.JobID]int64, len(cfgs))
	}
	type task struct{ i, c int }
	tasks := make(chan task)
	errs := make(chan error, max(opt.Workers, 1))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range max(opt.Workers, 1) {
		wg.Go(func() {
			for t := range tasks {
				got, err := replay(ctx, snap, cfgs[t.c], model, opt, t.i, track)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				out[t.i][t.c] = got
			}
		})
	}
feed:
	for i := range opt.Replays {
		for c := range cfgs {
			select {
			case tasks <- task{i, c}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(tasks)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	return out, nil
}

// event kinds of a replay.
const (
	evEnd    = iota // a run ends by itself
	evStop          // a stopped run's grace is over
	evWake          // a begin time: only a pass
	evArrive        // a job of the arrival model arrives
)

type event struct {
	at     int64
	kind   int
	id     api.JobID
	serial int // the job's run serial when pushed
}

// eventBefore orders the events: by time, then kind, then job ID, so that a
// replay is deterministic.
func eventBefore(a, b event) bool {
	return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.kind, b.kind), cmp.Compare(a.id, b.id)) < 0
}

// run is one replay in progress.
type run struct {
	snap    Snapshot
	cfg     api.ClusterConfig
	model   RuntimeModel
	seed    [2]uint64
	state   *planapply.Mem
	active  []api.JobID // pending and running, ID order
	isAct   map[api.JobID]bool
	serial  map[api.JobID]int
	runEnd  map[api.JobID]int64
	events  *eventq.Queue[event]
	usage   map[string]float64
	rate    map[string]float64
	usageAt int64
	now     int64
	passes  int
	// tracked pending jobs not started yet; for array records, the record
	// ID; started maps them to their first start.
	waiting map[api.JobID]bool
	started map[api.JobID]int64
	// arr is the replay's stream of arrivals (nil: none); arrNo numbers
	// the jobs it made (their run times are keyed by it, not by their IDs,
	// which depend on what the replay split off before).
	arr     *arrivals
	arrNo   map[api.JobID]uint64
	horizon int64
	// placed records where each tracked job first started (WillRun).
	placed map[api.JobID]Placement
}

// replay runs replay number n of snap under cfg and returns the first
// start of each tracked job that started before the horizon.
func replay(ctx context.Context, snap Snapshot, cfg api.ClusterConfig, model RuntimeModel, opt Options, n int, track []api.JobID) (map[api.JobID]int64, error) {
	r, err := replayRun(ctx, snap, cfg, model, opt, n, track)
	if err != nil {
		return nil, err
	}
	return r.started, nil
}

// replayRun runs replay number n as replay does and returns it ended.
func replayRun(ctx context.Context, snap Snapshot, cfg api.ClusterConfig, model RuntimeModel, opt Options, n int, track []api.JobID) (*run, error) {
	r := &run{placed: map[api.JobID]Placement{}, snap: snap, events: eventq.New(eventBefore), cfg: cfg, model: model, now: snap.Now, usageAt: snap.Now,
		seed:   [2]uint64{opt.Seed, uint64(n)*0x9e3779b97f4a7c15 + 1},
		serial: map[api.JobID]int{}, runEnd: map[api.JobID]int64{}, isAct: map[api.JobID]bool{},
		usage: maps.Clone(snap.Usage), rate: map[string]float64{},
		waiting: make(map[api.JobID]bool, len(track)), started: map[api.JobID]int64{},
		horizon: snap.Now + opt.HorizonSecs}
	if r.usage == nil {
		r.usage = map[string]float64{}
	}
	for _, id := range track {
		r.waiting[id] = true
	}
	r.state = planapply.NewMem(&r.cfg, snap.Nodes)
	for _, j := range snap.Jobs {
		if j.State != api.JobPending && j.State != api.JobRunning {
			continue
		}
		if err := r.state.PutJob(j); err != nil {
			return nil, fmt.Errorf("forecast: load job %d: %w", j.ID, err)
		}
		r.active = append(r.active, j.ID)
	}
	slices.Sort(r.active)
	r.active = slices.Compact(r.active)
	for _, id := range r.active {
		r.isAct[id] = true
	}
	for _, id := range r.active {
		j := r.state.Job(id)
		switch {
		case j.State == api.JobRunning:
			r.running(j, true)
			if j.Kill != nil {
				r.push(planapply.StopDeadline(j.Kill), evStop, j.ID)
			}
		case j.Spec.BeginTime > r.now:
			r.push(j.Spec.BeginTime, evWake, j.ID)
		}
	}
	if r.arr = newArrivals(opt.Arrivals, r.seed, r.now, r.horizon, opt.MaxArrivals); r.arr != nil {
		r.arrNo = map[api.JobID]uint64{}
		r.push(r.arr.next, evArrive, 0)
	}
	horizon := r.horizon
	for ; r.passes < opt.MaxPasses && len(r.waiting) > 0; r.passes++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("forecast: replay %d stopped at +%ds: %w", n, r.now-snap.Now, err)
		}
		if err := r.pass(); err != nil {
			return nil, fmt.Errorf("forecast: replay %d at +%ds: %w", n, r.now-snap.Now, err)
		}
		r.dropStale()
		first, ok := r.events.Peek()
		if len(r.waiting) == 0 || !ok || first.at > horizon {
			break
		}
		r.advance(min(coarsen(snap.Now, first.at, opt.Resolution), horizon))
		if err := r.settle(); err != nil {
			return nil, fmt.Errorf("forecast: replay %d at +%ds: %w", n, r.now-snap.Now, err)
		}
	}
	return r, nil
}

func (r *run) push(at int64, kind int, id api.JobID) {
	r.events.Push(event{at: at, kind: kind, id: id, serial: r.serial[id]})
}

// sample returns u uniform in [0, 1) for run k of job key: the same in
// every replay with the same seed and number.
func (r *run) sample(j *api.Job) float64 {
	key := uint64(j.ID)
	if k, ok := r.arrNo[j.ID]; ok {
		key = uint64(ArrivalIDBase) + k
	} else if j.IsArrayTask() {
		key = uint64(j.ArrayJobID)<<24 ^ uint64(j.ArrayTaskID+1)
	}
	key = key*0x100000001b3 ^ uint64(j.RestartCount)
	rng := rand.New(rand.NewPCG(r.seed[0]^key*0xbf58476d1ce4e5b9, r.seed[1]^key))
	return rng.Float64()
}

// running takes a running job into account: its end event (sampled) and
// its fair-share charge. At the snapshot (atStart) its run time is
// conditioned on what it already ran.
func (r *run) running(j *api.Job, atStart bool) {
	limit := j.TimeLimitSecs
	if limit <= 0 {
		limit = j.Spec.TimeLimitSecs
	}
	r.serial[j.ID]++
	end := int64(math.MaxInt64)
	if limit > 0 && !api.Unlimited(limit) {
		ran := max(r.now-j.StartTime, 0)
		u := r.sample(j)
		var f float64
		if atStart && ran > 0 {
			f = fractionAbove(r.model, j, float64(ran)/float64(limit), u)
		} else {
			f = r.model.Fraction(j, u)
		}
		f = min(max(f, 0), 1)
		end = j.StartTime + max(int64(math.Ceil(f*float64(limit))), 1)
		end = max(end, r.now+1)
		r.push(end, evEnd, j.ID)
	}
	r.runEnd[j.ID] = end
	k := api.AssocKey(cmp.Or(j.Spec.Account, r.cfg.DefaultAccount, api.RootAccount), j.Spec.User)
	r.rate[k] += fairshare.Billing(r.cfg.Scheduling.BillingWeights, j.Alloc, nil)
}

// fractionAbove samples a fraction above above: the model's own
// conditional sampling, else rejection.
func fractionAbove(m RuntimeModel, j *api.Job, above, u float64) float64 {
	if above >= 1 {
		return 1
	}
	if c, ok := m.(ConditionalModel); ok {
		return c.FractionAbove(j, above, u)
	}
	rng := rand.New(rand.NewPCG(math.Float64bits(u), 1))
	for range 16 {
		if f := m.Fraction(j, rng.Float64()); f > above {
			return f
		}
	}
	return 1
}

// release takes a running job's fair-share charge off.
func (r *run) release(j *api.Job) {
	k := api.AssocKey(cmp.Or(j.Spec.Account, r.cfg.DefaultAccount, api.RootAccount), j.Spec.User)
	r.rate[k] -= fairshare.Billing(r.cfg.Scheduling.BillingWeights, j.Alloc, nil)
	if r.rate[k] <= 1e-9 {
		delete(r.rate, k)
	}
}

// advance moves virtual time to t, accruing fair-share usage.
func (r *run) advance(t int64) {
	if dt := t - r.usageAt; dt > 0 {
		fairshare.Accrue(r.usage, r.rate, dt, r.cfg.Scheduling)
		r.usageAt = t
	}
	r.now = t
}

// stale reports whether an event no longer applies: its job left or ran
// again since it was pushed.
func (r *run) stale(ev event) bool {
	if ev.kind == evWake || ev.kind == evArrive {
		return false
	}
	j := r.state.Job(ev.id)
	return j == nil || j.State != api.JobRunning || ev.serial != r.serial[ev.id] ||
		ev.kind == evStop && (j.Kill == nil || planapply.StopDeadline(j.Kill) != ev.at)
}

// dropStale pops the stale events at the head of the queue, so that they
// cost no pass.
func (r *run) dropStale() {
	for e, ok := r.events.Peek(); ok && r.stale(e); e, ok = r.events.Peek() {
		r.events.Pop()
	}
}

// settle applies the events due at now: run ends and stops.
func (r *run) settle() error {
	for e, ok := r.events.Peek(); ok && e.at <= r.now; e, ok = r.events.Peek() {
		ev, _ := r.events.Pop()
		if ev.kind == evArrive {
			if err := r.arrive(); err != nil {
				return err
			}
			continue
		}
		if ev.kind == evWake || r.stale(ev) {
			continue
		}
		j := r.state.Job(ev.id)
		nj := *j
		switch ev.kind {
		case evEnd:
			nj.State, nj.EndTime = api.JobCompleted, r.now
		case evStop:
			if j.Kill.Requeue {
				nj.State, nj.Reason, nj.RestartCount = api.JobPending, api.ReasonRequeued, j.RestartCount+1
				nj.StartTime, nj.ExpectedStart = 0, 0
			} else {
				nj.State, nj.EndTime = j.Kill.State, r.now
			}
		}
		r.release(j)
		r.serial[j.ID]++
		nj.Alloc, nj.Kill = nil, nil
		if err := r.state.PutJob(&nj); err != nil {
			return fmt.Errorf("end job %d: %w", j.ID, err)
		}
	}
	return nil
}

// arrive adds the arrival due now to the queue and schedules the next.
func (r *run) arrive() error {
	id := max(r.state.NextJobID(), ArrivalIDBase)
	j, k := r.arr.take(id, r.horizon)
	if err := r.state.PutJob(j); err != nil {
		return fmt.Errorf("arrival %d: %w", k, err)
	}
	r.arrNo[id] = uint64(k)
	r.active = append(r.active, id)
	r.isAct[id] = true
	if r.arr.next != math.MaxInt64 {
		r.push(r.arr.next, evArrive, 0)
	}
	return nil
}

// pass runs one scheduling pass on the active jobs and applies its plan.
func (r *run) pass() error {
	act := r.active[:0]
	jobs := make([]*api.Job, 0, len(r.active))
	for _, id := range r.active {
		j := r.state.Job(id)
		if j.State != api.JobPending && j.State != api.JobRunning {
			delete(r.isAct, id)
			continue
		}
		act = append(act, id)
		jobs = append(jobs, j)
	}
	r.active = act
	in := sched.Input{Now: r.now, Config: r.cfg, Nodes: r.snap.Nodes, Jobs: jobs, Usage: maps.Clone(r.usage),
		Lookup: func(id api.JobID) (*api.Job, bool) {
			if j := r.state.Job(id); j != nil {
				return j, true
			}
			if r.snap.Lookup != nil {
				return r.snap.Lookup(id)
			}
			return nil, false
		}}
	plan := sched.New().Schedule(in)
	res, err := planapply.Apply(r.state, &plan)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	for _, id := range res.Preempted {
		j := r.state.Job(id)
		if at := planapply.StopDeadline(j.Kill); at < r.runEnd[id] {
			r.push(at, evStop, id)
		}
	}
	for _, id := range res.Started {
		j := r.state.Job(id)
		if !r.isAct[id] {
			// A task split off its record: a new ID, larger than any.
			r.active = append(r.active, id)
			r.isAct[id] = true
		}
		r.running(j, false)
		key := id
		if j.IsArrayTask() && r.waiting[j.ArrayJobID] {
			key = j.ArrayJobID
		}
		if r.waiting[key] {
			delete(r.waiting, key)
			r.started[key] = r.now
			r.placed[key] = placementOf(j)
		}
	}
	return nil
}
