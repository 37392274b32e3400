// Package rlcompat replays SWF traces under the evaluation protocol of
// RLScheduler (Zhang et al., "RLScheduler: An Automated HPC Batch Job
// Scheduler Using Reinforcement Learning", SC'20), so that the numbers the
// paper publishes for its heuristic baselines can be reproduced with
// Fairway's scheduler making the decisions.
//
// The protocol (see ../../shared/traces/README.md of the project):
//
//   - jobs in job-number order; run time 0 dropped, run time < 0 becomes
//     10 s; processors = max(allocated, requested); a missing requested
//     time becomes the run time;
//   - MaxNodes nodes of ppn = MaxProcs/MaxNodes processors; a job takes
//     ceil(procs/ppn) whole nodes;
//   - windows of 1,024 consecutive jobs, each replayed alone on an empty
//     machine from its first job's submit time;
//   - bounded slowdown max(1, (wait+run)/max(run, 10)) averaged over a
//     window, then over the windows; utilization sum(run x procs) /
//     ((last start - first submit) x MaxProcs).
//
// RLScheduler's driver loop is reproduced as it is written in its artifact
// (DIR-LAB/deep-batch-scheduler, HPCSimPickerEnv): time moves one event at
// a time (one arrival or one job end); when the queue is empty the next
// arrival alone is queued; the head job is the best queued job by the
// policy key (FCFS: submit time; SJF: requested time, then submit time)
// and stays the head until it starts, even if a better job arrives; with
// backfilling, the head's earliest start is computed once, when it becomes
// the head, and at every event before it starts the queued jobs are tried
// in submit order (not policy order: that is what the artifact does, and
// only that order gives the published 73.31 for SJF with backfilling) and
// started when they fit now and now + requested time < that earliest
// start, strictly — a restricted EASY without the extra-nodes rule.
//
// Every decision about resources is the production scheduler's: each step
// is a pass of sched.New() over the running jobs and the jobs the protocol
// lets compete at that step. Whether the head fits now, and its earliest
// start, come from a pass with the head alone (EASY backfill, unlimited
// window: its reservation is the earliest start); a backfill step is a pass
// with the head first (the simulator raises it with a nice value of -1)
// and the queued jobs that end before its earliest start after it in
// submit order (queue order "priority" with only the job's own nice
// deciding, so ties fall to submit time and job ID), under EASY backfill:
// the head holds the one reservation, and every later job that fits now
// starts.
package rlcompat

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	"github.com/fairway-hpc/fairway/sched/planapply"
	"github.com/fairway-hpc/fairway/sched/schedtest"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// WindowStarts are the 0-based indices of the protocol's 10 windows.
var WindowStarts = []int{1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085}

// WindowJobs is the number of jobs in a window.
const WindowJobs = 1024

// Policies of the protocol.
const (
	FCFS = "fcfs"
	SJF  = "sjf"
)

// Load reads an SWF log under the protocol's rules.
func Load(r io.Reader) (*trace.Trace, error) {
	t, err := trace.ReadSWF(bufio.NewReader(r), trace.SWFOptions{UnknownRunTime: 10, RequestedFromRun: true, ByID: true})
	if err != nil {
		return nil, fmt.Errorf("rlcompat: %w", err)
	}
	if t.Machine.Nodes == 0 {
		return nil, fmt.Errorf("rlcompat: the log has no MaxNodes or MaxProcs header")
	}
	return t, nil
}

// JobResult is one job of a window.
type JobResult struct {
	Job   trace.Job
	Start int64
}

// Window is the outcome of one window.
type Window struct {
	Start           int // index of the first job
	BoundedSlowdown float64
	Utilization     float64
	Jobs            []JobResult
	Passes          int
}

// Result is the outcome of a policy over the windows.
type Result struct {
	Policy   string
	Backfill bool
	// BoundedSlowdown and Utilization are the means over the windows.
	BoundedSlowdown float64
	Utilization     float64
	Windows         []Window
}

// Name is the policy as the paper's table names it.
func (r Result) Name() string {
	n := map[string]string{FCFS: "FCFS", SJF: "SJF"}[r.Policy]
	if r.Backfill {
		n += "+backfill"
	}
	return n
}

