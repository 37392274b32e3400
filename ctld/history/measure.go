// Package history keeps the controller's recent history of GPU use for the
// web dashboard: Measure derives one point from the replicated state (pure),
// History keeps points at several resolutions (each bounded, later ones
// downsampled by averaging), and Sampler measures on a ticker.
package history

import (
	"cmp"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Measure derives the cluster's GPU figures at now from the configuration,
// the registered nodes (DOWN and DRAIN included) and the active jobs
// (PENDING and RUNNING; others are ignored). It is pure.
func Measure(cfg *api.ClusterConfig, nodes []*api.Node, jobs []*api.Job, now int64) api.HistoryPoint {
	p := api.HistoryPoint{Time: now}
	parts := map[string]*api.PartitionPoint{}
	part := func(name string) *api.PartitionPoint {
		if pp := parts[name]; pp != nil {
			return pp
		}
		pp := &api.PartitionPoint{Partition: name}
		parts[name] = pp
		return pp
	}
	for _, cp := range cfg.Partitions {
		part(cp.Name)
	}
	for _, n := range nodes {
		total, usable := float64(len(n.Resources.GPUs)), 0.0
		if n.State != api.NodeDown && n.State != api.NodeDrain {
			for _, g := range n.Resources.GPUs {
				if g.Healthy {
					usable++
				}
			}
		}
		p.GPUsTotal += total
		p.GPUsUsable += usable
		for _, name := range nodePartitions(cfg, n) {
			pp := part(name)
			pp.GPUsTotal += total
			pp.GPUsUsable += usable
		}
	}

	type key struct{ account, partition string }
	rows := map[key]*api.AccountPoint{}
	row := func(account, partition string) *api.AccountPoint {
		k := key{account, partition}
		if r := rows[k]; r != nil {
			return r
		}
		r := &api.AccountPoint{Account: account, Partition: partition}
		rows[k] = r
		return r
	}
	guarantees := newGuaranteeIndex(cfg)
	for _, a := range cfg.Accounts {
		for partName, g := range a.Guarantees {
			if g > 0 {
				row(a.Name, partName).Guarantee = float64(g)
			}
		}
	}
	for _, j := range jobs {
		account := cmp.Or(j.Spec.Account, cfg.DefaultAccount, api.RootAccount)
		switch j.State {
		case api.JobRunning:
			gpus := 0.0
			for _, a := range j.Alloc {
				gpus += float64(len(a.GPUs))
			}
			p.Running++
			p.GPUsAllocated += gpus
			pp := part(j.Partition)
			pp.Running++
			pp.GPUsAllocated += gpus
			if gpus > 0 {
				row(guarantees.owner(account, j.Partition), j.Partition).InUse += gpus
			}
		case api.JobPending:
			count := 1.0
			if j.IsArrayRecord() {
				count = float64(len(j.ArrayPending))
			}
			if count == 0 {
				continue
			}
			gpus := count * float64(j.Spec.GPUs*max(j.Spec.Nodes, 1))
			p.Pending += count
			p.PendingGPUs += gpus
			pp := part(j.Partition)
			pp.Pending += count
			pp.PendingGPUs += gpus
			r := row(guarantees.owner(account, j.Partition), j.Partition)
			r.Pending += count
			r.PendingGPUs += gpus
		}
	}

	for _, pp := range parts {
		p.Partitions = append(p.Partitions, *pp)
	}
	slices.SortFunc(p.Partitions, func(a, b api.PartitionPoint) int { return cmp.Compare(a.Partition, b.Partition) })
	for _, r := range rows {
		r.Borrowed = max(0, r.InUse-r.Guarantee)
		p.Accounts = append(p.Accounts, *r)
	}
	slices.SortFunc(p.Accounts, func(a, b api.AccountPoint) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Account, b.Account))
	})
	for _, pp := range p.Partitions {
		shareLent(p.Accounts, pp)
	}
	return p
}

// shareLent sets Lent on the partition's account rows: the partition's
// borrowing beyond its unguaranteed usable GPUs comes out of the unused
// guarantees, shared in proportion to them.
func shareLent(rows []api.AccountPoint, pp api.PartitionPoint) {
	var guaranteed, borrowed, unused float64
	for _, r := range rows {
		if r.Partition == pp.Partition {
			guaranteed += r.Guarantee
			borrowed += r.Borrowed
			unused += max(0, r.Guarantee-r.InUse)
		}
	}
	lent := max(0, borrowed-max(0, pp.GPUsUsable-guaranteed))
	if lent == 0 || unused == 0 {
		return
	}
	for i := range rows {
		r := &rows[i]
		if r.Partition == pp.Partition {
			free := max(0, r.Guarantee-r.InUse)
			r.Lent = min(free, lent*free/unused)
		}
	}
}

// nodePartitions returns the partitions a node is in: those that list it,
// and those it names when their list is empty.
func nodePartitions(cfg *api.ClusterConfig, n *api.Node) []string {
	var out []string
	for _, p := range cfg.Partitions {
		if len(p.Nodes) > 0 && slices.Contains(p.Nodes, n.Name) ||
			len(p.Nodes) == 0 && slices.Contains(n.Partitions, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// guaranteeIndex finds the account a job's GPUs count against, as the
// scheduler does: the nearest, from the job's account up, with a guarantee
// in the partition.
type guaranteeIndex map[string]*api.Account

func newGuaranteeIndex(cfg *api.ClusterConfig) guaranteeIndex {
	idx := guaranteeIndex{}
	for i := range cfg.Accounts {
		idx[cfg.Accounts[i].Name] = &cfg.Accounts[i]
	}
	return idx
}

// owner returns the account whose guarantee in partition covers account's
// jobs, or account itself when none does.
func (idx guaranteeIndex) owner(account, partition string) string {
	for name, hops := account, 0; name != "" && hops <= len(idx); hops++ {
		a := idx[name]
		if a == nil {
			break
		}
		if _, ok := a.Guarantees[partition]; ok {
			return name
		}
		name = a.Parent
	}
	return account
}
