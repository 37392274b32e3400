package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/cluster"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/report"
)

// harnessID names this process's row among the controllers': the
// simulated nodes and the submitters share the machine's CPUs with them.
const harnessID = "harness (this process)"

// sampler samples the controllers and the fleet every -sample-interval.
type sampler struct {
	h     *harness
	admin *client.Client

	mu         sync.Mutex
	lastCPU    map[string]time.Duration
	lastAt     time.Time
	cpu, rss   map[string][]float64
	passSecs   []float64
	passQueue  []int
	lastCycles int
	snapSeen   map[string]bool
	snapAt     []time.Time
	samples    []report.Sample
	busy       []int // GPUs busy at samples while jobs were pending
	// usable is, at the same samples, the GPUs the cluster could have kept
	// busy: those held plus those the waiting jobs ask for, at most all.
	usable   []int
	peakRSS  float64
	baseRSS  float64
	leaderID string
}

func newSampler(h *harness) *sampler {
	return &sampler{h: h, admin: h.cl.Admin(), lastCPU: map[string]time.Duration{}, cpu: map[string][]float64{},
		rss: map[string][]float64{}, snapSeen: map[string]bool{}, lastCycles: -1}
}

func (s *sampler) loop(ctx context.Context) {
	t := time.NewTicker(s.h.o.sample)
	defer t.Stop()
	s.take(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.take(ctx)
		}
	}
}

// take takes one sample.
func (s *sampler) take(ctx context.Context) {
	h := s.h
	now := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	d, err := s.admin.Diag(dctx)
	cancel()
	fs := h.fleet.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	smp := report.Sample{T: now.Sub(h.t0).Seconds(), Submitted: int(h.submitted.Load()), GPUsBusy: int(fs.GPUsBusy), Wakeups: fs.Wakeups}
	if err == nil {
		smp.Pending, smp.Running, smp.CommitIndex = d.JobsPending, d.JobsRunning, d.Raft.CommitIndex
		h.pending.Store(int64(d.JobsPending))
		h.running.Store(int64(d.JobsRunning))
		smp.PassSecs, smp.PassQueue = float64(d.Sched.LastCycleUsec)/1e6, d.Sched.LastQueueLen
		if d.Leader && d.Sched.Cycles != s.lastCycles && s.lastCycles >= 0 && d.Sched.LastCycleUsec > 0 {
			s.passSecs = append(s.passSecs, smp.PassSecs)
			s.passQueue = append(s.passQueue, d.Sched.LastQueueLen)
		}
		s.lastCycles = d.Sched.Cycles
		if d.Leader {
			s.leaderID = d.ControllerID
		}
		if d.JobsPending > h.rep.PeakPending {
			h.rep.PeakPending = d.JobsPending
		}
	}
	dt := now.Sub(s.lastAt).Seconds()
	for _, ct := range h.cl.Ctls {
		pid := ct.PID()
		if pid == 0 {
			continue
		}
		p, err := cluster.ReadProc(pid)
		if err != nil {
			continue
		}
		rssMB := float64(p.RSS) / 1e6
		s.rss[ct.ID] = append(s.rss[ct.ID], rssMB)
		if prev, ok := s.lastCPU[ct.ID]; ok && dt > 0 {
			c := (p.CPU - prev).Seconds() / dt
			s.cpu[ct.ID] = append(s.cpu[ct.ID], c)
			if ct.ID == s.leaderID {
				smp.LeaderCPU = c
			}
		}
		s.lastCPU[ct.ID] = p.CPU
		if ct.ID == s.leaderID {
			smp.LeaderRSSMB = rssMB
			if s.baseRSS == 0 {
				s.baseRSS = rssMB
			}
			if smp.Pending >= h.rep.PeakPending && smp.Pending > 0 {
				s.peakRSS = rssMB
			}
		}
		if ct.DataDir != "" && ct.ID == s.leaderID {
			for _, name := range cluster.ReadDisk(ct.DataDir).Snapshots {
				if !s.snapSeen[name] {
					s.snapSeen[name] = true
					s.snapAt = append(s.snapAt, now)
				}
			}
		}
	}
	if p, err := cluster.ReadProc(os.Getpid()); err == nil {
		if prev, ok := s.lastCPU[harnessID]; ok && dt > 0 {
			s.cpu[harnessID] = append(s.cpu[harnessID], (p.CPU-prev).Seconds()/dt)
		}
		s.lastCPU[harnessID] = p.CPU
		s.rss[harnessID] = append(s.rss[harnessID], float64(p.RSS)/1e6)
	}
	s.lastAt = now
	if smp.Pending > 0 && fs.Started > 0 {
		s.busy = append(s.busy, int(fs.GPUsBusy))
		total := h.o.nodes * h.o.gpusPerNode
		s.usable = append(s.usable, min(total, int(fs.GPUsBusy)+max(int(h.waitingGPUs.Load()), 0)))
	}
	s.samples = append(s.samples, smp)
}

