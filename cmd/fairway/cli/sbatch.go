package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/hostlist"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

func sbatchOpts() []*opt {
	return []*opt{
		{long: "job-name", short: 'J', usage: "job name (default: the script's file name)"},
		{long: "partition", short: 'p', usage: "partition(s), comma-separated: the job starts in whichever lets it start first"},
		{long: "nodes", short: 'N', usage: "number of nodes (default 1)"},
		{long: "ntasks", short: 'n', usage: "number of tasks (default: one per node)"},
		{long: "ntasks-per-node", usage: "tasks per node (when --ntasks is not given)"},
		{long: "cpus-per-task", short: 'c', usage: "CPUs per task (default 1)"},
		{long: "mem", key: "memory", usage: "memory per node, e.g. 16G (units K, M, G, T; default M)"},
		{long: "mem-per-cpu", key: "memory", usage: "memory per CPU, e.g. 4G"},
		{long: "gres", key: "gpus", usage: "GPUs per node: gpu:N or gpu:TYPE:N"},
		{long: "gpus", short: 'G', key: "gpus", usage: "GPUs in total, spread evenly over the nodes: N or TYPE:N"},
		{long: "gpus-per-node", key: "gpus", usage: "GPUs per node: N or TYPE:N"},
		{long: "gpus-per-task", key: "gpus", usage: "GPUs per task: N or TYPE:N"},
		{long: "time", short: 't', usage: "time limit: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED"},
		{long: "output", short: 'o', usage: "stdout file pattern (%j job id, %x name, %u user, %N node, %%); default slurm-%j.out"},
		{long: "error", short: 'e', usage: "stderr file pattern (default: the --output file)"},
		{long: "chdir", short: 'D', aliases: []string{"workdir"}, usage: "working directory of the job (default: the current directory)"},
		{long: "export", usage: "environment to pass: ALL (default), NONE, or [ALL,]VAR[=value],..."},
		{long: "wrap", usage: "run this shell command instead of a script"},
		{long: "parsable", kind: optFlag, usage: "print only the job id"},
		{long: "test-only", kind: optFlag, usage: "submit nothing: say when and where the job would start (the controller's forecast)"},
		{long: "hold", short: 'H', kind: optFlag, usage: "submit the job held (release it with scontrol release)"},
		{long: "account", short: 'A', usage: "account to charge"},
		{long: "priority", usage: "job priority within its account, 0 (lowest) to 99"},
		{long: "nice", kind: optOptional, def: "100", usage: "lower the job's priority by this much (default 100)"},
		{long: "requeue", key: "requeue", kind: optFlag, set: "true", usage: "requeue the job when preempted or its node fails (the default)"},
		{long: "no-requeue", key: "requeue", kind: optFlag, set: "false", usage: "never requeue the job"},
		{long: "signal", usage: "[B:]SIG[@TIME]: send SIG TIME seconds (default 60) before the time limit, and on preemption"},
		retryOpt(),
		{long: "container-image", usage: "run in a container: oci-archive:PATH, docker-archive:PATH, dir:ROOTFS or an image reference"},
		{long: "container-mounts", usage: "bind mounts SRC:DST[:ro],... for --container-image"},
		{long: "dependency", short: 'd', usage: "Slurm dependency expression, e.g. afterok:42"},
		{long: "begin", short: 'b', usage: "start no earlier than this time, e.g. now+1hour or 2025-01-31T12:00:00"},
		{long: "wait", short: 'W', kind: optFlag, usage: "wait for the job to end and exit with its exit code"},
		{long: "array", short: 'a', usage: "submit a job array: task indices such as 0-15, 1,3,5-7 or 0-15:4, optionally %N to run at most N at once"},
		{long: "qos", short: 'q', usage: "quality of service"},
		{long: "nodelist", short: 'w', usage: "run on these nodes, all of them (a host list such as node[1-3], or a file naming them)"},
		{long: "exclude", short: 'x', usage: "never run on these nodes (a host list, or a file naming them)"},
		{long: "input", short: 'i', usage: "the batch script's standard input: a file name pattern (%j, %A, %a, %x, %u, %N, %%); default /dev/null"},
		{long: "get-user-env", kind: optOptional, usage: "[TIMEOUT][S|L]: accepted; the job gets the submitting environment (--export), which is already the user's own"},
		{long: "exclusive", kind: optOptional, def: "exclusive", usage: "use whole nodes: no other job shares them"},
		{long: "mem-per-gpu", key: "memory", usage: "memory per GPU, e.g. 40G (the node's memory is this times its GPUs)"},
		{long: "ntasks-per-gpu", usage: "tasks per GPU (sets --ntasks to this times the GPUs)"},
		ignoredOpt("mail-type", 0, optValue), ignoredOpt("mail-user", 0, optValue),
		ignoredOpt("comment", 0, optValue), ignoredOpt("constraint", 'C', optValue), ignoredOpt("reservation", 0, optValue),
		ignoredOpt("licenses", 'L', optValue), ignoredOpt("wckey", 0, optValue), ignoredOpt("open-mode", 0, optValue),
		ignoredOpt("distribution", 'm', optValue), ignoredOpt("tmp", 0, optValue), ignoredOpt("hint", 0, optValue),
		ignoredOpt("time-min", 0, optValue), ignoredOpt("deadline", 0, optValue), ignoredOpt("cluster", 'M', optValue),
		ignoredOpt("clusters", 0, optValue), ignoredOpt("cpus-per-gpu", 0, optValue),
		ignoredOpt("gres-flags", 0, optValue), ignoredOpt("threads-per-core", 0, optValue), ignoredOpt("cores-per-socket", 0, optValue),
		ignoredOpt("sockets-per-node", 0, optValue), ignoredOpt("profile", 0, optValue), ignoredOpt("mpi", 0, optValue),
		ignoredOpt("no-kill", 'k', optOptional),
		ignoredOpt("propagate", 0, optOptional), ignoredOpt("kill-on-invalid-dep", 0, optValue),
		ignoredOpt("oversubscribe", 's', optFlag), ignoredOpt("overcommit", 'O', optFlag), ignoredOpt("quiet", 'Q', optFlag),
		ignoredOpt("verbose", 'v', optFlag), ignoredOpt("contiguous", 0, optFlag),
		addrOpt(),
		helpOpt('h'),
	}
}

