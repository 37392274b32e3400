//go:build e2e

package hatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	"github.com/fairway-hpc/fairway/contrib/hosts"
	"github.com/fairway-hpc/fairway/contrib/hosts/hoststest"
)

// env is set once in TestMain: the built binaries and the CA.
var env struct {
	binDir string
	pki    string // ca.pem, ca-key.pem; certificates are issued per cluster
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// Under the e2e tag the prerequisites are required: their absence fails.
	if err := hosts.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "hatest: the HA tests need root, ip, iptables and nsenter (apt-get install iproute2 iptables):", err)
		return 1
	}
	if mungetest.Path() == "" {
		fmt.Fprintln(os.Stderr, "hatest: munged is required (Debian package munge)")
		return 1
	}
	dir, err := os.MkdirTemp("", "fairway-hatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hatest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env.binDir = filepath.Join(dir, "bin")
	if err := buildBinaries(ctx, env.binDir); err != nil {
		fmt.Fprintln(os.Stderr, "hatest:", err)
		return 1
	}
	env.pki = filepath.Join(dir, "pki")
	if out, err := exec.CommandContext(ctx, filepath.Join(env.binDir, "fairwayd"), "pki", "init", "--dir", env.pki).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "hatest: pki init: %v: %s\n", err, out)
		return 1
	}
	return m.Run()
}

