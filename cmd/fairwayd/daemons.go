package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/contrib/devcluster"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/alerts"
	"github.com/fairway-hpc/fairway/noded"
	"github.com/fairway-hpc/fairway/raftstore"
)

// daemonCommands returns the subcommands of the fairwayd binary; each only
// maps its flags onto its package's Config and calls Run.
func daemonCommands() []*cli.Command {
	return []*cli.Command{ctldCommand(), nodedCommand(), devCommand(), pkiCommand(), fenceCommand()}
}

// tlsFlags are a daemon's TLS flags: its certificate, key and the cluster CA
// bundle, or the explicit insecure mode.
func tlsFlags(role string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-cert", Usage: "this " + role + "'s certificate (PEM; from fairwayd pki issue)"},
		&cli.StringFlag{Name: "tls-key", Usage: "the key of --tls-cert (PEM)"},
		&cli.StringFlag{Name: "tls-ca", Usage: "the cluster CA bundle (PEM; during a CA rotation the old and the new CA)"},
		&cli.BoolFlag{Name: "insecure-plaintext", Usage: "run without TLS: plain HTTP and raft, every node and controller claim trusted (development only)"},
	}
}

// tlsCredentials loads the daemon's credentials from its TLS flags; nil with
// --insecure-plaintext, after a warning.
func tlsCredentials(c *cli.Context, log *slog.Logger) (*pki.Credentials, error) {
	given := c.String("tls-cert") != "" || c.String("tls-key") != "" || c.String("tls-ca") != ""
	if c.Bool("insecure-plaintext") {
		if given {
			return nil, fmt.Errorf("--insecure-plaintext and --tls-cert/--tls-key/--tls-ca exclude each other")
		}
		log.Warn("INSECURE: --insecure-plaintext: no TLS and no daemon authentication; use only on a machine you trust")
		return nil, nil
	}
	if !given {
		return nil, fmt.Errorf("TLS is required: give --tls-cert, --tls-key and --tls-ca (see fairwayd pki), or --insecure-plaintext")
	}
	creds, err := pki.LoadCredentials(c.String("tls-cert"), c.String("tls-key"), c.String("tls-ca"))
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return creds, nil
}

// logger logs at info level (--debug: debug); `fairwayd dev` logs warnings
// only unless --debug, so that its tour stays readable.
func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	if c.Command.Name == "dev" {
		level = slog.LevelWarn
	}
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

var debugFlag = &cli.BoolFlag{Name: "debug", Usage: "log at debug level"}

