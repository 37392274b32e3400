package ctld_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/pki"
	"github.com/fairway-hpc/fairway/raftstore"
)

// testPKI is a CA for one test, issuing certificates for 127.0.0.1.
type testPKI struct {
	t  *testing.T
	ca *pki.CA
}

func newTestPKI(t *testing.T) *testPKI {
	ca, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{t: t, ca: ca}
}

// creds issues credentials for id.
func (p *testPKI) creds(id apipki.Identity) *apipki.Credentials {
	p.t.Helper()
	iss, err := p.ca.Issue(pki.IssueRequest{Identity: id, Hosts: []string{"127.0.0.1"}, Now: time.Now()})
	if err != nil {
		p.t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
	if err != nil {
		p.t.Fatal(err)
	}
	pool, err := apipki.ParseCAPool(p.ca.CertPEM())
	if err != nil {
		p.t.Fatal(err)
	}
	return &apipki.Credentials{Cert: pair, Identity: id, CAs: pool, CAPEM: p.ca.CertPEM()}
}

// client is a client of ctl presenting the certificate of id (none when id
// is zero).
func (p *testPKI) client(ctl *ctld.Controller, id apipki.Identity) *client.Client {
	p.t.Helper()
	if id == (apipki.Identity{}) {
		return client.NewWithOptions(client.Options{Addrs: ctl.URL(), CA: string(p.ca.CertPEM())})
	}
	return client.NewWithOptions(client.Options{Addrs: ctl.URL(), TLS: p.creds(id).ClientConfig()})
}

// startTLSController starts a controller serving TLS with a certificate for
// fairway://controller/<ID>.
func startTLSController(t *testing.T, p *testPKI, edit func(cfg *ctld.Config)) *ctld.Controller {
	t.Helper()
	ctl, _ := startControllerWith(t, func(cfg *ctld.Config) {
		if edit != nil {
			edit(cfg)
		}
		cfg.TLS = p.creds(apipki.Controller(cfg.ID))
	})
	waitReady(t, p.client(ctl, apipki.Identity{}))
	return ctl
}

func statusOf(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// TestNodeCertificates calls the node routes for node n1 with no
// certificate, another node's, an admin's and n1's own: only n1's is
// accepted, and a refused call changes nothing.
func TestNodeCertificates(t *testing.T) {
	p := newTestPKI(t)
	ctl := startTLSController(t, p, nil)
	user := p.client(ctl, apipki.Identity{})
	reg := api.RegisterNodeRequest{Name: "n1", Addr: "127.0.0.1:1", Resources: api.NodeResources{CPUs: 4, MemoryMB: 4000}}

	nodeNames := func() []string {
		resp, err := user.Nodes(ctx(t), client.QueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range resp.Nodes {
			names = append(names, n.Name)
		}
		return names
	}
	calls := []struct {
		name string
		call func(cl *client.Client) error
	}{
		{"register", func(cl *client.Client) error { _, err := cl.RegisterNode(ctx(t), reg); return err }},
		{"heartbeat", func(cl *client.Client) error {
			_, err := cl.Heartbeat(ctx(t), "n1", api.HeartbeatRequest{})
			return err
		}},
		{"events", func(cl *client.Client) error { return cl.ReportEvents(ctx(t), "n1", nil) }},
		{"watch", func(cl *client.Client) error { _, err := cl.NodeJobs(ctx(t), "n1", client.QueryOptions{}); return err }},
	}
	refused := []struct {
		name   string
		as     apipki.Identity
		status int
	}{
		{"no certificate", apipki.Identity{}, http.StatusUnauthorized},
		{"another node's certificate", apipki.Node("n2"), http.StatusForbidden},
		{"a controller's certificate", apipki.Controller("ctl1"), http.StatusUnauthorized},
		{"an admin's certificate", apipki.Admin("root"), http.StatusUnauthorized},
	}
	for _, r := range refused {
		cl := p.client(ctl, r.as)
		for _, c := range calls {
			t.Run(r.name+"/"+c.name, func(t *testing.T) {
				err := c.call(cl)
				if got := statusOf(err); got != r.status {
					t.Errorf("status %d (%v), want %d", got, err, r.status)
				}
				if err != nil && !strings.Contains(err.Error(), "n1") {
					t.Errorf("message %q does not name the node", err)
				}
			})
		}
	}
	if got := nodeNames(); len(got) != 0 {
		t.Fatalf("refused calls registered nodes %v", got)
	}
	own := p.client(ctl, apipki.Node("n1"))
	for _, c := range calls {
		if err := c.call(own); err != nil {
			t.Errorf("%s with n1's own certificate: %v", c.name, err)
		}
	}
	if diff := cmp.Diff([]string{"n1"}, nodeNames()); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	// A user's call (no certificate) still works: users authenticate
	// otherwise.
	if _, err := user.Submit(ctx(t), spec("user-job")); err != nil {
		t.Errorf("user submit without a certificate: %v", err)
	}
}

// TestTLSRefusesPlaintextAndForeignCA: plain HTTP to a TLS controller
// fails, a client certificate from another CA is refused at the handshake,
// and a client that does not trust the cluster CA refuses the controller.
func TestTLSRefusesPlaintextAndForeignCA(t *testing.T) {
	p := newTestPKI(t)
	ctl := startTLSController(t, p, nil)
	resp, err := http.Get("http://" + ctl.Addr() + "/v1/status")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to a TLS controller answered 200")
		}
	}
	other := newTestPKI(t)
	foreign := client.NewWithOptions(client.Options{Addrs: ctl.URL(), TLS: func() *tls.Config {
		cfg := other.creds(apipki.Node("n1")).ClientConfig()
		cfg.RootCAs = p.creds(apipki.Node("x")).CAs // trusts the server, presents a foreign cert
		return cfg
	}()})
	if _, err := foreign.RegisterNode(ctx(t), api.RegisterNodeRequest{Name: "n1", Resources: api.NodeResources{CPUs: 1, MemoryMB: 100}}); err == nil {
		t.Errorf("register with a certificate of another CA: want an error")
	}
	untrusting := client.NewWithOptions(client.Options{Addrs: ctl.URL(), CA: string(other.ca.CertPEM())})
	if _, err := untrusting.Status(ctx(t)); err == nil {
		t.Errorf("a client trusting another CA accepted the controller")
	}
	// A server with a node's certificate of the right CA is not a
	// controller: clients refuse it.
	impostor := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	impostor.TLS = &tls.Config{Certificates: []tls.Certificate{p.creds(apipki.Node("n1")).Cert}}
	impostor.StartTLS()
	defer impostor.Close()
	if _, err := client.NewWithOptions(client.Options{Addrs: impostor.URL, CA: string(p.ca.CertPEM())}).Status(ctx(t)); err == nil || !strings.Contains(err.Error(), "want a controller") {
		t.Errorf("client accepted a server with a node certificate: %v", err)
	}
}

// TestJoinTLS: joining needs the joining controller's own certificate (or
// an administrator's); a node's, another controller's or none is refused
// and leaves the raft configuration as it was; a controller with its
// certificate joins over TLS (HTTP and raft) and replicates.
func TestJoinTLS(t *testing.T) {
	p := newTestPKI(t)
	first := startTLSController(t, p, nil)
	servers := func() []raftstore.Peer {
		s, err := first.Store().Servers()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := servers()
	join := func(as apipki.Identity, id string) error {
		cl := p.client(first, as)
		return cl.Join(ctx(t), id, "127.0.0.1:1")
	}
	refused := []struct {
		name   string
		as     apipki.Identity
		status int
	}{
		{"no certificate", apipki.Identity{}, http.StatusUnauthorized},
		{"a node's certificate", apipki.Node("ctl9"), http.StatusForbidden},
		{"another controller's certificate", apipki.Controller("ctl8"), http.StatusForbidden},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			if got := statusOf(join(r.as, "ctl9")); got != r.status {
				t.Errorf("status %d, want %d", got, r.status)
			}
			if diff := cmp.Diff(before, servers()); diff != "" {
				t.Errorf("raft configuration changed (-before +after):\n%s", diff)
			}
		})
	}

	user := p.client(first, apipki.Identity{})
	if _, err := user.Submit(ctx(t), spec("before-join")); err != nil {
		t.Fatal(err)
	}
	second, _ := startControllerWith(t, func(cfg *ctld.Config) {
		cfg.ID, cfg.Bootstrap, cfg.Join = "ctl2", false, first.Addr()
		cfg.TLS = p.creds(apipki.Controller("ctl2"))
	})
	cl2 := p.client(second, apipki.Identity{})
	waitJob(t, cl2, 1, "replicated to the joined controller", func(j *api.Job) bool { return j.State == api.JobPending })
	if got := len(servers()); got != 2 {
		t.Errorf("%d servers after the join, want 2", got)
	}

	// Writes through the follower are forwarded with its certificate; a node
	// calling the follower keeps its identity at the leader.
	if _, err := cl2.Submit(ctx(t), spec("via-follower")); err != nil {
		t.Errorf("submit through the follower: %v", err)
	}
	n1 := p.client(second, apipki.Node("n1"))
	if _, err := n1.RegisterNode(ctx(t), api.RegisterNodeRequest{Name: "n1", Resources: api.NodeResources{CPUs: 1, MemoryMB: 100}}); err != nil {
		t.Errorf("node n1 registering through the follower: %v", err)
	}
	if _, err := n1.RegisterNode(ctx(t), api.RegisterNodeRequest{Name: "n2", Resources: api.NodeResources{CPUs: 1, MemoryMB: 100}}); statusOf(err) != http.StatusForbidden {
		t.Errorf("node n1 registering as n2 through the follower: %v, want 403", err)
	}
	if _, err := user.RegisterNode(ctx(t), api.RegisterNodeRequest{Name: "n3", Resources: api.NodeResources{CPUs: 1, MemoryMB: 100}}); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("registering without a certificate through the follower: %v, want 401", err)
	}
}

// TestAttestedHeaderNeedsController: the attested-identity header is
// trusted only from a controller's connection. A node or a user that sends
// it (with the forwarded marker) is identified by its own certificate or
// not at all.
func TestAttestedHeaderNeedsController(t *testing.T) {
	p := newTestPKI(t)
	ctl := startTLSController(t, p, nil)
	body := `{"name":"n1","resources":{"cpus":1,"memory_mb":100}}`
	tests := []struct {
		name   string
		as     apipki.Identity
		status int
	}{
		{"user forging a node", apipki.Identity{}, http.StatusUnauthorized},
		{"node n2 forging n1", apipki.Node("n2"), http.StatusForbidden},
		{"controller attesting n1", apipki.Controller("ctl7"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := apipki.ServerCAConfig(p.creds(apipki.Node("x")).CAs)
			if tt.as != (apipki.Identity{}) {
				cfg = p.creds(tt.as).ClientConfig()
			}
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, ctl.URL()+"/v1/nodes/register", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Fairway-Forwarded-By", "ctl7")
			req.Header.Set("X-Fairway-Attested-Identity", "fairway://node/n1")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}
