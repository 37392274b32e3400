package ctld

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/fairway-hpc/fairway/raftstore/bigstate"
)

// listServer serves GET /v1/jobs (the controller's filter parsing, list
// and encoding: parseJobFilter, listJobs, writeJobList) and GET
// /v1/partitions over a raftstore.Local's state, for BenchmarkListJobs. It
// skips only authentication and the blocking-query wait.
func listServer(l *raftstore.Local) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		f, err := parseJobFilter(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		st := l.State()
		writeJobList(w, r, api.JobsResponse{Index: st.Index(), Now: bigstate.Now + 3700, Jobs: listJobs(st, f)})
	})
	mux.HandleFunc("GET /v1/partitions", func(w http.ResponseWriter, r *http.Request) {
		st := l.State()
		writeRead(w, st.Index(), api.PartitionsResponse{Index: st.Index(), Partitions: st.Config().Partitions})
	})
	return mux
}

// benchEnv is the command environment of the benchmark's squeue and sacct:
// root, the controller at addr, output discarded.
func benchEnv(addr string, stderr io.Writer) *cli.Env {
	vars := map[string]string{"FAIRWAY_ADDR": addr, api.EnvSlurmJWT: "bench", "FAIRWAY_CONSISTENT": "0"}
	return &cli.Env{
		Stdin:      bytes.NewReader(nil),
		Stdout:     io.Discard,
		Stderr:     stderr,
		Getenv:     func(k string) string { return vars[k] },
		Environ:    func() []string { return nil },
		Now:        func() time.Time { return time.Unix(bigstate.Now+3700, 0) },
		Location:   time.UTC,
		Getwd:      func() (string, error) { return "/", nil },
		Hostname:   func() (string, error) { return "bench", nil },
		User:       func() (cli.Identity, error) { return cli.Identity{Name: "root"}, nil },
		GroupName:  func(int) string { return "" },
		UserExists: func(string) bool { return true },
		Executable: func() (string, error) { return "/usr/bin/fairway", nil },
	}
}

// countingWriter is a ResponseWriter that counts and discards the body.
type countingWriter struct {
	h http.Header
	n int
}

func (c *countingWriter) Header() http.Header         { return c.h }
func (c *countingWriter) WriteHeader(int)             {}
func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// BenchmarkListJobs measures squeue and sacct against a state of 20,000
// and 200,000 jobs (bigstate.Default: 45% finished, 1% running, the rest
// pending, 100 of them alice's):
//
//	cmd     the whole command: squeue's request, the controller's list
//	        and JSON encoding, the transfer over loopback HTTP, the
//	        client's decoding and squeue's formatting (output discarded)
//	server  the controller's part alone: filter, list and encode
//
// MB is the size of the list response.
func BenchmarkListJobs(b *testing.B) {
	cmds := []struct {
		name  string
		args  []string
		query string // the request the command sends (for the server part)
	}{
		// The queries are what the client sends: squeue names the states
		// it lists (-t all: every state).
		{"squeue", []string{"squeue"}, "state=PENDING,RUNNING&view=brief"},
		{"squeue-u", []string{"squeue", "-u", "alice"}, "user=alice&state=PENDING,RUNNING&view=brief"},
		{"squeue-all", []string{"squeue", "-t", "all", "-o", "%i %t"},
			"all=1&state=CANCELLED,COMPLETED,FAILED,NODE_FAIL,OUT_OF_MEMORY,PENDING,PREEMPTED,REQUEUED,RUNNING,TIMEOUT&view=brief"},
		{"sacct-u", []string{"sacct", "-u", "alice", "-S", "2020-01-01", "-X"}, "all=1&user=alice"},
	}
	for _, n := range []int{20_000, 200_000} {
		l, err := bigstate.Build(bigstate.Default(n))
		if err != nil {
			b.Fatal(err)
		}
		// Collect the building's garbage now, not during the first
		// measurements.
		runtime.GC()
		srv := httptest.NewServer(listServer(l))
		for _, c := range cmds {
			b.Run(fmt.Sprintf("%dk/%s/cmd", n/1000, c.name), func(b *testing.B) {
				var stderr bytes.Buffer
				env := benchEnv(srv.URL, &stderr)
				for b.Loop() {
					if rc := cli.Run(context.Background(), env, c.args); rc != 0 {
						b.Fatalf("%v: exit %d: %s", c.args, rc, stderr.String())
					}
				}
			})
			b.Run(fmt.Sprintf("%dk/%s/server", n/1000, c.name), func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/v1/jobs?"+c.query, nil)
				h := listServer(l)
				var w *countingWriter
				b.ReportAllocs()
				for b.Loop() {
					w = &countingWriter{h: http.Header{}}
					h.ServeHTTP(w, req)
				}
				b.ReportMetric(float64(w.n)/1e6, "MB")
			})
		}
		srv.Close()
	}
}
