package cli

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// view is what formatting needs besides the jobs and nodes themselves.
type view struct {
	now   int64 // unix seconds: the controller's clock when it answered
	loc   *time.Location
	parts map[string]api.Partition // nil when not fetched
	// estimates are the controller's start estimates of pending jobs
	// (squeue's %S falls back on their P50); nil when not fetched.
	estimates map[api.JobID]api.StartEstimate
	// cluster is the cluster's name (squeue -O cluster, sacct's Cluster).
	cluster string
	// noconvert prints memory in megabytes, unconverted (--noconvert).
	noconvert bool
	// units is sacct --units: memory in K, M, G, T or P (0: Slurm's choice).
	units byte
	// groupName names a group id ("" when unknown; nil: never known).
	groupName func(gid int) string
}

func (v *view) date(unix int64) string { return slurmtime.Date(unix, v.loc) }

// partition returns the partition a job runs in, or the first it asked for.
func (v *view) partition(j *api.Job) (api.Partition, bool) {
	name := j.Partition
	if name == "" && len(j.Spec.Partitions) > 0 {
		name = j.Spec.Partitions[0]
	}
	p, ok := v.parts[name]
	return p, ok
}

// timeLimit returns the job's time limit in seconds: its own, or its
// partition's default. unlimited reports no limit; known is false when the
// limit depends on a partition that is not known.
func (v *view) timeLimit(j *api.Job) (secs int64, unlimited, known bool) {
	switch {
	case api.Unlimited(j.Spec.TimeLimitSecs):
		return 0, true, true
	case j.Spec.TimeLimitSecs > 0:
		return j.Spec.TimeLimitSecs, false, true
	}
	p, ok := v.partition(j)
	if !ok {
		return 0, false, false
	}
	return p.DefaultTime(), false, true
}

// memoryMB is the job's memory per node: its own --mem, else its partition's default.
func (v *view) memoryMB(j *api.Job) int64 {
	if j.Spec.MemoryMB > 0 {
		return j.Spec.MemoryMB
	}
	if p, ok := v.partition(j); ok {
		return p.DefaultMemory()
	}
	return 0
}

// runTime is how long the job has run (0 while pending).
func (v *view) runTime(j *api.Job) int64 {
	if j.State == api.JobPending {
		return 0
	}
	return int64(j.RunTime(time.Unix(v.now, 0)) / time.Second)
}

// partitionList is the partition column: the one it runs in, or every one a
// pending job may start in ("gpu,cpu"), as squeue prints it.
func partitionList(j *api.Job) string {
	if j.State == api.JobPending && len(j.Spec.Partitions) > 1 {
		return strings.Join(j.Spec.Partitions, ",")
	}
	if j.Partition != "" {
		return j.Partition
	}
	if len(j.Spec.Partitions) > 0 {
		return strings.Join(j.Spec.Partitions, ",")
	}
	return "(null)"
}

// jobNodes is the nodes the job holds, or held in its last run.
func jobNodes(j *api.Job) []string {
	if len(j.Alloc) > 0 {
		return j.NodeNames()
	}
	if j.State != api.JobPending && len(j.Runs) > 0 {
		last := j.Runs[len(j.Runs)-1]
		if last.Run == j.RestartCount {
			return last.Nodes
		}
	}
	return nil
}

// numNodes is the job's node count: what it holds, else what it asks for.
func numNodes(j *api.Job) int {
	if n := len(jobNodes(j)); n > 0 {
		return n
	}
	return max(j.Spec.Nodes, 1)
}

// numCPUs is the job's CPU count: what it holds, else what it asks for.
func numCPUs(j *api.Job) int {
	if len(j.Alloc) > 0 {
		n := 0
		for _, a := range j.Alloc {
			n += a.CPUs
		}
		return n
	}
	return j.Spec.TotalCPUsPerNode() * numNodes(j)
}

// started reports whether the job has run at some point.
func started(j *api.Job) bool { return j.StartTime != 0 || len(j.Runs) > 0 }

// allocCPUs is sacct's AllocCPUS: the CPUs held, 0 for a job that never started.
func allocCPUs(j *api.Job) int {
	if !started(j) || j.State == api.JobPending {
		return 0
	}
	return numCPUs(j)
}

