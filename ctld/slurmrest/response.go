package slurmrest

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// apiError is one entry of a response's "errors" (v0.0.41_openapi_error).
type apiError struct {
	Description string `json:"description"`
	ErrorNumber int    `json:"error_number"`
	Error       string `json:"error"`
	Source      string `json:"source"`
}

// apiWarning is one entry of a response's "warnings"
// (v0.0.41_openapi_warning).
type apiWarning struct {
	Description string `json:"description"`
	Source      string `json:"source"`
}

// envelope returns body (a JSON object: a response type of api/slurmdata,
// or nil) with slurmrestd's common members set: meta (plugin, client,
// Slurm version, cluster), errors and warnings, as lists even when empty.
func (h *Handler) envelope(r *http.Request, body any, warnings []Warning, errs []apiError) map[string]any {
	out := map[string]any{}
	if body != nil {
		// Numbers stay as written (json.Number): no float64 round trip.
		b, err := json.Marshal(body)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			_ = dec.Decode(&out)
		}
	}
	ws := make([]apiWarning, 0, len(warnings))
	for _, w := range warnings {
		ws = append(ws, apiWarning(w))
	}
	if errs == nil {
		errs = []apiError{}
	}
	out["meta"] = h.meta(r)
	out["errors"] = errs
	out["warnings"] = ws
	return out
}

// respond answers 200 with body in its envelope.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, body any, warnings []Warning) {
	writeJSON(w, http.StatusOK, h.envelope(r, body, warnings, nil))
}
