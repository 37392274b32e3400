package ctld

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Authorization follows Slurm's model. Roles come from the replicated
// cluster configuration:
//
//   - administrators (ClusterConfig.Administrators; uid 0 always) may do
//     anything: change the configuration and nodes' state, act on any job;
//   - operators (ClusterConfig.Operators) may read and act on every job and
//     set a negative nice;
//   - coordinators of an account (Account.Coordinators) may read and act on
//     the jobs of that account and of its sub-accounts;
//   - every user may list jobs (without scripts, environments and
//     arguments), submit under the accounts they are associated with (any
//     account that lists no users), and read and act on their own jobs.
//
// Role lists hold user names and @group entries (members of a Unix group).
// The functions below are pure: they take the caller, the configuration and
// the object, and the Service calls them before it proposes anything, so a
// denied request changes nothing.

// Role is a caller's level, Slurm's AdminLevel.
type Role int

// The roles, in increasing order of privilege.
const (
	// RoleUser is every authenticated user.
	RoleUser Role = iota
	// RoleOperator may read and act on every job.
	RoleOperator
	// RoleAdministrator may do anything.
	RoleAdministrator
)

// String implements fmt.Stringer.
func (r Role) String() string {
	switch r {
	case RoleOperator:
		return "operator"
	case RoleAdministrator:
		return "administrator"
	}
	return "user"
}

// JobAction is something a caller does to an existing job.
type JobAction string

// The job actions that need the job's owner, a coordinator of its account,
// an operator or an administrator.
const (
	ActionRead     JobAction = "read"      // see its script, environment and arguments
	ActionCancel   JobAction = "cancel"    // scancel
	ActionSignal   JobAction = "signal"    // scancel --signal
	ActionHold     JobAction = "hold"      // scontrol hold
	ActionRelease  JobAction = "release"   // scontrol release
	ActionRequeue  JobAction = "requeue"   // scontrol requeue
	ActionEndGrace JobAction = "end-grace" // end the grace time of a job being stopped (older fairway checkpoint done)
	ActionUpdate   JobAction = "update"    // scontrol update job
	// ActionCheckpoint is fairway checkpoint done: record a checkpoint of
	// the running job, and end its grace time when it is being stopped.
	ActionCheckpoint JobAction = "checkpoint"
)

// anonymous reports whether the caller is unidentified: not authenticated,
// naming no user, not a node. That is every request until authentication is
// configured in Controller.identify; such callers are not restricted (they
// act as an administrator), which keeps clusters without authentication
// working as before. Once identify authenticates, requests carry a user.
func anonymous(id Identity) bool {
	return !id.Verified && id.User == "" && !id.IsNode()
}

// inRoleList reports whether the caller is named by a list of user names and
// @group entries.
func inRoleList(list []string, id Identity) bool {
	for _, e := range list {
		if g, ok := strings.CutPrefix(e, "@"); ok {
			if slices.Contains(id.Groups, g) {
				return true
			}
		} else if id.User != "" && e == id.User {
			return true
		}
	}
	return false
}

// roleOf is the caller's role under the configuration: uid 0 (root) and
// anonymous callers are administrators. A node daemon is a plain user
// here; node routes check the node itself.
func roleOf(id Identity, cfg *api.ClusterConfig) Role {
	switch {
	case id.IsNode():
		return RoleUser
	case anonymous(id), id.UID == 0 && (id.Verified || id.User == "root"), inRoleList(cfg.Administrators, id):
		return RoleAdministrator
	case inRoleList(cfg.Operators, id):
		return RoleOperator
	}
	return RoleUser
}

// accountChain returns the account and its ancestors, nearest first (root
// last), as far as the configuration knows them.
func accountChain(cfg *api.ClusterConfig, account string) []*api.Account {
	var chain []*api.Account
	for name := account; name != "" && name != api.RootAccount && len(chain) <= len(cfg.Accounts); {
		i := slices.IndexFunc(cfg.Accounts, func(a api.Account) bool { return a.Name == name })
		if i < 0 {
			break
		}
		chain = append(chain, &cfg.Accounts[i])
		name = cfg.Accounts[i].Parent
	}
	return chain
}

// coordinates reports whether the caller coordinates the account or one of
// its ancestors.
func coordinates(id Identity, cfg *api.ClusterConfig, account string) bool {
	return slices.ContainsFunc(accountChain(cfg, account), func(a *api.Account) bool { return inRoleList(a.Coordinators, id) })
}

// owns reports whether the caller is the job's owner (same user name).
func owns(id Identity, spec *api.JobSpec) bool {
	return !id.IsNode() && id.User != "" && id.User == spec.User
}

// who names the caller in messages.
func who(id Identity) string {
	switch {
	case id.IsNode():
		return "node " + id.Node
	case id.User != "":
		return "user " + id.User
	}
	return fmt.Sprintf("uid %d", id.UID)
}

