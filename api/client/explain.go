package client

import (
	"context"
	"net/http"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// WhatIfAttemptTimeout bounds one what-if request to one controller: the
// controller bounds the replay itself (a minute by default), and the
// answer must be allowed to arrive.
const WhatIfAttemptTimeout = 3 * time.Minute

// Explain says why a job waits, with the facts behind it and its start
// estimate (fairway explain). ref is a job ID or ARRAYID_TASK.
func (c *Client) Explain(ctx context.Context, ref api.JobRef) (*api.Explanation, error) {
	var e api.Explanation
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+ref.String()+"/explain", nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// EstimateAccuracy measures the recorded first start estimates against
// the actual starts (fairway explain --accuracy).
func (c *Client) EstimateAccuracy(ctx context.Context) (*api.EstimateAccuracy, error) {
	var a api.EstimateAccuracy
	if _, err := c.do(ctx, http.MethodGet, "/v1/estimates/accuracy", nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// WhatIf replays the live queue under a proposed configuration and
// compares the waits per account with the current one (fairway sim
// --from-live). Operators and administrators only.
func (c *Client) WhatIf(ctx context.Context, req api.WhatIfRequest) (*api.WhatIfResult, error) {
	cc := *c
	cc.attemptTimeout = max(c.attemptTimeout, WhatIfAttemptTimeout)
	var res api.WhatIfResult
	if _, err := cc.do(ctx, http.MethodPost, "/v1/whatif", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Estimates returns the leader's latest start estimates of the pending
// jobs (squeue --start).
func (c *Client) Estimates(ctx context.Context) (*api.EstimatesResponse, error) {
	var resp api.EstimatesResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/estimates", nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}
