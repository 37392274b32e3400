package raftstore

import (
	"cmp"
	"maps"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched"
	memdb "github.com/hashicorp/go-memdb"
)

// State is a consistent, read-only view of the replicated state at one raft
// index. It stays valid and unchanged however the store changes afterwards,
// so the scheduler can work on it for as long as it likes. Every object it
// returns is a copy the caller may modify.
type State struct {
	txn  *memdb.Txn
	meta *meta
}

// newState wraps a memdb transaction.
func newState(txn *memdb.Txn) *State {
	return &State{txn: txn, meta: getMeta(txn)}
}

// Index returns the raft index of the last command the view reflects.
func (st *State) Index() uint64 { return st.meta.Index }

// Config returns the cluster configuration (the zero value if never set).
func (st *State) Config() api.ClusterConfig { return copyConfig(st.meta.Config) }

// NextJobID returns the ID the next submitted job will get.
func (st *State) NextJobID() api.JobID { return st.meta.NextJobID }

// Job returns a job by ID.
func (st *State) Job(id api.JobID) (*api.Job, bool) {
	j := getJob(st.txn, id)
	if j == nil {
		return nil, false
	}
	return copyJob(j), true
}

// Jobs returns every job, ordered by ID.
func (st *State) Jobs() []*api.Job {
	return copyJobs(allJobs(st.txn))
}

// ActiveJobs returns the PENDING and RUNNING jobs, ordered by ID.
func (st *State) ActiveJobs() []*api.Job {
	jobs := append(jobsInState(st.txn, api.JobPending), jobsInState(st.txn, api.JobRunning)...)
	slices.SortFunc(jobs, func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) })
	return copyJobs(jobs)
}

// JobRef returns the job a reference names (a copy): the job, or with a
// task the array task (its own job once started, else the array's record).
func (st *State) JobRef(ref api.JobRef) (*api.Job, bool) {
	if ref.Task != nil {
		return st.ArrayTask(ref.ID, *ref.Task)
	}
	return st.Job(ref.ID)
}

// ActiveJobsShared returns the PENDING and RUNNING jobs as stored, ordered
// by ID, without copying them. The store never changes a stored job in
// place, so they stay as they are; the caller must not modify them. The
// leader's scheduling pass reads them this way: copying every active job
// was the pass's main cost.
func (st *State) ActiveJobsShared() []*api.Job {
	jobs := append(jobsInState(st.txn, api.JobPending), jobsInState(st.txn, api.JobRunning)...)
	slices.SortFunc(jobs, func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs
}

// JobsShared returns the stored jobs in the given states (none: every
// job), ordered by ID, without copying them; with user set, only the jobs
// of that user name (read through the user index, not a scan). As with
// ActiveJobsShared the caller must not modify them. The job lists (GET
// /v1/jobs) read them this way: deep-copying 200,000 jobs to list them was
// the list's main cost.
func (st *State) JobsShared(user string, states ...api.JobState) []*api.Job {
	var jobs []*api.Job
	switch {
	case user != "":
		jobs = collectJobs(st.txn.Get(tableJobs, indexUser, user))
		if len(states) > 0 {
			jobs = slices.DeleteFunc(jobs, func(j *api.Job) bool { return !slices.Contains(states, j.State) })
		}
		return jobs
	case len(states) == 0:
		return allJobs(st.txn)
	}
	for i, s := range states {
		if slices.Contains(states[:i], s) {
			continue
		}
		jobs = append(jobs, jobsInState(st.txn, s)...)
	}
	if len(states) > 1 {
		slices.SortFunc(jobs, func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) })
	}
	return jobs
}

// ArrayJobsShared is ArrayJobs without copying: the caller must not modify
// the jobs.
func (st *State) ArrayJobsShared(id api.JobID) []*api.Job {
	return arrayJobs(st.txn, id)
}

// JobShared is Job without copying: the caller must not modify the job.
func (st *State) JobShared(id api.JobID) (*api.Job, bool) {
	j := getJob(st.txn, id)
	return j, j != nil
}

// ArrayJobs returns the jobs of the job array id — its record and every
// task still retained — ordered by ID; nil when id is not a job array.
func (st *State) ArrayJobs(id api.JobID) []*api.Job {
	return copyJobs(arrayJobs(st.txn, id))
}

