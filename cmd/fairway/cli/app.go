package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge"
)

// SlurmNames are the names under which the fairway binary acts as the Slurm
// command of that name (argv[0], usually a link made by install-shims).
func SlurmNames() []string {
	return []string{"sbatch", "squeue", "scancel", "sinfo", "sacct", "scontrol", "srun", "salloc", "sprio", "sshare", "sstat", "seff", "sdiag", "sacctmgr"}
}

// invocation is one run of a Slurm-compatible command.
type invocation struct {
	env  *Env
	name string // the Slurm name, used in messages: "sbatch"
	opts optSet
	args []string // positional arguments
	addr string   // controller address(es); "" means $FAIRWAY_ADDR, then the default
}

// client returns a controller client for the invocation's address. It
// authenticates with the token in $SLURM_JWT when set, as Slurm's commands
// do, else with a MUNGE credential from the munged at $FAIRWAY_MUNGE_SOCKET
// (default /run/munge/munge.socket.2). squeue, sacct and scontrol read
// consistently (see consistentReads).
func (inv *invocation) client() *client.Client {
	addr := inv.addr
	if addr == "" {
		addr = inv.env.Getenv(client.EnvAddr)
	}
	opts := client.Options{Addrs: addr, CA: inv.env.Getenv(client.EnvCA), Consistent: inv.consistentReads()}
	if v := inv.env.Getenv(client.EnvRetrySecs); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			opts.RetryFor = time.Duration(n) * time.Second
			if n == 0 {
				opts.RetryFor = -1
			}
		}
	}
	cl := client.NewWithOptions(opts)
	if tok := inv.env.Getenv(api.EnvSlurmJWT); tok != "" {
		return cl.WithAuth(client.TokenAuth{Token: tok})
	}
	return cl.WithMungeSocket(inv.env.Getenv(munge.EnvSocket))
}

// consistentReads reports whether the invocation's reads are linearizable:
// by default for squeue, sacct and scontrol, so that a script's sbatch
// followed by squeue always sees the job, whichever controller answers
// (Slurm's read-your-writes). $FAIRWAY_CONSISTENT set to 0 (or false)
// turns them off, letting any controller answer from its replica (a
// cluster polled by many scripts spreads reads over the controllers); set
// to 1 (or true) it turns them on for every command.
func (inv *invocation) consistentReads() bool {
	switch strings.ToLower(inv.env.Getenv(client.EnvConsistent)) {
	case "0", "false", "no":
		return false
	case "1", "true", "yes":
		return true
	}
	switch inv.name {
	case "squeue", "sacct", "scontrol":
		return true
	}
	return false
}

// view returns the formatting context at the controller's time now (unix
// seconds), or the local clock when the controller sent none.
func (inv *invocation) view(now int64) *view {
	if now == 0 {
		now = inv.env.Now().Unix()
	}
	return &view{now: now, loc: inv.env.Location, groupName: inv.env.GroupName}
}

// slurmCommand is a Slurm-compatible command.
type slurmCommand struct {
	name      string // Slurm name: "sbatch"
	usage     string
	argsUsage string
	opts      func() []*opt
	mode      parseMode
	run       func(ctx context.Context, inv *invocation) error
}

