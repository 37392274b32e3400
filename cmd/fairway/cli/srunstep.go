package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmenv"
	"github.com/fairway-hpc/fairway/api/stepclient"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
)

// EnvSrunLocal names the variable that makes srun run its tasks itself, on
// the node it runs on, without the controller or the node step servers
// ("1"): for node daemons that run no step server yet.
const EnvSrunLocal = "FAIRWAY_SRUN_LOCAL"

// allocOptNames are the sbatch options srun and salloc share to request an
// allocation.
var allocOptNames = []string{"partition", "account", "time", "mem", "mem-per-cpu", "gres", "gpus", "qos", "dependency", "begin"}

// allocOpts returns sbatch's definitions of the allocation options.
func allocOpts() []*opt {
	var out []*opt
	for _, o := range sbatchOpts() {
		if slices.Contains(allocOptNames, o.long) {
			out = append(out, o)
		}
	}
	return out
}

func srunOpts() []*opt {
	return append([]*opt{
		{long: "ntasks", short: 'n', usage: "number of tasks (default: $SLURM_NTASKS over the whole allocation; one per node with -N or -w)"},
		{long: "nodes", short: 'N', usage: "number of nodes of the allocation to run on"},
		{long: "ntasks-per-node", usage: "tasks per node"},
		{long: "cpus-per-task", short: 'c', usage: "CPUs per task (sets SLURM_CPUS_PER_TASK)"},
		{long: "nodelist", short: 'w', usage: "nodes of the allocation to run on (a host list such as gpu[01-02])"},
		{long: "exclude", short: 'x', usage: "nodes of the allocation not to run on"},
		{long: "distribution", short: 'm', usage: "rank layout: block (fill node by node, default) or cyclic (round robin)"},
		{long: "gpus-per-task", key: "step-gpus-per-task", usage: "GPUs per task"},
		{long: "gpus-per-node", key: "step-gpus-per-node", usage: "GPUs per node"},
		{long: "overcommit", short: 'O', kind: optFlag, usage: "run more tasks than CPUs"},
		{long: "output", short: 'o', usage: "stdout file pattern per task, written by the nodes (%j job, %s step, %t task, %n node id, %N node, %u user, %x name, %%)"},
		{long: "error", short: 'e', usage: "stderr file pattern per task (default: the --output file)"},
		{long: "label", short: 'l', kind: optFlag, usage: "prefix each output line with its task id"},
		{long: "kill-on-bad-exit", short: 'K', kind: optOptional, def: "1", usage: "terminate the other tasks when one exits with a non-zero code"},
		{long: "chdir", short: 'D', usage: "working directory of the tasks"},
		{long: "export", usage: "environment to pass: ALL (default), NONE, or [ALL,]VAR[=value],..."},
		{long: "job-name", short: 'J', usage: "step name (sets SLURM_JOB_NAME for the tasks)"},
		{long: "pty", kind: optFlag, usage: "run task 0 on a pseudo-terminal (one task), the local terminal in raw mode"},
		ignoredOpt("unbuffered", 'u', optFlag), ignoredOpt("mpi", 0, optValue), ignoredOpt("cpu-bind", 0, optValue),
		ignoredOpt("exclusive", 0, optOptional), ignoredOpt("overlap", 0, optFlag), ignoredOpt("quiet", 'Q', optFlag),
		ignoredOpt("verbose", 'v', optFlag), ignoredOpt("wait", 'W', optValue),
		ignoredOpt("gpu-bind", 0, optValue), ignoredOpt("hint", 0, optValue), ignoredOpt("mem-bind", 0, optValue),
		ignoredOpt("open-mode", 0, optValue), ignoredOpt("container-image", 0, optValue), ignoredOpt("container-mounts", 0, optValue),
		ignoredOpt("no-kill", 'k', optOptional), ignoredOpt("slurmd-debug", 0, optValue), ignoredOpt("threads-per-core", 0, optValue),
		addrOpt(),
		helpOpt('h'),
	}, allocOpts()...)
}

// srunFlags are srun's options other than the layout's.
type srunFlags struct {
	layout         layoutRequest
	name           string
	stdout, stderr string
	label, pty     bool
	killBad        bool
	dir            string
	env            map[string]string
}

