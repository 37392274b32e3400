package ctld

import (
	"context"

	"github.com/fairway-hpc/fairway/api"
)

// The administration routes' own steps (scontrol update, sdiag); routes
// registers them.

// updateNodes answers POST /v1/nodes/update with the nodes it changed.
func (c *Controller) updateNodes(ctx context.Context, caller Identity, u api.NodeUpdate) (api.NodeUpdateResponse, error) {
	res, err := c.svc.UpdateNodes(ctx, caller, u)
	return api.NodeUpdateResponse{Index: res.Index, Affected: res.Affected}, err
}

// updatePartition answers POST /v1/partitions/{name}/update: the path
// names the partition, whatever the body says.
func (c *Controller) updatePartition(ctx context.Context, caller Identity, name string, u api.PartitionUpdate) (WriteResult, error) {
	u.Name = name
	return c.svc.UpdatePartition(ctx, caller, u)
}

// resetDiag answers POST /v1/diag/reset (sdiag -r) with the index now.
func (c *Controller) resetDiag(ctx context.Context, caller Identity) (WriteResult, error) {
	err := c.svc.ResetDiag(ctx, caller)
	return WriteResult{Index: c.store.Index()}, err
}
