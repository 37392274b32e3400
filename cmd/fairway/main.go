// Command fairway is Fairway's single binary: the daemons (ctld, noded, dev),
// the client commands (fairway submit, queue, cancel, nodes, show, history,
// hold, release, requeue, checkpoint done) and, when called by the name of a
// Slurm command (sbatch, squeue, scancel, sinfo, sacct, scontrol, srun, sprio,
// sshare; see "fairway install-shims DIR"), that command.
//
// This package only wires things together; the commands live in api/cli and
// the daemons in their own packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	fwcli "github.com/fairway-hpc/fairway/api/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := fwcli.Main(ctx, os.Args, daemonCommands())
	stop()
	os.Exit(code)
}
