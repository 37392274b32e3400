package ctld

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
)

// The authentication headers (see package api).
const (
	mungeHeader      = api.MungeHeader
	slurmTokenHeader = api.SlurmUserTokenHeader
	slurmUserHeader  = api.SlurmUserNameHeader
)

// Token settings.
const (
	// DefaultTokenLifespan is the lifespan of a token whose request names
	// none (Slurm's `scontrol token` default).
	DefaultTokenLifespan = 1800 * time.Second
	// minJWTKeyBytes is the shortest HS256 key accepted (Slurm's docs make
	// a 32-byte key).
	minJWTKeyBytes = 32
	// mungeDecodeTimeout bounds one decode by the controller's munged.
	mungeDecodeTimeout = 5 * time.Second
)

// account is a user as the controller's user database knows it.
type account struct {
	User   string
	UID    int
	GID    int // primary group
	Groups []string
	GIDs   []int
}

// userDB looks users up; the controller's is the host's (os/user), tests may
// pass another.
type userDB interface {
	byUID(uid int) (account, error)
	byName(name string) (account, error)
}

// hostUsers is the host's user database (NSS through cgo's os/user).
type hostUsers struct{}

func (hostUsers) byUID(uid int) (account, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return account{}, fmt.Errorf("look up uid %d: %w", uid, err)
	}
	return accountOf(u)
}

func (hostUsers) byName(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	return accountOf(u)
}

// accountOf fills an account with the user's groups (getgrouplist: the
// primary group and the supplementary ones).
func accountOf(u *user.User) (account, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return account{}, fmt.Errorf("user %s: non-numeric uid or gid: %w", u.Username, err)
	}
	a := account{User: u.Username, UID: uid, GID: gid}
	ids, err := u.GroupIds()
	if err != nil {
		return account{}, fmt.Errorf("groups of user %s: %w", u.Username, err)
	}
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		name := s
		if grp, err := user.LookupGroupId(s); err == nil {
			name = grp.Name
		}
		a.GIDs = append(a.GIDs, g)
		a.Groups = append(a.Groups, name)
	}
	return a, nil
}

// authenticator verifies requests' credentials: MUNGE through the
// controller's munged, JWTs with the cluster's key.
type authenticator struct {
	insecure bool
	munge    munge.Client
	jwtKey   []byte // nil: tokens are not accepted or issued
	tokens   *tokenCache
	users    userDB
	now      func() time.Time
	log      *slog.Logger
}

// newAuthenticator reads the JWT key and sets up what cfg asks for.
func newAuthenticator(cfg Config, log *slog.Logger) (*authenticator, error) {
	a := &authenticator{
		insecure: cfg.InsecureNoAuth,
		munge:    munge.Client{Socket: cfg.MungeSocket},
		users:    newCachedUsers(hostUsers{}, time.Now),
		tokens:   newTokenCache(),
		now:      cfg.Clock,
		log:      log,
	}
	if cfg.JWTKeyFile != "" {
		key, err := LoadJWTKey(cfg.JWTKeyFile)
		if err != nil {
			return nil, err
		}
		a.jwtKey = key
	}
	socket := cmp.Or(cfg.MungeSocket, munge.DefaultSocket)
	if a.insecure {
		log.Warn("INSECURE: --insecure-no-auth: requests without credentials are trusted for who they claim to be; never run a shared cluster like this")
	} else if err := a.probeMunge(); err != nil {
		// Not fatal: munged may start after the controller; until it
		// answers, MUNGE-authenticated requests get 503.
		log.Warn("munged does not answer: MUNGE credentials cannot be verified until it does", "munge_socket", socket, "err", err)
	}
	log.Info("authentication", "munge_socket", socket, "jwt", a.jwtKey != nil, "insecure_no_auth", a.insecure)
	return a, nil
}

// probeMunge checks that the controller's munged answers.
func (a *authenticator) probeMunge() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := a.munge.Encode(ctx, nil, munge.EncodeOptions{})
	return err
}

// LoadJWTKey reads the cluster's HS256 key (Slurm's jwt_hs256.key: raw
// bytes, at least 32 of them).
func LoadJWTKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JWT key: %w", err)
	}
	if len(key) < minJWTKeyBytes {
		return nil, fmt.Errorf("JWT key %s has %d bytes, want at least %d (dd if=/dev/random of=%s bs=32 count=1)", path, len(key), minJWTKeyBytes, path)
	}
	return key, nil
}

