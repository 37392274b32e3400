package sched_test

import (
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// t0 is the virtual time tests start at.
const t0 = 1_700_000_000

const hour = 3600

// gpuNodes returns n nodes named prefix1..prefixN with gpus GPUs of gpuType
// each, 8 CPUs per GPU (at least 8) and 64 GB per GPU, in the partitions.
func gpuNodes(prefix string, n, gpus int, gpuType string, parts ...string) []*api.Node {
	var out []*api.Node
	for i := 1; i <= n; i++ {
		cpus := max(8*gpus, 8)
		out = append(out, schedtest.Node(fmt.Sprintf("%s%d", prefix, i), cpus, int64(cpus)*8192, gpus, gpuType, parts...))
	}
	return out
}

// spec returns a job spec: nodes nodes with gpus GPUs each (8 CPUs and 8 GB
// per GPU, or 1 CPU and 1 GB without GPUs), time limit limit.
func spec(account, user string, nodes, gpus int, limit int64) api.JobSpec {
	cpus := max(8*gpus, 1)
	return api.JobSpec{Name: "job", Account: account, User: user, Nodes: nodes, NTasks: nodes, CPUsPerTask: cpus,
		MemoryMB: int64(max(gpus, 1)) * 8192, GPUs: gpus, TimeLimitSecs: limit, Script: "#!/bin/sh\n"}
}

// with returns a spec changed by edit.
func with(s api.JobSpec, edit func(*api.JobSpec)) api.JobSpec {
	edit(&s)
	return s
}

// partition returns a configuration with one default partition "gpu".
func onePartition(accounts ...api.Account) api.ClusterConfig {
	return api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, GraceSecs: 60}},
		Accounts:   accounts,
	}
}

// newCluster returns a schedtest cluster with the production scheduler.
func newCluster(cfg api.ClusterConfig, nodes []*api.Node) *schedtest.Cluster {
	return schedtest.New(cfg, nodes, sched.New(), t0)
}

// preemption is a preemption as tests compare it.
type preemption struct {
	Job, For api.JobID
	Reason   string
}

func preemptions(c *schedtest.Cluster) []preemption {
	var out []preemption
	for _, e := range c.Events(schedtest.Preempted) {
		out = append(out, preemption{e.Job, e.For, e.Reason})
	}
	return out
}

// gpusByAccount counts the GPUs running jobs hold, per account.
func gpusByAccount(c *schedtest.Cluster, accounts ...string) map[string]int {
	out := map[string]int{}
	for _, a := range accounts {
		out[a] = c.GPUsInUse(a, "")
	}
	return out
}

// cmpIgnorePriority compares pending infos without their priority.
var cmpIgnorePriority = cmpopts.IgnoreFields(api.PendingInfo{}, "Priority")