// parseSrun reads srun's options; nothing is sent.
func parseSrun(inv *invocation) (*srunFlags, error) {
	o := inv.opts
	f := &srunFlags{}
	ints := []struct {
		key  string
		dst  *int
		what string
	}{
		{"nodes", &f.layout.Nodes, "a node count such as 2"},
		{"ntasks", &f.layout.NTasks, "a task count such as 8"},
		{"ntasks-per-node", &f.layout.NTasksPerNode, "a task count such as 4"},
		{"cpus-per-task", &f.layout.CPUsPerTask, "a CPU count such as 4"},
		{"step-gpus-per-task", &f.layout.GPUsPerTask, "a GPU count such as 1"},
		{"step-gpus-per-node", &f.layout.GPUsPerNode, "a GPU count such as 4"},
	}
	for _, i := range ints {
		if v, ok := o.last(i.key); ok {
			n, err := positiveInt(v, i.what)
			if err != nil {
				return nil, err
			}
			*i.dst = n
		}
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"nodelist", &f.layout.NodeList}, {"exclude", &f.layout.Exclude}} {
		if v, ok := o.last(l.key); ok {
			hosts, err := hostlist.Expand(v.value)
			if err != nil || len(hosts) == 0 {
				return nil, v.wrap(&api.FieldError{Field: v.name, Value: v.value, Msg: "want a host list such as gpu[01-02]"})
			}
			*l.dst = hosts
		}
	}
	if v, ok := o.last("distribution"); ok {
		// Slurm's "block:cyclic" forms: the first part lays out the nodes.
		d, _, _ := strings.Cut(v.value, ":")
		if d != "block" && d != "cyclic" {
			return nil, v.wrap(&api.FieldError{Field: "--distribution", Value: v.value, Msg: "want block or cyclic"})
		}
		f.layout.Distribution = d
	}
	f.layout.Overcommit = o.flag("overcommit")
	if n, err := strconv.Atoi(inv.env.Getenv("SLURM_NTASKS")); err == nil && n > 0 {
		f.layout.JobNTasks = n
	}
	f.name = o.str("job-name")
	f.stdout, f.stderr = o.str("output"), o.str("error")
	f.label = o.flag("label")
	f.pty = o.flag("pty")
	f.killBad = o.has("kill-on-bad-exit") && o.str("kill-on-bad-exit") != "0"
	f.dir = o.str("chdir")
	if f.pty {
		if f.layout.NTasks > 1 || f.layout.Nodes > 1 || f.layout.NTasksPerNode > 1 {
			return nil, &api.FieldError{Field: "--pty", Msg: "runs one task; drop --ntasks, --nodes and --ntasks-per-node"}
		}
		f.layout.NTasks, f.layout.Nodes = 1, 1
	}
	exp, _ := o.last("export")
	var err error
	if f.env, err = exportEnv(exp.value, inv.env.Environ()); err != nil {
		return nil, err
	}
	// The node sets the per-task variables.
	for _, k := range []string{"SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "FAIRWAY_PROCID", "FAIRWAY_LOCALID", "FAIRWAY_NODEID"} {
		delete(f.env, k)
	}
	if f.dir == "" {
		if f.dir, err = inv.env.Getwd(); err != nil {
			return nil, fmt.Errorf("current directory: %w", err)
		}
	}
	return f, nil
}

// srun runs a job step. Inside an allocation ($SLURM_JOB_ID) it records the
// step with the controller and has the step servers of the step's nodes
// run the tasks, streaming their output; outside one it first allocates a
// job (as salloc does), runs the step in it and then relinquishes it. Its
// exit status is the highest task exit status (128+N for a task killed by
// signal N).
func srun(ctx context.Context, inv *invocation) error {
	if inv.env.Getenv(EnvSrunLocal) == "1" {
		return srunLocal(ctx, inv)
	}
	if len(inv.args) == 0 {
		return errors.New("no command given; usage: srun [options] command [args...]")
	}
	flags, err := parseSrun(inv)
	if err != nil {
		return err
	}
	cl := inv.client()
	var job *api.Job
	if id := inv.env.Getenv("SLURM_JOB_ID"); id != "" {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return fmt.Errorf("$SLURM_JOB_ID %q: want a job id", id)
		}
		if job, err = cl.Job(ctx, api.JobID(n)); err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		if job.State != api.JobRunning {
			return fmt.Errorf("job %s is %s; steps run in a running job", id, job.State)
		}
	} else {
		spec, err := allocSpec(inv, flags.layout, "srun")
		if err != nil {
			return err
		}
		a, err := allocate(ctx, inv, cl, spec)
		if err != nil {
			return err
		}
		job = a.job
		code, err := runStep(ctx, inv, cl, job, flags)
		a.release(code)
		return stepResult(code, err)
	}
	return stepResult(runStep(ctx, inv, cl, job, flags))
}

