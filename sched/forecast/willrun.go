package forecast

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Placement is where a job started in a replay: its partition, its
// nodes in allocation order and the CPUs it holds on them in all (Slurm's
// "processors").
type Placement struct {
	Partition string
	Nodes     []string
	CPUs      int
}

// placementOf is where a running job runs.
func placementOf(j *api.Job) Placement {
	p := Placement{Partition: j.Partition}
	for _, a := range j.Alloc {
		p.Nodes = append(p.Nodes, a.Node)
		p.CPUs += a.CPUs
	}
	return p
}

// WillRunResult is the forecast of one job not submitted (sbatch
// --test-only): its start range over the replays and the start and
// placement of the median replay.
type WillRunResult struct {
	// Estimate is the job's start range (P50, P90, replays that started
	// it) as Estimate gives it.
	Estimate api.StartEstimate
	// Started reports whether the median replay started the job before
	// the horizon; Start and Placement are that start.
	Started   bool
	Start     int64
	Placement Placement
}

// WillRun replays snap opt.Replays times, as Estimate does, tracking only
// the pending job id (a job snap holds that was never submitted, for
// sbatch --test-only), and returns its start range with the start and
// placement of the replay whose start is the median (nearest rank; a
// replay that did not start the job counts as later than any that did;
// ties: the lower replay number). Replays run one after another
// (opt.Workers is not used). It is deterministic for opt.Seed.
func WillRun(ctx context.Context, snap Snapshot, model RuntimeModel, opt Options, id api.JobID) (WillRunResult, error) {
	opt = opt.withDefaults()
	if !slices.Contains(pendingJobs(snap.Jobs), id) {
		return WillRunResult{}, fmt.Errorf("forecast: job %d is not a pending job of the snapshot", id)
	}
	type outcome struct {
		n     int
		start int64
		where Placement
	}
	outs := make([]outcome, 0, opt.Replays)
	for n := range opt.Replays {
		r, err := replayRun(ctx, snap, snap.Config, model, opt, n, []api.JobID{id})
		if err != nil {
			return WillRunResult{}, err
		}
		o := outcome{n: n, start: math.MaxInt64}
		if at, ok := r.started[id]; ok {
			o.start, o.where = at, r.placed[id]
		}
		outs = append(outs, o)
	}
	slices.SortFunc(outs, func(a, b outcome) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.n, b.n)) })
	starts := make([]int64, len(outs))
	res := WillRunResult{Estimate: api.StartEstimate{MadeAt: snap.Now, Horizon: snap.Now + opt.HorizonSecs, Replays: opt.Replays}}
	for i, o := range outs {
		starts[i] = o.start
		if o.start != math.MaxInt64 {
			res.Estimate.Started++
		}
	}
	res.Estimate.P50, res.Estimate.P90 = percentile(starts, 0.5), percentile(starts, 0.9)
	med := outs[min(max(int(math.Ceil(0.5*float64(len(outs))))-1, 0), len(outs)-1)]
	if med.start != math.MaxInt64 {
		res.Started, res.Start, res.Placement = true, med.start, med.where
	}
	return res, nil
}
