package sched

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// FirstFit is the first, simple scheduler: strict priority order within each
// partition, first-fit placement, no backfill and no preemption.
//
// Pending jobs are taken in priority order: the highest PriorityTier among the
// job's partitions, then Spec.Priority (higher first), then SubmitTime
// (earlier first), then ID. Held jobs (Spec.Hold or a JobHeld* reason) and
// jobs whose BeginTime is in the future are skipped and block nothing.
//
// A job tries its partitions in the order it named them (the default
// partition when it names none), skipping partitions that are DOWN or whose
// MaxTimeSecs is below the job's time limit. In a partition it takes the first
// Nodes nodes, in the partition's node order (its Nodes list, else node names
// in natural order), that are neither DOWN nor DRAIN and have the CPUs
// (TotalCPUsPerNode), memory and healthy GPUs of the requested type free; all
// of them or none. GPUs are the lowest free indices of the node. Memory is
// the job's --mem, else the partition's DefMemPerNodeMB, else
// api.DefaultMemPerNodeMB (1024 MB); see api.JobSpec.MemoryIn.
//
// Like Slurm's builtin scheduler, once a job cannot start in a partition for
// lack of free resources, no lower-priority job starts in that partition in
// this pass: that job waits with reason Resources, the jobs behind it with
// reason Priority. A job that could not fit even on the partition's nodes
// when they are empty (ReasonBadConstraints) blocks nobody. Resources held by
// running jobs and by starts earlier in the same plan are accounted for.
//
// The priority reported for a pending job is 1 + 100*tier + Spec.Priority
// (tier clamped to 0..); held jobs report 0, as Slurm does.
type FirstFit struct{}

// Schedule implements Scheduler.
func (FirstFit) Schedule(in Input) api.Plan {
	c := newCluster(in)
	plan := api.Plan{Now: in.Now}

	// Each pending job with its partitions and tier, resolved once.
	type entry struct {
		job   *api.Job
		parts []api.Partition
		tier  int
	}
	var pending []entry
	for _, j := range in.Jobs {
		if j.State != api.JobPending {
			continue
		}
		e := entry{job: j, parts: c.partitionsOf(j)}
		for i, p := range e.parts {
			if i == 0 || p.PriorityTier > e.tier {
				e.tier = p.PriorityTier
			}
		}
		pending = append(pending, e)
	}
	slices.SortFunc(pending, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(b.tier, a.tier),
			cmp.Compare(b.job.Spec.Priority, a.job.Spec.Priority),
			cmp.Compare(a.job.SubmitTime, b.job.SubmitTime),
			cmp.Compare(a.job.ID, b.job.ID),
		)
	})

	blocked := map[string]bool{} // partitions where a higher-priority job waits for resources
	for _, e := range pending {
		j := e.job
		prio := uint32(1 + 100*max(e.tier, 0) + max(j.Spec.Priority, 0))
		if held(j) {
			reason := j.Reason
			if reason != api.ReasonHeldAdmin {
				reason = api.ReasonHeldUser
			}
			plan.Pending = append(plan.Pending, api.PendingInfo{JobID: j.ID, Reason: reason})
			continue
		}
		if j.Spec.BeginTime > in.Now {
			plan.Pending = append(plan.Pending, api.PendingInfo{JobID: j.ID, Reason: api.ReasonBeginTime, Priority: prio})
			continue
		}
		start, reason := c.place(j, e.parts, blocked)
		if start != nil {
			plan.Starts = append(plan.Starts, *start)
			continue
		}
		plan.Pending = append(plan.Pending, api.PendingInfo{JobID: j.ID, Reason: reason, Priority: prio})
	}
	return plan
}

// held reports whether a pending job is held by its user or an administrator.
func held(j *api.Job) bool {
	return j.Spec.Hold || j.Reason == api.ReasonHeldUser || j.Reason == api.ReasonHeldAdmin
}

// nodeFree is a node's free resources during one pass.
type nodeFree struct {
	node    *api.Node
	cpus    int
	mem     int64
	usedGPU map[int]bool // GPU indices taken by running jobs or earlier starts
}

// usable reports whether new jobs may start on the node.
func (n *nodeFree) usable() bool {
	return n.node.State != api.NodeDown && n.node.State != api.NodeDrain
}

