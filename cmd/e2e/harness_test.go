//go:build e2e

package e2e

// End-to-end harness: builds the real binaries (the static client fairway
// with its Slurm-named links, and fairwayd), runs a private containerd,
// controllers and node daemons as separate processes, and drives them through
// the command line as a user would.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	"github.com/fairway-hpc/fairway/noded/containerdproc"
	"github.com/fairway-hpc/fairway/noded/testimage"
)

// e2eEnv is shared by every end-to-end test in the package: one build of the
// binaries and one private containerd.
type e2eEnv struct {
	// binDir holds fairwayd, the client fairway and its Slurm-named links, as
	// `make build` lays them out: the node daemon mounts the client beside it
	// into container jobs (its default --tools-binary).
	binDir      string
	containerd  string // socket path
	imageOCI    string // oci-archive of the test image
	imageDocker string // docker-archive of the test image
	// pki is the run's PKI directory, made by `fairwayd pki init|issue`: the
	// CA (ca.pem) and the certificates of controller c1 and node node1 for
	// 127.0.0.1. Every test's daemons use them; clients get FAIRWAY_CA.
	pki string
}

var e2e e2eEnv // set once in TestMain, read-only afterwards

func TestMain(m *testing.M) {
	os.Exit(runE2EMain(m))
}

func runE2EMain(m *testing.M) int {
	// Under the e2e tag containerd is required: its absence fails the run.
	if _, err := exec.LookPath("containerd"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: containerd is required by the end-to-end tests (install containerd and runc, or run without -tags e2e):", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "fairway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	e2e.binDir = filepath.Join(dir, "bin")
	if err := buildBinaries(ctx, e2e.binDir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	e2e.pki = filepath.Join(dir, "pki")
	if err := makePKI(ctx, e2e.pki); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: PKI:", err)
		return 1
	}
	ctrd, err := containerdproc.Start(ctx, filepath.Join(dir, "containerd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: containerd:", err)
		return 1
	}
	defer ctrd.Stop()
	e2e.containerd = ctrd.Socket

	if err := buildTestImages(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: test image:", err)
		return 1
	}
	return m.Run()
}

// buildBinaries builds the binaries into dir as `make build` does: the
// client static, the daemon with cgo, then the Slurm-named links to the
// client.
func buildBinaries(ctx context.Context, dir string) error {
	builds := []struct {
		name, pkg string
		flags     []string
		env       []string
	}{
		// The tags are the Makefile's CLIENT_TAGS.
		{"fairway", "github.com/fairway-hpc/fairway/cmd/fairway", []string{"-tags", "urfave_cli_no_docs,urfave_cli_no_suggest"}, []string{"CGO_ENABLED=0"}},
		{"fairwayd", "github.com/fairway-hpc/fairway/cmd/fairwayd", nil, nil},
	}
	for _, b := range builds {
		args := append(append([]string{"build"}, b.flags...), "-o", filepath.Join(dir, b.name), b.pkg)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), b.env...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", b.name, err)
		}
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(dir, "fairway"), "install-shims", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("install-shims: %w: %s", err, out)
	}
	return nil
}

