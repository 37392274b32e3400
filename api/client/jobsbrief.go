package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// JobsBrief lists jobs in the brief view (api.BriefJobsContentType): each
// job carries what squeue prints and no more. A controller without the
// view answers with whole jobs, which JobsBrief returns as they are.
func (c *Client) JobsBrief(ctx context.Context, f JobFilter, q QueryOptions) (*api.JobsResponse, error) {
	v := f.values()
	v.Set(api.JobsViewParam, api.JobsViewBrief)
	var resp briefJobs
	if _, err := c.do(ctx, http.MethodGet, withQuery("/v1/jobs", q.values(v)), nil, &resp); err != nil {
		return nil, err
	}
	return &resp.JobsResponse, nil
}

// briefJobs is GET /v1/jobs?view=brief's answer: the brief list, or the
// JSON list from a controller without views.
type briefJobs struct{ api.JobsResponse }

// decodeBody implements bodyDecoder.
func (b *briefJobs) decodeBody(contentType string, data []byte) error {
	if mt, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(mt) == briefMediaType {
		resp, err := api.DecodeBriefJobs(data)
		b.JobsResponse = resp
		return err
	}
	return json.Unmarshal(data, &b.JobsResponse)
}

// briefMediaType is api.BriefJobsContentType without its parameters.
var briefMediaType, _, _ = strings.Cut(api.BriefJobsContentType, ";")
