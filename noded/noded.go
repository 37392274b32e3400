// Package noded is the node daemon: it registers the node with the
// controller, heartbeats, watches the jobs allocated to the node with blocking
// queries, launches their batch scripts (as containerd containers when the job
// names an image, else as host processes in a cgroup), stops them when the
// controller asks (signal, grace time, SIGKILL), and reports every state change
// of every run exactly once.
//
// Jobs do not depend on the daemon. Before launching a run the daemon writes a
// small record in StateDir; it updates the record when the run starts, when it
// ends and when the controller has committed each report. A restarted daemon
// reads the records, re-attaches to the runs still alive (containers by label,
// host processes by pid), reports the end of those that ended while it was
// down, and reports runs it recorded but can no longer find (no process, no
// container, no exit status) as lost. Leftover resources (task, container,
// snapshot, cgroup) are removed after the end of a run has been reported.
//
// # GPUs
//
// The node's GPUs come from NVML (the gpu and gpu/nvmllib packages), or from
// the configuration (declared fake GPUs). A job sees exactly the GPUs of its
// allocation: their device nodes, the control and UVM devices and nothing
// else of NVIDIA's (container jobs through their OCI spec, host jobs through
// their device cgroup), the GPU variables of gpu.Env, and in a container the
// driver's user space from the node's CDI spec or driver directories.
//
// A GPU that fails its health check (see gpu.Monitor) is withdrawn: the
// daemon registers the node again with the GPU unhealthy, so the controller
// places nothing more on it, and then stops the runs that use it and reports
// their ends as lost, with a message naming the GPU and the fault; the
// controller requeues each such job or ends it NODE_FAIL, per its requeue
// setting, as for any hardware failure. A run the controller places on an
// unhealthy GPU before it learnt of the failure is reported lost without
// being started. Per-GPU metrics are served on /metrics.
package noded

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/executor/container"
	"github.com/fairway-hpc/fairway/noded/executor/host"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// watchWait is how long one blocking query for the node's jobs may wait.
const watchWait = 60 * time.Second

// Backoff bounds for calls to the controller and containerd.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// tombstoneTTL is how long the daemon remembers runs it has forgotten, so a
// stale job list from a lagging controller cannot start them again.
const tombstoneTTL = time.Hour

// Run runs the node daemon until ctx is done. It returns nil after ctx is
// cancelled; jobs keep running, and a later Run with the same StateDir takes
// them over. It returns an error only when it cannot start.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	st, err := newStore(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	hostExec, err := host.New(host.Config{CgroupParent: cfg.cgroupParent(), Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	ctrExec, err := container.New(container.Config{
		Socket:       cfg.ContainerdSocket,
		Namespace:    cfg.ContainerdNamespace,
		CgroupParent: cfg.cgroupParent(),
		ToolsBinary:  cfg.ToolsBinary,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	defer ctrExec.Close()
	log := cfg.Logger.With("node", cfg.Name)
	gpus, err := openGPUs(cfg, log)
	if err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	if lib := gpus.Lib(); lib != nil {
		defer func() {
			if err := lib.Close(); err != nil {
				log.Warn("cannot close NVML", "err", err)
			}
		}()
	}

	d := &daemon{
		cfg:        cfg,
		log:        log,
		clock:      cfg.Clock,
		gpus:       gpus,
		userSpace:  gpu.UserSpace{CDIDirs: cfg.CDIDirs, DriverDirs: cfg.DriverDirs},
		api:        client.New(cfg.ControllerAddrs),
		store:      st,
		metrics:    newMetrics(cfg.Name),
		execs:      map[string]executor.Executor{kindHost: hostExec, kindContainer: ctrExec},
		ctx:        ctx,
		runs:       map[runKey]*run{},
		tombstones: map[runKey]time.Time{},
		wake:       make(chan struct{}, 1),
	}
	d.metrics.reg.MustRegister(gpu.NewCollector(gpus, prometheus.Labels{"node": cfg.Name}, d.allocatedGPUs))

	if cfg.ListenAddr != "" {
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("noded: listen on %s: %w", cfg.ListenAddr, err)
		}
		d.addr = advertised(ln.Addr().String(), cfg.Name)
		srv := &http.Server{Handler: d.metrics.handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	if cfg.ToolsBinary != "" {
		if static, err := staticBinary(cfg.ToolsBinary); err != nil {
			log.Warn("cannot inspect the tools binary mounted into container jobs", "binary", cfg.ToolsBinary, "err", err)
		} else if !static {
			log.Warn("the tools binary mounted into container jobs (scontrol, srun, fairway) is dynamically linked: "+
				"it runs only in images with a compatible C library; give a static build (CGO_ENABLED=0) as the tools binary",
				"binary", cfg.ToolsBinary)
		}
	}

	if err := d.recover(); err != nil {
		return fmt.Errorf("noded: %w", err)
	}
	d.log.Info("node daemon started", "controllers", strings.Join(d.api.Addrs(), ","),
		"state_dir", cfg.StateDir, "runs", len(d.runs))

	d.spawn(d.reportLoop)
	d.spawn(d.sweepOrphans)
	d.spawn(d.checkpointSweepLoop)
	d.spawn(func() { gpus.Run(ctx) })
	d.spawn(func() {
		if !d.register() {
			return
		}
		d.spawn(d.heartbeatLoop)
		d.spawn(d.gpuHealthLoop)
		d.watchLoop()
	})
	<-ctx.Done()
	d.wg.Wait()
	d.log.Info("node daemon stopped; jobs keep running")
	return nil
}

