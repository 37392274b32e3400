package sched

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// pass is one scheduling pass: the cluster's state as it evolves while the
// plan is made.
type pass struct {
	in  Input
	now int64
	set *settings

	nodes      []*nodeState // natural name order
	nodeByName map[string]*nodeState
	parts      []*partState // configuration order
	partByName map[string]*partState

	active       []*api.Job               // see activeJob
	arrayMembers map[api.JobID][]*api.Job // active jobs of each job array, by array job ID
	running      []*runJob
	runStore     []runJob             // backing store of running (allocated once)
	entries      []*entry             // pending jobs, in queue order once sorted
	entryStore   []entry              // backing store of entries (allocated once)
	byID         map[api.JobID]*entry // see entryByID
	tresKeys     []string
	accts        map[string]*acctPass
	// factors, by entry index, are kept for Priorities only.
	keepFactors bool
	factors     []factors
	stamp       int32
	// Sweep scratch, by node index: the stamp of the sweep that last
	// touched the node, the job's GPU type index there, and an upper bound
	// of its free GPUs of that type at the sweep's time.
	sweepStamp []int32
	sweepTi    []int8
	sweepFree  []int

	// Counters that starts in this pass update.
	acctJobs     map[string]int    // running jobs per account subtree
	acctGPUs     map[string]int    // GPUs per account subtree
	userJobs     map[[2]string]int // (account, user) -> running jobs in the account's subtree
	userGPUs     map[[2]string]int
	used         map[[2]string]int // (guarantee account, partition) -> GPUs held or promised
	arrayRunning map[api.JobID]int
	singletons   map[[2]string]bool // (name, user) of running jobs; built when needed

	blockedAny   bool // some job waits for resources: later starts are backfill
	tested       int  // jobs tested since then (Backfill.MaxJobs)
	preemptFails map[preemptKey]bool
	// preemptSearches counts victim searches (maxPreemptSearches).
	preemptSearches int

	plan api.Plan
}

// partState is one partition during a pass.
type partState struct {
	cfg     api.Partition
	self    []*partState // a list of just this partition, shared by jobs
	idx     int
	members []*nodeState // natural order; a node's position is its index here
	pools   map[string]*pool
	tot     partTotals
	tl      timeline
	running []*runJob
	victims map[string][]*runJob // see victimsIn
	everFit map[shapeKey]bool

	blocked  bool // mode none: a job waits for resources here, nothing passes it
	waiting  bool // a job waits for resources here: later ones wait for Priority
	resvLeft int  // reservations left (<0: unlimited)
}

// shapeKey is a job's per-node shape, for memos.
type shapeKey struct {
	nodes int
	nd    need
}

// runJob is a running job.
type runJob struct {
	job    *api.Job
	acct   string
	gacct  string // the account whose guarantee covers it in its partition
	gpus   int
	end    int64
	part   *partState
	allocs []api.NodeAlloc
	nodes  []*nodeState // parallel to allocs; nil for unknown nodes
	victim bool         // chosen as a preemption victim in this pass
	// preemptable: its preempt mode is not off, it ran its minimum run
	// time, and it is not being stopped.
	preemptable bool
}

// entry is a pending job (or job array record) in the queue.
type entry struct {
	idx   int32
	job   *api.Job
	acct  string
	ap    *acctPass // what the pass knows about acct
	held  bool
	named []*partState // the partitions it may run in, in its order
	parts []*partState // those it can start in (up, within limits, could fit)
	ref   *partState   // the partition its factors refer to

	nodes int
	cpu   int // per node
	gpu   int // per node
	gtype string

	reason    string // why it cannot start at all in this pass ("" = eligible so far)
	expected  int64
	singleton bool

	arrayRec bool
	tasks    api.TaskIDs
	next     int // tasks[next] is the next to start
	arrayID  api.JobID
	throttle int

	started  bool
	promised bool // running jobs are being stopped for it (Kill.For)
	// promisedIn is the partition of those jobs, where its GPUs already
	// count against its account's guarantee.
	promisedIn *partState
	// promiseNodes are the nodes where the victims' resources are claimed
	// for it until its reservation replaces those claims.
	promiseNodes []*nodeState
	tested       bool

	own  float64
	prio float64
	tier int

	// exclude are the nodes the job may not run on: its --exclude and,
	// after a retried failure, the nodes of the failed run (see
	// avoidNodes). Nil when there are none.
	exclude []string
}