// summarize fills the report from the samples, the fleet's counters and
// the leader's metrics before and after the load.
func (h *harness) summarize(s *sampler, before, after []report.Series) {
	r := h.rep
	o := h.o
	fs := h.fleet.Stats()
	r.RunSecs = time.Since(h.t0).Seconds()
	r.StartedJobs, r.FinishedJobs = int(fs.Started), int(fs.Finished)
	h.mu.Lock()
	r.SubmitToStart, r.SubmitToStartBusy = report.Summarize(h.lat), report.Summarize(h.latQ)
	h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Series = s.samples
	r.SchedPass = report.Summarize(s.passSecs)
	r.SchedPassByQueue = report.PassBands(s.passSecs, s.passQueue)
	totalGPUs := float64(o.nodes * o.gpusPerNode)
	if len(s.busy) > 0 {
		sum := 0
		for _, b := range s.busy {
			sum += b
		}
		r.BusyFraction = float64(sum) / float64(len(s.busy)) / totalGPUs
		r.BusyWindowSecs = float64(len(s.busy)) * o.sample.Seconds()
		usable := 0
		for _, u := range s.usable {
			usable += u
		}
		if usable > 0 {
			r.BusyOfUsable = float64(sum) / float64(usable)
		}
	}
	if before != nil && after != nil {
		pass := report.SubtractBuckets(report.Buckets(after, "fairway_scheduler_pass_duration_seconds", nil),
			report.Buckets(before, "fairway_scheduler_pass_duration_seconds", nil))
		r.SchedPassHist = report.HistSummary{Count: report.Value(after, "fairway_scheduler_pass_duration_seconds_count", nil) -
			report.Value(before, "fairway_scheduler_pass_duration_seconds_count", nil),
			P50: report.HistogramQuantile(0.5, pass), P99: report.HistogramQuantile(0.99, pass)}
		for _, cmd := range report.LabelValues(after, "fairway_raft_apply_duration_seconds_count", "command") {
			m := map[string]string{"command": cmd}
			b := report.SubtractBuckets(report.Buckets(after, "fairway_raft_apply_duration_seconds", m),
				report.Buckets(before, "fairway_raft_apply_duration_seconds", m))
			n := report.Value(after, "fairway_raft_apply_duration_seconds_count", m) - report.Value(before, "fairway_raft_apply_duration_seconds_count", m)
			if n > 0 {
				r.RaftApply = append(r.RaftApply, report.CommandRow{Command: cmd, Count: n, P50: report.HistogramQuantile(0.5, b), P99: report.HistogramQuantile(0.99, b)})
			}
		}
		r.Watch.ServerWakeups = report.Value(after, "fairway_blocking_query_wakeups_total", nil) - report.Value(before, "fairway_blocking_query_wakeups_total", nil)
	}
	r.Watch.Wakeups, r.Watch.UsefulWakeups, r.Watch.Timeouts = fs.Wakeups, fs.UsefulWakeups, fs.Timeouts
	var c0, c1 uint64
	for _, smp := range s.samples {
		if smp.CommitIndex == 0 {
			continue
		}
		if c0 == 0 {
			c0 = smp.CommitIndex
		}
		c1 = smp.CommitIndex
	}
	if c1 > c0 {
		r.Watch.Commits = c1 - c0
		r.Watch.WakeupsPerCommit = float64(fs.Wakeups) / float64(c1-c0)
	}
	for _, ct := range append(slices.Clone(h.cl.Ctls), &cluster.Controller{ID: harnessID}) {
		row := report.ControllerRow{ID: ct.ID, Leader: ct.ID == s.leaderID}
		if v := s.cpu[ct.ID]; len(v) > 0 {
			sm := report.Summarize(v)
			row.CPUMean, row.CPUMax = sm.Mean, sm.Max
		}
		if v := s.rss[ct.ID]; len(v) > 0 {
			row.RSSMaxMB, row.RSSEndMB = slices.Max(v), v[len(v)-1]
		}
		if ct.DataDir != "" {
			d := cluster.ReadDisk(ct.DataDir)
			row.RaftDBBytes, row.SnapBytes = d.RaftDB, d.SnapBytes
			if ct.ID == s.leaderID {
				r.Snapshots.LastBytes, r.Snapshots.RaftDBEndByte = d.SnapBytes, d.RaftDB
			}
		}
		r.Controllers = append(r.Controllers, row)
		var durs []float64
		for _, d := range cluster.SnapshotDurations(ct.LogFile) {
			durs = append(durs, d.Seconds())
		}
		if ct.ID == s.leaderID {
			r.Snapshots.Durations = report.Summarize(durs)
		}
	}
	r.Snapshots.Taken = len(s.snapAt)
	if n := len(s.snapAt); n > 1 {
		r.Snapshots.IntervalSecs = s.snapAt[n-1].Sub(s.snapAt[0]).Seconds() / float64(n-1)
	}
	r.Memory.BaselineRSSMB, r.Memory.PeakPendingRSSMB = s.baseRSS, s.peakRSS
	if r.PeakPending > 0 && s.peakRSS > s.baseRSS {
		r.Memory.BytesPerPending = (s.peakRSS - s.baseRSS) * 1e6 / float64(r.PeakPending)
	}
	if v := s.rss[s.leaderID]; len(v) > 0 {
		r.Memory.EndRSSMB = v[len(v)-1]
		r.Memory.JobsHeldAtEnd = int(h.submitted.Load())
		if r.Memory.JobsHeldAtEnd > 0 && r.Memory.EndRSSMB > s.baseRSS {
			r.Memory.BytesPerHeldJob = (r.Memory.EndRSSMB - s.baseRSS) * 1e6 / float64(r.Memory.JobsHeldAtEnd)
		}
	}
	r.Routes = h.routes.Table(r.RunSecs)
	if math.IsNaN(r.SchedPassHist.P50) {
		r.SchedPassHist.P50 = 0
	}
}