func slurmCommands() []slurmCommand {
	return []slurmCommand{
		{name: "sbatch", usage: "submit a batch script", argsUsage: "[script [args...]]", opts: sbatchOpts, mode: stopAtPositional, run: sbatch},
		{name: "squeue", usage: "list pending and running jobs", argsUsage: "", opts: squeueOpts, mode: permute, run: squeue},
		{name: "scancel", usage: "cancel or signal jobs", argsUsage: "[job_id...]", opts: scancelOpts, mode: permute, run: scancel},
		{name: "sinfo", usage: "show partitions and nodes", argsUsage: "", opts: sinfoOpts, mode: permute, run: sinfo},
		{name: "sacct", usage: "show accounting records of jobs, one line per run", argsUsage: "", opts: sacctOpts, mode: permute, run: sacct},
		{name: "scontrol", usage: "show jobs, steps, nodes, partitions and the configuration; update jobs, nodes and partitions; hold, release and requeue jobs", argsUsage: "show job|node|partition|step|config [name] | update JobId=N|NodeName=LIST|PartitionName=P Field=Value... | hold|release|requeue job_id[,job_id...] | show hostnames|hostlist LIST", opts: scontrolOpts, mode: permute, run: scontrol},
		{name: "srun", usage: "run a job step (tasks) on the nodes of an allocation, allocating one first outside a job", argsUsage: "command [args...]", opts: srunOpts, mode: stopAtPositional, run: srun},
		{name: "salloc", usage: "obtain an allocation and run a command (default $SHELL) in it", argsUsage: "[command [args...]]", opts: sallocOpts, mode: stopAtPositional, run: salloc},
		{name: "sprio", usage: "show the priority factors of pending jobs", argsUsage: "", opts: sprioOpts, mode: permute, run: sprio},
		{name: "sshare", usage: "show the fair-share tree: shares, usage and factors", argsUsage: "", opts: sshareOpts, mode: permute, run: sshare},
		{name: "sstat", usage: "show the live usage of running job steps", argsUsage: "", opts: sstatOpts, mode: permute, run: sstat},
		{name: "sacctmgr", usage: "add, modify, delete and list accounts, users (associations) and QOS", argsUsage: "add|modify|delete|list account|user|qos|assoc [NAME...] [where KEY=VALUE...] [set KEY=VALUE...] [format=FIELDS]", opts: sacctmgrOpts, mode: permute, run: sacctmgr},
		{name: "seff", usage: "show a job's CPU and memory efficiency", argsUsage: "jobid", opts: seffOpts, mode: permute, run: seff},
		{name: "sdiag", usage: "show the controller's scheduling and raft statistics", argsUsage: "", opts: sdiagOpts, mode: permute, run: sdiag},
	}
}

// aliases maps the fairway client subcommands to the Slurm command they run
// and the arguments they put first.
type alias struct {
	name, usage, argsUsage string
	slurm                  string
	prefix                 []string
}

func aliases() []alias {
	return []alias{
		{name: "submit", usage: "submit a batch script (sbatch)", argsUsage: "[script [args...]]", slurm: "sbatch"},
		{name: "queue", usage: "list pending and running jobs (squeue)", argsUsage: "", slurm: "squeue"},
		{name: "cancel", usage: "cancel or signal jobs (scancel)", argsUsage: "[job_id...]", slurm: "scancel"},
		{name: "nodes", usage: "show partitions and nodes (sinfo)", argsUsage: "", slurm: "sinfo"},
		{name: "show", usage: "show a job, node or partition (scontrol show)", argsUsage: "job|node|partition [name]", slurm: "scontrol", prefix: []string{"show"}},
		{name: "history", usage: "show accounting records of jobs (sacct)", argsUsage: "", slurm: "sacct"},
		{name: "hold", usage: "hold pending jobs (scontrol hold)", argsUsage: "job_id[,job_id...]", slurm: "scontrol", prefix: []string{"hold"}},
		{name: "release", usage: "release held jobs (scontrol release)", argsUsage: "job_id[,job_id...]", slurm: "scontrol", prefix: []string{"release"}},
		{name: "requeue", usage: "requeue jobs (scontrol requeue)", argsUsage: "job_id[,job_id...]", slurm: "scontrol", prefix: []string{"requeue"}},
		{name: "priority", usage: "show the priority factors of pending jobs (sprio)", argsUsage: "", slurm: "sprio"},
		{name: "shares", usage: "show the fair-share tree (sshare)", argsUsage: "", slurm: "sshare"},
	}
}

// exitError ends a command with a status after its message was printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode implements ucli.ExitCoder.
func (e *exitError) ExitCode() int { return e.code }