// staticBinary reports whether an ELF executable needs no dynamic loader.
func staticBinary(name string) (bool, error) {
	f, err := elf.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// advertised turns a listener address into one the controller can use: an
// unspecified host becomes the node name.
func advertised(addr, node string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort(node, p)
	}
	return addr
}

type daemon struct {
	cfg       Config
	log       *slog.Logger
	clock     Clock
	api       *client.Client
	store     *store
	metrics   *metrics
	execs     map[string]executor.Executor
	gpus      *gpu.Monitor
	userSpace gpu.UserSpace
	addr      string // the metrics address sent when registering
	ctx       context.Context
	wg        sync.WaitGroup

	regMu sync.Mutex // one registration at a time, each with the GPUs' health of its moment

	mu         sync.Mutex
	runs       map[runKey]*run
	tombstones map[runKey]time.Time // forgotten runs, never launched again
	wake       chan struct{}        // there may be events to report
	listedGPUs map[int]bool         // GPUs of this node allocated in the controller's last job list
}

// run is the daemon's view of one run.
type run struct {
	rec  *record
	ref  executor.Ref
	proc executor.Process // nil until launched or attached
	done chan struct{}    // closed once rec.End is set

	launching bool
	// seenIndex is the index of the first job list that named the run: a
	// list older than that says nothing about it.
	seenIndex uint64
	// kill is the pending stop request; stopping is set once its goroutine runs.
	kill     *api.KillRequest
	killNow  int64 // the controller's clock when the kill was seen
	stopping bool
	// endGrace is closed when the controller says the job ended its grace
	// time (Kill.EndGrace): the stop sequence goes on at once.
	endGrace   chan struct{}
	graceEnded bool
	// warning is the job's --signal warning, due at warnAt (this node's
	// clock); warnScheduled once its goroutine runs.
	warning       *api.Signal
	warnAt        time.Time
	warnScheduled bool
	finishing     bool // the cleanup goroutine runs or ran
	cleaned       bool // the run's resources are gone
	forgetAfter   bool // remove the run once cleaned
	removed       bool // forgotten: nothing may be saved for it any more
}

func (d *daemon) spawn(f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}

// sleep waits for dur or until the daemon stops; it reports whether to go on.
func (d *daemon) sleep(dur time.Duration) bool {
	select {
	case <-d.ctx.Done():
		return false
	case <-d.clock.After(dur):
		return true
	}
}

func nextBackoff(b time.Duration) time.Duration {
	if b <= 0 {
		return minBackoff
	}
	return min(2*b, maxBackoff)
}

func (d *daemon) newRun(rec *record) *run {
	r := &run{
		rec:      rec,
		ref:      executor.Ref{JobID: rec.JobID, Run: rec.Run, Node: d.cfg.Name, RunDir: d.store.runDir(rec.key())},
		done:     make(chan struct{}),
		endGrace: make(chan struct{}),
	}
	if rec.End != nil {
		close(r.done)
	}
	return r
}

func (d *daemon) runLog(r *run) *slog.Logger {
	return d.log.With("job", r.rec.JobID, "run", r.rec.Run)
}

// save persists a run's record; the caller holds d.mu. A failure is logged:
// the in-memory state stays authoritative until the next save.
func (d *daemon) save(r *run) {
	if r.removed {
		return // forgotten: its directory is gone for good
	}
	if err := d.store.save(r.rec); err != nil {
		d.runLog(r).Error("cannot save run record", "err", err)
	}
}

