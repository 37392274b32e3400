package sim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// Epoch is the virtual unix time at which a trace's time 0 is replayed.
// Outputs are written relative to it again (trace seconds).
const Epoch int64 = 1_000_000_000

// PartitionName is the partition every simulated node and job is in.
const PartitionName = "main"

// DefaultAccount is the account of jobs whose trace names no account (SWF
// logs have users and groups only).
const DefaultAccount = "default"

// Cluster is the simulated machine: its nodes, and how jobs map onto them.
type Cluster struct {
	// Nodes are the nodes, each in PartitionName.
	Nodes []trace.NodeSpec
	// CPUsPerGPU is the CPUs a GPU job takes per GPU (so that CPUs never
	// bind before GPUs); 0 for CPU machines.
	CPUsPerGPU int
}

// Pool returns a CPU cluster of one node with all of machine m's
// processors. SWF logs record processors, not where they ran, and the
// literature's simulators treat a machine as a pool of processors; one
// scheduler node with m.Procs() CPUs is that pool (a job of p processors
// asks for p of its CPUs).
func Pool(m trace.Machine) Cluster {
	return Cluster{Nodes: []trace.NodeSpec{{Name: "pool", CPUs: m.Procs(), MemoryMB: 1 << 30}}}
}

// Homogeneous returns a cluster of m.Nodes identical nodes named n1, n2, ...
// A GPU machine gets 4 CPUs per GPU.
func Homogeneous(m trace.Machine) Cluster {
	c := Cluster{}
	cpus := m.CPUsPerNode
	if m.GPUsPerNode > 0 {
		c.CPUsPerGPU = 4
		cpus = max(cpus, 4*m.GPUsPerNode)
	}
	for i := range m.Nodes {
		c.Nodes = append(c.Nodes, trace.NodeSpec{Name: fmt.Sprintf("n%d", i+1), CPUs: cpus, MemoryMB: 1 << 30, GPUs: m.GPUsPerNode, GPUType: gpuTypeOf(m)})
	}
	return c
}

func gpuTypeOf(m trace.Machine) string {
	if m.GPUsPerNode > 0 {
		return "gpu"
	}
	return ""
}

// Capacity is the cluster's total CPUs and GPUs.
func (c Cluster) Capacity() (cpus, gpus int) {
	for _, n := range c.Nodes {
		cpus += n.CPUs
		gpus += n.GPUs
	}
	return cpus, gpus
}

// apiNodes returns the cluster's nodes as the scheduler sees them.
func (c Cluster) apiNodes() []*api.Node {
	out := make([]*api.Node, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		out = append(out, schedtest.Node(n.Name, n.CPUs, n.MemoryMB, n.GPUs, n.GPUType, PartitionName))
	}
	return out
}

// machine summarizes a homogeneous view of the cluster (the largest node),
// for filtering.
func (c Cluster) machine() trace.Machine {
	m := trace.Machine{Nodes: len(c.Nodes)}
	for _, n := range c.Nodes {
		m.CPUsPerNode = max(m.CPUsPerNode, n.CPUs)
		m.GPUsPerNode = max(m.GPUsPerNode, n.GPUs)
	}
	return m
}

// Spec turns a trace job into the job specification the simulator submits:
//
//   - a GPU job of g GPUs takes trace.GPUShape(g, node GPUs) nodes with an
//     even share of the GPUs each, and CPUsPerGPU CPUs per GPU (or the CPUs
//     the trace records);
//   - a CPU job of p processors on nodes of c CPUs takes ceil(p/c) nodes
//     with ceil(p/nodes) CPUs each (whole nodes when c is 1);
//   - the time limit is the requested time (unlimited when the trace has
//     none);
//   - the account is the trace's account (DefaultAccount for SWF), the user
//     the trace's user.
func (c Cluster) Spec(j trace.Job, account string) api.JobSpec {
	m := c.machine()
	s := api.JobSpec{Name: fmt.Sprintf("trace-%d", j.ID), Partitions: []string{PartitionName},
		Account: account, User: "u" + j.User, NTasks: 1, CPUsPerTask: 1, MemoryMB: 1, TimeLimitSecs: j.Requested}
	if s.TimeLimitSecs <= 0 {
		s.TimeLimitSecs = api.TimeLimitUnlimited
	}
	switch {
	case j.GPUs > 0:
		nodes, per := trace.GPUShape(j.GPUs, m.GPUsPerNode)
		s.Nodes, s.NTasks, s.GPUs, s.GPUType = max(nodes, 1), max(nodes, 1), per, ""
		s.CPUsPerTask = max(per*c.CPUsPerGPU, 1)
		if j.CPUMilli > 0 {
			s.CPUsPerTask = max((j.CPUMilli+999)/1000/max(nodes, 1), 1)
		}
		if j.MemoryMB > 0 {
			s.MemoryMB = max(j.MemoryMB/int64(max(nodes, 1)), 1)
		}
	default:
		ppn := max(m.CPUsPerNode, 1)
		nodes := (j.Procs + ppn - 1) / ppn
		s.Nodes, s.NTasks, s.CPUsPerTask = max(nodes, 1), max(j.Procs, 1), 1
	}
	return s
}

// Resources are what a job holds while it runs.
type Resources struct {
	CPUs, GPUs int
}

// held sums an allocation.
func held(alloc []api.NodeAlloc) Resources {
	var r Resources
	for _, a := range alloc {
		r.CPUs += a.CPUs
		r.GPUs += len(a.GPUs)
	}
	return r
}

// accountsOf lists the distinct accounts of jobs, sorted.
func accountsOf(jobs []*simJob) []string {
	var out []string
	seen := map[string]bool{}
	for _, j := range jobs {
		if a := j.job.Spec.Account; !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	slices.SortFunc(out, cmp.Compare[string])
	return out
}
