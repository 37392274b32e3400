// Package noded is the node daemon: it registers the node with the
// controller, heartbeats, watches the jobs allocated to the node with blocking
// queries, launches their batch scripts (as containerd containers when the job
// names an image, else as host processes in a cgroup), stops them when the
// controller asks (signal, grace time, SIGKILL), and reports every state change
// of every run exactly once.
//
// # Structure
//
// The daemon is a reconciler (reconcile.go): each answer of the blocking
// query for the node's jobs is compared with the runs the daemon has. A new
// run gets a runner (runner.go, runstep.go, stop.go): one goroutine per run
// that owns the run's launch or re-attach, supervision, signals (scancel
// --signal, the --signal warning before the time limit), stop sequence with
// its grace time, event reports and cleanup, with an explicit state
// (runState: launching, running, stopping, exited, reported, forgotten).
// The reconciler hands each runner the controller's latest word on its run
// over a channel (desired); runners share no flags with the daemon, and the
// daemon reads a runner only through the view it publishes. Events go
// through the outbox (outbox.go), which reports them in order until the
// controller acknowledges them. Registration and heartbeats are in
// register.go, the sweeps of what no runner knows in cleanup.go and
// checkpoint.go.
//
// Jobs do not depend on the daemon. Before launching a run the daemon writes a
// small record in StateDir (record.go); the runner updates it when the run
// starts, when it ends, when it sends a signal that must not be sent twice,
// and when the controller has committed each report. A restarted daemon
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
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/executor/container"
	"github.com/fairway-hpc/fairway/noded/executor/host"
	"github.com/fairway-hpc/fairway/noded/gpu"
	"github.com/fairway-hpc/fairway/noded/stepserver"
)

