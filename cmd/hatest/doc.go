// Package hatest holds the high-availability fault tests (build tag e2e):
// a real cluster of three controllers and node daemons, each in its own
// network namespace made by contrib/hosts, under load from many concurrent
// clients while the harness kills, freezes and cuts off controllers.
//
// The test process runs in the machine's own namespace and reaches the
// controllers through the address the harness gives its bridge (hosts.Net's
// Gateway); clients (the Go api/client for load, the fairway binary for
// commands) therefore run in the root namespace. Raft runs over mutual TLS
// with certificates from `fairwayd pki` that name each host's address;
// users authenticate with MUNGE through one private munged, whose unix
// socket every namespace shares.
//
// Environment: FAIRWAY_HA_SECS (load duration of TestLeaderFaultsUnderLoad,
// default 50), FAIRWAY_HA_RATE (target submissions per second, default
// 1000), FAIRWAY_HA_REPORT (the JSON summary's path, default a file in
// os.TempDir). Figures are logged and written to the summary, never
// asserted.
package hatest
