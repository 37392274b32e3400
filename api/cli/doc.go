// Package cli implements Fairway's command-line tools: the Slurm-compatible
// commands (sbatch, squeue, scancel, sinfo, sacct, scontrol, srun), their
// fairway aliases (fairway submit, queue, cancel, nodes, show, history, hold,
// release, requeue) and install-shims, all talking to the controller through
// api/client.
//
// One binary serves every name: Main looks at argv[0] and, when its base name
// is a Slurm command, acts as that command. The Slurm commands parse their
// options as getopt_long does (-N2, -N 2, --nodes=2, --nodes 2, -hP), so that
// #SBATCH directives and command lines behave exactly alike; urfave/cli
// provides the command tree, help and the daemon subcommands the caller adds.
//
// Output formats follow Slurm's own (widths, justification, truncation, time
// and date forms), because people's scripts parse them.
package cli
