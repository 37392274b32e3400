package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// maxWhatIfReplays is the most replays the controller accepts (ctld's
// MaxWhatIfReplays; the client does not link ctld).
const maxWhatIfReplays = 50

// simCommand is "fairway sim --from-live": the controller replays the live
// queue and running jobs under the current configuration and under a
// proposed one (--config) and the command prints the waits per account
// side by side. Offline trace replays are fairway-sim's.
func simCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name: "sim",
		Usage: "replay the live queue under a proposed configuration and compare the waits per account with the current one " +
			"(operators and administrators; trace replays are fairway-sim's)",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "from-live", Usage: "replay the controller's live queue and running jobs (required)"},
			&ucli.StringFlag{Name: "config", Usage: "the proposed cluster configuration (JSON, as PUT by scontrol/fairway config); default: the current one"},
			&ucli.StringFlag{Name: "replays", Usage: fmt.Sprintf("sampled replays of each configuration (1-%d; default 10)", maxWhatIfReplays)},
			&ucli.StringFlag{Name: "horizon", Usage: "how far ahead to replay: a duration (72h) or a Slurm time (7-00:00:00); default a week"},
			&ucli.BoolFlag{Name: "json", Usage: "print the controller's answer as JSON"},
		},
		Action: func(c *ucli.Context) error {
			inv := &invocation{env: env, name: "sim", addr: lineageAddr(c)}
			if err := runSim(c.Context, inv, c); err != nil {
				return report(env, "sim", err)
			}
			return nil
		},
	}
}

// whatIfRequest builds the request from the command's flags; bad values
// are *api.FieldError naming the flag.
func whatIfRequest(fromLive bool, configPath, replays, horizon string, args []string) (api.WhatIfRequest, error) {
	var req api.WhatIfRequest
	switch {
	case len(args) > 0:
		return req, fmt.Errorf("usage: fairway sim --from-live [--config FILE] [--replays N] [--horizon D]; unexpected %q", args[0])
	case !fromLive:
		return req, &api.FieldError{Field: "--from-live", Value: "", Msg: "fairway sim replays the live queue and needs --from-live (replay a trace with fairway-sim)"}
	}
	if configPath != "" {
		cfg, err := readClusterConfig(configPath)
		if err != nil {
			return req, err
		}
		req.Config = &cfg
	}
	if replays != "" {
		n, err := strconv.Atoi(replays)
		if err != nil || n < 1 || n > maxWhatIfReplays {
			return req, &api.FieldError{Field: "--replays", Value: replays, Msg: fmt.Sprintf("must be a number from 1 to %d", maxWhatIfReplays)}
		}
		req.Replays = n
	}
	if horizon != "" {
		secs, err := parseHorizon(horizon)
		if err != nil {
			return req, &api.FieldError{Field: "--horizon", Value: horizon, Msg: "must be a positive duration such as 72h, or a Slurm time such as 7-00:00:00 (" + slurmtime.LimitForms + ", not UNLIMITED)"}
		}
		req.HorizonSecs = secs
	}
	return req, nil
}

// parseHorizon reads a Go duration or a Slurm time limit, in seconds.
func parseHorizon(s string) (int64, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < time.Second {
			return 0, errors.New("too short")
		}
		return int64(d / time.Second), nil
	}
	secs, unlimited, err := slurmtime.ParseLimit(s)
	switch {
	case err != nil:
		return 0, err
	case unlimited || secs <= 0:
		return 0, errors.New("not a finite positive time")
	}
	return secs, nil
}

// readClusterConfig reads a proposed configuration: JSON, unknown fields
// refused, so that a misspelt setting is not silently left out. The
// controller validates it further (its errors name the field under
// config.).
func readClusterConfig(path string) (api.ClusterConfig, error) {
	var cfg api.ClusterConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, &api.FieldError{Field: "--config", Value: path, Msg: "cannot read it: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, &api.FieldError{Field: "--config", Value: path, Msg: "not a cluster configuration (JSON): " + err.Error()}
	}
	return cfg, nil
}

func runSim(ctx context.Context, inv *invocation, c *ucli.Context) error {
	req, err := whatIfRequest(c.Bool("from-live"), c.String("config"), c.String("replays"), c.String("horizon"), c.Args().Slice())
	if err != nil {
		return err
	}
	res, err := inv.client().WhatIf(ctx, req)
	if err != nil {
		return fmt.Errorf("what-if replay: %w", err)
	}
	if c.Bool("json") {
		return writeIndented(inv.env.Stdout, res)
	}
	writeWhatIf(inv.env.Stdout, res, req.Config != nil, inv.env.Location)
	return nil
}

// writeWhatIf prints the per-account waits, current against proposed.
func writeWhatIf(w io.Writer, res *api.WhatIfResult, proposed bool, loc *time.Location) {
	what := "the current configuration against itself (no --config)"
	if proposed {
		what = "the current configuration (CUR) and the proposed one (NEW)"
	}
	fmt.Fprintf(w, "Replayed the queue of %s %d times each, %s ahead from %s.\n",
		what, res.Replays, slurmtime.Clock(res.HorizonSecs), slurmtime.Date(res.Now, loc))
	fmt.Fprintln(w, "Waits of the jobs pending now, from now to their start (mean and P90 over replays and jobs); UNSTARTED: jobs not started within the horizon, per replay.")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tJOBS\tMEAN_CUR\tMEAN_NEW\tCHANGE\tP90_CUR\tP90_NEW\tUNSTARTED_CUR\tUNSTARTED_NEW")
	for _, a := range res.Accounts {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\n", a.Account, a.Jobs,
			slurmtime.Clock(int64(a.CurrentMeanWait)), slurmtime.Clock(int64(a.ProposedMeanWait)), change(a.CurrentMeanWait, a.ProposedMeanWait),
			slurmtime.Clock(int64(a.CurrentP90Wait)), slurmtime.Clock(int64(a.ProposedP90Wait)), a.CurrentUnstarted, a.ProposedUnstarted)
	}
	tw.Flush()
	if len(res.Accounts) == 0 {
		fmt.Fprintln(w, "(no pending jobs: nothing to compare)")
	}
}

// change is the relative change from cur to next: "-50%", "+12%", "0%".
func change(cur, next float64) string {
	switch {
	case cur == next:
		return "0%"
	case cur == 0:
		return "new"
	}
	return fmt.Sprintf("%+.0f%%", 100*(next-cur)/cur)
}
