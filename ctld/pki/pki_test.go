package pki_test

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestIssueVerify issues certificates and verifies them as the daemons do:
// the chain under a CA at a time, then the identity.
func TestIssueVerify(t *testing.T) {
	ca, err := pki.NewCA("test CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     pki.IssueRequest
		verify  *pki.CA   // the CA the verifier trusts
		at      time.Time // the verifier's clock
		want    apipki.Identity
		wantIPs []string
		wantDNS []string
		wantErr bool
	}{
		{name: "node", req: pki.IssueRequest{Identity: apipki.Node("gpu01"), Hosts: []string{"10.0.0.5", "gpu01.example"}, Now: t0},
			verify: ca, at: t0.Add(time.Hour), want: apipki.Node("gpu01"), wantIPs: []string{"10.0.0.5"}, wantDNS: []string{"gpu01.example"}},
		{name: "controller with host:port", req: pki.IssueRequest{Identity: apipki.Controller("c1"), Hosts: []string{"127.0.0.1:6817"}, Now: t0},
			verify: ca, at: t0, want: apipki.Controller("c1"), wantIPs: []string{"127.0.0.1"}},
		{name: "admin", req: pki.IssueRequest{Identity: apipki.Admin("root"), Now: t0},
			verify: ca, at: t0, want: apipki.Admin("root")},
		{name: "wrong CA", req: pki.IssueRequest{Identity: apipki.Node("gpu01"), Now: t0},
			verify: other, at: t0, wantErr: true},
		{name: "expired", req: pki.IssueRequest{Identity: apipki.Node("gpu01"), Now: t0, Validity: 24 * time.Hour},
			verify: ca, at: t0.Add(25 * time.Hour), wantErr: true},
		{name: "not yet valid", req: pki.IssueRequest{Identity: apipki.Node("gpu01"), Now: t0},
			verify: ca, at: t0.Add(-time.Hour), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := ca.Issue(tt.req)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(tt.verify.Cert)
			_, err = iss.Cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: tt.at,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("verify: want an error, got none")
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			id, err := apipki.IdentityOf(iss.Cert)
			if err != nil {
				t.Fatalf("identity: %v", err)
			}
			if diff := cmp.Diff(tt.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			var ips []string
			for _, ip := range iss.Cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tt.wantIPs, ips); diff != "" {
				t.Errorf("IP SANs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDNS, iss.Cert.DNSNames); diff != "" {
				t.Errorf("DNS SANs (-want +got):\n%s", diff)
			}
			if got, want := iss.Cert.Subject.CommonName, tt.want.CommonName(); got != want {
				t.Errorf("CN = %q, want %q", got, want)
			}
		})
	}
}

// TestIssueRejectsBadNames refuses identities that do not fit a URI path
// segment or a file name.
func TestIssueRejectsBadNames(t *testing.T) {
	ca, err := pki.NewCA("test CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []apipki.Identity{apipki.Node(""), apipki.Node("a/b"), apipki.Node(".."), apipki.Controller("c 1"), {Role: "user", Name: "x"}} {
		if _, err := ca.Issue(pki.IssueRequest{Identity: id, Now: t0}); err == nil {
			t.Errorf("issue %+v: want an error", id)
		}
	}
}

// TestIssueNotAfterCA caps a certificate's validity at the CA's.
func TestIssueNotAfterCA(t *testing.T) {
	ca, err := pki.NewCA("test CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.Issue(pki.IssueRequest{Identity: apipki.Node("n"), Now: t0, Validity: 2 * pki.CAValidity})
	if err != nil {
		t.Fatal(err)
	}
	if !iss.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", iss.Cert.NotAfter, ca.Cert.NotAfter)
	}
}

// TestFiles writes a CA and certificates to a directory (keys 0600), loads
// them back as daemon credentials, and refuses to overwrite the CA.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.Init(dir, time.Now()); err == nil {
		t.Errorf("second Init: want an error (the CA exists)")
	}
	loaded, err := pki.LoadOrInit(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Errorf("LoadOrInit made a new CA instead of loading the existing one")
	}
	f, err := ca.IssueFiles(dir, pki.IssueRequest{Identity: apipki.Node("node1"), Hosts: []string{"127.0.0.1"}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pki.Files{Cert: filepath.Join(dir, "node-node1.pem"), Key: filepath.Join(dir, "node-node1-key.pem")}, f); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for path, want := range map[string]os.FileMode{f.Key: 0o600, f.Cert: 0o644, filepath.Join(dir, pki.CAKeyFile): 0o600, filepath.Join(dir, pki.CACertFile): 0o644} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	creds, err := apipki.LoadCredentials(f.Cert, f.Key, filepath.Join(dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(apipki.Node("node1"), creds.Identity); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	// A certificate from another CA does not load against this bundle.
	otherDir := t.TempDir()
	other, err := pki.Init(otherDir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	of, err := other.IssueFiles(otherDir, pki.IssueRequest{Identity: apipki.Node("node1"), Hosts: []string{net.IPv4(127, 0, 0, 1).String()}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apipki.LoadCredentials(of.Cert, of.Key, filepath.Join(dir, pki.CACertFile)); err == nil {
		t.Errorf("credentials from another CA: want an error")
	}
}
