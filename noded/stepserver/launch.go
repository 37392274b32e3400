package stepserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// errContainerSteps is the answer to a step of a container job.
const errContainerSteps = "srun steps in container jobs are not supported yet"

// handleLaunch serves POST /v1/steps: it checks the caller, the job and
// the step, launches the node's tasks and streams their output and exits
// until they have all ended, then reports the node's part.
func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request) {
	who, body, err := s.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req api.NodeStepRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "step request: %v", err))
		return
	}
	job, err := s.authorize(who, req.JobID)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.plan(r.Context(), job, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	st, err := s.register(p)
	if err != nil {
		writeError(w, err)
		return
	}
	defer s.unregister(st)
	// Registered first, so that a signal srun sends meanwhile (another
	// node's task failed, Ctrl-C) ends the step instead of being lost.
	if err := s.waitLaunched(st.ctx, job.ID); err != nil {
		writeError(w, errorf(http.StatusServiceUnavailable, "step %s on node %s: %v", p.key, s.cfg.Node, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if fl, ok := w.(http.Flusher); ok {
		// srun starts sending task 0's input once it has the answer's
		// head: a task that waits for input before writing must not
		// wait for srun, which waits for the head.
		fl.Flush()
	}
	fw := newFrameWriter(w)
	switch {
	case job.Spec.ContainerImage != "":
		_ = fw.send(api.StepFrame{Done: true, Error: errContainerSteps})
		s.report(st.result(errContainerSteps))
		return
	}
	// srun going away (its connection closed) ends the step's tasks.
	stop := context.AfterFunc(r.Context(), func() { st.abort("srun went away (its connection to the node closed)") })
	defer stop()
	res := st.run(fw)
	done := api.StepFrame{Done: true, Error: res.Reason}
	if err := fw.send(done); err != nil {
		st.log.Info("cannot send the step's end to srun", "err", err)
	}
	s.report(res)
}

// stepPlan is a checked request: what the node launches.
type stepPlan struct {
	key     stepKey
	job     *api.Job
	step    *api.Step
	req     *api.NodeStepRequest
	nodeID  int
	gpus    [][]gpu.Device // per local task
	jobGPUs []gpu.Device
}

// plan checks a request against the controller's record of the step: the
// step exists and runs, names this node, and gives it as many tasks as the
// request.
func (s *Server) plan(ctx context.Context, job *api.Job, req *api.NodeStepRequest) (*stepPlan, error) {
	if len(req.Command) == 0 {
		return nil, errorf(http.StatusBadRequest, "step request: no command")
	}
	if len(req.Tasks) == 0 {
		return nil, errorf(http.StatusBadRequest, "step request: no tasks")
	}
	if req.Pty && len(req.Tasks) != 1 {
		return nil, errorf(http.StatusBadRequest, "step request: --pty runs one task, not %d", len(req.Tasks))
	}
	steps, err := s.cfg.Controller.Steps(ctx, job.ID)
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "list the steps of job %d: %v", job.ID, err)
	}
	var st *api.Step
	for _, c := range steps.Steps {
		if c != nil && c.ID == req.StepID {
			st = c
		}
	}
	if st == nil {
		return nil, errorf(http.StatusNotFound, "job %d has no step %d in the controller", job.ID, req.StepID)
	}
	if st.State != "" && st.State != api.JobRunning {
		return nil, errorf(http.StatusConflict, "step %d.%d is %s", job.ID, st.ID, st.State)
	}
	nodeID := slices.Index(st.Nodes, s.cfg.Node)
	if nodeID < 0 {
		return nil, errorf(http.StatusBadRequest, "step %d.%d does not run on node %s (its nodes: %v)", job.ID, st.ID, s.cfg.Node, st.Nodes)
	}
	if nodeID >= len(st.TasksPerNode) || st.TasksPerNode[nodeID] != len(req.Tasks) {
		return nil, errorf(http.StatusBadRequest, "step %d.%d has %v tasks per node; the request gives node %s %d",
			job.ID, st.ID, st.TasksPerNode, s.cfg.Node, len(req.Tasks))
	}
	p := &stepPlan{key: stepKey{job.ID, st.ID}, job: job, step: st, req: req, nodeID: nodeID}
	var alloc *api.NodeAlloc
	for i := range job.Alloc {
		if job.Alloc[i].Node == s.cfg.Node {
			alloc = &job.Alloc[i]
		}
	}
	if alloc != nil && len(alloc.GPUs) > 0 && s.cfg.GPUs != nil {
		devs, err := s.cfg.GPUs(alloc.GPUs)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "GPUs of job %d: %v", job.ID, err)
		}
		p.jobGPUs = sortedGPUs(devs)
	}
	p.gpus, err = taskGPUs(st, p.jobGPUs, len(req.Tasks), req.Env["SLURM_GPU_BIND"] == gpuBindNone)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	return p, nil
}

