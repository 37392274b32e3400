package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/cluster"
	"github.com/fairway-hpc/fairway/cmd/fairway-scale/report"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// listCommands returns the client commands the lists mode times, as argv
// after the command name; %U is the focus user, %S and %E dates a day
// before and after the state's jobs (bigstate.Now; sacct's default window
// is today, and the jobs' times are in 2027).
func listCommands() [][]string {
	return [][]string{
		{"squeue"},
		{"squeue", "-t", "all", "-o", "%i %t"},
		{"squeue", "-t", "all", "-u", "%U"},
		{"sacct", "-a", "-S", "%S", "-E", "%E"},
	}
}

// listPoll is how often the restarted controller is asked whether it
// serves reads and leads.
const listPoll = 20 * time.Millisecond

// runLists is the lists mode: for each size of -list-jobs, a state built
// with bigstate (its Default mix) is written as a raft snapshot into a new
// controller data directory, one real `fairwayd ctld` starts on it, is
// killed and restarted (timed until it serves reads and leads), and the
// client binary's list commands are run -list-runs times each against it.
// The nodes are drained in the state, so that the controller starts no job
// and the state stays the one measured.
func runLists(ctx context.Context, o options, log *slog.Logger) (*report.Lists, error) {
	ctx, cancel := context.WithTimeout(ctx, o.maxRun)
	defer cancel()
	sizes, err := o.listSizes()
	if err != nil {
		return nil, err
	}
	rep := &report.Lists{Machine: fmt.Sprintf("%d CPUs (GOMAXPROCS), %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
		Params: map[string]string{"mix": "raftstore/bigstate.Default: 45% finished, 1% running, the rest pending; 100 jobs of -probe-user; 1,000 drained nodes",
			"runs": strconv.Itoa(o.listRuns), "client": o.fairway, "controller": o.fairwayd + " ctld (one, a lone voter)",
			"estimates": strconv.FormatBool(o.listEstimates)}}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return rep, fmt.Errorf("output directory: %w", err)
	}
	base, keep := o.dir, o.dir != ""
	if !keep {
		if base, err = os.MkdirTemp("", "fairway-lists-"); err != nil {
			return rep, fmt.Errorf("working directory: %w", err)
		}
		defer os.RemoveAll(base)
	}
	var errs []error
	for _, n := range sizes {
		s := report.ListSize{Jobs: n}
		err := listSize(ctx, o, log, filepath.Join(base, fmt.Sprintf("jobs-%d", n)), &s)
		if err != nil {
			s.Err = err.Error()
			errs = append(errs, fmt.Errorf("%d jobs: %w", n, err))
			log.Error("size failed", "jobs", n, "err", err)
		}
		rep.Sizes = append(rep.Sizes, s)
		if !keep {
			// A 200,000-job snapshot is hundreds of MB.
			_ = os.RemoveAll(filepath.Join(base, fmt.Sprintf("jobs-%d", n)))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, errors.Join(append(errs, ctx.Err())...)
}

// listSize measures one size into s.
func listSize(ctx context.Context, o options, log *slog.Logger, dir string, s *report.ListSize) error {
	log.Info("building the state", "jobs", s.Jobs)
	t := time.Now()
	l, cfg, err := buildListState(listMix(s.Jobs, o.probeUser))
	if err != nil {
		return err
	}
	s.BuildSecs = time.Since(t).Seconds()
	const id = "ctl1" // cluster.Start names the first controller so
	dataDir := filepath.Join(dir, id)
	raftAddr := net.JoinHostPort(o.ipPrefix+".11", strconv.Itoa(o.raftPort))
	t = time.Now()
	rd, err := bigstate.WriteRaftDir(l, dataDir, id, raftAddr)
	if err != nil {
		return err
	}
	l = nil // the harness's copy of the state is no longer needed
	runtime.GC()
	s.WriteSecs = time.Since(t).Seconds()
	s.SnapshotBytes = rd.StateBytes
	log.Info("snapshot written", "jobs", s.Jobs, "bytes", rd.StateBytes, "build_secs", s.BuildSecs, "write_secs", s.WriteSecs)

	// No node heartbeats: they must not go DOWN (which would requeue
	// the running jobs) while the harness measures.
	extra := []string{"--node-down-after", "10000h"}
	if !o.listEstimates {
		extra = append(extra, "--estimate-interval=-1s")
	}
	t = time.Now()
	cl, err := cluster.Start(ctx, cluster.Options{Fairwayd: o.fairwayd, Dir: dir, Count: 1, IPPrefix: o.ipPrefix,
		HTTPPort: o.httpPort, RaftPort: o.raftPort, PprofPort: o.pprofPort, SchedInterval: o.schedInterval, Config: cfg,
		ExtraArgs: extra, Log: log})
	if err != nil {
		return fmt.Errorf("start the controller on the snapshot: %w", err)
	}
	defer cl.Stop()
	s.FirstStartSecs = time.Since(t).Seconds()
	ct := cl.Ctls[0]
	if ct.DataDir != dataDir {
		return fmt.Errorf("the controller's data directory is %s, the snapshot is in %s", ct.DataDir, dataDir)
	}
	if err := checkJobs(ctx, cl, ct, s.Jobs); err != nil {
		return err
	}

	// Item 3: kill -9 and restart with that state.
	if err := cl.Kill(ct); err != nil {
		return err
	}
	s.RaftDBBytes = cluster.ReadDisk(dataDir).RaftDB
	t = time.Now()
	if err := cl.Restart(ct); err != nil {
		return err
	}
	if err := waitRestarted(ctx, cl, ct, t, o.failoverWait, s); err != nil {
		return err
	}
	if p, err := cluster.ReadProc(ct.PID()); err == nil {
		s.RSSRestartMB = float64(p.RSS) / 1e6
	}
	log.Info("restarted", "jobs", s.Jobs, "readable_secs", s.RestartReadableSecs, "leader_secs", s.RestartLeaderSecs)

	tok, err := cl.Token("root", time.Hour)
	if err != nil {
		return err
	}
	at := time.Unix(bigstate.Now, 0)
	vars := map[string]string{"%U": o.probeUser, "%S": at.AddDate(0, 0, -1).Format("2006-01-02"), "%E": at.AddDate(0, 0, 2).Format("2006-01-02")}
	for _, argv := range listCommands() {
		c := runListCommand(ctx, o, cl, tok, expand(argv, vars))
		log.Info("command timed", "jobs", s.Jobs, "command", c.Command, "lines", c.Lines, "walls", c.Walls, "err", c.Err)
		s.Commands = append(s.Commands, c)
	}
	if p, err := cluster.ReadProc(ct.PID()); err == nil {
		s.RSSEndMB = float64(p.RSS) / 1e6
	}
	return nil
}

// listMix is bigstate's Default mix of n jobs with focus as its focus
// user: squeue -u checks that the user exists on the client's host, as
// Slurm's does, so the focus user must be one of the host's.
func listMix(n int, focus string) bigstate.Mix {
	m := bigstate.Default(n)
	m.FocusUser = focus
	return m
}

// buildListState builds the mix, drains every node, and returns the state
// with its cluster configuration.
func buildListState(m bigstate.Mix) (*raftstore.Local, api.ClusterConfig, error) {
	l, err := bigstate.Build(m)
	if err != nil {
		return nil, api.ClusterConfig{}, err
	}
	var names []string
	for _, nd := range l.State().Nodes() {
		names = append(names, nd.Name)
	}
	if _, err := l.Apply(raftstore.UpdateNodes{Now: bigstate.Now + 3700, User: "root", Update: api.NodeUpdate{Nodes: names,
		State: api.NodeStateDrain, Reason: "fairway-scale lists: no new starts while measuring"}}); err != nil {
		return nil, api.ClusterConfig{}, fmt.Errorf("drain the nodes: %w", err)
	}
	return l, l.State().Config(), nil
}

// checkJobs asks the controller for its jobs' count through the API: the
// snapshot must have been restored, not a new cluster bootstrapped.
func checkJobs(ctx context.Context, cl *cluster.Cluster, ct *cluster.Controller, want int) error {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	j, err := cl.Admin(ct).Job(cctx, api.JobID(want))
	if err != nil {
		return fmt.Errorf("job %d after the start on the snapshot: %w", want, err)
	}
	if j.ID != api.JobID(want) {
		return fmt.Errorf("asked for job %d, got %d", want, j.ID)
	}
	return nil
}

// waitRestarted polls the restarted controller every listPoll until it
// serves GET /v1/jobs/1 and leads, at most limit; times are from t.
func waitRestarted(ctx context.Context, cl *cluster.Cluster, ct *cluster.Controller, t time.Time, limit time.Duration, s *report.ListSize) error {
	one := cl.Admin(ct)
	deadline := t.Add(limit)
	for s.RestartReadableSecs == 0 || s.RestartLeaderSecs == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("restarted controller: not readable and leading within %s (log %s)", limit, ct.LogFile)
		}
		if ct.PID() == 0 {
			return fmt.Errorf("restarted controller exited (log %s)", ct.LogFile)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if s.RestartReadableSecs == 0 {
			if _, err := one.Job(cctx, 1); err == nil {
				s.RestartReadableSecs = time.Since(t).Seconds()
			}
		}
		if s.RestartLeaderSecs == 0 {
			if st, err := one.Status(cctx); err == nil && st.Leader {
				s.RestartLeaderSecs = time.Since(t).Seconds()
			}
		}
		cancel()
		if !sleepCtx(ctx, listPoll) {
			return ctx.Err()
		}
	}
	return nil
}

// expand replaces the arguments that are keys of vars with their values.
func expand(argv []string, vars map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if v, ok := vars[a]; ok {
			a = v
		}
		out[i] = a
	}
	return out
}

