package slurmdata

import (
	"fmt"
	"strconv"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// SlurmdbdJobsResponse is sacct --json (and GET /slurmdb/v0.0.41/jobs):
// one record per job, of its current or last run, with that run's steps
// (the batch step when the node reported it, then srun's steps). The
// script (Slurm's --batch-script) and environment are never printed.
func SlurmdbdJobsResponse(jobs []*api.Job, parts []api.Partition, o Options) SlurmdbdJobsResp {
	resp := SlurmdbdJobsResp{Jobs: DBJobList{}, Meta: NewMeta(o), Errors: Errors{}, Warnings: Warnings{}}
	for _, j := range jobs {
		resp.Jobs = append(resp.Jobs, FromDBJob(j, parts, o))
	}
	return resp
}

// cpuTime splits milliseconds into Slurm's seconds and microseconds.
func cpuTime(ms int64) (sec, usec int64) { return ms / 1000, (ms % 1000) * 1000 }

// lastRun is the job's current or last run record, nil if none.
func lastRun(j *api.Job) *api.JobRun {
	for i := range j.Runs {
		if j.Runs[i].Run == j.RestartCount && j.State != api.JobPending {
			return &j.Runs[i]
		}
	}
	return nil
}

// FromDBJob converts one job to Slurm's accounting job record.
func FromDBJob(j *api.Job, parts []api.Partition, o Options) DBJob {
	s := &j.Spec
	run := lastRun(j)
	nodes := jobNodes(j)
	elapsed := int64(0)
	if j.StartTime > 0 && j.State != api.JobPending {
		end := j.EndTime
		if j.State == api.JobRunning || end == 0 {
			end = o.Now
		}
		elapsed = max(end-j.StartTime, 0)
	}
	req := reqTRES(j, parts)
	allocated := TRESList{}
	if t, ok := allocTRES(j, parts); ok {
		allocated = t.list()
	}
	var user, sys int64
	if run != nil {
		add := func(u *api.Usage) {
			if u != nil {
				user += u.UserCPUMillis
				sys += u.SysCPUMillis
			}
		}
		add(run.Usage)
		for i := range run.Steps {
			add(run.Steps[i].Usage)
		}
	}
	us, uu := cpuTime(user)
	ss, su := cpuTime(sys)
	ts, tu := cpuTime(user + sys)
	eligible := max(j.SubmitTime, s.BeginTime)
	planned := Uint64NoVal{}
	if j.StartTime > 0 {
		planned = setU64(max(j.StartTime-eligible, 0))
	}
	nodeStr := "None assigned"
	if len(nodes) > 0 {
		nodeStr = hostlist.Compress(nodes)
	}
	d := DBJob{
		Account:         s.Account,
		AllocationNodes: int32(len(nodes)),
		Array: DBJobArray{
			JobID:  int32(j.ArrayJobID),
			Limits: DBJobArrayLimits{Max: DBJobArrayLimitsMax{Running: DBJobArrayLimitsMaxRunning{Tasks: int32(j.ArrayMaxRun)}}},
			TaskID: Uint32NoVal{},
			Task:   arrayTaskString(j),
		},
		Association:     AssocShort{Account: s.Account, Cluster: o.Cluster, Partition: j.Partition, User: s.User},
		Cluster:         o.Cluster,
		Container:       s.ContainerImage,
		DerivedExitCode: ExitCode(0, 0),
		Time: DBJobTime{
			Elapsed:    int32(elapsed),
			Eligible:   eligible,
			End:        j.EndTime,
			Planned:    planned,
			Start:      j.StartTime,
			Submission: j.SubmitTime,
			System:     DBJobTimeSystem{Seconds: ss, Microseconds: su},
			Limit:      TimeLimit(j, parts),
			Total:      DBJobTimeTotal{Seconds: ts, Microseconds: tu},
			User:       DBJobTimeUser{Seconds: us, Microseconds: uu},
		},
		ExitCode:         pendingExitCode(),
		Flags:            []string{},
		Group:            o.groupName(s.GID),
		Het:              DBJobHet{JobOffset: Uint32NoVal{}},
		JobID:            int32(j.ID),
		Name:             s.Name,
		Nodes:            nodeStr,
		Partition:        jobPartition(j),
		Hold:             j.State == api.JobPending && (j.Reason == api.ReasonHeldUser || j.Reason == api.ReasonHeldAdmin),
		Priority:         setU32(int64(j.Priority)),
		QOS:              qosName(s.QOS),
		Required:         DBJobRequired{CPUs: int32(req.cpu), MemoryPerCPU: Uint64NoVal{}, MemoryPerNode: setU64(memoryMB(j, parts))},
		StdoutExpanded:   j.StdoutPath,
		StderrExpanded:   j.StderrPath,
		StdinExpanded:    "/dev/null",
		Stdout:           s.Stdout,
		Stderr:           s.Stderr,
		Stdin:            "/dev/null",
		State:            DBJobState{Current: []string{string(j.State)}, Reason: stateReason(j)},
		Steps:            DBStepList{},
		TRES:             DBJobTRES{Allocated: allocated, Requested: req.list()},
		User:             s.User,
		Wckey:            WckeyTagStruct{Flags: []string{}},
		WorkingDirectory: s.WorkDir,
	}
	if j.IsArrayTask() {
		d.Array.TaskID = setU32(int64(j.ArrayTaskID))
	}
	if j.StartTime > 0 {
		d.Flags = append(d.Flags, "STARTED_ON_SCHEDULE")
	}
	if j.State == api.JobRunning {
		d.ExitCode = ExitCode(0, 0)
		d.Time.End = 0
	}
	if j.State.Final() {
		d.ExitCode = ExitCode(j.ExitCode, j.Signal)
		d.DerivedExitCode = ExitCode(maxStepExit(j), 0)
	}
	if j.CancelledBy != nil && *j.CancelledBy == s.UID {
		d.KillRequestUser = s.User
	} else if j.CancelledBy != nil {
		d.KillRequestUser = strconv.Itoa(*j.CancelledBy)
	}
	if run != nil {
		d.Steps = dbSteps(j, run, o)
	}
	return d
}

// dbSteps is a run's steps: the batch step, then srun's.
func dbSteps(j *api.Job, run *api.JobRun, o Options) DBStepList {
	steps := DBStepList{}
	if run.Usage != nil {
		state := run.State
		switch state {
		case api.JobTimeout, api.JobPreempted, api.JobRequeued:
			state = api.JobCancelled
		}
		var ns []string
		if len(run.Nodes) > 0 {
			ns = run.Nodes[:1]
		}
		steps = append(steps, dbStep(o, fmt.Sprintf("%d.batch", j.ID), "batch", state, run.StartTime, run.EndTime,
			ns, 1, run.ExitCode, run.Signal, run.Usage, ""))
	}
	for i := range run.Steps {
		st := &run.Steps[i]
		tasks := 0
		for _, t := range st.TasksPerNode {
			tasks += t
		}
		steps = append(steps, dbStep(o, fmt.Sprintf("%d.%d", j.ID, st.ID), st.Name, st.State, st.StartTime, st.EndTime,
			st.Nodes, tasks, st.ExitCode, st.Signal, st.Usage, st.Distribution))
	}
	return steps
}

// dbStep builds one accounting step record.
func dbStep(o Options, id, name string, state api.JobState, start, end int64, nodes []string, tasks, code, signal int,
	usage *api.Usage, dist string) DBStep {
	var user, sys int64
	if usage != nil {
		user, sys = usage.UserCPUMillis, usage.SysCPUMillis
	}
	us, uu := cpuTime(user)
	ss, su := cpuTime(sys)
	ts, tu := cpuTime(user + sys)
	stop := end
	if stop == 0 {
		stop = o.Now
	}
	e := ExitCode(code, signal)
	if state == api.JobRunning {
		e = pendingExitCode()
	}
	return DBStep{
		Time: DBStepTime{
			Elapsed: int32(max(stop-start, 0)),
			End:     setU64(end),
			Start:   setU64(start),
			System:  DBStepTimeSystem{Seconds: ss, Microseconds: int32(su)},
			Total:   DBStepTimeTotal{Seconds: ts, Microseconds: int32(tu)},
			User:    DBStepTimeUser{Seconds: us, Microseconds: int32(uu)},
		},
		ExitCode:   e,
		Nodes:      DBStepNodes{Count: int32(len(nodes)), Range: hostlist.Compress(nodes), List: Hostlist(orEmpty(append([]string(nil), nodes...)))},
		Tasks:      DBStepTasks{Count: int32(tasks)},
		CPU:        DBStepCPU{RequestedFrequency: DBStepCPURequestedFrequency{Min: Uint32NoVal{}, Max: Uint32NoVal{}}},
		State:      []string{string(state)},
		Statistics: DBStepStatistics{Energy: DBStepStatisticsEnergy{Consumed: Uint64NoVal{}}},
		Step:       DBStepStep{ID: id, Name: name},
		Task:       DBStepTask{Distribution: dist},
		TRES: DBStepTRES{
			Requested: DBStepTRESRequested{Max: StepTRESReqMax{}, Min: StepTRESReqMin{}, Average: TRESList{}, Total: TRESList{}},
			Consumed:  DBStepTRESConsumed{Max: StepTRESUsageMax{}, Min: StepTRESUsageMin{}, Average: TRESList{}, Total: TRESList{}},
			Allocated: TRESList{},
		},
	}
}
