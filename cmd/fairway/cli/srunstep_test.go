package cli

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/api/stepclient/steptest"
)

// stepCluster is a fake controller with a running job 77 on gpu01 and
// gpu02 (4 CPUs, 2 GPUs each) and their fake step servers.
type stepCluster struct {
	f     *fakeCtld
	nodes map[string]*steptest.Node
	te    *testEnv
	sigs  chan os.Signal
}

func newStepCluster(t *testing.T, runs map[string]steptest.RunFunc) *stepCluster {
	t.Helper()
	ca := steptest.NewCA(t)
	c := &stepCluster{f: newFakeCtld(t), nodes: map[string]*steptest.Node{}, sigs: make(chan os.Signal, 4)}
	for _, name := range []string{"gpu01", "gpu02"} {
		n := ca.Node(t, name, apipki.Node(name), runs[name])
		c.nodes[name] = n
		c.f.nodes = append(c.f.nodes, &api.Node{Name: name, StepAddr: n.Addr()})
	}
	c.f.jobs = append(c.f.jobs, &api.Job{ID: 77, State: api.JobRunning, Spec: api.JobSpec{Name: "train", NTasks: 4, Nodes: 2},
		Alloc: []api.NodeAlloc{{Node: "gpu02", CPUs: 4, GPUs: []int{0, 1}}, {Node: "gpu01", CPUs: 4, GPUs: []int{0, 1}}}})
	c.te = &testEnv{dir: t.TempDir(), vars: map[string]string{
		"SLURM_JOB_ID": "77", "SLURM_NTASKS": "4", "SLURM_PROCID": "0", "FAIRWAY_CA": string(ca.PEM),
		"FAIRWAY_RETRY_SECS": "0", "HOME": "/home/alice",
	}}
	return c
}

func (c *stepCluster) run(t *testing.T, args ...string) int {
	t.Helper()
	c.te.vars["FAIRWAY_ADDR"] = c.f.srv.URL
	c.te.stdout.Reset()
	c.te.stderr.Reset()
	env := c.te.env()
	env.Signals = func() (<-chan os.Signal, func()) { return c.sigs, func() {} }
	return Run(context.Background(), env, append([]string{"/usr/bin/" + args[0]}, args[1:]...))
}

func TestSrunAcrossTheAllocation(t *testing.T) {
	c := newStepCluster(t, nil)
	if code := c.run(t, "srun", "-l", "hostname"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, c.te.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(c.te.stdout.String()), "\n")
	slices.Sort(lines)
	want := []string{"0: hello from task 0 on gpu01", "1: hello from task 1 on gpu01", "2: hello from task 2 on gpu02", "3: hello from task 3 on gpu02"}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]api.StepRequest{{Name: "hostname", Nodes: []string{"gpu01", "gpu02"}, TasksPerNode: []int{2, 2}, Distribution: "block", Command: []string{"hostname"}}}, c.f.steps); d != "" {
		t.Errorf("step request (-want +got):\n%s", d)
	}
	l := c.nodes["gpu02"].Launches()
	if len(l) != 1 {
		t.Fatalf("gpu02 got %d launches", len(l))
	}
	if !cmp.Equal(l[0].Tasks, []int{2, 3}) || l[0].JobID != 77 || l[0].StepID != 0 || l[0].Dir != c.te.dir {
		t.Errorf("gpu02 launch %+v", l[0])
	}
	for k, v := range map[string]string{"SLURM_STEP_NODELIST": "gpu[01-02]", "SLURM_STEP_TASKS_PER_NODE": "2(x2)", "SLURM_STEP_NUM_TASKS": "4",
		"SLURM_STEP_ID": "0", "SLURM_NTASKS": "4", "SLURM_DISTRIBUTION": "block", "SLURM_SRUN_COMM_HOST": "login1", "HOME": "/home/alice"} {
		if got := l[0].Env[k]; got != v {
			t.Errorf("env %s = %q, want %q", k, got, v)
		}
	}
	if _, ok := l[0].Env["SLURM_PROCID"]; ok {
		t.Error("the batch script's SLURM_PROCID was passed on; the node sets it per task")
	}
	if got := l[0].Env["SLURM_LAUNCH_NODE_IPADDR"]; got != "127.0.0.1" {
		t.Errorf("SLURM_LAUNCH_NODE_IPADDR = %q", got)
	}
}