// sbatchEnvVars maps the input environment variables sbatch honours to the
// options they set. The command line overrides them; they override #SBATCH.
func sbatchEnvVars() [][2]string {
	return [][2]string{
		{"SBATCH_ACCOUNT", "--account"}, {"SBATCH_PARTITION", "--partition"}, {"SBATCH_TIMELIMIT", "--time"},
		{"SBATCH_JOB_NAME", "--job-name"}, {"SBATCH_EXPORT", "--export"}, {"SBATCH_GRES", "--gres"},
		{"SBATCH_GPUS", "--gpus"}, {"SBATCH_MEM_PER_NODE", "--mem"}, {"SBATCH_MEM_PER_CPU", "--mem-per-cpu"},
		{"SBATCH_SIGNAL", "--signal"}, {"SBATCH_CONTAINER_IMAGE", "--container-image"},
		{"SBATCH_CONTAINER_MOUNTS", "--container-mounts"}, {"SBATCH_ARRAY_INX", "--array"}, {"SBATCH_QOS", "--qos"},
		{"SBATCH_RETRY", "--retry"},
	}
}

// sbatch submits a batch job.
func sbatch(ctx context.Context, inv *invocation) error {
	spec, err := buildSpec(inv)
	if err != nil {
		return err
	}
	c := inv.client()
	if inv.opts.flag("test-only") {
		return sbatchTestOnly(ctx, inv, c, spec)
	}
	ids, err := c.Submit(ctx, spec)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			//lint:ignore ST1005 Slurm's exact message, which scripts match
			return fmt.Errorf("Batch job submission failed: %s", ce.Msg)
		}
		//lint:ignore ST1005 Slurm's exact message, which scripts match
		return fmt.Errorf("Batch job submission failed: %w", err)
	}
	if len(ids) != 1 {
		//lint:ignore ST1005 Slurm's exact message, which scripts match
		return fmt.Errorf("Batch job submission failed: the controller returned %d job ids for one job", len(ids))
	}
	id := ids[0]
	if inv.opts.flag("parsable") {
		fmt.Fprintln(inv.env.Stdout, id)
	} else {
		fmt.Fprintf(inv.env.Stdout, "Submitted batch job %d\n", id)
	}
	if inv.opts.flag("wait") {
		return waitForJob(ctx, c, id)
	}
	return nil
}