// ArrayTask resolves task `task` of the job array id: the task's own job once
// it has started (or was cancelled), else the array's record while the task
// is still pending in it. ok is false when the array has no such task.
func (st *State) ArrayTask(id api.JobID, task int) (j *api.Job, ok bool) {
	var rec *api.Job
	for _, a := range arrayJobs(st.txn, id) {
		switch {
		case a.IsArrayTask() && a.ArrayTaskID == task:
			return copyJob(a), true
		case a.IsArrayRecord():
			rec = a
		}
	}
	if rec != nil && rec.ArrayPending.Contains(task) {
		return copyJob(rec), true
	}
	return nil, false
}

// JobsOnNode returns the RUNNING jobs with an allocation on the node (those
// being stopped included), ordered by ID.
func (st *State) JobsOnNode(name string) []*api.Job {
	return copyJobs(runningJobsOnNode(st.txn, name))
}

// Node returns a node by name, with Used and State derived from the jobs
// running on it.
func (st *State) Node(name string) (*api.Node, bool) {
	n := getNode(st.txn, name)
	if n == nil {
		return nil, false
	}
	return st.derivedNode(n), true
}

// NodeMark is what a node's heartbeat needs of its stored row: whether an
// administrator or the controller marked it DOWN or DRAIN, and why.
type NodeMark struct {
	// State is the stored state: DOWN or DRAIN when marked; any other
	// value means neither (the derived IDLE/MIXED/ALLOCATED is not
	// computed).
	State api.NodeState
	// Reason and ReasonUser are the mark's reason and who set it ("" when
	// the controller did).
	Reason, ReasonUser string
}

// NodeMark returns a node's mark without deriving its usage (Node does),
// and whether the node is registered.
func (st *State) NodeMark(name string) (NodeMark, bool) {
	n := getNode(st.txn, name)
	if n == nil {
		return NodeMark{}, false
	}
	return NodeMark{State: n.State, Reason: n.Reason, ReasonUser: n.ReasonUser}, true
}

// LeaseTerms returns the configuration's node lease and fencing grace in
// seconds (api.ClusterConfig.NodeLease and FenceGrace) without copying the
// configuration, for the heartbeats.
func (st *State) LeaseTerms() (leaseSecs, fenceGraceSecs int64) {
	return st.meta.Config.NodeLease(), st.meta.Config.FenceGrace()
}

// NodesShared returns every node as stored, ordered by name: its
// registration and stored state (DOWN and DRAIN; not the IDLE, MIXED or
// ALLOCATED and the usage Nodes derives from the running jobs). They are
// the store's own objects: read-only. The scheduling pass reads them so,
// since the scheduler derives each node's usage from the running jobs it
// is given; copying and deriving 10,000 nodes on every pass was a tenth of
// the leader's allocations.
func (st *State) NodesShared() []*api.Node {
	nodes, _ := st.nodesStatic()
	return nodes
}

// Nodes returns every node ordered by name, with Used and State derived from
// the jobs running on them: DOWN and DRAIN as stored, otherwise IDLE, MIXED or
// ALLOCATED (all CPUs or all GPUs in use).
func (st *State) Nodes() []*api.Node {
	var out []*api.Node
	it, err := st.txn.Get(tableNodes, indexID)
	if err != nil {
		return nil
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, st.derivedNode(raw.(*api.Node)))
	}
	return out
}

// Controllers returns the controllers that have recorded their HTTP address,
// ordered by ID.
func (st *State) Controllers() []Controller {
	var out []Controller
	it, err := st.txn.Get(tableControllers, indexID)
	if err != nil {
		return nil
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*Controller))
	}
	return out
}

// controller returns a controller's row.
func (st *State) controller(id string) (Controller, bool) {
	raw, err := st.txn.First(tableControllers, indexID, id)
	if err != nil || raw == nil {
		return Controller{}, false
	}
	return *raw.(*Controller), true
}

// controllerAddr returns the recorded HTTP address of a controller.
func (st *State) controllerAddr(id string) string {
	c, _ := st.controller(id)
	return c.HTTPAddr
}

// derivedNode copies a stored node and fills Used and the derived state.
func (st *State) derivedNode(stored *api.Node) *api.Node {
	n := copyNode(stored)
	n.Used = sched.NodeUsage(stored, runningJobsOnNode(st.txn, stored.Name))
	n.State = derivedNodeState(stored, n.Used)
	return n
}

