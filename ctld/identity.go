package ctld

import "net/http"

// Identity is who is calling a Service method: a user (name, uid, gid) or a
// node daemon acting as a node. Service methods take it as a parameter, so
// that authorization has one place to look.
//
// Today the identity is what the request claims (Verified false): the user
// in the job spec, the node in the URL path. Authentication (MUNGE, JWT,
// node certificates) plugs into Controller.identify and sets Verified.
type Identity struct {
	User string // user name; "" when the request names none
	UID  int
	GID  int
	// Groups are the names of the user's Unix groups and GIDs their IDs
	// (supplementary groups included); authorization matches @group entries
	// of the cluster's role lists against Groups.
	Groups []string
	GIDs   []int
	// Node is the node a node daemon acts as; "" for users.
	Node string
	// Verified is true when the identity was authenticated, false when it is
	// only claimed by the request.
	Verified bool
}

// IsNode reports whether the caller is a node daemon.
func (id Identity) IsNode() bool { return id.Node != "" }

// identify returns the caller's identity for a request: the single place
// where requests are authenticated. For now it trusts the request: a node
// route's {name} is the node calling.
func (c *Controller) identify(r *http.Request) Identity {
	return Identity{Node: r.PathValue("name")}
}
