package noded

import (
	"fmt"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/slurmenv"
	"github.com/fairway-hpc/fairway/noded/executor/container"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

// defaultPath is the search path of a host job whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// jobEnv returns the environment of a job's batch script on this node: the
// job's own environment, then the Slurm variables, each with its FAIRWAY_
// twin (SLURM_JOB_ID and FAIRWAY_JOB_ID, ...), FAIRWAY_ADDR,
// FAIRWAY_CHECKPOINT_DIR (checkpointDir) and the variables of the GPUs it
// was given (gpu.Env; these win), sorted by name. The GPU variables of the
// environment the job was submitted in never reach it.
func jobEnv(job *api.Job, alloc api.NodeAlloc, node, controllers, checkpointDir string, usr *user.User, gpus []gpu.Device) []string {
	env := map[string]string{}
	for k, v := range job.Spec.Env {
		env[k] = v
	}
	for _, k := range gpu.EnvNames {
		delete(env, k)
	}
	setDefault := func(k, v string) {
		if _, ok := env[k]; !ok && v != "" {
			env[k] = v
		}
	}
	setDefault("PATH", defaultPath)
	if usr != nil {
		setDefault("HOME", usr.HomeDir)
		setDefault("USER", usr.Username)
		setDefault("LOGNAME", usr.Username)
	}

	id := job.ID.String()
	nodes := job.NodeNames()
	ntasks := max(job.Spec.NTasks, 1)
	// Tasks per node as Slurm lays out a job's tasks: as even as can be,
	// the first nodes taking one more; and each node's CPUs.
	tasksPerNode := make([]int, max(len(nodes), 1))
	for i := range tasksPerNode {
		tasksPerNode[i] = ntasks / len(tasksPerNode)
		if i < ntasks%len(tasksPerNode) {
			tasksPerNode[i]++
		}
	}
	cpusPerNode := make([]int, 0, len(job.Alloc))
	for _, a := range job.Alloc {
		cpusPerNode = append(cpusPerNode, a.CPUs)
	}
	slurm := map[string]string{
		"SLURM_JOB_ID":            id,
		"SLURM_JOBID":             id,
		"SLURM_JOB_NAME":          job.Spec.Name,
		"SLURM_JOB_PARTITION":     job.Partition,
		"SLURM_JOB_ACCOUNT":       job.Spec.Account,
		"SLURM_JOB_USER":          job.Spec.User,
		"SLURM_JOB_UID":           strconv.Itoa(job.Spec.UID),
		"SLURM_JOB_GID":           strconv.Itoa(job.Spec.GID),
		"SLURM_SUBMIT_DIR":        job.Spec.WorkDir,
		"SLURM_SUBMIT_HOST":       job.Spec.SubmitHost,
		"SLURM_JOB_NODELIST":      slurmenv.Nodelist(nodes),
		"SLURM_NODELIST":          slurmenv.Nodelist(nodes),
		"SLURM_NNODES":            strconv.Itoa(len(nodes)),
		"SLURM_JOB_NUM_NODES":     strconv.Itoa(len(nodes)),
		"SLURM_NTASKS":            strconv.Itoa(ntasks),
		"SLURM_NPROCS":            strconv.Itoa(ntasks),
		"SLURM_TASKS_PER_NODE":    slurmenv.Counts(tasksPerNode),
		"SLURM_CPUS_ON_NODE":      strconv.Itoa(alloc.CPUs),
		"SLURM_JOB_CPUS_PER_NODE": slurmenv.Counts(cpusPerNode),
		"SLURM_MEM_PER_NODE":      strconv.FormatInt(alloc.MemoryMB, 10),
		"SLURM_RESTART_COUNT":     strconv.Itoa(job.RestartCount),
		"SLURM_NODEID":            "0",
		"SLURM_PROCID":            "0",
		"SLURM_LOCALID":           "0",
		"SLURM_CLUSTER_NAME":      "fairway",
	}
	// Set only when asked for, as Slurm does (PyTorch Lightning checks
	// SLURM_NTASKS_PER_NODE against its devices when it is set); a job
	// submitted from inside another must not inherit them.
	slurm["SLURM_NTASKS_PER_NODE"], slurm["SLURM_CPUS_PER_TASK"] = "", ""
	if job.Spec.NTasksPerNode > 0 {
		slurm["SLURM_NTASKS_PER_NODE"] = strconv.Itoa(job.Spec.NTasksPerNode)
	}
	if job.Spec.CPUsPerTask > 1 {
		slurm["SLURM_CPUS_PER_TASK"] = strconv.Itoa(job.Spec.CPUsPerTask)
	}
	// A job submitted from inside an array task must not look like one.
	slurm["SLURM_ARRAY_JOB_ID"], slurm["SLURM_ARRAY_TASK_ID"] = "", ""
	if job.IsArrayTask() {
		slurm["SLURM_ARRAY_JOB_ID"] = job.ArrayJobID.String()
		slurm["SLURM_ARRAY_TASK_ID"] = strconv.Itoa(job.ArrayTaskID)
	}
	set := map[string]string{
		// FAIRWAY_RUN_ID names this run uniquely (job, restart, start time):
		// srun keys its step counter on it.
		"FAIRWAY_RUN_ID":         fmt.Sprintf("%s.%d.%d", id, job.RestartCount, job.StartTime),
		"FAIRWAY_ADDR":           controllers,
		"FAIRWAY_CHECKPOINT_DIR": checkpointDir,
		"SLURMD_NODENAME":        node,
	}
	for k, v := range slurm {
		set[k] = v
		set["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	for k, v := range gpu.Env(gpus) {
		set[k] = v
	}
	for k, v := range set {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}

	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// lookupUser finds the job's user by UID; nil when the node does not know it.
func lookupUser(uid int) (*user.User, []int) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, nil
	}
	ids, err := u.GroupIds()
	if err != nil {
		return u, nil
	}
	var groups []int
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			groups = append(groups, g)
		}
	}
	return u, groups
}

// checkpointDoneCommand is the command a job runs to report a completed
// checkpoint (client.EnvCheckpointDone): the tools binary with "checkpoint
// done", by the path the job sees it at (an image-based container has it
// mounted in container.ToolsDir; a host job runs it where the node has it),
// else "fairway" from the job's PATH. The variable is meant to be run
// unquoted, so a path with white space falls back to the PATH too.
func checkpointDoneCommand(job *api.Job, toolsBinary string) string {
	const sub = " checkpoint done"
	switch {
	case toolsBinary == "":
	case job.Spec.ContainerImage != "":
		return path.Join(container.ToolsDir, "fairway") + sub
	case filepath.IsAbs(toolsBinary) && !strings.ContainsFunc(toolsBinary, unicode.IsSpace):
		return toolsBinary + sub
	}
	return "fairway" + sub
}

// withCheckpointDone sets the job's client.EnvCheckpointDone to cmd,
// replacing what the job was submitted with. The environment stays sorted.
func withCheckpointDone(env []string, cmd string) []string {
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, client.EnvCheckpointDone+"=") })
	env = append(env, client.EnvCheckpointDone+"="+cmd)
	slices.Sort(env)
	return env
}