// gresString is squeue's %b for the job: "gres/gpu:2", "gres/gpu:h100:2" or "N/A".
func gresString(s *api.JobSpec) string {
	if s.GPUs == 0 {
		return "N/A"
	}
	if s.GPUType != "" {
		return fmt.Sprintf("gres/gpu:%s:%d", s.GPUType, s.GPUs)
	}
	return fmt.Sprintf("gres/gpu:%d", s.GPUs)
}

// memString prints megabytes as Slurm does: in the largest unit that divides
// them exactly ("16G", "1500M", "2T").
func memString(mb int64) string {
	if mb <= 0 {
		return "0"
	}
	units := "MGTP"
	i := 0
	for i < len(units)-1 && mb%1024 == 0 {
		mb /= 1024
		i++
	}
	return strconv.FormatInt(mb, 10) + units[i:i+1]
}

// tres is a set of trackable resources (Slurm's TRES).
type tres struct {
	cpu, node, gpu int
	memMB          int64
	gpuType        string
}

// reqTRES is what the job asks for in total.
func (v *view) reqTRES(j *api.Job) tres {
	nodes := max(j.Spec.Nodes, 1)
	return tres{
		cpu:     j.Spec.TotalCPUsPerNode() * nodes,
		node:    nodes,
		memMB:   v.memoryMB(j) * int64(nodes),
		gpu:     j.Spec.GPUs * nodes,
		gpuType: j.Spec.GPUType,
	}
}

// allocTRES is what the job holds; ok is false when it holds nothing.
func (v *view) allocTRES(j *api.Job) (tres, bool) {
	if len(j.Alloc) == 0 {
		if !started(j) || j.State == api.JobPending {
			return tres{}, false
		}
		t := v.reqTRES(j)
		if n := len(jobNodes(j)); n > 0 {
			t.node = n
		}
		return t, true
	}
	t := tres{node: len(j.Alloc), gpuType: j.Spec.GPUType}
	for _, a := range j.Alloc {
		t.cpu += a.CPUs
		t.memMB += a.MemoryMB
		t.gpu += len(a.GPUs)
	}
	return t, true
}

// scontrolString prints TRES in scontrol's order: cpu, mem, node, billing, gres.
func (t tres) scontrolString() string {
	s := fmt.Sprintf("cpu=%d,mem=%s,node=%d,billing=%d", t.cpu, memString(t.memMB), t.node, t.cpu)
	return s + t.gresPart()
}

// sacctString prints TRES in sacct's (alphabetical) order.
func (t tres) sacctString() string {
	s := fmt.Sprintf("billing=%d,cpu=%d", t.cpu, t.cpu)
	s += t.gresPart()
	return s + fmt.Sprintf(",mem=%s,node=%d", memString(t.memMB), t.node)
}

func (t tres) gresPart() string {
	if t.gpu == 0 {
		return ""
	}
	s := fmt.Sprintf(",gres/gpu=%d", t.gpu)
	if t.gpuType != "" {
		s += fmt.Sprintf(",gres/gpu:%s=%d", t.gpuType, t.gpu)
	}
	return s
}

// stateRank orders job states as Slurm's enum does (squeue -S t).
func stateRank(s api.JobState) int {
	switch s {
	case api.JobPending:
		return 0
	case api.JobRunning:
		return 1
	case api.JobCompleted:
		return 3
	case api.JobCancelled:
		return 4
	case api.JobFailed:
		return 5
	case api.JobTimeout:
		return 6
	case api.JobNodeFail:
		return 7
	case api.JobPreempted:
		return 8
	case api.JobOutOfMemory:
		return 11
	case api.JobRequeued:
		return 12
	}
	return 99
}

// allJobStates lists the states a job can be in, for state filters.
func allJobStates() []api.JobState {
	return []api.JobState{
		api.JobPending, api.JobRunning, api.JobCompleted, api.JobFailed, api.JobCancelled,
		api.JobTimeout, api.JobNodeFail, api.JobPreempted, api.JobOutOfMemory, api.JobRequeued,
	}
}

// parseStates parses a comma-separated list of job states, by long or short
// name in any case ("PD,running", "all").
func parseStates(list, option string) (map[api.JobState]bool, error) {
	out := map[api.JobState]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.ToUpper(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		if item == "ALL" {
			for _, s := range allJobStates() {
				out[s] = true
			}
			continue
		}
		found := false
		for _, s := range allJobStates() {
			if item == string(s) || item == s.Short() || (item == "CANCELED" && s == api.JobCancelled) {
				out[s] = true
				found = true
			}
		}
		if !found {
			var names []string
			for _, s := range allJobStates() {
				names = append(names, fmt.Sprintf("%s (%s)", s, s.Short()))
			}
			return nil, &api.FieldError{Field: option, Value: item, Msg: "unknown job state; use " + strings.Join(names, ", ") + " or all"}
		}
	}
	return out, nil
}

