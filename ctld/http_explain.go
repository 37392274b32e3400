package ctld

import (
	"context"
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

// willRun answers POST /v1/jobs/will-run (sbatch --test-only): a
// SubmitRequest of one job, read with the submission's size limit.
func (c *Controller) willRun(ctx context.Context, caller Identity, req api.SubmitRequest) (api.WillRunResponse, error) {
	return c.svc.WillRun(ctx, caller, req.Jobs)
}