func (d *daemon) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// recover loads the records of an earlier daemon and takes their runs over.
func (d *daemon) recover() error {
	recs, bad, err := d.store.load()
	if err != nil {
		return err
	}
	for _, name := range bad {
		if job, run, ok := parseRunDir(name); ok {
			d.log.Warn("removing run directory without a record", "dir", name)
			_ = d.store.remove(runKey{job, run})
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rec := range recs {
		if _, ok := d.execs[rec.Executor]; !ok {
			d.log.Error("run record names an unknown executor; ignoring it", "job", rec.JobID, "run", rec.Run, "executor", rec.Executor)
			continue
		}
		r := d.newRun(rec)
		d.runs[rec.key()] = r
		switch {
		case rec.End == nil:
			d.runLog(r).Info("re-attaching to run")
			d.spawn(func() { d.attach(r) })
		case rec.Abandoned:
			d.forget(r)
		case rec.EndReported:
			// Cleaned up now; forgotten when the controller stops listing it.
			d.startFinish(r)
		}
	}
	d.notify()
	d.updateGauge()
	return nil
}

// attach finds a recorded run that has no known end, retrying while the
// executor cannot tell (containerd down).
func (d *daemon) attach(r *run) {
	ex := d.execs[r.rec.Executor]
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		proc, err := ex.Attach(d.ctx, r.ref)
		if d.ctx.Err() != nil {
			return
		}
		if errors.Is(err, executor.ErrNotFound) {
			d.mu.Lock()
			d.setEnd(r, api.JobEvent{Kind: api.EventLost, Message: "the node daemon restarted and found no process, container or exit status of the job"})
			d.mu.Unlock()
			return
		}
		if err != nil {
			d.runLog(r).Warn("cannot re-attach to run yet", "err", err)
			if !d.sleep(backoff) {
				return
			}
			continue
		}
		d.mu.Lock()
		r.proc = proc
		if !r.rec.Launched {
			r.rec.Launched = true
			d.save(r)
			d.notify()
		}
		d.runLog(r).Info("re-attached to run")
		d.spawn(func() { d.supervise(r) })
		if r.rec.Abandoned && r.kill == nil {
			r.kill = &api.KillRequest{Reason: "no longer allocated to this node"}
		}
		if r.kill != nil {
			d.startStop(r)
		}
		d.scheduleWarning(r)
		d.updateGauge()
		d.mu.Unlock()
		return
	}
}

// register registers the node with its resources and the GPUs' current
// health, retrying until it succeeds; it reports false when the daemon stops
// first.
func (d *daemon) register() bool {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		gpus := d.gpus.GPUs()
		req := api.RegisterNodeRequest{
			Name: d.cfg.Name,
			Addr: d.addr,
			Resources: api.NodeResources{
				CPUs:     d.cfg.CPUs,
				MemoryMB: d.cfg.MemoryMB,
				GPUs:     gpus,
			},
			Partitions: d.cfg.Partitions,
			BootTime:   bootTime(),
		}
		_, err := d.api.RegisterNode(d.ctx, req)
		if err == nil {
			unhealthy := 0
			for _, g := range gpus {
				if !g.Healthy {
					unhealthy++
				}
			}
			d.log.Info("registered with the controller", "cpus", d.cfg.CPUs, "memory_mb", d.cfg.MemoryMB,
				"gpus", len(gpus), "unhealthy_gpus", unhealthy)
			return true
		}
		if d.ctx.Err() != nil {
			return false
		}
		d.log.Warn("cannot register with the controller; retrying", "err", err, "in", backoff)
		if !d.sleep(backoff) {
			return false
		}
	}
}

// heartbeatLoop tells the controller every HeartbeatInterval that the node
// is alive and which runs it has, re-registering when the controller has
// forgotten the node.
func (d *daemon) heartbeatLoop() {
	failing := false
	for {
		err := d.api.Heartbeat(d.ctx, d.cfg.Name, api.HeartbeatRequest{Running: d.runningRefs()})
		switch {
		case d.ctx.Err() != nil:
			return
		case client.IsNotFound(err):
			d.log.Warn("the controller does not know this node; registering again")
			if !d.register() {
				return
			}
		case err != nil && !failing:
			d.log.Warn("heartbeat failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			d.log.Info("heartbeats reach the controller again")
			failing = false
		}
		if !d.sleep(d.cfg.HeartbeatInterval) {
			return
		}
	}
}

// runningRefs lists the runs alive (or being launched) on the node.
func (d *daemon) runningRefs() []api.JobRunRef {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []api.JobRunRef
	for k, r := range d.runs {
		if r.rec.End == nil && !r.rec.Abandoned && (r.proc != nil || r.launching) {
			out = append(out, api.JobRunRef{JobID: k.job, Run: k.run})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].JobID != out[j].JobID {
			return out[i].JobID < out[j].JobID
		}
		return out[i].Run < out[j].Run
	})
	return out
}

// updateGauge sets the running-jobs gauge; the caller holds d.mu.
func (d *daemon) updateGauge() {
	n := 0
	for _, r := range d.runs {
		if r.rec.End == nil && r.proc != nil {
			n++
		}
	}
	d.metrics.running.Set(float64(n))
}

// watchLoop follows the node's job list with blocking queries and
// reconciles the node with each answer.
func (d *daemon) watchLoop() {
	var index uint64
	for backoff := time.Duration(0); ; {
		resp, err := d.api.NodeJobs(d.ctx, d.cfg.Name, client.QueryOptions{WaitIndex: index, WaitTime: watchWait})
		if d.ctx.Err() != nil {
			return
		}
		if err != nil {
			if client.IsNotFound(err) {
				d.log.Warn("the controller does not know this node; registering again")
				if !d.register() {
					return
				}
				continue
			}
			backoff = nextBackoff(backoff)
			d.log.Warn("cannot watch the node's jobs; retrying", "err", err, "in", backoff)
			if !d.sleep(backoff) {
				return
			}
			continue
		}
		backoff = 0
		if resp.Index < index {
			// Another controller, or a restored one: start over.
			index = 0
		} else {
			index = resp.Index
		}
		d.reconcile(resp)
		if resp.Index == 0 && !d.sleep(time.Second) {
			return // the controller does not block: poll gently
		}
	}
}

