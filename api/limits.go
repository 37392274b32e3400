package api

import (
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Limits on what a job may ask for. They are checked by ValidateSpec, so the
// client and the controller refuse the same requests with the same message.
const (
	// DefaultMaxScriptBytes is Slurm's default max_script_size: 4 MB.
	DefaultMaxScriptBytes int64 = 4 << 20
	// ClientMaxScriptBytes is the largest MaxScriptBytes a configuration may
	// set (Slurm's ceiling for max_script_size, 512 MB); a client that does
	// not know the cluster's setting checks against it.
	ClientMaxScriptBytes int64 = 512 << 20
	// MaxJobNameLen is the longest job name accepted, in bytes. Slurm stores
	// names without a fixed limit; 256 keeps squeue and sacct output sane.
	MaxJobNameLen = 256
	// MaxCount bounds every count of a job (nodes, tasks, CPUs per task,
	// GPUs per node) and the totals derived from them (tasks × CPUs per
	// task, nodes × GPUs per node): Slurm keeps them in 32-bit integers.
	MaxCount = math.MaxInt32
	// MaxMemoryMB bounds --mem per node (1 EB); memory × nodes must also fit
	// in an int64 of MB.
	MaxMemoryMB int64 = 1 << 40
	// MaxBeginTime is the latest --begin accepted: the end of year 9999.
	MaxBeginTime int64 = 253402300799
)

// MaxScriptBytesOrDefault is the cluster's MaxScriptBytes, or
// DefaultMaxScriptBytes when it sets none.
func (c *ClusterConfig) MaxScriptBytesOrDefault() int64 {
	if c.MaxScriptBytes > 0 {
		return c.MaxScriptBytes
	}
	return DefaultMaxScriptBytes
}

// mulFits reports whether a*b (both at least 0) is at most limit, without
// overflowing.
func mulFits(a, b, limit int64) bool {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return hi == 0 && lo <= uint64(limit)
}

// checkLimits refuses counts and sizes beyond the limits above, and products
// of them that would overflow, before anything multiplies them.
func checkLimits(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	nodes, tasks, cpus := int64(max(spec.Nodes, 1)), int64(max(spec.NTasks, 1)), int64(max(spec.CPUsPerTask, 1))
	switch {
	case spec.Nodes > MaxCount:
		return fieldErr("--nodes", itoa(spec.Nodes), "must be at most %d", MaxCount)
	case spec.NTasks > MaxCount:
		return fieldErr("--ntasks", itoa(spec.NTasks), "must be at most %d", MaxCount)
	case spec.CPUsPerTask > MaxCount:
		return fieldErr("--cpus-per-task", itoa(spec.CPUsPerTask), "must be at most %d", MaxCount)
	case spec.GPUs > MaxCount:
		return fieldErr("--gres", "gpu:"+itoa(spec.GPUs), "the GPU count must be at most %d", MaxCount)
	case !mulFits(tasks, cpus, MaxCount):
		return fieldErr("--cpus-per-task", itoa(spec.CPUsPerTask), "--ntasks=%d × --cpus-per-task=%d CPUs is more than %d", tasks, cpus, MaxCount)
	case !mulFits(nodes, int64(max(spec.GPUs, 0)), MaxCount):
		return fieldErr("--gres", "gpu:"+itoa(spec.GPUs), "--nodes=%d × %d GPUs per node is more than %d", nodes, spec.GPUs, MaxCount)
	case spec.MemoryMB > MaxMemoryMB:
		return fieldErr("--mem", itoa(spec.MemoryMB)+"M", "must be at most %dM", MaxMemoryMB)
	case !mulFits(nodes, max(spec.MemoryMB, 0), math.MaxInt64):
		return fieldErr("--mem", itoa(spec.MemoryMB)+"M", "--nodes=%d × --mem=%dM overflows", nodes, spec.MemoryMB)
	case spec.TimeLimitSecs > TimeLimitUnlimited:
		return fieldErr("--time", itoa(spec.TimeLimitSecs)+"s", "must be at most %d seconds, or UNLIMITED", TimeLimitUnlimited)
	case spec.BeginTime > MaxBeginTime:
		return fieldErr("--begin", itoa(spec.BeginTime), "must be before the year 10000")
	}
	maxScript := ClientMaxScriptBytes
	if cfg != nil {
		maxScript = cfg.MaxScriptBytesOrDefault()
	}
	if n := int64(len(spec.Script)); n > maxScript {
		return fieldErr("script", fmt.Sprintf("%d bytes", n), "the batch script is larger than the cluster's limit of %d bytes (max_script_bytes)", maxScript)
	}
	return nil
}

// roleEntryRE is a @group entry of a role list: a Unix group name.
var roleEntryRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^@[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\$?$`) })

// validateRoleList checks a list of user names and @group entries.
func validateRoleList(field string, list []string) *FieldError {
	for i, e := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case strings.HasPrefix(e, "@") && !roleEntryRE().MatchString(e):
			return fieldErr(f, e, "must be @ followed by a Unix group name, such as @hpc-admins")
		case e == "" || strings.ContainsAny(e, "/:@ \t\x00\n") && !strings.HasPrefix(e, "@"):
			return fieldErr(f, e, "must be a user name such as alice, or @group for a Unix group")
		case slices.Contains(list[:i], e):
			return fieldErr(f, e, "is listed twice")
		}
	}
	return nil
}

// validateLimits checks the configuration's roles and limits.
func validateLimits(cfg *ClusterConfig) *FieldError {
	if err := validateRoleList("administrators", cfg.Administrators); err != nil {
		return err
	}
	if err := validateRoleList("operators", cfg.Operators); err != nil {
		return err
	}
	for i, a := range cfg.Accounts {
		if err := validateRoleList(fmt.Sprintf("accounts[%d].coordinators", i), a.Coordinators); err != nil {
			return err
		}
	}
	if cfg.MaxScriptBytes < 0 || cfg.MaxScriptBytes > ClientMaxScriptBytes {
		return fieldErr("max_script_bytes", itoa(cfg.MaxScriptBytes), "must be from 1 to %d, or 0 for the default (%d)", ClientMaxScriptBytes, DefaultMaxScriptBytes)
	}
	return nil
}

// msgNodeConfig is Slurm's message for a job no partition could ever run.
const msgNodeConfig = "Requested node configuration is not available"

// PartitionNodes returns the nodes of partition p: those it lists, else the
// nodes that name it when they register.
func PartitionNodes(p Partition, nodes []*Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		if slices.Contains(p.Nodes, n.Name) || len(p.Nodes) == 0 && slices.Contains(n.Partitions, p.Name) {
			out = append(out, n)
		}
	}
	return out
}

// CheckNodeConfiguration refuses, with Slurm's "Requested node configuration
// is not available", a prepared spec (DefaultSpec applied) that none of its
// partitions could ever run with the nodes registered: too many nodes, or no
// node with enough CPUs, memory or GPUs (of its type). It looks at what nodes
// have, not what is free, and ignores GPU health, so a job that only has to
// wait is accepted. A partition without registered nodes is given the benefit
// of the doubt (nodes may not have registered yet). The error is a
// *FieldError naming the first request that does not fit.
func CheckNodeConfiguration(spec *JobSpec, cfg *ClusterConfig, nodes []*Node) error {
	return CheckNodeConfigurationOf(spec, cfg, registeredNodes(nodes))
}

// NodeSource gives CheckNodeConfigurationOf each partition's nodes and may
// remember which requests fit them: a controller checks every submission
// against the same nodes until one registers or changes.
type NodeSource interface {
	// Members returns partition p's nodes (PartitionNodes of the
	// registered nodes).
	Members(p Partition) []*Node
	// Fits reports whether requests like key are known to fit partition
	// p's nodes.
	Fits(p Partition, key FitKey) bool
	// Fitted records that requests like key fit partition p's nodes.
	Fitted(p Partition, key FitKey)
}

// FitKey is all that decides whether a request fits a partition's nodes:
// enough of them (Nodes) with the CPUs, memory and GPUs (of GPUType, lower
// case) per node.
type FitKey struct {
	CPUs     int
	MemoryMB int64
	GPUs     int
	GPUType  string
	Nodes    int
}

// registeredNodes is a NodeSource over a list of nodes that remembers
// nothing.
type registeredNodes []*Node

func (r registeredNodes) Members(p Partition) []*Node { return PartitionNodes(p, r) }
func (registeredNodes) Fits(Partition, FitKey) bool   { return false }
func (registeredNodes) Fitted(Partition, FitKey)      {}

// CheckNodeConfigurationOf is CheckNodeConfiguration with the nodes given
// by src, which may remember the requests that fit (a request that does
// not is explained anew each time).
func CheckNodeConfigurationOf(spec *JobSpec, cfg *ClusterConfig, src NodeSource) error {
	var first *FieldError
	for _, name := range spec.Partitions {
		p, ok := cfg.Partition(name)
		if !ok {
			continue
		}
		key := FitKey{CPUs: spec.TotalCPUsPerNode(), MemoryMB: spec.MemoryIn(p), GPUs: spec.GPUs,
			GPUType: strings.ToLower(spec.GPUType), Nodes: max(spec.Nodes, 1)}
		if src.Fits(p, key) {
			return nil
		}
		members := src.Members(p)
		if len(members) == 0 {
			return nil
		}
		err := fitPartition(spec, p, members)
		if err == nil {
			src.Fitted(p, key)
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return nil
	}
	return first
}

// fitPartition explains why spec does not fit partition p with its nodes,
// or returns nil when enough nodes could hold it.
func fitPartition(spec *JobSpec, p Partition, nodes []*Node) *FieldError {
	cpus, mem, gpus := spec.TotalCPUsPerNode(), spec.MemoryIn(p), spec.GPUs
	gpuCount := func(n *Node) int {
		c := 0
		for _, g := range n.Resources.GPUs {
			if spec.GPUType == "" || strings.EqualFold(g.Type, spec.GPUType) {
				c++
			}
		}
		return c
	}
	var maxCPUs, maxGPUs int
	var maxMem int64
	fit := 0
	for _, n := range nodes {
		r := n.Resources
		maxCPUs, maxMem, maxGPUs = max(maxCPUs, r.CPUs), max(maxMem, r.MemoryMB), max(maxGPUs, gpuCount(n))
		if r.CPUs >= cpus && (r.MemoryMB == 0 || r.MemoryMB >= mem) && gpuCount(n) >= gpus {
			fit++
		}
	}
	if fit >= max(spec.Nodes, 1) {
		return nil
	}
	notAvail := func(field, value, format string, args ...any) *FieldError {
		return fieldErr(field, value, "%s: partition %s: %s", msgNodeConfig, p.Name, fmt.Sprintf(format, args...))
	}
	gpuName := "GPUs"
	if spec.GPUType != "" {
		gpuName = spec.GPUType + " GPUs"
	}
	switch {
	case cpus > maxCPUs:
		return notAvail("--cpus-per-task", itoa(spec.CPUsPerTask), "%d CPUs per node requested, its largest node has %d", cpus, maxCPUs)
	case maxMem > 0 && mem > maxMem:
		return notAvail("--mem", itoa(mem)+"M", "%d MB per node requested, its largest node has %d MB", mem, maxMem)
	case gpus > maxGPUs:
		return notAvail("--gres", gresValue(spec), "%d %s per node requested, its nodes have at most %d", gpus, gpuName, maxGPUs)
	case spec.Nodes > len(nodes):
		return notAvail("--nodes", itoa(spec.Nodes), "%d nodes requested, it has %d", spec.Nodes, len(nodes))
	}
	return notAvail("--nodes", itoa(spec.Nodes), "%d nodes requested, only %d have %d CPUs, %d MB and %d %s each", max(spec.Nodes, 1), fit, cpus, mem, gpus, gpuName)
}

// gresValue formats a spec's GPU request as --gres gives it.
func gresValue(spec *JobSpec) string {
	if spec.GPUType != "" {
		return "gpu:" + spec.GPUType + ":" + itoa(spec.GPUs)
	}
	return "gpu:" + itoa(spec.GPUs)
}
