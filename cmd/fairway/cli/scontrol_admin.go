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
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// scontrol update: the first Key=Value names the entity (JobId=, NodeName=,
// PartitionName=); the rest are the fields to change, keys
// case-insensitive as in Slurm.

// updateArg is one Key=Value of scontrol update; op is "=", "+=" or "-=".
type updateArg struct {
	key, op, value, raw string
}

// parseUpdateArgs splits Key=Value arguments. A Reason's value may run
// over several arguments (Reason=replace fan), as scontrol joins them.
func parseUpdateArgs(args []string) ([]updateArg, error) {
	var out []updateArg
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if n := len(out); n > 0 && strings.EqualFold(out[n-1].key, "reason") {
				out[n-1].value += " " + a
				continue
			}
			return nil, &api.FieldError{Field: "update", Value: a, Msg: "Invalid input: every argument must be Key=Value. Request aborted"}
		}
		op := "="
		switch {
		case strings.HasSuffix(k, "+"):
			k, op = strings.TrimSuffix(k, "+"), "+="
		case strings.HasSuffix(k, "-"):
			k, op = strings.TrimSuffix(k, "-"), "-="
		}
		out = append(out, updateArg{key: strings.ToLower(k), op: op, value: v, raw: a})
	}
	return out, nil
}

// unsupported is scontrol's refusal of a field it cannot update.
func unsupported(a updateArg) error {
	return &api.FieldError{Field: a.key, Value: a.raw, Msg: "Update of this parameter is not supported"}
}

// scontrolUpdate implements scontrol update.
func scontrolUpdate(ctx context.Context, inv *invocation, args []string) error {
	ua, err := parseUpdateArgs(args)
	if err != nil {
		return err
	}
	if len(ua) == 0 {
		return errors.New("update what? use JobId=N, NodeName=LIST or PartitionName=NAME followed by Field=Value")
	}
	// The entity may come anywhere; Slurm takes the first naming one.
	for i, a := range ua {
		rest := append(append([]updateArg{}, ua[:i]...), ua[i+1:]...)
		switch a.key {
		case "jobid", "job":
			return updateJob(ctx, inv, a, rest)
		case "nodename", "node":
			return updateNodes(ctx, inv, a, rest)
		case "partitionname", "partition":
			if a.key == "partition" && slicesHasKey(ua, "jobid", "job") {
				continue // Partition= of a job update
			}
			return updatePartition(ctx, inv, a, rest)
		}
	}
	return &api.FieldError{Field: "update", Value: strings.Join(args, " "), Msg: "name what to update: JobId=N, NodeName=LIST or PartitionName=NAME"}
}

// slicesHasKey reports whether an argument has one of the keys.
func slicesHasKey(ua []updateArg, keys ...string) bool {
	for _, a := range ua {
		for _, k := range keys {
			if a.key == k {
				return true
			}
		}
	}
	return false
}

// parseJobUpdate reads the fields of scontrol update JobId=...
func parseJobUpdate(fields []updateArg) (api.JobUpdate, error) {
	var u api.JobUpdate
	for _, a := range fields {
		if a.op != "=" && a.key != "timelimit" {
			return u, unsupported(a)
		}
		switch a.key {
		case "timelimit":
			v, op := a.value, a.op
			if op == "=" && (strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-")) {
				op, v = v[:1]+"=", v[1:]
			}
			secs, unlimited, err := slurmtime.ParseLimit(v)
			if err != nil || (unlimited && op != "=") {
				return u, &api.FieldError{Field: "TimeLimit", Value: a.value, Msg: "Invalid TimeLimit value: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED, with + or - to add or subtract"}
			}
			switch {
			case unlimited:
				secs = api.TimeLimitUnlimited
				u.TimeLimitSecs = &secs
			case op == "+=":
				u.TimeLimitDeltaSecs = &secs
			case op == "-=":
				secs = -secs
				u.TimeLimitDeltaSecs = &secs
			default:
				u.TimeLimitSecs = &secs
			}
		case "partition":
			if a.value == "" {
				return u, &api.FieldError{Field: "Partition", Value: "", Msg: "name a partition (or several, comma-separated)"}
			}
			u.Partitions = splitList(a.value)
		case "priority", "nice", "numnodes", "reqnodes":
			v := a.value
			if a.key == "numnodes" || a.key == "reqnodes" {
				lo, hi, found := strings.Cut(v, "-")
				if found && hi != lo {
					return u, &api.FieldError{Field: "NumNodes", Value: v, Msg: "Fairway runs a job on an exact node count: give one number, or min-max with min equal to max"}
				}
				v = lo
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return u, &api.FieldError{Field: canonicalField(a.key), Value: a.value, Msg: "must be a whole number"}
			}
			switch a.key {
			case "priority":
				u.Priority = &n
			case "nice":
				u.Nice = &n
			default:
				u.Nodes = &n
			}
		case "dependency":
			v := a.value
			u.Dependency = &v
		case "qos":
			v := a.value
			u.QOS = &v
		case "account":
			v := a.value
			u.Account = &v
		default:
			return u, unsupported(a)
		}
	}
	if len(u.Fields()) == 0 {
		return u, errors.New("no field to update; name one such as TimeLimit=1:00:00")
	}
	return u, nil
}