// App returns the fairway application for this process (see NewApp).
func App() *ucli.App { return NewApp(DefaultEnv()) }

// NewApp returns the fairway application: the client subcommands (submit,
// queue, cancel, nodes, show, history, hold, release, requeue, priority,
// shares, checkpoint done), the Slurm-named commands (sbatch, squeue, ...;
// hidden, also reached through argv[0] by Run) and install-shims. Errors of
// the client commands are printed on env's Stderr as "<command>: error: ..."
// and returned as ucli.ExitCoder values; the app never calls os.Exit.
func NewApp(env *Env) *ucli.App {
	env = env.withDefaults()
	app := &ucli.App{
		Name:            "fairway",
		Usage:           "a Slurm-style batch system for GPU clusters",
		Writer:          env.Stdout,
		ErrWriter:       env.Stderr,
		Reader:          env.Stdin,
		HideVersion:     true,
		ExitErrHandler:  func(*ucli.Context, error) {},
		HideHelpCommand: true,
		Flags:           []ucli.Flag{&ucli.StringFlag{Name: "addr", Usage: addrOpt().usage}},
	}
	cmds := slurmCommands()
	byName := map[string]slurmCommand{}
	for _, sc := range cmds {
		byName[sc.name] = sc
	}
	for _, a := range aliases() {
		sc := byName[a.slurm]
		app.Commands = append(app.Commands, commandFor(env, sc, a.name, a.usage, a.argsUsage, a.prefix, false))
	}
	for _, sc := range cmds {
		app.Commands = append(app.Commands, commandFor(env, sc, sc.name, sc.usage, sc.argsUsage, nil, true))
	}
	app.Commands = append(app.Commands, checkpointCommand(env))
	app.Commands = append(app.Commands, clusterCommand(env))
	app.Commands = append(app.Commands, explainCommand(env), simCommand(env))
	app.Commands = append(app.Commands, installShimsCommand(env))
	return app
}

// commandFor wraps a Slurm command as a urfave/cli command that parses its own
// arguments.
func commandFor(env *Env, sc slurmCommand, name, usage, argsUsage string, prefix []string, hidden bool) *ucli.Command {
	table := newOptTable(sc.opts())
	cmd := &ucli.Command{
		Name:            name,
		Usage:           usage,
		ArgsUsage:       argsUsage,
		Hidden:          hidden,
		SkipFlagParsing: true,
		HideHelp:        true,
		HideHelpCommand: true,
		Flags:           table.flags(),
	}
	cmd.Action = func(c *ucli.Context) error {
		args := append(append([]string(nil), prefix...), c.Args().Slice()...)
		var parentAddr string
		for _, cc := range c.Lineage()[1:] {
			if a := cc.String("addr"); a != "" {
				parentAddr = a
				break
			}
		}
		return runSlurm(c.Context, env, sc, table, args, parentAddr, func() {
			ucli.HelpPrinter(env.Stdout, ucli.CommandHelpTemplate, cmd)
		})
	}
	return cmd
}

// runSlurm parses args with the command's option table and runs it; --help
// calls help instead. parentAddr is the --addr given before the command
// (fairway --addr X submit), used when the command has none of its own.
func runSlurm(ctx context.Context, env *Env, sc slurmCommand, table *optTable, args []string, parentAddr string, help func()) error {
	set, pos, err := table.parse(args, sc.mode, "")
	if err != nil {
		return report(env, sc.name, err)
	}
	if set.flag("help") {
		help()
		return nil
	}
	inv := &invocation{env: env, name: sc.name, opts: set, args: pos, addr: set.str("addr")}
	if inv.addr == "" {
		inv.addr = parentAddr
	}
	if err := sc.run(ctx, inv); err != nil {
		return report(env, sc.name, err)
	}
	return nil
}

