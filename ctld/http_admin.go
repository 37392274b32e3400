package ctld

import (
	"net/http"

	"github.com/fairway-hpc/fairway/api"
)

// The administration routes (scontrol update, sdiag); registered by
// Controller.handler.

func (c *Controller) handleUpdateJob(w http.ResponseWriter, r *http.Request) {
	ref, err := jobRef(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	var u api.JobUpdate
	if err := decodeBody(w, r, &u, false, smallBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	res, err := c.svc.UpdateJob(r.Context(), callerOf(r), ref, u)
	c.writeAction(w, r, res, err)
}

func (c *Controller) handleUpdateNodes(w http.ResponseWriter, r *http.Request) {
	var u api.NodeUpdate
	if err := decodeBody(w, r, &u, false, smallBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	res, err := c.svc.UpdateNodes(r.Context(), callerOf(r), u)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.NodeUpdateResponse{Index: res.Index, Affected: res.Affected})
}

func (c *Controller) handleUpdatePartition(w http.ResponseWriter, r *http.Request) {
	var u api.PartitionUpdate
	if err := decodeBody(w, r, &u, false, smallBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	u.Name = r.PathValue("name")
	res, err := c.svc.UpdatePartition(r.Context(), callerOf(r), u)
	c.writeAction(w, r, res, err)
}

func (c *Controller) handleDiag(w http.ResponseWriter, r *http.Request) {
	resp, err := c.svc.Diag(r.Context(), callerOf(r))
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleResetDiag answers POST /v1/diag/reset (sdiag -r).
func (c *Controller) handleResetDiag(w http.ResponseWriter, r *http.Request) {
	err := c.svc.ResetDiag(r.Context(), callerOf(r))
	c.writeAction(w, r, WriteResult{Index: c.store.Index()}, err)
}
