package ctld

import (
	"sync"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// preemptionWatch follows preemptions for the metrics: it counts the
// preemptions each committed plan made, by reason, and measures the time
// from the first preemption made for a job (its victims' Kill.RequestedAt)
// to that job's start. The waits are rebuilt from the state on every pass
// (the running jobs' Kill.For), so a new leader picks up preemptions its
// predecessor made while their victims still run.
type preemptionWatch struct {
	mu      sync.Mutex
	waiting map[api.JobID]int64 // preemptor -> earliest RequestedAt of its victims
}

func newPreemptionWatch() *preemptionWatch {
	return &preemptionWatch{waiting: map[api.JobID]int64{}}
}

// observe records the victims being stopped in jobs (a pass's active jobs)
// and forgets the preemptors that are no longer pending (cancelled, or
// started without being counted by a leader that saw it).
func (p *preemptionWatch) observe(jobs []*api.Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending := map[api.JobID]bool{}
	for _, j := range jobs {
		if j.State == api.JobPending {
			pending[j.ID] = true
		}
	}
	for _, j := range jobs {
		if k := j.Kill; j.State == api.JobRunning && k != nil && k.For != 0 && pending[k.For] {
			if at, ok := p.waiting[k.For]; !ok || k.RequestedAt < at {
				p.waiting[k.For] = k.RequestedAt
			}
		}
	}
	for id := range p.waiting {
		if !pending[id] {
			delete(p.waiting, id)
		}
	}
}

// committed accounts for a committed plan: the preemptions that took effect
// in st (the job is being stopped by this plan's kill) are counted by
// reason, and the wait of each started preemptor is observed.
func (p *preemptionWatch) committed(m *metrics, st *raftstore.State, plan *api.Plan, started []api.JobID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range plan.Preemptions {
		j, ok := st.Job(pr.JobID)
		if !ok || j.Kill == nil || j.Kill.State != api.JobPreempted || j.Kill.RequestedAt != plan.Now || j.Kill.For != pr.For {
			continue // skipped at apply (already stopping, preempt mode off)
		}
		reason := pr.Reason
		if reason == "" {
			reason = "other"
		}
		m.preemptions.WithLabelValues(reason).Inc()
		if pr.For != 0 {
			if at, ok := p.waiting[pr.For]; !ok || plan.Now < at {
				p.waiting[pr.For] = plan.Now
			}
		}
	}
	for _, id := range started {
		at, ok := p.waiting[id]
		if !ok {
			continue
		}
		delete(p.waiting, id)
		m.preemptionWait.Observe(float64(max(plan.Now-at, 0)))
	}
}
