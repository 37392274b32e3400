// Package cluster starts the scale harness's controllers — real `fairwayd
// ctld` processes on loopback addresses, raft and the API over TLS with a
// CA it creates — or attaches to running ones, and measures them: CPU and
// resident memory from /proc, raft log and snapshot sizes from their data
// directories, snapshot durations from their logs.
package cluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
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
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// Options configure the controllers Start runs.
type Options struct {
	Fairwayd string // the fairwayd binary
	Dir      string // PKI, keys, data directories and logs
	Count    int    // controllers
	// IPPrefix is the first three octets of the loopback addresses
	// (controller i listens on IPPrefix.(11+i)); HTTPPort and RaftPort the
	// ports on each; PprofPort, when not 0, serves Go's profiles there.
	IPPrefix                      string
	HTTPPort, RaftPort, PprofPort int
	SchedInterval                 time.Duration
	Config                        api.ClusterConfig
	ExtraArgs                     []string
	Log                           *slog.Logger
}

// Controller is one controller process.
type Controller struct {
	ID        string
	HTTPAddr  string
	RaftAddr  string
	PprofAddr string // "" when none
	DataDir   string
	LogFile   string
	args      []string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// URL is the controller's API base URL.
func (c *Controller) URL() string { return "https://" + c.HTTPAddr }

// PID is the process ID, 0 when not running (or not started here).
func (c *Controller) PID() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	select {
	case <-c.exited:
		return 0
	default:
		return c.cmd.Process.Pid
	}
}

// Cluster is the controllers and the credentials to reach them.
type Cluster struct {
	Ctls   []*Controller
	CA     *pki.CA
	CAFile string
	JWTKey []byte
	fw     string
	log    *slog.Logger
	admin  *apipki.Credentials
}

