package planapply

import (
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Slurm's default batch output file names: for a job, and for the tasks of
// a job array.
const (
	DefaultOutputPattern      = "slurm-%j.out"
	DefaultArrayOutputPattern = "slurm-%A_%a.out"
)

// noArrayIndex is what %a expands to for a job that is not part of an array
// (Slurm's NO_VAL).
const noArrayIndex = "4294967294"

// OutputPaths returns a job's stdout and stderr paths: the spec's patterns
// (else DefaultOutputPattern, or DefaultArrayOutputPattern for a job
// array; stderr, when not given, goes to the stdout
// file) expanded by ExpandPattern, relative ones under the work directory.
// node is the allocation's first node, "" before the job starts.
//
// This is the only place Fairway expands Slurm's filename patterns: the
// controller stores the result when a job is submitted (for display, with
// %N unexpanded) and again when it starts, each time from the pattern the
// user gave, and the node daemon opens the stored path as it is.
func OutputPaths(j *api.Job, node string) (stdout, stderr string) {
	pattern := j.Spec.Stdout
	if pattern == "" {
		pattern = DefaultOutputPattern
		if j.ArrayJobID != 0 {
			pattern = DefaultArrayOutputPattern
		}
	}
	stdout = underWorkDir(ExpandPattern(pattern, j, node), j.Spec.WorkDir)
	if j.Spec.Stderr == "" {
		return stdout, stdout
	}
	return stdout, underWorkDir(ExpandPattern(j.Spec.Stderr, j, node), j.Spec.WorkDir)
}

// InputPath returns the batch script's standard input path: the spec's
// --input pattern expanded by ExpandPattern, a relative one under the work
// directory; "" (the node reads /dev/null) when there is none. node is the
// allocation's first node, "" before the job starts. Like OutputPaths it
// is stored at submission and again at the start.
func InputPath(j *api.Job, node string) string {
	if j.Spec.Stdin == "" {
		return ""
	}
	return underWorkDir(ExpandPattern(j.Spec.Stdin, j, node), j.Spec.WorkDir)
}

func underWorkDir(p, dir string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// ExpandPattern expands Slurm's filename pattern symbols for the batch
// script of job j on node (the allocation's first node; "" before the job
// starts):
//
//	\   anywhere in the pattern: nothing is expanded, and the backslashes
//	    are removed ("job\%j.out" is "job%j.out")
//	%%  a literal %
//	%A  the array job ID (the job ID for a job that is not an array task)
//	%a  the array task index (4294967294 for a job that is not an array task)
//	%j  the job ID
//	%J  job ID.step ID: the job ID for the batch script
//	%N  the node's short name (kept as "%N" before the job starts)
//	%n  %t  node and task index relative to the job: 0 for the batch script
//	%s  the step: "batch" for the batch script
//	%u  the user name
//	%x  the job name
//
// A number between % and a numeric symbol zero-pads it to that width (at
// most 10): "%4j" of job 128 is "0128". Other symbols are kept as written.
func ExpandPattern(pattern string, j *api.Job, node string) string {
	return expandPattern(pattern, j, node, StepPattern{Step: api.StepBatch})
}

// StepPattern is where a job step's task stands, for ExpandStepPattern.
type StepPattern struct {
	Step   int // the step ID; api.StepBatch for the batch script
	NodeID int // the node's index in the step (%n)
	Task   int // the task's global rank (%t)
}

// ExpandStepPattern expands a pattern as ExpandPattern does, for a task of
// a job step (srun --output/--error) on node: %s is the step ID, %J is
// JOBID.STEPID, %n the node's index in the step and %t the task's rank.
func ExpandStepPattern(pattern string, j *api.Job, node string, s StepPattern) string {
	return expandPattern(pattern, j, node, s)
}

func expandPattern(pattern string, j *api.Job, node string, s StepPattern) string {
	if strings.Contains(pattern, `\`) {
		return strings.ReplaceAll(pattern, `\`, "")
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		k := i + 1
		for k < len(pattern) && pattern[k] >= '0' && pattern[k] <= '9' {
			k++
		}
		if k >= len(pattern) {
			b.WriteString(pattern[i:])
			break
		}
		width, _ := strconv.Atoi(pattern[i+1 : k])
		width = min(width, 10)
		num := func(v uint64) {
			s := strconv.FormatUint(v, 10)
			for range width - len(s) {
				b.WriteByte('0')
			}
			b.WriteString(s)
		}
		switch pattern[k] {
		case '%':
			b.WriteByte('%')
		case 'j':
			num(uint64(j.ID))
		case 'J':
			num(uint64(j.ID))
			if s.Step != api.StepBatch {
				b.WriteString("." + strconv.Itoa(s.Step))
			}
		case 'A':
			if j.ArrayJobID != 0 {
				num(uint64(j.ArrayJobID))
			} else {
				num(uint64(j.ID))
			}
		case 'a':
			if j.IsArrayTask() {
				num(uint64(j.ArrayTaskID))
			} else {
				b.WriteString(noArrayIndex)
			}
		case 'n':
			num(uint64(max(s.NodeID, 0)))
		case 't':
			num(uint64(max(s.Task, 0)))
		case 's':
			if s.Step == api.StepBatch {
				b.WriteString("batch")
			} else {
				b.WriteString(strconv.Itoa(s.Step))
			}
		case 'N':
			if node == "" {
				b.WriteString(pattern[i : k+1])
			} else {
				b.WriteString(shortHostname(node))
			}
		case 'u':
			b.WriteString(j.Spec.User)
		case 'x':
			b.WriteString(j.Spec.Name)
		default:
			b.WriteString(pattern[i : k+1])
		}
		i = k
	}
	return b.String()
}

// shortHostname is a node name without its domain.
func shortHostname(node string) string {
	if i := strings.IndexByte(node, '.'); i > 0 {
		return node[:i]
	}
	return node
}

// CheckpointDir is the checkpoint directory of job id: under the cluster's
// scheduling.checkpoint_dir_base, or empty (the node daemon's own base)
// when there is none.
func CheckpointDir(cfg *api.ClusterConfig, id api.JobID) string {
	base := cfg.Scheduling.CheckpointDirBase
	if base == "" {
		return ""
	}
	return path.Join(base, id.String())
}
