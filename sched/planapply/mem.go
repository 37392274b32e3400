package planapply

import (
	"maps"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Mem is an in-memory State: the scheduler's test driver and the trace
// simulator keep their jobs in one, so their plans are applied by the same
// code as the controller's. It indexes the running jobs by node and array.
// Like the controller's store it never changes a stored job in place: a
// caller that changes a job stores a copy with PutJob.
type Mem struct {
	cfg     *api.ClusterConfig
	jobs    map[api.JobID]*api.Job
	nodes   map[string]*api.Node
	onNode  map[string]map[api.JobID]*api.Job
	running map[api.JobID]int // running tasks per array job ID
	nextID  api.JobID
}

// NewMem returns an empty state with the configuration and nodes given
// (neither is copied) whose first new job ID is 1.
func NewMem(cfg *api.ClusterConfig, nodes []*api.Node) *Mem {
	m := &Mem{cfg: cfg, jobs: map[api.JobID]*api.Job{}, nodes: map[string]*api.Node{},
		onNode: map[string]map[api.JobID]*api.Job{}, running: map[api.JobID]int{}, nextID: 1}
	for _, n := range nodes {
		m.nodes[n.Name] = n
	}
	return m
}

// Config implements State.
func (m *Mem) Config() *api.ClusterConfig { return m.cfg }

// Job implements State.
func (m *Mem) Job(id api.JobID) *api.Job { return m.jobs[id] }

// Node implements State.
func (m *Mem) Node(name string) *api.Node { return m.nodes[name] }

// RunningOn implements State; the jobs are in ID order.
func (m *Mem) RunningOn(node string) []*api.Job {
	on := m.onNode[node]
	out := make([]*api.Job, 0, len(on))
	for _, id := range slices.Sorted(maps.Keys(on)) {
		out = append(out, on[id])
	}
	return out
}

// RunningTasks implements State.
func (m *Mem) RunningTasks(array api.JobID) int { return m.running[array] }

// NewJobID implements State.
func (m *Mem) NewJobID() (api.JobID, error) {
	id := m.nextID
	m.nextID++
	return id, nil
}

// NextJobID is the ID the next new job gets.
func (m *Mem) NextJobID() api.JobID { return m.nextID }

// PutJob implements State. A job with an ID at or past the counter moves
// the counter past it.
func (m *Mem) PutJob(j *api.Job) error {
	if old := m.jobs[j.ID]; old != nil {
		m.unindex(old)
	}
	m.jobs[j.ID] = j
	m.index(j)
	m.nextID = max(m.nextID, j.ID+1)
	return nil
}

// Jobs returns every job, by ID.
func (m *Mem) Jobs() []*api.Job {
	out := make([]*api.Job, 0, len(m.jobs))
	for _, id := range slices.Sorted(maps.Keys(m.jobs)) {
		out = append(out, m.jobs[id])
	}
	return out
}

func (m *Mem) index(j *api.Job) {
	if j.State != api.JobRunning {
		return
	}
	for _, a := range j.Alloc {
		on := m.onNode[a.Node]
		if on == nil {
			on = map[api.JobID]*api.Job{}
			m.onNode[a.Node] = on
		}
		on[j.ID] = j
	}
	if j.IsArrayTask() {
		m.running[j.ArrayJobID]++
	}
}

func (m *Mem) unindex(j *api.Job) {
	if j.State != api.JobRunning {
		return
	}
	for _, a := range j.Alloc {
		delete(m.onNode[a.Node], j.ID)
	}
	if j.IsArrayTask() {
		if m.running[j.ArrayJobID]--; m.running[j.ArrayJobID] <= 0 {
			delete(m.running, j.ArrayJobID)
		}
	}
}