func stepResult(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// runStep lays out, records and runs a step of a running job and returns
// its exit status.
func runStep(ctx context.Context, inv *invocation, cl *client.Client, job *api.Job, f *srunFlags) (int, error) {
	layout, err := layoutStep(allocationOf(job), f.layout)
	if err != nil {
		return 0, err
	}
	stepName := f.name
	if stepName == "" {
		stepName = filepath.Base(inv.args[0]) // Slurm names a step after its program
	}
	step, err := cl.CreateStep(ctx, job.ID, api.StepRequest{
		Name: stepName, Nodes: layout.Nodes, TasksPerNode: layout.TasksPerNode, Distribution: layout.Distribution,
		CPUsPerTask: f.layout.CPUsPerTask, GPUsPerTask: f.layout.GPUsPerTask, GPUsPerNode: f.layout.GPUsPerNode,
		Command: inv.args,
	})
	if err != nil {
		//lint:ignore ST1005 Slurm's message
		return 0, fmt.Errorf("Unable to create step for job %d: %w", job.ID, err)
	}
	nodes, err := cl.Nodes(ctx, client.QueryOptions{})
	if err != nil {
		return 0, fmt.Errorf("step servers of the nodes: %w", err)
	}
	addrs := map[string]string{}
	for _, n := range nodes.Nodes {
		addrs[n.Name] = n.StepAddr
	}
	sc, err := stepclient.NewFromCA(inv.env.Getenv(client.EnvCA), cl.Auth())
	if err != nil {
		return 0, err
	}
	se := slurmenv.Step{JobID: job.ID.String(), StepID: step.ID, Nodes: layout.Nodes, TasksPerNode: layout.TasksPerNode,
		Distribution: layout.Distribution, CPUsPerTask: f.layout.CPUsPerTask, NTasksPerNode: f.layout.NTasksPerNode,
		GPUsPerTask: f.layout.GPUsPerTask, GPUsPerNode: f.layout.GPUsPerNode, Name: f.name}
	if h, err := inv.env.Hostname(); err == nil {
		se.LaunchHost, _, _ = strings.Cut(h, ".")
	}
	if len(layout.Nodes) > 0 {
		se.LaunchAddr = localAddrTowards(addrs[layout.Nodes[0]])
	}
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range se.Env() {
		env[k] = v
	}
	rs := &remoteStep{env: inv.env, sc: sc, cl: cl, job: job.ID, step: step.ID, label: f.label, pty: f.pty, watchEvery: stepWatchEvery}
	for i, name := range layout.Nodes {
		rs.nodes = append(rs.nodes, stepclient.Node{Name: name, Addr: addrs[name]})
		rs.reqs = append(rs.reqs, api.NodeStepRequest{JobID: job.ID, StepID: step.ID, Tasks: layout.Ranks[i], Env: env,
			Command: inv.args, Dir: f.dir, Stdout: f.stdout, Stderr: f.stderr, Pty: f.pty, KillOnBadExit: f.killBad})
	}
	rs.stdinNode = layout.NodeOf(0)
	return rs.run(ctx)
}

// localAddrTowards is this host's IP address on the route to addr
// (SLURM_LAUNCH_NODE_IPADDR); "" when unknown. Nothing is sent.
func localAddrTowards(addr string) string {
	if addr == "" {
		return ""
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// remoteStep is a step whose tasks run on the nodes' step servers.
type remoteStep struct {
	env       *Env
	sc        *stepclient.Client
	job       api.JobID
	step      int
	nodes     []stepclient.Node
	reqs      []api.NodeStepRequest
	stdinNode int
	label     bool
	pty       bool
	// cl and watchEvery: the controller is asked this often whether a node
	// of the step is DOWN or the step ended (a node cut off mid-step leaves
	// its stream silent, not closed).
	cl         *client.Client
	watchEvery time.Duration
}

// stepWatchEvery is how often srun asks the controller about its step.
const stepWatchEvery = 2 * time.Second

// watch reports on lost the first node of the step the controller has
// declared DOWN (or whose failure ended the step NODE_FAIL; "" when the
// reason names none); it returns when ctx ends or after reporting.
func (r *remoteStep) watch(ctx context.Context, lost chan<- string) {
	if r.cl == nil || r.watchEvery <= 0 {
		return
	}
	inStep := map[string]bool{}
	for _, n := range r.nodes {
		inStep[n.Name] = true
	}
	tick := time.NewTicker(r.watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if nodes, err := r.cl.Nodes(ctx, client.QueryOptions{}); err == nil {
			for _, n := range nodes.Nodes {
				if inStep[n.Name] && n.State == api.NodeDown {
					lost <- n.Name
					return
				}
			}
		}
		steps, err := r.cl.Steps(ctx, r.job)
		if err != nil {
			continue
		}
		for _, st := range steps.Steps {
			if st.ID != r.step || st.State != api.JobNodeFail {
				continue // a step that ended otherwise ends its streams itself
			}
			for name := range inStep {
				if strings.Contains(st.Reason, name) {
					lost <- name
					return
				}
			}
			lost <- ""
			return
		}
	}
}

// event is a frame from a node, or the end of its stream (err set when it
// broke).
type event struct {
	node  int
	frame api.StepFrame
	end   bool
	err   error
}

// interruptWindow is how soon a second Ctrl-C must follow the first to abort.
const interruptWindow = time.Second

// run launches every node's part, prints the tasks' output until every
// node's stream ends, forwards Ctrl-C, and returns the highest task exit
// status; a node whose part failed makes it at least 1.
func (r *remoteStep) run(ctx context.Context) (int, error) {
	// The streams outlive ctx: main cancels it on the first Ctrl-C, which
	// srun forwards instead; a second one within a second aborts.
	streamCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	sigs, stop := r.env.notify()
	defer stop()

	if r.pty {
		if restore, err := rawTerminal(r.env.Stdin); err == nil {
			defer restore()
		}
	}
	events := make(chan event, 64)
	var wg sync.WaitGroup
	for i := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stream(streamCtx, i, events)
		}()
	}
	go func() { wg.Wait(); close(events) }()

	lost := make(chan string, 1)
	go r.watch(streamCtx, lost)

	out := newTaskWriters(r.env, r.label && !r.pty)
	defer out.flush()
	worst, failed, aborted, terminating := 0, false, false, false
	var lastInt time.Time
	for {
		select {
		case node := <-lost:
			if aborted {
				continue
			}
			if node != "" {
				fmt.Fprintf(r.env.Stderr, "srun: error: Node failure on %s\n", node)
			} else {
				fmt.Fprintf(r.env.Stderr, "srun: error: step %d.%d failed on a node\n", r.job, r.step)
			}
			failed, aborted = true, true
			abort()
		case sig := <-sigs:
			if aborted {
				continue
			}
			now := r.env.Now()
			if sig == os.Interrupt && !lastInt.IsZero() && now.Sub(lastInt) < interruptWindow {
				fmt.Fprintln(r.env.Stderr, "srun: forcing job termination")
				aborted = true
				abort()
				continue
			}
			name := "TERM"
			if sig == os.Interrupt {
				lastInt = now
				name = "INT"
				fmt.Fprintln(r.env.Stderr, "srun: interrupt (one more within 1 sec to abort)")
			}
			r.signalAll(streamCtx, name)
		case ev, ok := <-events:
			if !ok {
				if aborted {
					fmt.Fprintf(r.env.Stderr, "srun: Job step aborted: StepId=%d.%d\n", r.job, r.step)
					worst = max(worst, 128+int(syscall.SIGINT))
				}
				if failed {
					worst = max(worst, 1)
				}
				return worst, nil
			}
			node := r.nodes[ev.node].Name
			switch {
			case ev.end:
				if ev.err != nil && !aborted {
					failed = true
					fmt.Fprintf(r.env.Stderr, "srun: error: %s: task(s) %s: %v\n", node, rankList(r.reqs[ev.node].Tasks), ev.err)
				}
			case ev.frame.Exit != nil:
				code, msg := frameStatus(ev.frame)
				if msg != "" {
					fmt.Fprintf(r.env.Stderr, "srun: error: %s: task %d: %s\n", node, ev.frame.Task, msg)
				}
				worst = max(worst, code)
				if code != 0 && r.reqs[ev.node].KillOnBadExit && !aborted && !terminating {
					// --kill-on-bad-exit: the step's tasks on every node go.
					terminating = true
					fmt.Fprintf(r.env.Stderr, "srun: Terminating StepId=%d.%d\n", r.job, r.step)
					r.signalAll(streamCtx, "KILL")
				}
			case len(ev.frame.Data) > 0:
				out.write(ev.frame.Task, ev.frame.Stream, ev.frame.Data)
			}
		}
	}
}

// stream runs node i's part and sends its frames, then its end.
func (r *remoteStep) stream(ctx context.Context, i int, events chan<- event) {
	s, err := r.sc.Launch(ctx, r.nodes[i], r.reqs[i])
	if err != nil {
		events <- event{node: i, end: true, err: err}
		return
	}
	defer s.Close()
	if i == r.stdinNode && r.env.Stdin != nil {
		go func() {
			// Task 0's standard input; a node without the endpoint leaves
			// it empty.
			if err := r.sc.Stdin(ctx, r.nodes[i], r.job, r.step, r.env.Stdin); err != nil && ctx.Err() == nil {
				fmt.Fprintf(r.env.Stderr, "srun: error: standard input of task 0: %v\n", err)
			}
		}()
	}
	for {
		f, err := s.Next()
		if err != nil {
			events <- event{node: i, end: true, err: err}
			return
		}
		if f.Done {
			if f.Error != "" {
				err = fmt.Errorf("%s", f.Error)
			}
			events <- event{node: i, end: true, err: err}
			return
		}
		events <- event{node: i, frame: f}
	}
}

// signalAll forwards a signal to every node of the step.
func (r *remoteStep) signalAll(ctx context.Context, sig string) {
	var wg sync.WaitGroup
	for _, n := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := r.sc.Signal(sctx, n, r.job, r.step, sig); err != nil {
				fmt.Fprintf(r.env.Stderr, "srun: error: %s: forward SIG%s: %v\n", n.Name, sig, err)
			}
		}()
	}
	wg.Wait()
}