// canonicalField is Slurm's spelling of an update key.
func canonicalField(key string) string {
	switch key {
	case "priority":
		return "Priority"
	case "nice":
		return "Nice"
	case "numnodes", "reqnodes":
		return "NumNodes"
	}
	return key
}

// updateJob runs scontrol update JobId=... for each job named (a
// comma-separated list, ARRAYID_TASK for a started task). Errors are
// printed per job as Slurm does ("... for job N") and exit 1.
func updateJob(ctx context.Context, inv *invocation, entity updateArg, fields []updateArg) error {
	refs, err := parseJobRefs([]string{entity.value}, "JobId")
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return &api.FieldError{Field: "JobId", Value: entity.value, Msg: "Invalid job id specified"}
	}
	u, err := parseJobUpdate(fields)
	if err != nil {
		return err
	}
	c := inv.client()
	failed := false
	for _, ref := range refs {
		err := c.UpdateJob(ctx, ref, u)
		if err == nil {
			continue
		}
		failed = true
		if inv.opts.flag("quiet") {
			continue
		}
		msg := apiMessage(err)
		if client.IsNotFound(err) {
			msg = "Invalid job id specified"
		}
		fmt.Fprintf(inv.env.Stderr, "%s for job %s\n", msg, ref)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}

// apiMessage is the controller's message of an API error, without the
// client's wrapping.
func apiMessage(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) && ae.Msg != "" {
		return ae.Msg
	}
	return err.Error()
}

// updateNodes runs scontrol update NodeName=LIST State=... Reason=...
func updateNodes(ctx context.Context, inv *invocation, entity updateArg, fields []updateArg) error {
	names, err := hostlist.Expand(entity.value)
	if err != nil || len(names) == 0 {
		return &api.FieldError{Field: "NodeName", Value: entity.value, Msg: "Invalid node name specified"}
	}
	u := api.NodeUpdate{Nodes: names}
	for _, a := range fields {
		switch a.key {
		case "state":
			u.State = a.value
		case "reason":
			u.Reason = a.value
		default:
			return unsupported(a)
		}
	}
	if u.State == "" {
		return &api.FieldError{Field: "State", Value: "", Msg: "name the new state: State=DRAIN, RESUME, UNDRAIN or DOWN"}
	}
	if err := api.ValidateNodeUpdate(&u); err != nil {
		var fe *api.FieldError
		if errors.As(err, &fe) && fe.Field == "Reason" && u.Reason == "" {
			// scontrol's own words, on stderr, exit 1.
			fmt.Fprintln(inv.env.Stderr, fe.Msg)
			return &exitError{code: 1}
		}
		return err
	}
	if _, err := inv.client().UpdateNodes(ctx, u); err != nil {
		if !inv.opts.flag("quiet") {
			fmt.Fprintf(inv.env.Stderr, "slurm_update error: %s\n", apiMessage(err))
		}
		return &exitError{code: 1}
	}
	return nil
}