// failover SIGKILLs the leader, times the election of another, restarts
// the killed controller and times until it serves reads and until it has
// caught up with the leader's commit index at its restart.
func (h *harness) failover(ctx context.Context) {
	o := h.o
	f := &report.FailoverRow{}
	h.rep.Failover = f
	l, err := h.cl.WaitLeader(ctx, o.failoverWait)
	if err != nil {
		f.Err = err.Error()
		return
	}
	f.Killed = l.ID
	h.log.Info("killing the leader (SIGKILL)", "leader", l.ID)
	t := time.Now()
	if err := h.cl.Kill(l); err != nil {
		f.Err = err.Error()
		return
	}
	nl, err := h.cl.WaitLeader(ctx, o.failoverWait)
	if err != nil {
		f.Err = err.Error()
		return
	}
	f.NewLeader, f.NewLeaderSecs = nl.ID, time.Since(t).Seconds()
	// The new leader may be slow to answer while the killed one's nodes
	// reconnect to it: ask again until -failover-wait.
	var target uint64
	var lastErr error
	err = waitFor(ctx, o.failoverWait, func() bool {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		st, err := h.cl.Admin(nl).Status(sctx)
		if err != nil {
			lastErr = err
			return false
		}
		target = st.Index
		return true
	})
	if err != nil {
		f.Err = fmt.Sprintf("new leader's status: %v (last: %v)", err, lastErr)
		return
	}
	d := cluster.ReadDisk(l.DataDir)
	f.SnapshotBytes, f.RaftDBBytes = d.SnapBytes, d.RaftDB
	t = time.Now()
	if err := h.cl.Restart(l); err != nil {
		f.Err = err.Error()
		return
	}
	one := h.cl.Admin(l)
	served := false
	err = waitFor(ctx, o.failoverWait, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if !served {
			_, err := one.Job(cctx, 1)
			if err != nil && !client.IsNotFound(err) {
				return false
			}
			served = true
			f.RestartServesSecs = time.Since(t).Seconds()
		}
		s, err := one.Status(cctx)
		if err != nil || s.Index < target {
			return false
		}
		f.RestartCaughtSecs = time.Since(t).Seconds()
		if s.Leader {
			f.RestartLeaderSecs = f.RestartCaughtSecs
		}
		return true
	})
	if err != nil {
		f.Err = "restarted controller: " + err.Error()
	}
}
