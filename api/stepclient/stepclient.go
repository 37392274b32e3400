// Package stepclient is srun's client of the node daemons' step servers
// (api.NodeStepRequest, api.StepFrame): it launches a node's tasks of a step
// and streams their output and exit codes back, forwards signals to them,
// and streams srun's standard input to them.
//
// The connection is HTTPS: the node's certificate must verify under the
// cluster CA and name the node (fairway://node/<name>); the host name or
// address dialed is not checked against the certificate, since a node's
// step address is often a bare IP address its certificate does not list.
// Requests carry the caller's credentials (client.Auth: MUNGE or a JWT),
// as with the controller.
package stepclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/pki"
)

// Node is a step server to talk to: the node's name (its certificate's
// identity) and its step address (api.Node.StepAddr, host:port).
type Node struct {
	Name string
	Addr string
}

// Client talks to the step servers of a cluster's nodes.
type Client struct {
	roots *x509.CertPool
	auth  client.Auth
}

// New returns a client trusting the CA certificates in roots and
// authenticating with auth (nil: no credentials).
func New(roots *x509.CertPool, auth client.Auth) *Client {
	if auth == nil {
		auth = client.NoAuth{}
	}
	return &Client{roots: roots, auth: auth}
}

// NewFromCA is New with the CA bundle given as FAIRWAY_CA gives it: a PEM
// file's path or the PEM text; "" means client.DefaultCAFile.
func NewFromCA(ca string, auth client.Auth) (*Client, error) {
	var data []byte
	var err error
	switch {
	case strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN"):
		data = []byte(ca)
	case ca == "":
		if data, err = os.ReadFile(client.DefaultCAFile); err != nil {
			return nil, fmt.Errorf("step servers need the cluster CA ($%s or %s): %w", client.EnvCA, client.DefaultCAFile, err)
		}
	default:
		if data, err = os.ReadFile(ca); err != nil {
			return nil, fmt.Errorf("CA bundle ($%s): %w", client.EnvCA, err)
		}
	}
	pool, err := pki.ParseCAPool(data)
	if err != nil {
		return nil, fmt.Errorf("CA bundle ($%s): %w", client.EnvCA, err)
	}
	return New(pool, auth), nil
}

// tlsConfig verifies that the server is node name under the CA.
func (c *Client) tlsConfig(name string) *tls.Config {
	want := pki.Node(name)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain and the identity are checked in VerifyConnection; the
		// dialed address is not (see the package comment).
		InsecureSkipVerify: true, //nolint:gosec // verified below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("node %s presented no certificate", name)
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("node %s: certificate does not verify under the cluster CA: %w", name, err)
			}
			id, err := pki.IdentityOf(leaf)
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			if id != want {
				return fmt.Errorf("node %s: the step server's certificate names %s, want %s", name, id, want)
			}
			return nil
		},
	}
}

// httpClient is a client for node name's step server.
func (c *Client) httpClient(name string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = c.tlsConfig(name)
	return &http.Client{Transport: tr}
}

// do sends an authenticated request to a node's step server; the caller
// closes the answer's body. Answers other than 2xx become errors.
func (c *Client) do(ctx context.Context, node Node, method, path string, body []byte, stream io.Reader) (*http.Response, error) {
	if node.Addr == "" {
		return nil, fmt.Errorf("node %s: no step server address (the node daemon runs none, or is too old)", node.Name)
	}
	var rd io.Reader = bytes.NewReader(body)
	if stream != nil {
		rd = stream
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+node.Addr+path, rd)
	if err != nil {
		return nil, fmt.Errorf("node %s: build request %s %s: %w", node.Name, method, path, err)
	}
	if stream == nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	authErr := c.auth.Authenticate(ctx, req, body)
	resp, err := c.httpClient(node.Name).Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s (%s): %w", node.Name, node.Addr, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e api.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		msg := e.Error
		if resp.StatusCode == http.StatusUnauthorized && authErr != nil {
			msg += " (" + authErr.Error() + ")"
		}
		return nil, fmt.Errorf("node %s: %s %s: %w", node.Name, method, path, &client.Error{Status: resp.StatusCode, Msg: msg, Field: e.Field})
	}
	return resp, nil
}

// Stream is a node's streamed answer to a launch: one api.StepFrame per
// line until the Done frame.
type Stream struct {
	node string
	body io.ReadCloser
	sc   *bufio.Scanner
}

// MaxFrame bounds one frame's line (64 KiB of output is about 88 KiB of
// JSON).
const MaxFrame = 4 << 20

// Launch asks node to start its tasks of a step (POST /v1/steps) and
// returns the stream of their frames. Cancelling ctx closes the stream;
// the node then kills the tasks.
func (c *Client) Launch(ctx context.Context, node Node, req api.NodeStepRequest) (*Stream, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode step request: %w", err)
	}
	resp, err := c.do(ctx, node, http.MethodPost, "/v1/steps", body, nil)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), MaxFrame)
	return &Stream{node: node.Name, body: resp.Body, sc: sc}, nil
}

// Next returns the next frame; io.EOF after the Done frame. A stream that
// ends without one is an error naming the node.
func (s *Stream) Next() (api.StepFrame, error) {
	for s.sc.Scan() {
		line := bytes.TrimSpace(s.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var f api.StepFrame
		if err := json.Unmarshal(line, &f); err != nil {
			return api.StepFrame{}, fmt.Errorf("node %s: bad frame %.80q: %w", s.node, line, err)
		}
		return f, nil
	}
	if err := s.sc.Err(); err != nil {
		return api.StepFrame{}, fmt.Errorf("node %s: stream broken: %w", s.node, err)
	}
	return api.StepFrame{}, fmt.Errorf("node %s: stream ended before the step's end: %w", s.node, io.ErrUnexpectedEOF)
}

// Close ends the stream (the node kills the tasks it still runs).
func (s *Stream) Close() error { return s.body.Close() }

// stepPath is /v1/steps/{job}.{step}/what.
func stepPath(job api.JobID, step int, what string) string {
	return "/v1/steps/" + job.String() + "." + strconv.Itoa(step) + "/" + what
}

// Signal asks node to send sig (a name such as "INT") to its tasks of a
// step (POST /v1/steps/{job}.{step}/signal).
func (c *Client) Signal(ctx context.Context, node Node, job api.JobID, step int, sig string) error {
	body, err := json.Marshal(api.StepSignal{Signal: sig})
	if err != nil {
		return fmt.Errorf("encode signal: %w", err)
	}
	resp, err := c.do(ctx, node, http.MethodPost, stepPath(job, step, "signal"), body, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Stdin sends r to the standard input of the step's task 0 on node, one
// request per chunk as it is read (POST /v1/steps/{job}.{step}/stdin, each
// authenticated over its bytes), then ?eof=1 when r ends; it stops at the
// first refused chunk or when ctx is cancelled.
func (c *Client) Stdin(ctx context.Context, node Node, job api.JobID, step int, r io.Reader) error {
	if r == nil {
		return errors.New("no standard input to send")
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			resp, perr := c.do(ctx, node, http.MethodPost, stepPath(job, step, "stdin"), append([]byte(nil), buf[:n]...), nil)
			if perr != nil {
				return perr
			}
			resp.Body.Close()
		}
		if errors.Is(err, io.EOF) {
			resp, perr := c.do(ctx, node, http.MethodPost, stepPath(job, step, "stdin")+"?eof=1", nil, nil)
			if perr != nil {
				return perr
			}
			return resp.Body.Close()
		}
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
	}
}
