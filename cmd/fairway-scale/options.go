package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// options are the harness's flags: every size and every bound.
type options struct {
	fairwayd, fairway, dir, out   string
	controllers                   int
	attach, pkiDir, jwtKey        string
	ipPrefix                      string
	httpPort, raftPort, pprofPort int
	nodes, gpusPerNode, cpus      int
	nodeMemMB                     int64
	jobs                          int
	rate                          float64
	submitters, batch             int
	submitFor, drain, maxRun      time.Duration
	meanRun, minRun, maxRunTime   time.Duration
	gangFrac, arrayFrac           float64
	arrayMin, arrayMax            int
	trace                         string
	traceScale                    float64
	users                         string
	accounts                      int
	probeUser                     string
	probeJobs                     int
	heartbeat, watchWait, sample  time.Duration
	schedInterval, nodeDownAfter  time.Duration
	raftMultiplier                int
	nodeLease                     time.Duration
	killLeader, profile           bool
	profileSecs                   int
	registerWait, failoverWait    time.Duration
	seed                          uint64

	// The lists mode (lists.go).
	mode          string
	listJobs      string
	listRuns      int
	listEstimates bool
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.fairwayd, "fairwayd", "bin/fairwayd", "the fairwayd binary the controllers run")
	fs.StringVar(&o.fairway, "fairway", "bin/fairway", "the client binary whose squeue is timed")
	fs.StringVar(&o.dir, "dir", "", "working directory: PKI, data directories, logs (default a new temporary directory)")
	fs.StringVar(&o.out, "out", "scale-report", "directory for report.json, report.md and the leader's profiles")
	fs.IntVar(&o.controllers, "controllers", 3, "controllers to start")
	fs.StringVar(&o.attach, "attach", "", "use running controllers at these comma-separated host:port API addresses instead of starting them (needs -pki-dir, -jwt-key)")
	fs.StringVar(&o.pkiDir, "pki-dir", "", "with -attach: the cluster's PKI directory (ca.pem, ca-key.pem)")
	fs.StringVar(&o.jwtKey, "jwt-key", "", "with -attach: the cluster's JWT key file")
	fs.StringVar(&o.ipPrefix, "ip-prefix", "127.77.15", "first three octets of the controllers' loopback addresses (controller i: .11+i)")
	fs.IntVar(&o.httpPort, "http-port", 26817, "controllers' API port")
	fs.IntVar(&o.raftPort, "raft-port", 26818, "controllers' raft port")
	fs.IntVar(&o.pprofPort, "pprof-port", 26819, "controllers' Go profile port (0: none)")
	fs.IntVar(&o.raftMultiplier, "raft-multiplier", 0, "controllers' --raft-multiplier: raft timeouts of 500 ms times this (0: their default, 1)")
	fs.IntVar(&o.nodes, "nodes", 500, "simulated nodes")
	fs.IntVar(&o.gpusPerNode, "gpus-per-node", 8, "GPUs of each simulated node")
	fs.IntVar(&o.cpus, "cpus-per-node", 128, "CPUs of each simulated node")
	fs.Int64Var(&o.nodeMemMB, "node-memory-mb", 2_000_000, "memory of each simulated node (MB)")
	fs.IntVar(&o.jobs, "jobs", 20_000, "jobs to submit (an array's tasks count one each)")
	fs.Float64Var(&o.rate, "rate", 200, "target submissions, in jobs per second")
	fs.IntVar(&o.submitters, "submitters", 32, "concurrent submitting goroutines")
	fs.IntVar(&o.batch, "batch", 1, "jobs per POST /v1/jobs (1 as sbatch does)")
	fs.DurationVar(&o.submitFor, "submit-for", 5*time.Minute, "longest submission phase")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "longest wait after the submissions for the jobs to finish")
	fs.DurationVar(&o.maxRun, "max-run", 30*time.Minute, "hard bound on the whole run")
	fs.DurationVar(&o.meanRun, "mean-runtime", 20*time.Second, "mean run time of a synthetic job (exponential)")
	fs.DurationVar(&o.minRun, "min-runtime", 2*time.Second, "shortest run time")
	fs.DurationVar(&o.maxRunTime, "max-runtime", 2*time.Minute, "longest run time")
	fs.Float64Var(&o.gangFrac, "gang-fraction", 0.05, "share of submissions that are gangs of 2-4 whole nodes")
	fs.Float64Var(&o.arrayFrac, "array-fraction", 0.05, "share of submissions that are arrays of 1-GPU tasks")
	fs.IntVar(&o.arrayMin, "array-min", 4, "fewest tasks of an array")
	fs.IntVar(&o.arrayMax, "array-max", 32, "most tasks of an array")
	fs.StringVar(&o.trace, "trace", "", "replay this trace's jobs instead of the synthetic mix (../shared/traces: Philly CSV, Alibaba pods, SWF)")
	fs.Float64Var(&o.traceScale, "trace-time-scale", 0.001, "multiply the trace's run times by this")
	fs.StringVar(&o.users, "users", "daemon,bin,sys,games,man,lp,mail,news", "comma-separated submitting users (must exist on the controllers' machine)")
	fs.IntVar(&o.accounts, "accounts", 4, "accounts the users are spread over")
	fs.StringVar(&o.probeUser, "probe-user", "news", "the user who submits exactly -probe-jobs jobs (squeue -u)")
	fs.IntVar(&o.probeJobs, "probe-jobs", 100, "jobs of -probe-user")
	fs.DurationVar(&o.heartbeat, "heartbeat", 3*time.Second, "simulated nodes' heartbeat interval (noded's default)")
	fs.DurationVar(&o.nodeLease, "node-lease", 0, "cluster node_lease_secs, at least twice -heartbeat (0: the default, 10 s)")
	fs.DurationVar(&o.watchWait, "watch-wait", 60*time.Second, "longest a node's watch blocks (noded's)")
	fs.DurationVar(&o.sample, "sample-interval", 2*time.Second, "time between samples of the controllers")
	fs.DurationVar(&o.schedInterval, "sched-interval", 0, "controllers' periodic pass interval (0: their default)")
	fs.DurationVar(&o.nodeDownAfter, "node-down-after", 5*time.Minute, "cluster node_down_after (long: an overloaded controller must not fail the nodes)")
	fs.BoolVar(&o.killLeader, "kill-leader", true, "at the end, SIGKILL the leader and measure its restart")
	fs.BoolVar(&o.profile, "profile", true, "take the leader's CPU profile during the submissions and its heap profile after")
	fs.IntVar(&o.profileSecs, "profile-secs", 20, "length of the CPU profile")
	fs.DurationVar(&o.registerWait, "register-wait", 5*time.Minute, "longest wait for every node to register")
	fs.DurationVar(&o.failoverWait, "failover-wait", 3*time.Minute, "longest wait in each step of the kill -9")
	fs.Uint64Var(&o.seed, "seed", 1, "workload seed")
	fs.StringVar(&o.mode, "mode", "scale", "scale: the cluster under submissions (above); lists: squeue and a restart against one controller started on a snapshot of -list-jobs jobs (docs/scale.md)")
	fs.StringVar(&o.listJobs, "list-jobs", "20000,200000", "with -mode lists: comma-separated state sizes, in jobs")
	fs.IntVar(&o.listRuns, "list-runs", 5, "with -mode lists: runs of each client command")
	fs.BoolVar(&o.listEstimates, "list-estimates", false, "with -mode lists: let the controller replay the queue for start-time estimates (off: its list path is measured alone)")
}