// reconcile launches, stops and forgets runs to match the controller's list.
func (d *daemon) reconcile(resp *api.JobsResponse) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock.Now()
	for k, t := range d.tombstones {
		if now.Sub(t) > tombstoneTTL {
			delete(d.tombstones, k)
		}
	}
	want := map[runKey]*api.Job{}
	d.listedGPUs = map[int]bool{}
	for _, job := range resp.Jobs {
		if job != nil && job.State == api.JobRunning {
			for _, a := range job.Alloc {
				if a.Node == d.cfg.Name {
					for _, i := range a.GPUs {
						d.listedGPUs[i] = true
					}
				}
			}
		}
		if job == nil || job.State != api.JobRunning || len(job.Alloc) == 0 || job.Alloc[0].Node != d.cfg.Name {
			continue // only the first node of an allocation runs the batch script
		}
		want[runKey{job.ID, job.RestartCount}] = job
	}
	keys := make([]runKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].job < keys[j].job || keys[i].job == keys[j].job && keys[i].run < keys[j].run
	})
	for _, k := range keys {
		job := want[k]
		r := d.runs[k]
		if r == nil {
			if _, gone := d.tombstones[k]; gone {
				continue
			}
			d.start(job, resp)
			continue
		}
		if r.seenIndex == 0 {
			r.seenIndex = resp.Index
		}
		if r.warning == nil && r.rec.End == nil {
			d.planWarning(r, job, resp.Now)
			d.scheduleWarning(r)
		}
		if sr := job.SignalReq; sr != nil && sr.Seq > r.rec.SignalSeq && r.rec.End == nil && r.proc != nil {
			d.deliverSignal(r, sr)
		}
		if job.Kill != nil && r.kill == nil && r.rec.End == nil {
			r.kill, r.killNow = job.Kill, resp.Now
			d.runLog(r).Info("stopping run", "reason", job.Kill.Reason, "signal", job.Kill.Signal, "grace_secs", job.Kill.GraceSecs)
			d.startStop(r)
		}
		if job.Kill != nil && job.Kill.EndGrace && !r.graceEnded {
			r.graceEnded = true
			close(r.endGrace)
			if r.rec.End == nil {
				d.runLog(r).Info("the job ended its grace time (checkpoint saved)")
			}
		}
	}
	for k, r := range d.runs {
		if _, ok := want[k]; ok || (r.seenIndex != 0 && resp.Index < r.seenIndex) {
			continue
		}
		if r.rec.End == nil {
			if !r.rec.Abandoned {
				d.runLog(r).Info("run no longer allocated to this node; killing and forgetting it")
				r.rec.Abandoned = true
				d.save(r)
				if r.kill == nil {
					r.kill, r.killNow = &api.KillRequest{Reason: "no longer allocated to this node"}, 0
				}
				d.startStop(r)
			}
			continue
		}
		d.forget(r)
	}
	d.updateGauge()
}

// start records and launches a run of job; the caller holds d.mu.
func (d *daemon) start(job *api.Job, resp *api.JobsResponse) {
	kind := kindHost
	if job.Spec.ContainerImage != "" {
		kind = kindContainer
	}
	rec := &record{JobID: job.ID, Run: job.RestartCount, Executor: kind, GPUs: job.Alloc[0].GPUs}
	if job.SignalReq != nil {
		rec.SignalSeq = job.SignalReq.Seq // requests made before this run are not for it
	}
	r := d.newRun(rec)
	r.seenIndex = resp.Index
	if job.Kill != nil {
		// Stopped before it started: nothing to launch, only to report.
		if err := d.store.save(rec); err != nil {
			d.runLog(r).Error("cannot record run; will retry", "err", err)
			return
		}
		d.runs[rec.key()] = r
		d.setEnd(r, api.JobEvent{Kind: api.EventExited, Message: "stopped before it was launched"})
		return
	}
	ckptDir := d.checkpointDir(job)
	spec, err := d.spec(job, r.ref, ckptDir)
	if err := d.store.save(rec); err != nil {
		d.runLog(r).Error("cannot record run; will retry", "err", err)
		return
	}
	d.runs[rec.key()] = r
	if bad := d.gpus.Unhealthy(rec.GPUs); len(bad) > 0 {
		// The controller placed it before it learnt of the failure.
		d.setEnd(r, api.JobEvent{Kind: api.EventLost, Message: "not started: " + d.gpuProblem(bad)})
		return
	}
	if err != nil {
		d.setEnd(r, api.JobEvent{Kind: api.EventLaunchFail, Message: err.Error()})
		return
	}
	r.launching = true
	d.planWarning(r, job, resp.Now)
	d.runLog(r).Info("launching run", "executor", kind, "image", job.Spec.ContainerImage, "checkpoint_dir", ckptDir)
	ex := d.execs[kind]
	d.spawn(func() {
		if err := d.prepareCheckpointDir(job.ID, ckptDir, job.Spec.UID, job.Spec.GID); err != nil {
			d.launched(r, kind, nil, err)
			return
		}
		proc, err := ex.Launch(d.ctx, spec)
		d.launched(r, kind, proc, err)
	})
}

