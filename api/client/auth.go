package client

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
)

// Auth adds the caller's credentials to a request before it is sent. A
// request tried on several controllers is authenticated once per try (a
// MUNGE credential decodes once).
type Auth interface {
	// Authenticate sets req's authentication headers; body is the request
	// body (nil when none). An error is kept and shown with a 401 answer:
	// the request is still sent (a controller run with --insecure-no-auth
	// needs no credential).
	Authenticate(ctx context.Context, req *http.Request, body []byte) error
}

// MungeAuth authenticates requests with a MUNGE credential from the local
// munged, bound to the request (api.MungePayload).
type MungeAuth struct {
	Munge munge.Client
}

// Authenticate implements Auth.
func (a MungeAuth) Authenticate(ctx context.Context, req *http.Request, body []byte) error {
	cred, err := a.Munge.Encode(ctx, api.MungePayload(req.Method, req.URL.RequestURI(), body), munge.EncodeOptions{})
	if err != nil {
		return fmt.Errorf("no MUNGE credential: %w", err)
	}
	req.Header.Set(api.MungeHeader, cred)
	return nil
}

// TokenAuth authenticates requests with a Slurm auth/jwt token
// (`scontrol token`), sent in slurmrestd's headers.
type TokenAuth struct {
	Token string
	// User, when set, is sent as X-SLURM-USER-NAME; the controller then
	// checks it against the token's user.
	User string
}

// Authenticate implements Auth.
func (a TokenAuth) Authenticate(_ context.Context, req *http.Request, _ []byte) error {
	req.Header.Set(api.SlurmUserTokenHeader, a.Token)
	if a.User != "" {
		req.Header.Set(api.SlurmUserNameHeader, a.User)
	}
	return nil
}

// NoAuth sends requests without credentials (controllers run with
// --insecure-no-auth).
type NoAuth struct{}

// Authenticate implements Auth.
func (NoAuth) Authenticate(context.Context, *http.Request, []byte) error { return nil }

// DefaultAuth is what New uses: the token in $SLURM_JWT when set (as
// Slurm's commands do), else MUNGE through $FAIRWAY_MUNGE_SOCKET or
// munge.DefaultSocket.
func DefaultAuth() Auth {
	if tok := os.Getenv(api.EnvSlurmJWT); tok != "" {
		return TokenAuth{Token: tok}
	}
	return MungeAuth{Munge: munge.FromEnv()}
}

// WithAuth makes the client authenticate with a and returns the client.
func (c *Client) WithAuth(a Auth) *Client {
	c.auth = a
	return c
}

// WithMungeSocket makes the client take MUNGE credentials from the munged
// at socket and returns the client.
func (c *Client) WithMungeSocket(socket string) *Client {
	return c.WithAuth(MungeAuth{Munge: munge.Client{Socket: socket}})
}

// Token asks the controller for a JWT (`scontrol token`): for the caller
// when user is empty; lifespan 0 is the controller's default.
func (c *Client) Token(ctx context.Context, lifespan time.Duration, user string) (*api.TokenResponse, error) {
	var resp api.TokenResponse
	req := api.TokenRequest{LifespanSecs: int64(lifespan / time.Second), Username: user}
	if _, err := c.do(ctx, http.MethodPost, "/v1/token", req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Auth returns how the client authenticates its requests (srun uses the
// same credentials with the nodes' step servers).
func (c *Client) Auth() Auth { return c.auth }
