package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// clientPkg is the client binary's package.
const clientPkg = "github.com/fairway-hpc/fairway/cmd/fairway"

// clientTags are the build tags of the client (the Makefile's CLIENT_TAGS).
const clientTags = "urfave_cli_no_docs,urfave_cli_no_suggest"

// TestClientDependencies keeps the daemons' dependencies out of the client
// binary: it is started once per sbatch call and mounted into every container
// job, so it must stay small, static and quick to start. It lists the
// client's dependencies as the static build sees them (go list -deps) and
// fails, with the import chain, on any package that belongs to a daemon or
// that the client's build tags should leave out.
func TestClientDependencies(t *testing.T) {
	graph := clientImports(t)
	forbidden := []struct {
		prefix, why string
	}{
		{"github.com/hashicorp/raft", "raft (controller)"},
		{"github.com/hashicorp/raft-boltdb", "raft's bolt store (controller)"},
		{"go.etcd.io/bbolt", "bbolt (raft log store)"},
		{"github.com/boltdb/bolt", "boltdb (raft log store)"},
		{"github.com/hashicorp/go-memdb", "go-memdb (controller state store)"},
		{"github.com/containerd", "containerd client (node daemon)"},
		{"google.golang.org/grpc", "gRPC (containerd client)"},
		{"gonum.org", "gonum (simulator charts)"},
		{"go.opentelemetry.io", "OpenTelemetry (containerd client)"},
		{"github.com/NVIDIA/go-nvml", "NVML (node daemon, cgo)"},
		{"github.com/prometheus/client_golang", "Prometheus metrics (daemons)"},
		{"github.com/opencontainers/cgroups", "cgroups library (node daemon)"},
		{"github.com/golang-jwt/jwt", "JWT verification and signing (controller; the client only passes tokens on)"},
		{"github.com/fairway-hpc/fairway/ctld", "the controller"},
		{"github.com/fairway-hpc/fairway/noded", "the node daemon"},
		{"github.com/fairway-hpc/fairway/raftstore", "the raft store"},
		{"github.com/fairway-hpc/fairway/sched", "the scheduler and simulator"},
		{"github.com/fairway-hpc/fairway/cgroups", "job cgroups (node daemon)"},
		{"github.com/fairway-hpc/fairway/contrib", "deployment tooling (dev cluster)"},
		{"github.com/russross/blackfriday", "urfave/cli's man-page generator (left out by the tag urfave_cli_no_docs)"},
		{"github.com/getkin/kin-openapi", "OpenAPI validation (the slurmdata schemas are checked in tests only)"},
		{"github.com/cpuguy83/go-md2man", "urfave/cli's man-page generator (left out by the tag urfave_cli_no_docs)"},
	}
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, f := range forbidden {
		t.Run(f.prefix, func(t *testing.T) {
			var bad []string
			for _, p := range pkgs {
				if p == f.prefix || strings.HasPrefix(p, f.prefix+"/") {
					bad = append(bad, p)
				}
			}
			if len(bad) > 0 {
				t.Errorf("the client binary links %s, which does not belong in the client: %d package(s): %s\nimport chain: %s",
					f.why, len(bad), strings.Join(bad, ", "), strings.Join(importChain(graph, clientPkg, bad[0]), " -> "))
			}
		})
	}
}

// clientImports returns the client's dependency graph (package -> its
// imports) as the client's build (CGO_ENABLED=0, clientTags) sees it.
func clientImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", clientTags, "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, clientPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -tags %s -deps %s: %v\n%s", clientTags, clientPkg, err, stderr)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			graph[fields[0]] = fields[1:]
		}
	}
	if _, ok := graph[clientPkg]; !ok {
		t.Fatalf("go list -deps %s did not list the package itself", clientPkg)
	}
	return graph
}

// importChain returns a shortest import path from one package to another
// (breadth first over graph), or just [from, to] when none is found.
func importChain(graph map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, imp := range graph[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "...", to}
}
