package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// systemdDir holds the units and the example configuration files.
const systemdDir = "../../contrib/systemd"

// unitSettings is the [Service] settings of a systemd unit that this test reads
// (each key's last value).
func unitSettings(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a setting: %q", path, line)
			}
			if strings.HasSuffix(v, "\\") {
				t.Fatalf("%s: continued lines are not expected: %q", path, line)
			}
			settings[section+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return settings
}

// TestSystemdUnits checks that each unit's ExecStart runs a fairwayd command
// with flags fairwayd has, and that the configuration file it names is one of
// contrib/systemd's examples, which loads without error with the real flags.
func TestSystemdUnits(t *testing.T) {
	tests := []struct {
		unit, daemon, config, stateKey string
		want                           map[string]string
	}{
		{"fairway-ctld.service", "ctld", "ctld.toml", "data-dir", map[string]string{
			"[Service]Type": "simple", "[Service]Restart": "on-failure",
		}},
		{"fairway-noded.service", "noded", "noded.toml", "state-dir", map[string]string{
			"[Service]Type": "simple", "[Service]Restart": "always",
			"[Service]KillMode": "process", "[Service]Delegate": "yes",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			s := unitSettings(t, filepath.Join(systemdDir, tt.unit))
			for k, v := range tt.want {
				if s[k] != v {
					t.Errorf("%s = %q, want %q", k, s[k], v)
				}
			}
			if !strings.Contains(s["[Unit]After"], "munge.service") {
				t.Errorf("After=%q: want munge.service", s["[Unit]After"])
			}
			if s["[Service]LimitNOFILE"] == "" {
				t.Error("no LimitNOFILE")
			}
			exec := strings.Fields(s["[Service]ExecStart"])
			if len(exec) < 2 || exec[0] != "/usr/local/bin/fairwayd" || exec[1] != tt.daemon {
				t.Fatalf("ExecStart=%q: want /usr/local/bin/fairwayd %s ...", s["[Service]ExecStart"], tt.daemon)
			}
			// The configuration file the unit names is the example of the
			// same name, installed under /etc/fairway.
			args := append([]string(nil), exec[2:]...)
			var configPath string
			for i, a := range args {
				if a == "--config" && i+1 < len(args) {
					configPath = args[i+1]
					args[i+1] = filepath.Join(systemdDir, filepath.Base(configPath))
				}
			}
			if configPath != "/etc/fairway/"+tt.config {
				t.Fatalf("ExecStart=%q: want --config /etc/fairway/%s", s["[Service]ExecStart"], tt.config)
			}
			if want := "/etc/fairway/" + tt.config; s["[Unit]ConditionPathExists"] != want {
				t.Errorf("ConditionPathExists=%q, want %q", s["[Unit]ConditionPathExists"], want)
			}
			// Parse the command line and load the example file with the
			// real flags and Before hook; the action only reads the result.
			var stateDir string
			err := runCommand(t, tt.daemon, func(c *cli.Context) error {
				stateDir = c.String(tt.stateKey)
				return nil
			}, args...)
			if err != nil {
				t.Fatalf("fairwayd %s with the unit's arguments and the example file: %v", tt.daemon, err)
			}
			// The daemon's state is the unit's StateDirectory.
			if want := "/var/lib/" + s["[Service]StateDirectory"]; stateDir != want {
				t.Errorf("--%s = %q, want the unit's StateDirectory %q", tt.stateKey, stateDir, want)
			}
		})
	}
}
