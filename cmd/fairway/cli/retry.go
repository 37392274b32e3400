package cli

import (
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// This file holds sbatch's --retry (Fairway's own, after AWS Batch's retry
// strategy) and what scontrol show job prints of it, kept apart from the
// Slurm options.

// retryOpt is sbatch's --retry option (also #SBATCH --retry and SBATCH_RETRY).
func retryOpt() *opt {
	return &opt{long: "retry", usage: "N[,COND...]: run a failed job again up to N times (0: never, overriding the partition's default); " +
		"conditions on_exit:CODE[-CODE], on_signal[:SIG], on_node_fail, on_oom, on_launch_fail (none: any failure)"}
}

// applyRetry sets the spec's retry policy from --retry, checked as the
// controller checks it.
func applyRetry(spec *api.JobSpec, o optSet) error {
	v, ok := o.last("retry")
	if !ok {
		return nil
	}
	value := strings.ReplaceAll(strings.TrimSpace(v.value), " ", "")
	if _, err := api.ParseRetry("--retry", value); err != nil {
		return v.wrap(err)
	}
	spec.Retry = value
	return nil
}

// retryLine is scontrol show job's line for the retry policy in force (the
// job's own, else its partition's default) and the retries used, or nil when
// the job has none and has never been retried.
func (v *view) retryLine(j *api.Job) []string {
	policy := j.Spec.Retry
	if policy == "" {
		if p, ok := v.partition(j); ok {
			policy = p.Retry
		}
	}
	if policy == "" && j.Retries == 0 {
		return nil
	}
	return []string{kv("Retry", orNull(policy)), kv("Retries", j.Retries)}
}

// withRetryDefault adds the partition's default retry policy to scontrol
// show partition's record, when it has one.
func withRetryDefault(r record, p api.Partition) record {
	if p.Retry == "" {
		return r
	}
	return append(r, []string{kv("Retry", p.Retry)})
}
