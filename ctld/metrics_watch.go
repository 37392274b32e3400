package ctld

import (
	"cmp"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/prometheus/client_golang/prometheus"
)

// jobEndsDesc is the counter of job ends computed from the state.
var jobEndsDesc = desc("fairway_jobs_ended_total", "Jobs that reached a final state since this controller started watching (the ends already in the state at its first scrape are its baseline), by account and Slurm state.", "account", "state")

// endWatch counts the jobs that reach a final state, from the state at each
// scrape: a job is counted once, the first time a scrape sees it final. The
// jobs already final at the first scrape are the baseline, not counted, so
// a controller's restart is an ordinary counter reset, not a burst of old
// failures. Its memory is the final jobs still in the state.
type endWatch struct {
	mu     sync.Mutex
	primed bool
	seen   map[api.JobID]bool
	counts map[[2]string]float64 // (account, state)
}

func newEndWatch() *endWatch {
	w := &endWatch{seen: map[api.JobID]bool{}, counts: map[[2]string]float64{}}
	return w
}

// collect counts the new ends among jobs and sends the counters.
func (w *endWatch) collect(jobs []*api.Job, defAccount string, ch chan<- prometheus.Metric) {
	w.mu.Lock()
	defer w.mu.Unlock()
	present := make(map[api.JobID]bool, len(w.seen))
	for _, j := range jobs {
		if !j.State.Final() {
			continue
		}
		present[j.ID] = true
		if w.seen[j.ID] {
			continue
		}
		w.seen[j.ID] = true
		k := [2]string{cmp.Or(j.Spec.Account, defAccount, api.RootAccount), string(j.State)}
		if w.primed {
			w.counts[k]++
		} else if _, ok := w.counts[k]; !ok {
			w.counts[k] = 0
		}
	}
	w.primed = true
	for id := range w.seen {
		if !present[id] {
			delete(w.seen, id)
		}
	}
	for k, n := range w.counts {
		ch <- prometheus.MustNewConstMetric(jobEndsDesc, prometheus.CounterValue, n, k[0], k[1])
	}
}

// startWatch remembers the runs whose node reported their start to this
// controller as leader, for the "starting" phase: a run started by a plan
// after this controller became leader is starting until its node's report
// arrives. Runs started before (a follower's view, a new leader's
// inheritance) count as running.
type startWatch struct {
	mu       sync.Mutex
	since    int64 // unix seconds this controller became leader; 0: not leader
	reported map[api.JobID]int
}

func newStartWatch() *startWatch { return &startWatch{reported: map[api.JobID]int{}} }

// lead records that this controller leads from now on (at, unix seconds)
// or no longer does (0).
func (w *startWatch) lead(at int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.since = at
	clear(w.reported)
}

// record notes the start reports among events.
func (w *startWatch) record(events []api.JobEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since == 0 {
		return
	}
	for _, ev := range events {
		if ev.Kind == api.EventStarted {
			w.reported[ev.JobID] = ev.Run
		}
	}
}

// started reports whether a running job is past starting.
func (w *startWatch) started(j *api.Job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since == 0 || j.StartTime < w.since {
		return true
	}
	run, ok := w.reported[j.ID]
	return ok && run == j.RestartCount
}

// prune forgets the reports of jobs no longer running.
func (w *startWatch) prune(jobs []*api.Job) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reported) == 0 {
		return
	}
	running := make(map[api.JobID]bool, len(w.reported))
	for _, j := range jobs {
		if j.State == api.JobRunning {
			running[j.ID] = true
		}
	}
	for id := range w.reported {
		if !running[id] {
			delete(w.reported, id)
		}
	}
}

// observeStarts observes the wait of each started job (as the state has it
// after the plan's commit): from its submission, or from the end of its run
// before when it was requeued.
func (m *metrics) observeStarts(st *raftstore.State, cfg *api.ClusterConfig, started []api.JobID) {
	for _, id := range started {
		j, ok := st.Job(id)
		if !ok || j.StartTime == 0 {
			continue
		}
		m.waits.WithLabelValues(cmp.Or(j.Spec.Account, cfg.DefaultAccount, api.RootAccount), j.Partition).
			Observe(float64(max(j.StartTime-waitedSince(j), 0)))
	}
}

