package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/pki"
	ctldpki "github.com/fairway-hpc/fairway/ctld/pki"
	"github.com/google/go-cmp/cmp"
)

// tlsController is a TLS controller stand-in serving with the controllers'
// TLS configuration (pki.HTTPServerConfig): it counts the connections made
// to it and records what each request arrived over.
type tlsController struct {
	addr  string
	conns atomic.Int32
	mu    sync.Mutex
	seen  []requestSeen
}

// requestSeen is what a request arrived over.
type requestSeen struct {
	Proto   string
	Resumed bool
	Peer    string
}

// issue returns the credentials of id under ca, for hosts.
func issue(t *testing.T, ca *ctldpki.CA, id pki.Identity, hosts ...string) *pki.Credentials {
	t.Helper()
	is, err := ca.Issue(ctldpki.IssueRequest{Identity: id, Hosts: hosts, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &pki.Credentials{Cert: pair, Identity: id, CAs: pool, CAPEM: ca.CertPEM()}
}

// startTLSController serves GET /slow (answers when the request ends) and
// GET /ok over TLS with the controllers' configuration. It returns the
// stand-in and a node's client credentials.
func startTLSController(t *testing.T) (*tlsController, *pki.Credentials) {
	t.Helper()
	ca, err := ctldpki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	server := issue(t, ca, pki.Controller("ctl1"), "127.0.0.1")
	node := issue(t, ca, pki.Node("n1"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc := &tlsController{addr: "https://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		id, _ := pki.PeerIdentity(r.TLS)
		tc.mu.Lock()
		tc.seen = append(tc.seen, requestSeen{Proto: r.Proto, Resumed: r.TLS.DidResume, Peer: id.String()})
		tc.mu.Unlock()
		w.Write([]byte("{}"))
	})
	srv := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tc.conns.Add(1)
		}
	}}
	go srv.Serve(tls.NewListener(ln, server.HTTPServerConfig()))
	t.Cleanup(func() { srv.Close() })
	return tc, node
}

func (tc *tlsController) takeSeen() []requestSeen {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	s := tc.seen
	tc.seen = nil
	return s
}

// A node daemon's requests share one HTTP/2 connection to a controller: a
// request that gives up does not close it, and concurrent requests do not
// open more (each new connection is a TLS handshake the controller pays).
func TestNodeRequestsShareOneConnection(t *testing.T) {
	tc, node := startTLSController(t)
	c := NewWithOptions(Options{Addrs: tc.addr, TLS: node.ClientConfig(), AttemptTimeout: 300 * time.Millisecond, RetryFor: -1})
	ctx := context.Background()
	if _, err := c.do(ctx, http.MethodGet, "/slow", nil, nil); err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("GET /slow: %v, want no answer within the attempt timeout", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.do(ctx, http.MethodGet, "/ok", nil, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	want := make([]requestSeen, len(errs))
	for i := range want {
		want[i] = requestSeen{Proto: "HTTP/2.0", Peer: "fairway://node/n1"}
	}
	if diff := cmp.Diff(want, tc.takeSeen()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := tc.conns.Load(); n != 1 {
		t.Errorf("%d connections made, want 1 for a timed-out request and 6 concurrent ones", n)
	}
}

// A connection made again resumes the TLS session, and the controller still
// knows the node from its certificate.
func TestReconnectResumesTLSSession(t *testing.T) {
	tc, node := startTLSController(t)
	c := NewWithOptions(Options{Addrs: tc.addr, TLS: node.ClientConfig(), RetryFor: -1})
	ctx := context.Background()
	for range 2 {
		if _, err := c.do(ctx, http.MethodGet, "/ok", nil, nil); err != nil {
			t.Fatal(err)
		}
		c.http.Transport.(*http.Transport).CloseIdleConnections()
	}
	want := []requestSeen{
		{Proto: "HTTP/2.0", Resumed: false, Peer: "fairway://node/n1"},
		{Proto: "HTTP/2.0", Resumed: true, Peer: "fairway://node/n1"},
	}
	if diff := cmp.Diff(want, tc.takeSeen()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
