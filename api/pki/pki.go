// Package pki holds the identity scheme of Fairway's daemon certificates and
// the TLS settings built on it: who a verified certificate names (a
// controller, a node daemon or an administrator), loading a CA bundle and a
// key pair, and the tls.Config of each connection (controller HTTP API,
// controller-to-controller and raft, node daemon to controller).
//
// A certificate's identity is its one URI SAN:
//
//	fairway://controller/<id>   a controller (raft server ID)
//	fairway://node/<name>       a node daemon acting as node <name>
//	fairway://admin/<name>      an administrator's client certificate
//
// The subject CN repeats it as "<role>:<name>" for people reading the
// certificate; only the URI SAN counts. Creating CAs and issuing
// certificates is in ctld/pki, which the client binary does not link.
package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Scheme is the URI scheme of Fairway identities in certificates.
const Scheme = "fairway"

// Role is the kind of party a certificate identifies.
type Role string

// The roles a certificate can name.
const (
	RoleController Role = "controller"
	RoleNode       Role = "node"
	RoleAdmin      Role = "admin"
)

// Identity is who a certificate names: a role and a name (the controller's
// raft server ID, the node's name, the administrator's user name).
type Identity struct {
	Role Role
	Name string
}

// String is the identity's URI, e.g. fairway://node/gpu01.
func (id Identity) String() string { return id.URI().String() }

// URI is the identity's URI SAN.
func (id Identity) URI() *url.URL {
	return &url.URL{Scheme: Scheme, Host: string(id.Role), Path: "/" + id.Name}
}

// CommonName is the subject CN written into certificates ("node:gpu01").
func (id Identity) CommonName() string { return string(id.Role) + ":" + id.Name }

// Validate checks the role and that the name is usable in a URI path segment
// and a file name.
func (id Identity) Validate() error {
	switch id.Role {
	case RoleController, RoleNode, RoleAdmin:
	default:
		return fmt.Errorf("unknown certificate role %q: want controller, node or admin", id.Role)
	}
	if id.Name == "" || strings.ContainsAny(id.Name, "/\\ \t\n:?#%") || id.Name == "." || id.Name == ".." {
		return fmt.Errorf("invalid %s name %q: must be non-empty, without spaces, '/', ':', '?', '#' or '%%'", id.Role, id.Name)
	}
	return nil
}

// Controller returns a controller identity.
func Controller(id string) Identity { return Identity{Role: RoleController, Name: id} }

// Node returns a node identity.
func Node(name string) Identity { return Identity{Role: RoleNode, Name: name} }

// Admin returns an administrator identity.
func Admin(name string) Identity { return Identity{Role: RoleAdmin, Name: name} }

// ParseURI reads a fairway:// identity URI.
func ParseURI(u *url.URL) (Identity, error) {
	if u.Scheme != Scheme {
		return Identity{}, fmt.Errorf("URI %s is not a %s:// identity", u, Scheme)
	}
	id := Identity{Role: Role(u.Host), Name: strings.TrimPrefix(u.Path, "/")}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("URI %s: %w", u, err)
	}
	return id, nil
}

// IdentityOf returns the identity a certificate names: its one fairway://
// URI SAN. The certificate must already be verified against the CA; this
// only reads it.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range cert.URIs {
		if u.Scheme != Scheme {
			continue
		}
		id, err := ParseURI(u)
		if err != nil {
			return Identity{}, fmt.Errorf("certificate %q: %w", cert.Subject.CommonName, err)
		}
		found = append(found, id)
	}
	switch len(found) {
	case 0:
		return Identity{}, fmt.Errorf("certificate %q names no %s:// identity (URI SAN)", cert.Subject.CommonName, Scheme)
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("certificate %q names %d %s:// identities; want one", cert.Subject.CommonName, len(found), Scheme)
}

// PeerIdentity returns the identity of the verified certificate the peer
// of a TLS connection presented; false when it presented none (or the
// connection is not TLS, or the chain was not verified).
func PeerIdentity(cs *tls.ConnectionState) (Identity, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, false
	}
	id, err := IdentityOf(cs.VerifiedChains[0][0])
	if err != nil {
		return Identity{}, false
	}
	return id, true
}

