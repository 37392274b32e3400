// Package trace reads workload traces for the simulator: the Standard
// Workload Format (SWF) of the Parallel Workloads Archive, the
// Philly-derived GPU trace of the Chronus artifact, and the Alibaba GPU
// cluster trace (openb pods and nodes). Each reader turns records into Jobs
// and counts the records it could not use, by reason; Filter then drops, and
// counts, the jobs that cannot run on a given machine. Nothing is dropped
// silently.
package trace

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Job is one job of a trace, in the trace's own terms.
type Job struct {
	// ID is the job's number in the trace (SWF job number, CSV job id or
	// row), unique within the trace.
	ID int64
	// Submit is the submit time, seconds from the trace's start.
	Submit int64
	// Run is the run time in seconds.
	Run int64
	// Requested is the requested time (the time limit) in seconds; 0 when
	// the trace gives none.
	Requested int64
	// Procs is the number of processors (SWF); 0 for GPU traces.
	Procs int
	// GPUs is the number of GPUs (GPU traces); 0 for CPU jobs.
	GPUs int
	// CPUMilli and MemoryMB are per-job CPU (thousandths) and memory, when
	// the trace gives them (Alibaba).
	CPUMilli int
	MemoryMB int64
	// User and Group identify the submitter (SWF user and group numbers,
	// the Philly virtual cluster, the Alibaba QoS class).
	User  string
	Group string
	// Wait is the wait time the trace recorded (SWF field 3), -1 if unknown.
	Wait int64
	// Status is the SWF status field (1 completed, 0 failed, 5 cancelled,
	// -1 unknown); 1 for GPU traces.
	Status int
}

// Machine is the cluster a trace ran on (or is replayed on).
type Machine struct {
	// Nodes is the number of nodes.
	Nodes int
	// CPUsPerNode is each node's processors.
	CPUsPerNode int
	// GPUsPerNode is each node's GPUs (0 for CPU machines).
	GPUsPerNode int
}

// Procs is the machine's total processors.
func (m Machine) Procs() int { return m.Nodes * m.CPUsPerNode }

// GPUs is the machine's total GPUs.
func (m Machine) GPUs() int { return m.Nodes * m.GPUsPerNode }

// Trace is a parsed trace.
type Trace struct {
	// Format is "swf", "philly" or "alibaba".
	Format string
	// Jobs are the usable jobs, sorted by submit time then ID.
	Jobs []Job
	// Machine is the machine the trace's header describes (SWF MaxNodes and
	// MaxProcs); zero when the format has none.
	Machine Machine
	// Header holds the SWF header comments, verbatim, without the
	// leading ';' (the sites' notices).
	Header []string
	// HeaderFields are the "Key: value" header entries.
	HeaderFields map[string]string
	// Dropped counts the records that were not turned into jobs, by reason.
	Dropped Counts
	// Adjusted counts the jobs that were kept with a field changed, by
	// what was changed (for example a run time capped at the requested
	// time).
	Adjusted Counts
}

// Counts counts jobs by reason.
type Counts map[string]int

// Add counts one job for reason.
func (c Counts) Add(reason string) { c[reason]++ }

// Total is the sum of all counts.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// String lists the counts, largest first, as "reason: n; ...".
func (c Counts) String() string {
	keys := slices.SortedFunc(maps.Keys(c), func(a, b string) int {
		return cmp.Or(cmp.Compare(c[b], c[a]), strings.Compare(a, b))
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c[k]))
	}
	return strings.Join(parts, "; ")
}

// Filter reasons.
const (
	ReasonTooManyProcs = "more processors than the machine"
	ReasonTooManyGPUs  = "more GPUs than the machine"
	ReasonGPUShape     = "GPU count cannot be split over nodes of the machine"
	ReasonNoRequest    = "no requested time"
)

// FilterOptions say which jobs a machine can run.
type FilterOptions struct {
	// NeedRequested drops jobs with no requested time (policies that
	// backfill need one).
	NeedRequested bool
}

// Filter returns the jobs that can run on machine m and counts the others
// by reason. A job needs at most m.Procs() processors, or GPUs that split
// evenly over at most m.Nodes nodes (see GPUShape).
func Filter(jobs []Job, m Machine, opt FilterOptions) ([]Job, Counts) {
	kept := make([]Job, 0, len(jobs))
	dropped := Counts{}
	for _, j := range jobs {
		switch {
		case j.Procs > m.Procs():
			dropped.Add(ReasonTooManyProcs)
		case j.GPUs > m.GPUs():
			dropped.Add(ReasonTooManyGPUs)
		case j.GPUs > 0 && !shapeOK(j.GPUs, m):
			dropped.Add(ReasonGPUShape)
		case opt.NeedRequested && j.Requested <= 0:
			dropped.Add(ReasonNoRequest)
		default:
			kept = append(kept, j)
		}
	}
	return kept, dropped
}

func shapeOK(gpus int, m Machine) bool {
	nodes, _ := GPUShape(gpus, m.GPUsPerNode)
	return nodes > 0 && nodes <= m.Nodes
}

// GPUShape splits a job of gpus GPUs over nodes of perNode GPUs: the fewest
// nodes n such that gpus/n fits a node and divides gpus evenly (1-8 GPUs on
// 8-GPU nodes: one node; 16: two nodes of 8; 12: two of 6; 20: four of 5).
// It returns 0, 0 when no such split exists.
func GPUShape(gpus, perNode int) (nodes, gpusPerNode int) {
	if gpus <= 0 || perNode <= 0 {
		return 0, 0
	}
	for n := (gpus + perNode - 1) / perNode; n <= gpus; n++ {
		if gpus%n == 0 && gpus/n <= perNode {
			return n, gpus / n
		}
	}
	return 0, 0
}

// sortJobs orders jobs by submit time, then ID.
func sortJobs(jobs []Job) {
	slices.SortStableFunc(jobs, func(a, b Job) int {
		return cmp.Or(cmp.Compare(a.Submit, b.Submit), cmp.Compare(a.ID, b.ID))
	})
}

// Window returns n consecutive jobs starting at index start of jobs (in
// their order), with submit times shifted so that the first is 0.
func Window(jobs []Job, start, n int) ([]Job, error) {
	if start < 0 || n <= 0 || start+n > len(jobs) {
		return nil, fmt.Errorf("window [%d, %d) outside the %d jobs", start, start+n, len(jobs))
	}
	out := slices.Clone(jobs[start : start+n])
	base := out[0].Submit
	for i := range out {
		out[i].Submit -= base
	}
	return out, nil
}
