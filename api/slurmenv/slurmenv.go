// Package slurmenv formats the Slurm environment variables that describe an
// allocation or a step, in the forms Slurm writes them: compressed host
// lists ("gpu[01-02]") and compressed per-node counts ("2(x3),1"). Both srun
// (the step's common variables, api.NodeStepRequest.Env) and the node daemon
// (the batch script's variables) use it, so that the two agree. It depends
// only on the standard library and the host list package.
package slurmenv

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// Nodelist is Slurm's compressed host list of names (SLURM_JOB_NODELIST,
// SLURM_STEP_NODELIST): sorted as Slurm sorts node names, ranges merged.
func Nodelist(names []string) string { return hostlist.Compress(names) }

// Counts formats per-node counts as Slurm does (SLURM_TASKS_PER_NODE,
// SLURM_JOB_CPUS_PER_NODE): runs of equal counts become "N(xK)", so
// [2 2 2 1] is "2(x3),1".
func Counts(counts []int) string {
	var parts []string
	for i := 0; i < len(counts); {
		j := i
		for j+1 < len(counts) && counts[j+1] == counts[i] {
			j++
		}
		s := strconv.Itoa(counts[i])
		if n := j - i + 1; n > 1 {
			s += "(x" + strconv.Itoa(n) + ")"
		}
		parts = append(parts, s)
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// MaxCounts bounds how many entries ParseCounts expands ("1(x999999999)").
const MaxCounts = hostlist.MaxHosts

// ParseCounts reads Slurm's compressed per-node counts ("2(x3),1") back
// into one count per node.
func ParseCounts(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		num, rep := part, "1"
		if i := strings.Index(part, "(x"); i >= 0 {
			if !strings.HasSuffix(part, ")") {
				return nil, fmt.Errorf("per-node counts %q: %q: want N or N(xK)", s, part)
			}
			num, rep = part[:i], part[i+2:len(part)-1]
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("per-node counts %q: %q: want N or N(xK)", s, part)
		}
		k, err := strconv.Atoi(rep)
		if err != nil || k < 1 {
			return nil, fmt.Errorf("per-node counts %q: %q: want N or N(xK)", s, part)
		}
		if len(out)+k > MaxCounts {
			return nil, fmt.Errorf("per-node counts %q: more than %d nodes", s, MaxCounts)
		}
		for range k {
			out = append(out, n)
		}
	}
	return out, nil
}

// Step describes a job step for its environment.
type Step struct {
	JobID  string
	StepID int
	// Nodes are the step's nodes in node-ID order; TasksPerNode[i] tasks
	// run on Nodes[i].
	Nodes        []string
	TasksPerNode []int
	// Distribution is "block" or "cyclic" (SLURM_DISTRIBUTION).
	Distribution string
	// CPUsPerTask is -c when given (0: not set).
	CPUsPerTask int
	// NTasksPerNode is --ntasks-per-node when given (0: not set).
	NTasksPerNode int
	// GPUsPerTask and GPUsPerNode are --gpus-per-task and --gpus-per-node
	// when given (0: not set).
	GPUsPerTask, GPUsPerNode int
	// LaunchHost and LaunchAddr are srun's host name and IP address
	// (SLURM_SRUN_COMM_HOST, SLURM_LAUNCH_NODE_IPADDR); "" leaves them out.
	LaunchHost, LaunchAddr string
	// Name is the step's --job-name ("" keeps the job's).
	Name string
}

// Env returns the variables srun sets for every task of the step (the
// common part: the node adds SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID and
// the GPU variables per task). Each SLURM_ variable has its FAIRWAY_ twin,
// as the node daemon sets them for the batch script.
func (s Step) Env() map[string]string {
	ntasks := 0
	for _, n := range s.TasksPerNode {
		ntasks += n
	}
	nodelist := Nodelist(s.Nodes)
	tpn := Counts(s.TasksPerNode)
	step := strconv.Itoa(s.StepID)
	dist := s.Distribution
	if dist == "" {
		dist = "block"
	}
	env := map[string]string{
		"SLURM_STEP_ID":             step,
		"SLURM_STEPID":              step,
		"SLURM_STEP_NODELIST":       nodelist,
		"SLURM_STEP_NUM_NODES":      strconv.Itoa(len(s.Nodes)),
		"SLURM_STEP_NUM_TASKS":      strconv.Itoa(ntasks),
		"SLURM_STEP_TASKS_PER_NODE": tpn,
		"SLURM_NTASKS":              strconv.Itoa(ntasks),
		"SLURM_NPROCS":              strconv.Itoa(ntasks),
		"SLURM_TASKS_PER_NODE":      tpn,
		"SLURM_NNODES":              strconv.Itoa(len(s.Nodes)),
		"SLURM_NODELIST":            nodelist,
		"SLURM_DISTRIBUTION":        dist,
	}
	if s.JobID != "" {
		env["SLURM_JOB_ID"] = s.JobID
		env["SLURM_JOBID"] = s.JobID
	}
	if s.CPUsPerTask > 0 {
		env["SLURM_CPUS_PER_TASK"] = strconv.Itoa(s.CPUsPerTask)
	}
	if s.NTasksPerNode > 0 {
		env["SLURM_NTASKS_PER_NODE"] = strconv.Itoa(s.NTasksPerNode)
	}
	if s.GPUsPerTask > 0 {
		env["SLURM_GPUS_PER_TASK"] = strconv.Itoa(s.GPUsPerTask)
	}
	if s.GPUsPerNode > 0 {
		env["SLURM_GPUS_PER_NODE"] = strconv.Itoa(s.GPUsPerNode)
	}
	if s.LaunchHost != "" {
		env["SLURM_SRUN_COMM_HOST"] = s.LaunchHost
	}
	if s.LaunchAddr != "" {
		env["SLURM_LAUNCH_NODE_IPADDR"] = s.LaunchAddr
	}
	if s.Name != "" {
		env["SLURM_JOB_NAME"] = s.Name
	}
	out := make(map[string]string, 2*len(env))
	for k, v := range env {
		out[k] = v
		out["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	return out
}
