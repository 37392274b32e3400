package ctld

import (
	"net/http"
)

// Authentication methods (Identity.Method).
const (
	// MethodMunge: a MUNGE credential decoded by the controller's munged.
	MethodMunge = "munge"
	// MethodJWT: a Slurm auth/jwt token signed with the cluster's key.
	MethodJWT = "jwt"
	// MethodCert: a TLS client certificate under the cluster CA (node
	// daemons and controllers).
	MethodCert = "cert"
	// MethodInsecure: nothing was verified; the controller runs with
	// --insecure-no-auth and trusts what the request claims.
	MethodInsecure = "insecure"
)

// Identity is who is calling a Service method: a user (name, uid, gid,
// groups) or a node daemon acting as a node. Service methods take it as a
// parameter, so that authorization has one place to look.
//
// Controller.identify establishes it from the request's credentials
// (Verified true), or, on a controller run with --insecure-no-auth and a
// request without credentials, from what the request claims (Verified
// false, Method "insecure").
type Identity struct {
	User   string   // user name; "" when unknown (insecure requests)
	UID    int      // the user's uid
	GID    int      // the primary gid: the credential's (munge), the user's (jwt)
	Groups []string // group names (getgrouplist: primary and supplementary), from the controller's user database
	GIDs   []int    // group IDs, in the order of Groups
	// Node is the node a node daemon acts as; "" for users.
	Node string
	// Method is how the identity was established (MethodMunge, ...).
	Method string
	// Verified is true when the identity was authenticated, false when it is
	// only claimed by the request.
	Verified bool
}

// IsNode reports whether the caller is a node daemon.
func (id Identity) IsNode() bool { return id.Node != "" }

// isOperator reports whether the caller may act for other users (get their
// tokens, act as any node). For now that is an authenticated root (uid 0).
//
// TODO(authorization): replace with the configured operators and
// administrators (Slurm's AdminLevel) once the roles land in the cluster
// configuration.
func isOperator(id Identity) bool {
	return id.Verified && id.UID == 0
}

// identify returns the caller's identity for a request: the single place
// where requests are authenticated. In order:
//
//  1. a TLS client certificate (node daemons, controllers);
//  2. a JWT: X-SLURM-USER-TOKEN (with X-SLURM-USER-NAME) or
//     "Authorization: Bearer";
//  3. a MUNGE credential (X-Fairway-Munge) bound to the request;
//  4. none: KindUnauthenticated, unless the controller runs with
//     --insecure-no-auth, where the identity is what the request claims.
//
// A request that presents a credential is always verified, insecure mode or
// not. On node routes ({name}), an operator or an insecure caller acts as
// the node named in the path. identify must run before the handler reads the
// body: a MUNGE credential covers it.
func (c *Controller) identify(r *http.Request) (Identity, error) {
	id, err := c.authenticate(r)
	if err != nil {
		c.log.Info("request refused: not authenticated", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return Identity{}, err
	}
	if name := r.PathValue("name"); name != "" && id.Node == "" && (id.Method == MethodInsecure || isOperator(id)) {
		id.Node = name
	}
	return id, nil
}

// authenticate establishes the identity from the request's credentials.
func (c *Controller) authenticate(r *http.Request) (Identity, error) {
	// 1. TLS client certificate: the node TLS work plugs in here, setting
	// Method MethodCert and Node from r.TLS.PeerCertificates[0].
	if tok := requestToken(r); tok != "" {
		return c.auth.fromToken(r, tok)
	}
	if cred := r.Header.Get(mungeHeader); cred != "" {
		return c.auth.fromMunge(r, cred)
	}
	if c.auth.insecure {
		return Identity{Method: MethodInsecure}, nil
	}
	return Identity{}, newError(KindUnauthenticated,
		"not authenticated: the request has no credentials (a MUNGE credential in %s, or a token in %s or Authorization: Bearer); is munged running where the command runs?",
		mungeHeader, slurmTokenHeader)
}
