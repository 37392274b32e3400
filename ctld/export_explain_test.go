package ctld

import (
	"context"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/forecast"
)

// SetForecast replaces the controller's forecast functions (nil keeps
// one): the tests give the estimator an engine while sched/forecast is
// built elsewhere.
func SetForecast(c *Controller,
	estimate func(context.Context, forecast.Snapshot, forecast.RuntimeModel, forecast.Options) (map[api.JobID]api.StartEstimate, error),
	whatIf func(context.Context, forecast.Snapshot, forecast.RuntimeModel, api.ClusterConfig, forecast.Options) (api.WhatIfResult, error)) {
	e := c.estimates
	e.fnMu.Lock()
	defer e.fnMu.Unlock()
	if estimate != nil {
		e.estimateFn = estimate
	}
	if whatIf != nil {
		e.whatIfFn = whatIf
	}
}
