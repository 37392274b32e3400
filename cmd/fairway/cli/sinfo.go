package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmdata"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// Default sinfo formats, as Slurm's.
const (
	sinfoDefaultFormat   = "%#P %.5a %.10l %.6D %.6t %N"
	sinfoNodeFormat      = "%#N %.6D %.#P %6t"
	sinfoLongFormat      = "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N"
	sinfoLongNodeFormat  = "%#N %.6D %.#P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E"
	sinfoSummarizeFormat = "%#P %.5a %.10l %.16F  %N"
	// minAutoWidth is the smallest width of a "%#P" or "%#N" column.
	minAutoWidth = 9
)

func sinfoOpts() []*opt {
	return []*opt{
		{long: "format", short: 'o', usage: "output format, e.g. \"%#P %.5a %.10l %.6D %.6t %N\""},
		{long: "Format", short: 'O', usage: "output format by field names, e.g. partition,nodelist:30,statelong (width 20 unless NAME:WIDTH; NAME:.WIDTH right-justifies)"},
		{long: "Node", short: 'N', kind: optFlag, usage: "one line per node"},
		{long: "noheader", short: 'h', kind: optFlag, usage: "do not print the header"},
		{long: "partition", short: 'p', usage: "only these partitions (comma-separated)"},
		{long: "states", short: 't', usage: "only nodes in these states (idle,mix,alloc,down,drain)"},
		{long: "nodes", short: 'n', usage: "only these nodes (host list such as node[1-4])"},
		{long: "long", short: 'l', kind: optFlag, usage: "long format"},
		{long: "summarize", short: 's', kind: optFlag, usage: "one line per partition with node counts allocated/idle/other/total"},
		{long: "list-reasons", short: 'R', kind: optFlag, usage: "list the reasons nodes are down, drained or draining, who set them and when"},
		{long: "responding", short: 'r', kind: optFlag, usage: "only nodes that respond (not DOWN for missing heartbeats)"},
		{long: "all", short: 'a', kind: optFlag, ignored: true},
		{long: "exact", short: 'e', kind: optFlag, ignored: true},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		dataOpts()[0], dataOpts()[1],
		addrOpt(),
		helpOpt(0),
	}
}

func sinfoColumn(letter byte) column {
	switch letter {
	case 'P', 'R':
		return column{"PARTITION", true}
	case 'a':
		return column{"AVAIL", true}
	case 'l':
		return column{"TIMELIMIT", true}
	case 'L':
		return column{"DEFAULTTIME", true}
	case 'D':
		return column{"NODES", true}
	case 't', 'T':
		return column{"STATE", true}
	case 'N':
		return column{"NODELIST", true}
	case 'c':
		return column{"CPUS", true}
	case 'm':
		return column{"MEMORY", true}
	case 'G':
		return column{"GRES", true}
	case 'E':
		return column{"REASON", true}
	case 'F':
		return column{"NODES(A/I/O/T)", true}
	case 'C':
		return column{"CPUS(A/I/O/T)", true}
	case 'A':
		return column{"NODES(A/I)", true}
	case 's':
		return column{"JOB_SIZE", true}
	case 'r':
		return column{"ROOT", true}
	case 'h':
		return column{"OVERSUBSCRIBE", true}
	case 'g':
		return column{"GROUPS", true}
	case 'z':
		return column{"S:C:T", true}
	case 'd':
		return column{"TMP_DISK", true}
	case 'w':
		return column{"WEIGHT", true}
	case 'f':
		return column{"AVAIL_FEATURES", true}
	case 'O':
		return column{"CPU_LOAD", true}
	case 'e':
		return column{"FREE_MEM", true}
	case 'p':
		return column{"PRIO_TIER", true}
	}
	return sinfoExtraColumn(letter)
}

func sinfoValid(letter byte) bool { return sinfoColumn(letter).header != "" }

// nodeStateName is a node's sinfo state: compact (%t) or long (%T), lower case.
func nodeStateName(n *api.Node, long bool) string {
	busy := n.Used.CPUs > 0 || len(n.Used.GPUs) > 0 || n.Used.MemoryMB > 0
	switch n.State {
	case api.NodeIdle:
		return "idle"
	case api.NodeMixed:
		if long {
			return "mixed"
		}
		return "mix"
	case api.NodeAllocated:
		if long {
			return "allocated"
		}
		return "alloc"
	case api.NodeDown:
		return "down"
	case api.NodeDrain:
		switch {
		case busy && long:
			return "draining"
		case busy:
			return "drng"
		case long:
			return "drained"
		}
		return "drain"
	}
	if long {
		return "unknown"
	}
	return "unk"
}

