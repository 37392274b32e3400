// Package devcluster runs a whole Fairway cluster on one machine for
// development and demos (`fairwayd dev`, `make dev`): a private containerd when
// none is running, a private munged when the system's does not answer, one
// controller that authenticates users (MUNGE and JWT, with a JWT key made
// under Dir), one node daemon, and a demo job.
package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld"
	pkigen "github.com/fairway-hpc/fairway/ctld/pki"
	"github.com/fairway-hpc/fairway/noded"
	"github.com/fairway-hpc/fairway/noded/containerdproc"
	"github.com/fairway-hpc/fairway/noded/testimage"
)

// SystemContainerdSocket is where Debian's containerd listens.
const SystemContainerdSocket = "/run/containerd/containerd.sock"

// Options configure a development cluster.
type Options struct {
	Dir      string // state of every daemon, the demo image and the demo jobs' output
	HTTPAddr string // the controller's API address, e.g. 127.0.0.1:6817
	RaftAddr string // the controller's raft address
	NodeAddr string // the node daemon's metrics address
	NodeName string
	// ContainerdSocket: empty uses the system containerd when it is running, else
	// starts a private one under Dir.
	ContainerdSocket string
	// ToolsBinary is the client binary (cmd/fairway) the node daemon mounts
	// into container jobs, "-" for none (see noded.Config.ToolsBinary); its
	// directory, where `make build` also puts the Slurm-named links, is the
	// PATH the tour suggests.
	ToolsBinary string
	// FenceCommand starts the node's fence (see noded.Config.FenceCommand);
	// empty: the fence runs inside the node daemon.
	FenceCommand []string
	// MungeSocket: empty uses the system munged when it answers, else starts
	// a private one under Dir.
	MungeSocket string
	// InsecureNoAuth runs the controller with --insecure-no-auth (no munged
	// needed; requests are trusted for who they claim to be).
	InsecureNoAuth bool
	// InsecurePlaintext runs everything without TLS (a warning is logged).
	// By default a CA and the daemons' certificates are made under Dir/pki
	// (the CA is kept across runs) and every connection is mutual TLS.
	InsecurePlaintext bool
	Out               io.Writer // where the tour is printed
	Logger            *slog.Logger
}

// devPKI holds the dev cluster's TLS material.
type devPKI struct {
	caFile string
	ctld   *pki.Credentials
	node   *pki.Credentials
}

// setupPKI creates (or reuses) the CA under dir and issues the controller's
// and the node's certificates for the addresses they serve at.
func setupPKI(dir string, opts Options) (*devPKI, error) {
	ca, err := pkigen.LoadOrInit(dir, time.Now())
	if err != nil {
		return nil, fmt.Errorf("dev PKI: %w", err)
	}
	caFile := filepath.Join(dir, pkigen.CACertFile)
	issue := func(id pki.Identity, hosts ...string) (*pki.Credentials, error) {
		f, err := ca.IssueFiles(dir, pkigen.IssueRequest{Identity: id, Hosts: hosts, Now: time.Now()})
		if err != nil {
			return nil, fmt.Errorf("dev PKI: %w", err)
		}
		return pki.LoadCredentials(f.Cert, f.Key, caFile)
	}
	p := &devPKI{caFile: caFile}
	if p.ctld, err = issue(pki.Controller(devControllerID), opts.HTTPAddr, opts.RaftAddr, "localhost"); err != nil {
		return nil, err
	}
	if p.node, err = issue(pki.Node(opts.NodeName), opts.NodeAddr, "localhost"); err != nil {
		return nil, err
	}
	return p, nil
}

// devControllerID is the dev cluster's controller.
const devControllerID = "ctld1"