func (e *entry) assocKey() string { return api.AssocKey(e.acct, e.job.Spec.User) }

// memIn is the job's memory per node in partition p: NeedIn's MemoryMB,
// without building the whole need on this hot path.
func (e *entry) memIn(p *partState) int64 {
	if p == nil {
		return max(e.job.Spec.MemoryMB, 0)
	}
	return e.job.Spec.MemoryIn(p.cfg)
}

// needIn is what the job needs on each node in partition p.
func (e *entry) needIn(p *partState) need {
	return need{cpu: e.cpu, mem: e.memIn(p), gpu: e.gpu, gtype: e.gtype}
}

// durIn is the job's time limit in partition p, in seconds (forever for
// unlimited).
func (e *entry) durIn(p *partState) int64 {
	d := e.job.Spec.TimeLimitIn(p.cfg)
	if api.Unlimited(d) {
		return forever
	}
	return max(d, 1)
}

// remaining reports whether the entry still has something to start.
func (e *entry) remaining() bool {
	if e.arrayRec {
		return e.next < len(e.tasks)
	}
	return !e.started
}

// totalGPUs is what one start of the entry takes.
func (e *entry) totalGPUs() int { return e.nodes * e.gpu }

// newPass builds the pass's state from the input.
func newPass(in Input) *pass { return newPassFor(in, false) }

// newPassFor builds a pass; keepFactors keeps each job's priority factors
// (for Priorities).
func newPassFor(in Input, keepFactors bool) *pass {
	ps := &pass{keepFactors: keepFactors,
		in: in, now: in.Now, set: newSettings(&in.Config),
		nodeByName: map[string]*nodeState{}, partByName: map[string]*partState{},
		arrayMembers: map[api.JobID][]*api.Job{}, accts: map[string]*acctPass{},
		acctJobs: map[string]int{}, acctGPUs: map[string]int{}, userJobs: map[[2]string]int{}, userGPUs: map[[2]string]int{},
		used: map[[2]string]int{}, arrayRunning: map[api.JobID]int{}, preemptFails: map[preemptKey]bool{},
		plan: api.Plan{Now: in.Now},
	}
	ps.buildNodes()
	ps.buildPartitions()
	nRun, nPend := 0, 0
	for _, j := range in.Jobs {
		if j != nil && j.State == api.JobRunning {
			nRun++
		} else if j != nil && j.State == api.JobPending {
			nPend++
		}
	}
	ps.runStore = make([]runJob, 0, nRun)
	ps.entryStore = make([]entry, 0, nPend)
	for _, j := range in.Jobs {
		if j == nil || (j.State != api.JobRunning && j.State != api.JobPending) {
			continue
		}
		if j.ArrayJobID != 0 {
			ps.arrayMembers[j.ArrayJobID] = append(ps.arrayMembers[j.ArrayJobID], j)
		}
		if j.State == api.JobRunning {
			ps.addRunning(j)
		}
	}
	ps.buildPools()
	for _, j := range in.Jobs {
		if j != nil && j.State == api.JobPending {
			ps.addEntry(j)
		}
	}
	ps.computePriorities()
	ps.sortQueue()
	ps.buildPromises()
	return ps
}

func (ps *pass) buildNodes() {
	na := &nodeAlloc{nodes: make([]nodeState, len(ps.in.Nodes)), types: map[string][]string{}}
	ps.nodes = make([]*nodeState, 0, len(ps.in.Nodes))
	for _, n := range ps.in.Nodes {
		if n == nil {
			continue
		}
		if _, dup := ps.nodeByName[n.Name]; dup {
			continue
		}
		x := na.newNodeState(n)
		ps.nodeByName[n.Name] = x
		ps.nodes = append(ps.nodes, x)
	}
	slices.SortFunc(ps.nodes, func(a, b *nodeState) int {
		return cmp.Or(naturalCompare(a.n.Name, b.n.Name), strings.Compare(a.n.Name, b.n.Name))
	})
	for i, x := range ps.nodes {
		x.idx = int32(i)
	}
}

