package fence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/fairway-hpc/fairway/cgroups"
)

// SystemCgroups acts on the machine's cgroups (v1 or v2) through the
// cgroups package.
type SystemCgroups struct{}

// Runs lists the child cgroups of parent; none when parent does not exist.
func (SystemCgroups) Runs(parent string) ([]string, error) {
	g, err := cgroups.Load(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	names, err := g.Children()
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return names, nil
}

// Signal sends sig to every process of the cgroup.
func (SystemCgroups) Signal(path string, sig syscall.Signal) error {
	g, err := cgroups.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return g.Signal(sig)
}

// Empty reports whether the cgroup has no process; a missing one is empty.
func (SystemCgroups) Empty(path string) (bool, error) {
	g, err := cgroups.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	pids, err := g.Procs()
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(pids) == 0, nil
}

// Kill kills every process of the cgroup until it is empty or ctx ends.
func (SystemCgroups) Kill(ctx context.Context, path string) error {
	g, err := cgroups.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return g.Kill(ctx)
}
