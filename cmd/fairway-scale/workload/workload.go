// Package workload generates the scale harness's jobs: a synthetic mix of
// 1-8 GPU jobs, gangs of whole nodes and job arrays, or the jobs of a GPU
// trace, each with the run time its simulated node will "run" it for
// (carried in the job's name), and the cluster configuration (partition,
// accounts, users) they are submitted under.
package workload

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// Job is one submission: a plain job, a gang (Nodes > 1) or an array of
// Tasks tasks, each task of Nodes x GPUsPerNode GPUs run for Duration.
type Job struct {
	Nodes       int
	GPUsPerNode int
	Tasks       int // 0: not an array
	Duration    time.Duration
}

// Count is the number of jobs the submission is (an array's tasks count one
// each).
func (j Job) Count() int { return max(j.Tasks, 1) }

// GPUs is the GPUs one task holds.
func (j Job) GPUs() int { return j.Nodes * j.GPUsPerNode }

// Mix describes the synthetic workload.
type Mix struct {
	GPUsPerNode   int           // a gang takes whole nodes of this many GPUs
	GangFraction  float64       // share of submissions that are gangs of 2-4 nodes
	ArrayFraction float64       // share of submissions that are arrays of 1-GPU tasks
	ArrayMin      int           // tasks of an array, at least
	ArrayMax      int           // and at most
	MeanDuration  time.Duration // run times are exponential with this mean,
	MinDuration   time.Duration // clamped to [MinDuration, MaxDuration]
	MaxDuration   time.Duration
}

// Validate checks the mix, naming the field at fault.
func (m Mix) Validate() error {
	switch {
	case m.GPUsPerNode < 1:
		return fmt.Errorf("gpus-per-node: %d, want at least 1", m.GPUsPerNode)
	case m.GangFraction < 0 || m.ArrayFraction < 0 || m.GangFraction+m.ArrayFraction > 1:
		return fmt.Errorf("gang-fraction %g and array-fraction %g: each at least 0 and together at most 1", m.GangFraction, m.ArrayFraction)
	case m.ArrayFraction > 0 && (m.ArrayMin < 1 || m.ArrayMax < m.ArrayMin):
		return fmt.Errorf("array-min %d, array-max %d: want 1 <= array-min <= array-max", m.ArrayMin, m.ArrayMax)
	case m.MinDuration <= 0 || m.MaxDuration < m.MinDuration || m.MeanDuration <= 0:
		return fmt.Errorf("durations: mean %s, min %s, max %s: want positive with min <= max", m.MeanDuration, m.MinDuration, m.MaxDuration)
	}
	return nil
}

// Source yields submissions; ok is false when it has no more.
type Source interface {
	Next() (j Job, ok bool)
}

// Synthetic draws submissions from a Mix; it never runs out.
type Synthetic struct {
	mix Mix
	rng *rand.Rand
}

