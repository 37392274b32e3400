// Command fairway-sim replays a workload trace through Fairway's scheduler on
// virtual time (package sched/sim): fairway-sim --trace FILE --out DIR, then
// fairway-sim compare DIR... and fairway-sim rlscheduler SWF-FILE.
//
// It is its own binary, apart from the daemons (fairwayd) and the client
// (fairway): it is an offline tool, run on a laptop as often as on a cluster,
// needs no cgo, root or containerd, and is the only user of the chart library
// (gonum/plot), which neither the daemons nor the client should carry.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/sched/sim"
	"github.com/fairway-hpc/fairway/sched/sim/rlcompat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := simApp().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		var coder cli.ExitCoder
		if errors.As(err, &coder) {
			if err.Error() != "" {
				fmt.Fprintln(os.Stderr, err.Error())
			}
			os.Exit(coder.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "fairway-sim: error: %v\n", err)
		os.Exit(1)
	}
}

// simApp is fairway-sim: it maps its flags onto sched/sim.Command.
func simApp() *cli.App {
	return &cli.App{
		Name:            "fairway-sim",
		Usage:           "replay a workload trace through the scheduler on virtual time",
		UsageText:       "fairway-sim --trace FILE [--format swf|philly|alibaba] [--policy fcfs|sjf|easy|conservative|fairway|static] [--config cluster.json] [--nodes N --gpus-per-node G] --out DIR\n   fairway-sim compare DIR...\n   fairway-sim rlscheduler SWF-FILE",
		HideVersion:     true,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trace", Usage: "trace file (SWF, Philly-derived CSV, Alibaba openb pod list)"},
			&cli.StringFlag{Name: "format", Usage: "trace format: swf, philly or alibaba (default: from the file name)"},
			&cli.StringFlag{Name: "policy", Value: sim.PolicyFairway, Usage: "fcfs, sjf, easy, conservative, fairway or static"},
			&cli.StringFlag{Name: "config", Usage: "cluster configuration (JSON api.ClusterConfig: accounts, guarantees in partition \"main\", weights)"},
			&cli.IntFlag{Name: "nodes", Usage: "nodes of the cluster (default: the SWF header, or sized for --load on GPU traces)"},
			&cli.IntFlag{Name: "gpus-per-node", Value: 8, Usage: "GPUs per node (GPU traces)"},
			&cli.IntFlag{Name: "cpus-per-node", Usage: "CPUs per node (with --nodes)"},
			&cli.StringFlag{Name: "node-list", Usage: "Alibaba node list CSV (the cluster is those nodes)"},
			&cli.Float64Flag{Name: "load", Value: 0.85, Usage: "offered load to size a GPU cluster for"},
			&cli.StringFlag{Name: "vc-nodes", Usage: "philly-vc-nodes.csv: virtual clusters become accounts with proportional guarantees"},
			&cli.Float64Flag{Name: "estimate-factor", Value: 2, Usage: "GPU traces: time limit = duration x this"},
			&cli.Float64Flag{Name: "estimate-factor-max", Usage: "GPU traces: each job's factor log-uniform in [--estimate-factor, this] (by job ID) instead of one factor"},
			&cli.Int64Flag{Name: "checkpoint-secs", Usage: "preempted jobs checkpoint every N s of run time (0: never, all work lost; -1: on the preemption signal)"},
			&cli.StringFlag{Name: "checkpoint-mix", Usage: "each job checkpoints every N s, N taken from this comma-separated list by a hash of the job ID (0: never); overrides --checkpoint-secs"},
			&cli.StringFlag{Name: "victim-order", Usage: "preemption victim order: work_lost (default: least GPUs x time since the last checkpoint) or runtime (latest start)"},
			&cli.IntFlag{Name: "estimate-every", Usage: "estimate the start (P50/P90 by replaying the queue forward) of every N-th job at its submission, against its backfill reservation (summary.json estimates, estimates.csv)"},
			&cli.IntFlag{Name: "estimate-replays", Value: 20, Usage: "replays per start-time estimate"},
			&cli.Float64Flag{Name: "estimate-arrivals-hours", Usage: "with --estimate-every: jobs keep arriving in the estimates' replays, resampled from the jobs submitted in the last N hours of virtual time (0: no arrivals)"},
			&cli.IntFlag{Name: "first-jobs", Usage: "replay only the trace's first N jobs by submit time"},
			&cli.StringFlag{Name: "out", Usage: "output directory (jobs.csv, summary.json, schedule.swf, timeseries.csv, charts)"},
			&cli.BoolFlag{Name: "no-charts", Usage: "do not draw PNG charts"},
		},
		Action: func(c *cli.Context) error {
			if c.String("trace") == "" || c.String("out") == "" {
				return errors.New("--trace and --out are required")
			}
			mix, err := parseIntervals(c.String("checkpoint-mix"))
			if err != nil {
				return err
			}
			s, _, err := sim.Command{
				Trace: c.String("trace"), Format: c.String("format"), Policy: c.String("policy"),
				ConfigFile: c.String("config"), Nodes: c.Int("nodes"), GPUsPerNode: c.Int("gpus-per-node"),
				CPUsPerNode: c.Int("cpus-per-node"), NodesFile: c.String("node-list"), Load: c.Float64("load"),
				VCFile: c.String("vc-nodes"), EstimateFactor: c.Float64("estimate-factor"), EstimateFactorMax: c.Float64("estimate-factor-max"),
				CheckpointSecs: c.Int64("checkpoint-secs"), CheckpointMix: mix, VictimOrder: c.String("victim-order"),
				EstimateEvery: c.Int("estimate-every"), EstimateReplays: c.Int("estimate-replays"), FirstJobs: c.Int("first-jobs"),
				EstimateArrivalsSecs: int64(c.Float64("estimate-arrivals-hours") * 3600),
				Out:                  c.String("out"), Charts: !c.Bool("no-charts"),
				Progress: os.Stderr,
			}.Run(c.Context)
			if err != nil {
				return fmt.Errorf("simulate %s: %w", c.String("trace"), err)
			}
			if err := sim.WriteCompare(c.App.Writer, []sim.CompareRow{{Dir: c.String("out"), Summary: s}}); err != nil {
				return err
			}
			if e := s.Estimates; e != nil {
				fmt.Fprintf(c.App.Writer, "estimates: %d sampled, %d started at submit, %d estimated; in [submit, P90] %.3f, median |P50-start| %.0f s; reservation for %.3f, median |resv-start| %.0f s, started by it %.3f\n",
					e.Sampled, e.StartedAtSubmit, e.Estimated, e.InP90, e.P50AbsErrMedianSecs, e.WithReservation, e.ResvAbsErrMedianSecs, e.ResvStartedByIt)
			}
			return nil
		},
		Commands: []*cli.Command{{
			Name:      "compare",
			Usage:     "print a side-by-side table of several runs (and draw comparison charts with --charts DIR)",
			ArgsUsage: "DIR...",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "charts", Usage: "draw comparison charts into this directory"},
				&cli.BoolFlag{Name: "markdown", Usage: "print a Markdown table, one row per run"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return errors.New("compare: give the run directories")
				}
				return sim.Compare(c.App.Writer, c.Args().Slice(), c.String("charts"), c.Bool("markdown"))
			},
		}, {
			Name:      "rlscheduler",
			Usage:     "replay an SWF log under the RLScheduler (SC'20) protocol: FCFS and SJF, without and with restricted backfilling",
			ArgsUsage: "SWF-FILE",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return errors.New("rlscheduler: give one SWF file")
				}
				f, err := os.Open(c.Args().First())
				if err != nil {
					return fmt.Errorf("rlscheduler: %w", err)
				}
				defer f.Close()
				t, err := rlcompat.Load(f)
				if err != nil {
					return err
				}
				rs, err := rlcompat.Table(t)
				if err != nil {
					return err
				}
				return rlcompat.WriteTable(c.App.Writer, rs)
			},
		}},
	}
}

// parseIntervals parses a comma-separated list of checkpoint intervals in
// seconds (--checkpoint-mix); "" is none.
func parseIntervals(list string) ([]int64, error) {
	if list == "" {
		return nil, nil
	}
	var out []int64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("--checkpoint-mix: %q is not a number of seconds (0 or more)", f)
		}
		out = append(out, v)
	}
	return out, nil
}
