package ctld

import (
	"net/http"

	"github.com/fairway-hpc/fairway/api"
)

// leaderPreferred runs h on the leader, forwards the request to the
// leader when one is known, and runs h here otherwise: a read whose best
// answer the leader has (explain: the latest start estimate lives in its
// memory) but that any replica can answer less well.
func (c *Controller) leaderPreferred(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.store.IsLeader() || r.Header.Get(forwardedHeader) != "" {
			h(w, r)
			return
		}
		if addr := c.store.LeaderHTTPAddr(); addr != "" && addr != c.advertise {
			c.forward(w, r)
			return
		}
		h(w, r)
	}
}

// handleExplain answers GET /v1/jobs/{id}/explain.
func (c *Controller) handleExplain(w http.ResponseWriter, r *http.Request) {
	ref, err := jobRef(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	e, idx, err := c.svc.Explain(r.Context(), callerOf(r), ref, q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeRead(w, idx, e)
}

// handleEstimateAccuracy answers GET /v1/estimates/accuracy.
func (c *Controller) handleEstimateAccuracy(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	acc, idx, err := c.svc.EstimateAccuracy(r.Context(), callerOf(r), q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeRead(w, idx, acc)
}

// handleWhatIf answers POST /v1/whatif.
func (c *Controller) handleWhatIf(w http.ResponseWriter, r *http.Request) {
	var req api.WhatIfRequest
	if err := decodeBody(w, r, &req, true, configBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	res, err := c.svc.WhatIf(r.Context(), callerOf(r), req)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleEstimates answers GET /v1/estimates.
func (c *Controller) handleEstimates(w http.ResponseWriter, r *http.Request) {
	resp, err := c.svc.Estimates(r.Context(), callerOf(r))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleWillRun answers POST /v1/jobs/will-run (sbatch --test-only): a
// SubmitRequest of one job, read with the submission's size limit.
func (c *Controller) handleWillRun(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	cfg := c.store.State().Config()
	if err := decodeBody(w, r, &req, false, cfg.MaxScriptBytesOrDefault()+submitSlackBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	resp, err := c.svc.WillRun(r.Context(), callerOf(r), req.Jobs)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