// NewSynthetic returns a generator of mix, deterministic for seed.
func NewSynthetic(mix Mix, seed uint64) (*Synthetic, error) {
	if err := mix.Validate(); err != nil {
		return nil, fmt.Errorf("workload mix: %w", err)
	}
	return &Synthetic{mix: mix, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, nil
}

// singleGPUs are the GPU counts of single-node jobs, weighted as GPU
// clusters see them: mostly 1, 2, 4 and 8.
var singleGPUs = []struct {
	gpus   int
	weight int
}{{1, 40}, {2, 20}, {3, 2}, {4, 20}, {5, 1}, {6, 1}, {7, 1}, {8, 15}}

// Next implements Source.
func (s *Synthetic) Next() (Job, bool) {
	m := s.mix
	j := Job{Nodes: 1, Duration: s.duration()}
	switch u := s.rng.Float64(); {
	case u < m.GangFraction:
		j.Nodes = 2 + s.rng.IntN(3)
		j.GPUsPerNode = m.GPUsPerNode
	case u < m.GangFraction+m.ArrayFraction:
		j.GPUsPerNode = 1
		j.Tasks = m.ArrayMin + s.rng.IntN(m.ArrayMax-m.ArrayMin+1)
	default:
		total := 0
		for _, g := range singleGPUs {
			total += g.weight
		}
		k := s.rng.IntN(total)
		for _, g := range singleGPUs {
			if k < g.weight {
				j.GPUsPerNode = min(g.gpus, m.GPUsPerNode)
				break
			}
			k -= g.weight
		}
	}
	return j, true
}

func (s *Synthetic) duration() time.Duration {
	d := time.Duration(s.rng.ExpFloat64() * float64(s.mix.MeanDuration))
	return min(max(d, s.mix.MinDuration), s.mix.MaxDuration)
}

// Trace replays the GPU jobs of a trace in its order, run times scaled.
type Trace struct {
	jobs []Job
	next int
}

// Next implements Source.
func (t *Trace) Next() (Job, bool) {
	if t.next >= len(t.jobs) {
		return Job{}, false
	}
	t.next++
	return t.jobs[t.next-1], true
}

// Len is the number of submissions the trace holds.
func (t *Trace) Len() int { return len(t.jobs) }

// LoadTrace reads a trace file (Philly-derived CSV: a name with "philly"
// or "tiresias"; Alibaba pods: "pod_list"; else SWF) and turns each GPU job
// into a submission on nodes of gpusPerNode GPUs (sched/sim/trace's
// GPUShape; jobs that cannot be split are left out), run times multiplied
// by timeScale and clamped to [minDur, maxDur].
func LoadTrace(path string, gpusPerNode int, timeScale float64, minDur, maxDur time.Duration) (*Trace, error) {
	if timeScale <= 0 {
		return nil, fmt.Errorf("trace-time-scale: %g, want more than 0", timeScale)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	base := strings.ToLower(filepath.Base(path))
	var t *trace.Trace
	switch {
	case strings.Contains(base, "philly") || strings.Contains(base, "tiresias"):
		t, err = trace.ReadPhilly(f, trace.GPUOptions{})
	case strings.Contains(base, "pod_list"):
		t, err = trace.ReadAlibabaPods(f, trace.GPUOptions{})
	default:
		t, err = trace.ReadSWF(f, trace.SWFOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	out := &Trace{}
	for _, tj := range t.Jobs {
		gpus := tj.GPUs
		if gpus == 0 {
			gpus = 1 // CPU traces (SWF): one GPU per job keeps the shape of the arrivals
		}
		n, per := trace.GPUShape(gpus, gpusPerNode)
		if n == 0 {
			continue
		}
		d := time.Duration(float64(tj.Run) * timeScale * float64(time.Second))
		out.jobs = append(out.jobs, Job{Nodes: n, GPUsPerNode: per, Duration: min(max(d, minDur), maxDur)})
	}
	if len(out.jobs) == 0 {
		return nil, fmt.Errorf("trace %s: no job fits nodes of %d GPUs", path, gpusPerNode)
	}
	return out, nil
}

// namePrefix starts the name of every job the harness submits; the rest is
// the run time in milliseconds.
const namePrefix = "sim-"

// Name is the job name carrying the run time d.
func Name(d time.Duration) string { return namePrefix + strconv.FormatInt(d.Milliseconds(), 10) }

// DurationOf reads the run time back from a job name made by Name.
func DurationOf(name string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// Spec is the job specification of a submission under account.
func Spec(j Job, account string) api.JobSpec {
	limit := int64(j.Duration/time.Second)*2 + 120
	spec := api.JobSpec{
		Name: Name(j.Duration), Account: account,
		Nodes: j.Nodes, NTasks: j.Nodes, CPUsPerTask: 1, MemoryMB: 1024, GPUs: j.GPUsPerNode,
		TimeLimitSecs: limit, WorkDir: "/tmp",
		Script: "#!/bin/sh\n# fairway-scale: a simulated node runs this for its name's milliseconds\ntrue\n",
	}
	if j.Tasks > 0 {
		spec.Array = fmt.Sprintf("0-%d", j.Tasks-1)
	}
	return spec
}

// Accounts are the accounts of the users: user i is in account
// i % accounts, named acctN.
func Accounts(users []string, accounts int) map[string]string {
	out := make(map[string]string, len(users))
	for i, u := range users {
		out[u] = fmt.Sprintf("acct%d", i%max(accounts, 1))
	}
	return out
}

// ClusterConfig is the cluster the load runs on: one default partition
// "gpu", the accounts of userAccount with their users and equal shares,
// finished jobs retained for a day (squeue -t all sees them all), nodes
// declared down after nodeDownAfter without a heartbeat.
func ClusterConfig(userAccount map[string]string, nodeDownAfter time.Duration) api.ClusterConfig {
	byAcct := map[string][]api.AccountUser{}
	var names []string
	for u, a := range userAccount {
		if _, ok := byAcct[a]; !ok {
			names = append(names, a)
		}
		byAcct[a] = append(byAcct[a], api.AccountUser{Name: u, Shares: 1})
	}
	sortStrings(names)
	cfg := api.ClusterConfig{
		Partitions:        []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600, MaxTimeSecs: 86400}},
		NodeDownAfterSecs: int64(nodeDownAfter / time.Second),
		JobRetentionSecs:  86400,
	}
	for _, a := range names {
		us := byAcct[a]
		sortUsers(us)
		cfg.Accounts = append(cfg.Accounts, api.Account{Name: a, Shares: 1, Users: us})
	}
	if len(names) > 0 {
		cfg.DefaultAccount = names[0]
	}
	return cfg
}

func sortStrings(s []string) { slices.Sort(s) }

func sortUsers(u []api.AccountUser) {
	slices.SortFunc(u, func(a, b api.AccountUser) int { return strings.Compare(a.Name, b.Name) })
}