// Run starts containerd (if needed), a controller and a node daemon, runs a demo
// host job and a demo container job, prints how to submit more, and keeps the
// cluster running until ctx is cancelled.
func Run(ctx context.Context, opts Options) error {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("dev dir: %w", err)
	}
	logger := opts.Logger
	socket := opts.ContainerdSocket
	if socket == "" {
		if containerdproc.WaitSocket(ctx, SystemContainerdSocket, time.Second) == nil {
			socket = SystemContainerdSocket
		} else {
			ctrd, err := containerdproc.Start(ctx, filepath.Join(opts.Dir, "containerd"))
			if err != nil {
				return err
			}
			defer ctrd.Stop()
			socket = ctrd.Socket
			logger.Info("started a private containerd", "socket", socket)
		}
	}
	mungeSock := opts.MungeSocket
	if mungeSock == "" && !opts.InsecureNoAuth {
		sock, stop, err := mungeSocket(ctx, filepath.Join(opts.Dir, "munge"), logger)
		if err != nil {
			return fmt.Errorf("%w (or run with --insecure-no-auth)", err)
		}
		defer stop()
		mungeSock = sock
	}
	if mungeSock != "" {
		// The node daemon's API client takes its munged from the environment.
		if err := os.Setenv(munge.EnvSocket, mungeSock); err != nil {
			return fmt.Errorf("set %s: %w", munge.EnvSocket, err)
		}
	}
	jwtKey := filepath.Join(opts.Dir, "jwt_hs256.key")
	if err := writeKey(jwtKey, 32, 0o600); err != nil {
		return fmt.Errorf("JWT key: %w", err)
	}
	image := filepath.Join(opts.Dir, "demo-image.tar")
	if err := testimage.BuildOCIArchive(ctx, image, testimage.Options{
		Files: map[string][]byte{"/etc/fairway-test-image": []byte("fairway test image\n")},
	}); err != nil {
		return fmt.Errorf("build demo image: %w", err)
	}

	var tlsFiles *devPKI
	addr := "http://" + opts.HTTPAddr
	cl := client.NewWithOptions(client.Options{Addrs: addr})
	if opts.InsecurePlaintext {
		logger.Warn("INSECURE: the dev cluster runs without TLS (--insecure-plaintext): plain HTTP and raft, no daemon authentication")
	} else {
		var err error
		if tlsFiles, err = setupPKI(filepath.Join(opts.Dir, "pki"), opts); err != nil {
			return err
		}
		addr = "https://" + opts.HTTPAddr
		cl = client.NewWithOptions(client.Options{Addrs: addr, CA: tlsFiles.caFile})
	}
	var ctldTLS, nodeTLS *pki.Credentials
	if tlsFiles != nil {
		ctldTLS, nodeTLS = tlsFiles.ctld, tlsFiles.node
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() {
		errs <- ctld.Run(ctx, ctld.Config{
			ID: devControllerID, DataDir: filepath.Join(opts.Dir, "ctld"),
			HTTPAddr: opts.HTTPAddr, RaftAddr: opts.RaftAddr, Bootstrap: true,
			MungeSocket: mungeSock, JWTKeyFile: jwtKey, InsecureNoAuth: opts.InsecureNoAuth,
			Logger: logger.With("daemon", "ctld"), TLS: ctldTLS,
		})
	}()
	go func() {
		errs <- noded.Run(ctx, noded.Config{
			Name: opts.NodeName, ControllerAddrs: addr, ListenAddr: opts.NodeAddr,
			StateDir: filepath.Join(opts.Dir, "noded"), ContainerdSocket: socket,
			ContainerdNamespace: "fairway", Logger: logger.With("daemon", "noded"),
			CheckpointDirBase: filepath.Join(opts.Dir, "checkpoints"), ToolsBinary: opts.ToolsBinary,
			TLS: nodeTLS, MungeSocket: mungeSock, FenceCommand: opts.FenceCommand,
			StepListenAddr: "127.0.0.1:0", // srun's steps, on loopback
		})
	}()

	cl = cl.WithMungeSocket(mungeSock)
	if err := waitNode(ctx, cl, opts.NodeName, errs); err != nil {
		return err
	}
	if err := demo(ctx, cl, opts, image); err != nil {
		return err
	}
	exports := "FAIRWAY_ADDR=" + addr
	security := "without TLS (--insecure-plaintext)"
	if tlsFiles != nil {
		exports += " FAIRWAY_CA=" + tlsFiles.caFile
		security = "over mutual TLS (CA and certificates in " + filepath.Dir(tlsFiles.caFile) + ")"
	}
	fmt.Fprintf(opts.Out, `
Fairway is running %s: controller %s, node %s.
In another shell:
  export PATH=%s:$PATH %s%s
  sbatch --wrap 'echo hello; sleep 5'
  sbatch --container-image=oci-archive:%s --wrap 'cat /etc/fairway-test-image'
  squeue; sacct; sinfo; scontrol show node %s
  scontrol token    # a JWT for slurmrestd-style clients (X-SLURM-USER-TOKEN) and the dashboard
  fairway explain JOBID; squeue --start; sdiag
Dashboard: %s/ui/ (sign in with the token scontrol token prints).
Press Ctrl-C to stop (jobs keep their state in %s).
`, security, addr, opts.NodeName, binDir(opts.ToolsBinary), exports, mungeExport(mungeSock), image, opts.NodeName, addr, opts.Dir)

	select {
	case <-ctx.Done():
		cancel()
		// Both daemons return on cancellation; wait for them to shut down.
		for range 2 {
			if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
				logger.Warn("daemon stopped", "err", err)
			}
		}
		return nil
	case err := <-errs:
		return fmt.Errorf("a daemon stopped: %w", err)
	}
}

