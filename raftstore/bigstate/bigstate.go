// Package bigstate builds a large synthetic controller state quickly, for
// benchmarks of the read path, memory per job and snapshots: it applies
// ordinary raft commands (SubmitJobs, ApplyPlan, JobEvents) to a
// raftstore.Local in batches, so 200,000 jobs take seconds.
package bigstate

import (
	"fmt"
	"strconv"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// Mix is the state to build. Jobs are submitted in ID order; every
// Jobs/FocusJobs-th job belongs to FocusUser, the others to Users users
// named u000, u001, ...
type Mix struct {
	Jobs      int // all jobs
	Running   int // of them RUNNING (the first ones submitted after the finished)
	Finished  int // of them COMPLETED, with a run and its usage (the first submitted)
	Nodes     int // registered nodes (256 CPUs, 8 GPUs each); at least Running/256
	Users     int // users other than FocusUser
	FocusUser string
	FocusJobs int // jobs of FocusUser, spread evenly over the IDs
}

// Default returns the mix of issue 15's list measurements for n jobs:
// 45% finished, 1% running, the rest pending, 100 of them FocusUser
// "alice"'s, 50 other users, 1,000 nodes.
func Default(n int) Mix {
	return Mix{Jobs: n, Finished: n * 45 / 100, Running: n / 100, Nodes: 1000, Users: 50, FocusUser: "alice", FocusJobs: 100}
}

// Now is the submit time of every job; runs start at Now+60 and finished
// runs end at Now+3660.
const Now = 1_800_000_000

// Partition is the one partition the state configures.
const Partition = "gpu"

// batch is how many jobs one command submits, starts or ends.
const batch = 1000

// Spec returns the spec of job i (0-based) as sbatch would send it: a
// script of a few hundred bytes and an exported environment of 25
// variables (sbatch's --export=ALL). Every job's strings are built afresh,
// as decoding each submission would.
func (m Mix) Spec(i int) api.JobSpec {
	user := "u" + fmt.Sprintf("%03d", i%max(m.Users, 1))
	if m.FocusJobs > 0 && i%max(m.Jobs/m.FocusJobs, 1) == 0 && i/max(m.Jobs/m.FocusJobs, 1) < m.FocusJobs {
		user = m.FocusUser
	}
	env := make(map[string]string, 25)
	for k := range 22 {
		env["VAR_"+strconv.Itoa(k)] = "/opt/software/module-" + strconv.Itoa(k) + "/lib:/usr/local/lib:/usr/lib"
	}
	env["HOME"] = "/home/" + user
	env["USER"] = user
	env["PATH"] = "/home/" + user + "/bin:/usr/local/bin:/usr/bin:/bin"
	return api.JobSpec{
		Name: "train-" + strconv.Itoa(i%37), User: user, UID: 10000 + i%max(m.Users, 1), GID: 100,
		Account: "acct" + strconv.Itoa(i%5),
		Nodes:   1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 1000, TimeLimitSecs: 3600,
		Script: "#!/bin/bash\n#SBATCH --job-name=train\n#SBATCH --time=01:00:00\n#SBATCH -c 1\n" +
			"module load cuda/12.4 python/3.12\nsource /home/" + user + "/venv/bin/activate\n" +
			"cd /home/" + user + "/project\npython train.py --config configs/base.yaml --seed ${SLURM_ARRAY_TASK_ID:-0} --epochs 10\n" +
			"echo done\n",
		WorkDir: "/home/" + user + "/project",
		Env:     env,
	}
}

// Build applies the mix to a new raftstore.Local and returns it.
func Build(m Mix) (*raftstore.Local, error) {
	l, err := raftstore.NewLocal(nil)
	if err != nil {
		return nil, err
	}
	if err := Apply(m, l.Apply); err != nil {
		return nil, err
	}
	return l, nil
}

// Apply builds the mix with apply (a raftstore.Local's Apply, or a test
// harness's), on a state with nothing in it.
func Apply(m Mix, apply func(raftstore.Command) (raftstore.ApplyResult, error)) error {
	if m.Running+m.Finished > m.Jobs {
		return fmt.Errorf("bigstate: %d running and %d finished of %d jobs", m.Running, m.Finished, m.Jobs)
	}
	nodes := max(m.Nodes, 1)
	if m.Running > nodes*256 {
		return fmt.Errorf("bigstate: %d running jobs do not fit %d nodes", m.Running, nodes)
	}
	must := func(what string, cmd raftstore.Command) (raftstore.ApplyResult, error) {
		r, err := apply(cmd)
		if err != nil {
			return r, fmt.Errorf("bigstate: %s: %w", what, err)
		}
		return r, nil
	}
	cfg := api.ClusterConfig{
		Partitions:        []api.Partition{{Name: Partition, Default: true}},
		NodeDownAfterSecs: 60,
		JobRetentionSecs:  86400,
	}
	if _, err := must("configure", raftstore.SetConfig{Config: cfg}); err != nil {
		return err
	}
	for n := range nodes {
		var g []api.GPU
		for k := range 8 {
			g = append(g, api.GPU{Index: k, Minor: k, UUID: fmt.Sprintf("GPU-%05d-%d", n, k), Type: "h100", Healthy: true})
		}
		if _, err := must("register node", raftstore.RegisterNode{Now: Now, Req: api.RegisterNodeRequest{
			Name: nodeName(n), Addr: fmt.Sprintf("10.%d.%d.%d:6820", n>>16&255, n>>8&255, n&255),
			Partitions: []string{Partition},
			Resources:  api.NodeResources{CPUs: 256, MemoryMB: 2_000_000, GPUs: g},
		}}); err != nil {
			return err
		}
	}
	next := 0
	for next < m.Jobs {
		k := min(batch, m.Jobs-next)
		specs := make([]api.JobSpec, k)
		for i := range specs {
			specs[i] = m.Spec(next + i)
		}
		res, err := must("submit", raftstore.SubmitJobs{Now: Now, Specs: specs})
		if err != nil {
			return err
		}
		// The first Finished+Running jobs start; the first Finished end.
		var starts []api.Start
		for i, id := range res.IDs {
			if next+i >= m.Finished+m.Running {
				break
			}
			n := (next + i) % nodes
			starts = append(starts, api.Start{JobID: id, Partition: Partition, Priority: 1,
				Alloc: []api.NodeAlloc{{Node: nodeName(n), CPUs: 1, MemoryMB: 1000}}})
		}
		if len(starts) > 0 {
			// One start per node per plan: a plan's starts must fit together.
			for lo := 0; lo < len(starts); lo += nodes {
				if _, err := must("start", raftstore.ApplyPlan{Plan: api.Plan{Now: Now + 60, Starts: starts[lo:min(lo+nodes, len(starts))]}}); err != nil {
					return err
				}
			}
		}
		var ends []api.JobEvent
		for i, s := range starts {
			if next+i >= m.Finished {
				break
			}
			ends = append(ends, api.JobEvent{JobID: s.JobID, Node: s.Alloc[0].Node, Kind: api.EventExited,
				Usage: &api.Usage{UserCPUMillis: 3_000_000, MaxRSSBytes: 1 << 30, Tasks: 1}})
		}
		if len(ends) > 0 {
			if _, err := must("end", raftstore.JobEvents{Now: Now + 3660, Events: ends}); err != nil {
				return err
			}
		}
		next += k
	}
	return nil
}

// nodeName is node n's name.
func nodeName(n int) string { return fmt.Sprintf("gpu%05d", n) }
