package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/cluster"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/report"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/simnode"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/workload"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// harness is one run's state.
type harness struct {
	o      options
	log    *slog.Logger
	cl     *cluster.Cluster
	fleet  *simnode.Fleet
	routes *report.Routes
	rep    *report.Report
	t0     time.Time

	mu        sync.Mutex
	submitAt  map[api.JobID]time.Time
	lat, latQ []float64
	// waitingGPUs is the GPUs the acknowledged jobs not started yet ask
	// for (the demand the cluster could not meet yet).
	waitingGPUs atomic.Int64
	firstStart  time.Time

	pending   atomic.Int64 // the last sample's pending jobs
	running   atomic.Int64 // and running jobs (-1 before the first sample)
	submitted atomic.Int64 // jobs acknowledged
}

// run does the whole run; the report is returned even when a step fails,
// with what was measured.
func run(ctx context.Context, o options, log *slog.Logger) (*report.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.maxRun)
	defer cancel()
	h := &harness{o: o, log: log, routes: report.NewRoutes(), submitAt: map[api.JobID]time.Time{},
		rep: &report.Report{Params: o.params(), Machine: fmt.Sprintf("%d CPUs (GOMAXPROCS), %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)}}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	h.running.Store(-1)
	if err := h.startCluster(ctx); err != nil {
		return h.rep, err
	}
	defer h.cl.Stop()

	fctx, stopFleet := context.WithCancel(ctx)
	fleetDone := make(chan struct{})
	defer func() { stopFleet(); <-fleetDone }()
	var err error
	h.fleet, err = simnode.New(simnode.Config{Count: o.nodes, Prefix: "sim", GPUsPerNode: o.gpusPerNode, GPUType: "h100",
		CPUs: o.cpus, MemoryMB: o.nodeMemMB, Addrs: h.cl.URLs(), CA: h.cl.CA, Heartbeat: o.heartbeat, WatchWait: o.watchWait,
		Routes: h.routes, OnStart: h.onStart, Log: log})
	if err != nil {
		close(fleetDone)
		return h.rep, err
	}
	go func() { defer close(fleetDone); h.fleet.Run(fctx) }()
	log.Info("registering the simulated nodes", "nodes", o.nodes)
	regStart := time.Now()
	if err := waitFor(ctx, o.registerWait, func() bool { return h.fleet.Stats().Registered >= int64(o.nodes) }); err != nil {
		return h.rep, fmt.Errorf("%d of %d nodes registered: %w", h.fleet.Stats().Registered, o.nodes, err)
	}
	h.note("%d nodes registered in %.1f s", o.nodes, time.Since(regStart).Seconds())

	before, _ := h.scrape(ctx)
	h.t0 = time.Now()
	samp := newSampler(h)
	sctx, stopSampler := context.WithCancel(ctx)
	sampDone := make(chan struct{})
	go func() { defer close(sampDone); samp.loop(sctx) }()

	var profWG sync.WaitGroup
	if o.profile {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			// Into the submissions, when the queue has grown.
			if sleepCtx(ctx, min(o.submitFor/2, time.Duration(float64(o.jobs)/o.rate*float64(time.Second))/2)) {
				h.profile(ctx, "cpu", fmt.Sprintf("/debug/pprof/profile?seconds=%d", o.profileSecs))
				h.profile(ctx, "heap", "/debug/pprof/heap")
			}
		}()
	}

	subErr := h.submit(ctx)
	h.rep.SubmitSecs = time.Since(h.t0).Seconds()
	h.rep.SubmittedJobs = int(h.submitted.Load())
	if h.rep.SubmitSecs > 0 {
		h.rep.SubmitJobsPerSec = float64(h.rep.SubmittedJobs) / h.rep.SubmitSecs
	}
	log.Info("submissions done", "jobs", h.rep.SubmittedJobs, "secs", h.rep.SubmitSecs, "err", subErr)
	h.squeue(ctx, "end of submissions (queue at its largest)")

	log.Info("waiting for the jobs to finish", "limit", o.drain)
	// A submission whose answer was lost may still have been committed, so
	// the controller's own count decides, with the fleet's.
	drainErr := waitFor(ctx, o.drain, func() bool {
		return h.fleet.Stats().Finished >= h.submitted.Load() && h.pending.Load() == 0 && h.running.Load() == 0
	})
	if drainErr != nil {
		h.note("not every job finished within -drain %s: %d of %d", o.drain, h.fleet.Stats().Finished, h.submitted.Load())
	}
	profWG.Wait()
	stopSampler()
	<-sampDone
	after, _ := h.scrape(ctx)
	h.summarize(samp, before, after)
	h.squeue(ctx, "end of run (jobs finished, retained)")
	if o.profile {
		h.profile(ctx, "heap-end", "/debug/pprof/heap")
	}
	if o.killLeader && o.attach == "" {
		h.failover(ctx)
	}
	return h.rep, errors.Join(subErr, ctx.Err())
}

func (h *harness) note(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	h.log.Info(msg)
	h.rep.Notes = append(h.rep.Notes, msg)
}

func (h *harness) startCluster(ctx context.Context) error {
	o := h.o
	users := o.userList()
	cfg := workload.ClusterConfig(workload.Accounts(users, o.accounts), o.nodeDownAfter)
	cfg.NodeLeaseSecs = int64(o.nodeLease / time.Second)
	if o.attach != "" {
		cl, err := cluster.Attach(strings.Split(o.attach, ","), o.pkiDir, o.jwtKey)
		if err != nil {
			return err
		}
		h.cl = cl
		h.note("attached to %s; the cluster's configuration is used as it is (the users must be associated with their accounts)", o.attach)
		return nil
	}
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "fairway-scale-"); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	h.log.Info("starting controllers", "count", o.controllers, "dir", dir)
	var extra []string
	if o.raftMultiplier > 0 {
		extra = append(extra, "--raft-multiplier", strconv.Itoa(o.raftMultiplier))
		h.note("controllers run with --raft-multiplier %d: raft timeouts of %d ms", o.raftMultiplier, 500*o.raftMultiplier)
	}
	cl, err := cluster.Start(ctx, cluster.Options{Fairwayd: o.fairwayd, Dir: dir, Count: o.controllers, IPPrefix: o.ipPrefix,
		HTTPPort: o.httpPort, RaftPort: o.raftPort, PprofPort: o.pprofPort, SchedInterval: o.schedInterval, Config: cfg,
		ExtraArgs: extra, Log: h.log})
	if err != nil {
		return err
	}
	h.cl = cl
	return nil
}

