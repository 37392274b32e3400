package api

import (
	"crypto/sha256"
	"encoding/hex"
)

// Authentication headers. A request carries one way of saying who calls:
// a MUNGE credential (MungeHeader), or a Slurm auth/jwt token
// (SlurmUserTokenHeader, optionally with SlurmUserNameHeader, as slurmrestd
// takes them; or "Authorization: Bearer TOKEN").
const (
	// MungeHeader carries a MUNGE credential (munge(1)'s "MUNGE:...:" text)
	// whose payload is MungePayload of the request.
	MungeHeader = "X-Fairway-Munge"
	// SlurmUserNameHeader names the user a token request acts as
	// (slurmrestd's header); without it, the token's user.
	SlurmUserNameHeader = "X-SLURM-USER-NAME"
	// SlurmUserTokenHeader carries a JWT from `scontrol token`
	// (slurmrestd's header).
	SlurmUserTokenHeader = "X-SLURM-USER-TOKEN"
	// EnvSlurmJWT is the environment variable Slurm's commands take a token
	// from; when set, the client authenticates with it instead of MUNGE.
	EnvSlurmJWT = "SLURM_JWT"
)

// MungePayload is the payload a request's MUNGE credential carries: it binds
// the credential to the request's method, path with query, and body, so a
// credential captured from one request cannot authenticate another one.
func MungePayload(method, requestURI string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("fairway-request-v1\n" + method + "\n" + requestURI + "\n" + hex.EncodeToString(sum[:]))
}

// TokenRequest asks for a JWT (POST /v1/token, `scontrol token`).
type TokenRequest struct {
	// LifespanSecs is how long the token is valid (0: the controller's
	// default, 1800 s as Slurm's).
	LifespanSecs int64 `json:"lifespan,omitempty"`
	// Username is whose token it is (empty: the caller's). Only operators
	// may ask for another user's.
	Username string `json:"username,omitempty"`
}

// TokenResponse is a token issued by POST /v1/token.
type TokenResponse struct {
	Token    string `json:"token"`
	Username string `json:"username"`
	Expires  int64  `json:"expires"` // Unix seconds
}