// makePKI creates the run's CA and the daemons' certificates with the
// fairwayd pki commands, as an operator would.
func makePKI(ctx context.Context, dir string) error {
	for _, args := range [][]string{
		{"pki", "init", "--dir", dir},
		{"pki", "issue", "--dir", dir, "--controller", "c1", "--host", "127.0.0.1,localhost"},
		{"pki", "issue", "--dir", dir, "--node", "node1", "--host", "127.0.0.1"},
	} {
		out, err := exec.CommandContext(ctx, filepath.Join(e2e.binDir, "fairwayd"), args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("fairwayd %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// tlsArgs are a daemon's TLS flags for the certificate of role-name.
func tlsArgs(role, name string) []string {
	return []string{
		"--tls-cert", filepath.Join(e2e.pki, role+"-"+name+".pem"),
		"--tls-key", filepath.Join(e2e.pki, role+"-"+name+"-key.pem"),
		"--tls-ca", filepath.Join(e2e.pki, "ca.pem"),
	}
}

// caFile is the run's CA bundle (FAIRWAY_CA).
func caFile() string { return filepath.Join(e2e.pki, "ca.pem") }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// freeAddrs returns n distinct free 127.0.0.1 TCP addresses: the listeners
// are held until all are chosen, so the kernel cannot hand out one port
// twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// daemon is a fairwayd process that a test can kill and restart.
type daemon struct {
	t    *testing.T
	name string
	args []string
	env  []string // added to the test's environment
	log  string
	cmd  *exec.Cmd
}

// argValue returns the value that follows flag in the daemon's arguments.
func (d *daemon) argValue(flag string) string {
	for i, a := range d.args {
		if a == flag && i+1 < len(d.args) {
			return d.args[i+1]
		}
	}
	d.t.Fatalf("%s has no %s argument", d.name, flag)
	return ""
}

func (d *daemon) start() {
	d.t.Helper()
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	d.cmd = exec.Command(filepath.Join(e2e.binDir, "fairwayd"), d.args...)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	go func() { _ = d.cmd.Wait(); logf.Close() }()
}

// kill9 kills the daemon process (not its jobs) with SIGKILL.
func (d *daemon) kill9() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for d.cmd.ProcessState == nil {
				time.Sleep(50 * time.Millisecond)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
}

func (d *daemon) logTail() string {
	data, _ := os.ReadFile(d.log)
	return tail(string(data), 3000)
}

// cluster is one controller and one node daemon. The end-to-end tests run one
// at a time (no t.Parallel): the daemons bind addresses chosen by freeAddrs
// after it has released them, and a parallel test could take the same port in
// between, so that a node daemon registers with another test's controller.
type cluster struct {
	t       *testing.T
	dir     string
	ns      string // containerd namespace and cgroup parent of this test's node
	ctldURL string
	ctld    *daemon
	noded   *daemon
	workDir string
	// env is added to the commands' environment (run): the private munged's
	// socket when the cluster authenticates.
	env []string
	// munge is the private munged's client when the cluster authenticates.
	munge *munge.Client
	// rootToken is a JWT of the test's own user (root), for raw API calls.
	rootToken string
}

// tokenAsRoot returns a JWT of the test's user from `scontrol token`.
func (c *cluster) tokenAsRoot() string {
	c.t.Helper()
	out := c.must("scontrol", "token", "lifespan=1800")
	tok, ok := strings.CutPrefix(strings.TrimSpace(out), "SLURM_JWT=")
	if !ok {
		c.t.Fatalf("scontrol token printed %q", out)
	}
	return tok
}

type clusterOpts struct {
	nodeDownAfter string // e.g. "3s"
	// clusterConfig is a JSON cluster configuration file for ctld --cluster-config
	// (default: ctld's built-in configuration).
	clusterConfig string
	// nodeCPUs and nodeMemory are the node daemon's --cpus and --memory
	// (default 2 and 2048); gpus its --gpus (fake GPUs, e.g. "4:h100").
	nodeCPUs, nodeMemory, gpus string
	// noAuth runs the controller with --insecure-no-auth. By default it
	// authenticates: a private munged (its socket passed to the node daemon,
	// which gives it to jobs, and to the commands in FAIRWAY_MUNGE_SOCKET)
	// and a JWT key.
	noAuth bool
	// ctldArgs and nodedArgs are added to the daemons' command lines.
	ctldArgs, nodedArgs []string
}

func newCluster(t *testing.T, opts clusterOpts) *cluster {
	t.Helper()
	if opts.nodeDownAfter == "" {
		opts.nodeDownAfter = "30s"
	}
	if opts.nodeCPUs == "" {
		opts.nodeCPUs = "2"
	}
	if opts.nodeMemory == "" {
		opts.nodeMemory = "2048"
	}
	dir := t.TempDir()
	// Containers and cgroups are named per test, so a test never meets what
	// an earlier one left behind.
	ns := "fairway-e2e-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	addrs := freeAddrs(t, 3)
	httpAddr, raftAddr, nodeAddr := addrs[0], addrs[1], addrs[2]
	c := &cluster{t: t, dir: dir, ns: ns, ctldURL: "https://" + httpAddr, workDir: filepath.Join(dir, "work")}
	if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.ctld = &daemon{t: t, name: "ctld", log: filepath.Join(dir, "ctld.log"), args: []string{
		"ctld", "--id", "c1", "--data-dir", filepath.Join(dir, "ctld"),
		"--http-addr", httpAddr, "--raft-addr", raftAddr, "--bootstrap",
		"--node-down-after", opts.nodeDownAfter, "--sched-interval", "500ms",
	}}
	c.ctld.args = append(c.ctld.args, tlsArgs("controller", "c1")...)
	if opts.clusterConfig != "" {
		c.ctld.args = append(c.ctld.args, "--cluster-config", opts.clusterConfig)
	}
	var nodeEnv []string
	if !opts.noAuth {
		m := mungetest.Start(t)
		key := filepath.Join(dir, "jwt_hs256.key")
		if err := os.WriteFile(key, []byte("e2e-jwt-key-of-32-bytes-or-more!"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.ctld.args = append(c.ctld.args, "--munge-socket", m.Socket, "--jwt-key", key)
		c.env = []string{munge.EnvSocket + "=" + m.Socket}
		c.munge = &m.Client
		nodeEnv = c.env
	} else {
		c.ctld.args = append(c.ctld.args, "--insecure-no-auth")
	}
	c.noded = &daemon{t: t, name: "noded", log: filepath.Join(dir, "noded.log"), args: []string{
		"noded", "--name", "node1", "--controller", c.ctldURL, "--listen", nodeAddr, "--step-listen", "127.0.0.1:0",
		"--state-dir", filepath.Join(dir, "noded"), "--cpus", opts.nodeCPUs, "--memory", opts.nodeMemory,
		"--containerd-socket", e2e.containerd, "--containerd-namespace", ns, "--cgroup-parent", ns,
		"--heartbeat", "1s", "--checkpoint-dir-base", filepath.Join(dir, "checkpoints"),
	}, env: nodeEnv}
	c.noded.args = append(c.noded.args, tlsArgs("node", "node1")...)
	if opts.gpus != "" {
		c.noded.args = append(c.noded.args, "--gpus", opts.gpus)
	}
	c.ctld.args = append(c.ctld.args, opts.ctldArgs...)
	c.noded.args = append(c.noded.args, opts.nodedArgs...)
	c.ctld.start()
	c.noded.start()
	t.Cleanup(func() {
		c.noded.stop()
		c.ctld.stop()
		if t.Failed() {
			t.Logf("ctld log:\n%s", c.ctld.logTail())
			t.Logf("noded log:\n%s", c.noded.logTail())
		}
		c.killLeftovers()
	})
	c.waitFor("node1 to be idle", 60*time.Second, func() bool {
		out, _, err := c.run("sinfo", "-N", "-h", "-o", "%N %t")
		return err == nil && strings.Contains(out, "node1 idle")
	})
	return c
}

// run runs a command (a Slurm-named link or fairway) as a user would, in the
// cluster's work directory, and returns stdout, stderr and the error.
func (c *cluster) run(name string, args ...string) (string, string, error) {
	return c.runEnv(nil, name, args...)
}

// runEnv runs a command like run with env added to its environment.
func (c *cluster) runEnv(env []string, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e2e.binDir, name), args...)
	cmd.Dir = c.workDir
	cmd.Env = append(os.Environ(), "FAIRWAY_ADDR="+c.ctldURL, "FAIRWAY_CA="+caFile(), "PATH="+e2e.binDir+":"+os.Getenv("PATH"))
	cmd.Env = append(append(cmd.Env, c.env...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs a command that has to succeed and returns its stdout.
func (c *cluster) must(name string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(name, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func (c *cluster) waitFor(what string, timeout time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

// writeScript writes a batch script into the work directory.
func (c *cluster) writeScript(name, text string) string {
	c.t.Helper()
	p := filepath.Join(c.workDir, name)
	if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// sbatch submits with --parsable and returns the job id.
func (c *cluster) sbatch(args ...string) string {
	c.t.Helper()
	out := c.must("sbatch", append([]string{"--parsable"}, args...)...)
	id := strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		c.t.Fatalf("sbatch --parsable printed %q", out)
	}
	return id
}

// sacctRows returns sacct's parsable job rows, steps left out (-X), as JobID|State|ExitCode|NodeList.
func (c *cluster) sacctRows(id string) []string {
	c.t.Helper()
	out := c.must("sacct", "-D", "-j", id, "-X", "-P", "-n", "-o", "JobID,State,ExitCode,NodeList")
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			rows = append(rows, l)
		}
	}
	return rows
}

// state returns the job's current long state name from squeue -t all.
func (c *cluster) state(id string) string {
	out, _, err := c.run("squeue", "-h", "-t", "all", "-j", id, "-o", "%T")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// waitState waits for the job to reach state.
func (c *cluster) waitState(id, state string, timeout time.Duration) {
	c.t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		last = c.state(id)
		if last == state {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("job %s: want state %s, still %q after %v", id, state, last, timeout)
}

// job fetches the job through the HTTP API, as the dashboard and tools see it.
func (c *cluster) job(id string) map[string]any {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.ctldURL+"/v1/jobs/"+id, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.munge != nil {
		cred, err := c.munge.Encode(context.Background(), api.MungePayload(req.Method, req.URL.RequestURI(), nil), munge.EncodeOptions{})
		if err != nil {
			c.t.Fatalf("munge credential: %v", err)
		}
		req.Header.Set(api.MungeHeader, cred)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		c.t.Fatalf("get job %s: %v", id, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		c.t.Fatalf("decode job %s: %v", id, err)
	}
	return m
}

// httpClient is an HTTPS client trusting the run's CA, without a client
// certificate (as the dashboard or curl --cacert).
func (c *cluster) httpClient() *http.Client {
	c.t.Helper()
	data, err := os.ReadFile(caFile())
	if err != nil {
		c.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		c.t.Fatalf("no certificate in %s", caFile())
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// buildTestImages writes the test image (busybox, a marker file and the
// trainer of testdata/trainer at /bin/trainer) as an OCI archive and as a
// docker archive.
func buildTestImages(ctx context.Context, dir string) error {
	opts := testimage.Options{
		Files:    map[string][]byte{"/etc/fairway-test-image": []byte("fairway test image\n")},
		Programs: []testimage.GoProgram{{Dir: "testdata/trainer", Path: "/bin/trainer"}},
	}
	e2e.imageOCI = filepath.Join(dir, "image-oci.tar")
	e2e.imageDocker = filepath.Join(dir, "image-docker.tar")
	if err := testimage.BuildOCIArchive(ctx, e2e.imageOCI, opts); err != nil {
		return err
	}
	return testimage.BuildDockerArchive(ctx, e2e.imageDocker, opts)
}

// killLeftovers stops whatever jobs a test left running: containers in the
// test's namespace and processes in its cgroups. (Jobs outlive their daemon by
// design, so stopping the daemons does not stop them.)
func (c *cluster) killLeftovers() {
	ctr := func(args ...string) []string {
		out, _ := exec.Command("ctr", append([]string{"-a", e2e.containerd, "-n", c.ns}, args...)...).Output()
		return strings.Fields(string(out))
	}
	ids := ctr("containers", "ls", "-q")
	for _, line := range ctr("tasks", "ls") { // a task whose container is already gone
		if strings.HasPrefix(line, "fairway-") && !slices.Contains(ids, line) {
			ids = append(ids, line)
		}
	}
	for _, id := range ids {
		ctr("tasks", "kill", "-a", "-s", "SIGKILL", id)
		time.Sleep(100 * time.Millisecond)
		ctr("tasks", "delete", "-f", id)
		ctr("containers", "delete", id)
	}
	_ = filepath.WalkDir(filepath.Join("/sys/fs/cgroup/pids", c.ns), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(data)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return nil
	})
}