// onStart records a run's submit-to-start latency (an array task's from
// its array's submission).
func (h *harness) onStart(job *api.Job, at time.Time) {
	key := job.ID
	if job.ArrayJobID != 0 {
		key = job.ArrayJobID
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.firstStart.IsZero() {
		h.firstStart = at
	}
	if job.RestartCount > 0 {
		return // a requeued job's demand was not counted again
	}
	gpus := 0
	for _, a := range job.Alloc {
		gpus += len(a.GPUs)
	}
	// Before its submission's answer was recorded, the count dips below
	// zero for a moment.
	h.waitingGPUs.Add(-int64(gpus))
	t, ok := h.submitAt[key]
	if !ok {
		return
	}
	d := at.Sub(t).Seconds()
	h.lat = append(h.lat, d)
	if h.pending.Load() > 0 {
		h.latQ = append(h.latQ, d)
	}
}

// submission is one POST /v1/jobs.
type submission struct {
	user  string
	specs []api.JobSpec
	jobs  int
	gpus  int // GPUs its jobs ask for, all nodes and array tasks together
}

// submit paces the workload's submissions at -rate jobs per second over
// -submitters goroutines until -jobs are acknowledged or -submit-for ends.
func (h *harness) submit(ctx context.Context) error {
	o := h.o
	var src workload.Source
	if o.trace != "" {
		t, err := workload.LoadTrace(o.trace, o.gpusPerNode, o.traceScale, o.minRun, o.maxRunTime)
		if err != nil {
			return err
		}
		src = t
	} else {
		s, err := workload.NewSynthetic(workload.Mix{GPUsPerNode: o.gpusPerNode, GangFraction: o.gangFrac, ArrayFraction: o.arrayFrac,
			ArrayMin: o.arrayMin, ArrayMax: o.arrayMax, MeanDuration: o.meanRun, MinDuration: o.minRun, MaxDuration: o.maxRunTime}, o.seed)
		if err != nil {
			return err
		}
		src = s
	}
	users := o.userList()
	accounts := workload.Accounts(users, o.accounts)
	clients := map[string]*client.Client{}
	for _, u := range users {
		tok, err := h.cl.Token(u, 24*time.Hour)
		if err != nil {
			return err
		}
		clients[u] = client.NewWithOptions(client.Options{Addrs: strings.Join(h.cl.URLs(), ","), CA: h.cl.CAFile,
			AttemptTimeout: time.Minute}).WithAuth(client.TokenAuth{Token: tok})
	}
	sctx, cancel := context.WithTimeout(ctx, o.submitFor)
	defer cancel()
	work := make(chan submission, o.submitters)
	var errCount atomic.Int64
	var reqs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range o.submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				t := time.Now()
				ids, err := clients[s.user].Submit(sctx, s.specs...)
				h.routes.Observe("POST /v1/jobs", time.Since(t), err)
				if err != nil {
					if sctx.Err() == nil && errCount.Add(1) <= 5 {
						h.log.Warn("submission failed", "user", s.user, "err", err)
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				reqs.Add(1)
				h.mu.Lock()
				for _, id := range ids {
					h.submitAt[id] = t
				}
				h.mu.Unlock()
				h.waitingGPUs.Add(int64(s.gpus))
				h.submitted.Add(int64(s.jobs))
			}
		}()
	}
	// The pacer: submission k leaves when the jobs before it are due.
	probeEvery := 0
	if o.probeJobs > 0 {
		probeEvery = max(o.jobs/o.probeJobs, 1)
	}
	queued, probes, seq := 0, 0, 0
	start := time.Now()
pace:
	for queued < o.jobs {
		s := submission{}
		for len(s.specs) < o.batch && queued+s.jobs < o.jobs {
			if probeEvery > 0 && probes < o.probeJobs && queued >= probes*probeEvery && len(s.specs) == 0 {
				probes++
				seq++
				s.user = users[0]
				s.specs = append(s.specs, workload.Spec(workload.Job{Nodes: 1, GPUsPerNode: 1, Duration: o.minRun}, accounts[users[0]]))
				s.jobs, s.gpus = 1, 1
				break
			}
			j, ok := src.Next()
			if !ok {
				break
			}
			if s.user == "" {
				first := 0
				if o.probeJobs > 0 {
					first = 1
				}
				s.user = users[first+seq%(len(users)-first)]
			}
			seq++
			j.Tasks = min(j.Tasks, o.jobs-queued-s.jobs)
			if j.Tasks == 1 {
				j.Tasks = 0
			}
			s.specs = append(s.specs, workload.Spec(j, accounts[s.user]))
			s.jobs += j.Count()
			s.gpus += j.Count() * j.GPUs()
		}
		if len(s.specs) == 0 {
			break
		}
		due := start.Add(time.Duration(float64(queued) / o.rate * float64(time.Second)))
		if d := time.Until(due); d > 0 && !sleepCtx(sctx, d) {
			break
		}
		select {
		case work <- s:
			queued += s.jobs
		case <-sctx.Done():
			break pace
		}
	}
	close(work)
	wg.Wait()
	h.rep.SubmitRequests = int(reqs.Load())
	h.rep.SubmitErrors = int(errCount.Load())
	if sctx.Err() != nil && ctx.Err() == nil {
		h.note("the submission phase reached -submit-for %s with %d of %d jobs acknowledged", o.submitFor, h.submitted.Load(), o.jobs)
	}
	if e, ok := firstErr.Load().(error); ok {
		h.note("%d submissions failed; the first: %v", errCount.Load(), e)
	}
	return nil
}

