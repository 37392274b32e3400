package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmdata"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

func scontrolOpts() []*opt {
	return []*opt{
		{long: "oneliner", short: 'o', kind: optFlag, usage: "print each record on one line"},
		{long: "details", short: 'd', kind: optFlag, ignored: true},
		{long: "all", short: 'a', kind: optFlag, ignored: true},
		{long: "quiet", short: 'Q', kind: optFlag, usage: "print no messages for errors"},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		dataOpts()[0], dataOpts()[1],
		addrOpt(),
		helpOpt('h'),
	}
}

// record is a scontrol "show" record: lines of Key=Value tokens.
type record [][]string

// render prints a record as scontrol does: the first line, then the others
// indented by three spaces, then a blank line; or all on one line.
func (r record) render(oneLine bool) string {
	r = r.printable()
	var b strings.Builder
	if oneLine {
		var all []string
		for _, l := range r {
			all = append(all, l...)
		}
		b.WriteString(strings.Join(all, " ") + "\n")
		return b.String()
	}
	for i, l := range r {
		if i > 0 {
			b.WriteString("   ")
		}
		b.WriteString(strings.Join(l, " ") + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// printable returns the record with every item escaped (printable).
func (r record) printable() record {
	out := make(record, len(r))
	for i, l := range r {
		out[i] = make([]string, len(l))
		for j, item := range l {
			out[i][j] = printable(item)
		}
	}
	return out
}

func kv(k string, v any) string { return fmt.Sprintf("%s=%v", k, v) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// idName prints "name(id)" as scontrol prints users and groups.
func idName(name string, id int) string {
	if name == "" {
		name = "(null)"
	}
	return fmt.Sprintf("%s(%d)", name, id)
}

// jobRecord is scontrol show job for one job. groupName resolves the job's group.
func (v *view) jobRecord(j *api.Job, groupName string) record {
	s := &j.Spec
	pending := j.State == api.JobPending
	limit := "NOT_SET"
	if secs, unlimited, known := v.timeLimit(j); unlimited {
		limit = "UNLIMITED"
	} else if known {
		limit = slurmtime.Clock(secs)
	}
	eligible := j.SubmitTime
	if s.BeginTime > eligible {
		eligible = s.BeginTime
	}
	start, end := "Unknown", "Unknown"
	switch {
	case pending && j.ExpectedStart != 0:
		start = v.date(j.ExpectedStart)
		if secs, unlimited, known := v.timeLimit(j); known && !unlimited {
			end = v.date(j.ExpectedStart + secs)
		}
	case !pending && j.StartTime != 0:
		start = v.date(j.StartTime)
		end = v.endTime(j, "Unknown")
	}
	nodes := jobNodes(j)
	numNodes := strconv.Itoa(numNodes(j))
	if pending {
		numNodes = fmt.Sprintf("%d-%d", max(s.Nodes, 1), max(s.Nodes, 1))
	}
	tasks := max(s.NTasks, max(s.Nodes, 1))
	alloc := "(null)"
	if t, ok := v.allocTRES(j); ok {
		alloc = t.scontrolString()
	}
	submitHost := s.SubmitHost
	if submitHost == "" {
		submitHost = "(null)"
	}
	first := []string{kv("JobId", j.ID)}
	switch {
	case j.IsArrayTask():
		first = append(first, kv("ArrayJobId", j.ArrayJobID), kv("ArrayTaskId", j.ArrayTaskID))
	case j.IsArrayRecord():
		first = append(first, kv("ArrayJobId", j.ArrayJobID), kv("ArrayTaskId", arrayTaskString(j)))
		if j.ArrayMaxRun > 0 {
			first = append(first, kv("ArrayTaskThrottle", j.ArrayMaxRun))
		}
	}
	r := record{
		append(first, kv("JobName", s.Name)),
		{kv("UserId", idName(s.User, s.UID)), kv("GroupId", idName(groupName, s.GID)), kv("MCS_label", "N/A")},
		{kv("Priority", j.Priority), kv("Nice", s.Nice), kv("Account", orNull(s.Account)), kv("QOS", qosName(s))},
		{kv("JobState", j.State), kv("Reason", reason(j)), kv("Dependency", orNull(s.Dependency))},
		{kv("Requeue", boolInt(s.Requeueable())), kv("Restarts", j.RestartCount), kv("BatchFlag", 1), kv("Reboot", 0), kv("ExitCode", exitCode(j.ExitCode, j.Signal))},
		{kv("RunTime", slurmtime.Clock(v.runTime(j))), kv("TimeLimit", limit), kv("TimeMin", "N/A")},
		{kv("SubmitTime", v.date(j.SubmitTime)), kv("EligibleTime", v.date(eligible))},
		{kv("AccrueTime", v.date(eligible))},
		{kv("StartTime", start), kv("EndTime", end), kv("Deadline", "N/A")},
		{kv("LastCheckpoint", v.checkpointTime(j)), kv("LostGPUHours", gpuHours(lostGPUSecs(j)))},
		{kv("Partition", partitionList(j)), kv("AllocNode:Sid", submitHost+":0")},
		{kv("ReqNodeList", "(null)"), kv("ExcNodeList", "(null)")},
		{kv("NodeList", orNull(nodeList(nodes)))},
	}
	if len(nodes) > 0 && !pending {
		r = append(r, []string{kv("BatchHost", nodes[0])})
	}
	r = append(r,
		[]string{kv("NumNodes", numNodes), kv("NumCPUs", numCPUs(j)), kv("NumTasks", tasks), kv("CPUs/Task", max(s.CPUsPerTask, 1)), kv("ReqB:S:C:T", "0:0:*:*")},
		[]string{kv("ReqTRES", v.reqTRES(j).scontrolString())},
		[]string{kv("AllocTRES", alloc)},
		[]string{kv("Socks/Node", "*"), kv("NtasksPerN:B:S:C", "0:0:*:*"), kv("CoreSpec", "*")},
		[]string{kv("MinCPUsNode", s.TotalCPUsPerNode()), kv("MinMemoryNode", memString(v.memoryMB(j))), kv("MinTmpDiskNode", 0)},
		[]string{kv("Features", "(null)"), kv("DelayBoot", "00:00:00")},
		[]string{kv("OverSubscribe", "OK"), kv("Contiguous", 0), kv("Licenses", "(null)"), kv("Network", "(null)")},
		[]string{kv("Command", "(null)")},
		[]string{kv("WorkDir", s.WorkDir)},
		[]string{kv("StdErr", orNull(j.StderrPath))},
		[]string{kv("StdIn", j.StdinShown())},
		[]string{kv("StdOut", orNull(j.StdoutPath))},
	)
	if s.GPUs > 0 {
		r = append(r, []string{kv("TresPerNode", gresString(s))})
	}
	if s.ContainerImage != "" {
		r = append(r, []string{kv("Container", s.ContainerImage)})
	}
	if l := v.retryLine(j); l != nil {
		r = append(r, l)
	}
	return r
}

// checkpointTime is when the job last reported a checkpoint (fairway
// checkpoint done), or None.
func (v *view) checkpointTime(j *api.Job) string {
	if j.LastCheckpoint == 0 {
		return "None"
	}
	return v.date(j.LastCheckpoint)
}

// lostGPUSecs is the work the job's runs lost to preemptions.
func lostGPUSecs(j *api.Job) int64 {
	var n int64
	for _, r := range j.Runs {
		n += r.LostGPUSecs
	}
	return n
}

// nodeRecord is scontrol show node for one node.
func (v *view) nodeRecord(n *api.Node) record {
	state := string(n.State)
	if n.State == api.NodeDrain {
		switch {
		case n.Used.CPUs == 0 && len(n.Used.GPUs) == 0:
			state = "IDLE+DRAIN"
		case n.Used.CPUs >= n.Resources.CPUs:
			state = "ALLOCATED+DRAIN"
		default:
			state = "MIXED+DRAIN"
		}
	}
	gres := nodeGres(n)
	cfg := tres{cpu: n.Resources.CPUs, memMB: n.Resources.MemoryMB, gpu: len(n.Resources.GPUs)}
	used := fmt.Sprintf("cpu=%d,mem=%s", n.Used.CPUs, memString(n.Used.MemoryMB))
	if len(n.Used.GPUs) > 0 {
		used += fmt.Sprintf(",gres/gpu=%d", len(n.Used.GPUs))
	}
	if n.Used.CPUs == 0 && n.Used.MemoryMB == 0 && len(n.Used.GPUs) == 0 {
		used = ""
	}
	cfgTRES := fmt.Sprintf("cpu=%d,mem=%s,billing=%d", cfg.cpu, memString(cfg.memMB), cfg.cpu)
	if cfg.gpu > 0 {
		cfgTRES += fmt.Sprintf(",gres/gpu=%d", cfg.gpu)
	}
	addr, host := n.Addr, n.Name
	if h, _, ok := strings.Cut(addr, ":"); ok {
		addr = h
	}
	if addr == "" {
		addr = n.Name
	}
	r := record{
		{kv("NodeName", n.Name), kv("CoresPerSocket", 1)},
		{kv("CPUAlloc", n.Used.CPUs), kv("CPUEfctv", n.Resources.CPUs), kv("CPUTot", n.Resources.CPUs), kv("CPULoad", nodeCPULoad(n))},
		{kv("AvailableFeatures", "(null)")},
		{kv("ActiveFeatures", "(null)")},
		{kv("Gres", gres)},
		{kv("NodeAddr", addr), kv("NodeHostName", host)},
		{kv("RealMemory", n.Resources.MemoryMB), kv("AllocMem", n.Used.MemoryMB), kv("FreeMem", nodeFreeMem(n)), kv("Sockets", n.Resources.CPUs), kv("Boards", 1)},
		{kv("State", state), kv("ThreadsPerCore", 1), kv("TmpDisk", 0), kv("Weight", 1), kv("Owner", "N/A"), kv("MCS_label", "N/A")},
		{kv("Partitions", strings.Join(n.Partitions, ","))},
		{kv("BootTime", bootTime(v, n.BootTime)), kv("SlurmdStartTime", v.date(n.LastHeartbeat))},
		{kv("LastBusyTime", "Unknown")},
		{kv("CfgTRES", cfgTRES)},
		{kv("AllocTRES", used)},
	}
	if n.Reason != "" {
		reason := n.Reason
		if n.ReasonTime != 0 {
			// Slurm: Reason=fan [admin@2022-06-16T10:20:30]
			reason += fmt.Sprintf(" [%s@%s]", reasonUserName(n, false), v.date(n.ReasonTime))
		}
		r = append(r, []string{kv("Reason", reason)})
	}
	return r
}

func bootTime(v *view, t int64) string {
	if t == 0 {
		return "None"
	}
	return v.date(t)
}

// partitionRecord is scontrol show partition for one partition.
func partitionRecord(p api.Partition, nodes []*api.Node) record {
	yesNo := func(b bool) string {
		if b {
			return "YES"
		}
		return "NO"
	}
	maxTime := "UNLIMITED"
	if p.MaxTimeSecs > 0 {
		maxTime = slurmtime.Clock(p.MaxTimeSecs)
	}
	defTime := "NONE"
	if p.DefaultTimeSecs > 0 {
		defTime = slurmtime.Clock(p.DefaultTimeSecs)
	}
	defMem := "UNLIMITED"
	if p.DefMemPerNodeMB > 0 {
		defMem = strconv.FormatInt(p.DefMemPerNodeMB, 10)
	}
	var names []string
	var cpus int
	var mem int64
	var gpus int
	for _, n := range nodes {
		names = append(names, n.Name)
		cpus += n.Resources.CPUs
		mem += n.Resources.MemoryMB
		gpus += len(n.Resources.GPUs)
	}
	state := "UP"
	if p.State != "" {
		state = p.State
	}
	maxNodes := "UNLIMITED"
	if p.MaxNodes > 0 {
		maxNodes = strconv.Itoa(p.MaxNodes)
	}
	preempt := strings.ToUpper(string(p.PreemptMode))
	if preempt == "" {
		preempt = "OFF"
	}
	t := fmt.Sprintf("cpu=%d,mem=%s,node=%d,billing=%d", cpus, memString(mem), len(nodes), cpus)
	if gpus > 0 {
		t += fmt.Sprintf(",gres/gpu=%d", gpus)
	}
	return record{
		{kv("PartitionName", p.Name)},
		{kv("AllowGroups", "ALL"), kv("AllowAccounts", "ALL"), kv("AllowQos", "ALL")},
		{kv("AllocNodes", "ALL"), kv("Default", yesNo(p.Default)), kv("QoS", "N/A")},
		{kv("DefaultTime", defTime), kv("DisableRootJobs", "NO"), kv("ExclusiveUser", "NO"), kv("GraceTime", p.GraceSecs), kv("Hidden", "NO")},
		{kv("MaxNodes", maxNodes), kv("MaxTime", maxTime), kv("MinNodes", 0), kv("LLN", "NO"), kv("MaxCPUsPerNode", "UNLIMITED")},
		{kv("Nodes", orNull(hostlist.Compress(names)))},
		{kv("PriorityJobFactor", 1), kv("PriorityTier", p.PriorityTier), kv("RootOnly", "NO"), kv("ReqResv", "NO"), kv("OverSubscribe", "NO")},
		{kv("OverTimeLimit", "NONE"), kv("PreemptMode", preempt)},
		{kv("State", state), kv("TotalCPUs", cpus), kv("TotalNodes", len(nodes)), kv("SelectTypeParameters", "NONE")},
		{kv("JobDefaults", "(null)")},
		{kv("DefMemPerNode", defMem), kv("MaxMemPerNode", "UNLIMITED")},
		{kv("TRES", t)},
	}
}

// scontrol implements the scontrol subcommands Fairway supports.
func scontrol(ctx context.Context, inv *invocation) error {
	if len(inv.args) == 0 {
		return errors.New("no command given; use show job|node|partition|step|config [name], update Entity=NAME Field=Value..., hold|release|requeue JOBID, show hostnames LIST, or token [lifespan=S] [username=U]")
	}
	verb, rest := strings.ToLower(inv.args[0]), inv.args[1:]
	switch verb {
	case "show":
		if len(rest) == 0 {
			return errors.New("show what? use show job|node|partition [name], show hostnames LIST or show hostlist LIST")
		}
		return scontrolShow(ctx, inv, strings.ToLower(rest[0]), rest[1:])
	case "hold", "uhold", "release", "requeue":
		return scontrolJobAction(ctx, inv, verb, rest)
	case "token":
		return scontrolToken(ctx, inv, rest)
	case "update":
		return scontrolUpdate(ctx, inv, rest)
	}
	return &api.FieldError{Field: "command", Value: inv.args[0], Msg: "unknown scontrol command; use show, update, hold, release, requeue or token"}
}

// scontrolToken implements `scontrol token [lifespan=SECONDS]
// [username=NAME]`: it asks the controller for a JWT (authenticating with
// MUNGE) and prints it as Slurm does, SLURM_JWT=TOKEN.
func scontrolToken(ctx context.Context, inv *invocation, args []string) error {
	var lifespan time.Duration
	var username string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch strings.ToLower(k) {
		case "lifespan":
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil || n <= 0 {
				return &api.FieldError{Field: "lifespan", Value: v, Msg: "invalid lifespan: must be a positive number of seconds"}
			}
			lifespan = time.Duration(n) * time.Second
		case "username":
			if !ok || v == "" {
				return &api.FieldError{Field: "username", Value: v, Msg: "invalid username: must name a user"}
			}
			username = v
		default:
			return &api.FieldError{Field: "token", Value: a, Msg: "unknown token option; use lifespan=SECONDS or username=NAME"}
		}
	}
	resp, err := inv.client().Token(ctx, lifespan, username)
	if err != nil {
		return err
	}
	fmt.Fprintf(inv.env.Stdout, "SLURM_JWT=%s\n", resp.Token)
	return nil
}

func scontrolShow(ctx context.Context, inv *invocation, what string, args []string) error {
	oneLine := inv.opts.flag("oneliner")
	out := inv.env.Stdout
	switch what {
	case "hostnames", "hostname":
		list := strings.Join(args, ",")
		if list == "" {
			list = inv.env.Getenv("SLURM_JOB_NODELIST")
		}
		if list == "" {
			return errors.New("show hostnames needs a host list (or $SLURM_JOB_NODELIST)")
		}
		hosts, err := hostlist.Expand(list)
		if err != nil {
			return err
		}
		for _, h := range hosts {
			fmt.Fprintln(out, h)
		}
		return nil
	case "hostlist", "hostlistsorted":
		var hosts []string
		for _, a := range args {
			h, err := hostlist.Expand(a)
			if err != nil {
				return err
			}
			hosts = append(hosts, h...)
		}
		fmt.Fprintln(out, hostlist.Compress(hosts))
		return nil
	case "job", "jobs", "jobid":
		return showJobs(ctx, inv, args, oneLine)
	case "node", "nodes":
		return showNodes(ctx, inv, args, oneLine)
	case "partition", "partitions", "part":
		return showPartitions(ctx, inv, args, oneLine)
	case "step", "steps":
		return showSteps(ctx, inv, args, oneLine)
	case "config", "conf":
		return showConfig(ctx, inv)
	}
	return &api.FieldError{Field: "show", Value: what, Msg: "unknown entity; use job, node, partition, step, config, hostnames or hostlist"}
}

func showJobs(ctx context.Context, inv *invocation, args []string, oneLine bool) error {
	c := inv.client()
	refs, err := parseJobRefs(args, "job id")
	if err != nil {
		return err
	}
	var jobs []*api.Job
	var now int64
	if len(refs) == 0 {
		resp, err := c.Jobs(ctx, client.JobFilter{All: true}, client.QueryOptions{})
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		jobs, now = sortedJobs(resp.Jobs), resp.Now
		if len(jobs) == 0 && !wantsData(inv.opts) {
			fmt.Fprintln(inv.env.Stdout, "No jobs in the system")
			return nil
		}
	} else {
		for _, ref := range refs {
			j, err := c.JobRef(ctx, ref)
			if client.IsNotFound(err) {
				return errors.New("slurm_load_jobs error: Invalid job id specified")
			}
			if err != nil {
				return fmt.Errorf("get job %s: %w", ref, err)
			}
			more, err := showJobArray(ctx, c, ref, j)
			if err != nil {
				return err
			}
			jobs = append(jobs, more...)
		}
	}
	if ok, err := scontrolData(inv, now, func(o slurmdata.Options) (any, error) {
		parts, err := fetchPartitionList(ctx, inv)
		return slurmdata.JobInfoResponse(jobs, parts, o), err
	}); ok {
		return err
	}
	v := inv.view(now)
	if v.parts, err = fetchPartitions(ctx, c); err != nil {
		return err
	}
	var b strings.Builder
	for _, j := range jobs {
		b.WriteString(v.jobRecord(j, inv.env.GroupName(j.Spec.GID)).render(oneLine))
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

// showJobArray returns what scontrol show job prints for ref, j being the
// job the controller resolved it to: for a job array's id, every task of
// the array (the pending remainder's record, then the tasks that ran or
// run, as squeue orders them), as Slurm does; for ARRAYID_TASK of a task that has not started, the array's record
// as that one task (ArrayTaskId=TASK); else j.
func showJobArray(ctx context.Context, c *client.Client, ref api.JobRef, j *api.Job) ([]*api.Job, error) {
	switch {
	case ref.Task != nil && j.IsArrayRecord():
		t := *j
		t.ArrayTaskID, t.ArrayPending, t.ArrayMaxRun = *ref.Task, nil, 0
		return []*api.Job{&t}, nil
	case ref.Task == nil && j.ArrayJobID == j.ID:
		resp, err := c.Jobs(ctx, client.JobFilter{All: true, IDs: []api.JobID{ref.ID}}, client.QueryOptions{})
		if err != nil {
			return nil, fmt.Errorf("list job array %s: %w", ref, err)
		}
		var out []*api.Job
		for _, a := range sortedJobs(resp.Jobs) {
			if a.ArrayJobID == ref.ID {
				out = append(out, a)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return []*api.Job{j}, nil
}

func showNodes(ctx context.Context, inv *invocation, args []string, oneLine bool) error {
	resp, err := inv.client().Nodes(ctx, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	nodes := append([]*api.Node(nil), resp.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return hostlist.Less(nodes[i].Name, nodes[j].Name) })
	if len(args) > 0 {
		want, err := hostlist.Expand(strings.Join(args, ","))
		if err != nil {
			return err
		}
		byName := map[string]*api.Node{}
		for _, n := range nodes {
			byName[n.Name] = n
		}
		nodes = nil
		for _, name := range want {
			n, ok := byName[name]
			if !ok {
				//lint:ignore ST1005 Slurm's exact message, which scripts match
				return fmt.Errorf("Node %s not found", name)
			}
			nodes = append(nodes, n)
		}
	}
	if ok, err := scontrolData(inv, resp.Now, func(o slurmdata.Options) (any, error) {
		return slurmdata.NodesResponse(nodeValues(nodes), o), nil
	}); ok {
		return err
	}
	v := inv.view(resp.Now)
	var b strings.Builder
	for _, n := range nodes {
		b.WriteString(v.nodeRecord(n).render(oneLine))
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

func showPartitions(ctx context.Context, inv *invocation, args []string, oneLine bool) error {
	d, err := fetchSinfoData(ctx, inv.client())
	if err != nil {
		return err
	}
	parts := d.parts
	if len(args) > 0 {
		parts = nil
		for _, name := range args {
			found := false
			for _, p := range d.parts {
				if p.Name == name {
					parts = append(parts, p)
					found = true
				}
			}
			if !found {
				//lint:ignore ST1005 Slurm's exact message, which scripts match
				return fmt.Errorf("Partition %s not found", name)
			}
		}
	}
	if ok, err := scontrolData(inv, 0, func(o slurmdata.Options) (any, error) {
		return slurmdata.PartitionResponse(parts, nodeValues(d.nodes), o), nil
	}); ok {
		return err
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(withRetryDefault(partitionRecord(p, d.members(p)), p).render(oneLine))
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

// scontrolJobAction holds, releases or requeues jobs; it goes on after a
// failure and reports every one.
func scontrolJobAction(ctx context.Context, inv *invocation, verb string, args []string) error {
	refs, err := parseJobRefs(args, "job id")
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return fmt.Errorf("%s needs a job id", verb)
	}
	c := inv.client()
	failed := false
	for _, ref := range refs {
		action := verb
		if verb == "uhold" {
			action = "hold"
		}
		err := c.JobAction(ctx, ref, action)
		if err == nil {
			continue
		}
		failed = true
		if inv.opts.flag("quiet") {
			continue
		}
		msg := err.Error()
		if client.IsNotFound(err) {
			msg = "Invalid job id specified"
		}
		fmt.Fprintf(inv.env.Stderr, "%s: error: %s job %s: %s\n", inv.name, verb, ref, msg)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