// nodeStateRank orders states as sinfo's default sort (-t descending) does:
// mixed, allocated, idle, down.
func nodeStateRank(s api.NodeState) int {
	switch s {
	case api.NodeMixed:
		return 5
	case api.NodeAllocated:
		return 3
	case api.NodeIdle:
		return 2
	case api.NodeDrain:
		return 2
	case api.NodeDown:
		return 1
	}
	return 0
}

// nodeGres is a node's GRES as sinfo prints it: "gpu:h100:8", "(null)" without GPUs.
func nodeGres(n *api.Node) string {
	if len(n.Resources.GPUs) == 0 {
		return "(null)"
	}
	counts := map[string]int{}
	var types []string
	for _, g := range n.Resources.GPUs {
		if counts[g.Type] == 0 {
			types = append(types, g.Type)
		}
		counts[g.Type]++
	}
	var parts []string
	for _, t := range types {
		if t == "" {
			parts = append(parts, fmt.Sprintf("gpu:%d", counts[t]))
		} else {
			parts = append(parts, fmt.Sprintf("gpu:%s:%d", t, counts[t]))
		}
	}
	return strings.Join(parts, ",")
}

// sinfoRow is one output line: a partition and the nodes it groups.
type sinfoRow struct {
	part  api.Partition
	nodes []*api.Node
	rank  int // state rank of the group, for sorting
	order int // partition order
	// cluster is the cluster's name (%V).
	cluster string
}

// sinfoData is what sinfo prints from.
type sinfoData struct {
	parts []api.Partition
	nodes []*api.Node
	// cluster is the cluster's name (%V).
	cluster string
}

// members returns the nodes of a partition: those it lists and those that name it.
func (d *sinfoData) members(p api.Partition) []*api.Node {
	listed := setOf(p.Nodes)
	var out []*api.Node
	for _, n := range d.nodes {
		in := listed[n.Name]
		for _, name := range n.Partitions {
			in = in || name == p.Name
		}
		if in {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return hostlist.Less(out[i].Name, out[j].Name) })
	return out
}

// nodeValue is the value of a per-node format letter (those that group rows).
func nodeValue(n *api.Node, letter byte) string {
	switch letter {
	case 't':
		return nodeStateName(n, false)
	case 'T':
		return nodeStateName(n, true)
	case 'c':
		return strconv.Itoa(n.Resources.CPUs)
	case 'm':
		return strconv.FormatInt(n.Resources.MemoryMB, 10)
	case 'G':
		return nodeGres(n)
	case 'E':
		if n.Reason == "" {
			return "none"
		}
		return n.Reason
	case 'z':
		return fmt.Sprintf("%d:1:1", n.Resources.CPUs)
	case 'd':
		return "0"
	case 'w':
		return "1"
	case 'f':
		return "(null)"
	case 'O':
		return nodeCPULoad(n)
	case 'e':
		return nodeFreeMem(n)
	}
	return nodeExtraValue(n, letter)
}

// rowValue is the value of a format letter for a row.
func (r *sinfoRow) value(letter byte) string {
	p := r.part
	switch letter {
	case 'P':
		if p.Default {
			return p.Name + "*"
		}
		return p.Name
	case 'R':
		return p.Name
	case 'a':
		if p.State == "" {
			return "up"
		}
		if p.State == api.PartitionInactive {
			return "inact"
		}
		return strings.ToLower(p.State) // up, down, drain
	case 'l':
		if p.MaxTimeSecs == 0 {
			return "infinite"
		}
		return slurmtime.Short(p.MaxTimeSecs)
	case 'L':
		if p.DefaultTimeSecs == 0 {
			return "n/a"
		}
		return slurmtime.Short(p.DefaultTimeSecs)
	case 'D':
		return strconv.Itoa(len(r.nodes))
	case 'N':
		names := make([]string, len(r.nodes))
		for i, n := range r.nodes {
			names[i] = n.Name
		}
		return hostlist.Compress(names)
	case 'F', 'A':
		var a, i, o int
		for _, n := range r.nodes {
			switch n.State {
			case api.NodeAllocated, api.NodeMixed:
				a++
			case api.NodeIdle:
				i++
			default:
				o++
			}
		}
		if letter == 'A' {
			return fmt.Sprintf("%d/%d", a, i)
		}
		return fmt.Sprintf("%d/%d/%d/%d", a, i, o, len(r.nodes))
	case 'C':
		var a, i, o, t int
		for _, n := range r.nodes {
			t += n.Resources.CPUs
			switch n.State {
			case api.NodeDown, api.NodeDrain, api.NodeUnknown:
				o += n.Resources.CPUs
			default:
				a += n.Used.CPUs
				i += n.Resources.CPUs - n.Used.CPUs
			}
		}
		return fmt.Sprintf("%d/%d/%d/%d", a, i, o, t)
	case 's':
		return "1-infinite"
	case 'r':
		return "no"
	case 'h':
		return "NO"
	case 'g':
		return "all"
	case 'p':
		return strconv.Itoa(p.PriorityTier)
	}
	if v, ok := r.extraValue(letter); ok {
		return v
	}
	if len(r.nodes) == 0 {
		return "n/a"
	}
	return nodeValue(r.nodes[0], letter)
}

