package ctld

import (
	"net/http"

	"github.com/fairway-hpc/fairway/api"
)

// handleAssoc serves POST /v1/assoc: a sacctmgr change (api.AssocRequest),
// answered with the api.AssocResult.
func (c *Controller) handleAssoc(w http.ResponseWriter, r *http.Request) {
	var req api.AssocRequest
	if err := decodeBody(w, r, &req, false, configBodyBytes); err != nil {
		c.writeErr(w, r, err)
		return
	}
	res, err := c.svc.ChangeAssociations(r.Context(), callerOf(r), req)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