// sbatchTestOnly asks the controller when and where the job would start,
// submitting nothing, and prints Slurm's line on standard error ("sbatch:
// Job 12 to start at 2024-06-15T14:30:00 using 8 processors on nodes
// node[1-2] in partition gpu"). Refused, it prints Slurm's "allocation
// failure: ..." and exits 1, as Slurm's sbatch does.
func sbatchTestOnly(ctx context.Context, inv *invocation, c *client.Client, spec api.JobSpec) error {
	r, err := c.WillRun(ctx, spec)
	if err != nil {
		msg := err.Error()
		var ce *client.Error
		if errors.As(err, &ce) {
			msg = ce.Msg
		}
		return fmt.Errorf("allocation failure: %s", msg)
	}
	fmt.Fprintf(inv.env.Stderr, "sbatch: %s\n", willRunLine(r, inv.env.Location))
	return nil
}

// willRunLine is Slurm's slurm_job_will_run line for a will-run answer,
// the start in loc in Slurm's default time format.
func willRunLine(r *api.WillRunResponse, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return fmt.Sprintf("Job %d to start at %s using %d processors on nodes %s in partition %s",
		r.JobID, time.Unix(r.StartTime, 0).In(loc).Format(slurmtime.DateLayout), r.CPUs, hostlist.Compress(r.Nodes), r.Partition)
}

// waitForJob blocks until the job ends and returns its exit status as an exitError.
func waitForJob(ctx context.Context, c *client.Client, id api.JobID) error {
	var index uint64
	for {
		resp, err := c.Jobs(ctx, client.JobFilter{All: true, IDs: []api.JobID{id}}, client.QueryOptions{WaitIndex: index, WaitTime: waitPoll})
		if err != nil {
			return fmt.Errorf("wait for job %d: %w", id, err)
		}
		for _, j := range resp.Jobs {
			if j.ID != id || !j.State.Final() {
				continue
			}
			switch {
			case j.State == api.JobCompleted:
				return nil
			case j.ExitCode != 0:
				return &exitError{code: j.ExitCode}
			case j.Signal != 0:
				return &exitError{code: 128 + j.Signal}
			}
			return &exitError{code: 1}
		}
		if resp.Index == index && index != 0 && len(resp.Jobs) == 0 {
			return fmt.Errorf("wait for job %d: the job is gone", id)
		}
		index = resp.Index
	}
}

// buildSpec turns sbatch's script, directives, environment and options into
// a validated job specification. It reads the script and checks local paths
// but sends nothing.
func buildSpec(inv *invocation) (api.JobSpec, error) {
	env := inv.env
	cmd := inv.opts
	cwd, err := env.Getwd()
	if err != nil {
		return api.JobSpec{}, fmt.Errorf("current directory: %w", err)
	}
	var script, name, label, command string
	var scriptArgs []string
	switch {
	case cmd.has("wrap"):
		if len(inv.args) > 0 {
			return api.JobSpec{}, &api.FieldError{Field: "--wrap", Value: cmd.str("wrap"), Msg: "script arguments are not permitted with --wrap: " + strings.Join(inv.args, " ")}
		}
		script, name, label = "#!/bin/sh\n"+cmd.str("wrap")+"\n", "wrap", "--wrap"
	case len(inv.args) > 0:
		path := inv.args[0]
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			//lint:ignore ST1005 Slurm's exact message, which scripts match
			return api.JobSpec{}, fmt.Errorf("Unable to open file %s: %w", inv.args[0], unwrapPathErr(err))
		}
		script, name, label = string(data), filepath.Base(inv.args[0]), filepath.Base(inv.args[0])
		scriptArgs, command = inv.args[1:], filepath.Clean(path)
	default:
		data, err := io.ReadAll(env.Stdin)
		if err != nil {
			return api.JobSpec{}, fmt.Errorf("read the batch script from standard input: %w", err)
		}
		script, name, label = string(data), "sbatch", "standard input"
	}
	if err := checkScript(script, label); err != nil {
		return api.JobSpec{}, err
	}
	table := newOptTable(sbatchOpts())
	directives, err := parseDirectives(table, script, label)
	if err != nil {
		return api.JobSpec{}, err
	}
	fromEnv := optSet{}
	for _, ev := range sbatchEnvVars() {
		if val := env.Getenv(ev[0]); val != "" {
			o, err := table.lookupLong(strings.TrimPrefix(ev[1], "--"))
			if err != nil {
				return api.JobSpec{}, err
			}
			fromEnv[o.keyName()] = []optVal{{name: ev[1], value: val, src: "$" + ev[0]}}
		}
	}
	o := directives.overlay(fromEnv).overlay(cmd)

	id, err := env.User()
	if err != nil {
		return api.JobSpec{}, err
	}
	spec := api.JobSpec{
		Name:    name,
		User:    id.Name,
		UID:     id.UID,
		GID:     id.GID,
		Script:  script,
		Args:    scriptArgs,
		WorkDir: cwd,
		Command: command,
	}
	if host, err := env.Hostname(); err == nil {
		spec.SubmitHost = host
	}
	if err := applyOptions(&spec, o, cwd, env); err != nil {
		return api.JobSpec{}, err
	}
	if err := api.ValidateSpec(&spec, nil); err != nil {
		return api.JobSpec{}, err
	}
	return spec, nil
}