func (ps *pass) buildPartitions() {
	for i, pc := range ps.in.Config.Partitions {
		if _, dup := ps.partByName[pc.Name]; dup {
			continue
		}
		p := &partState{cfg: pc, idx: i, pools: map[string]*pool{}, everFit: map[shapeKey]bool{},
			resvLeft: ps.set.bfResv, tot: partTotals{gpuByType: map[string]int{}}}
		if len(pc.Nodes) > 0 {
			for _, name := range pc.Nodes {
				if x := ps.nodeByName[name]; x != nil && !slices.Contains(p.members, x) {
					p.members = append(p.members, x)
				}
			}
			slices.SortFunc(p.members, func(a, b *nodeState) int { return cmp.Compare(a.idx, b.idx) })
		} else {
			for _, x := range ps.nodes {
				if slices.Contains(x.n.Partitions, pc.Name) {
					p.members = append(p.members, x)
				}
			}
		}
		for pos, x := range p.members {
			x.parts = append(x.parts, partPos{p, int32(pos)})
			p.tot.nodes++
			p.tot.cpus += x.n.Resources.CPUs
			p.tot.mem += x.n.Resources.MemoryMB
			p.tot.gpus += x.capAll
			for ti, t := range x.types {
				p.tot.gpuByType[strings.ToLower(t)] += x.capT[ti]
			}
		}
		p.self = []*partState{p}
		ps.parts = append(ps.parts, p)
		ps.partByName[pc.Name] = p
	}
}

// buildPools indexes each partition's usable nodes by free GPUs, once the
// running jobs' allocations are subtracted.
func (ps *pass) buildPools() {
	for _, p := range ps.parts {
		maxFree := map[string]int{"": 0}
		for _, x := range p.members {
			if !x.usable {
				continue
			}
			maxFree[""] = max(maxFree[""], x.capAll)
			for ti, t := range x.types {
				lt := strings.ToLower(t)
				maxFree[lt] = max(maxFree[lt], x.capT[ti])
			}
		}
		for _, t := range sortedKeys(maxFree) {
			p.pools[t] = newPool(t, len(p.members), maxFree[t])
		}
		for pos, x := range p.members {
			if !x.usable {
				continue
			}
			p.pools[""].set(x.freeAll, int32(pos))
			for ti, t := range x.types {
				p.pools[strings.ToLower(t)].set(x.freeT[ti], int32(pos))
			}
		}
	}
}

// reindex moves a node between buckets after its free GPUs changed.
func (ps *pass) reindex(x *nodeState, oldAll int, oldT []int) {
	if !x.usable {
		return
	}
	for _, pp := range x.parts {
		if pl := pp.p.pools[""]; pl != nil && oldAll != x.freeAll {
			pl.clear(oldAll, pp.pos)
			pl.set(x.freeAll, pp.pos)
		}
		for ti, t := range x.types {
			if oldT[ti] == x.freeT[ti] {
				continue
			}
			if pl := pp.p.pools[strings.ToLower(t)]; pl != nil {
				pl.clear(oldT[ti], pp.pos)
				pl.set(x.freeT[ti], pp.pos)
			}
		}
	}
}

// endOf is when a running job is expected to free its resources: at its
// kill request plus grace when it is being stopped, else at its start plus
// its time limit; never before the next second.
func (ps *pass) endOf(j *api.Job, p *partState) int64 {
	var end int64
	switch {
	case j.Kill != nil:
		grace := int64(j.Kill.GraceSecs)
		if grace <= 0 {
			grace = DefaultKillGraceSecs
		}
		end = max(j.Kill.RequestedAt, j.StartTime) + grace
	default:
		var limit int64
		if p != nil {
			limit = j.Spec.TimeLimitIn(p.cfg)
		} else {
			limit = j.Spec.TimeLimitSecs
			if limit <= 0 {
				limit = api.DefaultTimeLimitSecs
			}
		}
		if api.Unlimited(limit) {
			return forever
		}
		end = j.StartTime + limit
	}
	return max(end, ps.now+1)
}

