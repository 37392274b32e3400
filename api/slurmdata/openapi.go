package slurmdata

import _ "embed"

//go:embed openapi.json
var openapiJSON []byte

// The component schemas of the responses, as slurmrestd names them.
const (
	JobInfoRespSchema      = "v0.0.41_openapi_job_info_resp"
	NodesRespSchema        = "v0.0.41_openapi_nodes_resp"
	PartitionRespSchema    = "v0.0.41_openapi_partition_resp"
	DiagRespSchema         = "v0.0.41_openapi_diag_resp"
	SlurmdbdJobsRespSchema = "v0.0.41_openapi_slurmdbd_jobs_resp"
	SinfoRespSchema        = "v0.0.41_openapi_sinfo_resp"
	ErrorsSchema           = "v0.0.41_openapi_errors"
)

// OpenAPIComponents returns an OpenAPI 3.0 document with no paths whose
// components.schemas are this package's types, under slurmrestd's names
// (v0.0.41_openapi_job_info_resp and what it refers to). A server adds
// its paths and refers to these. The caller must not modify the bytes.
func OpenAPIComponents() []byte { return openapiJSON }