// adminHTTP is an HTTP client with the administrator's certificate.
func (h *harness) adminHTTP() (*http.Client, error) {
	iss, err := h.cl.CA.Issue(pki.IssueRequest{Identity: apipki.Admin("scale-scrape"), Now: time.Now()})
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
	if err != nil {
		return nil, err
	}
	pool, err := apipki.ParseCAPool(h.cl.CA.CertPEM())
	if err != nil {
		return nil, err
	}
	creds := &apipki.Credentials{Cert: pair, CAs: pool}
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: creds.ClientConfig()}}, nil
}

// scrape reads the leader's /metrics.
func (h *harness) scrape(ctx context.Context) ([]report.Series, error) {
	l, err := h.cl.WaitLeader(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	hc, err := h.adminHTTP()
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL()+"/metrics", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", l.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", l.ID, err)
	}
	return report.ParseMetrics(string(body))
}

// profile saves one of the leader's Go profiles and its top-20 text.
func (h *harness) profile(ctx context.Context, name, path string) {
	l, err := h.cl.WaitLeader(ctx, 30*time.Second)
	if err != nil {
		h.note("no %s profile: %v", name, err)
		return
	}
	if l.PprofAddr == "" {
		h.note("no %s profile: the leader %s serves no profiles (-pprof-port 0, or -attach)", name, l.ID)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.PprofAddr+path, nil)
	resp, err := (&http.Client{Timeout: time.Duration(h.o.profileSecs+60) * time.Second}).Do(req)
	if err != nil {
		h.note("no %s profile: %v", name, err)
		return
	}
	defer resp.Body.Close()
	file := filepath.Join(h.o.out, "leader-"+name+".pprof")
	data, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		h.note("no %s profile: %v", name, err)
		return
	}
	args := []string{"tool", "pprof", "-top", "-nodecount=20"}
	if strings.HasPrefix(name, "heap") {
		args = append(args, "-sample_index=inuse_space")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, h.o.fairwayd, file)...).CombinedOutput()
	if err != nil {
		h.note("go tool pprof %s: %v", file, err)
	}
	_ = os.WriteFile(filepath.Join(h.o.out, "leader-"+name+"-top.txt"), out, 0o644)
	h.log.Info("profile taken", "profile", name, "leader", l.ID, "file", file)
}