// waitedSince is when a job's current wait began: the end of its last
// ended run when it was requeued, else its submission.
func waitedSince(j *api.Job) int64 {
	since := j.SubmitTime
	for _, r := range j.Runs {
		if r.EndTime != 0 && r.EndTime > since && r.EndTime <= j.StartTime {
			since = r.EndTime
		}
	}
	return since
}

// Descriptions of the scheduler pass figures.
var (
	passTotalDesc      = desc("fairway_scheduler_passes_total", "Scheduler passes run by this controller as leader.")
	passTestedDesc     = desc("fairway_scheduler_tested_jobs_total", "Jobs the passes tested for a start, a preemption or a reservation.")
	passBfTestedDesc   = desc("fairway_scheduler_backfill_tested_jobs_total", "Jobs the passes tested after a job blocked for resources (backfill depth, summed).")
	passBfStartsDesc   = desc("fairway_scheduler_backfill_starts_total", "Job starts that passed a job blocked for resources (backfilled).")
	passResvDesc       = desc("fairway_scheduler_reservations_total", "Backfill reservations the passes made.")
	lastDurDesc        = desc("fairway_scheduler_last_pass_duration_seconds", "Duration of the last scheduler pass.")
	lastPendDesc       = desc("fairway_scheduler_last_pass_pending_jobs", "Pending jobs (array records once) the last pass saw.")
	lastTestedDesc     = desc("fairway_scheduler_last_pass_tested_jobs", "Jobs the last pass tested.")
	lastBfTestedDesc   = desc("fairway_scheduler_last_pass_backfill_depth_jobs", "Jobs the last pass tested after a job blocked for resources (its backfill depth).")
	lastResvDesc       = desc("fairway_scheduler_last_pass_reservations", "Backfill reservations the last pass made.")
	lastPassTimeDesc   = desc("fairway_scheduler_last_pass_timestamp_seconds", "When the last scheduler pass ran (unix seconds).")
	slurmLastCycle     = desc("slurm_scheduler_last_cycle", "Last scheduler pass time in microseconds; Fairway's pass is one, backfill included (prometheus-slurm-exporter name).")
	slurmMeanCycle     = desc("slurm_scheduler_mean_cycle", "Mean scheduler pass time in microseconds since this controller started (prometheus-slurm-exporter name).")
	slurmCyclePerMin   = desc("slurm_scheduler_cycle_per_minute", "Scheduler passes in the last minute (prometheus-slurm-exporter name).")
	slurmBfLastCycle   = desc("slurm_scheduler_backfill_last_cycle", "Last pass time in microseconds; backfill is part of every pass (prometheus-slurm-exporter name).")
	slurmBfMeanCycle   = desc("slurm_scheduler_backfill_mean_cycle", "Mean pass time in microseconds (prometheus-slurm-exporter name).")
	slurmBfDepthMean   = desc("slurm_scheduler_backfill_depth_mean", "Mean backfill depth of the passes: jobs tested after a job blocked (prometheus-slurm-exporter name).")
	slurmBackfilled    = desc("slurm_scheduler_backfilled_jobs_since_start_total", "Jobs started by backfill since this controller started (prometheus-slurm-exporter name).")
	slurmBackfilledCyc = desc("slurm_scheduler_backfilled_jobs_since_cycle_total", "Jobs started by backfill since this controller started; Fairway does not reset the figures (prometheus-slurm-exporter name).")
	slurmThreads       = desc("slurm_scheduler_threads", "Scheduler threads: one (prometheus-slurm-exporter name).")
)

// passWatch keeps the figures of the scheduler passes this controller ran
// as leader (a prometheus.Collector).
type passWatch struct {
	mu                                   sync.Mutex
	passes                               int
	sumSecs                              float64
	tested, bfTested, bfStarts, reserved int
	last                                 api.PassStats
	lastSecs                             float64
	lastAt                               time.Time
	recent                               []time.Time // pass times of the last minute
	// For sdiag: the longest pass, the sums of the passes' depths and
	// queue lengths, and when this controller last became the leader.
	maxSecs               float64
	depthSum, queueLenSum int
	leaderSince           time.Time
	// base are the counters when sdiag -r last reset the statistics, at
	// resetAt: sdiag shows what was counted since. The Prometheus
	// counters are never reset.
	base    passBase
	resetAt time.Time
}