// derivedNodeState is DOWN or DRAIN as stored, else IDLE, MIXED or ALLOCATED
// from the usage.
func derivedNodeState(n *api.Node, used api.NodeResources) api.NodeState {
	switch n.State {
	case api.NodeDown, api.NodeDrain:
		return n.State
	}
	allCPUs := n.Resources.CPUs > 0 && used.CPUs >= n.Resources.CPUs
	allGPUs := len(n.Resources.GPUs) > 0 && len(used.GPUs) >= len(n.Resources.GPUs)
	switch {
	case allCPUs || allGPUs:
		return api.NodeAllocated
	case used.CPUs > 0 || used.MemoryMB > 0 || len(used.GPUs) > 0:
		return api.NodeMixed
	}
	return api.NodeIdle
}

// arrayJobs returns the stored jobs (read-only) of the job array id (its
// record and its tasks), ordered by ID.
func arrayJobs(txn *memdb.Txn, id api.JobID) []*api.Job {
	jobs := collectJobs(txn.Get(tableJobs, indexArray, id))
	slices.SortFunc(jobs, func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs
}

// getMeta reads the meta row; a fresh store has NextJobID 1.
func getMeta(txn *memdb.Txn) *meta {
	raw, err := txn.First(tableMeta, indexID, metaKey)
	if err != nil || raw == nil {
		return &meta{Key: metaKey, NextJobID: 1}
	}
	return raw.(*meta)
}

// getJob returns the stored job (read-only) or nil.
func getJob(txn *memdb.Txn, id api.JobID) *api.Job {
	raw, err := txn.First(tableJobs, indexID, id)
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*api.Job)
}

// getNode returns the stored node (read-only) or nil.
func getNode(txn *memdb.Txn, name string) *api.Node {
	raw, err := txn.First(tableNodes, indexID, name)
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*api.Node)
}

// allJobs returns the stored jobs (read-only) ordered by ID.
func allJobs(txn *memdb.Txn) []*api.Job {
	return collectJobs(txn.Get(tableJobs, indexID))
}

// jobsInState returns the stored jobs (read-only) in a state, ordered by ID.
func jobsInState(txn *memdb.Txn, state api.JobState) []*api.Job {
	return collectJobs(txn.Get(tableJobs, indexState, string(state)))
}

// runningJobsOnNode returns the stored RUNNING jobs (read-only) with an
// allocation on the node, ordered by ID.
func runningJobsOnNode(txn *memdb.Txn, name string) []*api.Job {
	return collectJobs(txn.Get(tableJobs, indexNode, name))
}

// collectJobs drains a job iterator.
func collectJobs(it memdb.ResultIterator, err error) []*api.Job {
	if err != nil {
		return nil
	}
	var out []*api.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*api.Job))
	}
	return out
}

// copyJobs deep-copies a list of jobs.
func copyJobs(in []*api.Job) []*api.Job {
	if in == nil {
		return nil
	}
	out := make([]*api.Job, len(in))
	for i, j := range in {
		out[i] = copyJob(j)
	}
	return out
}

// copyJob deep-copies a job, so that neither side sees the other's changes.
func copyJob(in *api.Job) *api.Job { return copyJobExcept(in, false) }

// copyJobExcept deep-copies a job, its environment too unless keepEnv
// (then the copy shares it).
func copyJobExcept(in *api.Job, keepEnv bool) *api.Job {
	j := *in
	j.Spec = copySpecExcept(in.Spec, keepEnv)
	j.AvoidNodes = slices.Clone(in.AvoidNodes)
	if in.CancelledBy != nil {
		uid := *in.CancelledBy
		j.CancelledBy = &uid
	}
	if in.Alloc != nil {
		j.Alloc = make([]api.NodeAlloc, len(in.Alloc))
		for i, a := range in.Alloc {
			j.Alloc[i] = copyAlloc(a)
		}
	}
	if in.Runs != nil {
		j.Runs = make([]api.JobRun, len(in.Runs))
		for i, r := range in.Runs {
			r.Nodes = slices.Clone(r.Nodes)
			r.Usage = copyUsage(r.Usage)
			if r.Steps != nil {
				r.Steps = make([]api.Step, len(in.Runs[i].Steps))
				for k, st := range in.Runs[i].Steps {
					r.Steps[k] = copyStep(st)
				}
			}
			j.Runs[i] = r
		}
	}
	if in.SignalReq != nil {
		sr := *in.SignalReq
		j.SignalReq = &sr
	}
	if in.Kill != nil {
		k := *in.Kill
		j.Kill = &k
	}
	if in.FirstEstimate != nil {
		e := *in.FirstEstimate
		j.FirstEstimate = &e
	}
	j.ArrayPending = slices.Clone(in.ArrayPending)
	if in.FirstEstimate != nil {
		e := *in.FirstEstimate
		j.FirstEstimate = &e
	}
	return &j
}