// authorizeJob allows an action on a job to its owner, a coordinator of its
// account (or an ancestor account), an operator or an administrator; others
// get a KindForbidden error saying so.
func authorizeJob(id Identity, cfg *api.ClusterConfig, action JobAction, j *api.Job) *Error {
	if owns(id, &j.Spec) || roleOf(id, cfg) >= RoleOperator || coordinates(id, cfg, j.Spec.Account) {
		return nil
	}
	verb := string(action)
	if action == ActionRead {
		verb = "read the script and environment of"
	}
	return newError(KindForbidden, "%s may not %s job %d of user %s: only its owner, a coordinator of account %s, an operator or an administrator may",
		who(id), verb, j.ID, j.Spec.User, j.Spec.Account)
}

// authorizeAdmin allows what only administrators may do (what: "change the
// cluster configuration").
func authorizeAdmin(id Identity, cfg *api.ClusterConfig, what string) *Error {
	if roleOf(id, cfg) >= RoleAdministrator {
		return nil
	}
	return newError(KindForbidden, "%s may not %s: only an administrator may", who(id), what)
}

// authorizeSubmit checks a prepared spec (account defaulted) against the
// caller: an unprivileged caller submits only as itself (a uid 0 job only
// for root), under an account that lists it as a user (or lists no users),
// and without a negative nice.
func authorizeSubmit(id Identity, cfg *api.ClusterConfig, spec *api.JobSpec) *Error {
	role := roleOf(id, cfg)
	if role >= RoleAdministrator {
		return nil
	}
	if spec.UID == 0 {
		return newError(KindForbidden, "%s may not submit a job to run as root (uid 0): only root may", who(id))
	}
	if id.User != "" && spec.User != id.User {
		return newError(KindForbidden, "%s may not submit a job as user %s: jobs run as their submitter", who(id), spec.User)
	}
	if chain := accountChain(cfg, spec.Account); len(chain) > 0 {
		a := chain[0]
		if len(a.Users) > 0 && !slices.ContainsFunc(a.Users, func(u api.AccountUser) bool { return u.Name == spec.User }) {
			return newError(KindForbidden, "user %s may not submit under account %s: the user is not associated with it (Invalid account or account/partition combination specified)", spec.User, spec.Account)
		}
	}
	if spec.Nice < 0 && role < RoleOperator {
		return newError(KindForbidden, "%s may not set a negative nice (%d): only an operator or an administrator may", who(id), spec.Nice)
	}
	return nil
}

// redact returns a copy of a job without its script, environment,
// arguments and its steps' commands: what job lists carry, and what a
// caller who may not read the job gets.
func redact(j *api.Job) *api.Job {
	c := *j
	c.Spec.Script, c.Spec.Env, c.Spec.Args = "", nil, nil
	if slices.ContainsFunc(j.Runs, func(r api.JobRun) bool { return len(r.Steps) > 0 }) {
		c.Runs = slices.Clone(j.Runs)
		for i := range c.Runs {
			if len(c.Runs[i].Steps) == 0 {
				continue
			}
			c.Runs[i].Steps = slices.Clone(c.Runs[i].Steps)
			for k := range c.Runs[i].Steps {
				c.Runs[i].Steps[k].Command = nil
			}
		}
	}
	return &c
}

// authorizeJobUpdate checks scontrol update of a job beyond authorizeJob
// (the caller may act on the job at all), with Slurm's rules: only an
// operator or an administrator may set a priority or raise a time limit
// (current is the job's limit now, next the updated spec's); the updated
// spec must pass authorizeSubmit as a new submission would (the caller
// associated with a new account, no negative nice for a user).
func authorizeJobUpdate(id Identity, cfg *api.ClusterConfig, j *api.Job, u *api.JobUpdate, next *api.JobSpec, current int64) *Error {
	if roleOf(id, cfg) >= RoleOperator {
		return nil
	}
	switch {
	case u.Priority != nil:
		return newError(KindForbidden, "Access/permission denied: %s may not set the priority of job %d: only an operator or an administrator may", who(id), j.ID)
	case (u.TimeLimitSecs != nil || u.TimeLimitDeltaSecs != nil) && next.TimeLimitSecs > current:
		return newError(KindForbidden, "Access/permission denied: %s may not raise the time limit of job %d from %s to %s: users may only lower it; only an operator or an administrator may raise it",
			who(id), j.ID, limitText(current), limitText(next.TimeLimitSecs))
	}
	if u.Account != nil || u.Nice != nil {
		// Act as the job's owner: a coordinator moves the job within what
		// its owner may use.
		owner := Identity{User: j.Spec.User, UID: j.Spec.UID, Verified: true}
		if err := authorizeSubmit(owner, cfg, next); err != nil {
			if next.Nice < 0 {
				return newError(KindForbidden, "Access/permission denied: %s may not set a negative nice (%d): only an operator or an administrator may", who(id), next.Nice)
			}
			return err
		}
	}
	return nil
}

// authorizeOperator allows what operators and administrators may do
// (what: "change the state of nodes").
func authorizeOperator(id Identity, cfg *api.ClusterConfig, what string) *Error {
	if roleOf(id, cfg) >= RoleOperator {
		return nil
	}
	return newError(KindForbidden, "Access/permission denied: %s may not %s: only an operator or an administrator may", who(id), what)
}

// limitText is a time limit as scontrol prints it.
func limitText(secs int64) string {
	if api.Unlimited(secs) {
		return "UNLIMITED"
	}
	return api.FormatDuration(secs)
}