// launched records the outcome of a launch.
func (d *daemon) launched(r *run, kind string, proc executor.Process, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r.launching = false
	if err != nil {
		if d.ctx.Err() != nil {
			// Shutting down: the next daemon finds the record without a
			// process and reports the run lost.
			return
		}
		d.runLog(r).Warn("launch failed", "err", err)
		d.setEnd(r, api.JobEvent{Kind: api.EventLaunchFail, Message: err.Error()})
		return
	}
	r.proc = proc
	r.rec.Launched = true
	d.save(r)
	d.metrics.launched.WithLabelValues(kind).Inc()
	d.runLog(r).Info("run started")
	d.notify()
	d.spawn(func() { d.supervise(r) })
	if r.kill != nil {
		d.startStop(r)
	}
	d.scheduleWarning(r)
	d.updateGauge()
}

// spec builds the executor's launch spec for a job's run on this node, with
// its checkpoint directory (bind-mounted into a container at the same path).
func (d *daemon) spec(job *api.Job, ref executor.Ref, checkpointDir string) (executor.Spec, error) {
	alloc := job.Alloc[0]
	usr, groups := lookupUser(job.Spec.UID)
	workDir := job.Spec.WorkDir
	if workDir == "" {
		workDir = "/"
		if usr != nil && usr.HomeDir != "" {
			workDir = usr.HomeDir
		}
	}
	stdout := job.StdoutPath
	if stdout == "" {
		stdout = job.Spec.Stdout
	}
	stderr := job.StderrPath
	if stderr == "" {
		stderr = job.Spec.Stderr
	}
	j := *job
	j.Spec.WorkDir = workDir
	stdout = outputPath(stdout, &j, d.cfg.Name)
	if stderr == "" {
		stderr = stdout
	} else {
		stderr = outputPath(stderr, &j, d.cfg.Name)
	}
	gpuDevs, err := d.gpuDevices(alloc.GPUs)
	if err != nil {
		return executor.Spec{}, err
	}
	devices, err := d.jobDevices(gpuDevs)
	if err != nil {
		return executor.Spec{}, err
	}
	var edits []func(*specs.Spec) error
	if job.Spec.ContainerImage != "" && len(gpuDevs) > 0 {
		edit, source, err := d.userSpace.Edit(gpuDevs)
		if err != nil {
			return executor.Spec{}, err
		}
		d.log.Debug("GPU driver user space for a container job", "job", job.ID, "source", source)
		if edit != nil {
			edits = append(edits, edit)
		}
	}
	mem := alloc.MemoryMB
	if mem <= 0 {
		mem = job.Spec.MemoryMB
	}
	cpus := alloc.CPUs
	if cpus <= 0 {
		cpus = job.Spec.TotalCPUsPerNode()
	}
	return executor.Spec{
		Ref:             ref,
		Script:          job.Spec.Script,
		Args:            job.Spec.Args,
		WorkDir:         workDir,
		StdoutPath:      stdout,
		StderrPath:      stderr,
		UID:             job.Spec.UID,
		GID:             job.Spec.GID,
		Groups:          groups,
		Env:             jobEnv(&j, alloc, d.cfg.Name, strings.Join(d.api.Addrs(), ","), checkpointDir, usr, gpuDevs),
		CPUs:            float64(cpus),
		MemoryBytes:     mem << 20,
		Devices:         devices,
		RestrictDevices: len(d.gpus.GPUs()) > 0,
		ContainerEdits:  edits,
		Image:           job.Spec.ContainerImage,
		Mounts:          append(slices.Clone(job.Spec.ContainerMounts), api.Mount{Source: checkpointDir, Target: checkpointDir}),
	}, nil
}

// supervise waits for a run to end and records how it ended.
func (d *daemon) supervise(r *run) {
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		st, err := r.proc.Wait(d.ctx)
		if d.ctx.Err() != nil {
			return
		}
		if errors.Is(err, executor.ErrLost) {
			d.mu.Lock()
			d.setEnd(r, api.JobEvent{Kind: api.EventLost, Message: "the job's process is gone and left no exit status"})
			d.mu.Unlock()
			return
		}
		if err != nil {
			d.runLog(r).Warn("cannot wait for run; retrying", "err", err)
			if !d.sleep(backoff) {
				return
			}
			continue
		}
		d.mu.Lock()
		d.setEnd(r, exitEvent(st, r.rec.SignalsSent))
		d.mu.Unlock()
		return
	}
}

// exitEvent turns an exit status into an event. A status of 128+N is a
// death by signal N when the daemon sent N (or the OOM killer killed it);
// otherwise it is the script's own exit code.
func exitEvent(st executor.ExitStatus, sent []int) api.JobEvent {
	ev := api.JobEvent{Kind: api.EventExited, ExitCode: st.Code, OOM: st.OOM, Message: st.Message}
	if sig := st.Code - 128; sig > 0 && sig < 65 {
		if slices.Contains(sent, sig) || (st.OOM && sig == int(syscall.SIGKILL)) {
			ev.ExitCode, ev.Signal = 0, sig
		}
	}
	return ev
}