// nodeAttemptTimeout bounds one request of the daemon to one controller
// (blocking queries excepted).
const nodeAttemptTimeout = 3 * time.Second

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
		return fmt.Errorf("node daemon configuration: %w", err)
	}
	hostExec, err := host.New(host.Config{CgroupParent: cfg.cgroupParent(), Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("host executor: %w", err)
	}
	ctrExec, err := container.New(container.Config{
		Socket:       cfg.ContainerdSocket,
		Namespace:    cfg.ContainerdNamespace,
		CgroupParent: cfg.cgroupParent(),
		ToolsBinary:  cfg.ToolsBinary,
		MountAllow:   cfg.MountAllow,
		Logger:       cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("container executor: %w", err)
	}
	defer ctrExec.Close()
	return run(ctx, cfg, map[string]executor.Executor{kindHost: hostExec, kindContainer: ctrExec})
}

// run runs the daemon with the given executors (by kind) on a configuration
// with its defaults filled in.
func run(ctx context.Context, cfg Config, execs map[string]executor.Executor) error {
	st, err := newStore(cfg.StateDir)
	if err != nil {
		return err
	}
	log := cfg.Logger.With("node", cfg.Name)
	gpus, err := openGPUs(cfg, log)
	if err != nil {
		return fmt.Errorf("GPU inventory: %w", err)
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
		api:        newAPIClient(cfg),
		store:      st,
		outbox:     newOutbox(),
		metrics:    newMetrics(cfg.Name),
		execs:      execs,
		lease:      newLease(cfg, log),
		runners:    map[runKey]*runner{},
		tombstones: map[runKey]time.Time{},
	}
	d.metrics.reg.MustRegister(gpu.NewCollector(gpus, prometheus.Labels{"node": cfg.Name}, d.gpuJobs))
	if cfg.HPCJobMappingDir != "" {
		if d.jobMap, err = gpu.NewJobMap(cfg.HPCJobMappingDir); err != nil {
			return err
		}
	}

	if cfg.ListenAddr != "" {
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
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
	if cfg.StepListenAddr != "" {
		stop, err := d.serveSteps(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	d.checkToolsBinary()
	if err := d.startFence(ctx); err != nil {
		return err
	}

	if err := d.recover(ctx); err != nil {
		return err
	}
	d.log.Info("node daemon started", "controllers", strings.Join(d.api.Addrs(), ","),
		"state_dir", cfg.StateDir, "runs", len(d.runners))

	d.spawn(func() { d.outbox.run(ctx, d.sendEvents, d.clock, d.metrics, d.log) })
	d.spawn(func() { d.sweepOrphans(ctx) })
	d.spawn(func() { d.checkpointSweepLoop(ctx) })
	d.spawn(func() { gpus.Run(ctx) })
	d.spawn(func() {
		if !d.register(ctx) { // with a heartbeat: runs start only under a lease
			return
		}
		d.spawn(func() { d.heartbeatLoop(ctx) })
		d.spawn(func() { d.gpuHealthLoop(ctx) })
		d.watchLoop(ctx)
	})
	<-ctx.Done()
	d.wg.Wait()
	d.log.Info("node daemon stopped; jobs keep running")
	return nil
}

// newAPIClient is the daemon's client of the controllers: with TLS, https
// with the node's certificate, requiring controller certificates.
func newAPIClient(cfg Config) *client.Client {
	// A frozen controller must cost a heartbeat well under the lease (10 s
	// by default): the daemon goes on to the next controller after this.
	opts := client.Options{Addrs: cfg.ControllerAddrs, AttemptTimeout: nodeAttemptTimeout}
	if cfg.TLS != nil {
		opts.TLS = cfg.TLS.ClientConfig()
	} else {
		cfg.Logger.Warn("INSECURE: calling the controllers without TLS; anyone on the path can read and change this node's traffic")
	}
	// Without a certificate the daemon authenticates with MUNGE (as root).
	return client.NewWithOptions(opts).WithMungeSocket(cfg.MungeSocket)
}

// daemon is the node daemon: a reconciler of the runs the controller wants
// on this node against the runs it has, each owned by a runner.
type daemon struct {
	cfg       Config
	log       *slog.Logger
	clock     Clock
	api       *client.Client
	store     *store
	outbox    *outbox
	metrics   *metrics
	execs     map[string]executor.Executor
	lease     *lease
	gpus      *gpu.Monitor
	userSpace gpu.UserSpace
	addr      string // the metrics address sent when registering
	stepAddr  string // the step server's address sent when registering
	steps     *stepserver.Server
	wg        sync.WaitGroup

	regMu      sync.Mutex // one registration at a time, each with the GPUs' health of its moment
	shortLease sync.Once  // the warning that the lease spans under two heartbeats
	// procDir is where the heartbeat reads the node's free memory and
	// load (defaultProcDir when empty); figuresWarn warns once when it
	// cannot.
	procDir     string
	figuresWarn sync.Once

	mu         sync.Mutex
	runners    map[runKey]*runner
	tombstones map[runKey]time.Time   // forgotten runs, never launched again
	listedGPUs map[int]bool           // GPUs of this node allocated in the controller's last job list
	listedJobs map[api.JobID]*api.Job // RUNNING jobs allocated this node in the controller's last job list
	// jobMap is dcgm-exporter's HPC job mapping directory; nil when off.
	jobMap *gpu.JobMap
}

// checkToolsBinary warns when the tools binary mounted into containers
// cannot run in every image.
func (d *daemon) checkToolsBinary() {
	name := d.cfg.ToolsBinary
	if name == "" {
		d.log.Warn("container jobs get no fairway tools (scontrol, srun, fairway checkpoint done): " +
			"put the client binary beside the daemon (make build) or give the tools binary")
		return
	}
	if static, err := staticBinary(name); err != nil {
		d.log.Warn("cannot inspect the tools binary mounted into container jobs", "binary", name, "err", err)
	} else if !static {
		d.log.Warn("the tools binary mounted into container jobs (scontrol, srun, fairway) is dynamically linked: "+
			"it runs only in images with a compatible C library; give a static build (CGO_ENABLED=0) as the tools binary",
			"binary", name)
	}
}

// staticBinary reports whether an ELF executable needs no dynamic loader.
func staticBinary(name string) (bool, error) {
	f, err := elf.Open(name)
	if err != nil {
		return false, fmt.Errorf("read ELF binary: %w", err)
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

func (d *daemon) spawn(f func()) {
	d.wg.Go(f)
}

func nextBackoff(b time.Duration) time.Duration {
	if b <= 0 {
		return minBackoff
	}
	return min(2*b, maxBackoff)
}

// sendEvents reports events to the controller (the outbox's sender).
func (d *daemon) sendEvents(ctx context.Context, events []api.JobEvent) error {
	if err := d.api.ReportEvents(ctx, d.cfg.Name, events); err != nil {
		return fmt.Errorf("report %d job events: %w", len(events), err)
	}
	return nil
}

// runnerDeps is what the daemon lends its runners.
func (d *daemon) runnerDeps() runnerDeps {
	return runnerDeps{
		node:      d.cfg.Name,
		clock:     d.clock,
		store:     d.store,
		outbox:    d.outbox,
		metrics:   d.metrics,
		killGrace: d.cfg.KillGrace,
		lease:     d.lease,
		spawn:     d.spawn,
		changed:   d.updateGauge,
		gone:      d.removeRunner,
	}
}

// startRunner registers a runner and starts its goroutine; the caller holds
// d.mu.
func (d *daemon) startRunner(ctx context.Context, r *runner) {
	d.runners[r.key] = r
	d.spawn(func() { r.run(ctx) })
}

// recover loads the records of an earlier daemon and starts a runner for
// each: it re-attaches to runs still alive, and goes on reporting and
// cleaning up those that ended.
func (d *daemon) recover(ctx context.Context) error {
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
		ex, ok := d.execs[rec.Executor]
		if !ok {
			d.log.Error("run record names an unknown executor; ignoring it", "job", rec.JobID, "run", rec.Run, "executor", rec.Executor)
			continue
		}
		if rec.End == nil {
			if err := d.lease.addRun(rec.key(), rec.CheckpointSignal); err != nil {
				return fmt.Errorf("lease file: %w", err)
			}
		}
		d.startRunner(ctx, newRunner(rec, nil, ex, d.runnerDeps(), d.log))
	}
	return nil
}

// removeRunner forgets a run whose runner is done with it: its directory
// goes, and a tombstone keeps a stale job list from starting it again.
func (d *daemon) removeRunner(r *runner) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runners[r.key] != r {
		return
	}
	if err := d.store.remove(r.key); err != nil {
		r.log.Error("cannot remove run directory", "err", err)
	}
	delete(d.runners, r.key)
	d.lease.removeRun(r.key)
	d.tombstones[r.key] = d.clock.Now()
	r.log.Debug("run forgotten")
}

// views returns the published views of the runs the daemon has.
func (d *daemon) views() map[runKey]*runView {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[runKey]*runView, len(d.runners))
	for k, r := range d.runners {
		out[k] = r.current()
	}
	return out
}

// runningRefs lists the runs alive (or being launched) on the node.
func (d *daemon) runningRefs() []api.JobRunRef {
	var out []api.JobRunRef
	for k, v := range d.views() {
		if v.alive() {
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

// updateGauge sets the running-jobs gauge.
func (d *daemon) updateGauge() {
	n := 0
	for _, v := range d.views() {
		if !v.ended && v.hasProc {
			n++
		}
	}
	d.metrics.running.Set(float64(n))
	d.syncJobMap()
}
