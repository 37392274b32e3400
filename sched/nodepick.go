package sched

import (
	"slices"
)

// nodePick restricts the nodes a reservation may take: never one of
// exclude, and every one of required (sbatch -w), which with as many
// required nodes as the job asks for means only those.
type nodePick struct {
	exclude  []string
	required []string
}

// allows reports whether a job of k nodes with this pick may use node x.
func (np *nodePick) allows(x *nodeState, k int) bool {
	if np == nil {
		return true
	}
	if slices.Contains(np.exclude, x.n.Name) {
		return false
	}
	return len(np.required) < k || slices.Contains(np.required, x.n.Name)
}

// complete reports whether nodes hold every required node.
func (np *nodePick) complete(nodes []*nodeState) bool {
	if np == nil {
		return true
	}
	for _, name := range np.required {
		if !slices.ContainsFunc(nodes, func(x *nodeState) bool { return x.n.Name == name }) {
			return false
		}
	}
	return true
}

// isRequired reports whether x is one of the required nodes.
func (np *nodePick) isRequired(x *nodeState) bool {
	return np != nil && slices.Contains(np.required, x.n.Name)
}

// pick is the entry's node restriction for its reservations; nil when it
// has none (--exclusive alone restricts nothing here: its reservation is
// placed as any other's).
func (e *entry) pick() *nodePick {
	if len(e.exclude) == 0 && len(e.job.Spec.NodeList) == 0 {
		return nil
	}
	return &nodePick{exclude: e.exclude, required: e.job.Spec.NodeList}
}

// excludeFor returns the nodes the entry's job may not use: its --exclude
// and, when its last run failed and its retry policy sent it back
// (api.Job.AvoidNodes), that run's nodes, unless --nodelist names them or
// no partition it can start in has enough other nodes that could ever host
// it (usable, big enough when empty): then the retry may land on them
// again. The rule reads only the scheduler's input, so every pass, the
// simulator and the forecast decide alike.
func (ps *pass) excludeFor(e *entry) []string {
	spec := &e.job.Spec
	avoid := slices.DeleteFunc(slices.Clone(e.job.AvoidNodes), func(n string) bool {
		return slices.Contains(spec.NodeList, n) || slices.Contains(spec.Exclude, n)
	})
	if len(avoid) == 0 {
		return spec.Exclude
	}
	with := append(slices.Clone(spec.Exclude), avoid...)
	for _, p := range e.parts {
		nd := e.needIn(p)
		n := 0
		for _, x := range p.members {
			if !slices.Contains(with, x.n.Name) && ps.canHost(x, nd) {
				n++
			}
		}
		if n >= e.nodes {
			return with
		}
	}
	return spec.Exclude
}