// register makes a step of a plan, refusing a second launch of the same
// step on this node.
func (s *Server) register(p *stepPlan) (*step, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.steps[p.key]; ok {
		return nil, errorf(http.StatusConflict, "step %s already runs on node %s", p.key, s.cfg.Node)
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	st := &step{
		s:           s,
		plan:        p,
		log:         s.log.With("job", p.key.job, "step", p.key.step),
		ctx:         ctx,
		cancelCause: cancel,
		cgroup:      path.Join(s.jobCgroup(p.job), fmt.Sprintf("step-%d", p.key.step)),
		started:     make(chan struct{}),
	}
	s.steps[p.key] = st
	s.wg.Add(1)
	return st, nil
}

// unregister forgets a step that ended.
func (s *Server) unregister(st *step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.steps[st.plan.key] == st {
		delete(s.steps, st.plan.key)
	}
	st.cancelCause(nil)
	st.markStarted()
	s.wg.Done()
}

// lookup returns a running step.
func (s *Server) lookup(k stepKey) *step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps[k]
}

// credentials are the uid, gid and groups a job's tasks run with: the
// groups the controller authenticated at submission, else the node's.
func credentials(job *api.Job) (uid, gid int, groups []int) {
	groups = job.Spec.GIDs
	if len(groups) == 0 {
		if u, err := user.LookupId(strconv.Itoa(job.Spec.UID)); err == nil {
			if ids, err := u.GroupIds(); err == nil {
				for _, s := range ids {
					if g, err := strconv.Atoi(s); err == nil {
						groups = append(groups, g)
					}
				}
			}
		}
	}
	return job.Spec.UID, job.Spec.GID, groups
}

// workDir is where a step's tasks start: the request's directory, else
// the job's, else /.
func workDir(req *api.NodeStepRequest, job *api.Job) string {
	for _, d := range []string{req.Dir, job.Spec.WorkDir} {
		if d != "" {
			return d
		}
	}
	return "/"
}

// stepGroup makes the step's cgroup below the job's. On a node that does
// not run the job's batch script the job's group does not exist: it is
// made with the allocation's CPU and memory limits.
func (s *Server) stepGroup(ctx context.Context, cgPath string, job *api.Job) (*cgroups.Group, error) {
	jobPath := path.Dir(cgPath)
	if _, err := cgroups.Load(jobPath); errors.Is(err, os.ErrNotExist) {
		spec := cgroups.Spec{Path: jobPath, InheritDevices: true}
		for _, a := range job.Alloc {
			if a.Node == s.cfg.Node {
				spec.CPUs, spec.MemoryBytes = float64(a.CPUs), a.MemoryMB<<20
			}
		}
		if _, err := cgroups.New(ctx, spec); err != nil {
			return nil, fmt.Errorf("job cgroup: %w", err)
		}
		s.mu.Lock()
		s.made[job.ID] = jobPath
		s.mu.Unlock()
		s.log.Debug("made the job's cgroup for its steps", "job", job.ID, "cgroup", jobPath)
	}
	grp, err := cgroups.New(ctx, cgroups.Spec{Path: cgPath, InheritDevices: true})
	if err != nil {
		return nil, fmt.Errorf("step cgroup: %w", err)
	}
	return grp, nil
}

// logTask returns a logger for one task.
func logTask(log *slog.Logger, rank int) *slog.Logger { return log.With("task", rank) }

// launchWait bounds how long a step waits for its job's batch script to
// be launched on this node (srun sends it as soon as the job is RUNNING).
const launchWait = 30 * time.Second

// waitLaunched waits until steps may start in the job (Jobs.Launched),
// the step is ended (a signal, its job gone) or launchWait has passed.
func (s *Server) waitLaunched(ctx context.Context, id api.JobID) error {
	ctx, cancel := context.WithTimeout(ctx, launchWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !s.cfg.Jobs.Launched(id) {
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
				return cause
			}
			return fmt.Errorf("job %d has not started on node %s within %s", id, s.cfg.Node, launchWait)
		case <-tick.C:
		}
	}
	return nil
}