// buildBinaries builds the binaries into dir as `make build` does (a copy
// of cmd/e2e's helper): the client static, the daemon with cgo, and the
// Slurm-named links to the client.
func buildBinaries(ctx context.Context, dir string) error {
	builds := []struct {
		name, pkg string
		flags     []string
		env       []string
	}{
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

// Ports every controller and node uses on its own host address.
const (
	httpPort = "6817"
	raftPort = "6818"
	nodePort = "6819"
	stepPort = "6820"
)

// controller is one fairwayd ctld in its own host.
type controller struct {
	id   string
	host *hosts.Host
	proc *hosts.Proc
	url  string // https://ADDR:6817
	log  string
}

// nodeDaemon is one fairwayd noded in its own host.
type nodeDaemon struct {
	name string
	host *hosts.Host
	proc *hosts.Proc
	log  string
}

// cluster is three controllers and some node daemons on one hosts.Net.
type cluster struct {
	t       *testing.T
	dir     string
	net     *hosts.Net
	ctlds   []*controller
	nodes   []*nodeDaemon
	munge   string // the private munged's socket
	stamps  string // where runnable jobs write their start/end stamps
	workDir string
}

// clusterOpts configure newCluster.
type clusterOpts struct {
	nodes int // node daemons (default 2, at most 4)
	cpus  int // CPUs each node declares (default 2)
	// config is the cluster configuration the controllers start with
	// (default: theirs); nodeDownAfter the --node-down-after (default 60s).
	config        *api.ClusterConfig
	nodeDownAfter string
	gpus          string // each node's fake GPUs (--gpus), e.g. "2"
	// hostsFile adds the hosts' names to /etc/hosts while the test runs,
	// as DNS would on a real cluster (distributed programs resolve the
	// first node of SLURM_JOB_NODELIST).
	hostsFile bool
}

// newCluster starts the munged, three controllers and the node daemons, each
// in its own host, and waits until a leader is known and every node is up.
// Everything is removed when the test ends.
func newCluster(t *testing.T, opts clusterOpts) *cluster {
	t.Helper()
	if opts.nodes == 0 {
		opts.nodes = 2
	}
	if opts.cpus == 0 {
		opts.cpus = 2
	}
	if opts.nodeDownAfter == "" {
		opts.nodeDownAfter = "60s"
	}
	if opts.nodes > 4 {
		t.Fatalf("at most 4 node daemons, asked for %d", opts.nodes)
	}
	c := &cluster{t: t, dir: t.TempDir()}
	c.stamps = filepath.Join(c.dir, "stamps")
	c.workDir = filepath.Join(c.dir, "work")
	for _, d := range []string{c.stamps, c.workDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := mungetest.Start(t)
	c.munge = m.Socket
	c.net = hoststest.New(t, slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Logf("hosts on %s (bridge %s, gateway %s)", c.net.Subnet(), c.net.Bridge(), c.net.Gateway())

	var peers []string
	for i := range 3 {
		id := fmt.Sprintf("c%d", i+1)
		h := hoststest.AddHost(t, c.net, id)
		c.ctlds = append(c.ctlds, &controller{id: id, host: h, url: "https://" + net.JoinHostPort(h.Addr().String(), httpPort),
			log: filepath.Join(c.dir, id+".log")})
		peers = append(peers, id+"="+net.JoinHostPort(h.Addr().String(), raftPort))
		c.issue("--controller", id, h.Addr().String())
	}
	for i := range opts.nodes {
		name := fmt.Sprintf("n%d", i+1)
		h := hoststest.AddHost(t, c.net, name)
		c.nodes = append(c.nodes, &nodeDaemon{name: name, host: h, log: filepath.Join(c.dir, name+".log")})
		c.issue("--node", name, h.Addr().String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, ct := range c.ctlds {
				t.Logf("%s log tail:\n%s", ct.id, tailFile(ct.log, 3000))
			}
			for _, n := range c.nodes {
				t.Logf("%s log tail:\n%s", n.name, tailFile(n.log, 2000))
			}
		}
	})
	for _, ct := range c.ctlds {
		a := ct.host.Addr().String()
		args := []string{"ctld", "--id", ct.id, "--data-dir", filepath.Join(c.dir, ct.id),
			"--http-addr", net.JoinHostPort(a, httpPort), "--raft-addr", net.JoinHostPort(a, raftPort),
			"--bootstrap", "--peers", strings.Join(peers, ","),
			"--sched-interval", "500ms", "--node-down-after", opts.nodeDownAfter, "--munge-socket", c.munge}
		if opts.config != nil {
			file := filepath.Join(c.dir, "cluster.json")
			data, err := json.Marshal(opts.config)
			if err != nil || os.WriteFile(file, data, 0o644) != nil {
				t.Fatalf("cluster configuration: %v", err)
			}
			args = append(args, "--cluster-config", file)
		}
		ct.proc = c.start(ct.host, ct.id, ct.log, append(args, c.tlsArgs("controller", ct.id)...), nil)
	}
	for _, n := range c.nodes {
		a := n.host.Addr().String()
		args := []string{"noded", "--name", n.name, "--controller", strings.Join(c.urls(), ","),
			"--listen", net.JoinHostPort(a, nodePort), "--step-listen", net.JoinHostPort(a, stepPort), "--state-dir", filepath.Join(c.dir, n.name),
			"--cpus", strconv.Itoa(opts.cpus), "--memory", "2048", "--heartbeat", "1s",
			// Host jobs only: containerd is never reached.
			"--containerd-socket", filepath.Join(c.dir, "no-containerd.sock"),
			"--cgroup-parent", "fairway-hatest-" + c.net.ID() + "-" + n.name,
			"--checkpoint-dir-base", filepath.Join(c.dir, "checkpoints"), "--munge-socket", c.munge}
		if opts.gpus != "" {
			args = append(args, "--gpus", opts.gpus)
		}
		n.proc = c.start(n.host, n.name, n.log, append(args, c.tlsArgs("node", n.name)...), []string{munge.EnvSocket + "=" + c.munge})
	}
	if opts.hostsFile {
		c.addHostsEntries()
	}
	c.waitFor("a leader", 60*time.Second, func() bool { _, err := c.leader(t.Context()); return err == nil })
	c.waitFor("every node idle", 60*time.Second, func() bool {
		out, _, err := c.run("sinfo", "-N", "-h", "-o", "%N %t")
		if err != nil {
			return false
		}
		for _, n := range c.nodes {
			if !strings.Contains(out, n.name+" idle") {
				return false
			}
		}
		return true
	})
	return c
}

// issue makes a certificate for role name at addr with fairwayd pki issue.
func (c *cluster) issue(role, name, addr string) {
	c.t.Helper()
	out, err := exec.CommandContext(c.t.Context(), filepath.Join(env.binDir, "fairwayd"), "pki", "issue", "--dir", c.pkiDir(), role, name, "--host", addr).CombinedOutput()
	if err != nil {
		c.t.Fatalf("pki issue %s %s: %v: %s", role, name, err, out)
	}
}

// pkiDir is the cluster's PKI directory: the run's CA copied, so the
// certificates of different clusters (same names, other addresses) do not
// overwrite each other.
func (c *cluster) pkiDir() string {
	d := filepath.Join(c.dir, "pki")
	if _, err := os.Stat(d); err == nil {
		return d
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		c.t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "ca-key.pem"} {
		data, err := os.ReadFile(filepath.Join(env.pki, f))
		if err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, f), data, 0o600); err != nil {
			c.t.Fatal(err)
		}
	}
	return d
}

func (c *cluster) caFile() string { return filepath.Join(c.pkiDir(), "ca.pem") }

func (c *cluster) tlsArgs(role, name string) []string {
	d := c.pkiDir()
	return []string{"--tls-cert", filepath.Join(d, role+"-"+name+".pem"),
		"--tls-key", filepath.Join(d, role+"-"+name+"-key.pem"), "--tls-ca", filepath.Join(d, "ca.pem")}
}

// start runs fairwayd with args inside h, its output appended to logPath.
func (c *cluster) start(h *hosts.Host, name, logPath string, args, extraEnv []string) *hosts.Proc {
	c.t.Helper()
	f, err := hosts.LogFile(logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { f.Close() })
	cmd := exec.Command(filepath.Join(env.binDir, "fairwayd"), args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout, cmd.Stderr = f, f
	p, err := h.Start(c.t.Context(), name, cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// urls are the controllers' base URLs.
func (c *cluster) urls() []string {
	var u []string
	for _, ct := range c.ctlds {
		u = append(u, ct.url)
	}
	return u
}

// client is an api/client of the given controllers (all when none are
// named), authenticated with MUNGE. retry < 0 makes it try each once.
func (c *cluster) client(retry time.Duration, attempt time.Duration, ctlds ...*controller) *client.Client {
	urls := c.urls()
	if len(ctlds) > 0 {
		urls = nil
		for _, ct := range ctlds {
			urls = append(urls, ct.url)
		}
	}
	return client.NewWithOptions(client.Options{Addrs: strings.Join(urls, ","), CA: c.caFile(),
		RetryFor: retry, AttemptTimeout: attempt}).WithMungeSocket(c.munge)
}

// leader asks every controller for its status and returns the one that
// says it leads.
func (c *cluster) leader(ctx context.Context) (*controller, error) {
	var errs []error
	for _, ct := range c.ctlds {
		if !ct.proc.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		s, err := c.client(-1, 2*time.Second, ct).Status(ctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ct.id, err))
			continue
		}
		if s.Leader {
			return ct, nil
		}
	}
	return nil, fmt.Errorf("no controller leads: %w", errors.Join(errs...))
}

// waitLeader waits (at most timeout) for a leader.
func (c *cluster) waitLeader(timeout time.Duration) *controller {
	c.t.Helper()
	var l *controller
	c.waitFor("a leader", timeout, func() bool {
		var err error
		l, err = c.leader(c.t.Context())
		return err == nil
	})
	return l
}

// followers are the running controllers other than l.
func (c *cluster) followers(l *controller) []*controller {
	var f []*controller
	for _, ct := range c.ctlds {
		if ct != l {
			f = append(f, ct)
		}
	}
	return f
}

// run runs a client command (a Slurm-named link or fairway) in the root
// namespace with FAIRWAY_ADDR naming all three controllers.
func (c *cluster) run(name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.binDir, name), args...)
	cmd.Dir = c.workDir
	cmd.Env = append(os.Environ(), client.EnvAddr+"="+strings.Join(c.urls(), ","), client.EnvCA+"="+c.caFile(),
		client.EnvRetrySecs+"=30", munge.EnvSocket+"="+c.munge, "PATH="+env.binDir+":"+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// waitFor polls cond every 250 ms until it holds, at most timeout.
func (c *cluster) waitFor(what string, timeout time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		select {
		case <-c.t.Context().Done():
			c.t.Fatalf("test ended waiting for %s", what)
		case <-time.After(250 * time.Millisecond):
		}
	}
	c.t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

// kill SIGKILLs a controller.
func (c *cluster) kill(ct *controller) {
	c.t.Helper()
	if err := ct.proc.Kill(c.t.Context()); err != nil {
		c.t.Fatalf("kill %s: %v", ct.id, err)
	}
}

// restart starts a stopped or killed controller again with its data.
func (c *cluster) restart(ct *controller) {
	c.t.Helper()
	if err := ct.proc.Restart(c.t.Context()); err != nil {
		c.t.Fatalf("restart %s: %v", ct.id, err)
	}
}

// pause freezes a controller (SIGSTOP); resume continues it.
func (c *cluster) pause(ct *controller) {
	c.t.Helper()
	if err := ct.proc.Pause(); err != nil {
		c.t.Fatalf("pause %s: %v", ct.id, err)
	}
}

func (c *cluster) resume(ct *controller) {
	c.t.Helper()
	if err := ct.proc.Resume(); err != nil {
		c.t.Fatalf("resume %s: %v", ct.id, err)
	}
}

// cut isolates a controller's host from every other host and the clients;
// heal undoes it.
func (c *cluster) cut(ct *controller) {
	c.t.Helper()
	if err := ct.host.CutAll(c.t.Context()); err != nil {
		c.t.Fatalf("cut %s: %v", ct.id, err)
	}
}

func (c *cluster) heal(ct *controller) {
	c.t.Helper()
	if err := ct.host.Heal(c.t.Context()); err != nil {
		c.t.Fatalf("heal %s: %v", ct.id, err)
	}
}

// submitSpec is a job the load submits: held (stays pending) unless
// runnable, which runs a script writing start and end stamps into the
// cluster's stamp directory, one file per job.
func (c *cluster) submitSpec(name string, runnable bool) api.JobSpec {
	s := api.JobSpec{Name: name, Nodes: 1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 16, TimeLimitSecs: 120,
		WorkDir: c.workDir, Stdout: "/dev/null", Hold: !runnable,
		Script: "#!/bin/sh\ntrue\n"}
	if runnable {
		s.Script = fmt.Sprintf("#!/bin/sh\nf=%s/$SLURM_JOB_ID\necho \"start $(date +%%s%%N) $SLURM_RESTART_COUNT\" >> $f\necho \"end $(date +%%s%%N)\" >> $f\n", c.stamps)
	}
	return s
}

// stamp is what one runnable job wrote: the start times of its runs.
type stamp struct {
	starts []time.Time
	ends   int
}

// readStamps reads every job's stamp file.
func (c *cluster) readStamps() (map[string]stamp, error) {
	entries, err := os.ReadDir(c.stamps)
	if err != nil {
		return nil, fmt.Errorf("stamps: %w", err)
	}
	out := map[string]stamp{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(c.stamps, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("stamps: %w", err)
		}
		var s stamp
		for line := range strings.Lines(string(data)) {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			var ns int64
			if _, err := fmt.Sscan(f[1], &ns); err != nil {
				continue
			}
			switch f[0] {
			case "start":
				s.starts = append(s.starts, time.Unix(0, ns))
			case "end":
				s.ends++
			}
		}
		out[e.Name()] = s
	}
	return out, nil
}

// testWriter sends the harness's log lines to t.Log.
type testWriter struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func tailFile(path string, n int) string {
	data, _ := os.ReadFile(path)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// writeReport adds the test's summary to the JSON report: $FAIRWAY_HA_REPORT
// (an object keyed by test name), else a file per test in os.TempDir.
func writeReport(t *testing.T, summary any) {
	t.Helper()
	path := os.Getenv("FAIRWAY_HA_REPORT")
	all := map[string]any{}
	if path == "" {
		path = filepath.Join(os.TempDir(), "fairway-ha-"+t.Name()+".json")
	} else if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &all)
	}
	all[t.Name()] = summary
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Errorf("report: %v", err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("report: %v", err)
		return
	}
	t.Logf("report written to %s", path)
}

// errKind classifies a client error for the report.
func errKind(err error) string {
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr):
		return fmt.Sprintf("http %d", apiErr.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case strings.Contains(err.Error(), "may or may not have been applied"):
		return "outcome unknown"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "no answer within"):
		return "attempt timeout"
	}
	return "other"
}

// addHostsEntries adds a line per host to /etc/hosts, tagged with the Net's
// ID, and removes them when the test ends.
func (c *cluster) addHostsEntries() {
	c.t.Helper()
	tag := "# fairway-hatest " + c.net.ID()
	var lines []string
	for _, ct := range c.ctlds {
		lines = append(lines, ct.host.Addr().String()+" "+ct.id+" "+tag)
	}
	for _, n := range c.nodes {
		lines = append(lines, n.host.Addr().String()+" "+n.name+" "+tag)
	}
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	f.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		data, err := os.ReadFile("/etc/hosts")
		if err != nil {
			c.t.Error(err)
			return
		}
		var keep []string
		for line := range strings.Lines(string(data)) {
			if !strings.Contains(line, tag) {
				keep = append(keep, line)
			}
		}
		if err := os.WriteFile("/etc/hosts", []byte(strings.Join(keep, "")), 0o644); err != nil {
			c.t.Error(err)
		}
	})
}