// parseJobRefs parses job references — job ids and ARRAYID_TASK array
// tasks — given as separate arguments and/or comma lists.
func parseJobRefs(args []string, option string) ([]api.JobRef, error) {
	var refs []api.JobRef
	for _, a := range args {
		for _, s := range strings.Split(a, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			ref, err := api.ParseJobRef(s)
			if err != nil {
				msg := "not a job id; job ids are positive numbers such as 42"
				if strings.Contains(s, "_") {
					msg = "not a job array task; write ARRAYID_TASK, such as 42_3"
				}
				return nil, &api.FieldError{Field: option, Value: s, Msg: msg}
			}
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// refIDs returns the job ids of references (the array's for a task).
func refIDs(refs []api.JobRef) []api.JobID {
	var ids []api.JobID
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}

// refSet selects jobs by reference: a job id selects the job and, when it is
// a job array, all of the array; ARRAYID_TASK selects that task (or the
// array's record while the task has not started).
type refSet struct {
	ids   map[api.JobID]bool
	tasks map[api.JobID]map[int]bool
}

// newRefSet returns the set, or nil for no references (everything matches).
func newRefSet(refs []api.JobRef) *refSet {
	if len(refs) == 0 {
		return nil
	}
	s := &refSet{ids: map[api.JobID]bool{}, tasks: map[api.JobID]map[int]bool{}}
	for _, r := range refs {
		if r.Task == nil {
			s.ids[r.ID] = true
			continue
		}
		if s.tasks[r.ID] == nil {
			s.tasks[r.ID] = map[int]bool{}
		}
		s.tasks[r.ID][*r.Task] = true
	}
	return s
}

// match reports whether the set selects the job.
func (s *refSet) match(j *api.Job) bool {
	if s == nil {
		return true
	}
	if s.ids[j.ID] || (j.ArrayJobID != 0 && s.ids[j.ArrayJobID]) {
		return true
	}
	tasks := s.tasks[j.ArrayJobID]
	switch {
	case tasks == nil:
		return false
	case j.IsArrayTask():
		return tasks[j.ArrayTaskID]
	}
	for t := range tasks {
		if j.ArrayPending.Contains(t) {
			return true
		}
	}
	return false
}

// arrayBase is the job id a job sorts under: its array job id for a job of
// an array, else its own.
func arrayBase(j *api.Job) api.JobID {
	if j.ArrayJobID != 0 {
		return j.ArrayJobID
	}
	return j.ID
}

// arrayTask is a job's task index for sorting: -1 for a plain job and for an
// array's record, which sorts before its tasks.
func arrayTask(j *api.Job) int {
	if j.IsArrayTask() {
		return j.ArrayTaskID
	}
	return -1
}

// compareJobIDs orders jobs as Slurm lists them: by job id, the tasks of an
// array together under the array job id, by task index.
func compareJobIDs(a, b *api.Job) int {
	switch {
	case arrayBase(a) != arrayBase(b):
		if arrayBase(a) < arrayBase(b) {
			return -1
		}
		return 1
	case arrayTask(a) != arrayTask(b):
		if arrayTask(a) < arrayTask(b) {
			return -1
		}
		return 1
	}
	return 0
}

// qosName is the job's QOS, "normal" when it names none.
func qosName(s *api.JobSpec) string {
	if s.QOS != "" {
		return s.QOS
	}
	return api.DefaultQOS
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// nodeList prints node names compressed, as Slurm prints node lists.
func nodeList(names []string) string { return hostlist.Compress(names) }

// sortedJobs returns jobs ordered by id, the tasks of a job array together
// (see compareJobIDs).
func sortedJobs(jobs []*api.Job) []*api.Job {
	out := append([]*api.Job(nil), jobs...)
	sort.SliceStable(out, func(a, b int) bool { return compareJobIDs(out[a], out[b]) < 0 })
	return out
}

// exitCode prints an exit status as Slurm does: "code:signal".
func exitCode(code, signal int) string { return fmt.Sprintf("%d:%d", code, signal) }