// runSlurmDirect runs the Slurm command sc (the binary was called by its
// name) without building the fairway application: a script may call sbatch
// thousands of times, and the command tree with every command's flags costs
// more than the command itself. Only --help builds the command, to print it.
func runSlurmDirect(ctx context.Context, env *Env, sc slurmCommand, args []string) error {
	table := newOptTable(sc.opts())
	return runSlurm(ctx, env, sc, table, args, "", func() {
		cmd := &ucli.Command{
			Name: sc.name, HelpName: sc.name, Usage: sc.usage, ArgsUsage: sc.argsUsage,
			HideHelp: true, HideHelpCommand: true, Flags: table.flags(),
		}
		ucli.HelpPrinter(env.Stdout, ucli.CommandHelpTemplate, cmd)
	})
}

// codedError is an error Slurm reports with its own lines and status (such
// as sbatch's 255 for an invalid option value): msgs print first as
// "<command>: error: ...", then err.
type codedError struct {
	code int
	msgs []string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// report prints a command's error as Slurm does and turns it into an exit status.
func report(env *Env, name string, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	var ce *codedError
	if errors.As(err, &ce) {
		for _, m := range ce.msgs {
			fmt.Fprintf(env.Stderr, "%s: error: %s\n", name, m)
		}
		fmt.Fprintf(env.Stderr, "%s: error: %v\n", name, ce.err)
		return &exitError{code: ce.code}
	}
	fmt.Fprintf(env.Stderr, "%s: error: %v\n", name, err)
	return &exitError{code: 1}
}

// Main runs the fairway binary for args (os.Args) and returns its exit status.
// When args[0]'s base name is one of SlurmNames it acts as that command.
func Main(ctx context.Context, args []string) int {
	return Run(ctx, DefaultEnv(), args)
}

// Run is Main with an explicit Env.
func Run(ctx context.Context, env *Env, args []string) int {
	env = env.withDefaults()
	if len(args) == 0 {
		args = []string{"fairway"}
	}
	base := filepath.Base(args[0])
	for _, sc := range slurmCommands() {
		if sc.name == base {
			return exitStatus(env, base, runSlurmDirect(ctx, env, sc, args[1:]))
		}
	}
	app := NewApp(env)
	return exitStatus(env, app.Name, app.RunContext(ctx, args))
}

// exitStatus prints err unless it was printed already and returns the exit
// status it stands for.
func exitStatus(env *Env, name string, err error) int {
	if err == nil {
		return 0
	}
	var coder ucli.ExitCoder
	if errors.As(err, &coder) {
		var ee *exitError
		if !errors.As(err, &ee) && err.Error() != "" {
			fmt.Fprintln(env.Stderr, err.Error())
		}
		return coder.ExitCode()
	}
	fmt.Fprintf(env.Stderr, "%s: error: %v\n", name, err)
	return 1
}

func installShimsCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "install-shims",
		Usage:     "make sbatch, squeue, scancel, sinfo, sacct, scontrol, srun, salloc, sprio, sshare, sstat, seff and sdiag links to this binary in DIR",
		ArgsUsage: "DIR",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "force", Usage: "replace existing files that are not links"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return report(env, "install-shims", errors.New("usage: fairway install-shims DIR"))
			}
			if err := installShims(env, c.Args().First(), c.Bool("force")); err != nil {
				return report(env, "install-shims", err)
			}
			return nil
		},
	}
}

// installShims links every Slurm name in dir to the running binary.
func installShims(env *Env, dir string, force bool) error {
	exe, err := env.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, name := range SlurmNames() {
		link := filepath.Join(dir, name)
		if fi, err := os.Lstat(link); err == nil {
			if fi.Mode()&os.ModeSymlink == 0 && !force {
				return fmt.Errorf("%s exists and is not a link (use --force to replace it)", link)
			}
			if err := os.Remove(link); err != nil {
				return fmt.Errorf("replace %s: %w", link, err)
			}
		}
		if err := os.Symlink(exe, link); err != nil {
			return fmt.Errorf("link %s: %w", link, err)
		}
		fmt.Fprintf(env.Stdout, "%s -> %s\n", link, exe)
	}
	return nil
}