// frameStatus is a task exit frame's status and Slurm's message about it
// ("" for success).
func frameStatus(f api.StepFrame) (int, string) {
	if f.Signal > 0 {
		name := syscall.Signal(f.Signal).String()
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		return 128 + f.Signal, name
	}
	if *f.Exit != 0 {
		return *f.Exit, fmt.Sprintf("Exited with exit code %d", *f.Exit)
	}
	return 0, ""
}

// rankList is Slurm's form of a rank set: "0-3,6".
func rankList(ranks []int) string {
	rs := slices.Clone(ranks)
	slices.Sort(rs)
	var parts []string
	for i := 0; i < len(rs); {
		j := i
		for j+1 < len(rs) && rs[j+1] == rs[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(rs[i]))
		} else {
			parts = append(parts, strconv.Itoa(rs[i])+"-"+strconv.Itoa(rs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// taskWriters route the tasks' output to srun's streams, each line prefixed
// with its task id with --label.
type taskWriters struct {
	env    *Env
	label  bool
	mu     sync.Mutex
	labels map[string]*lineLabeler
}

func newTaskWriters(env *Env, label bool) *taskWriters {
	return &taskWriters{env: env, label: label, labels: map[string]*lineLabeler{}}
}

func (w *taskWriters) write(task int, stream string, data []byte) {
	var dst io.Writer = w.env.Stdout
	if stream == "stderr" {
		dst = w.env.Stderr
	}
	if !w.label {
		_, _ = dst.Write(data)
		return
	}
	key := stream + "/" + strconv.Itoa(task)
	l, ok := w.labels[key]
	if !ok {
		l = &lineLabeler{w: dst, prefix: strconv.Itoa(task) + ": ", mu: &w.mu}
		w.labels[key] = l
	}
	_, _ = l.Write(data)
}

func (w *taskWriters) flush() {
	for _, l := range w.labels {
		_ = l.flush()
	}
}

// notify returns the channel of the signals srun handles (SIGINT, SIGTERM,
// SIGHUP) and the function that stops them.
func (e *Env) notify() (<-chan os.Signal, func()) {
	if e.Signals != nil {
		return e.Signals()
	}
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}
