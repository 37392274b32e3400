package api

// WillRunResponse answers POST /v1/jobs/will-run (sbatch --test-only): when
// and where the job of the request would start if it were submitted now.
// Nothing is submitted: no job ID is used and nothing is committed.
type WillRunResponse struct {
	// JobID is the ID the job would get (the next job ID now): Slurm's
	// "Job NNN to start at ...".
	JobID JobID `json:"job_id"`
	// StartTime is the start of the median replay of the controller's
	// forecast (unix seconds).
	StartTime int64 `json:"start_time"`
	// Nodes, Partition and CPUs are where that replay started it and the
	// CPUs it held there in all (Slurm's "using N processors").
	Nodes     []string `json:"nodes"`
	Partition string   `json:"partition"`
	CPUs      int      `json:"cpus"`
	// Estimate is the start range over all the replays.
	Estimate StartEstimate `json:"estimate"`
}
