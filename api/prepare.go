package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultSpec sets what the controller decides for a submitted spec: the
// default partition when none is named; the account (the user's default
// account, else the configuration's DefaultAccount, else "root"); the
// account's default QOS when the job names none; Nodes, CPUsPerTask at least 1 and NTasks at
// least Nodes; and, for a job in a single existing partition, the
// partition's default memory and time limit when the job sets none (a job
// naming several partitions gets them from the partition it starts in).
func DefaultSpec(spec *JobSpec, cfg *ClusterConfig) {
	if len(spec.Partitions) == 0 {
		if p, ok := cfg.DefaultPartition(); ok {
			spec.Partitions = []string{p.Name}
		}
	}
	if spec.Account == "" {
		spec.Account = cfg.UserDefaultAccount(spec.User)
	}
	if spec.Account == "" {
		spec.Account = cfg.DefaultAccount
		if spec.Account == "" {
			spec.Account = RootAccount
		}
	}
	if spec.QOS == "" {
		_, spec.QOS = cfg.AccountQOS(spec.Account)
	}
	if spec.Nodes == 0 {
		spec.Nodes = 1
	}
	if spec.NTasks == 0 {
		spec.NTasks = max(spec.Nodes, 1)
	}
	if spec.CPUsPerTask == 0 {
		spec.CPUsPerTask = 1
	}
	if len(spec.Partitions) == 1 {
		if p, ok := cfg.Partition(spec.Partitions[0]); ok {
			spec.MemoryMB = spec.MemoryIn(p)
			if spec.TimeLimitSecs == 0 {
				spec.TimeLimitSecs = p.DefaultTime()
			}
		}
	}
}

// PrepareSpec checks a submitted spec and fills its defaults, as the
// controller does before it commits a submission: the checks that need no
// configuration first (so that values are reported as the user gave them),
// then DefaultSpec, then the checks against cfg. A client holding the
// configuration can call it to reject a spec locally with the same message.
func PrepareSpec(spec *JobSpec, cfg *ClusterConfig) error {
	if err := ValidateSpec(spec, nil); err != nil {
		return err
	}
	DefaultSpec(spec, cfg)
	return ValidateSpec(spec, cfg)
}

// ValidateRegistration checks a node's registration against the
// configuration: a node name, at least one CPU, distinct GPU indices and
// known partitions.
func ValidateRegistration(req *RegisterNodeRequest, cfg *ClusterConfig) error {
	known := make([]string, len(cfg.Partitions))
	for i, p := range cfg.Partitions {
		known[i] = p.Name
	}
	switch {
	case req.Name == "" || strings.ContainsAny(req.Name, "/ \t\n,") || len(req.Name) > 64:
		return &FieldError{Field: "name", Value: req.Name, Msg: "must be a node name such as gpu-node-01"}
	case req.Resources.CPUs <= 0:
		return &FieldError{Field: "resources.cpus", Value: strconv.Itoa(req.Resources.CPUs), Msg: "must be 1 or more"}
	case req.Resources.MemoryMB < 0:
		return &FieldError{Field: "resources.memory_mb", Value: strconv.FormatInt(req.Resources.MemoryMB, 10), Msg: "must be 0 or more"}
	}
	seen := map[int]bool{}
	for _, g := range req.Resources.GPUs {
		if g.Index < 0 || seen[g.Index] {
			return &FieldError{Field: "resources.gpus", Value: strconv.Itoa(g.Index), Msg: "GPU indices must be distinct and 0 or more"}
		}
		seen[g.Index] = true
	}
	for _, p := range req.Partitions {
		if !slices.Contains(known, p) {
			return &FieldError{Field: "partitions", Value: p, Msg: "no such partition; known partitions: " + strings.Join(known, ", ")}
		}
	}
	return nil
}

// DefaultRegistration puts a node that names no partition in the default
// partition, unless partitions list their nodes explicitly.
func DefaultRegistration(req *RegisterNodeRequest, cfg *ClusterConfig) {
	if len(req.Partitions) > 0 {
		return
	}
	if p, ok := cfg.DefaultPartition(); ok && !slices.ContainsFunc(cfg.Partitions, func(p Partition) bool { return len(p.Nodes) > 0 }) {
		req.Partitions = []string{p.Name}
	}
}

// ValidateEvents checks the job events a node reports as node: each event's
// Node is filled with node when empty and must be node, and each kind must
// be one a node reports.
func ValidateEvents(node string, events []JobEvent) error {
	for i := range events {
		e := &events[i]
		if e.Node == "" {
			e.Node = node
		}
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case e.Node != node:
			return &FieldError{Field: field + ".node", Value: e.Node, Msg: "an event for node " + e.Node + " sent as node " + node}
		case !slices.Contains([]JobEventKind{EventStarted, EventExited, EventLaunchFail, EventLost}, e.Kind):
			return &FieldError{Field: field + ".kind", Value: string(e.Kind), Msg: "unknown event kind: must be started, exited, launch_failed or lost"}
		}
	}
	return nil
}