// setEnd records the end of a run (once); the caller holds d.mu.
func (d *daemon) setEnd(r *run, ev api.JobEvent) {
	if r.rec.End != nil {
		return
	}
	if r.rec.GPUFailure != "" && ev.Kind == api.EventExited {
		// Stopped because its GPU failed: the controller requeues it or
		// ends it NODE_FAIL, as for any hardware failure.
		ev = api.JobEvent{Kind: api.EventLost, Message: r.rec.GPUFailure}
	}
	ev.JobID, ev.Run, ev.Node = r.rec.JobID, r.rec.Run, d.cfg.Name
	r.rec.End = &ev
	d.save(r)
	close(r.done)
	d.metrics.ended.WithLabelValues(outcome(&ev)).Inc()
	d.runLog(r).Info("run ended", "kind", ev.Kind, "exit_code", ev.ExitCode, "signal", ev.Signal, "oom", ev.OOM, "message", ev.Message)
	if r.rec.Abandoned {
		d.forget(r)
	} else {
		d.notify()
	}
	d.updateGauge()
}

// startStop starts the stop sequence of a run once it has a process; the
// caller holds d.mu.
func (d *daemon) startStop(r *run) {
	if r.stopping || r.proc == nil || r.rec.End != nil {
		return
	}
	r.stopping = true
	kill, seen := *r.kill, r.killNow
	d.spawn(func() { d.stop(r, kill, seen) })
}

// stop runs a run's stop sequence. A kill whose first signal is a
// checkpoint signal (a preemption's, USR1 by default) sends it to every
// process of the run, waits the grace time or until the job ends it
// (Kill.EndGrace: it saved its checkpoint), then sends SIGTERM and waits
// KillGrace; any other kill sends its signal (SIGTERM by default) and waits
// its grace time (default KillGrace). Then SIGKILL, until the run is gone.
//
// The grace time counts from the kill's RequestedAt on the controller's
// clock, so a daemon restarted during it waits only what is left, and does
// not send the checkpoint signal again (the job already has it).
func (d *daemon) stop(r *run, kill api.KillRequest, controllerNow int64) {
	first := syscall.SIGTERM
	if kill.Signal != "" {
		sig, err := parseSignal(kill.Signal)
		if err != nil {
			d.runLog(r).Warn("bad kill signal; using SIGTERM", "err", err)
		} else {
			first = sig
		}
	}
	granted := d.cfg.KillGrace
	if kill.GraceSecs > 0 {
		granted = time.Duration(kill.GraceSecs) * time.Second
	}
	var elapsed time.Duration
	if kill.RequestedAt > 0 && controllerNow > kill.RequestedAt {
		// Part of the grace time passed before this daemon saw the request.
		elapsed = time.Duration(controllerNow-kill.RequestedAt) * time.Second
	}
	grace := max(granted-elapsed, 0)
	waitEnd := func(dur time.Duration, endGrace <-chan struct{}) (how string, goOn bool) {
		select {
		case <-r.done:
			return graceExited, true
		case <-d.ctx.Done():
			return "", false
		case <-endGrace:
			return graceEndedEarly, true
		case <-d.clock.After(dur):
			return graceExpired, true
		}
	}

	if first != syscall.SIGTERM && first != syscall.SIGKILL {
		d.mu.Lock()
		resume := r.rec.StopSignalled
		d.mu.Unlock()
		start := d.clock.Now()
		how, goOn := graceEndedEarly, true
		select {
		case <-r.endGrace:
			// Done checkpointing before this daemon could signal it (or
			// while it was down): go on with SIGTERM.
		default:
			if !resume {
				d.signal(r, first, true)
			} else {
				d.runLog(r).Info("resuming the grace time of a stop after a restart", "left", grace)
			}
			if how, goOn = waitEnd(grace, r.endGrace); !goOn {
				return
			}
		}
		used := min(elapsed+d.clock.Now().Sub(start), granted)
		d.metrics.observeGrace(granted, used, how)
		d.runLog(r).Info("grace time over", "how", how, "granted", granted, "used", used.Round(time.Second))
		if how == graceExited {
			return
		}
		d.signal(r, syscall.SIGTERM, false)
		if how, goOn := waitEnd(d.cfg.KillGrace, nil); how == graceExited || !goOn {
			return
		}
	} else {
		d.signal(r, first, true)
		if how, goOn := waitEnd(grace, nil); how == graceExited || !goOn {
			return
		}
	}
	for {
		d.signal(r, syscall.SIGKILL, false)
		if how, goOn := waitEnd(d.cfg.KillGrace, nil); how == graceExited || !goOn {
			return
		}
	}
}

// How a grace time ended (fairway_noded_preemption_grace_endings_total).
const (
	graceExited     = "exited"      // the job exited during it
	graceEndedEarly = "ended_early" // the job said it saved its checkpoint
	graceExpired    = "expired"     // it ran out: SIGTERM follows
)

