// Package slurmrest serves a slurmrestd-compatible REST API, data_parser
// version v0.0.41 (Slurm 24.05/24.11), on the controller's HTTPS listener:
// the OpenAPI document (/openapi/v3), /slurm/v0.0.41/{jobs,job,nodes,node,
// partitions,partition,diag,ping} and /slurmdb/v0.0.41/{jobs,job}.
//
// The package decodes slurmrestd's requests, calls the controller through
// Backend (the same Service methods the /v1 API calls, with the caller's
// identity, so authorization, limits and validation are the /v1 ones) and
// encodes the answers in slurmrestd's shapes (api/slurmdata). Errors are
// answered in slurmrestd's shape: {"errors": [{description, error_number,
// error, source}], ...} with the HTTP status slurmrestd uses where
// slurmrestd's choice is a 4xx, and a 4xx where the caller must change the
// request (see Error).
package slurmrest
