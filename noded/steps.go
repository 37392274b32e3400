package noded

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/noded/gpu"
	"github.com/fairway-hpc/fairway/noded/stepserver"
)

// serveSteps starts the step server on cfg.StepListenAddr (https with
// the node's certificate when the daemon has one) and records its address
// for registration; the function it returns stops it and waits for its
// steps and reports, once ctx is done.
func (d *daemon) serveSteps(ctx context.Context) (func(), error) {
	ln, err := net.Listen("tcp", d.cfg.StepListenAddr)
	if err != nil {
		return nil, fmt.Errorf("step server: listen on %s: %w", d.cfg.StepListenAddr, err)
	}
	d.stepAddr = advertised(ln.Addr().String(), d.cfg.Name)
	if d.cfg.TLS != nil {
		// Callers (srun) authenticate with MUNGE, not certificates; they
		// check that this certificate names the node (pki.Node).
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{d.cfg.TLS.Cert}})
	} else {
		d.log.Warn("INSECURE: serving job steps without TLS; anyone on the path can read and change srun's traffic with this node",
			"addr", d.stepAddr)
	}
	d.steps = stepserver.New(ctx, stepserver.Config{
		Node:         d.cfg.Name,
		Jobs:         listedJobs{d},
		Controller:   d.api.WithConsistent(true), // a step srun just created is there
		Munge:        munge.Client{Socket: d.cfg.MungeSocket},
		CgroupParent: d.cfg.cgroupParent(),
		GPUs:         func(indices []int) ([]gpu.Device, error) { return d.gpuDevices(indices) },
		Logger:       d.log,
	})
	srv := &http.Server{Handler: d.steps.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	d.log.Info("step server listening", "addr", d.stepAddr, "tls", d.cfg.TLS != nil)
	return func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		d.steps.Wait()
	}, nil
}

// listedJobs are the jobs the controller's last job list runs on this
// node, for the step server.
type listedJobs struct{ d *daemon }

// Job implements stepserver.Jobs.
func (l listedJobs) Job(id api.JobID) *api.Job {
	j, _ := l.lookup(id)
	return j
}

// Launched implements stepserver.Jobs.
func (l listedJobs) Launched(id api.JobID) bool {
	_, ready := l.lookup(id)
	return ready
}

// lookup returns a copy of the listed job and whether steps may start in
// it: on a node other than the batch node at once, on the batch node once
// its run has a process.
func (l listedJobs) lookup(id api.JobID) (*api.Job, bool) {
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	j := l.d.listedJobs[id]
	if j == nil {
		return nil, false
	}
	c := *j
	if len(c.Alloc) == 0 || c.Alloc[0].Node != l.d.cfg.Name {
		return &c, true
	}
	r := l.d.runners[runKey{c.ID, c.RestartCount}]
	if r == nil {
		return &c, false
	}
	v := r.view.Load()
	return &c, v != nil && v.hasProc
}