// addRunning accounts for a running job: its resources, its release, and
// the limit and guarantee counters.
func (ps *pass) addRunning(j *api.Job) {
	p := ps.partByName[j.Partition]
	ps.runStore = append(ps.runStore, runJob{job: j, acct: ps.set.accountOf(&j.Spec), part: p, allocs: j.Alloc})
	r := &ps.runStore[len(ps.runStore)-1]
	r.end = ps.endOf(j, p)
	for _, a := range j.Alloc {
		r.gpus += len(a.GPUs)
		x := ps.nodeByName[a.Node]
		r.nodes = append(r.nodes, x)
		if x == nil {
			continue
		}
		x.occupy(a, r.end)
		if j.Spec.Exclusive {
			x.excl++
		}
	}
	if p != nil {
		_, modeOK := ps.set.preemptMode(j)
		r.preemptable = modeOK && j.Kill == nil && ps.now-j.StartTime >= ps.set.minRuntimeOf(j)
		r.gacct, _ = ps.set.guarantee(r.acct, p.cfg.Name)
		p.running = append(p.running, r)
		if j.Kill == nil {
			ps.used[[2]string{r.gacct, p.cfg.Name}] += r.gpus
		}
	}
	ps.countStart(r.acct, j.Spec.User, r.gpus)
	if j.IsArrayTask() {
		ps.arrayRunning[j.ArrayJobID]++
	}
	ps.running = append(ps.running, r)
}

// countStart adds a running job to the account and user limit counters
// (when some account has limits).
func (ps *pass) countStart(acct, user string, gpus int) {
	if !ps.set.limits {
		return
	}
	for _, a := range ps.set.chain(acct) {
		ps.acctJobs[a]++
		ps.acctGPUs[a] += gpus
		k := [2]string{a, user}
		ps.userJobs[k]++
		ps.userGPUs[k] += gpus
	}
}

