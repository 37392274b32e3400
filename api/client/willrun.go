package client

import (
	"context"
	"net/http"

	"github.com/fairway-hpc/fairway/api"
)

// WillRun asks when and where the job would start if it were submitted
// now, without submitting it (sbatch --test-only). Asking again is safe:
// nothing changes.
func (c *Client) WillRun(ctx context.Context, spec api.JobSpec) (*api.WillRunResponse, error) {
	var resp api.WillRunResponse
	if _, err := c.do(withIdempotent(ctx), http.MethodPost, "/v1/jobs/will-run", api.SubmitRequest{Jobs: []api.JobSpec{spec}}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}
