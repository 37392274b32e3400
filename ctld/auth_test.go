package ctld_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/raftstore"
)

// authCluster is a controller that authenticates (no --insecure-no-auth),
// with a private munged and a JWT key.
type authCluster struct {
	ctl    *ctld.Controller
	munged *mungetest.Daemon
	jwtKey []byte
	cl     *client.Client // authenticates with MUNGE as the test process
}

func startAuthController(t *testing.T) *authCluster {
	t.Helper()
	d := mungetest.Start(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "jwt_hs256.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	ctl, _ := startControllerWith(t, func(cfg *ctld.Config) {
		cfg.InsecureNoAuth = false
		cfg.MungeSocket = d.Socket
		cfg.JWTKeyFile = keyFile
	})
	cl := client.New(ctl.Addr()).WithMungeSocket(d.Socket)
	waitReady(t, cl)
	return &authCluster{ctl: ctl, munged: d, jwtKey: key, cl: cl}
}

// request is a raw HTTP request to the controller.
type request struct {
	method, path, body string
	header             map[string]string
}

// answer is what the tests compare of a response.
type answer struct {
	Status int
	Msg    string // the error message, "" on success
}

func (a *authCluster) send(t *testing.T, r request) (answer, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), r.method, "http://"+a.ctl.Addr()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e api.ErrorResponse
	if resp.StatusCode >= 300 {
		_ = json.Unmarshal(data, &e)
	}
	return answer{Status: resp.StatusCode, Msg: e.Error}, data
}