// addEntry adds a pending job to the queue with its static checks done.
func (ps *pass) addEntry(j *api.Job) {
	ps.entryStore = ps.entryStore[:len(ps.entryStore)+1]
	e := &ps.entryStore[len(ps.entryStore)-1]
	e.idx, e.job, e.acct = int32(len(ps.entries)), j, ps.set.accountOf(&j.Spec)
	e.nodes = max(j.Spec.Nodes, 1)
	e.cpu, e.gpu, e.gtype = needCPUs(&j.Spec), needGPUs(&j.Spec), j.Spec.GPUType
	e.ap = ps.acctOf(e.acct)
	e.held = j.Spec.Hold || j.Reason == api.ReasonHeldUser || j.Reason == api.ReasonHeldAdmin
	if j.IsArrayRecord() {
		e.arrayRec, e.tasks = true, j.ArrayPending
		if len(e.tasks) == 0 {
			ps.entryStore = ps.entryStore[:len(ps.entryStore)-1]
			return
		}
	}
	if j.ArrayJobID != 0 {
		// A task split off its array keeps the array's throttle, which
		// the record holds.
		e.arrayID, e.throttle = j.ArrayJobID, j.ArrayMaxRun
		if rec := ps.activeJob(j.ArrayJobID); rec != nil && rec != j && rec.IsArrayRecord() {
			e.throttle = rec.ArrayMaxRun
		}
	}
	ps.entries = append(ps.entries, e)

	switch {
	case len(j.Spec.Partitions) == 0:
		if def, ok := ps.in.Config.DefaultPartition(); ok {
			e.named = ps.partByName[def.Name].self
		}
	case len(j.Spec.Partitions) == 1:
		if p := ps.partByName[j.Spec.Partitions[0]]; p != nil {
			e.named = p.self // shared, never modified
		}
	default:
		for _, name := range j.Spec.Partitions {
			if p := ps.partByName[name]; p != nil && !slices.Contains(e.named, p) {
				e.named = append(e.named, p)
			}
		}
	}
	if len(e.named) > 0 {
		e.ref = e.named[0]
		for _, p := range e.named {
			e.tier = max(e.tier, p.cfg.PriorityTier)
		}
		if e.tier < 0 {
			e.tier = 0
		}
	}

	switch {
	case e.held:
		e.reason = api.ReasonHeldUser
		if j.Reason == api.ReasonHeldAdmin {
			e.reason = api.ReasonHeldAdmin
		}
		return
	case len(e.named) == 0:
		e.reason = ReasonPartitionConfig
		return
	}
	st, single := ps.checkDependency(j)
	switch st {
	case depWait:
		e.reason = api.ReasonDependency
		return
	case depNever:
		e.reason = ReasonDependencyNever
		return
	}
	e.singleton = single
	if j.Spec.BeginTime > ps.now {
		e.reason, e.expected = api.ReasonBeginTime, j.Spec.BeginTime
		return
	}
	// Partitions: up, time limit, node count, capacity.
	var reasons []string
	for i, p := range e.named {
		switch {
		case !p.cfg.Up():
			reasons = append(reasons, api.ReasonPartitionDown)
		case p.cfg.MaxTimeSecs > 0 && j.Spec.TimeLimitIn(p.cfg) > p.cfg.MaxTimeSecs:
			reasons = append(reasons, api.ReasonPartitionLimit)
		case len(p.members) > 0 && e.nodes > len(p.members):
			reasons = append(reasons, ReasonPartitionNodeLimit)
		case !ps.couldEverFit(p, e):
			reasons = append(reasons, ReasonBadConstraints)
		case len(e.parts) == i:
			e.parts = e.named[:i+1] // every one so far passed: share the list
		default:
			e.parts = append(slices.Clip(e.parts), p)
		}
	}
	e.exclude = ps.excludeFor(e)
	if len(e.parts) == 0 {
		// The most telling reason: the order of the checks.
		for _, r := range []string{api.ReasonPartitionDown, api.ReasonPartitionLimit, ReasonPartitionNodeLimit, ReasonBadConstraints} {
			if slices.Contains(reasons, r) {
				e.reason = r
				break
			}
		}
	}
}

// couldEverFit reports whether the job would fit partition p with every
// node empty and up. A partition with no nodes yet could: nodes may still
// register.
func (ps *pass) couldEverFit(p *partState, e *entry) bool {
	if len(p.members) == 0 {
		return true
	}
	key := shapeKey{e.nodes, e.needIn(p)}
	key.nd.gtype = strings.ToLower(key.nd.gtype)
	if v, ok := p.everFit[key]; ok {
		return v
	}
	n := 0
	for _, x := range p.members {
		ti := x.typeIdx(key.nd.gtype)
		if ti != -2 && x.n.Resources.CPUs >= key.nd.cpu && x.n.Resources.MemoryMB >= key.nd.mem && x.capOf(ti) >= key.nd.gpu {
			n++
		}
	}
	ok := n >= key.nodes
	p.everFit[key] = ok
	return ok
}

// acctPass is what a pass knows about one account named by jobs, looked up
// once per account rather than once per job.
type acctPass struct {
	chain []string    // the account and its configured ancestors
	info  []*acctInfo // parallel to chain
	// guaranteed: an account of chain has a guarantee in some partition.
	guaranteed bool
	group      int                // exchangeWithinAccounts scratch
	fs         map[string]float64 // user -> fair-share factor
}

// acctOf returns the account's record, made on first use.
func (ps *pass) acctOf(name string) *acctPass {
	if ap := ps.accts[name]; ap != nil {
		return ap
	}
	ap := &acctPass{chain: ps.set.chain(name), group: -1, fs: map[string]float64{}}
	for _, a := range ap.chain {
		ai := ps.set.accounts[a]
		ap.info = append(ap.info, ai)
		if len(ai.cfg.Guarantees) > 0 {
			ap.guaranteed = true
		}
	}
	ps.accts[name] = ap
	return ap
}

