package cli

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// Letters for the sinfo -O/--Format fields that have no %-letter.
const (
	siAllocMem byte = 0x80 + iota
)

// sinfoLongFields maps sinfo's -O/--Format names to format letters (Slurm
// 22.05's src/sinfo/opts.c).
func sinfoLongFields() []longField {
	return []longField{
		{"allocmem", siAllocMem}, {"allocnodes", 'S'}, {"available", 'a'}, {"cluster", 'V'}, {"cpus", 'c'},
		{"cpusload", 'O'}, {"freemem", 'e'}, {"cpusstate", 'C'}, {"cores", 'Y'}, {"defaulttime", 'L'},
		{"disk", 'd'}, {"features", 'f'}, {"features_act", 'b'}, {"groups", 'g'}, {"gres", 'G'},
		{"maxcpuspernode", 'B'}, {"memory", 'm'}, {"nodes", 'D'}, {"nodeaddr", 'o'}, {"nodeai", 'A'},
		{"nodeaiot", 'F'}, {"nodehost", 'n'}, {"nodelist", 'N'}, {"partition", 'P'}, {"partitionname", 'R'},
		{"preemptmode", 'M'}, {"priorityjobfactor", 'I'}, {"prioritytier", 'p'}, {"reason", 'E'},
		{"root", 'r'}, {"share", 'h'}, {"oversubscribe", 'h'}, {"size", 's'}, {"statecompact", 't'},
		{"statelong", 'T'}, {"sockets", 'X'}, {"socketcorethread", 'z'}, {"time", 'l'}, {"timestamp", 'H'},
		{"threads", 'Z'}, {"user", 'u'}, {"userlong", 'U'}, {"weight", 'w'},
	}
}

// sinfoExtraColumn is how the letters of issue 14 print (headers from
// Slurm 22.05's src/sinfo/print.c).
func sinfoExtraColumn(letter byte) column {
	switch letter {
	case 'b':
		return column{"ACTIVE_FEATURES", true}
	case 'B':
		return column{"MAX_CPUS_PER_NODE", true}
	case 'H':
		return column{"TIMESTAMP", true}
	case 'I':
		return column{"PRIO_JOB_FACTOR", true}
	case 'M':
		return column{"PREEMPT_MODE", true}
	case 'n':
		return column{"HOSTNAMES", true}
	case 'o':
		return column{"NODE_ADDR", true}
	case 'S':
		return column{"ALLOCNODES", true}
	case 'u', 'U':
		return column{"USER", true}
	case 'V':
		return column{"CLUSTER", true}
	case 'X':
		return column{"SOCKETS", true}
	case 'Y':
		return column{"CORES", true}
	case 'Z':
		return column{"THREADS", true}
	case siAllocMem:
		return column{"ALLOCMEM", true}
	}
	return column{}
}

// sinfoExtraNodeLetters are the letters of sinfoExtraColumn whose value
// differs per node (sinfo groups rows by them).
const sinfoExtraNodeLetters = "bHuUXYZ" + string(siAllocMem)

// nodeExtraValue is the value of a per-node letter of sinfoExtraColumn.
// TIMESTAMP and USER are the reason's (scontrol update State=DRAIN),
// Slurm's "Unknown" when it has none. A node's sockets are its CPUs, one core and thread
// each, as %z prints (CPUS:1:1).
func nodeExtraValue(n *api.Node, letter byte) string {
	switch letter {
	case 'b':
		return "(null)"
	case 'H', 'u', 'U':
		if n.Reason == "" || n.ReasonTime == 0 {
			return "Unknown"
		}
		switch letter {
		case 'u':
			return reasonUserName(n, false)
		case 'U':
			return reasonUserName(n, true)
		}
		return time.Unix(n.ReasonTime, 0).Format("2006-01-02T15:04:05")
	case 'X':
		return strconv.Itoa(n.Resources.CPUs)
	case 'Y', 'Z':
		return "1"
	case siAllocMem:
		return strconv.FormatInt(n.Used.MemoryMB, 10)
	}
	return ""
}

// rowExtraValue is the value of a partition or node-list letter of
// sinfoExtraColumn for a row; ok is false for other letters.
func (r *sinfoRow) extraValue(letter byte) (string, bool) {
	switch letter {
	case 'B':
		return "UNLIMITED", true
	case 'I':
		return "1", true
	case 'M':
		if r.part.PreemptMode == "" {
			return "OFF", true
		}
		return strings.ToUpper(string(r.part.PreemptMode)), true
	case 'S':
		return "all", true
	case 'V':
		return r.cluster, true
	case 'n', 'o':
		names := make([]string, len(r.nodes))
		for i, n := range r.nodes {
			names[i] = n.Name
			if letter == 'o' {
				names[i] = nodeAddrHost(n)
			}
		}
		return hostlist.Compress(names), true
	}
	return "", false
}

// nodeAddrHost is the host part of a node daemon's address (its name when
// it has none).
func nodeAddrHost(n *api.Node) string {
	if n.Addr == "" {
		return n.Name
	}
	if host, _, err := net.SplitHostPort(n.Addr); err == nil {
		return host
	}
	return n.Addr
}

// nodeCPULoad is a node's CPU load as Slurm 22.05 prints it (sinfo %O,
// scontrol's CPULoad=): slurmd's load times 100 kept as a whole number,
// printed with two decimals ("0.52"); N/A when unknown.
func nodeCPULoad(n *api.Node) string {
	if n.CPULoad == nil {
		return "N/A"
	}
	return fmt.Sprintf("%.2f", float64(uint32(*n.CPULoad*100))/100)
}

// nodeFreeMem is a node's free memory in MB as Slurm prints it (sinfo %e,
// scontrol's FreeMem=); N/A when unknown.
func nodeFreeMem(n *api.Node) string {
	if n.FreeMemMB == nil {
		return "N/A"
	}
	return strconv.FormatInt(*n.FreeMemMB, 10)
}
