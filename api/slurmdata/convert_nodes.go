package slurmdata

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// NodesResponse is scontrol show node --json (and GET
// /slurm/v0.0.41/nodes): the nodes in the order given.
func NodesResponse(nodes []api.Node, o Options) NodesResp {
	resp := NodesResp{Nodes: Nodes{}, LastUpdate: setU64(o.Now), Meta: NewMeta(o), Errors: Errors{}, Warnings: Warnings{}}
	for i := range nodes {
		resp.Nodes = append(resp.Nodes, FromNode(&nodes[i], o))
	}
	return resp
}

// NodeState is a node's state flags as Slurm prints them: the base state
// (IDLE, MIXED, ALLOCATED, DOWN, UNKNOWN) and DRAIN for a drained or
// draining node.
func NodeState(n *api.Node) []string {
	base := string(api.NodeIdle)
	switch {
	case n.State == api.NodeDown:
		return []string{string(api.NodeDown)}
	case n.State == api.NodeUnknown:
		return []string{string(api.NodeUnknown)}
	case n.Used.CPUs > 0 && n.Used.CPUs >= n.Resources.CPUs:
		base = string(api.NodeAllocated)
	case n.Used.CPUs > 0 || len(n.Used.GPUs) > 0:
		base = string(api.NodeMixed)
	}
	if n.State == api.NodeDrain {
		return []string{base, "DRAIN"}
	}
	return []string{base}
}

// gpuGres is a node's GPUs as a gres string ("gpu:h100:8"), "" for none.
func gpuGres(gpus []api.GPU) string {
	if len(gpus) == 0 {
		return ""
	}
	t := gpus[0].Type
	for _, g := range gpus {
		if g.Type != t {
			t = ""
		}
	}
	if t != "" {
		return fmt.Sprintf("gpu:%s:%d", t, len(gpus))
	}
	return fmt.Sprintf("gpu:%d", len(gpus))
}

// gresUsed is a node's gres_used: "gpu:h100:2(IDX:0-1)", "gpu:0" when
// none is in use, "" for a node without GPUs.
func gresUsed(n *api.Node) string {
	if len(n.Resources.GPUs) == 0 {
		return ""
	}
	name := strings.TrimSuffix(gpuGres(n.Resources.GPUs), ":"+strconv.Itoa(len(n.Resources.GPUs)))
	idx := make([]int, 0, len(n.Used.GPUs))
	for _, g := range n.Used.GPUs {
		idx = append(idx, g.Index)
	}
	if len(idx) == 0 {
		return name + ":0(IDX:N/A)"
	}
	return fmt.Sprintf("%s:%d(IDX:%s)", name, len(idx), api.TaskIDs(sortedInts(idx)).String())
}

// nodeTRES is a node's tres string: "cpu=64,mem=500G,billing=64,gres/gpu=8".
func nodeTRES(r api.NodeResources, billing bool) string {
	s := fmt.Sprintf("cpu=%d,mem=%s", r.CPUs, memString(r.MemoryMB))
	if billing {
		s += fmt.Sprintf(",billing=%d", r.CPUs)
	}
	if len(r.GPUs) > 0 {
		s += fmt.Sprintf(",gres/gpu=%d", len(r.GPUs))
	}
	return s
}

// FromNode converts one node to Slurm's node object.
func FromNode(n *api.Node, o Options) Node {
	host, port, err := net.SplitHostPort(n.Addr)
	if err != nil {
		host = n.Addr
	}
	p, _ := strconv.Atoi(port)
	used := ""
	if n.Used.CPUs > 0 || n.Used.MemoryMB > 0 || len(n.Used.GPUs) > 0 {
		used = nodeTRES(n.Used, false)
	}
	gres := gpuGres(n.Resources.GPUs)
	return Node{
		Boards:               1,
		BootTime:             setU64(n.BootTime),
		ClusterName:          o.Cluster,
		Cores:                int32(n.Resources.CPUs),
		FreeMem:              freeMem(n),
		CPULoad:              cpuLoad(n),
		CPUs:                 int32(n.Resources.CPUs),
		EffectiveCPUs:        int32(n.Resources.CPUs),
		Energy:               AcctGatherEnergy{},
		Features:             CSVString{},
		ActiveFeatures:       CSVString{},
		Gres:                 gres,
		GresUsed:             gresUsed(n),
		LastBusy:             setU64(0),
		Name:                 n.Name,
		NextStateAfterReboot: []string{},
		Address:              host,
		Hostname:             n.Name,
		State:                NodeState(n),
		Partitions:           CSVString(orEmpty(slices.Clone(n.Partitions))),
		Port:                 int32(p),
		RealMemory:           n.Resources.MemoryMB,
		Reason:               n.Reason,
		ReasonChangedAt:      setU64(n.ReasonTime),
		ReasonSetByUser:      n.ReasonUser,
		ResumeAfter:          setU64(0),
		AllocMemory:          n.Used.MemoryMB,
		AllocCPUs:            int32(n.Used.CPUs),
		AllocIdleCPUs:        int32(max(n.Resources.CPUs-n.Used.CPUs, 0)),
		TRESUsed:             used,
		SlurmdStartTime:      setU64(n.BootTime),
		Sockets:              1,
		Threads:              1,
		Weight:               1,
		TRES:                 nodeTRES(n.Resources, true),
	}
}

