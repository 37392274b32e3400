package slurmdata

import (
	"net"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// SinfoResponse is sinfo --json: for each partition (in the order given),
// one entry per group of its nodes that share a state and GPU use, as
// Slurm 24.05's sinfo groups them for JSON (its default line's fields and
// gres_used). Nodes of no listed partition are left out.
func SinfoResponse(nodes []api.Node, parts []api.Partition, o Options) SinfoResp {
	return SinfoResponseFiltered(nodes, nil, parts, o)
}

// SinfoResponseFiltered is SinfoResponse listing only the nodes keep
// accepts (sinfo -t, -n, -r; nil keeps all); the partitions' own figures
// still count all of nodes.
func SinfoResponseFiltered(nodes []api.Node, keep func(*api.Node) bool, parts []api.Partition, o Options) SinfoResp {
	resp := SinfoResp{Sinfo: SinfoDataList{}, Meta: NewMeta(o), Errors: Errors{}, Warnings: Warnings{}}
	byName := make(map[string]*api.Node, len(nodes))
	for i := range nodes {
		byName[nodes[i].Name] = &nodes[i]
	}
	for i := range parts {
		p := &parts[i]
		info := FromPartition(p, nodes, o)
		names := PartitionNodes(p, nodes)
		type group struct {
			key   string
			nodes []*api.Node
		}
		var groups []*group
		for _, name := range names {
			n, ok := byName[name]
			if !ok || (keep != nil && !keep(n)) {
				continue
			}
			key := strings.Join(NodeState(n), "+") + "|" + gresUsed(n)
			k := slices.IndexFunc(groups, func(g *group) bool { return g.key == key })
			if k < 0 {
				groups = append(groups, &group{key: key})
				k = len(groups) - 1
			}
			groups[k].nodes = append(groups[k].nodes, n)
		}
		for _, g := range groups {
			resp.Sinfo = append(resp.Sinfo, sinfoGroup(g.nodes, info, o))
		}
	}
	return resp
}

// sinfoGroup is one sinfo entry for nodes sharing a state.
func sinfoGroup(nodes []*api.Node, part PartitionInfo, o Options) SinfoData {
	first := nodes[0]
	d := SinfoData{
		Node:      SinfoDataNode{State: NodeState(first)},
		Nodes:     SinfoDataNodes{Hostnames: Hostlist{}, Addresses: Hostlist{}, Nodes: Hostlist{}},
		Memory:    SinfoDataMemory{Free: SinfoDataMemoryFree{Minimum: Uint64NoVal{}, Maximum: Uint64NoVal{}}},
		Gres:      SinfoDataGres{Total: gpuGres(first.Resources.GPUs), Used: gresUsed(first)},
		Cluster:   o.Cluster,
		Reason:    SinfoDataReason{Description: first.Reason, Time: first.ReasonTime, User: first.ReasonUser},
		Partition: part,
	}
	d.CPUs.PerNode.Max = infiniteU32()
	d.Sockets = SinfoMinMax{Minimum: 1, Maximum: 1}
	d.Threads = SinfoMinMax{Minimum: 1, Maximum: 1}
	d.Weight = SinfoMinMax{Minimum: 1, Maximum: 1}
	loadSeen := false
	for i, n := range nodes {
		cpus, used := int32(n.Resources.CPUs), int32(min(n.Used.CPUs, n.Resources.CPUs))
		d.Nodes.Total++
		state := NodeState(n)
		switch {
		case state[0] == string(api.NodeDown) || state[0] == string(api.NodeUnknown) || slices.Contains(state, "DRAIN"):
			d.Nodes.Other++
			d.CPUs.Other += cpus
		case used > 0 || len(n.Used.GPUs) > 0:
			d.Nodes.Allocated++
			d.CPUs.Allocated += used
			d.CPUs.Idle += cpus - used
		default:
			d.Nodes.Idle++
			d.CPUs.Idle += cpus
		}
		d.CPUs.Total += cpus
		if i == 0 || cpus < d.CPUs.Minimum {
			d.CPUs.Minimum = cpus
		}
		d.CPUs.Maximum = max(d.CPUs.Maximum, cpus)
		if i == 0 || cpus < d.Cores.Minimum {
			d.Cores.Minimum = cpus
		}
		d.Cores.Maximum = max(d.Cores.Maximum, cpus)
		if i == 0 || n.Resources.MemoryMB < d.Memory.Minimum {
			d.Memory.Minimum = n.Resources.MemoryMB
		}
		d.Memory.Maximum = max(d.Memory.Maximum, n.Resources.MemoryMB)
		d.Memory.Allocated += n.Used.MemoryMB
		if f := freeMem(n); f.Set {
			if !d.Memory.Free.Minimum.Set || f.Number < d.Memory.Free.Minimum.Number {
				d.Memory.Free.Minimum = f
			}
			if !d.Memory.Free.Maximum.Set || f.Number > d.Memory.Free.Maximum.Number {
				d.Memory.Free.Maximum = f
			}
		}
		if n.CPULoad != nil {
			load := cpuLoad(n)
			if !loadSeen || load < d.CPUs.Load.Minimum {
				d.CPUs.Load.Minimum = load
			}
			d.CPUs.Load.Maximum = max(d.CPUs.Load.Maximum, load)
			loadSeen = true
		}
		host, _, err := net.SplitHostPort(n.Addr)
		if err != nil {
			host = n.Addr
		}
		d.Nodes.Hostnames = append(d.Nodes.Hostnames, n.Name)
		d.Nodes.Addresses = append(d.Nodes.Addresses, host)
		d.Nodes.Nodes = append(d.Nodes.Nodes, n.Name)
	}
	return d
}
