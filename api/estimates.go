package api

// EstimatesResponse is the leader's latest start estimates of the pending
// jobs (GET /v1/estimates; squeue --start falls back on their P50 where a
// job has no backfill reservation).
type EstimatesResponse struct {
	// Now is the answering controller's clock (unix seconds).
	Now int64 `json:"now"`
	// MadeAt is when the estimates were made (unix seconds); 0 when there
	// are none (estimates off, none made yet, or a controller without a
	// leader to ask).
	MadeAt int64 `json:"made_at,omitempty"`
	// Estimates maps pending job IDs (array records: their next task) to
	// their start range.
	Estimates map[JobID]StartEstimate `json:"estimates,omitempty"`
}