// cred returns a MUNGE credential of the test process for request r.
func (a *authCluster) cred(t *testing.T, r request) string {
	t.Helper()
	c, err := a.munged.Client.Encode(ctx(t), api.MungePayload(r.method, r.path, []byte(r.body)), munge.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// credAs returns a MUNGE credential of another user for request r, made by
// munge(1) run as that user.
func (a *authCluster) credAs(t *testing.T, who string, r request) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to encode as another user")
	}
	payload := filepath.Join(a.munged.Dir, "payload-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.WriteFile(payload, api.MungePayload(r.method, r.path, []byte(r.body)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("runuser", "-u", who, "--", "munge", "--socket="+a.munged.Socket, "--input="+payload).Output()
	if err != nil {
		t.Fatalf("munge as %s: %v", who, err)
	}
	return strings.TrimSpace(string(out))
}

// token signs claims with key and method.
func token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// submitBody is a submit request body for spec.
func submitBody(t *testing.T, spec api.JobSpec) string {
	t.Helper()
	b, err := json.Marshal(api.SubmitRequest{Jobs: []api.JobSpec{spec}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// me is the test process's account as the controller sees it.
func me(t *testing.T) (name string, uid, gid int, gids []int) {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range must(u.GroupIds()) {
		g, _ := strconv.Atoi(s)
		gids = append(gids, g)
	}
	return u.Username, os.Getuid(), os.Getgid(), gids
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestIdentify covers identify's order and messages over the headers a
// request may carry, on GET /v1/jobs.
func TestIdentify(t *testing.T) {
	a := startAuthController(t)
	name, _, _, _ := me(t)
	get := request{method: "GET", path: "/v1/jobs"}
	now := time.Now()
	valid := jwt.MapClaims{"sun": name, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	tests := []struct {
		name   string
		header func() map[string]string
		want   answer
		msg    string // the message contains this (want.Msg is then ignored)
	}{
		{"no credentials", func() map[string]string { return nil },
			answer{Status: 401}, "not authenticated: the request has no credentials"},
		{"munge", func() map[string]string { return map[string]string{api.MungeHeader: a.cred(t, get)} },
			answer{Status: 200}, ""},
		{"munge garbage", func() map[string]string { return map[string]string{api.MungeHeader: "MUNGE:AAAA:"} },
			answer{Status: 401}, "munge credential invalid"},
		{"munge for another request", func() map[string]string {
			return map[string]string{api.MungeHeader: a.cred(t, request{method: "GET", path: "/v1/nodes"})}
		}, answer{Status: 401}, "munge credential was made for another request"},
		{"munge without payload (munge -n)", func() map[string]string {
			c, err := a.munged.Client.Encode(ctx(t), nil, munge.EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{api.MungeHeader: c}
		}, answer{Status: 401}, "made for another request"},
		{"slurm token", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, valid), api.SlurmUserNameHeader: name}
		}, answer{Status: 200}, ""},
		{"slurm token without user name", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, valid)}
		}, answer{Status: 200}, ""},
		{"bearer token", func() map[string]string {
			return map[string]string{"Authorization": "Bearer " + token(t, jwt.SigningMethodHS256, a.jwtKey, valid)}
		}, answer{Status: 200}, ""},
		{"token wins over a bad munge credential", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, valid), api.MungeHeader: "MUNGE:AAAA:"}
		}, answer{Status: 200}, ""},
		{"token expired", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey,
				jwt.MapClaims{"sun": name, "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})}
		}, answer{Status: 401}, "token expired"},
		{"token without expiry", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, jwt.MapClaims{"sun": name})}
		}, answer{Status: 401}, "token has no expiry"},
		{"token wrong key", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, []byte("another key, 32 bytes long......"), valid)}
		}, answer{Status: 401}, "token signature invalid"},
		{"token alg none", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)}
		}, answer{Status: 401}, "only HS256 tokens"},
		{"token HS512", func() map[string]string {
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS512, a.jwtKey, valid)}
		}, answer{Status: 401}, "only HS256 tokens"},
		{"token username mismatch", func() map[string]string {
			u := jwt.MapClaims{"sun": "nobody", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, u), api.SlurmUserNameHeader: name}
		}, answer{Status: 401}, "token username mismatch"},
		{"token of an unknown user", func() map[string]string {
			u := jwt.MapClaims{"sun": "no-such-user-fw", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, u)}
		}, answer{Status: 401}, "not in the controller's user database"},
		{"token naming no user", func() map[string]string {
			u := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			return map[string]string{api.SlurmUserTokenHeader: token(t, jwt.SigningMethodHS256, a.jwtKey, u)}
		}, answer{Status: 401}, "token names no user"},
		{"token malformed", func() map[string]string { return map[string]string{api.SlurmUserTokenHeader: "not.a.jwt"} },
			answer{Status: 401}, "token malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get
			r.header = tt.header()
			got, _ := a.send(t, r)
			if tt.msg != "" {
				if !strings.Contains(got.Msg, tt.msg) {
					t.Errorf("message %q does not contain %q", got.Msg, tt.msg)
				}
				got.Msg = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSubmitAuthenticated: the job runs as the credential's user, whatever
// the body claims; forged claims are refused, replays too.
func TestSubmitAuthenticated(t *testing.T) {
	a := startAuthController(t)
	name, uid, gid, gids := me(t)
	mine := api.JobSpec{Name: "mine", User: name, UID: uid, GID: gid, Script: "#!/bin/sh\ntrue\n", WorkDir: "/tmp"}
	forgedUID := mine
	forgedUID.User, forgedUID.UID = "alice", 1000
	forgedGID := mine
	forgedGID.GID = 424242
	unset := mine
	unset.User, unset.UID, unset.GID = "", 0, 0
	claimsGroups := mine
	claimsGroups.GIDs = []int{0, 1, 2, 3}

	replayed := request{method: "POST", path: "/v1/jobs", body: submitBody(t, mine)}
	replayedCred := a.cred(t, replayed)
	if got, _ := a.send(t, request{method: "POST", path: "/v1/jobs", body: replayed.body, header: map[string]string{api.MungeHeader: replayedCred}}); got.Status != 200 {
		t.Fatalf("first use of the credential: %+v", got)
	}

	type job struct {
		User     string
		UID, GID int
		GIDs     []int
	}
	tests := []struct {
		name    string
		spec    api.JobSpec
		as      string // run munge as this user ("": the test process)
		cred    func(r request) map[string]string
		want    answer
		msg     string
		wantJob *job
	}{
		{"no credential", mine, "", func(request) map[string]string { return nil }, answer{Status: 401}, "no credentials", nil},
		{"replayed credential", mine, "", func(request) map[string]string { return map[string]string{api.MungeHeader: replayedCred} },
			answer{Status: 401}, "munge credential replayed", nil},
		{"forged uid in the body", forgedUID, "", nil, answer{Status: 403}, "the job claims uid 1000 but you are " + name, nil},
		{"forged gid in the body", forgedGID, "", nil, answer{Status: 403}, "the job claims gid 424242", nil},
		{"own claims", mine, "", nil, answer{Status: 200}, "", &job{name, uid, gid, gids}},
		{"no claims", unset, "", nil, answer{Status: 200}, "", &job{name, uid, gid, gids}},
		{"body's groups replaced", claimsGroups, "", nil, answer{Status: 200}, "", &job{name, uid, gid, gids}},
		{"root's body, nobody's credential", mine, "nobody", nil, answer{Status: 403}, "the job claims uid", nil},
		{"nobody's credential", unset, "nobody", nil, answer{Status: 200}, "", &job{"nobody", 65534, 65534, []int{65534}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request{method: "POST", path: "/v1/jobs", body: submitBody(t, tt.spec)}
			switch {
			case tt.cred != nil:
				r.header = tt.cred(r)
			case tt.as != "":
				r.header = map[string]string{api.MungeHeader: a.credAs(t, tt.as, r)}
			default:
				r.header = map[string]string{api.MungeHeader: a.cred(t, r)}
			}
			got, body := a.send(t, r)
			if tt.msg != "" {
				if !strings.Contains(got.Msg, tt.msg) {
					t.Errorf("message %q does not contain %q", got.Msg, tt.msg)
				}
				got.Msg = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("answer (-want +got):\n%s", diff)
			}
			if tt.wantJob == nil {
				return
			}
			var resp api.SubmitResponse
			if err := json.Unmarshal(body, &resp); err != nil || len(resp.IDs) != 1 {
				t.Fatalf("submit response %s: %v", body, err)
			}
			j, err := a.cl.Job(ctx(t), resp.IDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*tt.wantJob, job{j.Spec.User, j.Spec.UID, j.Spec.GID, j.Spec.GIDs}); diff != "" {
				t.Errorf("job's user (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokens: scontrol token's endpoint, and the tokens it issues.
func TestTokens(t *testing.T) {
	a := startAuthController(t)
	name, uid, _, _ := me(t)
	if uid != 0 {
		t.Skip("the operator cases need root")
	}
	tok, err := a.cl.Token(ctx(t), 90*time.Second, "")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok.Token, claims, func(*jwt.Token) (any, error) { return a.jwtKey, nil }); err != nil {
		t.Fatalf("issued token: %v", err)
	}
	type tokenInfo struct {
		Sun      string
		Lifespan float64
		User     string
	}
	if diff := cmp.Diff(tokenInfo{name, 90, name}, tokenInfo{claims["sun"].(string), claims["exp"].(float64) - claims["iat"].(float64), tok.Username}); diff != "" {
		t.Errorf("issued token (-want +got):\n%s", diff)
	}

	// The token authenticates the client; jobs are its user's.
	tc := client.New(a.ctl.Addr()).WithAuth(client.TokenAuth{Token: tok.Token, User: name})
	ids, err := tc.Submit(ctx(t), api.JobSpec{Name: "by-token", Script: "#!/bin/sh\ntrue\n", WorkDir: "/tmp"})
	if err != nil {
		t.Fatalf("submit with the token: %v", err)
	}
	j, err := tc.Job(ctx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.User != name || j.Spec.UID != uid {
		t.Errorf("job by token runs as %s (%d), want %s (%d)", j.Spec.User, j.Spec.UID, name, uid)
	}

	body := func(req api.TokenRequest) string {
		b, _ := json.Marshal(req)
		return string(b)
	}
	tests := []struct {
		name string
		req  api.TokenRequest
		as   string // "": root's credential; "token": root's token
		want answer
	}{
		{"operator for another user", api.TokenRequest{Username: "nobody"}, "", answer{Status: 200}},
		{"user for themselves", api.TokenRequest{}, "nobody", answer{Status: 200}},
		{"user for another user", api.TokenRequest{Username: "root"}, "nobody",
			answer{403, "only operators may get a token for another user: you are nobody, asking for root"}},
		{"token for a token", api.TokenRequest{}, "token",
			answer{403, "a token cannot be used to get another token: authenticate with MUNGE (unset SLURM_JWT)"}},
		{"negative lifespan", api.TokenRequest{LifespanSecs: -1}, "",
			answer{400, "invalid lifespan -1: must be a positive number of seconds"}},
		{"unknown user", api.TokenRequest{Username: "no-such-user-fw"}, "", answer{400, `unknown user "no-such-user-fw"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request{method: "POST", path: "/v1/token", body: body(tt.req)}
			switch tt.as {
			case "":
				r.header = map[string]string{api.MungeHeader: a.cred(t, r)}
			case "token":
				r.header = map[string]string{api.SlurmUserTokenHeader: tok.Token}
			default:
				r.header = map[string]string{api.MungeHeader: a.credAs(t, tt.as, r)}
			}
			got, _ := a.send(t, r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientMungeError: a client whose munged is unreachable says so when
// the controller answers 401.
func TestClientMungeError(t *testing.T) {
	a := startAuthController(t)
	cl := client.New(a.ctl.Addr()).WithMungeSocket(filepath.Join(t.TempDir(), "none.sock"))
	_, err := cl.Jobs(context.Background(), client.JobFilter{}, client.QueryOptions{})
	if err == nil || !strings.Contains(err.Error(), "no MUNGE credential") || !strings.Contains(err.Error(), "is munged running") {
		t.Errorf("Jobs without munged: %v, want the 401 with the munge error", err)
	}
}

// TestForwardedWriteDecodedOnce: three controllers share one munged; a write
// sent to a follower is forwarded with its credential and decoded by the
// leader only (a second decode by the same munged would be a replay), and
// the job is the credential's user's.
func TestForwardedWriteDecodedOnce(t *testing.T) {
	d := mungetest.Start(t)
	name, uid, _, _ := me(t)
	var peers []raftstore.Peer
	ids := []string{"c1", "c2", "c3"}
	raftAddrs := map[string]string{}
	for _, id := range ids {
		raftAddrs[id] = freeAddr(t)
		peers = append(peers, raftstore.Peer{ID: id, RaftAddr: raftAddrs[id]})
	}
	ctls := map[string]*ctld.Controller{}
	for _, id := range ids {
		ctls[id], _ = startControllerWith(t, func(cfg *ctld.Config) {
			cfg.ID, cfg.RaftAddr, cfg.Peers = id, raftAddrs[id], peers
			cfg.InsecureNoAuth, cfg.MungeSocket = false, d.Socket
		})
	}
	var follower *ctld.Controller
	waitFor(t, "a leader known to a follower", func() (bool, string) {
		for _, id := range ids {
			st, err := client.New(ctls[id].Addr()).WithMungeSocket(d.Socket).Status(ctx(t))
			if err != nil {
				return false, fmt.Sprintf("%s: %v", id, err)
			}
			if !st.Leader && st.LeaderAddr != "" {
				follower = ctls[id]
				return true, ""
			}
		}
		return false, "no follower knows a leader yet"
	})
	fc := client.New(follower.Addr()).WithMungeSocket(d.Socket)
	got, err := fc.Submit(ctx(t), api.JobSpec{Name: "via-follower", Script: "#!/bin/sh\ntrue\n", WorkDir: "/tmp"})
	if err != nil {
		t.Fatalf("submit through the follower: %v", err)
	}
	j := waitJob(t, fc, got[0], "replicated to the follower", func(j *api.Job) bool { return j.State == api.JobPending })
	if diff := cmp.Diff([]any{name, uid}, []any{j.Spec.User, j.Spec.UID}); diff != "" {
		t.Errorf("job's user (-want +got):\n%s", diff)
	}
}
