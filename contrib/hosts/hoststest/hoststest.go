// Package hoststest creates a hosts.Net for a test and removes it when the
// test ends, failed or not.
package hoststest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fairway-hpc/fairway/contrib/hosts"
)

// New creates a Net whose Close is registered with t.Cleanup. A machine
// that cannot run it (not root, ip, iptables or nsenter missing) fails the
// test with the reason: these tests run only under the e2e build tag, where
// a missing prerequisite is an error, not a skip.
func New(t testing.TB, log *slog.Logger) *hosts.Net {
	t.Helper()
	if err := hosts.Check(); err != nil {
		t.Fatalf("the hosts harness cannot run here: %v", err)
	}
	n, err := hosts.New(t.Context(), hosts.Options{Logger: log})
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("hosts: close: %v", err)
		}
	})
	return n
}

// AddHost adds a host to n or fails the test.
func AddHost(t testing.TB, n *hosts.Net, name string) *hosts.Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hosts.DefaultCommandTimeout*2)
	defer cancel()
	h, err := n.AddHost(ctx, name)
	if err != nil {
		t.Fatalf("hosts: %v", err)
	}
	return h
}
