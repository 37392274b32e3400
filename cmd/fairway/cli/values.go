package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// waitPoll is how long one blocking query of sbatch --wait waits.
const waitPoll = 30 * time.Second

// The patterns are compiled on first use: a command pays only for those it
// needs, not for all of them at start-up.
var (
	memRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+)([KkMmGgTt]?)[Bb]?$`) })
	gpuTypeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`) })
	envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
)

// parseMemMB parses a Slurm memory size (a number with an optional K, M, G or
// T suffix; no suffix means megabytes) into megabytes, rounding up.
func parseMemMB(s, option string) (int64, error) {
	m := memRE().FindStringSubmatch(strings.TrimSpace(s))
	bad := &api.FieldError{Field: option, Value: s, Msg: "must be a positive size such as 4G, 512M or 16000 (megabytes); units are K, M, G and T"}
	if m == nil {
		return 0, bad
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, bad
	}
	var mult int64
	switch strings.ToUpper(m[2]) {
	case "K":
		// Round up without n+1023, which overflows for the largest n.
		kb := n
		n, mult = kb/1024, 1
		if kb%1024 != 0 {
			n++
		}
	case "", "M":
		mult = 1
	case "G":
		mult = 1024
	case "T":
		mult = 1024 * 1024
	}
	if n > math.MaxInt32*1024/mult {
		return 0, &api.FieldError{Field: option, Value: s, Msg: "is too large"}
	}
	return n * mult, nil
}

// parseTypedCount parses "[TYPE:]N" (--gpus, --gpus-per-node, --gpus-per-task).
func parseTypedCount(s, option string) (typ string, n int, err error) {
	bad := &api.FieldError{Field: option, Value: s, Msg: "want a GPU count N or TYPE:N, as in 2 or h100:2"}
	s = strings.TrimPrefix(strings.TrimSpace(s), "gpu:")
	countStr := s
	if t, c, ok := strings.Cut(s, ":"); ok {
		if !gpuTypeRE().MatchString(t) {
			return "", 0, bad
		}
		typ, countStr = t, c
	}
	n, err = strconv.Atoi(countStr)
	if err != nil || n < 1 || n > 1<<16 {
		return "", 0, bad
	}
	return typ, n, nil
}

// parseGres parses --gres=gpu[:TYPE]:N (also with a gres: or gres/ prefix;
// "gpu" alone is one GPU).
func parseGres(s string) (typ string, n int, err error) {
	bad := func(msg string) (string, int, error) {
		return "", 0, &api.FieldError{Field: "--gres", Value: s, Msg: msg}
	}
	const forms = "want gpu:N or gpu:TYPE:N, as in gpu:2 or gpu:h100:2"
	items := splitList(s)
	if len(items) != 1 {
		return bad("give one GPU request; " + forms)
	}
	item := strings.TrimPrefix(strings.TrimPrefix(items[0], "gres:"), "gres/")
	parts := strings.Split(item, ":")
	if parts[0] != "gpu" {
		return bad("only gpu GRES are supported; " + forms)
	}
	switch len(parts) {
	case 1:
		return "", 1, nil
	case 2:
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 1 || n > 1<<16 {
			return bad(forms)
		}
		return "", n, nil
	case 3:
		if !gpuTypeRE().MatchString(parts[1]) {
			return bad(forms)
		}
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 || n > 1<<16 {
			return bad(forms)
		}
		return parts[1], n, nil
	}
	return bad(forms)
}

// applyGPUs sets the spec's per-node GPU count from one of --gres, --gpus,
// --gpus-per-node and --gpus-per-task (Nodes and NTasks must be set).
func applyGPUs(spec *api.JobSpec, v optVal) error {
	var typ string
	var n int
	var err error
	if v.name == "--gres" {
		typ, n, err = parseGres(v.value)
	} else {
		typ, n, err = parseTypedCount(v.value, v.name)
	}
	if err != nil {
		return err
	}
	nodes := max(spec.Nodes, 1)
	switch v.name {
	case "--gpus":
		if n%nodes != 0 {
			return &api.FieldError{Field: "--gpus", Value: v.value, Msg: fmt.Sprintf("%d GPUs cannot be spread evenly over %d nodes; use a multiple of %d or --gpus-per-node", n, nodes, nodes)}
		}
		n /= nodes
	case "--gpus-per-task":
		tasksPerNode := (max(spec.NTasks, 1) + nodes - 1) / nodes
		n *= tasksPerNode
	}
	spec.GPUs, spec.GPUType = n, typ
	return nil
}

// exportEnv builds the job's environment from --export and the caller's
// environment: ALL (the default) passes everything, NONE nothing, and a list
// passes the named variables (VAR takes the caller's value, VAR=value sets
// one), plus everything when the list includes ALL.
func exportEnv(value string, environ []string) (map[string]string, error) {
	current := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			current[k] = v
		}
	}
	if strings.TrimSpace(value) == "" {
		value = "ALL"
	}
	out := map[string]string{}
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		switch strings.ToUpper(item) {
		case "":
			continue
		case "ALL":
			for k, v := range current {
				if _, set := out[k]; !set {
					out[k] = v
				}
			}
			continue
		case "NONE", "NIL":
			continue
		}
		name, val, hasVal := strings.Cut(item, "=")
		if !envNameRE().MatchString(name) {
			return nil, &api.FieldError{Field: "--export", Value: value, Msg: fmt.Sprintf("%q is not a variable name; want ALL, NONE or a list such as ALL,VAR=value,OTHER", name)}
		}
		if hasVal {
			out[name] = val
		} else if v, ok := current[name]; ok {
			out[name] = v
		}
	}
	return out, nil
}