// Start creates the CA, the controllers' certificates, the JWT key and the
// cluster configuration in opts.Dir and starts the controllers, all
// bootstrapping with the same peers; it returns once one is leader.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("controllers: %d, want at least 1", opts.Count)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster directory: %w", err)
	}
	pkiDir := filepath.Join(opts.Dir, "pki")
	ca, err := pki.LoadOrInit(pkiDir, time.Now())
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	c := &Cluster{CA: ca, CAFile: filepath.Join(pkiDir, pki.CACertFile), fw: opts.Fairwayd, log: opts.Log}
	c.JWTKey = make([]byte, 32)
	if _, err := rand.Read(c.JWTKey); err != nil {
		return nil, fmt.Errorf("JWT key: %w", err)
	}
	keyFile := filepath.Join(opts.Dir, "jwt_hs256.key")
	if err := os.WriteFile(keyFile, c.JWTKey, 0o600); err != nil {
		return nil, fmt.Errorf("JWT key: %w", err)
	}
	cfgFile := filepath.Join(opts.Dir, "cluster.json")
	data, err := json.Marshal(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("cluster configuration: %w", err)
	}
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		return nil, fmt.Errorf("cluster configuration: %w", err)
	}
	if err := c.issueAdmin(); err != nil {
		return nil, err
	}
	var peers []string
	for i := range opts.Count {
		ip := fmt.Sprintf("%s.%d", opts.IPPrefix, 11+i)
		ct := &Controller{ID: fmt.Sprintf("ctl%d", i+1), HTTPAddr: net.JoinHostPort(ip, strconv.Itoa(opts.HTTPPort)),
			RaftAddr: net.JoinHostPort(ip, strconv.Itoa(opts.RaftPort)), DataDir: filepath.Join(opts.Dir, fmt.Sprintf("ctl%d", i+1)),
			LogFile: filepath.Join(opts.Dir, fmt.Sprintf("ctl%d.log", i+1))}
		if opts.PprofPort != 0 {
			ct.PprofAddr = net.JoinHostPort(ip, strconv.Itoa(opts.PprofPort))
		}
		f, err := ca.IssueFiles(pkiDir, pki.IssueRequest{Identity: apipki.Controller(ct.ID), Hosts: []string{ip}, Now: time.Now()})
		if err != nil {
			return nil, fmt.Errorf("certificate of %s: %w", ct.ID, err)
		}
		ct.args = []string{"ctld", "--id", ct.ID, "--data-dir", ct.DataDir, "--http-addr", ct.HTTPAddr, "--raft-addr", ct.RaftAddr,
			"--bootstrap", "--cluster-config", cfgFile, "--jwt-key", keyFile, "--munge-socket", filepath.Join(opts.Dir, "no-munge.sock"),
			"--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", c.CAFile}
		if opts.SchedInterval > 0 {
			ct.args = append(ct.args, "--sched-interval", opts.SchedInterval.String())
		}
		if ct.PprofAddr != "" {
			ct.args = append(ct.args, "--pprof-addr", ct.PprofAddr)
		}
		ct.args = append(ct.args, opts.ExtraArgs...)
		peers = append(peers, ct.ID+"="+ct.RaftAddr)
		c.Ctls = append(c.Ctls, ct)
	}
	for _, ct := range c.Ctls {
		ct.args = append(ct.args, "--peers", strings.Join(peers, ","))
		if err := c.start(ct); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if _, err := c.WaitLeader(ctx, time.Minute); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Attach uses running controllers: addrs their API addresses, pkiDir the
// cluster's CA (ca.pem and ca-key.pem: the simulated nodes' certificates
// are issued from it), jwtKeyFile the cluster's HS256 key.
func Attach(addrs []string, pkiDir, jwtKeyFile string) (*Cluster, error) {
	ca, err := pki.Load(pkiDir)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	key, err := os.ReadFile(jwtKeyFile)
	if err != nil {
		return nil, fmt.Errorf("attach: JWT key: %w", err)
	}
	c := &Cluster{CA: ca, CAFile: filepath.Join(pkiDir, pki.CACertFile), JWTKey: key, log: slog.Default()}
	for i, a := range addrs {
		a = strings.TrimPrefix(strings.TrimSpace(a), "https://")
		c.Ctls = append(c.Ctls, &Controller{ID: fmt.Sprintf("addr%d", i+1), HTTPAddr: a})
	}
	if err := c.issueAdmin(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) issueAdmin() error {
	iss, err := c.CA.Issue(pki.IssueRequest{Identity: apipki.Admin("scale"), Now: time.Now()})
	if err != nil {
		return fmt.Errorf("administrator certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(iss.CertPEM, iss.KeyPEM)
	if err != nil {
		return fmt.Errorf("administrator certificate: %w", err)
	}
	pool, err := apipki.ParseCAPool(c.CA.CertPEM())
	if err != nil {
		return fmt.Errorf("CA: %w", err)
	}
	c.admin = &apipki.Credentials{Cert: pair, Identity: apipki.Admin("scale"), CAs: pool}
	return nil
}

func (c *Cluster) start(ct *Controller) error {
	logf, err := os.OpenFile(ct.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log of %s: %w", ct.ID, err)
	}
	defer logf.Close()
	cmd := exec.Command(c.fw, ct.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group (a ^C to the harness reaches it through Stop),
	// and killed when the harness dies, so no controller outlives a crash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", ct.ID, err)
	}
	ct.cmd, ct.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(ct.exited) }()
	c.log.Info("controller started", "id", ct.ID, "pid", cmd.Process.Pid, "http", ct.HTTPAddr)
	return nil
}

// URLs are the controllers' API base URLs.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.Ctls))
	for i, ct := range c.Ctls {
		out[i] = ct.URL()
	}
	return out
}

// Admin is a client with the harness's administrator certificate for
// the given controllers (all when none).
func (c *Cluster) Admin(ctls ...*Controller) *client.Client {
	if len(ctls) == 0 {
		ctls = c.Ctls
	}
	var addrs []string
	for _, ct := range ctls {
		addrs = append(addrs, ct.URL())
	}
	return client.NewWithOptions(client.Options{Addrs: strings.Join(addrs, ","), TLS: c.admin.ClientConfig(),
		AttemptTimeout: 30 * time.Second, RetryFor: -1}).WithAuth(client.NoAuth{})
}

// Token is a Slurm auth/jwt token for user signed with the cluster's key.
func (c *Cluster) Token(user string, lifespan time.Duration) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{"sun": user, "iat": now.Unix(), "exp": now.Add(lifespan).Unix()}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(c.JWTKey)
	if err != nil {
		return "", fmt.Errorf("token of %s: %w", user, err)
	}
	return tok, nil
}

// Leader asks each controller which one leads and returns it.
func (c *Cluster) Leader(ctx context.Context) (*Controller, error) {
	var errs []error
	for _, ct := range c.Ctls {
		if ct.cmd != nil && ct.PID() == 0 {
			errs = append(errs, fmt.Errorf("%s is not running (log %s)", ct.ID, ct.LogFile))
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := c.Admin(ct).Status(actx)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Leader {
			return ct, nil
		}
		for _, o := range c.Ctls {
			if o.ID == st.LeaderID && (o.cmd == nil || o.PID() != 0) {
				return o, nil
			}
		}
	}
	return nil, fmt.Errorf("no leader: %w", errors.Join(errs...))
}

// WaitLeader polls until a controller leads, at most limit.
func (c *Cluster) WaitLeader(ctx context.Context, limit time.Duration) (*Controller, error) {
	deadline := time.Now().Add(limit)
	for {
		l, err := c.Leader(ctx)
		if err == nil {
			return l, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("waited %s for a leader: %w", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill sends SIGKILL to a controller this harness started and waits for
// it to exit.
func (c *Cluster) Kill(ct *Controller) error {
	if ct.PID() == 0 {
		return fmt.Errorf("kill %s: not running here", ct.ID)
	}
	if err := ct.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", ct.ID, err)
	}
	select {
	case <-ct.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s: still running 10 s after SIGKILL", ct.ID)
	}
}

// Restart starts a stopped controller again with its arguments.
func (c *Cluster) Restart(ct *Controller) error {
	if ct.args == nil {
		return fmt.Errorf("restart %s: not started by this harness", ct.ID)
	}
	return c.start(ct)
}

// Stop ends the controllers this harness started: SIGTERM, SIGKILL after
// 10 s.
func (c *Cluster) Stop() {
	for _, ct := range c.Ctls {
		if ct.PID() != 0 {
			_ = ct.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.After(10 * time.Second)
	for _, ct := range c.Ctls {
		if ct.cmd == nil {
			continue
		}
		select {
		case <-ct.exited:
		case <-deadline:
			_ = ct.cmd.Process.Signal(syscall.SIGKILL)
			<-ct.exited
		}
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// ProcSample is a process's CPU time used so far and its resident memory.
type ProcSample struct {
	CPU time.Duration
	RSS int64 // bytes
}

// ReadProc reads /proc/PID/stat (utime + stime) and /proc/PID/status
// (VmRSS).
func ReadProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("read proc: %w", err)
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ProcSample{}, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return ProcSample{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// After the command: state(0) ... utime(11) stime(12).
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	out := ProcSample{CPU: time.Duration(ut+st) * time.Second / clockTicks}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, fmt.Errorf("read proc: %w", err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			out.RSS = kb * 1024
		}
	}
	return out, nil
}

// Disk is what a controller's data directory holds.
type Disk struct {
	RaftDB    int64    // raft.db (log and stable store)
	Snapshots []string // snapshot directory names, oldest first
	SnapBytes int64    // size of the newest snapshot's state
}

// ReadDisk reads a data directory's sizes.
func ReadDisk(dataDir string) Disk {
	var d Disk
	if fi, err := os.Stat(filepath.Join(dataDir, "raft.db")); err == nil {
		d.RaftDB = fi.Size()
	}
	ents, _ := os.ReadDir(filepath.Join(dataDir, "snapshots"))
	for _, e := range ents {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			d.Snapshots = append(d.Snapshots, e.Name())
		}
	}
	if n := len(d.Snapshots); n > 0 {
		if fi, err := os.Stat(filepath.Join(dataDir, "snapshots", d.Snapshots[n-1], "state.bin")); err == nil {
			d.SnapBytes = fi.Size()
		}
	}
	return d
}

// SnapshotDurations reads raft's "starting snapshot up to" and "snapshot
// complete up to" lines from a controller's log and returns the time
// between each pair.
func SnapshotDurations(logFile string) []time.Duration {
	f, err := os.Open(logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []time.Duration
	var started time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		starting := strings.Contains(line, "starting snapshot up to")
		done := strings.Contains(line, "snapshot complete up to")
		if !starting && !done {
			continue
		}
		t, ok := logTime(line)
		if !ok {
			continue
		}
		if starting {
			started = t
		} else if !started.IsZero() {
			out = append(out, t.Sub(started))
			started = time.Time{}
		}
	}
	return out
}

// logTime reads slog's time=... attribute.
func logTime(line string) (time.Time, bool) {
	i := strings.Index(line, "time=")
	if i < 0 {
		return time.Time{}, false
	}
	rest := line[i+5:]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	t, err := time.Parse(time.RFC3339Nano, rest)
	return t, err == nil
}
