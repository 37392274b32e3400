package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
func (b *briefJobs) decodeBody(contentType string, body io.Reader) error {
	b.JobsResponse = api.JobsResponse{}
	each := &briefJobsEach{
		head: func(index uint64, now int64) error {
			b.JobsResponse = api.JobsResponse{Index: index, Now: now, Jobs: []*api.Job{}}
			return nil
		},
		each: func(j *api.Job) error {
			c := *j
			b.Jobs = append(b.Jobs, &c)
			return nil
		},
	}
	return each.decodeBody(contentType, body)
}

// briefMediaType is api.BriefJobsContentType without its parameters.
var briefMediaType, _, _ = strings.Cut(api.BriefJobsContentType, ";")

// JobsBriefEach lists jobs in the brief view as JobsBrief does, without
// holding them: it calls head with the list's raft index and the
// controller's clock, then each with every job, in the controller's order
// (see api.ReadBriefJobs: the job passed to each is reused). head is
// called again when the list is read anew from another controller, and
// should drop what each collected before.
func (c *Client) JobsBriefEach(ctx context.Context, f JobFilter, q QueryOptions, head func(index uint64, now int64) error, each func(j *api.Job) error) error {
	v := f.values()
	v.Set(api.JobsViewParam, api.JobsViewBrief)
	out := &briefJobsEach{head: head, each: each}
	_, err := c.do(ctx, http.MethodGet, withQuery("/v1/jobs", q.values(v)), nil, out)
	return err
}

// briefJobsEach reads GET /v1/jobs?view=brief's answer job by job: the
// brief list, or the JSON list from a controller without views.
type briefJobsEach struct {
	head func(index uint64, now int64) error
	each func(j *api.Job) error
}

// decodeBody implements bodyDecoder.
func (b *briefJobsEach) decodeBody(contentType string, body io.Reader) error {
	if mt, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(mt) == briefMediaType {
		return api.ReadBriefJobs(body, b.head, b.each)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	var resp api.JobsResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return err
	}
	if err := b.head(resp.Index, resp.Now); err != nil {
		return err
	}
	for _, j := range resp.Jobs {
		if err := b.each(j); err != nil {
			return err
		}
	}
	return nil
}
