package ctld

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/fairway-hpc/fairway/api/pki"
)

// Authentication methods (Identity.Method).
const (
	// MethodMunge: a MUNGE credential decoded by the controller's munged.
	MethodMunge = "munge"
	// MethodJWT: a Slurm auth/jwt token signed with the cluster's key.
	MethodJWT = "jwt"
	// MethodCert: a TLS client certificate under the cluster CA (node
	// daemons, controllers, administrators).
	MethodCert = "cert"
	// MethodInsecure: nothing was verified; the controller runs with
	// --insecure-no-auth and trusts what the request claims.
	MethodInsecure = "insecure"
)

// Identity is who is calling a Service method: a user (name, uid, gid,
// groups), a node daemon acting as a node, a controller, or an
// administrator holding an admin certificate. Service methods take it as a
// parameter, so that authorization has one place to look.
//
// Controller.identify establishes it from the request's credentials
// (Verified true), or, on a controller run with --insecure-no-auth and a
// request without credentials, from what the request claims (Verified
// false, Method "insecure").
type Identity struct {
	User   string   // user name; "" when unknown (insecure requests, daemons)
	UID    int      // the user's uid
	GID    int      // the primary gid: the credential's (munge), the user's (jwt)
	Groups []string // group names (getgrouplist: primary and supplementary), from the controller's user database
	GIDs   []int    // group IDs, in the order of Groups
	// Node is the node a node daemon acts as; "" for others.
	Node string
	// Controller is the ID of a controller calling with its certificate (a
	// joining controller); "" for others. A controller forwarding a request
	// is not the caller: the original caller is.
	Controller string
	// Admin is the administrator named by an admin client certificate; ""
	// for others.
	Admin string
	// Method is how the identity was established (MethodMunge, ...).
	Method string
	// Verified is true when the identity was authenticated, false when it is
	// only claimed by the request.
	Verified bool
}

// IsNode reports whether the caller is a node daemon.
func (id Identity) IsNode() bool { return id.Node != "" }

// isOperator reports whether the caller may act for other users (get their
// tokens, act as another user named in X-SLURM-USER-NAME): an authenticated
// root (uid 0) or an admin certificate.
func isOperator(id Identity) bool {
	return id.Verified && (id.UID == 0 && id.User != "" || id.Admin != "")
}

// Headers a follower sets when it forwards a write to the leader (see
// forward). The leader trusts attestedHeader only on a connection whose
// client certificate names a controller, and only with forwardedHeader set.
const (
	// forwardedHeader marks a request a follower forwarded to the leader, so
	// that a request is forwarded at most once; its value is the follower's
	// ID.
	forwardedHeader = "X-Fairway-Forwarded-By"
	// attestedHeader carries the identity the follower authenticated from
	// the original caller's client certificate (a fairway:// URI, e.g.
	// fairway://node/gpu01); absent when the caller presented none.
	attestedHeader = "X-Fairway-Attested-Identity"
)

// identify returns the caller's identity for a request: the single place
// where requests are authenticated. In order:
//
//  1. a TLS client certificate under the cluster CA (identifyCert: node
//     daemons, controllers, administrators), or the identity a follower
//     attests for a forwarded request;
//  2. a JWT: X-SLURM-USER-TOKEN (with X-SLURM-USER-NAME) or
//     "Authorization: Bearer";
//  3. a MUNGE credential (X-Fairway-Munge) bound to the request;
//  4. none: KindUnauthenticated, unless the controller runs with
//     --insecure-no-auth, where the identity is what the request claims.
//
// A request that presents a credential is always verified, insecure mode or
// not. Without TLS (--insecure-plaintext) a node route's {name} is taken as
// the calling node for insecure callers and operators. identify must run
// before the handler reads the body: a MUNGE credential covers it.
func (c *Controller) identify(r *http.Request) (Identity, error) {
	if id, ok := c.identifyCert(r); ok {
		id.Method = MethodCert
		return id, nil
	}
	id, err := c.authenticate(r)
	if err != nil {
		c.log.Info("request refused: not authenticated", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return Identity{}, err
	}
	if name := r.PathValue("name"); name != "" && id.Node == "" && c.cfg.TLS == nil && (id.Method == MethodInsecure || isOperator(id)) {
		id.Node = name
	}
	return id, nil
}

// authenticate establishes a user's identity from the request's
// credentials: a token, else a MUNGE credential.
func (c *Controller) authenticate(r *http.Request) (Identity, error) {
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

// identifyCert returns the daemon identity a request authenticates with
// its TLS client certificate, verified against the cluster CA by the TLS
// handshake: a node, a controller or an administrator. A request a follower
// forwarded over a connection with a controller certificate carries the
// original caller's identity in attestedHeader instead: the follower's own
// identity is never the caller's, and with no attested identity the caller
// presented no certificate (false). attestedHeader from any other caller is
// ignored.
func (c *Controller) identifyCert(r *http.Request) (Identity, bool) {
	peer, ok := pki.PeerIdentity(r.TLS)
	if !ok {
		return Identity{}, false
	}
	if peer.Role == pki.RoleController && r.Header.Get(forwardedHeader) != "" {
		att := r.Header.Get(attestedHeader)
		if att == "" {
			return Identity{}, false
		}
		id, err := parseAttested(att)
		if err != nil {
			c.log.Warn("ignoring an invalid attested identity", "from", peer.String(), "value", att, "err", err)
			return Identity{}, false
		}
		return certIdentity(id), true
	}
	return certIdentity(peer), true
}

// certIdentity maps a certificate identity onto a caller Identity.
func certIdentity(id pki.Identity) Identity {
	switch id.Role {
	case pki.RoleNode:
		return Identity{Node: id.Name, Verified: true}
	case pki.RoleController:
		return Identity{Controller: id.Name, Verified: true}
	case pki.RoleAdmin:
		return Identity{Admin: id.Name, Verified: true}
	}
	return Identity{}
}

// attestedIdentity is the value of attestedHeader for a caller, or "" when
// the caller is not a daemon identified by its certificate.
func attestedIdentity(id Identity) string {
	if !id.Verified {
		return ""
	}
	switch {
	case id.Node != "":
		return pki.Node(id.Node).String()
	case id.Controller != "":
		return pki.Controller(id.Controller).String()
	case id.Admin != "":
		return pki.Admin(id.Admin).String()
	}
	return ""
}

// parseAttested reads an attestedHeader value.
func parseAttested(s string) (pki.Identity, error) {
	u, err := url.Parse(s)
	if err != nil {
		return pki.Identity{}, fmt.Errorf("attested identity: %w", err)
	}
	return pki.ParseURI(u)
}
