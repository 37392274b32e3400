package slurmrest

import (
	"net/http"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// TEMPORARY: these renderings stand in for api/slurmdata's converters until
// that package is merged; they carry only the members every response type
// requires.

// Document returns the OpenAPI document this API serves.
func Document() ([]byte, error) {
	return buildDocument([]byte(`{"components":{"schemas":{
"v0.0.41_openapi_job_info_resp":{"type":"object","required":["jobs","last_backfill","last_update"],"properties":{"jobs":{"type":"array","items":{"type":"object"}},"last_backfill":{"$ref":"#/components/schemas/v0.0.41_uint64_no_val_struct"},"last_update":{"$ref":"#/components/schemas/v0.0.41_uint64_no_val_struct"},"meta":{"$ref":"#/components/schemas/v0.0.41_openapi_meta"},"errors":{"$ref":"#/components/schemas/v0.0.41_openapi_errors"},"warnings":{"$ref":"#/components/schemas/v0.0.41_openapi_warnings"}}},
"v0.0.41_openapi_nodes_resp":{"type":"object","required":["nodes"],"properties":{"nodes":{"type":"array","items":{"type":"object"}}}},
"v0.0.41_openapi_partition_resp":{"type":"object","required":["partitions"],"properties":{"partitions":{"type":"array","items":{"type":"object"}}}},
"v0.0.41_openapi_diag_resp":{"type":"object","required":["statistics"],"properties":{"statistics":{"type":"object"}}},
"v0.0.41_openapi_slurmdbd_jobs_resp":{"type":"object","required":["jobs"],"properties":{"jobs":{"type":"array","items":{"type":"object"}}}}
}}}`))
}

type noValOut struct {
	Set      bool  `json:"set"`
	Infinite bool  `json:"infinite"`
	Number   int64 `json:"number"`
}

func emptyJobInfo() any {
	return map[string]any{"jobs": []any{}, "last_backfill": noValOut{}, "last_update": noValOut{}}
}

func (h *Handler) jobInfo(jobs []*api.Job, now int64) any {
	out := make([]map[string]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, map[string]any{"job_id": j.ID, "name": j.Spec.Name, "user_name": j.Spec.User, "job_state": []string{string(j.State)}})
	}
	return map[string]any{"jobs": out, "last_backfill": noValOut{}, "last_update": noValOut{Set: true, Number: now}}
}

func emptyNodes() any { return map[string]any{"nodes": []any{}} }

func (h *Handler) nodes(nodes []*api.Node, _ int64) any {
	out := make([]map[string]any, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, map[string]any{"name": n.Name})
	}
	return map[string]any{"nodes": out}
}

func emptyPartitions() any { return map[string]any{"partitions": []any{}} }

func (h *Handler) partitions(parts []api.Partition, _ []*api.Node) any {
	out := make([]map[string]any, 0, len(parts))
	for _, p := range parts {
		out = append(out, map[string]any{"name": p.Name})
	}
	return map[string]any{"partitions": out}
}

func emptyDiag() any { return map[string]any{"statistics": map[string]any{}} }

func (h *Handler) diag(d api.DiagResponse) any {
	return map[string]any{"statistics": map[string]any{"jobs_submitted": d.JobsSubmitted}}
}

func emptyDBJobs() any { return map[string]any{"jobs": []any{}} }

func (h *Handler) dbJobs(jobs []*api.Job, _ int64) any {
	out := make([]map[string]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, map[string]any{"job_id": j.ID, "name": j.Spec.Name, "user": j.Spec.User, "state": map[string]any{"current": []string{string(j.State)}}})
	}
	return map[string]any{"jobs": out}
}

// meta is the responses' meta member.
func (h *Handler) meta(r *http.Request) map[string]any {
	user, group := h.opts.Backend.Caller(r.Context())
	plugin := "openapi/slurmctld"
	if strings.HasPrefix(r.URL.Path, "/slurmdb/") {
		plugin = "openapi/slurmdbd"
	}
	return map[string]any{
		"plugin": map[string]any{"type": plugin, "name": "Slurm OpenAPI " + strings.TrimPrefix(plugin, "openapi/"),
			"data_parser": "data_parser/" + Version, "accounting_storage": "accounting_storage/fairway"},
		"client":  map[string]any{"source": r.RemoteAddr, "user": user, "group": group},
		"command": []string{},
		"slurm": map[string]any{"version": map[string]any{"major": "24", "micro": "0", "minor": "11"},
			"release": "24.11.0", "cluster": h.opts.ClusterName},
	}
}
