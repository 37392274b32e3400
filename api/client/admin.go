package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/fairway-hpc/fairway/api"
)

// UpdateJob changes a job (scontrol update JobId=...): a job ID, or
// ARRAYID_TASK for a started task.
func (c *Client) UpdateJob(ctx context.Context, ref api.JobRef, u api.JobUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(ref.String())+"/update", u, nil)
	return err
}

// UpdateNodes changes the state of nodes (scontrol update NodeName=...).
func (c *Client) UpdateNodes(ctx context.Context, u api.NodeUpdate) (*api.NodeUpdateResponse, error) {
	var resp api.NodeUpdateResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/update", u, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// UpdatePartition changes a partition (scontrol update PartitionName=...).
func (c *Client) UpdatePartition(ctx context.Context, u api.PartitionUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/partitions/"+url.PathEscape(u.Name)+"/update", u, nil)
	return err
}

// Diag returns the controller's scheduling and raft statistics (sdiag).
func (c *Client) Diag(ctx context.Context) (*api.DiagResponse, error) {
	var resp api.DiagResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/diag", nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ResetDiag resets the scheduling statistics sdiag shows (sdiag -r;
// operators and administrators).
func (c *Client) ResetDiag(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/diag/reset", struct{}{}, nil)
	return err
}