// isNodeLetter reports whether a letter's value differs per node (so rows group by it).
func isNodeLetter(letter byte) bool {
	return strings.IndexByte("tTcmGEzdwfOe"+sinfoExtraNodeLetters, letter) >= 0
}

// rows groups nodes into sinfo's lines: per partition, nodes with the same
// values for the per-node fields of the format share a line. With perNode,
// every node of every partition has its own line.
func (d *sinfoData) rows(spec fmtSpec, perNode, filtered bool, want func(*api.Node) bool) []*sinfoRow {
	var rows []*sinfoRow
	for order, p := range d.parts {
		groups := map[string]*sinfoRow{}
		var keys []string
		members := d.members(p)
		for _, n := range members {
			if !want(n) {
				continue
			}
			key := n.Name
			if !perNode {
				var vals []string
				for _, f := range spec.fields {
					if isNodeLetter(f.letter) {
						vals = append(vals, nodeValue(n, f.letter))
					}
				}
				key = strings.Join(vals, "\x00")
			}
			g, ok := groups[key]
			if !ok {
				g = &sinfoRow{part: p, rank: nodeStateRank(n.State), order: order, cluster: d.cluster}
				groups[key] = g
				keys = append(keys, key)
			}
			g.nodes = append(g.nodes, n)
		}
		if len(members) == 0 && !perNode && !filtered {
			rows = append(rows, &sinfoRow{part: p, order: order, cluster: d.cluster})
			continue
		}
		for _, k := range keys {
			rows = append(rows, groups[k])
		}
	}
	if perNode {
		sort.SliceStable(rows, func(i, j int) bool { return hostlist.Less(rows[i].nodes[0].Name, rows[j].nodes[0].Name) })
	} else {
		sort.SliceStable(rows, func(i, j int) bool {
			if rows[i].order != rows[j].order {
				return rows[i].order < rows[j].order
			}
			return rows[i].rank > rows[j].rank
		})
	}
	return rows
}

// render prints the rows with the format, computing the "%#" widths.
func (d *sinfoData) render(spec fmtSpec, rows []*sinfoRow, header bool) string {
	spec.fields = append([]fmtField(nil), spec.fields...)
	for i, f := range spec.fields {
		if !f.auto || (f.letter != 'P' && f.letter != 'N' && f.letter != 'R') {
			continue
		}
		w := minAutoWidth
		for _, r := range rows {
			w = max(w, len(r.value(f.letter)))
		}
		spec.fields[i].width = w
	}
	var b strings.Builder
	if header {
		b.WriteString(spec.render(headers(spec, sinfoColumn), sinfoColumn, true) + "\n")
	}
	for _, r := range rows {
		values := make([]string, len(spec.fields))
		for i, f := range spec.fields {
			values[i] = r.value(f.letter)
		}
		b.WriteString(spec.render(values, sinfoColumn, false) + "\n")
	}
	return b.String()
}

