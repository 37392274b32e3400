package ctld

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/forecast"
)

// WillRun answers sbatch --test-only: the job is checked exactly as a
// submission (the same defaults, authorization, limits and refusals, the
// FSM's included through raftstore.State.TrySubmit), then placed in a copy
// of the queue under the ID it would get, and the leader's forecast
// replays the queue forward (forecast.WillRun, with the estimates' replays,
// horizon, arrivals and timeout) to say when and where it would start.
// Nothing is committed and no job ID is used. A job that would not start
// before the horizon is refused (KindConflict) with its pending reason
// now. The HTTP layer sends the request to the leader when one is known;
// one will-run replay runs at a time (503 to the others: the client
// retries).
func (s *Service) WillRun(ctx context.Context, caller Identity, specs []api.JobSpec) (api.WillRunResponse, error) {
	if len(specs) != 1 {
		return api.WillRunResponse{}, invalid("jobs", "--test-only tests one job; the request has %d", len(specs))
	}
	if s.estimates == nil {
		return api.WillRunResponse{}, newError(KindUnavailable, "controller %s makes no start estimates; retry on the leader", s.id)
	}
	spec := specs[0]
	st := s.store.State()
	cfg := st.Config()
	if len(cfg.Partitions) == 0 {
		return api.WillRunResponse{}, newError(KindUnavailable, "the cluster has no configuration yet; retry")
	}
	if err := s.checkSubmission(caller, st, &cfg, s.nodeCfg.get(s.store), &spec); err != nil {
		return api.WillRunResponse{}, err
	}
	now := s.now()
	job, err := st.TrySubmit(now.Unix(), spec)
	if err != nil {
		return api.WillRunResponse{}, s.classify(err)
	}
	select {
	case s.estimates.willRun <- struct{}{}:
		defer func() { <-s.estimates.willRun }()
	default:
		return api.WillRunResponse{}, newError(KindUnavailable, "controller %s is already forecasting a --test-only job; retry", s.id)
	}
	snap, finished := snapshot(st, now)
	snap.Jobs = append(slices.Clip(snap.Jobs), job)
	ctx, cancel := context.WithTimeout(ctx, s.estimates.cfg.Timeout)
	defer cancel()
	res, err := forecast.WillRun(ctx, snap, forecast.NewHistoryModel(finished), s.estimates.options(st, now), job.ID)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return api.WillRunResponse{}, &Error{Kind: KindUnavailable, Err: err,
			Msg: fmt.Sprintf("the forecast of the job's start took longer than %s", s.estimates.cfg.Timeout)}
	case err != nil:
		return api.WillRunResponse{}, fmt.Errorf("will-run forecast: %w", err)
	}
	if !res.Started {
		reason := api.ReasonPriority
		plan := sched.New().Schedule(sched.Input{Now: snap.Now, Config: snap.Config, Nodes: snap.Nodes, Jobs: snap.Jobs, Usage: snap.Usage, Lookup: snap.Lookup})
		for _, p := range plan.Pending {
			if p.JobID == job.ID {
				reason = p.Reason
			}
		}
		return api.WillRunResponse{}, newError(KindConflict, "the job would not start within the forecast's horizon (%s); it would wait for %s",
			api.FormatDuration(res.Estimate.Horizon-res.Estimate.MadeAt), reason)
	}
	return api.WillRunResponse{JobID: job.ID, StartTime: res.Start, Nodes: res.Placement.Nodes,
		Partition: res.Placement.Partition, CPUs: res.Placement.CPUs, Estimate: res.Estimate}, nil
}

// checkSubmission fills the defaults of one job of a submission and
// refuses it as Submit does: who it runs as, its spec against the
// configuration, partitions taking jobs, authorization, node
// configuration, dependencies on known jobs, known node names. The error
// is an *Error.
func (s *Service) checkSubmission(caller Identity, st *raftstore.State, cfg *api.ClusterConfig, nodes nodeConfig, spec *api.JobSpec) *Error {
	if err := submitAs(caller, spec); err != nil {
		return err
	}
	err := api.PrepareSpec(spec, cfg)
	if err == nil {
		// A partition in state DRAIN or INACTIVE takes no new jobs.
		err = api.CheckPartitionsAccepting(spec, cfg)
	}
	if err == nil {
		if ae := authorizeSubmit(caller, cfg, spec); ae != nil {
			s.denied(caller, "submit", ae)
			err = ae
		}
	}
	if err == nil {
		err = api.CheckNodeConfigurationOf(spec, cfg, nodes)
	}
	if err == nil {
		err = checkDependencyJobs(st, spec)
	}
	if err == nil {
		err = checkNodeNames(spec, nodes.names)
	}
	return s.classify(err)
}
