package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// explainCommand is "fairway explain JOB": why the job waits, in words with
// the facts behind them, its backfill reservation and its expected start
// as a range; "fairway explain --accuracy": how good the past estimates
// were.
func explainCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name: "explain",
		Usage: "say why a job waits (the jobs ahead of it, the resources, guarantee, limit, dependency or hold that keep it) " +
			"and when it is expected to start; with --accuracy, how close past estimates came",
		ArgsUsage: "JOB_ID (12, or 12_3 for a task of job array 12)",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "accuracy", Usage: "measure the first start estimate of every retained job that started against its actual start"},
			&ucli.BoolFlag{Name: "json", Usage: "print the controller's answer as JSON"},
		},
		Action: func(c *ucli.Context) error {
			inv := &invocation{env: env, name: "explain", addr: lineageAddr(c)}
			if err := runExplain(c.Context, inv, c.Args().Slice(), c.Bool("accuracy"), c.Bool("json")); err != nil {
				return report(env, "explain", err)
			}
			return nil
		},
	}
}

func runExplain(ctx context.Context, inv *invocation, args []string, accuracy, asJSON bool) error {
	switch {
	case accuracy && len(args) > 0:
		return &api.FieldError{Field: "JOB_ID", Value: strings.Join(args, " "), Msg: "--accuracy takes no job: it measures every retained job"}
	case accuracy:
		acc, err := inv.client().EstimateAccuracy(ctx)
		if err != nil {
			return fmt.Errorf("estimate accuracy: %w", err)
		}
		if asJSON {
			return writeIndented(inv.env.Stdout, acc)
		}
		writeAccuracy(inv.env.Stdout, acc)
		return nil
	case len(args) != 1:
		return errors.New("usage: fairway explain JOB_ID, or fairway explain --accuracy")
	}
	ref, err := api.ParseJobRef(args[0])
	if err != nil {
		return &api.FieldError{Field: "JOB_ID", Value: args[0], Msg: "not a job id such as 12, or 12_3 for task 3 of job array 12"}
	}
	e, err := inv.client().Explain(ctx, ref)
	switch {
	case client.IsNotFound(err):
		return fmt.Errorf("job %s: Invalid job id specified", ref)
	case err != nil:
		return fmt.Errorf("explain job %s: %w", ref, err)
	}
	if asJSON {
		return writeIndented(inv.env.Stdout, e)
	}
	writeExplanation(inv.env.Stdout, e, inv.env.Now(), inv.env.Location)
	return nil
}

// writeIndented prints v as indented JSON.
func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeExplanation prints an explanation: the summary, the facts, the
// reservation and the estimate range, times in the local zone.
func writeExplanation(w io.Writer, e *api.Explanation, now time.Time, loc *time.Location) {
	fmt.Fprintln(w, e.Summary)
	for _, f := range e.Facts {
		if f.Kind == api.FactEstimate {
			continue // printed below, in local time
		}
		fmt.Fprintf(w, "  - %s\n", f.Text)
	}
	if e.State != api.JobPending {
		return
	}
	if e.Reservation > 0 {
		fmt.Fprintf(w, "Reserved start: %s (the backfill reservation; it holds if running jobs use their whole time limits)\n", localTime(e.Reservation, now, loc))
	}
	fmt.Fprintf(w, "Expected start: %s\n", estimateRange(e.Estimate, now, loc))
}

// estimateRange says a start estimate as a range of local times.
func estimateRange(est *api.StartEstimate, now time.Time, loc *time.Location) string {
	if est == nil {
		return "no estimate yet (the controller replays the queue about once a minute, the first 5,000 pending jobs by priority by default)"
	}
	horizon := slurmtime.Short(max(est.Horizon-est.MadeAt, 0))
	switch {
	case est.P50 > 0 && est.P90 > 0:
		return fmt.Sprintf("between %s and %s (P50-P90 of %d replays)", localTime(est.P50, now, loc), localTime(est.P90, now, loc), est.Replays)
	case est.P50 > 0:
		return fmt.Sprintf("%s or later (P50 of %d replays; in %d of them it started within %s)", localTime(est.P50, now, loc), est.Replays, est.Started, horizon)
	}
	return fmt.Sprintf("not within %s in most replays (it started in %d of %d)", horizon, est.Started, est.Replays)
}

// localTime writes a unix time as 15:04 today, else with its date.
func localTime(unix int64, now time.Time, loc *time.Location) string {
	t, n := time.Unix(unix, 0).In(loc), now.In(loc)
	if t.Year() == n.Year() && t.YearDay() == n.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// writeAccuracy prints the estimates' accuracy.
func writeAccuracy(w io.Writer, a *api.EstimateAccuracy) {
	if a.Jobs == 0 {
		fmt.Fprintln(w, "No job with a start estimate has started yet: nothing to measure.")
		return
	}
	fmt.Fprintf(w, "%-28s%d (retained jobs that had a start estimate while pending, and started)\n", "Jobs measured:", a.Jobs)
	fmt.Fprintf(w, "%-28s%d of %d (%.0f%%)\n", "Started within [made, P90]:", a.InRange, a.Jobs, 100*float64(a.InRange)/float64(a.Jobs))
	if a.WithP50 > 0 {
		fmt.Fprintf(w, "%-28s%s (over the %d jobs with a P50)\n", "Median |start - P50|:", slurmtime.Short(a.MedianAbsErrorSecs), a.WithP50)
	}
}
