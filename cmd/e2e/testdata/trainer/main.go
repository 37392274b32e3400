// Command trainer stands in for a training job in Fairway's end-to-end tests.
// It counts steps, one every -step-time, up to -steps. On SIGUSR1 (the
// checkpoint signal of a preemption) it saves the step it reached to
// $FAIRWAY_CHECKPOINT_DIR/step and exits; when it starts it resumes from that
// checkpoint. It prints each step, so that a test can check that no step was
// lost or done twice across runs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	steps := flag.Int("steps", 40, "steps to train in all")
	stepTime := flag.Duration("step-time", 100*time.Millisecond, "time one step takes")
	flag.Parse()
	if err := train(*steps, *stepTime); err != nil {
		fmt.Fprintln(os.Stderr, "trainer:", err)
		os.Exit(1)
	}
}

func train(steps int, stepTime time.Duration) error {
	dir := os.Getenv("FAIRWAY_CHECKPOINT_DIR")
	if dir == "" {
		return errors.New("FAIRWAY_CHECKPOINT_DIR is not set")
	}
	ckpt := filepath.Join(dir, "step")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)

	step := 0
	b, err := os.ReadFile(ckpt)
	switch {
	case err == nil:
		if step, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("bad checkpoint %s: %w", ckpt, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read checkpoint: %w", err)
	}
	fmt.Printf("start restart=%s resume=%d dir=%s\n", os.Getenv("SLURM_RESTART_COUNT"), step, dir)

	tick := time.NewTicker(stepTime)
	defer tick.Stop()
	for step < steps {
		select {
		case <-sigs:
			if err := save(ckpt, step); err != nil {
				return err
			}
			fmt.Printf("checkpoint %d\n", step)
			return nil
		case <-tick.C:
			step++
			fmt.Printf("step %d\n", step)
		}
	}
	fmt.Printf("done %d\n", step)
	return nil
}

// save writes the checkpoint atomically: a temporary file, fsync, rename.
func save(name string, step int) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", step)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}