// signal records that sig is sent (so the exit status is read right even
// after a restart; first: it is the first signal of the stop sequence) and
// sends it to every process of the run.
func (d *daemon) signal(r *run, sig syscall.Signal, first bool) {
	d.mu.Lock()
	changed := false
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
		changed = true
	}
	if first && !r.rec.StopSignalled {
		r.rec.StopSignalled = true
		changed = true
	}
	if changed {
		d.save(r)
	}
	proc := r.proc
	d.mu.Unlock()
	d.runLog(r).Info("signalling run", "signal", unix.SignalName(sig))
	if err := proc.Signal(d.ctx, sig); err != nil {
		d.runLog(r).Warn("cannot signal run", "signal", unix.SignalName(sig), "err", err)
	}
}

// planWarning notes when the job's --signal warning is due: AtSeconds
// before the run's time limit, on this node's clock (the job's start and
// controllerNow are on the controller's). The caller holds d.mu.
func (d *daemon) planWarning(r *run, job *api.Job, controllerNow int64) {
	s := job.Spec.Signal
	if s == nil || r.warning != nil || r.rec.WarningSent || job.StartTime == 0 {
		return
	}
	limit := job.TimeLimitSecs
	if limit <= 0 {
		limit = job.Spec.TimeLimitSecs
	}
	if limit <= 0 || api.Unlimited(limit) {
		return
	}
	due := job.StartTime + limit - int64(s.AtSeconds)
	w := *s
	r.warning = &w
	r.warnAt = d.clock.Now().Add(time.Duration(due-controllerNow) * time.Second)
}

// scheduleWarning starts, once the run has a process, the goroutine that
// sends its --signal warning; the caller holds d.mu.
func (d *daemon) scheduleWarning(r *run) {
	if r.warning == nil || r.warnScheduled || r.proc == nil || r.rec.End != nil || r.rec.WarningSent {
		return
	}
	r.warnScheduled = true
	w, at := *r.warning, r.warnAt
	d.spawn(func() { d.warn(r, w, at) })
}

// warn sends the --signal warning at its time, unless the run has ended or
// is being stopped by then: to every process of the run, or with B: to the
// batch script only.
func (d *daemon) warn(r *run, w api.Signal, at time.Time) {
	sig, err := parseSignal(w.Name)
	if err != nil {
		d.runLog(r).Warn("bad --signal; no warning before the time limit", "err", err)
		return
	}
	if wait := at.Sub(d.clock.Now()); wait > 0 {
		select {
		case <-r.done:
			return
		case <-d.ctx.Done():
			return
		case <-d.clock.After(wait):
		}
	}
	d.mu.Lock()
	if r.rec.End != nil || r.kill != nil || r.rec.WarningSent {
		d.mu.Unlock()
		return
	}
	r.rec.WarningSent = true
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
	}
	d.save(r)
	proc := r.proc
	d.mu.Unlock()
	d.runLog(r).Info("sending the --signal warning before the time limit", "signal", unix.SignalName(sig),
		"seconds_before", w.AtSeconds, "batch_only", w.BatchOnly)
	if w.BatchOnly {
		err = proc.SignalBatch(d.ctx, sig)
	} else {
		err = proc.Signal(d.ctx, sig)
	}
	if err != nil {
		d.runLog(r).Warn("cannot send the --signal warning", "signal", unix.SignalName(sig), "err", err)
	}
}

// deliverSignal sends a scancel --signal request to every process of the
// run, once: the request's Seq is recorded first. The caller holds d.mu.
func (d *daemon) deliverSignal(r *run, sr *api.SignalRequest) {
	r.rec.SignalSeq = sr.Seq
	sig, err := parseSignal(sr.Signal)
	if err != nil {
		d.save(r)
		d.runLog(r).Warn("cannot deliver scancel --signal", "signal", sr.Signal, "err", err)
		return
	}
	if !slices.Contains(r.rec.SignalsSent, int(sig)) {
		r.rec.SignalsSent = append(r.rec.SignalsSent, int(sig))
	}
	d.save(r)
	proc := r.proc
	d.runLog(r).Info("delivering scancel --signal", "signal", unix.SignalName(sig), "seq", sr.Seq)
	go func() {
		if err := proc.Signal(d.ctx, sig); err != nil {
			d.runLog(r).Warn("cannot deliver scancel --signal", "signal", unix.SignalName(sig), "err", err)
		}
	}()
}

// parseSignal accepts "USR1", "SIGUSR1" or a number.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// reportLoop sends the events not yet committed, retrying with backoff
// until the controller commits them.
func (d *daemon) reportLoop() {
	var retry <-chan time.Time
	backoff := time.Duration(0)
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		case <-retry:
		}
		retry = nil
		events, marks := d.pending()
		if len(events) == 0 {
			continue
		}
		err := d.api.ReportEvents(d.ctx, d.cfg.Name, events)
		if d.ctx.Err() != nil {
			return
		}
		if err != nil {
			d.metrics.reportErrors.Inc()
			backoff = nextBackoff(backoff)
			d.log.Warn("cannot report job events; retrying", "events", len(events), "err", err, "in", backoff)
			retry = d.clock.After(backoff)
			continue
		}
		backoff = 0
		d.reported(marks)
	}
}