// updatePartition runs scontrol update PartitionName=P ...
func updatePartition(ctx context.Context, inv *invocation, entity updateArg, fields []updateArg) error {
	u := api.PartitionUpdate{Name: entity.value}
	limit := func(a updateArg, field string) (int64, error) {
		if strings.EqualFold(a.value, "INFINITE") || strings.EqualFold(a.value, "UNLIMITED") {
			return 0, nil
		}
		secs, unlimited, err := slurmtime.ParseLimit(a.value)
		if err != nil {
			return 0, &api.FieldError{Field: field, Value: a.value, Msg: "must be a time such as 60, 1:00:00, 1-00:00:00 or UNLIMITED"}
		}
		if unlimited {
			return 0, nil
		}
		return secs, nil
	}
	for _, a := range fields {
		switch a.key {
		case "state":
			v := strings.ToUpper(a.value)
			u.State = &v
		case "maxtime":
			secs, err := limit(a, "MaxTime")
			if err != nil {
				return err
			}
			u.MaxTimeSecs = &secs
		case "defaulttime":
			secs, err := limit(a, "DefaultTime")
			if err != nil {
				return err
			}
			u.DefaultTimeSecs = &secs
		case "maxnodes":
			n := 0
			if !strings.EqualFold(a.value, "UNLIMITED") && !strings.EqualFold(a.value, "INFINITE") {
				v, err := strconv.Atoi(a.value)
				if err != nil || v < 0 {
					return &api.FieldError{Field: "MaxNodes", Value: a.value, Msg: "must be a node count or UNLIMITED"}
				}
				n = v
			}
			u.MaxNodes = &n
		default:
			return unsupported(a)
		}
	}
	if err := inv.client().UpdatePartition(ctx, u); err != nil {
		if !inv.opts.flag("quiet") {
			fmt.Fprintf(inv.env.Stderr, "slurm_update error: %s\n", apiMessage(err))
		}
		return &exitError{code: 1}
	}
	return nil
}

