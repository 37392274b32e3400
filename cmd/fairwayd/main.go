// Command fairwayd is Fairway's daemon binary: the controller (fairwayd
// ctld), the node daemon (fairwayd noded) and the one-machine development
// cluster (fairwayd dev). It is built with cgo, for NVML.
//
// The commands people type (sbatch, squeue, ..., fairway submit) are the
// separate, static client binary fairway (cmd/fairway); the node daemon mounts
// that binary, found beside this one, into container jobs. The simulator is a
// third binary, fairway-sim (cmd/fairway-sim).
//
// This package only maps flags onto each daemon package's Config.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args)
	stop()
	os.Exit(code)
}

// run runs the fairwayd application for args and returns the exit status.
func run(ctx context.Context, args []string) int {
	app := &cli.App{
		Name:            "fairwayd",
		Usage:           "Fairway's daemons: controller, node daemon, one-machine dev cluster",
		HideVersion:     true,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		Commands:        daemonCommands(),
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	var coder cli.ExitCoder
	if errors.As(err, &coder) {
		if err.Error() != "" {
			fmt.Fprintln(os.Stderr, err.Error())
		}
		return coder.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "fairwayd: error: %v\n", err)
	return 1
}
