package planapply

import "github.com/fairway-hpc/fairway/api"

// PreemptOther is the preemption reason recorded for a plan preemption that
// names none (api.Preemption.Reason empty).
const PreemptOther = "other"

// PreemptionReason is the reason of the plan preemption that made kill
// request k ("reclaim", "priority", PreemptOther), or "" when k is nil or
// not a plan preemption's: a cancel, a time limit, a requeue, or a kill
// committed without a plan. A PREEMPTED kill naming the job it makes room
// for (For) but no reason, as kill requests made before the reason was
// recorded, counts as PreemptOther.
func PreemptionReason(k *api.KillRequest) string {
	switch {
	case k == nil || k.State != api.JobPreempted:
		return ""
	case k.Preemption != "":
		return k.Preemption
	case k.For != 0:
		return PreemptOther
	}
	return ""
}

// AllocGPUs is the number of GPUs an allocation holds, over its nodes.
func AllocGPUs(alloc []api.NodeAlloc) int {
	n := 0
	for _, a := range alloc {
		n += len(a.GPUs)
	}
	return n
}

// LostGPUSecs is the work a run ended by a preemption loses: the GPUs it
// held times the seconds from its last checkpoint, or from its start when
// the job's last checkpoint is older than the run (or there is none), to
// its end. It is never negative: a checkpoint at or after the end loses
// nothing, and so does a run without GPUs. The controller's state machine
// records it in JobRun.LostGPUSecs; the simulator may use it for the same
// figure.
func LostGPUSecs(gpus int, start, end, lastCheckpoint int64) int64 {
	from := max(start, lastCheckpoint)
	if gpus <= 0 || end <= from {
		return 0
	}
	return int64(gpus) * (end - from)
}