func ctldCommand() *cli.Command {
	return &cli.Command{
		Name:   "ctld",
		Usage:  "run a controller (raft member, HTTP API, scheduler when leader)",
		Before: loadConfig,
		Flags: append([]cli.Flag{
			configFlag("/etc/fairway/ctld.toml"),
			&cli.StringFlag{Name: "id", Value: "ctld1", Usage: "raft server ID of this controller"},
			&cli.StringFlag{Name: "data-dir", Value: "/var/lib/fairway/ctld", Usage: "raft log, stable store and snapshots"},
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:6817", Usage: "HTTP API address (listen and advertise)"},
			&cli.StringFlag{Name: "raft-addr", Value: "127.0.0.1:6818", Usage: "raft transport address"},
			&cli.BoolFlag{Name: "bootstrap", Usage: "create a new cluster when the data dir holds no raft state"},
			&cli.StringFlag{Name: "peers", Usage: "initial voters for --bootstrap: id=raftaddr,id=raftaddr (this controller included)"},
			&cli.StringFlag{Name: "join", Usage: "HTTP address of a running controller to join as a voter"},
			&cli.IntFlag{Name: "raft-multiplier", Usage: "scale raft's 500 ms heartbeat, election and lease timeouts by 1-10 (as Consul's raft_multiplier) for controllers starved of CPU or far apart; failover slows by the same factor; use the same on every controller (default 1)"},
			&cli.StringFlag{Name: "cluster-config", Usage: "cluster configuration (JSON api.ClusterConfig: partitions, accounts, QOS, weights) applied at first start"},
			&cli.DurationFlag{Name: "node-down-after", Usage: "mark a node DOWN after this long without heartbeat (overrides the cluster config)"},
			&cli.DurationFlag{Name: "dead-controller-remove-after", Usage: "the leader removes a controller its heartbeats have not reached for this long, never below --min-quorum voters (default 0: never)"},
			&cli.IntFlag{Name: "min-quorum", Usage: "the fewest voters the automatic removal of dead controllers leaves (default 3)"},
			&cli.DurationFlag{Name: "sched-interval", Usage: "periodic scheduling pass interval"},
			&cli.DurationFlag{Name: "estimate-interval", Usage: "how often the leader replays the queue to estimate pending jobs' start times (default 1m; negative: never)"},
			&cli.IntFlag{Name: "estimate-replays", Usage: "sampled replays per start-time estimate (default 20)"},
			&cli.IntFlag{Name: "estimate-max-jobs", Usage: "start-time estimates replay at most this many pending jobs, the first by priority, as Slurm's bf_max_job_test (default 5000; negative: all)"},
			&cli.DurationFlag{Name: "estimate-horizon", Usage: "how far ahead a start-time estimate replays the queue (default a week)"},
			&cli.DurationFlag{Name: "estimate-arrivals-window", Usage: "start-time estimates and what-if replays add arrivals like the jobs submitted in this last window, at their rate (default 1h; negative: none)"},
			&cli.StringFlag{Name: "munge-socket", Value: munge.DefaultSocket, Usage: "socket of the munged that decodes users' MUNGE credentials (the cluster's munge key)"},
			&cli.StringFlag{Name: "jwt-key", Usage: "the cluster's HS256 key for Slurm auth/jwt tokens (raw bytes, at least 32; dd if=/dev/random of=jwt_hs256.key bs=32 count=1); without it tokens are neither accepted nor issued"},
			&cli.BoolFlag{Name: "insecure-no-auth", Usage: "trust requests without credentials for who they claim to be (tests and single-user machines only)"},
			&cli.StringFlag{Name: "prometheus-url", Usage: "the cluster's Prometheus (http:// or https:// URL), linked from the web dashboard"},
			&cli.StringFlag{Name: "grafana-url", Usage: "the cluster's Grafana dashboard (http:// or https:// URL), linked from the web dashboard"},
			&cli.DurationFlag{Name: "history-interval", Usage: "how often this controller samples its state for the dashboard's history and evaluates its alerts (default 15s)"},
			&cli.DurationFlag{Name: "alert-pending-age", Usage: "alert when an account's oldest waiting job has waited longer (default 1h)"},
			&cli.DurationFlag{Name: "alert-idle-gpus-for", Usage: "alert when GPUs of a partition stay idle this long while its GPU jobs wait (default 10m)"},
			&cli.StringFlag{Name: "pprof-addr", Usage: "serve Go's profiles (/debug/pprof/) on this loopback host:port, without authentication (measurements)"},
			debugFlag,
		}, tlsFlags("controller")...),
		Action: func(c *cli.Context) error {
			cfg, err := ctldConfig(c)
			if err != nil {
				return err
			}
			if addr := c.String("pprof-addr"); addr != "" {
				if err := servePprof(c.Context, addr, cfg.Logger); err != nil {
					return err
				}
			}
			return ctld.Run(c.Context, cfg)
		},
	}
}

// ctldConfig maps the ctld command's flags (after its configuration file)
// onto ctld.Config.
func ctldConfig(c *cli.Context) (ctld.Config, error) {
	peers, err := parsePeers(c.String("peers"))
	if err != nil {
		return ctld.Config{}, err
	}
	log := logger(c)
	creds, err := tlsCredentials(c, log)
	if err != nil {
		return ctld.Config{}, err
	}
	return ctld.Config{
		ID: c.String("id"), DataDir: c.String("data-dir"),
		HTTPAddr: c.String("http-addr"), RaftAddr: c.String("raft-addr"),
		Bootstrap: c.Bool("bootstrap"), Peers: peers, Join: c.String("join"),
		RaftTimingMultiplier:      c.Int("raft-multiplier"),
		ClusterConfigFile:         c.String("cluster-config"),
		NodeDownAfter:             c.Duration("node-down-after"),
		DeadControllerRemoveAfter: c.Duration("dead-controller-remove-after"),
		MinQuorum:                 c.Int("min-quorum"),
		SchedInterval:             c.Duration("sched-interval"),
		MungeSocket:               c.String("munge-socket"),
		JWTKeyFile:                c.String("jwt-key"),
		InsecureNoAuth:            c.Bool("insecure-no-auth"),
		PrometheusURL:             c.String("prometheus-url"),
		GrafanaURL:                c.String("grafana-url"),
		HistoryInterval:           c.Duration("history-interval"),
		Alerts:                    alerts.Rules{PendingAge: c.Duration("alert-pending-age"), IdleGPUsFor: c.Duration("alert-idle-gpus-for")},
		Logger:                    log,
		TLS:                       creds,

		Estimates: ctld.EstimateConfig{Interval: c.Duration("estimate-interval"), Replays: c.Int("estimate-replays"), MaxJobs: c.Int("estimate-max-jobs"),
			Horizon: c.Duration("estimate-horizon"), ArrivalsWindow: c.Duration("estimate-arrivals-window")},
	}, nil
}

