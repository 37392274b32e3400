package ctld

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/fairway-hpc/fairway/api/pki"
)

// Identity is who is calling a Service method: a user (name, uid, gid), a
// node daemon acting as a node, a controller, or an administrator. Service
// methods take it as a parameter, so that authorization has one place to
// look.
//
// Users are, on this branch, what the request claims (Verified false): the
// user in the job spec. Daemons are authenticated by their certificate when
// the controller serves TLS (identifyCert, Verified true); without TLS
// (--insecure-plaintext) a node route's {name} is trusted as the node.
type Identity struct {
	User string // user name; "" when the request names none
	UID  int
	GID  int
	// Node is the node a node daemon acts as; "" for others.
	Node string
	// Controller is the ID of a controller calling with its certificate (a
	// joining controller); "" for others. A controller forwarding a request
	// is not the caller: the original caller is.
	Controller string
	// Admin is the administrator named by an admin client certificate; ""
	// for others.
	Admin string
	// Verified is true when the identity was authenticated, false when it is
	// only claimed by the request.
	Verified bool
}

// IsNode reports whether the caller is a node daemon.
func (id Identity) IsNode() bool { return id.Node != "" }

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
// where requests are authenticated. A verified daemon certificate
// (identifyCert) comes first; without one the caller is a user, whose
// credentials are read by the user authentication beside identifyCert (on
// this branch: what the request claims). Without TLS a node route's {name}
// is taken as the calling node, as the insecure mode always did.
func (c *Controller) identify(r *http.Request) Identity {
	if id, ok := c.identifyCert(r); ok {
		return id
	}
	if c.cfg.TLS == nil {
		return Identity{Node: r.PathValue("name")}
	}
	return Identity{}
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
		return identityOf(id), true
	}
	return identityOf(peer), true
}

// identityOf maps a certificate identity onto a caller Identity.
func identityOf(id pki.Identity) Identity {
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
