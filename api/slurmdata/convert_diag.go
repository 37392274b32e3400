package slurmdata

import "github.com/fairway-hpc/fairway/api"

// DiagResponse is GET /slurm/v0.0.41/diag (sdiag's figures): Fairway's
// scheduler pass does the main and the backfill scheduling at once, so
// both of Slurm's sections read the same pass figures. Counters Fairway
// does not keep (RPCs, agents) are 0 and their lists empty.
func DiagResponse(d *api.DiagResponse, o Options) DiagResp {
	s := d.Sched
	cycleSum := s.MeanCycleUsec * int64(s.Cycles)
	depthSum := int64(s.MeanDepth * float64(s.Cycles))
	bfDepthSum := int64(s.MeanBfDepth * float64(s.Cycles))
	queueSum := int64(s.MeanQueueLen * float64(s.Cycles))
	return DiagResp{
		Statistics: StatsMsg{
			PartsPacked:            1,
			ReqTime:                setU64(d.Now),
			ReqTimeStart:           setU64(d.StatsSince),
			ServerThreadCount:      1,
			ScheduleCycleMax:       int32(s.MaxCycleUsec),
			ScheduleCycleLast:      int32(s.LastCycleUsec),
			ScheduleCycleSum:       int32(cycleSum),
			ScheduleCycleTotal:     int32(s.Cycles),
			ScheduleCycleMean:      s.MeanCycleUsec,
			ScheduleCycleMeanDepth: int64(s.MeanDepth),
			ScheduleCyclePerMinute: int64(s.CyclesPerMin),
			ScheduleCycleDepth:     int32(depthSum),
			ScheduleExit:           ScheduleExitFields{EndJobQueue: int32(s.Cycles)},
			ScheduleQueueLength:    int32(s.LastQueueLen),
			JobsSubmitted:          int32(d.JobsSubmitted),
			JobsStarted:            int32(d.JobsStarted),
			JobsCompleted:          int32(d.JobsCompleted),
			JobsCanceled:           int32(d.JobsCanceled),
			JobsFailed:             int32(d.JobsFailed),
			JobsPending:            int32(d.JobsPending),
			JobsRunning:            int32(d.JobsRunning),
			JobStatesTs:            setU64(d.Now),
			BfBackfilledJobs:       int32(s.Backfilled),
			BfCycleCounter:         int32(s.Cycles),
			BfCycleMean:            s.MeanCycleUsec,
			BfDepthMean:            int64(s.MeanBfDepth),
			BfDepthMeanTry:         int64(s.MeanBfDepth),
			BfCycleSum:             cycleSum,
			BfCycleLast:            int32(s.LastCycleUsec),
			BfCycleMax:             int32(s.MaxCycleUsec),
			BfExit:                 BfExitFields{EndJobQueue: int32(s.Cycles)},
			BfLastDepth:            int32(s.LastBfDepth),
			BfLastDepthTry:         int32(s.LastBfDepth),
			BfDepthSum:             int32(bfDepthSum),
			BfDepthTrySum:          int32(bfDepthSum),
			BfQueueLen:             int32(s.LastQueueLen),
			BfQueueLenMean:         int64(s.MeanQueueLen),
			BfQueueLenSum:          int32(queueSum),
			BfTableSize:            int32(s.LastReserved),
			BfTableSizeSum:         int32(s.LastReserved),
			BfTableSizeMean:        int64(s.LastReserved),
			BfWhenLastCycle:        setU64(s.LastCycleAt),
			RpcsByMessageType:      StatsMsgRpcsByType{},
			RpcsByUser:             StatsMsgRpcsByUser{},
			PendingRpcs:            StatsMsgRpcsQueue{},
			PendingRpcsByHostlist:  StatsMsgRpcsDump{},
		},
		Meta:     NewMeta(o),
		Errors:   Errors{},
		Warnings: Warnings{},
	}
}
