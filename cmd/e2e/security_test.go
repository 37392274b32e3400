//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/golang-jwt/jwt/v5"
)

// e2eJWTKey is the cluster key newCluster gives a controller with auth.
const e2eJWTKey = "e2e-jwt-key-of-32-bytes-or-more!"

// testUser is an unprivileged Unix user the test creates.
type testUser struct {
	name     string
	uid, gid int
	groups   []int // every group, primary included, sorted
	work     string
}

// ensureUsers creates the users (each with its own group; extra groups are
// created and added) and a work directory each owns, and removes them when
// the test ends.
func ensureUsers(t *testing.T, specs map[string][]string) map[string]*testUser {
	t.Helper()
	root, err := os.MkdirTemp("", "fw-e2e-users-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var created, groups []string
	t.Cleanup(func() {
		for _, name := range created {
			_ = exec.Command("userdel", name).Run()
		}
		for _, g := range groups {
			_ = exec.Command("groupdel", g).Run()
		}
		_ = os.RemoveAll(root)
	})
	users := map[string]*testUser{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range specs {
			if !yield(k) {
				return
			}
		}
	}) {
		extra := specs[name]
		for _, g := range extra {
			if _, err := user.LookupGroup(g); err != nil {
				if out, err := exec.Command("groupadd", g).CombinedOutput(); err != nil {
					t.Fatalf("groupadd %s: %v: %s", g, err, out)
				}
				groups = append(groups, g)
			}
		}
		if _, err := user.Lookup(name); err != nil {
			args := []string{"-M", "-U", "-s", "/usr/sbin/nologin"}
			if len(extra) > 0 {
				args = append(args, "-G", strings.Join(extra, ","))
			}
			if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
				t.Fatalf("useradd %s: %v: %s", name, err, out)
			}
			created = append(created, name)
		}
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		tu := &testUser{name: name, work: filepath.Join(root, name)}
		tu.uid, _ = strconv.Atoi(u.Uid)
		tu.gid, _ = strconv.Atoi(u.Gid)
		gids, err := u.GroupIds()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gids {
			n, _ := strconv.Atoi(g)
			tu.groups = append(tu.groups, n)
		}
		slices.Sort(tu.groups)
		if err := os.Mkdir(tu.work, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(tu.work, tu.uid, tu.gid); err != nil {
			t.Fatal(err)
		}
		users[name] = tu
	}
	return users
}

