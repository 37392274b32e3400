package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// checkpointCommand is "fairway checkpoint done": run inside a job that is
// being preempted (or requeued) once it has saved its checkpoint, it ends
// the grace time at once, so the node stops the job now and the job it
// makes room for starts sooner. scontrol requeue $SLURM_JOB_ID does the same
// for a job being requeued (as submitit and PyTorch Lightning call it).
func checkpointCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "checkpoint",
		Usage: "tell the controller about a job's checkpoint (from inside the job)",
		Subcommands: []*ucli.Command{{
			Name: "done",
			Usage: "the job has saved its checkpoint: end its grace time now (the node stops it and, for a preemption, it is requeued); " +
				"the job is JOB_ID, else $FAIRWAY_JOB_ID, else $SLURM_JOB_ID",
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
	err = client.NewWithOptions(client.Options{Addrs: addr, CA: env.Getenv(client.EnvCA)}).EndGrace(ctx, ref)
	var apiErr *client.Error
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
