// Package cli implements Fairway's command-line tools: the Slurm-compatible
// commands (sbatch, squeue, scancel, sinfo, sacct, scontrol, srun, sprio,
// sshare, sacctmgr), their fairway aliases (fairway submit, queue, cancel, nodes, show,
// history, hold, release, requeue, priority, shares), fairway checkpoint done
// (run inside a job being preempted: its checkpoint is saved, end the grace
// time now) and install-shims, all talking to the controller through
// api/client.
//
// Job arrays print as Slurm prints them: a running or finished task as
// ARRAYID_TASK ("12_3"), the tasks that have not started as one line
// ARRAYID_[TASKS%LIMIT] ("12_[4-15%4]"); scancel, squeue -j, sacct -j and
// scontrol show job accept both a job id and ARRAYID_TASK.
//
// One binary serves every name: Main looks at argv[0] and, when its base name
// is a Slurm command, acts as that command. The Slurm commands parse their
// options as getopt_long does (-N2, -N 2, --nodes=2, --nodes 2, -hP), so that
// #SBATCH directives and command lines behave exactly alike; urfave/cli
// provides the command tree and help. The daemons are another binary
// (cmd/fairwayd): this package, and the client binary built from it, link only
// the API types, the HTTP client and the command code.
//
// Output formats follow Slurm's own (widths, justification, truncation, time
// and date forms), because people's scripts parse them.
package cli
