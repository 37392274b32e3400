package ctld

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// Token issues a Slurm auth/jwt token (`scontrol token`): for the caller,
// or, for an operator, for the user the request names. Tokens are issued to
// callers authenticated otherwise than by a token (MUNGE, certificate), so a
// token cannot renew itself.
func (s *Service) Token(ctx context.Context, caller Identity, req api.TokenRequest) (api.TokenResponse, error) {
	if s.auth == nil || s.auth.jwtKey == nil {
		return api.TokenResponse{}, newError(KindConflict, "tokens are not enabled: controller %s runs without a JWT key (--jwt-key)", s.id)
	}
	if !caller.Verified {
		return api.TokenResponse{}, newError(KindUnauthenticated, "tokens are issued to authenticated callers only: the request has no credentials")
	}
	if caller.Method == MethodJWT {
		return api.TokenResponse{}, newError(KindForbidden, "a token cannot be used to get another token: authenticate with MUNGE (unset SLURM_JWT)")
	}
	if req.LifespanSecs < 0 {
		return api.TokenResponse{}, invalid("lifespan", "invalid lifespan %d: must be a positive number of seconds", req.LifespanSecs)
	}
	lifespan := DefaultTokenLifespan
	if req.LifespanSecs > 0 {
		lifespan = time.Duration(req.LifespanSecs) * time.Second
	}
	user := caller.User
	if req.Username != "" && req.Username != caller.User {
		if !isOperator(caller) {
			return api.TokenResponse{}, newError(KindForbidden, "only operators may get a token for another user: you are %s, asking for %s", caller.User, req.Username)
		}
		if _, err := s.auth.users.byName(req.Username); err != nil {
			return api.TokenResponse{}, &Error{Kind: KindInvalid, Field: "username", Msg: "unknown user " + strconv.Quote(req.Username), Err: err}
		}
		user = req.Username
	}
	tok, exp, err := s.auth.issueToken(user, lifespan)
	if err != nil {
		return api.TokenResponse{}, &Error{Kind: KindInternal, Msg: err.Error(), Err: err}
	}
	s.log.Info("token issued", "user", user, "by", caller.User, "by_uid", caller.UID, "method", caller.Method, "expires", exp)
	return api.TokenResponse{Token: tok, Username: user, Expires: exp.Unix()}, nil
}

// submitAs makes a spec the caller's: a verified caller's user, uid, gid and
// groups replace the spec's claims. A spec that claims another user or uid,
// or a gid the caller is not a member of, is refused (KindForbidden) rather
// than rewritten, so that a forged body is visible. An unverified caller
// (--insecure-no-auth) keeps the spec's claims, or gets the caller's user
// when the spec names none.
func submitAs(caller Identity, spec *api.JobSpec) *Error {
	if !caller.Verified {
		if spec.User == "" && caller.User != "" {
			spec.User, spec.UID, spec.GID = caller.User, caller.UID, caller.GID
		}
		return nil
	}
	claims := spec.User != "" || spec.UID != 0
	if claims && spec.UID != caller.UID {
		return newError(KindForbidden, "the job claims uid %d but you are %s (uid %d): a job runs as its submitter", spec.UID, caller.User, caller.UID)
	}
	if spec.User != "" && spec.User != caller.User && spec.User != strconv.Itoa(caller.UID) {
		return newError(KindForbidden, "the job claims user %s but you are %s (uid %d): a job runs as its submitter", spec.User, caller.User, caller.UID)
	}
	gid := caller.GID
	if claims || spec.GID != 0 {
		if spec.GID != caller.GID && !slices.Contains(caller.GIDs, spec.GID) {
			return newError(KindForbidden, "the job claims gid %d, which is not one of %s's groups", spec.GID, caller.User)
		}
		gid = spec.GID
	}
	spec.User, spec.UID, spec.GID = caller.User, caller.UID, gid
	spec.GIDs = slices.Clone(caller.GIDs)
	return nil
}