// passBase are the pass counters sdiag's figures count from.
type passBase struct {
	passes   int
	sumSecs  float64
	bfTested int
	bfStarts int
}

// reset starts sdiag's figures again at now (sdiag -r): cycles, their
// mean and maximum, depths, queue lengths and the jobs backfilled since
// the last reset count from zero, and "Data since" becomes now. The
// backfilled jobs since the controller started and the Prometheus
// counters go on.
func (w *passWatch) reset(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.base = passBase{passes: w.passes, sumSecs: w.sumSecs, bfTested: w.bfTested, bfStarts: w.bfStarts}
	w.maxSecs, w.depthSum, w.queueLenSum = 0, 0, 0
	w.resetAt = now
}

// lead records that this controller became the leader at t. The first
// time is sdiag's "Data since": the pass figures (only a leader runs
// passes) count from there.
func (w *passWatch) lead(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leaderSince.IsZero() {
		w.leaderSince = t
	}
}

// diag returns the pass figures as sdiag shows them, at now.
func (w *passWatch) diag(now time.Time) (api.DiagSched, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trim(now)
	passes := w.passes - w.base.passes
	d := api.DiagSched{
		Cycles:               passes,
		LastCycleUsec:        int64(w.lastSecs * 1e6),
		MaxCycleUsec:         int64(w.maxSecs * 1e6),
		CyclesPerMin:         len(w.recent),
		LastDepth:            w.last.Tested,
		LastBfDepth:          w.last.BackfillTested,
		LastQueueLen:         w.last.Pending,
		Backfilled:           w.bfStarts,
		BackfilledSinceReset: w.bfStarts - w.base.bfStarts,
		LastReserved:         w.last.Reservations,
	}
	if passes > 0 {
		n := float64(passes)
		d.MeanCycleUsec = int64((w.sumSecs - w.base.sumSecs) / n * 1e6)
		d.MeanDepth = float64(w.depthSum) / n
		d.MeanBfDepth = float64(w.bfTested-w.base.bfTested) / n
		d.MeanQueueLen = float64(w.queueLenSum) / n
	}
	if !w.lastAt.IsZero() {
		d.LastCycleAt = w.lastAt.Unix()
	}
	if !w.resetAt.IsZero() {
		return d, w.resetAt
	}
	return d, w.leaderSince
}

// record adds one pass that took d and ended at at.
func (w *passWatch) record(st api.PassStats, d time.Duration, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.passes++
	w.sumSecs += d.Seconds()
	w.tested += st.Tested
	w.bfTested += st.BackfillTested
	w.bfStarts += st.BackfillStarts
	w.reserved += st.Reservations
	w.last, w.lastSecs, w.lastAt = st, d.Seconds(), at
	w.maxSecs = max(w.maxSecs, d.Seconds())
	w.depthSum += st.Tested
	w.queueLenSum += st.Pending
	w.recent = append(w.recent, at)
	w.trim(at)
}

// trim drops the pass times older than a minute before now.
func (w *passWatch) trim(now time.Time) {
	i := 0
	for i < len(w.recent) && now.Sub(w.recent[i]) > time.Minute {
		i++
	}
	w.recent = append(w.recent[:0], w.recent[i:]...)
}

