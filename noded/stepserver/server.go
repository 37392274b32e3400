// Package stepserver is the node daemon's step server: srun calls it on
// every node of a job step to launch the node's tasks (POST /v1/steps),
// streams their output and exit codes back as newline-delimited
// api.StepFrame objects, forwards signals to them (POST
// /v1/steps/{job}.{step}/signal) and answers their live usage (GET
// /v1/steps/{job}.{step}/usage, also for {job}.batch). When the node's part
// of a step ends, the server reports it to the controller (api.StepReport).
//
// Callers authenticate with a MUNGE credential bound to the request
// (api.MungePayload), decoded by the node's munged; only the job's user and
// root may act on a job's steps. Tasks of host jobs run as processes of the
// job's user in the step's cgroup, <node cgroup>/job-ID-RUN/step-ID, below
// the job's own, so that killing the job's cgroup (its end, the fence)
// kills its steps too.
package stepserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// Jobs tells the server which jobs run on this node.
type Jobs interface {
	// Job returns the job when it runs on this node now (the controller's
	// last job list allocates the node to it), else nil.
	Job(id api.JobID) *api.Job
	// Launched reports whether steps may start in the job now: on the node
	// that runs its batch script, once that run has a process (its runner
	// has made the job's cgroup and set its limits, devices among them,
	// which cgroup v1 refuses to narrow once the group has children).
	Launched(id api.JobID) bool
}

// Controller is what the server asks of the controllers.
type Controller interface {
	// Steps lists a job's steps.
	Steps(ctx context.Context, job api.JobID) (*api.StepsResponse, error)
	// ReportStep reports the end of this node's part of a step.
	ReportStep(ctx context.Context, node string, rep api.StepReport) error
}

// Decoder decodes MUNGE credentials (munge.Client).
type Decoder interface {
	Decode(ctx context.Context, cred string) (munge.Credential, error)
}

// Config configures a step server.
type Config struct {
	// Node is this node's name.
	Node string
	// Jobs are the jobs running on this node.
	Jobs Jobs
	// Controller lists steps and takes reports.
	Controller Controller
	// Munge decodes the callers' credentials (the node's munged).
	Munge Decoder
	// CgroupParent is the node's cgroup (/PARENT/NODE): a step's tasks run
	// in CgroupParent/job-ID-RUN/step-ID.
	CgroupParent string
	// GPUs returns what the node knows of its GPUs with these indices.
	GPUs func(indices []int) ([]gpu.Device, error)
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a node's step server. Its zero value is not usable: see New.
type Server struct {
	cfg Config
	log *slog.Logger
	ctx context.Context // the daemon's: bounds reports

	mu    sync.Mutex
	steps map[stepKey]*step
	// made are the job cgroups the server made for steps (on nodes that do
	// not run the batch script), removed once their job is gone.
	made map[api.JobID]string
	wg   sync.WaitGroup
}

// stepKey names one step of a job.
type stepKey struct {
	job  api.JobID
	step int
}

// String formats the key as srun does: JOB.STEP.
func (k stepKey) String() string { return fmt.Sprintf("%d.%d", k.job, k.step) }

// New returns a step server; ctx bounds its background work (reports to
// the controller) and, once done, ends the steps it runs.
func New(ctx context.Context, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "stepserver"), ctx: ctx, steps: map[stepKey]*step{}, made: map[api.JobID]string{}}
}

// Handler returns the server's HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/steps", s.handleLaunch)
	mux.HandleFunc("POST /v1/steps/{id}/signal", s.handleSignal)
	mux.HandleFunc("POST /v1/steps/{id}/stdin", s.handleStdin)
	mux.HandleFunc("GET /v1/steps/{id}/usage", s.handleUsage)
	return mux
}

// Wait waits for the server's steps and reports to end (after the
// context given to New is done).
func (s *Server) Wait() { s.wg.Wait() }

// JobsGone kills the steps of jobs that no longer run on this node (the
// daemon calls it after every job list).
func (s *Server) JobsGone() {
	s.mu.Lock()
	var gone []*step
	for k, st := range s.steps {
		if s.cfg.Jobs.Job(k.job) == nil {
			gone = append(gone, st)
		}
	}
	groups := map[api.JobID]string{}
	for id, p := range s.made {
		if s.cfg.Jobs.Job(id) == nil && !s.hasSteps(id) {
			groups[id] = p
			delete(s.made, id)
		}
	}
	s.mu.Unlock()
	for _, st := range gone {
		st.log.Info("killing step: its job no longer runs on this node")
		st.cancel()
	}
	for id, p := range groups {
		s.removeJobGroup(id, p)
	}
}

// hasSteps reports whether a job has steps running here; the caller holds
// s.mu.
func (s *Server) hasSteps(id api.JobID) bool {
	for k := range s.steps {
		if k.job == id {
			return true
		}
	}
	return false
}

// removeJobGroup kills what is left in a job cgroup the server made and
// removes it.
func (s *Server) removeJobGroup(id api.JobID, cgPath string) {
	grp, err := cgroups.Load(cgPath)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), killTimeout)
	defer cancel()
	if err := grp.Kill(ctx); err != nil {
		s.log.Warn("cannot kill the processes left in a job's cgroup", "job", id, "err", err)
	}
	if err := grp.Destroy(); err != nil {
		s.log.Warn("cannot remove a job's cgroup", "job", id, "err", err)
	}
}

// jobCgroup is the cgroup of a job's current run on this node.
func (s *Server) jobCgroup(job *api.Job) string {
	return path.Join(s.cfg.CgroupParent, fmt.Sprintf("job-%d-%d", job.ID, job.RestartCount))
}

// parseStepID parses a path's {id}: JOB.STEP, or JOB.batch (step
// api.StepBatch) when batch is allowed.
func parseStepID(s string, batch bool) (stepKey, error) {
	jobS, stepS, ok := strings.Cut(s, ".")
	if !ok {
		return stepKey{}, fmt.Errorf("step %q: want JOB.STEP", s)
	}
	job, err := strconv.ParseUint(jobS, 10, 64)
	if err != nil || job == 0 {
		return stepKey{}, fmt.Errorf("step %q: bad job ID %q", s, jobS)
	}
	if stepS == "batch" && batch {
		return stepKey{api.JobID(job), api.StepBatch}, nil
	}
	step, err := strconv.Atoi(stepS)
	if err != nil || step < 0 {
		return stepKey{}, fmt.Errorf("step %q: bad step ID %q", s, stepS)
	}
	return stepKey{api.JobID(job), step}, nil
}
