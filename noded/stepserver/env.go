package stepserver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// gpuBindNone is the value of SLURM_GPU_BIND (srun --gpu-bind) that gives
// every task all of the step's GPUs on the node.
const gpuBindNone = "none"

// taskSpot is where one task stands in its step.
type taskSpot struct {
	step   int
	node   string
	nodeID int // index of the node in the step's Nodes (SLURM_NODEID)
	local  int // SLURM_LOCALID
	rank   int // SLURM_PROCID
}

// taskEnv returns a task's environment, sorted: srun's (env), less any GPU
// variables it carried, then the task's own SLURM_* variables (each with
// its FAIRWAY_ twin) and the variables of its GPUs (gpus; none when nil).
// jobGPUs are all the job's GPUs on this node, sorted by index: a host
// job's tasks see all of them (the job's device cgroup), so a task's
// CUDA_VISIBLE_DEVICES numbers its GPUs among the job's.
func taskEnv(env map[string]string, at taskSpot, jobGPUs, gpus []gpu.Device) []string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for _, k := range gpu.EnvNames {
		delete(out, k)
	}
	set := map[string]string{
		"SLURM_PROCID":  strconv.Itoa(at.rank),
		"SLURM_LOCALID": strconv.Itoa(at.local),
		"SLURM_NODEID":  strconv.Itoa(at.nodeID),
		"SLURM_STEPID":  strconv.Itoa(at.step),
		"SLURM_STEP_ID": strconv.Itoa(at.step),
	}
	for k, v := range set {
		out[k] = v
		out["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	out["SLURMD_NODENAME"] = at.node
	if len(jobGPUs) > 0 {
		for k, v := range gpu.Env(jobGPUs) {
			out[k] = v
		}
		if gpus != nil {
			for k, v := range taskGPUEnv(jobGPUs, gpus) {
				out[k] = v
			}
		}
	}
	list := make([]string, 0, len(out))
	for k, v := range out {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// taskGPUEnv is what a task given gpus (some of jobGPUs) sees: its GPUs'
// ordinals among the job's (CUDA numbers the job's GPUs 0..k-1 in index
// order), or their MIG UUIDs, and their indices and UUIDs.
func taskGPUEnv(jobGPUs, gpus []gpu.Device) map[string]string {
	env := gpu.Env(gpus)
	if _, err := strconv.Atoi(strings.Split(env["CUDA_VISIBLE_DEVICES"], ",")[0]); err == nil {
		ordinal := map[int]int{}
		for i, d := range jobGPUs {
			ordinal[d.Index] = i
		}
		var ords []string
		for _, d := range sortedGPUs(gpus) {
			ords = append(ords, strconv.Itoa(ordinal[d.Index]))
		}
		env["CUDA_VISIBLE_DEVICES"] = strings.Join(ords, ",")
		env["GPU_DEVICE_ORDINAL"] = env["CUDA_VISIBLE_DEVICES"]
	}
	out := map[string]string{
		"CUDA_VISIBLE_DEVICES":   env["CUDA_VISIBLE_DEVICES"],
		"GPU_DEVICE_ORDINAL":     env["GPU_DEVICE_ORDINAL"],
		"NVIDIA_VISIBLE_DEVICES": env["NVIDIA_VISIBLE_DEVICES"],
		"FAIRWAY_GPU_UUIDS":      env["FAIRWAY_GPU_UUIDS"],
		"SLURM_STEP_GPUS":        env["SLURM_JOB_GPUS"],
	}
	return out
}

func sortedGPUs(devs []gpu.Device) []gpu.Device {
	out := append([]gpu.Device(nil), devs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// taskGPUs splits the job's GPUs on this node (sorted by index) among the
// node's tasks of a step: with GPUsPerTask, local task i gets its own
// slice; with GPUsPerNode, every task gets the first GPUsPerNode; else (or
// with --gpu-bind=none, bindNone) every task sees all of them. It fails
// when the node has too few GPUs for the step.
func taskGPUs(st *api.Step, jobGPUs []gpu.Device, ntasks int, bindNone bool) ([][]gpu.Device, error) {
	out := make([][]gpu.Device, ntasks)
	stepGPUs := jobGPUs
	switch {
	case st.GPUsPerTask > 0:
		if need := st.GPUsPerTask * ntasks; need > len(jobGPUs) {
			return nil, fmt.Errorf("step %d.%d: %d tasks with %d GPUs each need %d GPUs; the job has %d on this node",
				st.JobID, st.ID, ntasks, st.GPUsPerTask, need, len(jobGPUs))
		}
		stepGPUs = jobGPUs[:st.GPUsPerTask*ntasks]
		if !bindNone {
			for i := range out {
				out[i] = stepGPUs[i*st.GPUsPerTask : (i+1)*st.GPUsPerTask]
			}
			return out, nil
		}
	case st.GPUsPerNode > 0:
		if st.GPUsPerNode > len(jobGPUs) {
			return nil, fmt.Errorf("step %d.%d: needs %d GPUs per node; the job has %d on this node",
				st.JobID, st.ID, st.GPUsPerNode, len(jobGPUs))
		}
		stepGPUs = jobGPUs[:st.GPUsPerNode]
	}
	for i := range out {
		out[i] = stepGPUs
	}
	return out, nil
}
