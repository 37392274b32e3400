package raftstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/fairway-hpc/fairway/api/pki"
)

// tlsStream is a raft.StreamLayer over mutual TLS: the listener requires a
// client certificate that verifies under the cluster CA and names a
// controller (pki.Credentials.RaftServerConfig), and dialing verifies that
// the peer's certificate is valid for the dialed host and names a
// controller. A connection that fails either check is closed before raft
// reads a byte of it.
type tlsStream struct {
	ln        net.Listener // a tls.Listener
	advertise net.Addr
	client    *tls.Config
}

// newTLSStream listens on bind with the raft server TLS settings of creds.
func newTLSStream(bind string, advertise net.Addr, creds *pki.Credentials) (*tlsStream, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", bind, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	return &tlsStream{
		ln:        tls.NewListener(ln, creds.RaftServerConfig()),
		advertise: advertise,
		client:    creds.ClientConfig(),
	}, nil
}

// Accept implements net.Listener. The TLS handshake (and with it the check
// of the client's certificate) runs on the connection's first read, in
// raft's goroutine for that connection, so a slow or hostile peer does not
// hold up the accept loop.
func (s *tlsStream) Accept() (net.Conn, error) { return s.ln.Accept() }

// Close implements net.Listener.
func (s *tlsStream) Close() error { return s.ln.Close() }

// Addr implements net.Listener: the advertised address.
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// Dial implements raft.StreamLayer: a TLS connection to a controller,
// handshake completed within timeout.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialTLS(ctx, s.client, string(address))
}

// dialTLS opens a TLS connection to address with cfg, verifying the server's
// certificate for the address's host, and completes the handshake.
func dialTLS(ctx context.Context, cfg *tls.Config, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", address, err)
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("dial raft peer %s: %w", address, err)
	}
	cfg = cfg.Clone()
	cfg.ServerName = host
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with raft peer %s: %w", address, err)
	}
	return conn, nil
}

// newTransport is the raft transport on cfg.RaftAddr: mutual TLS when
// cfg.TLS is set, else plain TCP (insecure; a warning is logged).
func newTransport(cfg Config, hlog hclog.Logger) (*raft.NetworkTransport, error) {
	advertise, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", cfg.RaftAddr, err)
	}
	if cfg.TLS == nil {
		return raft.NewTCPTransportWithLogger(cfg.RaftAddr, advertise, transportPool, transportTimeout, hlog)
	}
	if cfg.TLS.Identity.Role != pki.RoleController {
		return nil, errors.New("raft TLS: the certificate names " + cfg.TLS.Identity.String() + ", not a controller")
	}
	stream, err := newTLSStream(cfg.RaftAddr, advertise, cfg.TLS)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: transportPool,
		Timeout: transportTimeout,
		Logger:  hlog,
	}), nil
}