// activeJob finds a pending or running job of the input by ID (job IDs are
// unique); the index, a sorted list, is built on first use.
func (ps *pass) activeJob(id api.JobID) *api.Job {
	if ps.active == nil {
		ps.active = make([]*api.Job, 0, len(ps.in.Jobs))
		for _, j := range ps.in.Jobs {
			if j != nil && (j.State == api.JobRunning || j.State == api.JobPending) {
				ps.active = append(ps.active, j)
			}
		}
		byID := func(a, b *api.Job) int { return cmp.Compare(a.ID, b.ID) }
		if !slices.IsSortedFunc(ps.active, byID) {
			slices.SortFunc(ps.active, byID)
		}
	}
	k, ok := slices.BinarySearchFunc(ps.active, id, func(j *api.Job, id api.JobID) int { return cmp.Compare(j.ID, id) })
	if !ok {
		return nil
	}
	return ps.active[k]
}

// entryByID finds a pending entry by job ID; the index is built on first use.
func (ps *pass) entryByID(id api.JobID) *entry {
	if ps.byID == nil {
		ps.byID = make(map[api.JobID]*entry, len(ps.entries))
		for _, e := range ps.entries {
			ps.byID[e.job.ID] = e
		}
	}
	return ps.byID[id]
}

// buildPromises turns the resources of running jobs being stopped for a
// pending job (Kill.For) into claims for that job: nobody else gets them
// when they free, and no more is preempted for it.
func (ps *pass) buildPromises() {
	counted := map[[2]string]bool{}
	for _, r := range ps.running {
		k := r.job.Kill
		if k == nil || k.For == 0 {
			continue
		}
		e := ps.entryByID(k.For)
		if e == nil || e.reason != "" || !e.remaining() {
			continue
		}
		e.promised = true
		e.expected = max(e.expected, r.end)
		for i, a := range r.allocs {
			x := r.nodes[i]
			if x == nil {
				continue
			}
			x.claims = append(x.claims, claim{owner: e.idx, start: r.end, end: forever, cpu: a.CPUs, mem: a.MemoryMB, gpu: len(a.GPUs)})
			e.promiseNodes = append(e.promiseNodes, x)
		}
		if r.part != nil {
			e.promisedIn = r.part
			ga, _ := ps.set.guarantee(e.acct, r.part.cfg.Name)
			key := [2]string{ga, r.part.cfg.Name}
			if ck := [2]string{e.job.ID.String(), r.part.cfg.Name}; !counted[ck] {
				counted[ck] = true
				ps.used[key] += e.totalGPUs()
			}
		}
	}
}

// schedule runs the pass and fills the plan's Stats.
func (ps *pass) schedule() api.Plan {
	plan := ps.run()
	plan.Stats = ps.stats(&plan)
	return plan
}

// stats counts what the pass did (Slurm's sdiag figures). A job was tested
// when the pass tried to start it: it started, waits for Resources (the
// first blocked job of its partitions), got a reservation or a preemption,
// or was tested after a job blocked (its backfill test, e.tested). Jobs
// that an eligibility rule, a limit or the backfill budget stopped first
// were not.
func (ps *pass) stats(plan *api.Plan) api.PassStats {
	st := api.PassStats{Pending: len(ps.entryStore), BackfillTested: ps.tested}
	preemptedFor := make(map[api.JobID]bool, len(plan.Preemptions))
	for _, pr := range plan.Preemptions {
		preemptedFor[pr.For] = true
	}
	for i := range ps.entryStore {
		e := &ps.entryStore[i]
		starts := 0
		switch {
		case e.arrayRec:
			starts = e.next
		case e.started:
			starts = 1
		}
		waits := e.reason == api.ReasonResources || e.reason == api.ReasonPriority
		if e.expected != 0 && waits && !e.promised && !preemptedFor[e.job.ID] {
			st.Reservations++ // a backfill reservation, not a begin time or victims' end
		}
		if e.tested {
			st.BackfillStarts += starts
		}
		if e.tested || starts > 0 || e.reason == api.ReasonResources || (e.expected != 0 && waits) || preemptedFor[e.job.ID] {
			st.Tested++
		}
	}
	return st
}
