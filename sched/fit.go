package sched

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// NodeNeed is what a job needs on each of its nodes.
type NodeNeed struct {
	CPUs     int
	MemoryMB int64
	GPUs     int
	// GPUType is the GPU type the job asked for ("" = any), compared
	// without regard to case.
	GPUType string
}

// NeedIn is what a job needs on each of its nodes when it runs in
// partition p: its tasks' CPUs spread over its nodes, its --mem (else the
// partition's default), its GPUs per node and their type. The pass places
// jobs by this need and the plan applier verifies starts against it, so
// the two cannot disagree on what a job takes.
func NeedIn(spec *api.JobSpec, p api.Partition) NodeNeed {
	return NodeNeed{CPUs: needCPUs(spec), MemoryMB: spec.MemoryIn(p), GPUs: needGPUs(spec), GPUType: spec.GPUType}
}

// needCPUs and needGPUs are NeedIn's CPUs and GPUs, which the pass caches
// per job.
func needCPUs(spec *api.JobSpec) int { return spec.TotalCPUsPerNode() }

func needGPUs(spec *api.JobSpec) int { return max(spec.GPUs, 0) }

// NodeUsage sums the allocations the given running jobs hold on node n.
// Used GPUs are listed in index order, as the node's inventory lists them;
// GPUs no longer in the inventory (the node registered again with fewer)
// still count, after them.
func NodeUsage(n *api.Node, jobs []*api.Job) api.NodeResources {
	var used api.NodeResources
	usedGPU := map[int]string{}
	for _, j := range jobs {
		for _, a := range j.Alloc {
			if a.Node != n.Name {
				continue
			}
			used.CPUs += a.CPUs
			used.MemoryMB += a.MemoryMB
			for i, g := range a.GPUs {
				uuid := ""
				if i < len(a.GPUUUIDs) {
					uuid = a.GPUUUIDs[i]
				}
				usedGPU[g] = uuid
			}
		}
	}
	for _, g := range n.Resources.GPUs {
		if _, ok := usedGPU[g.Index]; ok {
			used.GPUs = append(used.GPUs, g)
			delete(usedGPU, g.Index)
		}
	}
	for _, idx := range slices.Sorted(maps.Keys(usedGPU)) {
		used.GPUs = append(used.GPUs, api.GPU{Index: idx, UUID: usedGPU[idx]})
	}
	return used
}

// CheckAlloc reports why allocation a, for a job that needs nd on each
// node, does not fit on node n while running jobs use used there; nil when
// it fits. It is the rule the plan applier verifies every start by: the
// node is up, the allocation gives the job at least its CPUs, memory and
// exactly its GPUs (of its type), within what the node has free, on
// distinct healthy GPUs the node has, with UUIDs (when given) matching the
// inventory. On success it returns the allocation with the GPU UUIDs filled
// from the inventory.
func CheckAlloc(n *api.Node, used api.NodeResources, nd NodeNeed, a api.NodeAlloc) (api.NodeAlloc, error) {
	switch {
	case n.State == api.NodeDown || n.State == api.NodeDrain:
		return a, fmt.Errorf("node %s is %s", n.Name, n.State)
	case a.CPUs < max(nd.CPUs, 1):
		return a, fmt.Errorf("node %s: allocation of %d CPUs, the job needs %d", n.Name, a.CPUs, max(nd.CPUs, 1))
	case a.MemoryMB < nd.MemoryMB:
		return a, fmt.Errorf("node %s: allocation of %d MB, the job needs %d", n.Name, a.MemoryMB, nd.MemoryMB)
	case len(a.GPUs) != nd.GPUs:
		return a, fmt.Errorf("node %s: allocation of %d GPUs, the job needs %d", n.Name, len(a.GPUs), nd.GPUs)
	case len(a.GPUUUIDs) > 0 && len(a.GPUUUIDs) != len(a.GPUs):
		return a, fmt.Errorf("node %s: %d GPU UUIDs for %d GPUs", n.Name, len(a.GPUUUIDs), len(a.GPUs))
	}
	if free := n.Resources.CPUs - used.CPUs; a.CPUs > free {
		return a, fmt.Errorf("node %s has %d CPUs free, the start needs %d", n.Name, free, a.CPUs)
	}
	if free := n.Resources.MemoryMB - used.MemoryMB; a.MemoryMB > free {
		return a, fmt.Errorf("node %s has %d MB free, the start needs %d", n.Name, free, a.MemoryMB)
	}
	out := a
	out.GPUs = slices.Clone(a.GPUs)
	out.GPUUUIDs = nil
	if len(a.GPUs) > 0 {
		out.GPUUUIDs = make([]string, len(a.GPUs))
	}
	for i, idx := range a.GPUs {
		if slices.Contains(a.GPUs[:i], idx) {
			return a, fmt.Errorf("node %s: GPU %d allocated twice", n.Name, idx)
		}
		k := slices.IndexFunc(n.Resources.GPUs, func(g api.GPU) bool { return g.Index == idx })
		if k < 0 {
			return a, fmt.Errorf("node %s has no GPU %d", n.Name, idx)
		}
		g := n.Resources.GPUs[k]
		switch {
		case !g.Healthy:
			return a, fmt.Errorf("node %s: GPU %d is unhealthy", n.Name, idx)
		case nd.GPUType != "" && !strings.EqualFold(g.Type, nd.GPUType):
			return a, fmt.Errorf("node %s: GPU %d is %s, the job needs %s", n.Name, idx, g.Type, nd.GPUType)
		case slices.ContainsFunc(used.GPUs, func(u api.GPU) bool { return u.Index == idx }):
			return a, fmt.Errorf("node %s: GPU %d is in use", n.Name, idx)
		case len(a.GPUUUIDs) > 0 && a.GPUUUIDs[i] != g.UUID:
			return a, fmt.Errorf("node %s: GPU %d is %s, not %s", n.Name, idx, g.UUID, a.GPUUUIDs[i])
		}
		out.GPUUUIDs[i] = g.UUID
	}
	return out, nil
}

// PreemptSettings are the preempt mode and grace time of a running job:
// its QOS's where the QOS sets them, else its partition's. A grace of 0
// means the node daemon's own kill wait.
func PreemptSettings(cfg *api.ClusterConfig, j *api.Job) (api.PreemptMode, int) {
	part, _ := cfg.Partition(j.Partition)
	mode, grace := part.PreemptMode, part.GraceSecs
	if j.Spec.QOS == "" {
		return mode, grace
	}
	for _, q := range cfg.QOS {
		if q.Name != j.Spec.QOS {
			continue
		}
		if q.PreemptMode != "" {
			mode = q.PreemptMode
		}
		if q.GraceSecs > 0 {
			grace = q.GraceSecs
		}
	}
	return mode, grace
}