// unauthenticated returns a KindUnauthenticated error.
func unauthenticated(cause error, format string, args ...any) *Error {
	return &Error{Kind: KindUnauthenticated, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// fromMunge decodes a MUNGE credential with the controller's munged (which
// refuses invalid, expired and replayed credentials), checks that it was
// made for this request, and looks its uid up.
func (a *authenticator) fromMunge(r *http.Request, cred string) (Identity, error) {
	// The credential's payload covers the body: read it (bounded) and put
	// it back for the handler.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return Identity{}, invalid("body", "read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return Identity{}, &Error{Kind: KindTooLarge, Msg: fmt.Sprintf("request body over %d bytes", maxBodyBytes)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	ctx, cancel := context.WithTimeout(r.Context(), mungeDecodeTimeout)
	defer cancel()
	c, err := a.munge.Decode(ctx, cred)
	if err != nil {
		switch munge.CodeOf(err) {
		case munge.ErrCredReplayed:
			return Identity{}, unauthenticated(err, "munge credential replayed: each credential authenticates one request")
		case munge.ErrCredExpired:
			return Identity{}, unauthenticated(err, "munge credential expired (encoded %s ago, time-to-live %s); are the clocks in sync?", a.now().Sub(c.Encoded).Round(time.Second), c.TTL)
		case munge.ErrCredRewound:
			return Identity{}, unauthenticated(err, "munge credential rewound: encoded in the future (%s); are the clocks in sync?", c.Encoded.Format(time.RFC3339))
		case munge.ErrSocket, munge.ErrTimeout, munge.ErrSnafu, munge.ErrNoMemory:
			return Identity{}, &Error{Kind: KindUnavailable, Msg: fmt.Sprintf("controller cannot decode munge credentials: %v", err), Err: err}
		}
		return Identity{}, unauthenticated(err, "munge credential invalid (%v): not encoded with this cluster's munge key?", err)
	}
	if want := api.MungePayload(r.Method, r.URL.RequestURI(), body); !bytes.Equal(c.Payload, want) {
		return Identity{}, unauthenticated(nil, "munge credential was made for another request (its payload does not match %s %s and the body)", r.Method, r.URL.Path)
	}
	acct, err := a.users.byUID(int(c.UID))
	if err != nil {
		return Identity{}, unauthenticated(err, "munge credential of uid %d, who is not in the controller's user database: %v", c.UID, err)
	}
	return Identity{
		User: acct.User, UID: int(c.UID), GID: int(c.GID), Groups: acct.Groups, GIDs: acct.GIDs,
		Method: MethodMunge, Verified: true,
	}, nil
}

// requestToken returns the request's JWT: X-SLURM-USER-TOKEN, else
// "Authorization: Bearer".
func requestToken(r *http.Request) string {
	if t := r.Header.Get(slurmTokenHeader); t != "" {
		return t
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// slurmClaims are the claims of Slurm's auth/jwt tokens.
type slurmClaims struct {
	// Sun is the user name ("slurm user name").
	Sun string `json:"sun"`
	jwt.RegisteredClaims
}

// fromToken verifies a JWT (HS256 with the cluster's key, not expired,
// naming a user) and returns its user, or the user X-SLURM-USER-NAME names
// when the token's user is an operator (slurmrestd's rule for SlurmUser and
// root).
func (a *authenticator) fromToken(r *http.Request, tok string) (Identity, error) {
	if a.jwtKey == nil {
		return Identity{}, unauthenticated(nil, "token not accepted: this controller has no JWT key (--jwt-key)")
	}
	claims, err := a.parseToken(tok)
	if err != nil {
		return Identity{}, err
	}
	acct, err := a.users.byName(claims.Sun)
	if err != nil {
		return Identity{}, unauthenticated(err, "token of user %q, who is not in the controller's user database: %v", claims.Sun, err)
	}
	id := identityOf(acct, MethodJWT)
	if name := r.Header.Get(slurmUserHeader); name != "" && name != claims.Sun {
		if !isOperator(id) {
			return Identity{}, unauthenticated(nil, "token username mismatch: the token is user %s's, the request names %s in %s", claims.Sun, name, slurmUserHeader)
		}
		other, err := a.users.byName(name)
		if err != nil {
			return Identity{}, unauthenticated(err, "%s names user %q, who is not in the controller's user database: %v", slurmUserHeader, name, err)
		}
		id = identityOf(other, MethodJWT)
	}
	return id, nil
}

// parseToken checks a token's signature, algorithm and times (a token
// that verified before: its times, see tokenCache).
func (a *authenticator) parseToken(tok string) (*slurmClaims, error) {
	if cl, ok := a.tokens.get(tok, a.now()); ok {
		return &cl, nil
	}
	var claims slurmClaims
	parsed, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return a.jwtKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.now),
		jwt.WithLeeway(5*time.Second),
	)
	var alg any
	if parsed != nil {
		alg = parsed.Header["alg"]
	}
	switch {
	case err == nil:
	case alg != nil && alg != jwt.SigningMethodHS256.Alg():
		return nil, unauthenticated(err, "token algorithm %v not accepted: only HS256 tokens signed with the cluster's key are", alg)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, unauthenticated(err, "token expired%s; get a new one with scontrol token", expiredAgo(claims.ExpiresAt, a.now()))
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, unauthenticated(err, "token malformed: %v", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, unauthenticated(err, "token signature invalid: not signed with this cluster's JWT key")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, unauthenticated(err, "token not accepted: only HS256 tokens signed with the cluster's key are (%v)", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, unauthenticated(err, "token has no expiry (exp)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, unauthenticated(err, "token not valid yet (issued in the future); are the clocks in sync?")
	default:
		return nil, unauthenticated(err, "token invalid: %v", err)
	}
	if claims.Sun == "" {
		return nil, unauthenticated(nil, "token names no user (claim sun)")
	}
	a.tokens.put(tok, claims)
	return &claims, nil
}

// expiredAgo says how long ago a token expired.
func expiredAgo(exp *jwt.NumericDate, now time.Time) string {
	if exp == nil {
		return ""
	}
	return fmt.Sprintf(" %s ago (at %s)", now.Sub(exp.Time).Round(time.Second), exp.Time.UTC().Format(time.RFC3339))
}

// identityOf is the verified identity of an account.
func identityOf(a account, method string) Identity {
	return Identity{User: a.User, UID: a.UID, GID: a.GID, Groups: a.Groups, GIDs: a.GIDs, Method: method, Verified: true}
}

// issueToken signs a token for user, valid for lifespan from now.
func (a *authenticator) issueToken(user string, lifespan time.Duration) (string, time.Time, error) {
	now := a.now()
	exp := now.Add(lifespan)
	claims := slurmClaims{Sun: user, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.jwtKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return tok, exp, nil
}