// ParseCAPool reads PEM CA certificates (a bundle of one or more: during a CA
// rotation the old and the new CA).
func ParseCAPool(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemData; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse CA certificate: %w", err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// LoadCAPool reads a PEM CA bundle file.
func LoadCAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool, err := ParseCAPool(data)
	if err != nil {
		return nil, fmt.Errorf("CA bundle %s: %w", path, err)
	}
	return pool, nil
}

// Credentials are a daemon's TLS credentials: its certificate and key, the
// identity the certificate names, and the CA bundle it trusts.
type Credentials struct {
	Cert     tls.Certificate
	Identity Identity
	CAs      *x509.CertPool
	// CAPEM is the CA bundle as read (the node daemon hands it to jobs).
	CAPEM []byte
}

// LoadCredentials reads a certificate, its key and the CA bundle, checks that
// the certificate is valid now under the CA and reads its identity.
func LoadCredentials(certFile, keyFile, caFile string) (*Credentials, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, errors.New("TLS needs a certificate, its key and the CA bundle (--tls-cert, --tls-key, --tls-ca)")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load key pair %s, %s: %w", certFile, keyFile, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool, err := ParseCAPool(caPEM)
	if err != nil {
		return nil, fmt.Errorf("CA bundle %s: %w", caFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse %s: %w", certFile, err)
		}
	}
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("certificate %s does not verify under the CA bundle %s: %w", certFile, caFile, err)
	}
	id, err := IdentityOf(leaf)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", certFile, err)
	}
	return &Credentials{Cert: pair, Identity: id, CAs: pool, CAPEM: caPEM}, nil
}

// verifyPeerRole returns a VerifyConnection function that requires the peer's
// verified certificate (when it presented one, or always when required) to
// name one of roles.
func verifyPeerRole(required bool, roles ...Role) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 && !required {
			return nil
		}
		id, ok := PeerIdentity(&cs)
		if !ok {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the peer presented no certificate")
			}
			_, err := IdentityOf(cs.PeerCertificates[0])
			return fmt.Errorf("peer certificate: %w", err)
		}
		for _, r := range roles {
			if id.Role == r {
				return nil
			}
		}
		return fmt.Errorf("peer certificate names %s; want a %s identity", id, joinRoles(roles))
	}
}

func joinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// HTTPServerConfig is the controller API's TLS: its certificate; client
// certificates requested but not required (users authenticate otherwise),
// and verified against the CA when presented. It offers HTTP/2 (ALPN "h2",
// then "http/1.1"): a node daemon's concurrent requests share one
// connection, and net/http's Server.Serve speaks HTTP/2 on a TLS listener
// that negotiated it.
func (c *Credentials) HTTPServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		NextProtos:       []string{"h2", "http/1.1"},
		Certificates:     []tls.Certificate{c.Cert},
		ClientAuth:       tls.VerifyClientCertIfGiven,
		ClientCAs:        c.CAs,
		VerifyConnection: verifyPeerRole(false, RoleController, RoleNode, RoleAdmin),
	}
}

// ClientConfig is the TLS of a daemon calling a controller (the node daemon,
// or a controller forwarding to the leader or joining): it presents its
// certificate and requires the server's to verify under the CA, for the
// dialed host, and to name a controller.
func (c *Credentials) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		Certificates:     []tls.Certificate{c.Cert},
		RootCAs:          c.CAs,
		VerifyConnection: verifyPeerRole(true, RoleController),
	}
}

// RaftServerConfig is the raft listener's TLS: client certificates are
// required, must verify under the CA and must name a controller.
func (c *Credentials) RaftServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		Certificates:     []tls.Certificate{c.Cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        c.CAs,
		VerifyConnection: verifyPeerRole(true, RoleController),
	}
}

// ServerCAConfig is the TLS of a client with no certificate of its own (a
// user's command): the server's certificate must verify under pool for the
// dialed host and name a controller.
func ServerCAConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		RootCAs:          pool,
		VerifyConnection: verifyPeerRole(true, RoleController),
	}
}
