// Command fairway-scale is Fairway's scale harness: it starts three real
// controllers on loopback (or attaches to running ones), runs thousands of
// simulated node daemons in this one process, submits a synthetic mix or a
// trace through the real API with JWT authentication, and reports
// submit-to-start latency, scheduler pass times by queue size, the
// controllers' CPU and memory, raft and snapshot figures, requests by
// route, node watch wake-ups per commit, squeue wall times and a leader's
// kill -9 and restart (docs/scale.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fairway-scale:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.mode == "lists" {
		err = mainLists(ctx, o, log)
	} else {
		rep, rerr := run(ctx, o, log)
		if rep != nil {
			if werr := writeReport(o.out, "report", rep); werr != nil {
				log.Error("cannot write the report", "err", werr)
			}
		}
		err = rerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fairway-scale:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into options and checks them.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("fairway-scale", flag.ContinueOnError)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := o.check(); err != nil {
		return o, err
	}
	return o, nil
}