// mungeExport is the tour's export of the munged socket, when not the
// system's.
func mungeExport(socket string) string {
	if socket == "" || socket == munge.DefaultSocket {
		return ""
	}
	return " " + munge.EnvSocket + "=" + socket
}

// binDir is the directory of the client binary, else of the running one.
func binDir(client string) string {
	if client != "" && client != "-" {
		return filepath.Dir(client)
	}
	exe, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(exe)
}

func waitNode(ctx context.Context, cl *client.Client, name string, errs <-chan error) error {
	deadline := time.After(60 * time.Second)
	for {
		if resp, err := cl.Nodes(ctx, client.QueryOptions{}); err == nil {
			for _, n := range resp.Nodes {
				if n.Name == name && n.State != api.NodeDown {
					return nil
				}
			}
		}
		select {
		case err := <-errs:
			return fmt.Errorf("a daemon stopped before the node registered: %w", err)
		case <-deadline:
			return fmt.Errorf("node %s did not register within 60s", name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// demo submits a host job and a container job and prints how they ended.
func demo(ctx context.Context, cl *client.Client, opts Options, image string) error {
	// The controller checks these claims against the MUNGE credential.
	user := strconv.Itoa(os.Getuid())
	if u, err := osuser.LookupId(user); err == nil {
		user = u.Username
	}
	work := filepath.Join(opts.Dir, "demo")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("demo dir: %w", err)
	}
	specs := []api.JobSpec{
		{Name: "demo-host", User: user, UID: os.Getuid(), GID: os.Getgid(), Nodes: 1, NTasks: 1, CPUsPerTask: 1,
			WorkDir: work, Stdout: "demo-host-%j.out",
			Script: "#!/bin/sh\necho \"hello from job $SLURM_JOB_ID ($SLURM_JOB_NAME) on $SLURMD_NODENAME, a host process\"\n"},
		{Name: "demo-container", User: user, UID: os.Getuid(), GID: os.Getgid(), Nodes: 1, NTasks: 1, CPUsPerTask: 1,
			WorkDir: work, Stdout: "demo-container-%j.out", ContainerImage: "oci-archive:" + image,
			Script: "#!/bin/sh\necho \"hello from job $SLURM_JOB_ID ($SLURM_JOB_NAME), in a container:\"; cat /etc/fairway-test-image\n"},
	}
	ids, err := cl.Submit(ctx, specs...)
	if err != nil {
		return fmt.Errorf("submit demo jobs: %w", err)
	}
	for _, id := range ids {
		job, err := waitFinal(ctx, cl, id)
		if err != nil {
			return err
		}
		out, _ := os.ReadFile(job.StdoutPath)
		fmt.Fprintf(opts.Out, "demo job %d (%s): %s, exit %d:%d, output %s:\n  %s\n", job.ID, job.Spec.Name,
			job.State, job.ExitCode, job.Signal, job.StdoutPath, strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n  "))
	}
	return nil
}

func waitFinal(ctx context.Context, cl *client.Client, id api.JobID) (*api.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var index uint64
	for {
		resp, err := cl.Jobs(ctx, client.JobFilter{All: true, IDs: []api.JobID{id}}, client.QueryOptions{WaitIndex: index, WaitTime: 10 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("wait for demo job %d: %w", id, err)
		}
		index = resp.Index
		if len(resp.Jobs) == 1 && resp.Jobs[0].State.Final() {
			return resp.Jobs[0], nil
		}
	}
}