// freeGPUs returns the healthy, free GPUs of the type (any type when empty),
// by increasing index.
func (n *nodeFree) freeGPUs(gpuType string) []api.GPU {
	var out []api.GPU
	for _, g := range n.node.Resources.GPUs {
		if g.Healthy && !n.usedGPU[g.Index] && gpuMatches(g, gpuType) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b api.GPU) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

func gpuMatches(g api.GPU, gpuType string) bool {
	return gpuType == "" || strings.EqualFold(g.Type, gpuType)
}

// take subtracts an allocation from the node's free resources.
func (n *nodeFree) take(a api.NodeAlloc) {
	n.cpus -= a.CPUs
	n.mem -= a.MemoryMB
	for _, i := range a.GPUs {
		n.usedGPU[i] = true
	}
}

// cluster is the scheduler's working copy of the nodes and partitions.
type cluster struct {
	cfg     api.ClusterConfig
	byName  map[string]*nodeFree
	members map[string][]*nodeFree // partition name -> nodes in partition order
}

func newCluster(in Input) *cluster {
	c := &cluster{cfg: in.Config, byName: map[string]*nodeFree{}, members: map[string][]*nodeFree{}}
	var names []string
	for _, n := range in.Nodes {
		if _, dup := c.byName[n.Name]; dup {
			continue
		}
		c.byName[n.Name] = &nodeFree{node: n, cpus: n.Resources.CPUs, mem: n.Resources.MemoryMB, usedGPU: map[int]bool{}}
		names = append(names, n.Name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(naturalCompare(a, b), strings.Compare(a, b)) })
	for _, j := range in.Jobs {
		if j.State != api.JobRunning {
			continue
		}
		for _, a := range j.Alloc {
			if n := c.byName[a.Node]; n != nil {
				n.take(a)
			}
		}
	}
	for _, p := range in.Config.Partitions {
		var list []*nodeFree
		if len(p.Nodes) > 0 {
			for _, name := range p.Nodes {
				if n := c.byName[name]; n != nil {
					list = append(list, n)
				}
			}
		} else {
			for _, name := range names {
				if n := c.byName[name]; slices.Contains(n.node.Partitions, p.Name) {
					list = append(list, n)
				}
			}
		}
		c.members[p.Name] = list
	}
	return c
}

// partitionsOf returns the configured partitions a job may run in, in the
// order it named them; the default partition when it names none.
func (c *cluster) partitionsOf(j *api.Job) []api.Partition {
	if len(j.Spec.Partitions) == 0 {
		if p, ok := c.cfg.DefaultPartition(); ok {
			return []api.Partition{p}
		}
		return nil
	}
	var out []api.Partition
	for _, name := range j.Spec.Partitions {
		if p, ok := c.cfg.Partition(name); ok {
			out = append(out, p)
		}
	}
	return out
}

// place finds a start for j in its partitions parts, or returns the reason
// it waits. A partition in which j could start on empty nodes but not now is
// added to blocked. parts is modified.
func (c *cluster) place(j *api.Job, parts []api.Partition, blocked map[string]bool) (*api.Start, string) {
	if len(parts) == 0 {
		return nil, ReasonPartitionConfig
	}
	parts = slices.DeleteFunc(parts, func(p api.Partition) bool { return !p.Up() })
	if len(parts) == 0 {
		return nil, api.ReasonPartitionDown
	}
	parts = slices.DeleteFunc(parts, func(p api.Partition) bool {
		return p.MaxTimeSecs > 0 && j.Spec.TimeLimitIn(p) > p.MaxTimeSecs
	})
	if len(parts) == 0 {
		return nil, api.ReasonPartitionLimit
	}
	waitsForResources, behindOthers := false, false
	for _, p := range parts {
		if blocked[p.Name] {
			behindOthers = true
			continue
		}
		if alloc := c.fit(j, p); alloc != nil {
			for _, a := range alloc {
				c.byName[a.Node].take(a)
			}
			return &api.Start{JobID: j.ID, Partition: p.Name, Alloc: alloc}, ""
		}
		if c.couldEverFit(j, p) {
			waitsForResources = true
			blocked[p.Name] = true
		}
	}
	switch {
	case waitsForResources:
		return nil, api.ReasonResources
	case behindOthers:
		return nil, api.ReasonPriority
	}
	return nil, ReasonBadConstraints
}

// fit returns the allocation of j on the first suitable nodes of partition p
// as they are now, or nil.
func (c *cluster) fit(j *api.Job, p api.Partition) []api.NodeAlloc {
	want := max(j.Spec.Nodes, 1)
	cpus, mem := j.Spec.TotalCPUsPerNode(), j.Spec.MemoryIn(p)
	var alloc []api.NodeAlloc
	for _, n := range c.members[p.Name] {
		if !n.usable() || n.cpus < cpus || n.mem < mem {
			continue
		}
		gpus := n.freeGPUs(j.Spec.GPUType)
		if len(gpus) < j.Spec.GPUs {
			continue
		}
		a := api.NodeAlloc{Node: n.node.Name, CPUs: cpus, MemoryMB: mem}
		for _, g := range gpus[:j.Spec.GPUs] {
			a.GPUs = append(a.GPUs, g.Index)
			a.GPUUUIDs = append(a.GPUUUIDs, g.UUID)
		}
		alloc = append(alloc, a)
		if len(alloc) == want {
			return alloc
		}
	}
	return nil
}

// couldEverFit reports whether j would fit partition p if all its nodes were
// up and empty. A partition with no nodes yet counts as one that could fit:
// nodes may still register.
func (c *cluster) couldEverFit(j *api.Job, p api.Partition) bool {
	members := c.members[p.Name]
	if len(members) == 0 {
		return true
	}
	cpus, mem := j.Spec.TotalCPUsPerNode(), j.Spec.MemoryIn(p)
	fitting := 0
	for _, n := range members {
		res := n.node.Resources
		gpus := 0
		for _, g := range res.GPUs {
			if gpuMatches(g, j.Spec.GPUType) {
				gpus++
			}
		}
		if res.CPUs >= cpus && res.MemoryMB >= mem && gpus >= j.Spec.GPUs {
			fitting++
		}
	}
	return fitting >= max(j.Spec.Nodes, 1)
}

// naturalCompare orders names with embedded numbers numerically: node2 < node10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := splitDigits(a)
			nb, rb := splitDigits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := cmp.Or(cmp.Compare(len(ta), len(tb)), strings.Compare(ta, tb)); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
