package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/noded/fence"
)

// fenceCommand is `fairwayd fence`: the process the node daemon starts, in
// its own session, to stop the node's jobs when its lease with the
// controllers runs out (package noded/fence).
func fenceCommand() *cli.Command {
	return &cli.Command{
		Name:   "fence",
		Usage:  "stop this node's jobs when its lease runs out (started by fairwayd noded; outlives it)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lease", Required: true, Usage: "the lease file the node daemon writes (STATE_DIR/lease.json)"},
		},
		Action: func(c *cli.Context) error {
			// SIGHUP (a closed terminal) must not stop it; SIGTERM and
			// SIGINT do, for an administrator taking the node out.
			signal.Ignore(syscall.SIGHUP)
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "fence")
			err := fence.Run(ctx, fence.Options{LeaseFile: c.String("lease"), Cgroups: fence.SystemCgroups{}, Logger: log})
			if errors.Is(err, fence.ErrRunning) {
				return nil // another fence watches the file: nothing to do
			}
			if err != nil {
				return fmt.Errorf("fence: %w", err)
			}
			return nil
		},
	}
}

// fenceArgv is the command the node daemon starts its fence with: this
// executable's fence subcommand.
func fenceArgv() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate fairwayd for the fence: %w", err)
	}
	return []string{exe, "fence"}, nil
}
