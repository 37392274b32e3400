package cli

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// allocNode is one node of a job's allocation as srun sees it.
type allocNode struct {
	Name string
	CPUs int
	GPUs int
}

// allocationOf returns a job's allocation in node-ID order (Slurm's host
// list order).
func allocationOf(job *api.Job) []allocNode {
	nodes := make([]allocNode, 0, len(job.Alloc))
	for _, a := range job.Alloc {
		nodes = append(nodes, allocNode{Name: a.Node, CPUs: a.CPUs, GPUs: len(a.GPUs)})
	}
	slices.SortStableFunc(nodes, func(a, b allocNode) int {
		switch {
		case hostlist.Less(a.Name, b.Name):
			return -1
		case hostlist.Less(b.Name, a.Name):
			return 1
		}
		return 0
	})
	return nodes
}

// layoutRequest is what srun's options ask of a step; zero values are
// options not given.
type layoutRequest struct {
	Nodes         int      // -N
	NTasks        int      // -n
	NTasksPerNode int      // --ntasks-per-node
	NodeList      []string // -w
	Exclude       []string // -x
	CPUsPerTask   int      // -c (0: 1)
	Distribution  string   // -m: "block" (default) or "cyclic"
	GPUsPerTask   int      // --gpus-per-task
	GPUsPerNode   int      // --gpus-per-node
	Overcommit    bool     // -O: more tasks than CPUs
	// JobNTasks is the job's task count (SLURM_NTASKS): the default of a
	// step given no -n, -N, -w or --ntasks-per-node.
	JobNTasks int
}

// stepLayout is where a step's tasks run.
type stepLayout struct {
	// Nodes are the step's nodes in node-ID order (SLURM_NODEID).
	Nodes        []string
	TasksPerNode []int
	// Ranks[i] are the global ranks (SLURM_PROCID) of the tasks on
	// Nodes[i], in local order (SLURM_LOCALID).
	Ranks        [][]int
	Distribution string
}

// NTasks is the step's task count.
func (l *stepLayout) NTasks() int {
	n := 0
	for _, t := range l.TasksPerNode {
		n += t
	}
	return n
}

// NodeOf returns the index in Nodes of the node that runs rank.
func (l *stepLayout) NodeOf(rank int) int {
	for i, ranks := range l.Ranks {
		if slices.Contains(ranks, rank) {
			return i
		}
	}
	return -1
}

