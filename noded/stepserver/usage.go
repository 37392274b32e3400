package stepserver

import (
	"net/http"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// sample records the step's current memory use for its average and
// maximum RSS.
func (st *step) sample(grp *cgroups.Group) {
	s, err := grp.Stats()
	if err != nil {
		return
	}
	rss := int64(s.MemoryUsageBytes)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.samples++
	st.rssSum += rss
	st.rssMax = max(st.rssMax, rss)
}

// usage is what the step used so far on this node.
func (st *step) usage(grp *cgroups.Group) api.Usage {
	u := st.result("").Usage
	if grp == nil {
		return u
	}
	s, err := grp.Stats()
	if err != nil {
		st.log.Debug("no usage of the step's cgroup", "err", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	fill(&u, s)
	u.MaxRSSBytes = max(u.MaxRSSBytes, st.rssMax)
	if st.samples > 0 {
		u.AveRSSBytes = st.rssSum / st.samples
	}
	return u
}

// fill sets a usage's memory and CPU figures from a cgroup's stats
// (executor.UsageOf).
func fill(u *api.Usage, s cgroups.Stats) {
	c := executor.UsageOf(s)
	u.MaxRSSBytes, u.UserCPUMillis, u.SysCPUMillis = c.MaxRSSBytes, c.UserCPUMillis, c.SysCPUMillis
}

// handleUsage serves GET /v1/steps/{job}.{step}/usage (sstat): the live
// usage of a step running on this node, or of the job's batch step
// ({job}.batch: the run's cgroup, its steps included).
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	who, _, err := s.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	key, err := parseStepID(r.PathValue("id"), true)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	job, err := s.authorize(who, key.job)
	if err != nil {
		writeError(w, err)
		return
	}
	if key.step == api.StepBatch {
		grp, err := cgroups.Load(s.jobCgroup(job))
		if err != nil {
			writeError(w, errorf(http.StatusNotFound, "the batch step of job %d does not run on node %s", job.ID, s.cfg.Node))
			return
		}
		st, err := grp.Stats()
		if err != nil {
			writeError(w, errorf(http.StatusInternalServerError, "usage of job %d: %v", job.ID, err))
			return
		}
		writeJSON(w, http.StatusOK, executor.UsageOf(st))
		return
	}
	st := s.lookup(key)
	if st == nil {
		writeError(w, errorf(http.StatusNotFound, "step %s does not run on node %s", key, s.cfg.Node))
		return
	}
	writeJSON(w, http.StatusOK, st.usage(st.group()))
}
