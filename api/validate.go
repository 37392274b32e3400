package api

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// RootAccount is the implicit root of the fair-share tree. It always exists, and
// it is the account of jobs that name none when the cluster configuration sets
// no DefaultAccount.
const RootAccount = "root"

// DefaultMemPerNodeMB is the memory a job gets on each node when it asks for
// none (--mem unset) and its partition sets no DefMemPerNodeMB.
const DefaultMemPerNodeMB int64 = 1024

// DefaultTimeLimitSecs is the time limit of a job that sets none in a partition
// with neither DefaultTimeSecs nor MaxTimeSecs: one hour.
const DefaultTimeLimitSecs int64 = 3600

// MaxPriority is the highest job priority (--priority) accepted; 0 is the lowest.
const MaxPriority = 99

// maxNice bounds --nice as Slurm does (NICE_OFFSET - 3).
const maxNice = 2147483645

// DefaultTime is the time limit, in seconds, of a job in this partition that
// sets none: DefaultTimeSecs, else MaxTimeSecs, else DefaultTimeLimitSecs.
func (p Partition) DefaultTime() int64 {
	switch {
	case p.DefaultTimeSecs > 0:
		return p.DefaultTimeSecs
	case p.MaxTimeSecs > 0:
		return p.MaxTimeSecs
	}
	return DefaultTimeLimitSecs
}

// DefaultMemory is the per-node memory, in MB, of a job in this partition that
// asks for none: DefMemPerNodeMB, else DefaultMemPerNodeMB.
func (p Partition) DefaultMemory() int64 {
	if p.DefMemPerNodeMB > 0 {
		return p.DefMemPerNodeMB
	}
	return DefaultMemPerNodeMB
}

// Up reports whether the partition accepts new job starts: State empty, UP
// or DRAIN (a drained partition takes no new submissions but starts the
// jobs it has queued, as in Slurm).
func (p Partition) Up() bool {
	return p.State == "" || p.State == PartitionUp || p.State == PartitionDrain
}

// Accepting reports whether the partition accepts new submissions: every
// state but DRAIN and INACTIVE.
func (p Partition) Accepting() bool {
	return p.State != PartitionDrain && p.State != PartitionInactive
}

// TimeLimitIn is the job's time limit in seconds when it runs in partition p:
// its own --time, else the partition's default.
func (s *JobSpec) TimeLimitIn(p Partition) int64 {
	if s.TimeLimitSecs > 0 {
		return s.TimeLimitSecs
	}
	return p.DefaultTime()
}

// MemoryIn is the job's memory per node in MB when it runs in partition p: its
// own --mem, else the partition's default.
func (s *JobSpec) MemoryIn(p Partition) int64 {
	if s.MemoryMB > 0 {
		return s.MemoryMB
	}
	return p.DefaultMemory()
}

// The patterns are compiled on first use, not at package initialization,
// which every process importing api (each sbatch call included) would pay for
// at start-up.
var (
	// nameRE is what partition, node and account names may look like.
	nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`) })
	// gpuTypeRE is a GPU type as --gres=gpu:TYPE:N names it.
	gpuTypeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })
	// imageRefRE is a registry image reference: [host[:port]/ or host#]path[:tag][@digest].
	imageRefRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[A-Za-z0-9.-]+(?::[0-9]+)?[/#])?` +
			`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
			`(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
	})
)

// signalNames are the signal names --signal accepts (without the SIG prefix).
var signalNames = []string{
	"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
	"USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
	"TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
}

// ValidSignalName reports whether name is a signal name such as "USR1" or
// "SIGUSR1" (case-insensitive), or a signal number from 1 to 64.
func ValidSignalName(name string) bool {
	if n, err := strconv.Atoi(name); err == nil {
		return n >= 1 && n <= 64
	}
	name = strings.TrimPrefix(strings.ToUpper(name), "SIG")
	return slices.Contains(signalNames, name)
}

func fieldErr(field, value, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Value: value, Msg: fmt.Sprintf(format, args...)}
}

