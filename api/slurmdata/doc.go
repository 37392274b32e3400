// Package slurmdata holds Fairway's jobs, nodes, partitions, statistics
// and accounting records in the shape of Slurm's data_parser v0.0.41: the
// JSON (and YAML) that Slurm 24.05 and 24.11 print for squeue --json,
// sinfo --json, sacct --json and scontrol show --json, and that slurmrestd
// answers under /slurm/v0.0.41 and /slurmdb/v0.0.41.
//
// The types follow the component schemas of slurmrestd 24.05's OpenAPI
// document field for field (same names, same nesting, every field always
// printed); OpenAPIComponents returns those schemas as this package
// generates them from the types. The converters (JobInfoResponse,
// NodesResponse, PartitionResponse, SinfoResponse, DiagResponse,
// SlurmdbdJobsResponse) are pure functions of Fairway's API objects and
// Options (the time now, the cluster's name, the command line).
//
// Scripts and environments are never part of these objects.
package slurmdata

// DataParser is the data_parser plugin whose schema this package prints.
const DataParser = "data_parser/v0.0.41"

// Version is the data_parser version, as slurmrestd's paths name it.
const Version = "v0.0.41"