func TestSrunCyclicOnOneNodeAndOptionsSent(t *testing.T) {
	c := newStepCluster(t, nil)
	if code := c.run(t, "srun", "-w", "gpu02", "-n3", "-m", "cyclic", "-K", "-o", "out-%t", "true"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, c.te.stderr.String())
	}
	if n := len(c.nodes["gpu01"].Launches()); n != 0 {
		t.Errorf("gpu01 got %d launches", n)
	}
	l := c.nodes["gpu02"].Launches()[0]
	if !cmp.Equal(l.Tasks, []int{0, 1, 2}) || !l.KillOnBadExit || l.Stdout != "out-%t" {
		t.Errorf("launch %+v", l)
	}
}

func TestSrunBadLayoutChangesNothing(t *testing.T) {
	c := newStepCluster(t, nil)
	if code := c.run(t, "srun", "-N", "3", "true"); code != 1 {
		t.Errorf("exit %d", code)
	}
	if got := c.te.stderr.String(); !strings.Contains(got, "--nodes") || !strings.Contains(got, "Only allocated 2 nodes asked for 3") {
		t.Errorf("stderr %q", got)
	}
	if len(c.f.steps) != 0 {
		t.Errorf("a step was created: %+v", c.f.steps)
	}
}

func TestSrunExitCodesAndNodeFailure(t *testing.T) {
	c := newStepCluster(t, map[string]steptest.RunFunc{
		"gpu01": func(_ context.Context, _ *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
			send(steptest.Exit(0, 0, 0))
			send(steptest.Exit(1, 3, 0))
			send(api.StepFrame{Done: true})
		},
		"gpu02": func(_ context.Context, _ *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
			send(steptest.Exit(2, 0, 9))
			send(api.StepFrame{Task: 3, Stream: "stderr", Data: []byte("oops\n")})
		},
	})
	code := c.run(t, "srun", "true")
	if code != 137 {
		t.Errorf("exit %d, want 137 (task 2 killed by signal 9)", code)
	}
	got := c.te.stderr.String()
	for _, want := range []string{"oops\n", "srun: error: gpu01: task 1: Exited with exit code 3\n", "srun: error: gpu02: task 2: Killed\n",
		"srun: error: gpu02: task(s) 2-3: node gpu02: stream ended before the step's end"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr %q lacks %q", got, want)
		}
	}
}

func TestSrunNodeFailureAloneFails(t *testing.T) {
	c := newStepCluster(t, map[string]steptest.RunFunc{
		"gpu02": func(_ context.Context, _ *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
			send(api.StepFrame{Done: true, Error: "cannot create the step's cgroup"})
		},
	})
	if code := c.run(t, "srun", "true"); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := c.te.stderr.String(); !strings.Contains(got, "srun: error: gpu02: task(s) 2-3: cannot create the step's cgroup") {
		t.Errorf("stderr %q", got)
	}
}

// waitSignal plays a node whose tasks run until srun forwards a signal,
// then exit with it.
func waitSignal(ctx context.Context, n *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
	send(api.StepFrame{Task: req.Tasks[0], Stream: "stdout", Data: []byte("started\n")})
	select {
	case <-n.Signals:
		for _, t := range req.Tasks {
			send(steptest.Exit(t, 0, 2))
		}
		send(api.StepFrame{Done: true})
	case <-ctx.Done():
	}
}

func TestSrunForwardsCtrlC(t *testing.T) {
	c := newStepCluster(t, map[string]steptest.RunFunc{"gpu01": waitSignal, "gpu02": waitSignal})
	c.sigs <- os.Interrupt
	code := c.run(t, "srun", "sleep", "100")
	if code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	if got := c.te.stderr.String(); !strings.Contains(got, "srun: interrupt (one more within 1 sec to abort)\n") {
		t.Errorf("stderr %q", got)
	}
}

// waitDisconnect plays a node whose tasks run until srun goes away.
func waitDisconnect(ctx context.Context, n *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
	send(api.StepFrame{Task: req.Tasks[0], Stream: "stdout", Data: []byte("started\n")})
	<-ctx.Done()
}

func TestSrunSecondCtrlCAborts(t *testing.T) {
	started := make(chan struct{}, 2)
	run := func(ctx context.Context, n *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
		started <- struct{}{}
		waitDisconnect(ctx, n, req, send)
	}
	c := newStepCluster(t, map[string]steptest.RunFunc{"gpu01": run, "gpu02": run})
	go func() {
		// Once both nodes run their part, two Ctrl-C (the test clock
		// stands still: within the second).
		<-started
		<-started
		c.sigs <- os.Interrupt
		c.sigs <- os.Interrupt
	}()
	code := c.run(t, "srun", "sleep", "100")
	if code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	got := c.te.stderr.String()
	for _, want := range []string{"srun: interrupt (one more within 1 sec to abort)\n", "srun: forcing job termination\n", "srun: Job step aborted"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr %q lacks %q", got, want)
		}
	}
	for name, n := range c.nodes {
		select {
		case <-n.Disconnected: // each node sees srun go
		case <-time.After(30 * time.Second):
			t.Fatalf("node %s did not see srun go within 30s; srun's stderr: %q", name, got)
		}
	}
}