// Run replays every window of the protocol with a policy, with or without
// backfilling.
func Run(t *trace.Trace, policy string, backfill bool) (Result, error) {
	res := Result{Policy: policy, Backfill: backfill}
	for _, start := range WindowStarts {
		if start+WindowJobs > len(t.Jobs) {
			return res, fmt.Errorf("rlcompat: window at %d needs %d jobs, the trace has %d", start, start+WindowJobs, len(t.Jobs))
		}
		w, err := RunWindow(t.Jobs[start:start+WindowJobs], t.Machine, policy, backfill)
		if err != nil {
			return res, fmt.Errorf("rlcompat: window at %d: %w", start, err)
		}
		w.Start = start
		res.Windows = append(res.Windows, w)
		res.BoundedSlowdown += w.BoundedSlowdown / float64(len(WindowStarts))
		res.Utilization += w.Utilization / float64(len(WindowStarts))
	}
	return res, nil
}

// job is a job of the window.
type job struct {
	idx  int // position in the window
	tj   trace.Job
	j    *api.Job
	st   int64 // start, -1 before
	need int   // nodes
}

// window is one window's replay state.
type window struct {
	jobs     []*job
	ppn      int
	policy   string
	backfill bool
	cfg      api.ClusterConfig
	nodes    []*api.Node
	state    *planapply.Mem // the jobs that arrived, as the plan applier sees them
	sch      sched.Scheduler
	now      int64
	queue    []*job // arrival order
	running  []*job // start order
	next     int
	passes   int
	total    int // nodes of the machine
}

// RunWindow replays one window of jobs (in job-number order) on machine m.
func RunWindow(jobs []trace.Job, m trace.Machine, policy string, backfill bool) (Window, error) {
	if policy != FCFS && policy != SJF {
		return Window{}, fmt.Errorf("unknown policy %q (want fcfs or sjf)", policy)
	}
	w := &window{ppn: max(m.CPUsPerNode, 1), policy: policy, backfill: backfill, sch: sched.New()}
	w.cfg = api.ClusterConfig{
		Partitions:     []api.Partition{{Name: "main", Default: true}},
		DefaultAccount: "default",
		Scheduling: api.SchedulingConfig{
			QueueOrder: api.QueuePriority,
			// Only the job's nice decides the priority: every factor
			// weight is 0 but QOS, and no QOS is defined.
			Weights:  api.PriorityWeights{QOS: 1},
			Backfill: api.BackfillConfig{Mode: api.BackfillEASY, WindowSecs: 100 * 365 * 24 * 3600},
		},
	}
	// The machine's nodes are allocated whole and have no topology, so
	// they are modelled as the CPUs of one scheduler node: a job of k
	// nodes asks for k of its m.Nodes CPUs.
	w.nodes = []*api.Node{schedtest.Node("machine", m.Nodes, 1<<20, 0, "", "main")}
	w.total = m.Nodes
	w.state = planapply.NewMem(&w.cfg, w.nodes)
	const epoch = 1_000_000_000
	for i, tj := range jobs {
		need := (tj.Procs + w.ppn - 1) / w.ppn
		if need > m.Nodes {
			return Window{}, fmt.Errorf("job %d needs %d nodes, the machine has %d", tj.ID, need, m.Nodes)
		}
		spec := api.JobSpec{Name: fmt.Sprintf("job%d", tj.ID), Partitions: []string{"main"}, User: "u", Nodes: 1, NTasks: need,
			CPUsPerTask: 1, MemoryMB: 1, TimeLimitSecs: max(tj.Requested, 1)}
		w.jobs = append(w.jobs, &job{idx: i, tj: tj, st: -1, need: need,
			j: &api.Job{ID: api.JobID(i + 1), Spec: spec, State: api.JobPending, Partition: "main", SubmitTime: epoch + tj.Submit}})
	}
	w.now = w.jobs[0].j.SubmitTime
	if err := w.run(); err != nil {
		return Window{}, err
	}
	out := Window{Passes: w.passes}
	first := w.jobs[0].j.SubmitTime
	var lastStart int64
	var work float64
	for _, jb := range w.jobs {
		if jb.st < 0 {
			return Window{}, fmt.Errorf("job %d never started", jb.tj.ID)
		}
		wait := jb.st - jb.j.SubmitTime
		run := jb.tj.Run
		out.BoundedSlowdown += max(1, float64(wait+run)/float64(max(run, 10)))
		lastStart = max(lastStart, jb.st)
		work += float64(run) * float64(jb.tj.Procs)
		out.Jobs = append(out.Jobs, JobResult{Job: jb.tj, Start: jb.st - epoch})
	}
	out.BoundedSlowdown /= float64(len(w.jobs))
	if span := lastStart - first; span > 0 {
		out.Utilization = work / (float64(span) * float64(m.Nodes*w.ppn))
	} else {
		out.Utilization = math.NaN()
	}
	return out, nil
}

