package slurmdata

import (
	"fmt"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// JobInfoResponse is squeue --json and scontrol show job --json (and
// GET /slurm/v0.0.41/jobs): the jobs in the order given. parts are the
// cluster's partitions, for the defaults of jobs that set none.
func JobInfoResponse(jobs []*api.Job, parts []api.Partition, o Options) JobInfoResp {
	resp := JobInfoResp{
		Jobs:         JobInfoMsg{},
		LastBackfill: setU64(o.Now),
		LastUpdate:   setU64(o.Now),
		Meta:         NewMeta(o),
		Errors:       Errors{},
		Warnings:     Warnings{},
	}
	for _, j := range jobs {
		resp.Jobs = append(resp.Jobs, FromJob(j, parts, o))
	}
	return resp
}

// partitionOf finds the partition a job runs in, or the first it asked
// for, or the default one.
func partitionOf(j *api.Job, parts []api.Partition) (api.Partition, bool) {
	name := j.Partition
	if name == "" && len(j.Spec.Partitions) > 0 {
		name = j.Spec.Partitions[0]
	}
	for _, p := range parts {
		if p.Name == name || (name == "" && p.Default) {
			return p, true
		}
	}
	return api.Partition{}, false
}

// TimeLimit is a job's time limit in minutes as Slurm prints it: its own
// (--time), else its partition's default; UNLIMITED is infinite and an
// unknown limit (no such partition) unset.
func TimeLimit(j *api.Job, parts []api.Partition) Uint32NoVal {
	secs := j.Spec.TimeLimitSecs
	if j.State != api.JobPending && j.TimeLimitSecs > 0 {
		secs = j.TimeLimitSecs
	}
	if secs == 0 {
		p, ok := partitionOf(j, parts)
		if !ok {
			return Uint32NoVal{}
		}
		secs = p.DefaultTime()
	}
	if api.Unlimited(secs) {
		return infiniteU32()
	}
	return setU32((secs + 59) / 60)
}

// jobNodes is the nodes the job holds, or held in its last run.
func jobNodes(j *api.Job) []string {
	if len(j.Alloc) > 0 {
		return j.NodeNames()
	}
	if j.State != api.JobPending {
		for _, r := range j.Runs {
			if r.Run == j.RestartCount {
				return r.Nodes
			}
		}
	}
	return nil
}

// jobTRES is a job's trackable resources: what it asks for, or holds.
type jobTRES struct {
	cpu, node, gpu int
	memMB          int64
	gpuType        string
}

// String prints TRES as squeue's and scontrol's tres_req_str:
// cpu, mem, node, billing, gres.
func (t jobTRES) String() string {
	s := fmt.Sprintf("cpu=%d,mem=%s,node=%d,billing=%d", t.cpu, memString(t.memMB), t.node, t.cpu)
	if t.gpu > 0 {
		s += fmt.Sprintf(",gres/gpu=%d", t.gpu)
		if t.gpuType != "" {
			s += fmt.Sprintf(",gres/gpu:%s=%d", t.gpuType, t.gpu)
		}
	}
	return s
}

// list is the TRES as the accounting's tres list (cpu, mem, node,
// billing, gres/gpu), with Slurm's TRES ids.
func (t jobTRES) list() TRESList {
	l := TRESList{
		{Type: "cpu", ID: 1, Count: int64(t.cpu)},
		{Type: "mem", ID: 2, Count: t.memMB},
		{Type: "node", ID: 4, Count: int64(t.node)},
		{Type: "billing", ID: 5, Count: int64(t.cpu)},
	}
	if t.gpu > 0 {
		l = append(l, TRES{Type: "gres", Name: "gpu", ID: 1001, Count: int64(t.gpu)})
	}
	return l
}

// memoryMB is the job's memory per node: its own, else its partition's default.
func memoryMB(j *api.Job, parts []api.Partition) int64 {
	if j.Spec.MemoryMB > 0 {
		return j.Spec.MemoryMB
	}
	if p, ok := partitionOf(j, parts); ok {
		return p.DefaultMemory()
	}
	return 0
}

// reqTRES is what the job asks for in total.
func reqTRES(j *api.Job, parts []api.Partition) jobTRES {
	nodes := max(j.Spec.Nodes, 1)
	return jobTRES{
		cpu:     j.Spec.TotalCPUsPerNode() * nodes,
		node:    nodes,
		memMB:   memoryMB(j, parts) * int64(nodes),
		gpu:     j.Spec.GPUs * nodes,
		gpuType: j.Spec.GPUType,
	}
}

// allocTRES is what the job holds (or held in its last run); ok is false
// when it never started.
func allocTRES(j *api.Job, parts []api.Partition) (jobTRES, bool) {
	if len(j.Alloc) == 0 {
		if j.StartTime == 0 || j.State == api.JobPending {
			return jobTRES{}, false
		}
		t := reqTRES(j, parts)
		if n := len(jobNodes(j)); n > 0 {
			t.node = n
		}
		return t, true
	}
	t := jobTRES{node: len(j.Alloc), gpuType: j.Spec.GPUType}
	for _, a := range j.Alloc {
		t.cpu += a.CPUs
		t.memMB += a.MemoryMB
		t.gpu += len(a.GPUs)
	}
	return t, true
}

// gresPerNode is the job's tres_per_node: "gres/gpu:2", "gres/gpu:h100:2".
func gresPerNode(s *api.JobSpec) string {
	switch {
	case s.GPUs == 0:
		return ""
	case s.GPUType != "":
		return fmt.Sprintf("gres/gpu:%s:%d", s.GPUType, s.GPUs)
	}
	return fmt.Sprintf("gres/gpu:%d", s.GPUs)
}

// gresDetail is Slurm's gres_detail of a running job: per node,
// "gpu:TYPE:N(IDX:0-1)".
func gresDetail(j *api.Job) JobInfoGresDetail {
	d := JobInfoGresDetail{}
	for _, a := range j.Alloc {
		if len(a.GPUs) == 0 {
			continue
		}
		name := "gpu"
		if j.Spec.GPUType != "" {
			name += ":" + j.Spec.GPUType
		}
		d = append(d, fmt.Sprintf("%s:%d(IDX:%s)", name, len(a.GPUs), api.TaskIDs(sortedInts(a.GPUs)).String()))
	}
	return d
}

// sortedInts returns a sorted copy of s.
func sortedInts(s []int) []int {
	c := append([]int(nil), s...)
	for i := 1; i < len(c); i++ {
		for k := i; k > 0 && c[k] < c[k-1]; k-- {
			c[k], c[k-1] = c[k-1], c[k]
		}
	}
	return c
}

// jobState is a job's job_state flags.
func jobState(j *api.Job) []string {
	s := []string{string(j.State)}
	if j.State == api.JobRunning && j.Kill != nil {
		s = append(s, "COMPLETING")
	}
	return s
}

// jobResources is a running job's job_resources: its nodes, CPUs and
// memory (Fairway does not place jobs on sockets and cores, so each
// node's socket list is empty).
func jobResources(j *api.Job) *JobRes {
	if len(j.Alloc) == 0 {
		return nil
	}
	r := &JobRes{
		SelectType: []string{"CPU", "MEMORY"},
		Nodes: JobResNodesInfo{
			Count:      int32(len(j.Alloc)),
			SelectType: []string{"AVAILABLE"},
			List:       hostlist.Compress(j.NodeNames()),
			Whole:      j.Spec.Exclusive,
			Allocation: JobResNodes{},
		},
		ThreadsPerCore: Uint16NoVal{},
	}
	for i, a := range j.Alloc {
		r.CPUs += int32(a.CPUs)
		r.Nodes.Allocation = append(r.Nodes.Allocation, JobResNode{
			Index:   int32(i),
			Name:    a.Node,
			CPUs:    JobResNodeCPUs{Count: int32(a.CPUs), Used: int32(a.CPUs)},
			Memory:  JobResNodeMemory{Used: a.MemoryMB, Allocated: a.MemoryMB},
			Sockets: JobResSocketArray{},
		})
	}
	return r
}

// arrayTaskString is array_task_string: the pending tasks of an array's
// record ("4-15%2"), or the task of one task.
func arrayTaskString(j *api.Job) string {
	switch {
	case j.IsArrayRecord():
		s := j.ArrayPending.String()
		if j.ArrayMaxRun > 0 {
			s += fmt.Sprintf("%%%d", j.ArrayMaxRun)
		}
		return s
	}
	return ""
}

// FromJob converts one job to Slurm's job_info. Its script and
// environment are never part of it.
func FromJob(j *api.Job, parts []api.Partition, o Options) JobInfo {
	s := &j.Spec
	nodes := jobNodes(j)
	req := reqTRES(j, parts)
	cpus, nodeCount := req.cpu, req.node
	alloc, started := allocTRES(j, parts)
	allocStr := ""
	if started {
		allocStr = alloc.String()
		cpus, nodeCount = alloc.cpu, alloc.node
	}
	ji := JobInfo{
		Account:                 s.Account,
		AccrueTime:              setU64(max(j.SubmitTime, s.BeginTime)),
		AllocatingNode:          s.SubmitHost,
		ArrayJobID:              setU32(int64(j.ArrayJobID)),
		ArrayTaskID:             Uint32NoVal{},
		ArrayMaxTasks:           setU32(int64(j.ArrayMaxRun)),
		ArrayTaskString:         arrayTaskString(j),
		BatchFlag:               true,
		Flags:                   []string{},
		Cluster:                 o.Cluster,
		Command:                 s.Command,
		Container:               s.ContainerImage,
		CoresPerSocket:          Uint16NoVal{},
		BillableTRES:            Float64NoVal{},
		CPUsPerTask:             setU16(int64(max(s.CPUsPerTask, 1))),
		CPUFrequencyMinimum:     Uint32NoVal{},
		CPUFrequencyMaximum:     Uint32NoVal{},
		CPUFrequencyGovernor:    Uint32NoVal{},
		Deadline:                setU64(0),
		DelayBoot:               setU32(0),
		Dependency:              s.Dependency,
		DerivedExitCode:         ExitCode(0, 0),
		EligibleTime:            setU64(max(j.SubmitTime, s.BeginTime)),
		EndTime:                 setU64(j.EndTime),
		ExcludedNodes:           hostlist.Compress(s.Exclude),
		ExitCode:                ExitCode(0, 0),
		GresDetail:              gresDetail(j),
		GroupID:                 int32(s.GID),
		GroupName:               o.groupName(s.GID),
		HetJobID:                setU32(0),
		HetJobOffset:            Uint32NoVal{},
		JobID:                   int32(j.ID),
		JobResources:            jobResources(j),
		JobSizeStr:              CSVString{},
		JobState:                jobState(j),
		LastSchedEvaluation:     setU64(0),
		MailType:                []string{},
		MaxCPUs:                 setU32(0),
		MaxNodes:                setU32(int64(s.Nodes)),
		Name:                    s.Name,
		Nodes:                   hostlist.Compress(nodes),
		Nice:                    int32(s.Nice),
		TasksPerCore:            Uint16NoVal{},
		TasksPerTRES:            setU16(0),
		TasksPerNode:            Uint16NoVal{},
		TasksPerSocket:          Uint16NoVal{},
		TasksPerBoard:           setU16(0),
		CPUs:                    setU32(int64(cpus)),
		NodeCount:               setU32(int64(nodeCount)),
		Tasks:                   setU32(int64(max(s.NTasks, 1))),
		Partition:               jobPartition(j),
		MemoryPerCPU:            Uint64NoVal{},
		MemoryPerNode:           setU64(memoryMB(j, parts)),
		MinimumCPUsPerNode:      setU16(int64(s.TotalCPUsPerNode())),
		MinimumTmpDiskPerNode:   setU32(0),
		Power:                   JobInfoPower{Flags: []string{}},
		PreemptTime:             setU64(0),
		PreemptableTime:         setU64(0),
		PreSusTime:              setU64(0),
		Hold:                    j.State == api.JobPending && (j.Reason == api.ReasonHeldUser || j.Reason == api.ReasonHeldAdmin),
		Priority:                setU32(int64(j.Priority)),
		Profile:                 []string{"NOT_SET"},
		QOS:                     qosName(s.QOS),
		RequiredNodes:           hostlist.Compress(s.NodeList),
		Requeue:                 s.Requeueable(),
		ResizeTime:              setU64(0),
		RestartCnt:              int32(j.RestartCount),
		Shared:                  []string{},
		Exclusive:               exclusive(s.Exclusive),
		ShowFlags:               []string{"DETAIL", "LOCAL"},
		SocketsPerNode:          Uint16NoVal{},
		StartTime:               setU64(startTime(j)),
		StateReason:             stateReason(j),
		StandardError:           j.StderrPath,
		StandardInput:           "/dev/null",
		StandardOutput:          j.StdoutPath,
		SubmitTime:              setU64(j.SubmitTime),
		SuspendTime:             setU64(0),
		TimeLimit:               TimeLimit(j, parts),
		TimeMinimum:             setU32(0),
		ThreadsPerCore:          Uint16NoVal{},
		TRESPerNode:             gresPerNode(s),
		TRESReqStr:              req.String(),
		TRESAllocStr:            allocStr,
		UserID:                  int32(s.UID),
		UserName:                s.User,
		CurrentWorkingDirectory: s.WorkDir,
	}
	if len(s.Partitions) == 0 {
		ji.Flags = append(ji.Flags, "USING_DEFAULT_PARTITION")
	}
	if s.QOS == "" {
		ji.Flags = append(ji.Flags, "USING_DEFAULT_QOS")
	}
	if started {
		ji.BillableTRES = Float64NoVal{Set: true, Number: float64(alloc.cpu)}
	}
	if j.IsArrayTask() {
		ji.ArrayTaskID = setU32(int64(j.ArrayTaskID))
	}
	if s.NTasksPerNode > 0 {
		ji.TasksPerNode = setU16(int64(s.NTasksPerNode))
	}
	if len(j.Alloc) > 0 {
		ji.BatchHost = j.Alloc[0].Node
	}
	if j.State == api.JobRunning {
		if tl := ji.TimeLimit; tl.Set {
			ji.EndTime = setU64(j.StartTime + tl.Number*60)
		}
	}
	if j.State.Final() {
		ji.ExitCode = ExitCode(j.ExitCode, j.Signal)
		ji.DerivedExitCode = ExitCode(maxStepExit(j), 0)
	}
	return ji
}

// jobPartition is the partition field: the one it runs in, or every one a
// pending job may start in ("gpu,cpu").
func jobPartition(j *api.Job) string {
	if j.State == api.JobPending && len(j.Spec.Partitions) > 1 {
		return strings.Join(j.Spec.Partitions, ",")
	}
	if j.Partition != "" {
		return j.Partition
	}
	return strings.Join(j.Spec.Partitions, ",")
}

// startTime is the start of the current or last run, or a pending job's
// expected start (0 unknown).
func startTime(j *api.Job) int64 {
	if j.State == api.JobPending {
		return j.ExpectedStart
	}
	return j.StartTime
}

// stateReason is state_reason: why a job pends, or "None".
func stateReason(j *api.Job) string {
	if j.State == api.JobPending && j.Reason != "" {
		return j.Reason
	}
	if j.State.Final() && j.Reason != "" && j.Reason != api.ReasonNone {
		return j.Reason
	}
	return api.ReasonNone
}

// qosName is the job's QOS, "normal" when it set none (Slurm's default QOS).
func qosName(q string) string {
	if q == "" {
		return "normal"
	}
	return q
}

// exclusive is the exclusive flag array: ["true"] for --exclusive.
func exclusive(ex bool) []string {
	if ex {
		return []string{"true"}
	}
	return []string{"false"}
}

// maxStepExit is the highest exit code of the last run's steps (Slurm's
// derived exit code).
func maxStepExit(j *api.Job) int {
	n := 0
	for _, r := range j.Runs {
		if r.Run != j.RestartCount {
			continue
		}
		for _, st := range r.Steps {
			n = max(n, st.ExitCode)
		}
	}
	return max(n, j.ExitCode)
}
