package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/cmd/fairwayd/config"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/ctld/pki"
	"github.com/fairway-hpc/fairway/noded"
	"github.com/fairway-hpc/fairway/raftstore"
)

// runCommand runs fairwayd with args, the named daemon's Action replaced by
// action (its flags and Before hook, the configuration file, are the real
// ones).
func runCommand(t *testing.T, daemon string, action cli.ActionFunc, args ...string) error {
	t.Helper()
	var cmd *cli.Command
	for _, c := range daemonCommands() {
		if c.Name == daemon {
			cmd = c
		}
	}
	if cmd == nil {
		t.Fatalf("no fairwayd command %q", daemon)
	}
	cmd.Action = action
	app := &cli.App{
		Name: "fairwayd", Writer: io.Discard, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {},
		Commands:       []*cli.Command{cmd},
	}
	return app.Run(append([]string{"fairwayd", daemon}, args...))
}

func ctldFrom(t *testing.T, args ...string) (ctld.Config, error) {
	t.Helper()
	var got ctld.Config
	err := runCommand(t, "ctld", func(c *cli.Context) error {
		var err error
		got, err = ctldConfig(c)
		return err
	}, args...)
	return got, err
}

func nodedFrom(t *testing.T, args ...string) (noded.Config, error) {
	t.Helper()
	var got noded.Config
	err := runCommand(t, "noded", func(c *cli.Context) error {
		var err error
		got, err = nodedConfig(c)
		return err
	}, args...)
	return got, err
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var ignoreRuntime = cmp.Options{
	cmpopts.IgnoreFields(ctld.Config{}, "Logger", "TLS"),
	cmpopts.IgnoreFields(noded.Config{}, "Logger", "TLS", "FenceCommand"), // FenceCommand: TestNodedFenceCommand
	cmpopts.IgnoreUnexported(ctld.Config{}, noded.Config{}),
}

func TestCtldConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "ctld.toml", `id = "ctl2"
data_dir = "/srv/ctld"
http_addr = "10.0.0.12:6817"
raft_addr = "10.0.0.12:6818"
join = "https://10.0.0.11:6817"
cluster_config = "/etc/fairway/cluster.json"
node_down_after = "45s"
sched_interval = "2s"
munge_socket = "/run/munge/other.sock"
jwt_key = "/etc/fairway/jwt_hs256.key"
insecure_plaintext = true
`)
	fromFile := ctld.Config{
		ID: "ctl2", DataDir: "/srv/ctld", HTTPAddr: "10.0.0.12:6817", RaftAddr: "10.0.0.12:6818",
		Join: "https://10.0.0.11:6817", ClusterConfigFile: "/etc/fairway/cluster.json",
		NodeDownAfter: 45 * time.Second, SchedInterval: 2 * time.Second,
		MungeSocket: "/run/munge/other.sock", JWTKeyFile: "/etc/fairway/jwt_hs256.key",
	}
	with := func(f func(*ctld.Config)) ctld.Config { c := fromFile; f(&c); return c }
	tests := []struct {
		name string
		args []string
		want ctld.Config
	}{
		{name: "file", args: []string{"--config", file}, want: fromFile},
		{name: "flag after", args: []string{"--config", file, "--id", "ctl9"}, want: with(func(c *ctld.Config) { c.ID = "ctl9" })},
		{name: "flag before", args: []string{"--http-addr", "10.1.1.1:1", "--config", file}, want: with(func(c *ctld.Config) { c.HTTPAddr = "10.1.1.1:1" })},
		{name: "flag duration and switch", args: []string{"--config", file, "--node-down-after", "1m", "--bootstrap", "--join", ""},
			want: with(func(c *ctld.Config) { c.NodeDownAfter = time.Minute; c.Bootstrap = true; c.Join = "" })},
		{name: "dead controller removal", args: []string{"--config", file, "--dead-controller-remove-after", "24h", "--min-quorum", "5"},
			want: with(func(c *ctld.Config) { c.DeadControllerRemoveAfter = 24 * time.Hour; c.MinQuorum = 5 })},
		{name: "start estimates", args: []string{"--config", file, "--estimate-interval", "-1s", "--estimate-replays", "30", "--estimate-horizon", "48h"},
			want: with(func(c *ctld.Config) {
				c.Estimates = ctld.EstimateConfig{Interval: -time.Second, Replays: 30, Horizon: 48 * time.Hour}
			})},
		{name: "peers", args: []string{"--config", file, "--peers", "ctl1=10.0.0.11:6818,ctl2=10.0.0.12:6818"},
			want: with(func(c *ctld.Config) {
				c.Peers = []raftstore.Peer{{ID: "ctl1", RaftAddr: "10.0.0.11:6818"}, {ID: "ctl2", RaftAddr: "10.0.0.12:6818"}}
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ctldFrom(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreRuntime); diff != "" {
				t.Errorf("ctld.Config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodedConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "noded.toml", `name = "gpu07"
controller = "https://10.0.0.11:6817,https://10.0.0.12:6817"
listen = "10.0.1.7:6819"
step_listen = "10.0.1.7:6820"
state_dir = "/srv/noded"
cpus = 64
memory = 512000
partition = ["gpu", "debug"]
gpus = "2:h100"
heartbeat = "3s"
kill_wait = "7s"
mount_allow = ["/datasets", "/scratch"]
cdi_dir = ["/etc/cdi"]
nvml = "off"
insecure_plaintext = true
`)
	gpus := []api.GPU{
		{Index: 0, UUID: "GPU-fake-gpu07-0", Type: "h100", Minor: 0, Healthy: true},
		{Index: 1, UUID: "GPU-fake-gpu07-1", Type: "h100", Minor: 1, Healthy: true},
	}
	fromFile := noded.Config{
		Name: "gpu07", ControllerAddrs: "https://10.0.0.11:6817,https://10.0.0.12:6817",
		ListenAddr: "10.0.1.7:6819", StepListenAddr: "10.0.1.7:6820", StateDir: "/srv/noded", CPUs: 64, MemoryMB: 512000,
		Partitions: []string{"gpu", "debug"}, GPUs: gpus,
		ContainerdSocket: "/run/containerd/containerd.sock", ContainerdNamespace: "fairway",
		HeartbeatInterval: 3 * time.Second, CgroupParent: "fairway",
		CheckpointDirBase: "/var/lib/fairway/checkpoints", CheckpointRetention: 24 * time.Hour,
		KillGrace: 7 * time.Second, MountAllow: []string{"/datasets", "/scratch"},
		NVML: "off", CDIDirs: []string{"/etc/cdi"},
	}
	with := func(f func(*noded.Config)) noded.Config { c := fromFile; f(&c); return c }
	tests := []struct {
		name string
		args []string
		want noded.Config
	}{
		{name: "file", args: []string{"--config", file}, want: fromFile},
		{name: "list flag replaces the file's", args: []string{"--config", file, "--partition", "cpu"}, want: with(func(c *noded.Config) { c.Partitions = []string{"cpu"} })},
		{name: "name flag renames fake GPUs", args: []string{"--config", file, "--name", "n1", "--gpus", "1"}, want: with(func(c *noded.Config) {
			c.Name = "n1"
			c.GPUs = []api.GPU{{Index: 0, UUID: "GPU-fake-n1-0", Type: "gpu", Minor: 0, Healthy: true}}
		})},
		{name: "integers", args: []string{"--config", file, "--cpus", "2", "--memory", "10"}, want: with(func(c *noded.Config) { c.CPUs = 2; c.MemoryMB = 10 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodedFrom(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreRuntime); diff != "" {
				t.Errorf("noded.Config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigFileTLS checks that certificate paths from the file are loaded.
func TestConfigFileTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := ca.IssueFiles(dir, pki.IssueRequest{Identity: apipki.Controller("ctl1"), Hosts: []string{"127.0.0.1"}, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, dir, "ctld.toml", "id = \"ctl1\"\ntls_cert = \""+f.Cert+"\"\ntls_key = \""+f.Key+"\"\ntls_ca = \""+filepath.Join(dir, pki.CACertFile)+"\"\n")
	got, err := ctldFrom(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if got.TLS == nil || got.TLS.Identity != apipki.Controller("ctl1") {
		t.Errorf("TLS = %+v, want the credentials of controller ctl1", got.TLS)
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, daemon, content, want string
	}{
		{"unknown key", "ctld", "id = \"c\"\nraft_adr = \"x:1\"\n", `unknown key "raft_adr"`},
		{"noded key in ctld file", "ctld", "state_dir = \"/x\"\n", `unknown key "state_dir"`},
		{"ctld key in noded file", "noded", "data_dir = \"/x\"\n", `unknown key "data_dir"`},
		{"bad duration", "noded", "heartbeat = \"often\"\n", `key "heartbeat"`},
		{"bad integer", "noded", "cpus = \"all\"\n", `key "cpus": want an integer`},
		{"bad type", "ctld", "bootstrap = 1\n", `key "bootstrap": want true or false`},
		{"flag check after the file", "noded", "gpus = \"x\"\ninsecure_plaintext = true\n", `invalid --gpus "x"`},
		{"TLS and plaintext", "ctld", "insecure_plaintext = true\ntls_cert = \"/c.pem\"\n", "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".toml", tt.content)
			var err error
			if tt.daemon == "ctld" {
				_, err = ctldFrom(t, "--config", file)
			} else {
				_, err = nodedFrom(t, "--config", file)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.HasPrefix(tt.want, "unknown") || strings.HasPrefix(tt.want, "key") {
				if !strings.Contains(err.Error(), file) {
					t.Errorf("error %q does not name the file %s", err, file)
				}
			}
		})
	}
}

// TestLegacyJSONConfig: ctld --config with a JSON cluster configuration (the
// flag's meaning before daemon configuration files) still works as
// --cluster-config.
func TestLegacyJSONConfig(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "cluster.json", "  {\"partitions\": []}\n")
	got, err := ctldFrom(t, "--config", file, "--insecure-plaintext")
	if err != nil {
		t.Fatal(err)
	}
	if got.ClusterConfigFile != file {
		t.Errorf("ClusterConfigFile = %q, want %q", got.ClusterConfigFile, file)
	}
	if _, err := ctldFrom(t, "--config", file, "--cluster-config", file); err == nil {
		t.Error("--config JSON with --cluster-config: no error")
	}
}

// TestEveryFlagHasAKey: each daemon's flags can all be set from a file.
func TestEveryFlagHasAKey(t *testing.T) {
	for _, c := range daemonCommands() {
		if c.Name != "ctld" && c.Name != "noded" {
			continue
		}
		if _, err := config.Parse(c.Name+".toml", nil, c.Flags); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		keys := config.Keys(c.Flags)
		if len(keys) < len(c.Flags)-1 {
			t.Errorf("%s: %d keys for %d flags", c.Name, len(keys), len(c.Flags))
		}
	}
}

// TestNodedFenceCommand: the node daemon starts its fence as this
// executable's fence subcommand.
func TestNodedFenceCommand(t *testing.T) {
	got, err := nodedFrom(t, "--name", "n1", "--insecure-plaintext")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{exe, "fence"}, got.FenceCommand); diff != "" {
		t.Errorf("FenceCommand (-want +got):\n%s", diff)
	}
}