// PartitionResponse is scontrol show partition --json (and GET
// /slurm/v0.0.41/partitions). nodes are the cluster's nodes, for the
// partitions that take every node naming them.
func PartitionResponse(parts []api.Partition, nodes []api.Node, o Options) PartitionResp {
	resp := PartitionResp{Partitions: PartitionInfoMsg{}, LastUpdate: setU64(o.Now), Meta: NewMeta(o), Errors: Errors{}, Warnings: Warnings{}}
	for i := range parts {
		resp.Partitions = append(resp.Partitions, FromPartition(&parts[i], nodes, o))
	}
	return resp
}

// PartitionNodes is the names of a partition's nodes, in hostlist order:
// those it lists and those that name it when they register.
func PartitionNodes(p *api.Partition, nodes []api.Node) []string {
	names := slices.Clone(p.Nodes)
	for _, n := range nodes {
		if slices.Contains(n.Partitions, p.Name) && !slices.Contains(names, n.Name) {
			names = append(names, n.Name)
		}
	}
	hostlist.Sort(names)
	return names
}

// minutesOrInfinite is a limit in seconds as minutes; 0 or UNLIMITED is infinite.
func minutesOrInfinite(secs int64) Uint32NoVal {
	if secs == 0 || api.Unlimited(secs) {
		return infiniteU32()
	}
	return setU32((secs + 59) / 60)
}

// FromPartition converts one partition to Slurm's partition_info.
func FromPartition(p *api.Partition, nodes []api.Node, o Options) PartitionInfo {
	names := PartitionNodes(p, nodes)
	var total api.NodeResources
	for _, n := range nodes {
		if slices.Contains(names, n.Name) {
			total.CPUs += n.Resources.CPUs
			total.MemoryMB += n.Resources.MemoryMB
			total.GPUs = append(total.GPUs, n.Resources.GPUs...)
		}
	}
	configured := fmt.Sprintf("cpu=%d,mem=%s,node=%d,billing=%d", total.CPUs, memString(total.MemoryMB), len(names), total.CPUs)
	if len(total.GPUs) > 0 {
		configured += fmt.Sprintf(",gres/gpu=%d", len(total.GPUs))
	}
	state := p.State
	if state == "" {
		state = "UP"
	}
	maxNodes := infiniteU32()
	if p.MaxNodes > 0 {
		maxNodes = setU32(int64(p.MaxNodes))
	}
	memPerNode := Uint64NoVal{}
	if p.DefMemPerNodeMB > 0 {
		memPerNode = setU64(p.DefMemPerNodeMB)
	}
	hl := hostlist.Compress(names)
	return PartitionInfo{
		Nodes:      PartitionInfoNodes{AllowedAllocation: "", Configured: hl, Total: int32(len(names))},
		TRES:       PartitionInfoTRES{Configured: configured},
		Cluster:    o.Cluster,
		SelectType: []string{},
		CPUs:       PartitionInfoCPUs{Total: int32(total.CPUs)},
		Defaults: PartitionInfoDefaults{
			PartitionMemoryPerCPU:  Uint64NoVal{},
			PartitionMemoryPerNode: memPerNode,
			Time:                   setU32((p.DefaultTime() + 59) / 60),
		},
		GraceTime: int32(p.GraceSecs),
		Maximums: PartitionInfoMaximums{
			CPUsPerNode:            infiniteU32(),
			CPUsPerSocket:          infiniteU32(),
			PartitionMemoryPerCPU:  Uint64NoVal{},
			PartitionMemoryPerNode: setU64(0),
			Nodes:                  maxNodes,
			Shares:                 1,
			Oversubscribe:          PartitionInfoMaximumsOversubscribe{Jobs: 1, Flags: []string{}},
			Time:                   minutesOrInfinite(p.MaxTimeSecs),
			OverTimeLimit:          Uint16NoVal{},
		},
		Name:        p.Name,
		Priority:    PartitionInfoPriority{JobFactor: int32(p.PriorityFactor), Tier: int32(p.PriorityTier)},
		Partition:   PartitionInfoPartition{State: []string{state}},
		SuspendTime: Uint32NoVal{},
	}
}

// freeMem is the node's available memory in MB from its latest heartbeat,
// not set when the controller has no figure.
func freeMem(n *api.Node) Uint64NoVal {
	if n.FreeMemMB == nil {
		return Uint64NoVal{}
	}
	return setU64(*n.FreeMemMB)
}

// cpuLoad is the node's load average in hundredths, as slurmd reports it
// (0.52 is 52); 0 when the controller has no figure.
func cpuLoad(n *api.Node) int32 {
	if n.CPULoad == nil {
		return 0
	}
	return int32(math.Round(*n.CPULoad * 100))
}
