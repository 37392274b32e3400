package gpu

import (
	"sort"
	"strconv"
	"strings"
)

// EnvNames are the variables Env may set. A job's own values of them (from
// the environment it was submitted in) never reach it: they would name GPUs
// of another machine.
var EnvNames = []string{
	"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "GPU_DEVICE_ORDINAL",
	"NVIDIA_VISIBLE_DEVICES", "FAIRWAY_GPU_UUIDS", "SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE",
}

// Env returns the GPU variables of a job given these GPUs (none for a job
// without GPUs):
//
//   - CUDA_VISIBLE_DEVICES and GPU_DEVICE_ORDINAL number the GPUs 0..k-1 in
//     PCI bus order, as the job sees them: a container has only its own
//     device nodes, and a host job's device cgroup lets CUDA open only its
//     own, so CUDA enumerates exactly them (Slurm's numbering with
//     ConstrainDevices=yes). When a GPU is in MIG mode, CUDA enumerates MIG
//     instances rather than GPUs, so the list names every device by UUID
//     instead (GPU-... for a whole GPU, MIG-... for each MIG instance).
//   - CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA's order that of nvidia-smi.
//   - NVIDIA_VISIBLE_DEVICES and FAIRWAY_GPU_UUIDS list the GPUs' UUIDs.
//   - SLURM_JOB_GPUS lists the node's indices of the GPUs (as nvidia-smi on
//     the host numbers them), SLURM_GPUS_ON_NODE counts them.
func Env(devs []Device) map[string]string {
	if len(devs) == 0 {
		return map[string]string{}
	}
	sorted := append([]Device(nil), devs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	var ordinals, uuids, indices, byUUID []string
	mig := false
	for i, d := range sorted {
		ordinals = append(ordinals, strconv.Itoa(i))
		uuids = append(uuids, d.UUID)
		indices = append(indices, strconv.Itoa(d.Index))
		if d.MIGEnabled && len(d.MIG) > 0 {
			mig = true
			for _, m := range d.MIG {
				byUUID = append(byUUID, m.UUID)
			}
		} else {
			byUUID = append(byUUID, d.UUID)
		}
	}
	visible := strings.Join(ordinals, ",")
	if mig {
		visible = strings.Join(byUUID, ",")
	}
	return map[string]string{
		"CUDA_VISIBLE_DEVICES":   visible,
		"GPU_DEVICE_ORDINAL":     visible,
		"CUDA_DEVICE_ORDER":      "PCI_BUS_ID",
		"NVIDIA_VISIBLE_DEVICES": strings.Join(uuids, ","),
		"FAIRWAY_GPU_UUIDS":      strings.Join(uuids, ","),
		"SLURM_JOB_GPUS":         strings.Join(indices, ","),
		"SLURM_GPUS_ON_NODE":     strconv.Itoa(len(sorted)),
	}
}