// parseSignalSpec parses --signal=[{R|B}:]SIG[@TIME].
func parseSignalSpec(s string) (*api.Signal, error) {
	bad := func(msg string) (*api.Signal, error) {
		return nil, &api.FieldError{Field: "--signal", Value: s, Msg: msg + "; want [B:]SIG[@TIME], as in B:USR1@120"}
	}
	sig := &api.Signal{AtSeconds: 60}
	rest := strings.TrimSpace(s)
	if prefix, after, ok := strings.Cut(rest, ":"); ok {
		for _, c := range strings.ToUpper(prefix) {
			switch c {
			case 'B':
				sig.BatchOnly = true
			case 'R':
			default:
				return bad(fmt.Sprintf("unknown prefix %q", prefix))
			}
		}
		rest = after
	}
	name, at, hasAt := strings.Cut(rest, "@")
	if hasAt {
		n, err := strconv.Atoi(at)
		if err != nil || n < 0 || n > 65535 {
			return bad("the time must be 0 to 65535 seconds")
		}
		sig.AtSeconds = n
	}
	norm, err := normalizeSignal(name, "--signal")
	if err != nil {
		return bad(fmt.Sprintf("unknown signal %q", name))
	}
	sig.Name = norm
	return sig, nil
}

// resolveImage makes the path of a local image archive or root directory
// absolute and checks that it exists; registry references pass unchanged.
func resolveImage(image, cwd string) (string, error) {
	for _, prefix := range []string{"oci-archive:", "docker-archive:", "dir:"} {
		path, ok := strings.CutPrefix(image, prefix)
		if !ok {
			continue
		}
		if path == "" {
			return "", &api.FieldError{Field: "--container-image", Value: image, Msg: "the path after " + prefix + " is missing"}
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		path = filepath.Clean(path)
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			return "", &api.FieldError{Field: "--container-image", Value: image, Msg: fmt.Sprintf("cannot use %s: %v", path, unwrapPathErr(err))}
		case prefix == "dir:" && !fi.IsDir():
			return "", &api.FieldError{Field: "--container-image", Value: image, Msg: path + " is not a directory"}
		case prefix != "dir:" && !fi.Mode().IsRegular():
			return "", &api.FieldError{Field: "--container-image", Value: image, Msg: path + " is not a file"}
		}
		return prefix + path, nil
	}
	if err := api.ValidateImage(image); err != nil {
		return "", err
	}
	return image, nil
}

// parseMounts parses --container-mounts=SRC:DST[:ro|rw],... A lone path mounts
// it at the same place; relative sources are taken from cwd.
func parseMounts(s, cwd string) ([]api.Mount, error) {
	var out []api.Mount
	for _, item := range splitList(s) {
		parts := strings.Split(item, ":")
		bad := func(msg string) ([]api.Mount, error) {
			return nil, &api.FieldError{Field: "--container-mounts", Value: item, Msg: msg + "; want SRC:DST[:ro], comma-separated, as in /data:/data:ro"}
		}
		m := api.Mount{}
		switch len(parts) {
		case 1:
			m.Source, m.Target = parts[0], parts[0]
		case 2, 3:
			m.Source, m.Target = parts[0], parts[1]
			if len(parts) == 3 {
				switch parts[2] {
				case "ro":
					m.ReadOnly = true
				case "rw":
				default:
					return bad(fmt.Sprintf("unknown flag %q", parts[2]))
				}
			}
		default:
			return bad("too many colons")
		}
		if m.Source == "" || m.Target == "" {
			return bad("empty path")
		}
		if !filepath.IsAbs(m.Source) {
			m.Source = filepath.Join(cwd, m.Source)
		}
		if !filepath.IsAbs(m.Target) {
			return bad("the target must be an absolute path")
		}
		m.Source, m.Target = filepath.Clean(m.Source), filepath.Clean(m.Target)
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, &api.FieldError{Field: "--container-mounts", Value: s, Msg: "no mounts given; want SRC:DST[:ro],..."}
	}
	return out, nil
}

// The cluster's name: Fairway runs one cluster, named by $FAIRWAY_CLUSTER_NAME
// (default "fairway"); -M/--clusters accepts that name and "all".
const (
	envClusterName     = "FAIRWAY_CLUSTER_NAME"
	defaultClusterName = "fairway"
)

// clusterName is the name of the cluster the commands talk to.
func clusterName(inv *invocation) string {
	if n := inv.env.Getenv(envClusterName); n != "" {
		return n
	}
	return defaultClusterName
}

// parseClusters checks a -M/--clusters value: a comma-separated list of
// this cluster's name and "all" (any case). It reports whether the option
// was given (Slurm then prints a CLUSTER: line before the header).
func parseClusters(inv *invocation, value string) (bool, error) {
	if value == "" {
		return false, nil
	}
	for _, c := range strings.Split(value, ",") {
		c = strings.TrimSpace(c)
		if strings.EqualFold(c, "all") || c == clusterName(inv) {
			continue
		}
		//lint:ignore ST1005 Slurm's exact message, which scripts match
		return true, fmt.Errorf("'%s' can't be reached now, or it is an invalid entry for --cluster.  Use 'sacctmgr list clusters' to see available clusters.", value)
	}
	return true, nil
}