// runListCommand runs the client binary as argv[0] -list-runs times, as a
// user runs it (a new process each time), with root's token, and records
// each run's wall time, or that it failed.
func runListCommand(ctx context.Context, o options, cl *cluster.Cluster, tok string, argv []string) report.ListCommand {
	c := report.ListCommand{Command: strings.Join(append(argv[:1:1], quoteArgs(argv[1:])...), " ")}
	env := append(os.Environ(), client.EnvAddr+"="+strings.Join(cl.URLs(), ","), client.EnvCA+"="+cl.CAFile, api.EnvSlurmJWT+"="+tok)
	for range o.listRuns {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(cctx, o.fairway)
		cmd.Args = argv
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		t := time.Now()
		err := cmd.Run()
		wall := time.Since(t).Seconds()
		cancel()
		if err != nil {
			// The other runs still count: a run that fails under load
			// (the client's 10 s attempt timeout) is worth reporting
			// next to the ones that answered.
			if c.Failed++; c.Err == "" {
				c.Err = fmt.Sprintf("%v (after %.1f s): %s", err, wall, strings.TrimSpace(stderr.String()))
			}
			if ctx.Err() != nil {
				return c
			}
			continue
		}
		c.Walls = append(c.Walls, wall)
		c.Lines = bytes.Count(stdout.Bytes(), []byte("\n"))
	}
	return c
}

// mainLists runs the lists mode and writes lists.json and lists.md into
// -out, also when a size failed.
func mainLists(ctx context.Context, o options, log *slog.Logger) error {
	rep, err := runLists(ctx, o, log)
	if rep != nil {
		if werr := writeReport(o.out, "lists", rep); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}
