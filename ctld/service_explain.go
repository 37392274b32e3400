package ctld

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/sched/explain"
	"github.com/fairway-hpc/fairway/sched/forecast"
)

// Explain says why a job waits (or that it does not), in words with the
// facts behind them (sched/explain on the scheduler's view of the state),
// with the leader's latest start estimate for a pending job. Every caller
// may explain every job, as every caller may list every job and its
// pending reason (squeue): the explanation names other jobs' users and
// accounts as squeue does, and never carries scripts or environments.
// ARRAYID_TASK names a task of a job array (the array's record while the
// task has not started).
//
// A follower answers from its own replica, without an estimate (the
// leader makes them); the HTTP layer forwards explain requests to the
// leader when one is known.
func (s *Service) Explain(ctx context.Context, caller Identity, ref api.JobRef, q Query) (api.Explanation, uint64, error) {
	st, err := s.read(ctx, q, raftstore.TopicJobs)
	if err != nil {
		return api.Explanation{}, 0, err
	}
	j, found := st.JobRef(ref)
	if !found {
		return api.Explanation{}, 0, newError(KindNotFound, msgInvalidJobID)
	}
	cfg := st.Config()
	now := s.now()
	in := schedInput(st, now.Unix(), cfg, st.Nodes(), st.ActiveJobsShared())
	opt := explain.Options{Location: now.Location()}
	e := explain.Explain(in, j, opt)
	if s.estimates != nil && j.State == api.JobPending {
		if est, ok := s.estimates.get(j.ID); ok {
			explain.WithEstimate(&e, est, opt)
		}
	}
	return e, st.Index(), nil
}

// Estimates returns the latest start estimates of the pending jobs the
// caller may see (every caller sees every job, as squeue shows them). A
// follower has none: the HTTP layer forwards the request to the leader.
func (s *Service) Estimates(ctx context.Context, caller Identity) (api.EstimatesResponse, error) {
	resp := api.EstimatesResponse{Now: s.now().Unix()}
	if s.estimates == nil {
		return resp, nil
	}
	est, at := s.estimates.all()
	if len(est) > 0 {
		resp.Estimates, resp.MadeAt = est, at.Unix()
	}
	return resp, nil
}

// EstimateAccuracy measures the recorded first estimates against the
// actual starts over the retained jobs (fairway explain --accuracy). Every
// caller may read it.
func (s *Service) EstimateAccuracy(ctx context.Context, caller Identity, q Query) (api.EstimateAccuracy, uint64, error) {
	st, err := s.read(ctx, q, raftstore.TopicJobs)
	if err != nil {
		return api.EstimateAccuracy{}, 0, err
	}
	return explain.Accuracy(st.RetainedJobsShared()), st.Index(), nil
}

// WhatIf replays the live queue and running jobs under a proposed
// configuration and compares the waits per account against the current
// one (fairway sim --from-live). Only operators and administrators may
// ask: a replay costs the controller CPU time. The proposed configuration
// is validated as PUT /v1/config validates it (a *api.FieldError naming
// the field under "config."); replays and horizon are bounded; one
// what-if runs at a time, each within EstimateConfig.WhatIfTimeout.
func (s *Service) WhatIf(ctx context.Context, caller Identity, req api.WhatIfRequest) (api.WhatIfResult, error) {
	st := s.store.State()
	cur := st.Config()
	if role := roleOf(caller, &cur); role < RoleOperator {
		err := newError(KindForbidden, "%s may not replay the queue under another configuration: only an operator or an administrator may", who(caller))
		s.denied(caller, "whatif", err)
		return api.WhatIfResult{}, err
	}
	switch {
	case req.Replays < 0 || req.Replays > MaxWhatIfReplays:
		return api.WhatIfResult{}, invalid("replays", "replays %d: must be from 1 to %d, or 0 for the default (10)", req.Replays, MaxWhatIfReplays)
	case req.HorizonSecs < 0 || req.HorizonSecs > int64(MaxWhatIfHorizon/time.Second):
		return api.WhatIfResult{}, invalid("horizon_secs", "horizon %s: must be at most %s, or 0 for the default (a week)",
			api.FormatDuration(req.HorizonSecs), api.FormatDuration(int64(MaxWhatIfHorizon/time.Second)))
	}
	proposed := cur
	if req.Config != nil {
		proposed = *req.Config
		if err := api.ValidateConfig(&proposed); err != nil {
			var fe *api.FieldError
			if errors.As(err, &fe) {
				named := *fe
				named.Field = "config." + fe.Field
				return api.WhatIfResult{}, &Error{Kind: KindInvalid, Field: named.Field,
					Msg: "the proposed configuration is not valid: " + named.Error(), Err: err}
			}
			return api.WhatIfResult{}, s.classify(err)
		}
	}
	if len(cur.Partitions) == 0 {
		return api.WhatIfResult{}, newError(KindUnavailable, "the cluster has no configuration yet; retry")
	}
	select {
	case s.estimates.whatIf <- struct{}{}:
		defer func() { <-s.estimates.whatIf }()
	default:
		return api.WhatIfResult{}, newError(KindUnavailable, "controller %s is already replaying a what-if; retry when it is done", s.id)
	}
	now := s.now()
	snap, finished := snapshot(st, now)
	opt := forecast.Options{Replays: req.Replays, HorizonSecs: req.HorizonSecs, Seed: uint64(now.Unix()),
		Arrivals: s.estimates.arrivals(st, now)}
	if opt.Replays == 0 {
		opt.Replays = 10
	}
	ctx, cancel := context.WithTimeout(ctx, s.estimates.cfg.WhatIfTimeout)
	defer cancel()
	_, whatIfFn := s.estimates.forecasts()
	res, err := whatIfFn(ctx, snap, forecast.NewHistoryModel(finished), proposed, opt)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return api.WhatIfResult{}, &Error{Kind: KindUnavailable, Err: err,
			Msg: fmt.Sprintf("the what-if replay took longer than %s; ask for fewer replays or a shorter horizon", s.estimates.cfg.WhatIfTimeout)}
	case err != nil:
		return api.WhatIfResult{}, fmt.Errorf("what-if replay: %w", err)
	}
	return res, nil
}
