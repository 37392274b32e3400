// Package steptest runs fake node step servers for tests of srun and of
// package stepclient: HTTPS servers with node certificates issued by a test
// CA, answering POST /v1/steps with frames a test scripts, and recording
// launches, signals and standard input. It links the controller's PKI
// (ctld/pki) and is for tests only.
package steptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// CA is a test cluster CA.
type CA struct {
	ca *pki.CA
	// PEM is the CA certificate (FAIRWAY_CA's text form).
	PEM []byte
	// Pool holds the CA certificate.
	Pool *x509.CertPool
}

// NewCA makes a test CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := pki.NewCA("test", time.Now())
	if err != nil {
		t.Fatalf("new CA: %v", err)
	}
	pool, err := apipki.ParseCAPool(ca.CertPEM())
	if err != nil {
		t.Fatalf("CA pool: %v", err)
	}
	return &CA{ca: ca, PEM: ca.CertPEM(), Pool: pool}
}

// Send writes one frame to srun.
type Send func(api.StepFrame)

// RunFunc plays a node's part of a step: it sends frames and returns. A
// RunFunc that returns without sending a Done frame breaks the stream. ctx
// ends when srun disconnects.
type RunFunc func(ctx context.Context, n *Node, req api.NodeStepRequest, send Send)

// Node is a fake step server.
type Node struct {
	Name string
	Srv  *httptest.Server
	run  RunFunc
	// Signals receives each signal name srun forwards (buffered).
	Signals chan string
	// Disconnected is closed when srun drops a launch stream before its end.
	Disconnected chan struct{}
	// OnStdinEOF, when set (before srun runs), is called with all the
	// standard input received once srun says it ended.
	OnStdinEOF func([]byte)

	mu       sync.Mutex
	launches []api.NodeStepRequest
	stdin    []byte
	auth     []string
	discOnce sync.Once
}

// Node starts a fake step server for node name whose certificate identity
// is id (normally apipki.Node(name)); run plays each launch (nil: Echo).
func (ca *CA) Node(t testing.TB, name string, id apipki.Identity, run RunFunc) *Node {
	t.Helper()
	iss, err := ca.ca.Issue(pki.IssueRequest{Identity: id, Hosts: []string{"127.0.0.1"}, Now: time.Now()})
	if err != nil {
		t.Fatalf("issue %s: %v", id, err)
	}
	pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	if run == nil {
		run = Echo
	}
	n := &Node{Name: name, run: run, Signals: make(chan string, 16), Disconnected: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/steps", n.launch)
	mux.HandleFunc("POST /v1/steps/{id}/signal", func(w http.ResponseWriter, r *http.Request) {
		var s api.StepSignal
		_ = json.NewDecoder(r.Body).Decode(&s)
		n.Signals <- s.Signal
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/steps/{id}/stdin", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.stdin = append(n.stdin, data...)
		all, onEOF := append([]byte(nil), n.stdin...), n.OnStdinEOF
		n.mu.Unlock()
		if r.URL.Query().Get("eof") == "1" && onEOF != nil {
			onEOF(all)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	n.Srv = httptest.NewUnstartedServer(mux)
	n.Srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	n.Srv.StartTLS()
	t.Cleanup(n.Srv.Close)
	return n
}

// Addr is the server's host:port (api.Node.StepAddr).
func (n *Node) Addr() string { return n.Srv.Listener.Addr().String() }

// Launches returns the step requests the node received.
func (n *Node) Launches() []api.NodeStepRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]api.NodeStepRequest(nil), n.launches...)
}

// Stdin returns what srun streamed to the node's standard input.
func (n *Node) Stdin() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]byte(nil), n.stdin...)
}

// AuthHeaders returns the X-Fairway-Munge or X-SLURM-USER-TOKEN header of
// each launch.
func (n *Node) AuthHeaders() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.auth...)
}

func (n *Node) launch(w http.ResponseWriter, r *http.Request) {
	var req api.NodeStepRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.launches = append(n.launches, req)
	n.auth = append(n.auth, r.Header.Get(api.MungeHeader)+r.Header.Get(api.SlurmUserTokenHeader))
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush() // the head at once, as the node's step server does
	}
	var wmu sync.Mutex
	done := false
	send := func(f api.StepFrame) {
		wmu.Lock()
		defer wmu.Unlock()
		done = done || f.Done
		_ = json.NewEncoder(w).Encode(f)
		if fl != nil {
			fl.Flush()
		}
	}
	n.run(r.Context(), n, req, send)
	if !done && r.Context().Err() != nil {
		n.discOnce.Do(func() { close(n.Disconnected) })
	}
}

// Exit is a task exit frame.
func Exit(task, code, signal int) api.StepFrame {
	return api.StepFrame{Task: task, Exit: &code, Signal: signal}
}

// Echo is the default RunFunc: each task writes "hello from task R on
// NODE" on stdout and exits 0.
func Echo(_ context.Context, n *Node, req api.NodeStepRequest, send Send) {
	for _, t := range req.Tasks {
		send(api.StepFrame{Task: t, Stream: "stdout", Data: []byte("hello from task " + itoa(t) + " on " + n.Name + "\n")})
	}
	for _, t := range req.Tasks {
		send(Exit(t, 0, 0))
	}
	send(api.StepFrame{Done: true})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