// openForUsers lets other users run the run's binaries and read its CA
// certificate (TestMain makes them under a private temporary directory).
func openForUsers(t *testing.T) {
	t.Helper()
	for _, d := range []string{filepath.Dir(e2e.binDir), e2e.binDir, e2e.pki} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// runAs runs a command as u in u's work directory, with the cluster's
// address, CA and munged.
func (c *cluster) runAs(u *testUser, env []string, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e2e.binDir, name), args...)
	cmd.Dir = u.work
	groups := make([]uint32, len(u.groups))
	for i, g := range u.groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: groups}}
	cmd.Env = append([]string{"FAIRWAY_ADDR=" + c.ctldURL, "FAIRWAY_CA=" + caFile(), "PATH=" + e2e.binDir + ":/usr/bin:/bin", "HOME=" + u.work}, c.env...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustAs runs a command as u that has to succeed.
func (c *cluster) mustAs(u *testUser, name string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.runAs(u, nil, name, args...)
	if err != nil {
		c.t.Fatalf("%s as %s: %s %s: %v\nstdout: %s\nstderr: %s", name, u.name, name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// tokenOf returns a JWT for u from `scontrol token` run as u.
func (c *cluster) tokenOf(u *testUser) string {
	c.t.Helper()
	out := c.mustAs(u, "scontrol", "token", "lifespan=600")
	tok, ok := strings.CutPrefix(strings.TrimSpace(out), "SLURM_JWT=")
	if !ok {
		c.t.Fatalf("scontrol token as %s printed %q", u.name, out)
	}
	return tok
}

// apiCall sends one request to the controller over TLS (with the client
// certificate of cert when not empty, e.g. "node-node2") with the given
// headers, and returns the status and the body.
func (c *cluster) apiCall(method, path string, body any, header http.Header, cert string) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, ok := body.([]byte)
		if !ok {
			var err error
			if data, err = json.Marshal(body); err != nil {
				c.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.ctldURL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	cl := c.httpClient()
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(e2e.pki, cert+".pem"), filepath.Join(e2e.pki, cert+"-key.pem"))
		if err != nil {
			c.t.Fatal(err)
		}
		tr := cl.Transport.(*http.Transport)
		tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// bearer is the header of a token.
func bearer(tok string) http.Header { return http.Header{"X-Slurm-User-Token": {tok}} }

// clusterView is what the refused requests must not change.
type clusterView struct {
	Jobs   []string // ID STATE USER
	Nodes  []string
	Leader string
	Files  []string // the users' work directories: name, size, owner
}

func (c *cluster) view(users ...*testUser) clusterView {
	c.t.Helper()
	var v clusterView
	for _, u := range users {
		entries, err := os.ReadDir(u.work)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				c.t.Fatal(err)
			}
			v.Files = append(v.Files, fmt.Sprintf("%s/%s %d %d", u.name, e.Name(), info.Size(), info.Sys().(*syscall.Stat_t).Uid))
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(c.must("squeue", "-h", "-t", "all", "-o", "%i %T %u")), "\n") {
		if l != "" {
			v.Jobs = append(v.Jobs, l)
		}
	}
	v.Nodes = strings.Fields(c.must("sinfo", "-N", "-h", "-o", "%N"))
	status, body := c.apiCall("GET", "/v1/status", nil, bearer(c.rootToken), "")
	if status != http.StatusOK {
		c.t.Fatalf("status: %d %s", status, body)
	}
	var st api.StatusResponse
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		c.t.Fatal(err)
	}
	v.Leader = st.LeaderID
	return v
}

// signToken makes an HS256 token for user with the given expiry.
func signToken(t *testing.T, key, user string, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sun": user, "iat": time.Now().Add(-time.Hour).Unix(), "exp": exp.Unix()}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestE2ESecurity runs a cluster with TLS and MUNGE authentication, two
// unprivileged users (alice, bob) and an operator (olga), and checks that
// every attack of the security issue is refused with a clear error and
// changes nothing, that jobs run as their owner with the owner's groups on
// the host and in containers, and that the operator may act on anyone's
// job.
func TestE2ESecurity(t *testing.T) {
	openForUsers(t)
	users := ensureUsers(t, map[string][]string{
		"fw-alice": {"fw-e2e-team"}, "fw-bob": nil, "fw-olga": {"fw-e2e-ops"},
	})
	alice, bob, olga := users["fw-alice"], users["fw-bob"], users["fw-olga"]
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "batch", Default: true}},
		Operators:  []string{"@fw-e2e-ops"},
	}
	c := newCluster(t, clusterOpts{clusterConfig: writeClusterConfig(t, cfg), nodeCPUs: "4", nodeMemory: "4096"})
	c.rootToken = c.tokenAsRoot()
	// The node's state directory lives in the test's private temporary
	// directory: let the jobs' users through it, as they pass through
	// /var/lib on a real node (noded makes its run directories 0711).
	for _, d := range []string{filepath.Dir(c.dir), c.dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}

	// Jobs run as their owner, with the owner's groups, host and container.
	hostJob := func(u *testUser) string {
		return strings.TrimSpace(c.mustAs(u, "sbatch", "--parsable", "-o", "id-%j.out", "--wrap", "id -u; id -g; id -G; touch made-by-job"))
	}
	aliceHost, bobHost := hostJob(alice), hostJob(bob)
	aliceCtr := strings.TrimSpace(c.mustAs(alice, "sbatch", "--parsable", "-o", "ctr-%j.out",
		"--container-image=oci-archive:"+e2e.imageOCI, "--wrap", "id -u; id -g; id -G"))
	for _, tc := range []struct {
		u    *testUser
		id   string
		file string
	}{{alice, aliceHost, "id-" + aliceHost + ".out"}, {bob, bobHost, "id-" + bobHost + ".out"}, {alice, aliceCtr, "ctr-" + aliceCtr + ".out"}} {
		c.waitFor("job "+tc.id+" to end", 90*time.Second, func() bool {
			return slices.Contains([]string{"COMPLETED", "FAILED", "CANCELLED", "NODE_FAIL"}, c.state(tc.id))
		})
		path := filepath.Join(tc.u.work, tc.file)
		data, err := os.ReadFile(path)
		if st := c.state(tc.id); st != "COMPLETED" {
			t.Fatalf("job %s of %s ended %s (reason %v), output %q (%v)", tc.id, tc.u.name, st, c.job(tc.id)["reason"], data, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var gotGroups []int
		if len(lines) == 3 {
			for _, f := range strings.Fields(lines[2]) {
				n, _ := strconv.Atoi(f)
				gotGroups = append(gotGroups, n)
			}
			slices.Sort(gotGroups)
		}
		if len(lines) != 3 || lines[0] != strconv.Itoa(tc.u.uid) || lines[1] != strconv.Itoa(tc.u.gid) || !slices.Equal(gotGroups, tc.u.groups) {
			t.Errorf("job %s of %s printed %q, want uid %d, gid %d, groups %v", tc.id, tc.u.name, data, tc.u.uid, tc.u.gid, tc.u.groups)
		}
		if st, err := os.Stat(path); err == nil {
			if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != tc.u.uid {
				t.Errorf("%s is owned by uid %d, want %s's %d", path, sys.Uid, tc.u.name, tc.u.uid)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(alice.work, "made-by-job")); err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != alice.uid {
		t.Errorf("a file alice's job made: %v, want it owned by alice", err)
	}
	// Inside a container, the job's commands authenticate as its user
	// through the node's munged (its socket is mounted in).
	inside := strings.TrimSpace(c.mustAs(alice, "sbatch", "--parsable", "-o", "inside-%j.out",
		"--container-image=oci-archive:"+e2e.imageOCI, "--wrap", "squeue -h -j $SLURM_JOB_ID -o '%i %u'"))
	c.waitFor("job "+inside+" to end", 90*time.Second, func() bool {
		return slices.Contains([]string{"COMPLETED", "FAILED", "CANCELLED"}, c.state(inside))
	})
	if data, _ := os.ReadFile(filepath.Join(alice.work, "inside-"+inside+".out")); c.state(inside) != "COMPLETED" || strings.TrimSpace(string(data)) != inside+" fw-alice" {
		t.Errorf("squeue inside alice's container job %s: %s, printed %q; want %q", inside, c.state(inside), data, inside+" fw-alice")
	}

	// alice's running job, for bob to attack.
	target := strings.TrimSpace(c.mustAs(alice, "sbatch", "--parsable", "-J", "secret", "--wrap", "echo $SECRET; sleep 300"))
	c.waitState(target, "RUNNING", 60*time.Second)
	big := filepath.Join(alice.work, "big.sh") // a 10 MB batch script
	if err := os.WriteFile(big, append([]byte("#!/bin/sh\n"), bytes.Repeat([]byte("# padding\n"), 1<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	before := c.view(alice, bob)
	aliceTok, bobTok := c.tokenOf(alice), c.tokenOf(bob)
	if err := exec.Command(filepath.Join(e2e.binDir, "fairwayd"), "pki", "issue", "--dir", e2e.pki, "--node", "node2", "--host", "127.0.0.1").Run(); err != nil {
		t.Fatalf("issue node2's certificate: %v", err)
	}

	t.Run("bob may not touch alice's job", func(t *testing.T) {
		for _, cmd := range [][]string{
			{"scancel", target}, {"scontrol", "hold", target}, {"scontrol", "requeue", target},
			{"scancel", "--signal=USR1", target},
		} {
			out, errOut, err := c.runAs(bob, nil, cmd[0], cmd[1:]...)
			if err == nil || !strings.Contains(errOut, "may not") {
				t.Errorf("%v as bob: %v, stdout %q, stderr %q; want a refusal saying who may", cmd, err, out, errOut)
			}
		}
		status, body := c.apiCall("GET", "/v1/jobs/"+target, nil, bearer(bobTok), "")
		if status != http.StatusOK || strings.Contains(body, "sleep 300") || strings.Contains(body, `"script"`) {
			t.Errorf("bob reading alice's job: %d, body carries the script: %v", status, strings.Contains(body, "sleep 300"))
		}
		if status, body := c.apiCall("GET", "/v1/jobs/"+target, nil, bearer(aliceTok), ""); status != http.StatusOK || !strings.Contains(body, "sleep 300") {
			t.Errorf("alice reading her own job: %d, script present %v; want it", status, strings.Contains(body, "sleep 300"))
		}
	})

	submit := func(spec api.JobSpec) api.SubmitRequest {
		spec.Name, spec.WorkDir = "x", "/tmp"
		if spec.Script == "" {
			spec.Script = "#!/bin/sh\ntrue\n"
		}
		return api.SubmitRequest{Jobs: []api.JobSpec{spec}}
	}
	t.Run("requests without valid credentials", func(t *testing.T) {
		cases := []struct {
			name   string
			header http.Header
			body   any
			status int
			want   string
		}{
			{"no credential", nil, submit(api.JobSpec{User: "fw-alice", UID: alice.uid, GID: alice.gid}), 401, "no credentials"},
			{"forged uid in the body", bearer(aliceTok), submit(api.JobSpec{User: "fw-alice", UID: bob.uid, GID: alice.gid}), 403, "claims uid"},
			{"root in the body", bearer(aliceTok), submit(api.JobSpec{User: "root", UID: 0, GID: 0}), 403, "claims"},
			{"expired token", bearer(signToken(t, e2eJWTKey, "fw-alice", time.Now().Add(-time.Minute))), submit(api.JobSpec{}), 401, "expired"},
			{"token signed with another key", bearer(signToken(t, "another-key-of-32-bytes-or-more!!", "fw-alice", time.Now().Add(time.Hour))), submit(api.JobSpec{}), 401, "signature"},
		}
		for _, tc := range cases {
			status, body := c.apiCall("POST", "/v1/jobs", tc.body, tc.header, "")
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s: %d %s, want %d saying %q", tc.name, status, body, tc.status, tc.want)
			}
		}
		// A MUNGE credential authenticates one request: sent again, refused.
		body, _ := json.Marshal(submit(api.JobSpec{}))
		cred, err := c.munge.Encode(context.Background(), api.MungePayload("POST", "/v1/jobs", body), munge.EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first, firstBody := c.apiCall("POST", "/v1/jobs", body, http.Header{api.MungeHeader: {cred}}, "")
		second, secondBody := c.apiCall("POST", "/v1/jobs", body, http.Header{api.MungeHeader: {cred}}, "")
		if first != http.StatusOK || second != http.StatusUnauthorized || !strings.Contains(secondBody, "replayed") {
			t.Errorf("replayed credential: first %d %s, second %d %s; want 200 then 401 replayed", first, firstBody, second, secondBody)
		}
		var res api.SubmitResponse
		if err := json.Unmarshal([]byte(firstBody), &res); err == nil && len(res.IDs) == 1 {
			c.must("scancel", res.IDs[0].String())
			c.waitState(res.IDs[0].String(), "CANCELLED", 30*time.Second)
			before = c.view(alice, bob) // the one accepted submission
		}
	})

	t.Run("node and controller routes", func(t *testing.T) {
		reg := api.RegisterNodeRequest{Name: "node1", Addr: "127.0.0.1:1", Resources: api.NodeResources{CPUs: 64, MemoryMB: 1 << 20}}
		evil := api.RegisterNodeRequest{Name: "evil", Addr: "127.0.0.1:1", Resources: api.NodeResources{CPUs: 64, MemoryMB: 1 << 20}}
		events := map[string]any{"events": []api.JobEvent{{JobID: mustID(t, target), Run: 0, Kind: api.EventExited}}}
		cases := []struct {
			name, method, path string
			body               any
			header             http.Header
			cert               string
			status             int
		}{
			{"register without a certificate", "POST", "/v1/nodes/register", evil, bearer(aliceTok), "", 401},
			{"register as node1 with node2's certificate", "POST", "/v1/nodes/register", reg, nil, "node-node2", 403},
			{"events for node1 without a certificate", "POST", "/v1/nodes/node1/events", events, bearer(aliceTok), "", 401},
			{"events for node1 with node2's certificate", "POST", "/v1/nodes/node1/events", events, nil, "node-node2", 403},
			{"node1's assignments as bob", "GET", "/v1/nodes/node1/jobs", nil, bearer(bobTok), "", 401},
			{"join by a user", "POST", "/v1/cluster/join", map[string]string{"id": "evil", "raft_addr": "127.0.0.1:1"}, bearer(aliceTok), "", 403},
			{"join with a node certificate", "POST", "/v1/cluster/join", map[string]string{"id": "evil", "raft_addr": "127.0.0.1:1"}, nil, "node-node2", 403},
			{"configuration change by a user", "PUT", "/v1/config", cfg, bearer(aliceTok), "", 403},
			{"configuration change by an operator", "PUT", "/v1/config", cfg, bearer(c.tokenOf(olga)), "", 403},
		}
		for _, tc := range cases {
			status, body := c.apiCall(tc.method, tc.path, tc.body, tc.header, tc.cert)
			if status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
			}
		}
		// Plain HTTP to the TLS controller is refused.
		resp, err := http.Post(strings.Replace(c.ctldURL, "https://", "http://", 1)+"/v1/nodes/register", "application/json", strings.NewReader(`{"name":"evil"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("plain HTTP registration: %d, want a refusal", resp.StatusCode)
			}
		}
		// Raft: plain TCP garbage and a TLS connection with a node
		// certificate are cut off.
		raftAddr := c.ctld.argValue("--raft-addr")
		if conn, err := net.DialTimeout("tcp", raftAddr, 5*time.Second); err == nil {
			_, _ = conn.Write([]byte("\x00\x01garbage raft RPC\n"))
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, _ = conn.Read(make([]byte, 16))
			conn.Close()
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(e2e.pki, "node-node2.pem"), filepath.Join(e2e.pki, "node-node2-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", raftAddr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{pair}})
		if err == nil {
			_, werr := conn.Write([]byte{0, 1, 2, 3})
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, rerr := conn.Read(make([]byte, 16))
			conn.Close()
			if werr == nil && rerr == nil {
				t.Errorf("raft accepted a connection with a node certificate")
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"10 MB script", []string{big}, "script"},
			{"array over the limit", []string{"--array=0-200000", "--wrap", "true"}, "array"},
			{"ntasks=2^62", []string{"-n", "4611686018427387904", "--wrap", "true"}, "ntasks"},
			{"no partition can hold it", []string{"-c", "64", "--wrap", "true"}, "Requested node configuration is not available"},
		} {
			out, errOut, err := c.runAs(alice, nil, "sbatch", tc.args...)
			if err == nil || !strings.Contains(errOut, tc.want) {
				t.Errorf("sbatch %s: %v, stdout %q, stderr %q; want a refusal naming %q", tc.name, err, out, errOut, tc.want)
			}
		}
		status, body := c.apiCall("POST", "/v1/jobs", submit(api.JobSpec{Script: "#!/bin/sh\n" + strings.Repeat("#", 10<<20)}), bearer(aliceTok), "")
		if status != http.StatusRequestEntityTooLarge && status != http.StatusBadRequest {
			t.Errorf("10 MB script over HTTP: %d %.200s, want 413 or 400", status, body)
		}
	})

	if after := c.view(alice, bob); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused requests changed the cluster:\nbefore %+v\nafter  %+v", before, after)
	}

	// An operator acts on anyone's job.
	c.mustAs(olga, "scancel", target)
	c.waitState(target, "CANCELLED", 30*time.Second)
}

// mustID parses a job ID.
func mustID(t *testing.T, s string) api.JobID {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return api.JobID(n)
}
