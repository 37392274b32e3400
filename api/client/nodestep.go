package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/pki"
)

// NodeUsage asks a node's step server (node.StepAddr) for the live usage of
// its part of a running step (GET /v1/steps/{job}.{step}/usage; step
// api.StepBatch is the batch script, "{job}.batch"), as sstat does. The
// request carries the client's credentials; over TLS the server's
// certificate must verify under the client's CA bundle and name the node
// (fairway://node/<name>).
func (c *Client) NodeUsage(ctx context.Context, node api.Node, job api.JobID, step int) (*api.Usage, error) {
	if c.err != nil {
		return nil, c.err
	}
	if node.StepAddr == "" {
		return nil, fmt.Errorf("node %s has no step server address (its daemon registered none)", node.Name)
	}
	id := strconv.Itoa(step)
	if step == api.StepBatch {
		id = "batch"
	}
	path := "/v1/steps/" + job.String() + "." + id + "/usage"
	hc := &http.Client{}
	scheme := "http://"
	if tr, ok := c.http.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		scheme = "https://"
		cfg := tr.TLSClientConfig.Clone()
		want := pki.Node(node.Name)
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			got, ok := pki.PeerIdentity(&cs)
			if !ok || got != want {
				return fmt.Errorf("the step server of node %s presented %v; want the certificate of %s", node.Name, got, want)
			}
			return nil
		}
		ntr := tr.Clone()
		ntr.TLSClientConfig = cfg
		hc.Transport = ntr
	}
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+node.StepAddr+path, nil)
	if err != nil {
		return nil, fmt.Errorf("node %s: build request: %w", node.Name, err)
	}
	authErr := c.auth.Authenticate(ctx, req, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node %s step server %s: %w", node.Name, node.StepAddr, err)
	}
	var u api.Usage
	if _, err := decode(resp, &u); err != nil {
		if authErr != nil {
			return nil, fmt.Errorf("node %s: %w (%v)", node.Name, err, authErr)
		}
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	return &u, nil
}