// key orders the queue by the policy: FCFS by submit time, SJF by
// requested time then submit time; ties by arrival.
func (w *window) key(a, b *job) int {
	if w.policy == SJF {
		if c := cmp.Compare(a.tj.Requested, b.tj.Requested); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(a.tj.Submit, b.tj.Submit), cmp.Compare(a.idx, b.idx))
}

// run is RLScheduler's driver loop for one window.
func (w *window) run() error {
	w.arrive()
	for {
		head := slices.MinFunc(w.queue, w.key)
		started, est, err := w.tryHead(head)
		if err != nil {
			return err
		}
		for !started {
			if w.backfill {
				if err := w.backfillStep(head, est); err != nil {
					return err
				}
			}
			released, err := w.step()
			if err != nil {
				return err
			}
			// An arrival frees nothing: the head still does not fit,
			// and the pass that said so need not be run again.
			if released {
				if started, _, err = w.tryHead(head); err != nil {
					return err
				}
			}
		}
		if len(w.queue) > 0 {
			continue
		}
		if w.next >= len(w.jobs) {
			return nil
		}
		// Move forward until a job arrives.
		for len(w.queue) == 0 {
			if len(w.running) == 0 || w.jobs[w.next].j.SubmitTime <= w.nextRelease() {
				w.arrive()
			} else {
				w.releaseFirst()
			}
		}
	}
}

// arrive queues the next job, moving time to its submit time.
func (w *window) arrive() {
	jb := w.jobs[w.next]
	w.next++
	w.now = max(w.now, jb.j.SubmitTime)
	w.put(jb, jb.j)
	w.queue = append(w.queue, jb)
}

// put stores a new version of a job's record.
func (w *window) put(jb *job, j *api.Job) {
	_ = w.state.PutJob(j) // a Mem's PutJob does not fail
	jb.j = j
}

// setNice stores the job with another nice value.
func (w *window) setNice(jb *job, nice int) {
	nj := *jb.j
	nj.Spec.Nice = nice
	w.put(jb, &nj)
}

// runEnd is when a running job ends (its run time, not its request).
func runEnd(jb *job) int64 { return jb.j.StartTime + jb.tj.Run }

// nextRelease is the end of the running job that ends first.
func (w *window) nextRelease() int64 {
	return runEnd(w.firstEnding())
}

// firstEnding is the running job that ends first (ties: the one started
// first, as a stable sort by end time gives).
func (w *window) firstEnding() *job {
	best := w.running[0]
	for _, jb := range w.running[1:] {
		if runEnd(jb) < runEnd(best) {
			best = jb
		}
	}
	return best
}

// releaseFirst ends the running job that ends first.
func (w *window) releaseFirst() {
	jb := w.firstEnding()
	w.now = max(w.now, runEnd(jb))
	nj := *jb.j
	nj.State, nj.Alloc, nj.EndTime = api.JobCompleted, nil, runEnd(jb)
	w.put(jb, &nj)
	w.running = slices.DeleteFunc(w.running, func(x *job) bool { return x == jb })
}