// check validates the options, naming the flag at fault.
func (o *options) check() error {
	var errs []error
	bad := func(flag string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	if o.controllers < 1 || o.controllers > 9 {
		bad("controllers", "%d, want 1-9", o.controllers)
	}
	if o.nodes < 1 || o.nodes > 100_000 {
		bad("nodes", "%d, want 1-100000", o.nodes)
	}
	if o.gpusPerNode < 1 || o.gpusPerNode > 64 {
		bad("gpus-per-node", "%d, want 1-64", o.gpusPerNode)
	}
	if o.jobs < 1 || o.jobs > 10_000_000 {
		bad("jobs", "%d, want 1-10000000", o.jobs)
	}
	if o.rate <= 0 {
		bad("rate", "%g, want more than 0", o.rate)
	}
	if o.submitters < 1 || o.submitters > 4096 {
		bad("submitters", "%d, want 1-4096", o.submitters)
	}
	if o.batch < 1 || o.batch > 1000 {
		bad("batch", "%d, want 1-1000", o.batch)
	}
	for name, d := range map[string]time.Duration{"submit-for": o.submitFor, "drain": o.drain, "max-run": o.maxRun,
		"heartbeat": o.heartbeat, "watch-wait": o.watchWait, "sample-interval": o.sample, "register-wait": o.registerWait,
		"failover-wait": o.failoverWait} {
		if d <= 0 {
			bad(name, "%s, want more than 0", d)
		}
	}
	if o.raftMultiplier < 0 || o.raftMultiplier > 10 {
		bad("raft-multiplier", "%d, want 0-10", o.raftMultiplier)
	}
	if lease := cmp.Or(o.nodeLease, time.Duration(api.DefaultNodeLeaseSecs)*time.Second); lease < 2*o.heartbeat || lease%time.Second != 0 {
		bad("node-lease", "%s, want whole seconds and at least twice -heartbeat (%s), as noded expects", lease, o.heartbeat)
	}
	if o.attach != "" && (o.pkiDir == "" || o.jwtKey == "") {
		bad("attach", "needs -pki-dir and -jwt-key")
	}
	if len(o.userList()) == 0 {
		bad("users", "none given")
	}
	if o.probeJobs < 0 || o.probeJobs > o.jobs {
		bad("probe-jobs", "%d, want 0-%d (-jobs)", o.probeJobs, o.jobs)
	}
	if o.probeJobs > 0 && len(o.userList()) < 2 {
		bad("users", "-probe-jobs needs another user besides -probe-user")
	}
	switch o.mode {
	case "scale":
	case "lists":
		if _, err := o.listSizes(); err != nil {
			errs = append(errs, err)
		}
		if o.listRuns < 1 || o.listRuns > 1000 {
			bad("list-runs", "%d, want 1-1000", o.listRuns)
		}
	default:
		bad("mode", "%q, want scale or lists", o.mode)
	}
	return errors.Join(errs...)
}

// listSizes is -list-jobs parsed.
func (o *options) listSizes() ([]int, error) {
	var out []int
	for _, f := range strings.Split(o.listJobs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 2_000_000 {
			return nil, fmt.Errorf("-list-jobs: %q, want comma-separated job counts of 1-2000000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// userList is -users split, the probe user first.
func (o *options) userList() []string {
	var out []string
	if o.probeUser != "" && o.probeJobs > 0 {
		out = append(out, o.probeUser)
	}
	for _, u := range strings.Split(o.users, ",") {
		if u = strings.TrimSpace(u); u != "" && (u != o.probeUser || o.probeJobs == 0) {
			out = append(out, u)
		}
	}
	return out
}

// params lists the options for the report.
func (o *options) params() map[string]string {
	p := map[string]string{
		"controllers": fmt.Sprint(o.controllers), "nodes": fmt.Sprint(o.nodes), "gpus_per_node": fmt.Sprint(o.gpusPerNode),
		"jobs": fmt.Sprint(o.jobs), "rate": fmt.Sprint(o.rate), "submitters": fmt.Sprint(o.submitters), "batch": fmt.Sprint(o.batch),
		"mean_runtime": o.meanRun.String(), "runtime_range": o.minRun.String() + "-" + o.maxRunTime.String(),
		"gang_fraction": fmt.Sprint(o.gangFrac), "array_fraction": fmt.Sprint(o.arrayFrac),
		"array_tasks": fmt.Sprintf("%d-%d", o.arrayMin, o.arrayMax), "heartbeat": o.heartbeat.String(),
		"users": strings.Join(o.userList(), ","), "accounts": fmt.Sprint(o.accounts),
	}
	if o.trace != "" {
		p["trace"] = o.trace
		p["trace_time_scale"] = fmt.Sprint(o.traceScale)
	}
	if o.attach != "" {
		p["attach"] = o.attach
	}
	return p
}