func parsePeers(s string) ([]raftstore.Peer, error) {
	var peers []raftstore.Peer
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, addr, ok := strings.Cut(p, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("invalid --peers entry %q: want id=host:port", p)
		}
		peers = append(peers, raftstore.Peer{ID: id, RaftAddr: addr})
	}
	return peers, nil
}

func nodedCommand() *cli.Command {
	return &cli.Command{
		Name:   "noded",
		Usage:  "run a node daemon (registers, runs the jobs the controller assigns)",
		Before: loadConfig,
		Flags: append([]cli.Flag{
			configFlag("/etc/fairway/noded.toml"),
			&cli.StringFlag{Name: "name", Usage: "node name (default: host name)"},
			&cli.StringFlag{Name: "controller", Usage: "controller address(es), comma-separated (default $FAIRWAY_ADDR)"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:6819", Usage: "address for /metrics and /healthz (empty: none)"},
			&cli.StringFlag{Name: "step-listen", Value: ":6820", Usage: "address of the step server srun launches job steps on (https with the node's certificate; empty: none)"},
			&cli.StringFlag{Name: "state-dir", Value: "/var/lib/fairway/noded", Usage: "per-run records, scripts and status files"},
			&cli.IntFlag{Name: "cpus", Usage: "CPUs offered (default: all)"},
			&cli.Int64Flag{Name: "memory", Usage: "memory offered in MB (default: all)"},
			&cli.StringSliceFlag{Name: "partition", Aliases: []string{"partitions"}, Usage: "partitions the node joins"},
			&cli.StringFlag{Name: "gpus", Usage: "declare N fake GPUs of a type (N[:TYPE], type default \"gpu\") for tests and demos on machines without GPUs; jobs get their indices but no device"},
			&cli.StringSliceFlag{Name: "gpus-unhealthy", Usage: "declare fake GPUs of --gpus unhealthy: INDEX:REASON (repeated; the reason without commas), as if their health check had failed, for tests and demos"},
			&cli.StringFlag{Name: "containerd-socket", Value: devcluster.SystemContainerdSocket, Usage: "containerd's socket"},
			&cli.StringFlag{Name: "containerd-namespace", Value: "fairway", Usage: "containerd namespace of job containers"},
			&cli.DurationFlag{Name: "heartbeat", Usage: "heartbeat interval (default 3s); each acknowledged heartbeat renews the node's lease"},
			&cli.StringFlag{Name: "cgroup-parent", Value: "fairway", Usage: "cgroup below which job cgroups are made"},
			&cli.StringFlag{Name: "checkpoint-dir-base", Value: "/var/lib/fairway/checkpoints", Usage: "where jobs' checkpoint directories (FAIRWAY_CHECKPOINT_DIR) are made when the cluster configures no base (scheduling.checkpoint_dir_base)"},
			&cli.DurationFlag{Name: "checkpoint-retention", Value: 24 * time.Hour, Usage: "how long a job's checkpoint directory is kept after the job finally ended"},
			&cli.StringSliceFlag{Name: "mount-allow", Usage: "path prefixes any container job may bind-mount with --container-mounts even where its user cannot read them (comma-separated or repeated; default none)"},
			&cli.StringFlag{Name: "tools-binary", Usage: "client binary mounted into container jobs as /usr/local/bin/fairway, scontrol, srun, ...: a static build (CGO_ENABLED=0) runs in any image (default: the fairway client beside fairwayd; \"-\": none)"},
			&cli.DurationFlag{Name: "kill-wait", Usage: "time between SIGTERM and SIGKILL when a job is stopped, and the grace time of a stop that names none (default 5s)"},
			debugFlag,
			&cli.StringFlag{Name: "nvml", Value: noded.NVMLAuto, Usage: "find the GPUs with NVML: auto (when the NVIDIA driver is there and no --gpus are declared), on (do not start without it) or off"},
			&cli.StringFlag{Name: "gpu-type-override", Usage: "type of every GPU instead of the one NVML's model name gives (h100, h200, a100, ...)"},
			&cli.StringFlag{Name: "hpc-job-mapping-dir", Usage: "NVIDIA dcgm-exporter's HPC job mapping directory (its --hpc-job-mapping-dir): one file per GPU in use, named by its index, listing the jobs that hold it, so DCGM metrics carry hpc_job (default: off)"},
			&cli.DurationFlag{Name: "gpu-check-interval", Usage: "how often each GPU's health is polled, besides NVML's events (default 30s)"},
			&cli.StringSliceFlag{Name: "cdi-dir", Usage: "CDI spec directory giving container jobs the GPU driver's user space (default /etc/cdi and /var/run/cdi)"},
			&cli.StringSliceFlag{Name: "driver-dir", Usage: "directory searched for the driver's libraries, nvidia-smi and libnvidia-ml.so.1 when no CDI spec names the GPUs (default /usr/local/nvidia/lib64, /usr/local/nvidia/bin, /usr/lib/x86_64-linux-gnu, ...)"},
			&cli.StringFlag{Name: "munge-socket", Usage: "the node's munged socket, given to jobs (mounted into containers) so their commands authenticate as the job's user (default $FAIRWAY_MUNGE_SOCKET, else munge's default)"},
		}, tlsFlags("node daemon")...),
		Action: func(c *cli.Context) error {
			cfg, err := nodedConfig(c)
			if err != nil {
				return err
			}
			return noded.Run(c.Context, cfg)
		},
	}
}

// nodedConfig maps the noded command's flags (after its configuration file)
// onto noded.Config.
func nodedConfig(c *cli.Context) (noded.Config, error) {
	gpus, err := fakeGPUs(c.String("gpus"), c.String("name"))
	if err != nil {
		return noded.Config{}, err
	}
	if err := markUnhealthy(gpus, c.StringSlice("gpus-unhealthy")); err != nil {
		return noded.Config{}, err
	}
	log := logger(c)
	creds, err := tlsCredentials(c, log)
	if err != nil {
		return noded.Config{}, err
	}
	fenceCmd, err := fenceArgv()
	if err != nil {
		return noded.Config{}, err
	}
	return noded.Config{
		FenceCommand: fenceCmd,
		Name:         c.String("name"), ControllerAddrs: c.String("controller"),
		ListenAddr: c.String("listen"), StepListenAddr: c.String("step-listen"), StateDir: c.String("state-dir"),
		CPUs: c.Int("cpus"), MemoryMB: c.Int64("memory"), Partitions: c.StringSlice("partition"), GPUs: gpus,
		ContainerdSocket: c.String("containerd-socket"), ContainerdNamespace: c.String("containerd-namespace"),
		HeartbeatInterval: c.Duration("heartbeat"), CgroupParent: c.String("cgroup-parent"),
		CheckpointDirBase: c.String("checkpoint-dir-base"), CheckpointRetention: c.Duration("checkpoint-retention"),
		KillGrace: c.Duration("kill-wait"), ToolsBinary: c.String("tools-binary"),
		MountAllow: nonEmpty(c.StringSlice("mount-allow")), MungeSocket: c.String("munge-socket"),
		Logger: log,
		NVML:   c.String("nvml"), GPUType: c.String("gpu-type-override"), GPUCheckInterval: c.Duration("gpu-check-interval"),
		HPCJobMappingDir: c.String("hpc-job-mapping-dir"),
		CDIDirs:          nonEmpty(c.StringSlice("cdi-dir")), DriverDirs: nonEmpty(c.StringSlice("driver-dir")),
		TLS: creds,
	}, nil
}

// nonEmpty returns nil for an empty list (an unset flag: the default applies).
func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// fakeGPUs parses --gpus N[:TYPE] into an inventory of N healthy GPUs with
// indices and minors 0..N-1 and UUIDs naming the node, so that a machine
// without GPUs can run GPU scheduling end to end. "" means none.
func fakeGPUs(spec, node string) ([]api.GPU, error) {
	if spec == "" {
		return nil, nil
	}
	count, typ, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > 1024 || strings.ContainsAny(typ, " ,:") {
		return nil, fmt.Errorf("invalid --gpus %q: want a count of 1 or more, optionally with a type, as in 4 or 8:h100", spec)
	}
	if typ == "" {
		typ = "gpu"
	}
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("--gpus: node name: %w", err)
		}
	}
	gpus := make([]api.GPU, n)
	for i := range gpus {
		gpus[i] = api.GPU{Index: i, UUID: fmt.Sprintf("GPU-fake-%s-%d", node, i), Type: typ, Minor: i, Healthy: true}
	}
	return gpus, nil
}