// layoutStep computes a step's nodes and task placement in an allocation
// as Slurm's srun does: the node count from -N, -w or the task count; the
// task count from -n, --ntasks-per-node times the nodes, one per node with
// -N or -w, else the job's; tasks per node counted round robin over the
// nodes up to each node's CPUs (divided by -c), then beyond them only with
// --overcommit; ranks numbered node by node (block) or round robin
// (cyclic).
func layoutStep(alloc []allocNode, req layoutRequest) (*stepLayout, error) {
	dist := req.Distribution
	switch dist {
	case "", "block":
		dist = "block"
	case "cyclic":
	default:
		return nil, &api.FieldError{Field: "--distribution", Value: req.Distribution, Msg: "want block or cyclic"}
	}
	cpusPerTask := max(req.CPUsPerTask, 1)
	in := map[string]bool{}
	for _, n := range alloc {
		in[n.Name] = true
	}
	names := make([]string, len(alloc))
	for i, n := range alloc {
		names[i] = n.Name
	}
	allocList := hostlist.Compress(names)
	excluded := map[string]bool{}
	for _, x := range req.Exclude {
		excluded[x] = true
	}
	required := map[string]bool{}
	for _, w := range req.NodeList {
		if !in[w] {
			return nil, &api.FieldError{Field: "--nodelist", Value: hostlist.Compress(req.NodeList), Msg: fmt.Sprintf("node %s is not in the job's allocation (%s)", w, allocList)}
		}
		if excluded[w] {
			return nil, &api.FieldError{Field: "--exclude", Value: hostlist.Compress(req.Exclude), Msg: fmt.Sprintf("excludes node %s, which --nodelist asks for", w)}
		}
		required[w] = true
	}
	var candidates []allocNode
	for _, n := range alloc {
		if !excluded[n.Name] {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return nil, &api.FieldError{Field: "--exclude", Value: hostlist.Compress(req.Exclude), Msg: fmt.Sprintf("leaves no node of the job's allocation (%s)", allocList)}
	}

	// The node count.
	nnodes := 0
	switch {
	case req.Nodes > 0:
		if req.Nodes > len(candidates) {
			return nil, &api.FieldError{Field: "--nodes", Value: strconv.Itoa(req.Nodes), Msg: fmt.Sprintf("Only allocated %d nodes asked for %d", len(candidates), req.Nodes)}
		}
		if req.Nodes < len(required) {
			return nil, &api.FieldError{Field: "--nodes", Value: strconv.Itoa(req.Nodes), Msg: fmt.Sprintf("--nodelist names %d nodes", len(required))}
		}
		nnodes = req.Nodes
	case len(required) > 0:
		nnodes = len(required)
	}

	// The task count.
	ntasks := req.NTasks
	switch {
	case ntasks > 0:
	case req.NTasksPerNode > 0:
		n := nnodes
		if n == 0 {
			n = len(candidates)
		}
		ntasks = req.NTasksPerNode * n
	case nnodes > 0:
		ntasks = nnodes
	default:
		ntasks = max(req.JobNTasks, 1)
	}
	if nnodes == 0 {
		nnodes = min(len(candidates), ntasks)
		if req.NTasksPerNode > 0 {
			nnodes = min(len(candidates), (ntasks+req.NTasksPerNode-1)/req.NTasksPerNode)
		}
		nnodes = max(nnodes, len(required))
	}
	if ntasks < nnodes {
		return nil, &api.FieldError{Field: "--ntasks", Value: strconv.Itoa(ntasks), Msg: fmt.Sprintf("fewer tasks than the %d nodes asked for; each node of a step runs at least one task", nnodes)}
	}
	if req.NTasksPerNode > 0 && ntasks > req.NTasksPerNode*nnodes {
		return nil, &api.FieldError{Field: "--ntasks-per-node", Value: strconv.Itoa(req.NTasksPerNode), Msg: fmt.Sprintf("%d tasks do not fit on %d nodes at %d per node", ntasks, nnodes, req.NTasksPerNode)}
	}

	// The nodes: those -w names, then the first others in node-ID order.
	var step []allocNode
	for _, n := range candidates {
		if required[n.Name] {
			step = append(step, n)
		}
	}
	for _, n := range candidates {
		if len(step) == nnodes {
			break
		}
		if !required[n.Name] {
			step = append(step, n)
		}
	}
	slices.SortStableFunc(step, func(a, b allocNode) int {
		return slices.Index(names, a.Name) - slices.Index(names, b.Name)
	})

	// Tasks per node: round robin up to each node's task slots (its CPUs
	// over -c, capped by --ntasks-per-node), past them only when
	// overcommitting (Slurm's _task_layout_block counting).
	slots := make([]int, len(step))
	total := 0
	for i, n := range step {
		slots[i] = n.CPUs / cpusPerTask
		if n.CPUs == 0 {
			slots[i] = ntasks // unknown CPUs: no limit
		}
		if req.NTasksPerNode > 0 {
			if !req.Overcommit && slots[i] < req.NTasksPerNode {
				return nil, &api.FieldError{Field: "--ntasks-per-node", Value: strconv.Itoa(req.NTasksPerNode), Msg: fmt.Sprintf("More processors requested than permitted: node %s has %d CPUs for %d tasks of %d CPUs", n.Name, n.CPUs, req.NTasksPerNode, cpusPerTask)}
			}
			slots[i] = req.NTasksPerNode
		}
		total += slots[i]
	}
	if ntasks > total && !req.Overcommit {
		field, value := "--ntasks", strconv.Itoa(ntasks)
		if req.CPUsPerTask > 0 {
			field, value = "--cpus-per-task", strconv.Itoa(req.CPUsPerTask)
		}
		return nil, &api.FieldError{Field: field, Value: value, Msg: fmt.Sprintf("More processors requested than permitted: %d tasks of %d CPUs on %s, which has %d task slots (use --overcommit to share CPUs)", ntasks, cpusPerTask, hostlist.Compress(nodeNames(step)), total)}
	}
	counts := make([]int, len(step))
	for placed, round, over := 0, 0, false; placed < ntasks; round++ {
		room := false
		for i := range step {
			if placed == ntasks {
				break
			}
			if round < slots[i] || over {
				counts[i]++
				placed++
				if round+1 < slots[i] {
					room = true
				}
			}
		}
		if !room {
			over = true
		}
	}
	for i, n := range step {
		if req.GPUsPerNode > n.GPUs {
			return nil, &api.FieldError{Field: "--gpus-per-node", Value: strconv.Itoa(req.GPUsPerNode), Msg: fmt.Sprintf("node %s holds %d GPUs of the job", n.Name, n.GPUs)}
		}
		if req.GPUsPerTask*counts[i] > n.GPUs {
			return nil, &api.FieldError{Field: "--gpus-per-task", Value: strconv.Itoa(req.GPUsPerTask), Msg: fmt.Sprintf("%d tasks on node %s need %d GPUs; it holds %d of the job", counts[i], n.Name, req.GPUsPerTask*counts[i], n.GPUs)}
		}
	}

	// Ranks.
	ranks := make([][]int, len(step))
	if dist == "block" {
		r := 0
		for i, c := range counts {
			for range c {
				ranks[i] = append(ranks[i], r)
				r++
			}
		}
	} else {
		for r := 0; r < ntasks; {
			for i := range step {
				if len(ranks[i]) < counts[i] {
					ranks[i] = append(ranks[i], r)
					r++
				}
			}
		}
	}
	return &stepLayout{Nodes: nodeNames(step), TasksPerNode: counts, Ranks: ranks, Distribution: dist}, nil
}

func nodeNames(nodes []allocNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}