// applyPerGPU applies --mem-per-gpu (the node's memory is this times its
// GPUs) and --ntasks-per-gpu (the tasks are this times all the GPUs, when
// --ntasks is not given). Both need GPUs.
func applyPerGPU(spec *api.JobSpec, o optSet) error {
	if v, ok := o.last("memory"); ok && v.name == "--mem-per-gpu" {
		mb, err := parseMemMB(v.value, v.name)
		if err != nil {
			return v.wrap(err)
		}
		if spec.GPUs <= 0 {
			return v.wrap(&api.FieldError{Field: v.name, Value: v.value, Msg: "needs GPUs (--gpus, --gres or --gpus-per-node)"})
		}
		if mb > math.MaxInt32*1024/int64(spec.GPUs) {
			return v.wrap(&api.FieldError{Field: v.name, Value: v.value, Msg: fmt.Sprintf("is too large for %d GPUs per node", spec.GPUs)})
		}
		spec.MemoryMB = mb * int64(spec.GPUs)
	}
	if v, ok := o.last("ntasks-per-gpu"); ok {
		n, err := positiveInt(v, "a task count such as 2")
		if err != nil {
			return err
		}
		if spec.GPUs <= 0 {
			return v.wrap(&api.FieldError{Field: "--ntasks-per-gpu", Value: v.value, Msg: "needs GPUs (--gpus, --gres or --gpus-per-node)"})
		}
		if !o.has("ntasks") {
			spec.NTasks = n * spec.GPUs * max(spec.Nodes, 1)
		}
	}
	return nil
}