// markUnhealthy applies --gpus-unhealthy INDEX:REASON entries to the
// declared fake GPUs.
func markUnhealthy(gpus []api.GPU, specs []string) error {
	for _, spec := range specs {
		idx, reason, ok := strings.Cut(spec, ":")
		i, err := strconv.Atoi(strings.TrimSpace(idx))
		reason = strings.TrimSpace(reason)
		if !ok || err != nil || reason == "" {
			return fmt.Errorf("invalid --gpus-unhealthy %q: want INDEX:REASON, as in 1:XID 79", spec)
		}
		if i < 0 || i >= len(gpus) {
			return fmt.Errorf("invalid --gpus-unhealthy %q: --gpus declares %d fake GPUs, no GPU %d", spec, len(gpus), i)
		}
		gpus[i].Healthy, gpus[i].HealthReason = false, reason
	}
	return nil
}

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run a one-machine cluster (containerd if needed, a controller, a node daemon) with a demo job",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "/var/lib/fairway-dev", Usage: "state of the dev cluster"},
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:6817", Usage: "controller HTTP address"},
			&cli.StringFlag{Name: "raft-addr", Value: "127.0.0.1:6818", Usage: "controller raft address"},
			&cli.StringFlag{Name: "node-addr", Value: "127.0.0.1:6819", Usage: "node daemon metrics address"},
			&cli.StringFlag{Name: "node-name", Value: "node1", Usage: "node name"},
			&cli.StringFlag{Name: "containerd-socket", Usage: "containerd socket (default: the system one if running, else a private one)"},
			&cli.StringFlag{Name: "tools-binary", Usage: "client binary mounted into container jobs (default: the fairway client beside fairwayd; \"-\": none)"},
			&cli.StringFlag{Name: "munge-socket", Usage: "munged socket (default: the system one if it answers, else a private munged with its own key under --dir)"},
			&cli.BoolFlag{Name: "insecure-no-auth", Usage: "run the controller without authentication (no munged needed)"},
			&cli.BoolFlag{Name: "insecure-plaintext", Usage: "run without TLS (default: a CA and certificates under --dir/pki, everything over TLS)"},
			debugFlag,
		},
		Action: func(c *cli.Context) error {
			dir, err := filepath.Abs(c.String("dir"))
			if err != nil {
				return err
			}
			log := logger(c)
			fenceCmd, err := fenceArgv()
			if err != nil {
				return err
			}
			return devcluster.Run(c.Context, devcluster.Options{
				FenceCommand: fenceCmd,
				Dir:          dir, HTTPAddr: c.String("http-addr"), RaftAddr: c.String("raft-addr"),
				NodeAddr: c.String("node-addr"), NodeName: c.String("node-name"),
				ContainerdSocket: c.String("containerd-socket"), ToolsBinary: c.String("tools-binary"),
				MungeSocket: c.String("munge-socket"), InsecureNoAuth: c.Bool("insecure-no-auth"),
				InsecurePlaintext: c.Bool("insecure-plaintext"),
				Out:               c.App.Writer, Logger: log,
			})
		},
	}
}
