package cli

import (
	"slices"
	"sort"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// sinfo -R (--list-reasons) prints, for the nodes that are down, drained
// or draining, their reason, who set it and when, one line per distinct
// (reason, user, time, and with -l state) with the nodes compressed, in
// Slurm's default formats "%20E %9u %19H %N" and, with -l,
// "%20E %12U %19H %6t %N". Reasons longer than the column are cut, as
// Slurm does.

// Default formats of sinfo -R and sinfo -R -l.
const (
	sinfoReasonsFormat     = "%20E %9u %19H %N"
	sinfoReasonsLongFormat = "%20E %12U %19H %6t %N"
)

// reasonColumn describes the fields sinfo -R's lines may have: the reason
// (E), who set it (u, U with the uid), when (H), the state (t, T) and the
// nodes (N).
func reasonColumn(letter byte) column {
	switch letter {
	case 'E':
		return column{header: "REASON", cut: true}
	case 'u', 'U':
		return column{header: "USER", cut: true}
	case 'H':
		return column{header: "TIMESTAMP", cut: true}
	case 't', 'T':
		return column{header: "STATE", cut: true}
	case 'N':
		return column{header: "NODELIST"}
	}
	return column{}
}

func reasonValid(letter byte) bool { return reasonColumn(letter).header != "" }

// listsReason reports whether sinfo -R lists the node: DOWN or DRAIN
// (drained or draining).
func listsReason(n *api.Node) bool {
	return n.State == api.NodeDown || n.State == api.NodeDrain
}

// responding reports whether the node responds (sinfo -r): every node but
// one the controller marked DOWN for missing heartbeats (a DOWN without an
// administrator's name).
func responding(n *api.Node) bool {
	return n.State != api.NodeDown || n.ReasonUser != ""
}

// reasonUserName is the user sinfo -R prints for a node's reason: the
// administrator who set it, else root (the controller's own reasons);
// with uid, "root(0)" for root (Fairway keeps user names only).
func reasonUserName(n *api.Node, uid bool) string {
	u := n.ReasonUser
	if u == "" {
		u = "root"
	}
	if uid && u == "root" {
		return "root(0)"
	}
	return u
}

// reasonValue is a node's value of one sinfo -R field (not N).
func reasonValue(v *view, n *api.Node, letter byte) string {
	switch letter {
	case 'E':
		if n.Reason == "" {
			return "none"
		}
		return n.Reason
	case 'u':
		return reasonUserName(n, false)
	case 'U':
		return reasonUserName(n, true)
	case 'H':
		return v.date(n.ReasonTime)
	case 't':
		return nodeStateName(n, false)
	case 'T':
		return nodeStateName(n, true)
	}
	return ""
}

// renderReasons prints sinfo -R: one line per distinct set of values, the
// nodes compressed, ordered by reason and then first node.
func renderReasons(v *view, spec fmtSpec, nodes []*api.Node, header bool) string {
	type row struct {
		values []string
		nodes  []string
	}
	byKey := map[string]*row{}
	var rows []*row
	for _, n := range nodes {
		if !listsReason(n) {
			continue
		}
		vals := make([]string, len(spec.fields))
		for i, f := range spec.fields {
			if f.letter != 'N' {
				vals[i] = reasonValue(v, n, f.letter)
			}
		}
		key := strings.Join(vals, "\x00")
		if r := byKey[key]; r != nil {
			r.nodes = append(r.nodes, n.Name)
			continue
		}
		r := &row{values: vals, nodes: []string{n.Name}}
		byKey[key] = r
		rows = append(rows, r)
	}
	reasonAt := slices.IndexFunc(spec.fields, func(f fmtField) bool { return f.letter == 'E' })
	sort.SliceStable(rows, func(i, j int) bool {
		if reasonAt >= 0 && rows[i].values[reasonAt] != rows[j].values[reasonAt] {
			return rows[i].values[reasonAt] < rows[j].values[reasonAt]
		}
		return hostlist.Less(rows[i].nodes[0], rows[j].nodes[0])
	})
	var b strings.Builder
	if header {
		h := make([]string, len(spec.fields))
		for i, f := range spec.fields {
			h[i] = reasonColumn(f.letter).header
		}
		b.WriteString(strings.TrimRight(spec.render(h, reasonColumn, true), " ") + "\n")
	}
	for _, r := range rows {
		for i, f := range spec.fields {
			if f.letter == 'N' {
				r.values[i] = hostlist.Compress(r.nodes)
			}
		}
		b.WriteString(spec.render(r.values, reasonColumn, false) + "\n")
	}
	return b.String()
}