// applyNodeChoice applies -w/--nodelist (the job needs at least as many
// nodes as listed), -x/--exclude and --exclusive. A value with a "/" names
// a file of node names, as in Slurm.
func applyNodeChoice(spec *api.JobSpec, o optSet, cwd string) error {
	nodes := func(key, field string) ([]string, error) {
		v, ok := o.last(key)
		if !ok {
			return nil, nil
		}
		list := v.value
		if strings.Contains(list, "/") {
			path := list
			if !filepath.IsAbs(path) {
				path = filepath.Join(cwd, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, v.wrap(&api.FieldError{Field: field, Value: v.value, Msg: "cannot read the node file: " + unwrapPathErr(err).Error()})
			}
			list = strings.Join(strings.Fields(strings.ReplaceAll(string(data), ",", " ")), ",")
		}
		names, err := hostlist.Expand(list)
		if err != nil || len(names) == 0 {
			msg := "want a host list such as node[1-3]"
			if err != nil {
				msg = err.Error() + "; " + msg
			}
			return nil, v.wrap(&api.FieldError{Field: field, Value: v.value, Msg: msg})
		}
		return names, nil
	}
	var err error
	if spec.NodeList, err = nodes("nodelist", "--nodelist"); err != nil {
		return err
	}
	if spec.Exclude, err = nodes("exclude", "--exclude"); err != nil {
		return err
	}
	for _, n := range spec.NodeList {
		if slices.Contains(spec.Exclude, n) {
			return &api.FieldError{Field: "--exclude", Value: o.str("exclude"), Msg: "excludes " + n + ", which --nodelist asks for"}
		}
	}
	if len(spec.NodeList) > spec.Nodes {
		if o.has("nodes") {
			return &api.FieldError{Field: "--nodelist", Value: o.str("nodelist"), Msg: fmt.Sprintf("names %d nodes, more than --nodes=%d", len(spec.NodeList), spec.Nodes)}
		}
		perNode := spec.NTasks / max(spec.Nodes, 1)
		spec.Nodes = len(spec.NodeList)
		if !o.has("ntasks") {
			spec.NTasks = max(perNode, 1) * spec.Nodes
		}
	}
	if v, ok := o.last("exclusive"); ok {
		switch v.value {
		case "exclusive", "user", "mcs":
			spec.Exclusive = true
		default:
			return v.wrap(&api.FieldError{Field: "--exclusive", Value: v.value, Msg: "want --exclusive, --exclusive=user or --exclusive=mcs"})
		}
	}
	return nil
}

// Environment variables Slurm sets for every task of a job array.
const (
	envArrayTaskCount = "SLURM_ARRAY_TASK_COUNT"
	envArrayTaskMin   = "SLURM_ARRAY_TASK_MIN"
	envArrayTaskMax   = "SLURM_ARRAY_TASK_MAX"
	envArrayTaskStep  = "SLURM_ARRAY_TASK_STEP"
)

// setArrayEnv puts SLURM_ARRAY_TASK_COUNT, _MIN, _MAX and _STEP of the
// job's --array in its environment, as slurmctld does at submission (the
// step is the number after the first ":", else 1), and drops those the
// caller's environment carried in (a job submitted from an array task).
func setArrayEnv(spec *api.JobSpec) {
	for _, k := range []string{envArrayTaskCount, envArrayTaskMin, envArrayTaskMax, envArrayTaskStep} {
		delete(spec.Env, k)
	}
	if spec.Array == "" {
		return
	}
	if spec.Env == nil {
		spec.Env = map[string]string{}
	}
	as, err := api.ParseArray(spec.Array, api.ClientMaxArraySize)
	if err != nil || len(as.Tasks) == 0 {
		return
	}
	step := 1
	if _, after, ok := strings.Cut(spec.Array, ":"); ok {
		digits := after
		if i := strings.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = after[:i]
		}
		if n, err := strconv.Atoi(digits); err == nil {
			step = n
		}
	}
	spec.Env[envArrayTaskCount] = strconv.Itoa(len(as.Tasks))
	spec.Env[envArrayTaskMin] = strconv.Itoa(as.Tasks[0])
	spec.Env[envArrayTaskMax] = strconv.Itoa(as.Tasks[len(as.Tasks)-1])
	spec.Env[envArrayTaskStep] = strconv.Itoa(step)
}

// unwrapPathErr drops the path os.PathError repeats.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkScript refuses what Slurm refuses: an empty script, one without "#!",
// DOS line breaks and NUL bytes.
func checkScript(script, label string) error {
	switch {
	case strings.TrimSpace(script) == "":
		return &api.FieldError{Field: "script", Value: label, Msg: "the batch script is empty"}
	case !strings.HasPrefix(script, "#!"):
		return &api.FieldError{Field: "script", Value: label, Msg: "this does not look like a batch script: the first line must start with #! followed by the path to an interpreter, for instance #!/bin/sh"}
	case strings.Contains(script, "\r\n"):
		return &api.FieldError{Field: "script", Value: label, Msg: "the batch script contains DOS line breaks (\\r\\n) instead of UNIX ones (\\n); convert it with dos2unix"}
	case strings.ContainsRune(script, 0):
		return &api.FieldError{Field: "script", Value: label, Msg: "the batch script contains a NUL character"}
	}
	return nil
}