// sinfo shows partitions and nodes as Slurm's sinfo does.
func sinfo(ctx context.Context, inv *invocation) error {
	o := inv.opts
	perNode := o.flag("Node")
	data, err := dataFormat(o)
	if err != nil {
		return err
	}
	format := sinfoDefaultFormat
	switch {
	case o.flag("summarize"):
		format = sinfoSummarizeFormat
	case perNode && o.flag("long"):
		format = sinfoLongNodeFormat
	case perNode:
		format = sinfoNodeFormat
	case o.flag("long"):
		format = sinfoLongFormat
	}
	if env := inv.env.Getenv("SINFO_FORMAT"); env != "" {
		format = env
	}
	if o.has("format") {
		format = o.str("format")
	}
	if o.has("format") && o.has("Format") {
		return errors.New("-o (--format) is incompatible with -O (--Format)")
	}
	var spec fmtSpec
	if !o.flag("list-reasons") { // -R has formats of its own
		var err error
		if o.has("Format") {
			spec, err = parseLongFormat(o.str("Format"), sinfoLongFields())
			for _, bad := range spec.invalid {
				fmt.Fprintf(inv.env.Stderr, "%s: error: Invalid job format specification: %s\n", inv.name, bad)
			}
		} else {
			spec, err = parseFormatLenient(format, "--format", sinfoValid)
			for _, bad := range spec.invalid {
				fmt.Fprintf(inv.env.Stderr, "Invalid node format specification: %s\n", bad)
			}
		}
		if err != nil {
			return err
		}
	}
	var states map[string]bool
	if o.has("states") {
		states = map[string]bool{}
		for _, s := range splitList(strings.ToLower(o.str("states"))) {
			switch s {
			case "idle":
				states["idle"] = true
			case "mix", "mixed":
				states["mix"] = true
			case "alloc", "allocated":
				states["alloc"] = true
			case "down":
				states["down"] = true
			case "drain", "drained", "draining", "drng":
				states["drain"], states["drng"] = true, true
			case "unk", "unknown":
				states["unk"] = true
			default:
				return &api.FieldError{Field: "--states", Value: s, Msg: "unknown node state; use idle, mix, alloc, down, drain or unknown"}
			}
		}
	}
	var onlyNodes map[string]bool
	if o.has("nodes") {
		names, err := hostlist.Expand(o.str("nodes"))
		if err != nil {
			return &api.FieldError{Field: "--nodes", Value: o.str("nodes"), Msg: err.Error()}
		}
		onlyNodes = setOf(names)
	}
	c := inv.client()
	d, err := fetchSinfoData(ctx, c)
	if err != nil {
		return err
	}
	d.cluster = clusterName(inv)
	if o.has("partition") {
		want := setOf(splitList(o.str("partition")))
		var parts []api.Partition
		for _, p := range d.parts {
			if want[p.Name] {
				parts = append(parts, p)
			}
		}
		d.parts = parts
	}
	onlyResponding := o.flag("responding")
	want := func(n *api.Node) bool {
		return (states == nil || states[nodeStateName(n, false)]) && (onlyNodes == nil || onlyNodes[n.Name]) &&
			(!onlyResponding || responding(n))
	}
	if data != "" {
		// Slurm's sinfo --json: the lines sinfo would print, with the
		// same partition, state and node filters.
		keep := func(n *api.Node) bool { return want(n) }
		return writeData(inv, data, slurmdata.SinfoResponseFiltered(nodeValues(d.nodes), keep, d.parts,
			dataOptions(inv, inv.env.Now().Unix(), data)))
	}
	if o.flag("list-reasons") {
		format := sinfoReasonsFormat
		if o.flag("long") {
			format = sinfoReasonsLongFormat
		}
		if o.has("format") {
			format = o.str("format")
		}
		rspec, err := parseFormat(format, "--format", reasonValid)
		if err != nil {
			return err
		}
		var nodes []*api.Node
		for _, n := range d.nodes {
			if want(n) && (!o.has("partition") || slices.ContainsFunc(d.parts, func(p api.Partition) bool { return slices.Contains(d.members(p), n) })) {
				nodes = append(nodes, n)
			}
		}
		_, err = fmt.Fprint(inv.env.Stdout, renderReasons(&view{loc: inv.env.Location}, rspec, nodes, !o.flag("noheader")))
		return err
	}
	rows := d.rows(spec, perNode, states != nil || onlyNodes != nil || onlyResponding, want)
	_, err = fmt.Fprint(inv.env.Stdout, d.render(spec, rows, !o.flag("noheader")))
	return err
}

func fetchSinfoData(ctx context.Context, c *client.Client) (*sinfoData, error) {
	parts, err := c.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	nodes, err := c.Nodes(ctx, client.QueryOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return &sinfoData{parts: parts.Partitions, nodes: nodes.Nodes}, nil
}