// showSteps is scontrol show step [JOBID[.STEP]]: the running steps of
// running jobs, in Slurm's record layout.
func showSteps(ctx context.Context, inv *invocation, args []string, oneLine bool) error {
	c := inv.client()
	var wants []stepWant
	for _, a := range args {
		for _, s := range splitList(a) {
			js, ss, hasStep := strings.Cut(s, ".")
			id, err := strconv.ParseUint(js, 10, 64)
			if err != nil || id == 0 {
				return &api.FieldError{Field: "step", Value: s, Msg: "Invalid job step id: use JOBID or JOBID.STEPID"}
			}
			w := stepWant{job: api.JobID(id), step: -1}
			if hasStep {
				if w.step, err = strconv.Atoi(ss); err != nil || w.step < 0 {
					return &api.FieldError{Field: "step", Value: s, Msg: "Invalid job step id: use JOBID or JOBID.STEPID"}
				}
			}
			wants = append(wants, w)
		}
	}
	var jobs []*api.Job
	var now int64
	if len(wants) == 0 {
		resp, err := c.Jobs(ctx, client.JobFilter{}, client.QueryOptions{})
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		jobs, now = resp.Jobs, resp.Now
	} else {
		for _, w := range wants {
			j, err := c.Job(ctx, w.job)
			if err != nil {
				if client.IsNotFound(err) {
					fmt.Fprintf(inv.env.Stderr, "Invalid job id specified\n")
					return &exitError{code: 1}
				}
				return err
			}
			jobs = append(jobs, j)
		}
	}
	v := &view{now: now, loc: inv.env.Location}
	var b strings.Builder
	for _, j := range jobs {
		if j.State != api.JobRunning {
			continue
		}
		var run *api.JobRun
		for i := range j.Runs {
			if j.Runs[i].Run == j.RestartCount {
				run = &j.Runs[i]
			}
		}
		if run == nil {
			continue
		}
		steps := append([]api.Step(nil), run.Steps...)
		sort.Slice(steps, func(a, b int) bool { return steps[a].ID < steps[b].ID })
		for i := range steps {
			st := &steps[i]
			if st.State != api.JobRunning || !stepWanted(wants, j.ID, st.ID) {
				continue
			}
			b.WriteString(v.stepRecord(j, st).render(oneLine))
		}
	}
	if b.Len() == 0 {
		if len(wants) > 0 {
			fmt.Fprintf(inv.env.Stderr, "Job step %s not found\n", args[0])
			return &exitError{code: 1}
		}
		fmt.Fprintln(inv.env.Stdout, "No job steps in the system")
		return nil
	}
	_, err := fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

// stepWant is a step scontrol show step asks for.
type stepWant struct {
	job  api.JobID
	step int // -1: every step of the job
}

// stepWanted reports whether a step was asked for (every step when none
// was named).
func stepWanted(wants []stepWant, job api.JobID, step int) bool {
	if len(wants) == 0 {
		return true
	}
	for _, w := range wants {
		if w.job == job && (w.step < 0 || w.step == step) {
			return true
		}
	}
	return false
}

// stepRecord is scontrol show step for one step, as Slurm 22.05 prints it.
func (v *view) stepRecord(j *api.Job, st *api.Step) record {
	tasks, cpus := 0, 0
	for _, n := range st.TasksPerNode {
		tasks += n
	}
	cpus = tasks * max(st.CPUsPerTask, 1)
	limit := "UNLIMITED"
	if secs, unlimited, known := v.timeLimit(j); known && !unlimited {
		limit = slurmtime.Clock(secs)
	}
	name := st.Name
	if name == "" && len(st.Command) > 0 {
		name = st.Command[0]
	}
	dist := st.Distribution
	if dist == "" {
		dist = "Block"
	}
	t := fmt.Sprintf("cpu=%d,node=%d", cpus, len(st.Nodes))
	if g := st.GPUsPerTask*tasks + st.GPUsPerNode*len(st.Nodes); g > 0 {
		t += fmt.Sprintf(",gres/gpu=%d", g)
	}
	return record{
		{kv("StepId", fmt.Sprintf("%d.%d", j.ID, st.ID)), kv("UserId", j.Spec.UID), kv("StartTime", v.date(st.StartTime)), kv("TimeLimit", limit)},
		{kv("State", st.State), kv("Partition", j.Partition), kv("NodeList", hostlist.Compress(st.Nodes))},
		{kv("Nodes", len(st.Nodes)), kv("CPUs", cpus), kv("Tasks", tasks), kv("Name", name), kv("Network", "(null)")},
		{kv("TRES", t)},
		{kv("ResvPorts", "(null)")},
		{kv("CPUFreqReq", "Default"), kv("Dist", dist)},
	}
}

// showConfig is scontrol show config: the controller's settings as
// "Key = Value" lines (keys padded to 23 columns) after Slurm's
// "Configuration data as of" header, in Slurm's names where Slurm has
// the setting, sorted.
func showConfig(ctx context.Context, inv *invocation) error {
	c := inv.client()
	cfg, err := c.Config(ctx)
	if err != nil {
		return fmt.Errorf("read the configuration: %w", err)
	}
	status, err := c.Status(ctx)
	if err != nil {
		return fmt.Errorf("read the controller's status: %w", err)
	}
	var controllers []api.ControllerInfo
	if cl, err := c.Cluster(ctx); err == nil {
		controllers = cl.Controllers
	}
	_, err = fmt.Fprint(inv.env.Stdout, configText(cfg, status, controllers, inv.env.Location))
	return err
}

// configText renders scontrol show config.
func configText(cfg *api.ClusterConfig, st *api.StatusResponse, controllers []api.ControllerInfo, loc *time.Location) string {
	s := &cfg.Scheduling
	w := &s.Weights
	secs := func(n int64) string { return fmt.Sprintf("%d sec", n) }
	orNull := func(v string) string {
		if v == "" {
			return "(null)"
		}
		return v
	}
	backfill := s.Backfill.Mode
	if backfill == "" {
		backfill = api.BackfillWindowed
	}
	schedType := "sched/backfill"
	if backfill == api.BackfillNone {
		schedType = "sched/builtin"
	}
	params := []string{"mode=" + backfill}
	if s.Backfill.Reservations > 0 {
		params = append(params, fmt.Sprintf("bf_reservations=%d", s.Backfill.Reservations))
	}
	if s.Backfill.WindowSecs > 0 {
		params = append(params, fmt.Sprintf("bf_window=%d", s.Backfill.WindowSecs/60))
	}
	if s.Backfill.MaxJobs > 0 {
		params = append(params, fmt.Sprintf("bf_max_job_test=%d", s.Backfill.MaxJobs))
	}
	if s.QueueOrder != "" {
		params = append(params, "queue_order="+s.QueueOrder)
	}
	priorityType := "priority/multifactor"
	if s.QueueOrder == api.QueueFCFS {
		priorityType = "priority/basic"
	}
	fairShare := s.FairShare
	if fairShare == "" {
		fairShare = api.FairShareFairTree
	}
	flags := ""
	if fairShare == api.FairShareClassic {
		flags = "NO_FAIR_TREE"
	}
	maxAge := w.MaxAgeSecs
	if maxAge == 0 {
		maxAge = 7 * 86400
	}
	halfLife := s.UsageHalfLifeSecs
	if halfLife == 0 {
		halfLife = 7 * 86400
	}
	var tres []string
	for k, v := range w.TRES {
		tres = append(tres, fmt.Sprintf("%s=%g", k, v))
	}
	sort.Strings(tres)
	yesNo := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	kv := map[string]string{
		"ClusterName":                 "fairway",
		"SchedulerType":               schedType,
		"SchedulerParameters":         strings.Join(params, ","),
		"PriorityType":                priorityType,
		"PriorityFlags":               flags,
		"PriorityMaxAge":              slurmtime.Short(maxAge),
		"PriorityDecayHalfLife":       slurmtime.Short(halfLife),
		"PriorityFavorSmall":          yesNo(w.FavorSmall),
		"PriorityWeightAge":           fmt.Sprintf("%g", w.Age),
		"PriorityWeightFairShare":     fmt.Sprintf("%g", w.FairShare),
		"PriorityWeightJobSize":       fmt.Sprintf("%g", w.JobSize),
		"PriorityWeightPartition":     fmt.Sprintf("%g", w.Partition),
		"PriorityWeightQOS":           fmt.Sprintf("%g", w.QOS),
		"PriorityWeightTRES":          orNull(strings.Join(tres, ",")),
		"PreemptType":                 "preempt/partition_prio",
		"PreemptMode":                 "REQUEUE",
		"SlurmdTimeout":               secs(cfg.NodeDownAfter()),
		"NodeLease":                   secs(cfg.NodeLease()),
		"FenceGrace":                  secs(cfg.FenceGrace()),
		"MinJobAge":                   secs(cfg.JobRetentionSecs),
		"MaxArraySize":                strconv.Itoa(cfg.MaxArraySizeOrDefault()),
		"MaxBatchScriptSize":          strconv.FormatInt(cfg.MaxScriptBytesOrDefault(), 10),
		"SlurmUser":                   "root(0)",
		"AccountingStorageType":       "accounting_storage/fairway",
		"SlurmctldLeader":             orNull(st.LeaderID),
		"RaftTerm":                    strconv.FormatUint(st.Term, 10),
		"RaftIndex":                   strconv.FormatUint(st.Index, 10),
		"SlurmctldAddr":               orNull(st.LeaderAddr),
		"DefaultAccount":              orNull(cfg.DefaultAccount),
		"CheckpointDirBase":           orNull(s.CheckpointDirBase),
		"PreemptExemptTime":           slurmtime.Clock(s.PreemptMinRuntimeSecs),
		"SlurmctldParameters":         "raft",
		"AuthType":                    "auth/munge,auth/jwt",
		"SwitchType":                  "(null)",
		"FairwayVictimOrder":          orNull(s.VictimOrder),
		"FairwayUsageResetPeriod":     secs(s.UsageResetSecs),
		"FairwayUsageNoDecay":         yesNo(s.UsageNoDecay),
		"FairwayAdministrators":       orNull(strings.Join(cfg.Administrators, ",")),
		"FairwayOperators":            orNull(strings.Join(cfg.Operators, ",")),
		"FairwayBackfillWindow":       secs(s.Backfill.WindowSecs),
		"FairwayBackfillReservations": strconv.Itoa(s.Backfill.Reservations),
	}
	for i, c := range controllers {
		kv[fmt.Sprintf("SlurmctldHost[%d]", i)] = fmt.Sprintf("%s(%s)", c.ID, orNull(c.HTTPAddr))
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "Configuration data as of %s\n", slurmtime.Date(st.Now, loc))
	for _, k := range keys {
		fmt.Fprintf(&b, "%-23s = %s\n", k, kv[k])
	}
	return b.String()
}