// parseDirectives reads the #SBATCH lines at the top of a script: after the
// "#!" line, until the first line that is neither blank nor a comment, as
// Slurm does. Errors name the line.
func parseDirectives(table *optTable, script, label string) (optSet, error) {
	out := optSet{}
	lines := strings.Split(script, "\n")
	for i := 1; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "#SBATCH")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			if strings.HasPrefix(trimmed, "#") {
				continue
			}
			break
		}
		src := fmt.Sprintf("%s line %d", label, i+1)
		tokens, err := splitDirective(rest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, &api.FieldError{Field: "#SBATCH directive", Value: strings.TrimSpace(rest), Msg: err.Error()})
		}
		set, pos, err := table.parse(tokens, permute, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if len(pos) > 0 {
			return nil, fmt.Errorf("%s: %w", src, &api.FieldError{Field: "#SBATCH directive", Value: pos[0], Msg: "not an option; directives look like #SBATCH --time=1:00:00"})
		}
		for k, vs := range set {
			out[k] = append(out[k], vs...)
		}
	}
	return out, nil
}

// splitDirective splits the text after #SBATCH into words as Slurm does:
// whitespace separates words, quotes group them, and a word starting with #
// starts a comment.
func splitDirective(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '#' && !inWord:
			return words, nil
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// applyOptions sets the spec's fields from the merged options.
func applyOptions(spec *api.JobSpec, o optSet, cwd string, env *Env) error {
	get := o.last
	if v, ok := get("job-name"); ok {
		spec.Name = v.value
	}
	if v, ok := get("partition"); ok {
		parts := splitList(v.value)
		if len(parts) == 0 {
			return v.wrap(&api.FieldError{Field: "--partition", Value: v.value, Msg: "want a partition name or a comma-separated list such as gpu,cpu"})
		}
		spec.Partitions = parts
	}
	if v, ok := get("account"); ok {
		spec.Account = v.value
	}
	var err error
	spec.Nodes = 1
	if v, ok := get("nodes"); ok {
		if spec.Nodes, err = positiveInt(v, "a node count such as 2"); err != nil {
			return err
		}
	}
	spec.NTasks = spec.Nodes
	if v, ok := get("ntasks-per-node"); ok {
		n, err := positiveInt(v, "a task count such as 4")
		if err != nil {
			return err
		}
		spec.NTasks = n * spec.Nodes
		spec.NTasksPerNode = n
	}
	if v, ok := get("ntasks"); ok {
		if spec.NTasks, err = positiveInt(v, "a task count such as 8"); err != nil {
			return err
		}
	}
	spec.CPUsPerTask = 1
	if v, ok := get("cpus-per-task"); ok {
		if spec.CPUsPerTask, err = positiveInt(v, "a CPU count such as 4"); err != nil {
			return err
		}
	}
	if v, ok := get("memory"); ok && v.name != "--mem-per-gpu" {
		mb, err := parseMemMB(v.value, v.name)
		if err != nil {
			return v.wrap(err)
		}
		if v.name == "--mem-per-cpu" {
			// The per-node memory has the bound of --mem (parseMemMB), which
			// also keeps the product from overflowing.
			cpus := int64(spec.TotalCPUsPerNode())
			if mb > math.MaxInt32*1024/cpus {
				return v.wrap(&api.FieldError{Field: v.name, Value: v.value, Msg: fmt.Sprintf("is too large for %d CPUs per node", cpus)})
			}
			mb *= cpus
		}
		spec.MemoryMB = mb
	}
	if v, ok := get("gpus"); ok {
		if err := applyGPUs(spec, v); err != nil {
			return v.wrap(err)
		}
	}
	if err := applyPerGPU(spec, o); err != nil {
		return err
	}
	if err := applyNodeChoice(spec, o, cwd); err != nil {
		return err
	}
	if v, ok := get("time"); ok {
		secs, unlimited, err := slurmtime.ParseLimit(v.value)
		if err != nil {
			// Slurm's message and status (255) first, then the forms.
			return &codedError{code: 255, msgs: []string{"Invalid --time specification"},
				err: v.wrap(&api.FieldError{Field: "--time", Value: v.value, Msg: slurmtime.LimitForms})}
		}
		if unlimited || secs == 0 {
			secs = api.TimeLimitUnlimited
		}
		spec.TimeLimitSecs = secs
	}
	if v, ok := get("chdir"); ok {
		if v.value == "" {
			return v.wrap(&api.FieldError{Field: "--chdir", Value: v.value, Msg: "want a directory"})
		}
		dir := v.value
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(cwd, dir)
		}
		spec.WorkDir = filepath.Clean(dir)
	}
	spec.Stdout = o.str("output")
	spec.Stderr = o.str("error")
	if v, ok := get("input"); ok {
		if strings.TrimSpace(v.value) == "" {
			return v.wrap(&api.FieldError{Field: "--input", Value: v.value, Msg: "want a file name pattern such as input-%j.txt"})
		}
		spec.Stdin = v.value
	}
	if v, ok := get("get-user-env"); ok {
		if err := checkGetUserEnv(v.value); err != nil {
			return v.wrap(err)
		}
	}
	exp, _ := get("export")
	if spec.Env, err = exportEnv(exp.value, env.Environ()); err != nil {
		return exp.wrap(err)
	}
	spec.Hold = o.flag("hold")
	if v, ok := get("priority"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v.value))
		if err != nil || n < 0 || n > api.MaxPriority {
			return v.wrap(&api.FieldError{Field: "--priority", Value: v.value, Msg: fmt.Sprintf("want a number from 0 (lowest) to %d (highest)", api.MaxPriority)})
		}
		spec.Priority = n
	}
	if v, ok := get("nice"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v.value))
		if err != nil {
			return v.wrap(&api.FieldError{Field: "--nice", Value: v.value, Msg: "want a whole number such as 100"})
		}
		spec.Nice = n
	}
	if v, ok := get("requeue"); ok {
		b := v.value == "true"
		spec.Requeue = &b
	}
	if v, ok := get("signal"); ok {
		if spec.Signal, err = parseSignalSpec(v.value); err != nil {
			return v.wrap(err)
		}
	}
	if err := applyRetry(spec, o); err != nil {
		return err
	}
	if v, ok := get("container-image"); ok {
		if spec.ContainerImage, err = resolveImage(v.value, cwd); err != nil {
			return v.wrap(err)
		}
	}
	if v, ok := get("container-mounts"); ok {
		if spec.ContainerMounts, err = parseMounts(v.value, cwd); err != nil {
			return v.wrap(err)
		}
	}
	if v, ok := get("array"); ok {
		if err := api.ValidateArray(v.value, api.ClientMaxArraySize); err != nil {
			return v.wrap(err)
		}
		spec.Array = strings.TrimSpace(v.value)
	}
	setArrayEnv(spec)
	if v, ok := get("qos"); ok {
		spec.QOS = strings.TrimSpace(v.value)
	}
	if v, ok := get("dependency"); ok {
		if strings.TrimSpace(v.value) == "" {
			return v.wrap(&api.FieldError{Field: "--dependency", Value: v.value, Msg: "want an expression such as afterok:42"})
		}
		if _, err := api.ParseDependency(v.value); err != nil {
			return v.wrap(err)
		}
		spec.Dependency = strings.TrimSpace(v.value)
	}
	if v, ok := get("begin"); ok {
		t, err := slurmtime.ParseDate(v.value, env.Now().In(env.Location), false)
		if err != nil {
			return v.wrap(&api.FieldError{Field: "--begin", Value: v.value, Msg: err.Error()})
		}
		spec.BeginTime = t.Unix()
	}
	return nil
}

// checkGetUserEnv checks --get-user-env's optional value as Slurm parses
// it: a timeout in seconds and/or S or L (how slurmd would run su). The
// option has no further effect in Fairway: Slurm uses it when root submits
// for another user (--uid) to load that user's login environment on the
// node; Fairway submits only as the caller, and --export (ALL by default)
// already passes the caller's own environment.
func checkGetUserEnv(value string) error {
	digits := strings.TrimRight(value, "SsLl")
	if len(value)-len(digits) > 1 || strings.TrimLeft(digits, "0123456789") != "" {
		return &api.FieldError{Field: "--get-user-env", Value: value, Msg: "want [TIMEOUT][S|L], as in --get-user-env=10L"}
	}
	return nil
}

// positiveInt parses an option's value as a number of at least 1.
func positiveInt(v optVal, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v.value))
	if err != nil || n < 1 || n > 1<<20 {
		return 0, v.wrap(&api.FieldError{Field: v.name, Value: v.value, Msg: "want " + what})
	}
	return n, nil
}