// step moves time one event: the next arrival if it comes no later than
// the next job end, else that job end. It reports whether a job ended.
func (w *window) step() (bool, error) {
	if len(w.running) == 0 {
		if w.next >= len(w.jobs) {
			return false, fmt.Errorf("t=%d: the head job waits with nothing running and nothing to arrive", w.now)
		}
		w.arrive()
		return false, nil
	}
	if w.next < len(w.jobs) && w.jobs[w.next].j.SubmitTime <= w.nextRelease() {
		w.arrive()
		return false, nil
	}
	w.releaseFirst()
	return true, nil
}

// schedule runs one pass over the running jobs and pending, and applies
// its starts.
func (w *window) schedule(pending []*job) (api.Plan, error) {
	in := make([]*api.Job, 0, len(w.running)+len(pending))
	for _, jb := range w.running {
		in = append(in, jb.j)
	}
	for _, jb := range pending {
		in = append(in, jb.j)
	}
	slices.SortFunc(in, func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) })
	plan := w.sch.Schedule(sched.Input{Now: w.now, Config: w.cfg, Nodes: w.nodes, Jobs: in})
	w.passes++
	// Only the starts are applied: the protocol has no preemption, and
	// its passes see a few candidates, not the queue, so their pending
	// reasons are not kept.
	res, err := planapply.Apply(w.state, &api.Plan{Now: w.now, Starts: plan.Starts})
	if err != nil {
		return plan, fmt.Errorf("t=%d: apply: %w", w.now, err)
	}
	if len(res.Dropped) > 0 {
		d := res.Dropped[0]
		return plan, fmt.Errorf("t=%d: the plan's start of job %d does not verify: %s", w.now, d.JobID, d.Why)
	}
	for _, id := range res.Started {
		jb := w.jobs[id-1]
		jb.j, jb.st = w.state.Job(id), w.now
		w.running = append(w.running, jb)
		w.queue = slices.DeleteFunc(w.queue, func(x *job) bool { return x == jb })
	}
	return plan, nil
}

// tryHead runs a pass with the head job alone: it starts if it fits now;
// otherwise its reservation is its earliest start.
func (w *window) tryHead(head *job) (bool, int64, error) {
	w.setNice(head, 0)
	plan, err := w.schedule([]*job{head})
	if err != nil {
		return false, 0, err
	}
	if head.st >= 0 {
		return true, 0, nil
	}
	for _, p := range plan.Pending {
		if p.JobID == head.j.ID && p.ExpectedStart > 0 {
			return false, p.ExpectedStart, nil
		}
	}
	return false, 0, fmt.Errorf("t=%d: head job %d neither starts nor gets a reservation", w.now, head.tj.ID)
}

// backfillStep runs a pass with the head first and, after it in submit
// order, the queued jobs that would end before its earliest start; the
// plan must not start the head.
func (w *window) backfillStep(head *job, est int64) error {
	cands := []*job{head}
	for _, jb := range w.queue {
		if jb != head && w.now+jb.j.Spec.TimeLimitSecs < est {
			cands = append(cands, jb)
		}
	}
	// Nothing starts on a full machine: skip the pass.
	busy := 0
	for _, jb := range w.running {
		busy += jb.need
	}
	if len(cands) == 1 || busy >= w.total {
		return nil
	}
	w.setNice(head, -1)
	defer w.setNice(head, 0)
	if _, err := w.schedule(cands); err != nil {
		return err
	}
	if head.st >= 0 {
		return fmt.Errorf("t=%d: head job %d started in a backfill step", w.now, head.tj.ID)
	}
	return nil
}

// Table replays the protocol's four heuristics (FCFS and SJF, without and
// with backfilling) and returns them in the paper's order.
func Table(t *trace.Trace) ([]Result, error) {
	var out []Result
	for _, bf := range []bool{false, true} {
		for _, p := range []string{FCFS, SJF} {
			r, err := Run(t, p, bf)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// WriteTable prints results as a Markdown table of average bounded
// slowdown and utilization, the digits the paper prints.
func WriteTable(w io.Writer, rs []Result) error {
	var b strings.Builder
	b.WriteString("| heuristic | average bounded slowdown | utilization | passes |\n|---|---:|---:|---:|\n")
	for _, r := range rs {
		passes := 0
		for _, win := range r.Windows {
			passes += win.Passes
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.3f | %d |\n", r.Name(), r.BoundedSlowdown, r.Utilization, passes)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
