// Command fairway is Fairway's client: the commands (fairway submit, queue,
// cancel, nodes, show, history, hold, release, requeue, priority, shares,
// checkpoint done, install-shims) and, when called by the name of a Slurm
// command (sbatch, squeue, scancel, sinfo, sacct, scontrol, srun, salloc, sprio,
// sshare, sstat, seff, sacctmgr; see "fairway install-shims DIR"), that command.
//
// It is built static (CGO_ENABLED=0) and links only the API types, the HTTP
// client and the command code (package cli below), so that it starts fast (a
// script may call sbatch thousands of times) and runs in any container image:
// the node daemon mounts it into container jobs as the tools binary. The
// daemons are the fairwayd binary (cmd/fairwayd); deps_test.go keeps the
// daemons' dependencies out of this one.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fairway-hpc/fairway/cmd/fairway/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args)
	stop()
	os.Exit(code)
}
