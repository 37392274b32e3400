// Package e2e holds Fairway's end-to-end tests. They build the two binaries,
// the static client (cmd/fairway, with its Slurm-named links) and the daemons
// (cmd/fairwayd), run a private containerd, controllers and node daemons as
// separate processes, and drive them through the commands as a user would.
//
// The tests are behind the e2e build tag, since they need root, containerd,
// runc and a few minutes: go test -tags e2e ./cmd/e2e (make test runs them).
// Under the tag a missing containerd fails the run; without the tag this
// package has no tests.
package e2e