// squeue times the client binary's squeue as root: default, -t all with
// two fields, and -u of the probe user.
func (h *harness) squeue(ctx context.Context, when string) {
	tok, err := h.cl.Token("root", time.Hour)
	if err != nil {
		h.note("squeue: %v", err)
		return
	}
	cmds := [][]string{{}, {"-t", "all", "-o", "%i %t"}}
	if h.o.probeJobs > 0 {
		cmds = append(cmds, []string{"-t", "all", "-u", h.o.probeUser})
	}
	held := int(h.submitted.Load())
	for _, args := range cmds {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(cctx, h.o.fairway)
		cmd.Args = append([]string{"squeue"}, args...)
		cmd.Env = append(os.Environ(), client.EnvAddr+"="+strings.Join(h.cl.URLs(), ","), client.EnvCA+"="+h.cl.CAFile,
			api.EnvSlurmJWT+"="+tok)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		t := time.Now()
		err := cmd.Run()
		wall := time.Since(t).Seconds()
		cancel()
		row := report.SqueueRow{When: when, Command: strings.Join(append([]string{"squeue"}, quoteArgs(args)...), " "), JobsHeld: held,
			Lines: bytes.Count(stdout.Bytes(), []byte("\n")), WallSecs: wall}
		if err != nil {
			row.Err = fmt.Sprintf("%v: %s", err, strings.TrimSpace(stderr.String()))
		}
		h.rep.Squeue = append(h.rep.Squeue, row)
		h.log.Info("squeue", "args", args, "wall", wall, "lines", row.Lines, "err", row.Err)
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " %") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

// waitFor polls cond every 200 ms for at most limit.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reportWriter is a report that writes itself as JSON and Markdown.
type reportWriter interface {
	WriteJSON(w io.Writer) error
	WriteMarkdown(w io.Writer) error
}

// writeReport writes r into dir as NAME.json and NAME.md.
func writeReport(dir, name string, r reportWriter) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	var js, md bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		return err
	}
	if err := r.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".md"), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