// writeCopy is copyJob for the apply functions: the copy shares the job's
// environment, which no apply function modifies (they replace whole
// values), so that a job whose state changes keeps sharing its interned
// environment (see interner) instead of holding a clone of its own.
func writeCopy(in *api.Job) *api.Job { return copyJobExcept(in, true) }

// copyUsage deep-copies a usage record (nil stays nil).
func copyUsage(in *api.Usage) *api.Usage {
	if in == nil {
		return nil
	}
	u := *in
	return &u
}

// copyStep deep-copies a step.
func copyStep(in api.Step) api.Step {
	s := in
	s.Nodes = slices.Clone(in.Nodes)
	s.TasksPerNode = slices.Clone(in.TasksPerNode)
	s.Command = slices.Clone(in.Command)
	s.Reported = slices.Clone(in.Reported)
	s.Usage = copyUsage(in.Usage)
	return s
}

// copySpec deep-copies a job spec.
func copySpec(in api.JobSpec) api.JobSpec { return copySpecExcept(in, false) }

// copySpecExcept deep-copies a job spec, its environment too unless
// keepEnv.
func copySpecExcept(in api.JobSpec, keepEnv bool) api.JobSpec {
	s := in
	s.Partitions = slices.Clone(in.Partitions)
	s.Args = slices.Clone(in.Args)
	if !keepEnv {
		s.Env = maps.Clone(in.Env)
	}
	if in.Requeue != nil {
		r := *in.Requeue
		s.Requeue = &r
	}
	if in.Signal != nil {
		sig := *in.Signal
		s.Signal = &sig
	}
	s.ContainerMounts = slices.Clone(in.ContainerMounts)
	s.GIDs = slices.Clone(in.GIDs)
	s.NodeList = slices.Clone(in.NodeList)
	s.Exclude = slices.Clone(in.Exclude)
	return s
}

// copyAlloc deep-copies a node allocation.
func copyAlloc(in api.NodeAlloc) api.NodeAlloc {
	a := in
	a.GPUs = slices.Clone(in.GPUs)
	a.GPUUUIDs = slices.Clone(in.GPUUUIDs)
	return a
}

// copyNode deep-copies a node.
func copyNode(in *api.Node) *api.Node {
	n := *in
	n.Resources = copyResources(in.Resources)
	n.Used = copyResources(in.Used)
	n.Partitions = slices.Clone(in.Partitions)
	if in.FreeMemMB != nil {
		v := *in.FreeMemMB
		n.FreeMemMB = &v
	}
	if in.CPULoad != nil {
		v := *in.CPULoad
		n.CPULoad = &v
	}
	return &n
}

// copyResources deep-copies node resources.
func copyResources(in api.NodeResources) api.NodeResources {
	r := in
	r.GPUs = slices.Clone(in.GPUs)
	return r
}

// copyConfig deep-copies the cluster configuration.
func copyConfig(in api.ClusterConfig) api.ClusterConfig {
	c := in
	if in.Partitions != nil {
		c.Partitions = make([]api.Partition, len(in.Partitions))
		for i, p := range in.Partitions {
			p.Nodes = slices.Clone(p.Nodes)
			c.Partitions[i] = p
		}
	}
	if in.Accounts != nil {
		c.Accounts = make([]api.Account, len(in.Accounts))
		for i, a := range in.Accounts {
			a.Guarantees = maps.Clone(a.Guarantees)
			a.Users = slices.Clone(a.Users)
			a.Coordinators = slices.Clone(a.Coordinators)
			a.QOS = slices.Clone(a.QOS)
			c.Accounts[i] = a
		}
	}
	c.QOS = slices.Clone(in.QOS)
	c.Administrators = slices.Clone(in.Administrators)
	c.Operators = slices.Clone(in.Operators)
	c.Scheduling.Weights.TRES = maps.Clone(in.Scheduling.Weights.TRES)
	c.Scheduling.BillingWeights = maps.Clone(in.Scheduling.BillingWeights)
	return c
}