// mark says which report of a run an event carries.
type mark struct {
	r   *run
	end bool
}

// pending lists the events to report, started before ended for each run.
func (d *daemon) pending() ([]api.JobEvent, []mark) {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]runKey, 0, len(d.runs))
	for k := range d.runs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].job < keys[j].job || keys[i].job == keys[j].job && keys[i].run < keys[j].run
	})
	var events []api.JobEvent
	var marks []mark
	for _, k := range keys {
		r := d.runs[k]
		if r.rec.Abandoned {
			continue
		}
		if r.rec.Launched && !r.rec.StartedReported {
			events = append(events, api.JobEvent{JobID: k.job, Run: k.run, Node: d.cfg.Name, Kind: api.EventStarted})
			marks = append(marks, mark{r: r})
		}
		if r.rec.End != nil && !r.rec.EndReported {
			events = append(events, *r.rec.End)
			marks = append(marks, mark{r: r, end: true})
		}
	}
	return events, marks
}

// reported records committed events and cleans up runs whose end is known
// to the controller.
func (d *daemon) reported(marks []mark) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range marks {
		if m.end {
			m.r.rec.EndReported = true
		} else {
			m.r.rec.StartedReported = true
		}
		d.save(m.r)
		if m.end {
			d.startFinish(m.r)
		}
	}
}

// forget removes an ended run once its resources are cleaned up; the caller
// holds d.mu.
func (d *daemon) forget(r *run) {
	r.forgetAfter = true
	if r.cleaned {
		d.remove(r)
		return
	}
	d.startFinish(r)
}

func (d *daemon) remove(r *run) {
	k := r.rec.key()
	if d.runs[k] != r {
		return
	}
	if err := d.store.remove(k); err != nil {
		d.runLog(r).Error("cannot remove run directory", "err", err)
	}
	delete(d.runs, k)
	r.removed = true
	d.tombstones[k] = d.clock.Now()
	d.runLog(r).Debug("run forgotten")
	d.updateGauge()
}

// startFinish starts, once, the cleanup of an ended run's resources; the
// caller holds d.mu.
func (d *daemon) startFinish(r *run) {
	if r.finishing {
		return
	}
	r.finishing = true
	d.spawn(func() { d.finish(r) })
}

// finish removes what an ended run left (task, container, cgroup), retrying
// until it succeeds, then forgets the run if that was asked for.
func (d *daemon) finish(r *run) {
	ex := d.execs[r.rec.Executor]
	d.mu.Lock()
	proc := r.proc
	d.mu.Unlock()
	for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
		if backoff > 0 && !d.sleep(backoff) {
			return
		}
		if proc == nil {
			p, err := ex.Attach(d.ctx, r.ref)
			if errors.Is(err, executor.ErrNotFound) {
				break
			}
			if err != nil {
				if d.ctx.Err() == nil {
					d.runLog(r).Warn("cannot find run to clean up; retrying", "err", err)
				}
				continue
			}
			proc = p
		}
		err := proc.Cleanup(d.ctx)
		if err == nil {
			break
		}
		if d.ctx.Err() != nil {
			return
		}
		d.runLog(r).Warn("cannot clean up run; retrying", "err", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r.cleaned = true
	d.runLog(r).Debug("run cleaned up")
	if r.forgetAfter {
		d.remove(r)
	}
}

// sweepOrphans removes containers of this node that no record knows (left by
// a daemon that crashed after forgetting a run but before removing it).
func (d *daemon) sweepOrphans() {
	for _, kind := range []string{kindHost, kindContainer} {
		ex := d.execs[kind]
		for backoff := time.Duration(0); ; backoff = nextBackoff(backoff) {
			if backoff > 0 && !d.sleep(backoff) {
				return
			}
			refs, err := ex.List(d.ctx, d.cfg.Name)
			if d.ctx.Err() != nil {
				return
			}
			if err != nil {
				if backoff == 0 {
					d.log.Warn("cannot list runs to find orphans; retrying", "executor", kind, "err", err)
				}
				if backoff >= maxBackoff {
					break // give up quietly: the executor is not available here
				}
				continue
			}
			for _, ref := range refs {
				k := runKey{ref.JobID, ref.Run}
				d.mu.Lock()
				_, known := d.runs[k]
				d.mu.Unlock()
				if known {
					continue
				}
				ref.RunDir = d.store.runDir(k)
				d.log.Info("removing orphaned run", "job", ref.JobID, "run", ref.Run, "executor", kind)
				if p, err := ex.Attach(d.ctx, ref); err == nil {
					_ = p.Signal(d.ctx, syscall.SIGKILL)
					if err := p.Cleanup(d.ctx); err != nil {
						d.log.Warn("cannot remove orphaned run", "job", ref.JobID, "run", ref.Run, "err", err)
					}
				}
			}
			break
		}
	}
}