func itoa[T int | int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// ValidateSpec checks a job specification and returns a *FieldError naming the
// first offending field by its sbatch flag (for example "--mem"), or nil.
//
// With a nil cfg only the checks that need no cluster configuration are made
// (what a client can check before sending). With a cfg, the partitions must
// exist, the account must exist when accounts are configured, and the time
// limit must not exceed the MaxTimeSecs of every requested partition (it must
// fit at least one of them). Counts, sizes and their products are bounded
// (checkLimits: MaxCount, MaxMemoryMB, the script size), so nothing
// downstream overflows. A request larger than any node of its partitions is
// refused by the controller with the registered nodes
// (CheckNodeConfiguration), not here.
//
// Zero values of Nodes, NTasks and CPUsPerTask mean 1; zero MemoryMB and
// TimeLimitSecs mean the partition's defaults; an empty WorkDir leaves the
// working directory to the node daemon.
func ValidateSpec(spec *JobSpec, cfg *ClusterConfig) error {
	if spec == nil {
		return fieldErr("jobs", "", "a job specification is required")
	}
	for _, check := range []func(*JobSpec, *ClusterConfig) *FieldError{
		checkPartitions, checkAccount, checkIdentity, checkLimits, checkResources, checkTime,
		checkScript, checkFiles, checkScheduling, checkQOS, checkArraySpec, checkDependency,
		checkSignal, checkContainer, checkRetry, checkMaxNodes,
	} {
		if err := check(spec, cfg); err != nil {
			return err
		}
	}
	return nil
}

func knownPartitions(cfg *ClusterConfig) string {
	names := make([]string, len(cfg.Partitions))
	for i, p := range cfg.Partitions {
		names[i] = p.Name
	}
	if len(names) == 0 {
		return "none configured"
	}
	return strings.Join(names, ", ")
}

func checkPartitions(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	value := strings.Join(spec.Partitions, ",")
	for i, name := range spec.Partitions {
		if name == "" {
			return fieldErr("--partition", value, "partition names must not be empty; use a comma-separated list such as gpu,cpu")
		}
		if slices.Contains(spec.Partitions[:i], name) {
			return fieldErr("--partition", value, "partition %s is named twice", name)
		}
	}
	if cfg == nil {
		return nil
	}
	if len(spec.Partitions) == 0 {
		if _, ok := cfg.DefaultPartition(); !ok {
			return fieldErr("--partition", "", "no partition is configured on this cluster")
		}
		return nil
	}
	for _, name := range spec.Partitions {
		if _, ok := cfg.Partition(name); !ok {
			return fieldErr("--partition", name, "no such partition; known partitions: %s", knownPartitions(cfg))
		}
	}
	return nil
}

// requestedPartitions are the partitions a job asked for, else the
// cluster's default one (none when it has none).
func requestedPartitions(spec *JobSpec, cfg *ClusterConfig) []string {
	if len(spec.Partitions) > 0 {
		return spec.Partitions
	}
	if p, ok := cfg.DefaultPartition(); ok {
		return []string{p.Name}
	}
	return nil
}

// checkMaxNodes refuses a node count beyond every requested partition's
// MaxNodes.
func checkMaxNodes(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	if cfg == nil || spec.Nodes <= 1 {
		return nil
	}
	names := requestedPartitions(spec, cfg)
	var limits []string
	for _, name := range names {
		p, ok := cfg.Partition(name)
		if !ok || p.MaxNodes == 0 || spec.Nodes <= p.MaxNodes {
			return nil
		}
		limits = append(limits, fmt.Sprintf("%s allows at most %d", p.Name, p.MaxNodes))
	}
	if len(limits) == 0 {
		return nil
	}
	return fieldErr("--nodes", itoa(spec.Nodes), "Node count specification invalid: %s", strings.Join(limits, "; "))
}

// CheckPartitionsAccepting refuses a spec whose requested partitions (the
// default one when it names none) all refuse new jobs (State DRAIN or
// INACTIVE): Slurm's "Required partition not available (inactive or
// drain)". Unknown partitions are left to ValidateSpec.
func CheckPartitionsAccepting(spec *JobSpec, cfg *ClusterConfig) error {
	names := requestedPartitions(spec, cfg)
	var states []string
	for _, name := range names {
		p, ok := cfg.Partition(name)
		if !ok || p.Accepting() {
			return nil
		}
		states = append(states, p.Name+" is "+p.State)
	}
	if len(states) == 0 {
		return nil
	}
	return fieldErr("--partition", strings.Join(names, ","), "Required partition not available (inactive or drain): %s", strings.Join(states, ", "))
}

func checkAccount(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	if spec.Account == "" {
		return nil
	}
	if !nameRE().MatchString(spec.Account) {
		return fieldErr("--account", spec.Account, "must be an account name of letters, digits and . _ @ -")
	}
	if cfg == nil || len(cfg.Accounts) == 0 || spec.Account == RootAccount {
		return nil
	}
	if !slices.ContainsFunc(cfg.Accounts, func(a Account) bool { return a.Name == spec.Account }) {
		names := []string{RootAccount}
		for _, a := range cfg.Accounts {
			names = append(names, a.Name)
		}
		if len(names) > 20 {
			names = append(names[:20], "...")
		}
		return fieldErr("--account", spec.Account, "no such account; known accounts: %s", strings.Join(names, ", "))
	}
	return nil
}

func checkIdentity(spec *JobSpec, _ *ClusterConfig) *FieldError {
	switch {
	case spec.User == "":
		return fieldErr("user", "", "the submitting user's name is required")
	case strings.ContainsAny(spec.User, "/:\x00\n"):
		return fieldErr("user", spec.User, "must be a user name")
	case spec.UID < 0:
		return fieldErr("uid", itoa(spec.UID), "must be 0 or more")
	case spec.GID < 0:
		return fieldErr("gid", itoa(spec.GID), "must be 0 or more")
	case slices.ContainsFunc(spec.GIDs, func(g int) bool { return g < 0 }):
		return fieldErr("gids", fmt.Sprint(spec.GIDs), "group IDs must be 0 or more")
	case len(spec.GIDs) > 65536:
		return fieldErr("gids", itoa(len(spec.GIDs)), "at most 65536 supplementary groups (NGROUPS_MAX)")
	case len(spec.Name) > MaxJobNameLen:
		return fieldErr("--job-name", strings.ToValidUTF8(spec.Name[:32], "?")+"...", "must be at most %d bytes", MaxJobNameLen)
	case strings.ContainsFunc(spec.Name, isControl):
		return fieldErr("--job-name", spec.Name, "must not contain control characters")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkResources(spec *JobSpec, _ *ClusterConfig) *FieldError {
	switch {
	case spec.Nodes < 0:
		return fieldErr("--nodes", itoa(spec.Nodes), "must be a positive node count such as 2")
	case spec.NTasks < 0:
		return fieldErr("--ntasks", itoa(spec.NTasks), "must be a positive task count such as 8")
	case spec.NTasks > 0 && spec.NTasks < spec.Nodes:
		return fieldErr("--ntasks", itoa(spec.NTasks), "must be at least the node count (--nodes=%d): every node runs at least one task", spec.Nodes)
	case spec.CPUsPerTask < 0:
		return fieldErr("--cpus-per-task", itoa(spec.CPUsPerTask), "must be a positive CPU count such as 4")
	case spec.MemoryMB < 0:
		return fieldErr("--mem", itoa(spec.MemoryMB)+"M", "must be a positive size such as 4G or 512M")
	case spec.GPUs < 0:
		return fieldErr("--gres", "gpu:"+itoa(spec.GPUs), "the GPU count must be positive, as in gpu:2 or gpu:h100:2")
	case spec.GPUType != "" && !gpuTypeRE().MatchString(spec.GPUType):
		return fieldErr("--gres", "gpu:"+spec.GPUType, "the GPU type must be a name of letters, digits and . _ -, as in gpu:h100:2")
	case spec.GPUType != "" && spec.GPUs == 0:
		return fieldErr("--gres", "gpu:"+spec.GPUType+":0", "a GPU type needs a count of 1 or more, as in gpu:%s:1", spec.GPUType)
	}
	return nil
}

func checkTime(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	if spec.TimeLimitSecs < 0 {
		return fieldErr("--time", itoa(spec.TimeLimitSecs)+"s", "must be a positive duration such as 30, 2:00:00 or 1-00:00:00")
	}
	if cfg == nil || spec.TimeLimitSecs == 0 {
		return nil
	}
	names := requestedPartitions(spec, cfg)
	var limits []string
	for _, name := range names {
		p, ok := cfg.Partition(name)
		if !ok {
			continue
		}
		if p.MaxTimeSecs == 0 || spec.TimeLimitSecs <= p.MaxTimeSecs {
			return nil // fits at least one requested partition
		}
		limits = append(limits, fmt.Sprintf("%s allows at most %s", p.Name, FormatDuration(p.MaxTimeSecs)))
	}
	if len(limits) == 0 {
		return nil
	}
	return fieldErr("--time", FormatDuration(spec.TimeLimitSecs), "exceeds the partition time limit (%s)", strings.Join(limits, "; "))
}

// FormatDuration formats seconds as Slurm prints time limits: [D-]HH:MM:SS,
// or UNLIMITED (see TimeLimitUnlimited).
func FormatDuration(secs int64) string {
	if Unlimited(secs) {
		return "UNLIMITED"
	}
	if secs < 0 {
		return "-" + FormatDuration(-secs)
	}
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	if d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

func checkScript(spec *JobSpec, _ *ClusterConfig) *FieldError {
	if strings.TrimSpace(spec.Script) == "" {
		return fieldErr("script", "", "the batch script is empty; give a script file or --wrap=COMMAND")
	}
	if !strings.HasPrefix(spec.Script, "#!") {
		first, _, _ := strings.Cut(spec.Script, "\n")
		if len(first) > 40 {
			first = first[:40] + "..."
		}
		return fieldErr("script", first, "this does not look like a batch script: the first line must start with #! followed by the path of an interpreter, such as #!/bin/bash")
	}
	if strings.ContainsRune(spec.Script, 0) {
		return fieldErr("script", "", "the batch script must be text (it contains a NUL byte)")
	}
	for _, a := range spec.Args {
		if strings.ContainsRune(a, 0) {
			return fieldErr("args", a, "script arguments must not contain NUL bytes")
		}
	}
	return nil
}

func checkFiles(spec *JobSpec, _ *ClusterConfig) *FieldError {
	if spec.WorkDir != "" && !path.IsAbs(spec.WorkDir) {
		return fieldErr("--chdir", spec.WorkDir, "must be an absolute path such as /home/alice/run")
	}
	for _, f := range []struct{ flag, value string }{{"--output", spec.Stdout}, {"--error", spec.Stderr}} {
		if strings.ContainsFunc(f.value, isControl) {
			return fieldErr(f.flag, f.value, "must be a file name pattern without control characters, such as slurm-%%j.out")
		}
	}
	for k, v := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fieldErr("--export", k, "environment variable names must be non-empty and contain no = or NUL")
		}
		if strings.ContainsRune(v, 0) {
			return fieldErr("--export", k, "environment variable values must not contain NUL")
		}
	}
	return nil
}

func checkScheduling(spec *JobSpec, _ *ClusterConfig) *FieldError {
	switch {
	case spec.Priority < 0 || spec.Priority > MaxPriority:
		return fieldErr("--priority", itoa(spec.Priority), "must be from 0 (lowest) to %d (highest)", MaxPriority)
	case spec.Nice < -maxNice || spec.Nice > maxNice:
		return fieldErr("--nice", itoa(spec.Nice), "must be from %d to %d", -maxNice, maxNice)
	case spec.BeginTime < 0:
		return fieldErr("--begin", itoa(spec.BeginTime), "must be a time such as now+1hour or 2025-01-31T12:00:00")
	}
	return nil
}

// DefaultQOS is the quality of service every cluster has, as in Slurm: a
// job may name it even when the configuration lists no QOS.
const DefaultQOS = "normal"

func checkQOS(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	if spec.QOS == "" {
		return nil
	}
	if !nameRE().MatchString(spec.QOS) {
		return fieldErr("--qos", spec.QOS, "must be a QOS name of letters, digits and . _ @ -")
	}
	if cfg == nil {
		return nil
	}
	if allowed, _ := cfg.AccountQOS(spec.Account); len(allowed) > 0 && !slices.Contains(allowed, spec.QOS) {
		return fieldErr("--qos", spec.QOS, "Invalid qos specification: account %s may use %s", spec.Account, strings.Join(allowed, ","))
	}
	if spec.QOS == DefaultQOS {
		return nil
	}
	names := []string{DefaultQOS}
	for _, q := range cfg.QOS {
		if q.Name == spec.QOS {
			return nil
		}
		if q.Name != DefaultQOS {
			names = append(names, q.Name)
		}
	}
	return fieldErr("--qos", spec.QOS, "no such QOS; known QOS: %s", strings.Join(names, ", "))
}

func checkArraySpec(spec *JobSpec, cfg *ClusterConfig) *FieldError {
	if spec.Array == "" {
		return nil
	}
	maxSize := ClientMaxArraySize
	if cfg != nil {
		maxSize = cfg.MaxArraySizeOrDefault()
	}
	return checkArray(spec.Array, maxSize)
}

func checkDependency(spec *JobSpec, _ *ClusterConfig) *FieldError {
	if spec.Dependency == "" {
		return nil
	}
	_, err := parseDependency(spec.Dependency)
	return err
}

func checkSignal(spec *JobSpec, _ *ClusterConfig) *FieldError {
	s := spec.Signal
	if s == nil {
		return nil
	}
	value := s.Name + "@" + itoa(s.AtSeconds)
	if !ValidSignalName(s.Name) {
		return fieldErr("--signal", value, "unknown signal %q; use a name such as USR1 or TERM, as in --signal=B:USR1@120", s.Name)
	}
	if s.AtSeconds < 0 || s.AtSeconds > 65535 {
		return fieldErr("--signal", value, "the time before the limit must be from 0 to 65535 seconds")
	}
	return nil
}

func checkContainer(spec *JobSpec, _ *ClusterConfig) *FieldError {
	if spec.ContainerImage == "" {
		if len(spec.ContainerMounts) > 0 {
			return fieldErr("--container-mounts", spec.ContainerMounts[0].Source+":"+spec.ContainerMounts[0].Target, "mounts need a --container-image")
		}
		return nil
	}
	if err := checkImage(spec.ContainerImage); err != nil {
		return err
	}
	for _, m := range spec.ContainerMounts {
		value := m.Source + ":" + m.Target
		if !path.IsAbs(m.Source) || !path.IsAbs(m.Target) {
			return fieldErr("--container-mounts", value, "source and target must be absolute paths, as in /data:/data or /data:/data:ro")
		}
	}
	return nil
}

// ValidateImage checks a --container-image value: oci-archive:PATH,
// docker-archive:PATH or dir:ROOTFS with an absolute path, or a registry
// reference such as docker.io/library/ubuntu:22.04 (optionally docker://, and
// enroot's registry#image form). The error is a *FieldError.
func ValidateImage(image string) error {
	if err := checkImage(image); err != nil {
		return err
	}
	return nil
}

func checkImage(image string) *FieldError {
	const accepted = "use oci-archive:/path/image.tar, docker-archive:/path/image.tar, dir:/path/rootfs or a registry reference such as docker.io/library/ubuntu:22.04"
	for _, prefix := range []string{"oci-archive:", "docker-archive:", "dir:"} {
		if rest, ok := strings.CutPrefix(image, prefix); ok {
			if !path.IsAbs(rest) {
				return fieldErr("--container-image", image, "the path after %s must be absolute; %s", prefix, accepted)
			}
			return nil
		}
	}
	ref := strings.TrimPrefix(image, "docker://")
	if !imageRefRE().MatchString(ref) {
		return fieldErr("--container-image", image, "not an image reference; %s", accepted)
	}
	return nil
}
