// Package forecast replays the live queue forward through the production
// scheduler on virtual time to estimate when pending jobs will start, and to
// compare configurations (what-if). It is pure like sched: no I/O, no clock.
package forecast

import (
	"context"
	"errors"

	"github.com/fairway-hpc/fairway/api"
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
}

// RuntimeModel samples a job's actual run time.
type RuntimeModel interface {
	// Fraction returns a sample of the job's run time as a fraction of
	// its time limit, in (0, 1], given u uniform in [0, 1).
	Fraction(j *api.Job, u float64) float64
}

// ErrNotImplemented is returned until the engine exists.
var ErrNotImplemented = errors.New("forecast: not implemented")

// Estimate replays snap forward opt.Replays times and returns the start
// range of every pending job (array records: their next task).
func Estimate(ctx context.Context, snap Snapshot, model RuntimeModel, opt Options) (map[api.JobID]api.StartEstimate, error) {
	return nil, ErrNotImplemented
}

// WhatIf replays snap under its own configuration and under proposed and
// compares the waits of today's pending jobs per account.
func WhatIf(ctx context.Context, snap Snapshot, model RuntimeModel, proposed api.ClusterConfig, opt Options) (api.WhatIfResult, error) {
	return api.WhatIfResult{}, ErrNotImplemented
}

// NewHistoryModel returns the model that samples a job's run-time fraction
// from its user's finished jobs, else its account's, else the cluster's
// (run time / time limit of each finished run).
func NewHistoryModel(finished []*api.Job) RuntimeModel { return constantModel(1) }

// constantModel is a model whose every job runs its fraction of its limit.
type constantModel float64

// Fraction implements RuntimeModel.
func (c constantModel) Fraction(*api.Job, float64) float64 { return float64(c) }
