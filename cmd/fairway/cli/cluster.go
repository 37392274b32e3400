package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
)

// clusterCommand is "fairway cluster status|join|remove": the controllers
// of the raft configuration.
func clusterCommand(env *Env) *ucli.Command {
	run := func(name string, f func(ctx context.Context, inv *invocation, c *ucli.Context) error) ucli.ActionFunc {
		return func(c *ucli.Context) error {
			inv := &invocation{env: env, name: "cluster " + name, addr: lineageAddr(c)}
			if err := f(c.Context, inv, c); err != nil {
				return report(env, "cluster "+name, err)
			}
			return nil
		}
	}
	return &ucli.Command{
		Name:  "cluster",
		Usage: "the controllers of the raft cluster",
		Subcommands: []*ucli.Command{
			{
				Name:   "status",
				Usage:  "list the controllers: ID, role, raft and HTTP addresses, term, last contact with the leader, applied index, suffrage",
				Action: run("status", clusterStatus),
			},
			{
				Name:      "join",
				Usage:     "add controller ID at raft address RAFT_ADDR as a voter (the controller itself, or an administrator)",
				ArgsUsage: "ID RAFT_ADDR",
				Action:    run("join", clusterJoin),
			},
			{
				Name: "remove",
				Usage: "remove controller ID from the raft configuration (administrators); refused when the controllers left " +
					"that answer the leader would not be a quorum",
				ArgsUsage: "ID",
				Action:    run("remove", clusterRemove),
			},
		},
	}
}

// lineageAddr is the --addr given to the command or one of its parents.
func lineageAddr(c *ucli.Context) string {
	for _, cc := range c.Lineage() {
		if a := cc.String("addr"); a != "" {
			return a
		}
	}
	return ""
}

func clusterStatus(ctx context.Context, inv *invocation, c *ucli.Context) error {
	if c.NArg() != 0 {
		return errors.New("usage: fairway cluster status")
	}
	// Consistent: the leader answers, with its view of unreachable peers.
	resp, err := inv.client().WithConsistent(true).Cluster(ctx)
	if err != nil {
		return err
	}
	writeClusterTable(inv.env, resp.Controllers)
	return nil
}

// writeClusterTable prints the controllers as a table.
func writeClusterTable(env *Env, ctls []api.ControllerInfo) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tRAFT_ADDR\tHTTP_ADDR\tTERM\tLAST_CONTACT\tAPPLIED\tSUFFRAGE")
	for _, ct := range ctls {
		role := ct.Role
		if ct.Unreachable {
			role += "(unreachable)"
		}
		term, applied := "-", "-"
		if ct.Term > 0 {
			term = strconv.FormatUint(ct.Term, 10)
		}
		if ct.Error == "" {
			applied = strconv.FormatUint(ct.Applied, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			printable(ct.ID), printable(role), printable(ct.RaftAddr), printable(orDash(ct.HTTPAddr)),
			term, lastContact(ct.LastContactMS), applied, printable(ct.Suffrage))
	}
	_ = tw.Flush()
	for _, ct := range ctls {
		if ct.Error != "" {
			fmt.Fprintf(env.Stderr, "cluster status: controller %s: %s\n", printable(ct.ID), printable(ct.Error))
		}
	}
}

// lastContact formats a last contact in milliseconds (-1: never/unknown).
func lastContact(ms int64) string {
	if ms < 0 {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clusterJoin(ctx context.Context, inv *invocation, c *ucli.Context) error {
	if c.NArg() != 2 || c.Args().Get(0) == "" || c.Args().Get(1) == "" {
		return errors.New("usage: fairway cluster join ID RAFT_ADDR")
	}
	id, raftAddr := c.Args().Get(0), c.Args().Get(1)
	if err := inv.client().Join(ctx, id, raftAddr); err != nil {
		return fmt.Errorf("join controller %s at %s: %w", id, raftAddr, err)
	}
	fmt.Fprintf(inv.env.Stdout, "controller %s (raft %s) joined as a voter\n", printable(id), printable(raftAddr))
	return nil
}

func clusterRemove(ctx context.Context, inv *invocation, c *ucli.Context) error {
	if c.NArg() != 1 || c.Args().First() == "" {
		return errors.New("usage: fairway cluster remove ID")
	}
	id := c.Args().First()
	if err := inv.client().RemoveController(ctx, id); err != nil {
		return fmt.Errorf("remove controller %s: %w", id, err)
	}
	fmt.Fprintf(inv.env.Stdout, "controller %s removed from the raft configuration\n", printable(id))
	return nil
}
