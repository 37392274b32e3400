// Package pki creates a Fairway cluster CA and issues the certificates of
// controllers, node daemons and administrators (`fairwayd pki init|issue`,
// the dev cluster, tests). The identity scheme and the TLS settings are in
// api/pki; this package is the generation side, which the client binary does
// not link.
//
// A PKI directory holds:
//
//	ca.pem, ca-key.pem                   the CA (ECDSA P-256, 10 years)
//	controller-<id>.pem, -key.pem        a controller's certificate and key
//	node-<name>.pem, -key.pem            a node daemon's
//	admin-<name>.pem, -key.pem           an administrator's client certificate
//
// Keys are written 0600, certificates 0644.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	apipki "github.com/fairway-hpc/fairway/api/pki"
)

// Validity periods.
const (
	// CAValidity is how long a new CA is valid.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultCertValidity is how long an issued certificate is valid unless
	// IssueRequest.Validity says otherwise.
	DefaultCertValidity = 365 * 24 * time.Hour
	// backdate allows for clocks a little behind the issuer's.
	backdate = 5 * time.Minute
)

// File names inside a PKI directory.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

// CA is a certificate authority that can issue certificates.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA creates a self-signed CA named name, valid from now for CAValidity.
func NewCA(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Fairway"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// IssueRequest describes a certificate to issue.
type IssueRequest struct {
	// Identity is who the certificate names (its URI SAN).
	Identity apipki.Identity
	// Hosts are the IP addresses and DNS names the holder serves at (SANs);
	// "host:port" entries are accepted and their port dropped.
	Hosts []string
	// Now is the issue time; Validity how long the certificate is valid
	// (DefaultCertValidity when 0).
	Now      time.Time
	Validity time.Duration
}

// Issued is an issued certificate and its key, PEM-encoded.
type Issued struct {
	CertPEM, KeyPEM []byte
	Cert            *x509.Certificate
}

// Issue issues a certificate for req: server and client authentication,
// signed by the CA. It never outlives the CA.
func (ca *CA) Issue(req IssueRequest) (*Issued, error) {
	if err := req.Identity.Validate(); err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	validity := req.Validity
	if validity <= 0 {
		validity = DefaultCertValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue %s: generate key: %w", req.Identity, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := req.Now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.Identity.CommonName(), Organization: []string{"Fairway"}},
		NotBefore:    req.Now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{req.Identity.URI()},
	}
	for _, h := range req.Hosts {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", req.Identity, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s: parse: %w", req.Identity, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: marshal key: %w", req.Identity, err)
	}
	return &Issued{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		Cert:    cert,
	}, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM is the CA key in PEM.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Init creates a CA in dir (ca.pem, ca-key.pem). It refuses to overwrite an
// existing CA: issued certificates would stop verifying.
func Init(dir string, now time.Time) (*CA, error) {
	if _, err := os.Stat(filepath.Join(dir, CACertFile)); err == nil {
		return nil, fmt.Errorf("init CA: %s already exists; remove it to start a new CA (every issued certificate then needs reissuing)", filepath.Join(dir, CACertFile))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	ca, err := NewCA("Fairway cluster CA", now)
	if err != nil {
		return nil, err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CACertFile), ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	return ca, nil
}

// Load reads the CA of dir (ca.pem and ca-key.pem).
func Load(dir string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("load CA from %s: not an ECDSA CA certificate and key", dir)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadOrInit loads the CA of dir, creating it when dir has none.
func LoadOrInit(dir string, now time.Time) (*CA, error) {
	ca, err := Load(dir)
	if err == nil {
		return ca, nil
	}
	if _, statErr := os.Stat(filepath.Join(dir, CACertFile)); !errors.Is(statErr, fs.ErrNotExist) {
		return nil, err
	}
	return Init(dir, now)
}

// Files are the paths of an issued certificate and its key in a PKI
// directory.
type Files struct{ Cert, Key string }

// FilesFor returns where the certificate of id is written in dir:
// <role>-<name>.pem and <role>-<name>-key.pem.
func FilesFor(dir string, id apipki.Identity) Files {
	base := filepath.Join(dir, string(id.Role)+"-"+id.Name)
	return Files{Cert: base + ".pem", Key: base + "-key.pem"}
}

// IssueFiles issues a certificate for req and writes it and its key into
// dir (FilesFor), replacing earlier ones.
func (ca *CA) IssueFiles(dir string, req IssueRequest) (Files, error) {
	iss, err := ca.Issue(req)
	if err != nil {
		return Files{}, err
	}
	f := FilesFor(dir, req.Identity)
	if err := writeFile(f.Key, iss.KeyPEM, 0o600); err != nil {
		return Files{}, fmt.Errorf("issue %s: %w", req.Identity, err)
	}
	if err := writeFile(f.Cert, iss.CertPEM, 0o644); err != nil {
		return Files{}, fmt.Errorf("issue %s: %w", req.Identity, err)
	}
	return f, nil
}

// writeFile writes data to path atomically (a temporary file renamed over
// it) with the given mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return serial, nil
}