func TestSrunOutsideAnAllocation(t *testing.T) {
	c := newStepCluster(t, nil)
	delete(c.te.vars, "SLURM_JOB_ID")
	c.f.onSubmit = func(j *api.Job) {
		j.State = api.JobRunning
		j.Alloc = []api.NodeAlloc{{Node: "gpu01", CPUs: 4}}
	}
	if code := c.run(t, "srun", "-n2", "hostname"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, c.te.stderr.String())
	}
	if got, want := c.te.stderr.String(), "srun: job 101 has been allocated resources\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	specs := c.f.submittedSpecs()
	if len(specs) != 1 || specs[0].NTasks != 2 || specs[0].Script != allocScript || specs[0].Name != "hostname" {
		t.Errorf("submitted %+v", specs)
	}
	if got := c.f.doneActions(); !cmp.Equal(got, []string{"cancel 101"}) {
		t.Errorf("actions %q, want the allocation cancelled", got)
	}
	if l := c.nodes["gpu01"].Launches(); len(l) != 1 || l[0].JobID != 101 {
		t.Errorf("launches %+v", l)
	}
}

func TestSalloc(t *testing.T) {
	c := newStepCluster(t, nil)
	delete(c.te.vars, "SLURM_JOB_ID")
	c.te.vars["PATH"] = os.Getenv("PATH")
	c.f.onSubmit = func(j *api.Job) {
		j.State = api.JobRunning
		j.Alloc = []api.NodeAlloc{{Node: "gpu01", CPUs: 4}, {Node: "gpu02", CPUs: 4}}
	}
	code := c.run(t, "salloc", "-N2", "sh", "-c", `echo "$SLURM_JOB_ID $SLURM_JOB_NODELIST $SLURM_NNODES $SLURM_TASKS_PER_NODE $SLURM_JOB_CPUS_PER_NODE"; exit 3`)
	if code != 3 {
		t.Errorf("exit %d, want 3; stderr %q", code, c.te.stderr.String())
	}
	if got, want := c.te.stdout.String(), "101 gpu[01-02] 2 1(x2) 4(x2)\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := c.te.stderr.String(), "salloc: Granted job allocation 101\nsalloc: Relinquishing job allocation 101\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got := c.f.doneActions(); !cmp.Equal(got, []string{"cancel 101"}) {
		t.Errorf("actions %q", got)
	}
}

// TestSrunNodeDeclaredDown: a node whose stream goes silent (cut off) ends
// the step once the controller declares it DOWN: srun names it and fails.
func TestSrunNodeDeclaredDown(t *testing.T) {
	started := make(chan struct{})
	c := newStepCluster(t, map[string]steptest.RunFunc{
		"gpu02": func(ctx context.Context, n *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
			close(started)
			<-ctx.Done() // silent until srun gives up on it
		},
	})
	go func() {
		<-started
		c.f.mu.Lock()
		c.f.nodes[1].State = api.NodeDown
		c.f.mu.Unlock()
	}()
	code := c.run(t, "srun", "-l", "hostname")
	if code == 0 || !strings.Contains(c.te.stderr.String(), "srun: error: Node failure on gpu02") {
		t.Errorf("exit %d, stderr %q; want a failure naming gpu02", code, c.te.stderr.String())
	}
}

// TestSrunSendsStdinToTask0: srun's standard input reaches the node of task
// 0, then its end; the task (cat) ends once it has it.
func TestSrunSendsStdinToTask0(t *testing.T) {
	got := make(chan []byte, 1)
	cat := func(ctx context.Context, n *steptest.Node, req api.NodeStepRequest, send steptest.Send) {
		if slices.Contains(req.Tasks, 0) {
			select {
			case data := <-got:
				send(api.StepFrame{Task: 0, Stream: "stdout", Data: data})
			case <-ctx.Done():
				return
			}
		}
		for _, task := range req.Tasks {
			send(steptest.Exit(task, 0, 0))
		}
		send(api.StepFrame{Done: true})
	}
	c := newStepCluster(t, map[string]steptest.RunFunc{"gpu01": cat, "gpu02": cat})
	for _, n := range c.nodes {
		n.OnStdinEOF = func(data []byte) { got <- data }
	}
	c.te.stdin = "hello\nworld\n"
	if code := c.run(t, "srun", "-n1", "cat"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, c.te.stderr.String())
	}
	if out := c.te.stdout.String(); out != "hello\nworld\n" {
		t.Errorf("srun printed %q, want task 0's echo of its input", out)
	}
}
