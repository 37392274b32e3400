package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// checkpointCommand is "fairway checkpoint done", run inside a job once it
// has saved a checkpoint. The controller records the time
// (Job.LastCheckpoint): a preemption then loses only the work done since,
// which sacct shows (LostGPUHours), and the scheduler prefers victims that
// lose the least. Run while the job is being preempted (or requeued), it
// also ends the grace time at once, so the node stops the job now and the
// job it makes room for starts sooner. scontrol requeue $SLURM_JOB_ID does
// the same for a job being requeued (as submitit and PyTorch Lightning call
// it).
func checkpointCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "checkpoint",
		Usage: "tell the controller about a job's checkpoint (from inside the job)",
		Subcommands: []*ucli.Command{{
			Name:  "done",
			Usage: "the job has saved a checkpoint: record its time; during a grace time, also end the grace time now",
			Description: "Run inside a job after each checkpoint it saves. The controller records the time, so a preemption\n" +
				"loses only the work done since (sacct's LostGPUHours) and the scheduler prefers victims that lose\n" +
				"the least. During a preemption's (or requeue's) grace time it also ends the grace time: the node\n" +
				"stops the job now and, for a preemption, it is requeued.\n\n" +
				"The job is JOB_ID, else $FAIRWAY_JOB_ID, else $SLURM_JOB_ID. The node sets $" + client.EnvCheckpointDone + "\n" +
				"in every job to this command with the client's path on the node; run it unquoted:\n\n" +
				"    save_my_checkpoint && $" + client.EnvCheckpointDone + "\n" +
				"    subprocess.run(os.environ[\"" + client.EnvCheckpointDone + "\"].split(), check=True)   # from Python",
			ArgsUsage: "[JOB_ID]",
			Action: func(c *ucli.Context) error {
				if err := checkpointDone(c.Context, env, c); err != nil {
					return report(env, "checkpoint done", err)
				}
				return nil
			},
		}},
	}
}

func checkpointDone(ctx context.Context, env *Env, c *ucli.Context) error {
	if c.NArg() > 1 {
		return errors.New("usage: fairway checkpoint done [JOB_ID]")
	}
	id := c.Args().First()
	for _, k := range []string{"FAIRWAY_JOB_ID", "SLURM_JOB_ID"} {
		if id == "" {
			id = env.Getenv(k)
		}
	}
	if id == "" {
		return errors.New("no job: run it inside a job (FAIRWAY_JOB_ID or SLURM_JOB_ID set) or name the job")
	}
	ref, err := api.ParseJobRef(id)
	if err != nil {
		return &api.FieldError{Field: "JOB_ID", Value: id, Msg: "not a job id such as 12 or 12_3"}
	}
	addr := ""
	for _, cc := range c.Lineage() {
		if a := cc.String("addr"); a != "" {
			addr = a
			break
		}
	}
	if addr == "" {
		addr = env.Getenv(client.EnvAddr)
	}
	cl := client.NewWithOptions(client.Options{Addrs: addr, CA: env.Getenv(client.EnvCA)})
	err = cl.RecordCheckpoint(ctx, ref)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && strings.HasPrefix(apiErr.Msg, "no such API endpoint") {
		// A controller older than the checkpoint route: it can only end
		// the grace time of a job being stopped.
		err = cl.EndGrace(ctx, ref)
	}
	switch {
	case err == nil:
		return nil
	case client.IsNotFound(err):
		return fmt.Errorf("job %s: Invalid job id specified", ref)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict:
		return errors.New(apiErr.Msg) // names the job and why
	}
	return fmt.Errorf("job %s: %w", ref, err)
}