// Describe implements prometheus.Collector.
func (w *passWatch) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{passTotalDesc, passTestedDesc, passBfTestedDesc, passBfStartsDesc, passResvDesc,
		lastDurDesc, lastPendDesc, lastTestedDesc, lastBfTestedDesc, lastResvDesc, lastPassTimeDesc,
		slurmLastCycle, slurmMeanCycle, slurmCyclePerMin, slurmBfLastCycle, slurmBfMeanCycle, slurmBfDepthMean,
		slurmBackfilled, slurmBackfilledCyc, slurmThreads} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (w *passWatch) Collect(ch chan<- prometheus.Metric) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trim(time.Now())
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	c(passTotalDesc, float64(w.passes))
	c(passTestedDesc, float64(w.tested))
	c(passBfTestedDesc, float64(w.bfTested))
	c(passBfStartsDesc, float64(w.bfStarts))
	c(passResvDesc, float64(w.reserved))
	c(slurmBackfilled, float64(w.bfStarts))
	c(slurmBackfilledCyc, float64(w.bfStarts))
	g(slurmThreads, 1)
	g(slurmCyclePerMin, float64(len(w.recent)))
	mean, depth := 0.0, 0.0
	if w.passes > 0 {
		mean = w.sumSecs / float64(w.passes)
		depth = float64(w.bfTested) / float64(w.passes)
	}
	g(slurmMeanCycle, mean*1e6)
	g(slurmBfMeanCycle, mean*1e6)
	g(slurmBfDepthMean, depth)
	g(lastDurDesc, w.lastSecs)
	g(slurmLastCycle, w.lastSecs*1e6)
	g(slurmBfLastCycle, w.lastSecs*1e6)
	g(lastPendDesc, float64(w.last.Pending))
	g(lastTestedDesc, float64(w.last.Tested))
	g(lastBfTestedDesc, float64(w.last.BackfillTested))
	g(lastResvDesc, float64(w.last.Reservations))
	if !w.lastAt.IsZero() {
		g(lastPassTimeDesc, float64(w.lastAt.UnixNano())/1e9)
	}
}

// Descriptions of raft's health.
var (
	raftTermDesc       = desc("fairway_raft_term", "Current raft term of this controller.")
	raftCommitDesc     = desc("fairway_raft_commit_index", "Raft commit index known to this controller.")
	raftLagDesc        = desc("fairway_raft_commit_lag", "Committed raft entries this controller has not applied yet (commit index minus applied index).")
	raftContactDesc    = desc("fairway_raft_last_contact_seconds", "Seconds since this controller last heard from a leader (0 on the leader); absent when it never has.")
	raftHasLeaderDesc  = desc("fairway_raft_has_leader", "1 if this controller knows a raft leader.")
	raftVotersDesc     = desc("fairway_raft_voters", "Voters in the raft configuration.")
	raftReachableDesc  = desc("fairway_raft_voters_reachable", "Voters the leader's heartbeats reach, itself included (on the leader only).")
	raftQuorumSizeDesc = desc("fairway_raft_quorum_size", "Voters needed for a quorum (a majority of the voters).")
)

// raftDescs lists raftMetrics' descriptions.
func raftDescs() []*prometheus.Desc {
	return []*prometheus.Desc{raftTermDesc, raftCommitDesc, raftLagDesc, raftContactDesc, raftHasLeaderDesc,
		raftVotersDesc, raftReachableDesc, raftQuorumSizeDesc}
}

// raftMetrics sends raft's health as this controller sees it.
func raftMetrics(store *raftstore.Store, ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	l := store.Local()
	g(raftTermDesc, float64(l.Term))
	g(raftCommitDesc, float64(l.CommitIndex))
	lag := 0.0
	if l.CommitIndex > l.Applied {
		lag = float64(l.CommitIndex - l.Applied)
	}
	g(raftLagDesc, lag)
	if !l.LastContact.IsZero() {
		g(raftContactDesc, max(time.Since(l.LastContact).Seconds(), 0))
	}
	hasLeader := 0.0
	if store.LeaderID() != "" {
		hasLeader = 1
	}
	g(raftHasLeaderDesc, hasLeader)
	members, _, err := store.Members()
	if err != nil {
		return
	}
	voters, reachable := 0, 0
	for _, m := range members {
		if m.Suffrage != raftstore.SuffrageVoter {
			continue
		}
		voters++
		if !m.Unreachable {
			reachable++
		}
	}
	g(raftVotersDesc, float64(voters))
	g(raftQuorumSizeDesc, float64(voters/2+1))
	if store.IsLeader() {
		g(raftReachableDesc, float64(reachable))
	}
}
