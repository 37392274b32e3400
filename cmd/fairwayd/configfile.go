package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/cmd/fairwayd/config"
)

// configFlag is a daemon's --config flag; conventional is the path the
// systemd units give (contrib/systemd).
func configFlag(conventional string) cli.Flag {
	return &cli.StringFlag{Name: config.FlagName, Usage: "daemon configuration file (TOML; every flag is a key in snake_case, flags given here override it), e.g. " + conventional}
}

// loadConfig is the Before hook of ctld and noded: it applies the file named
// by --config to the flags the command line did not set.
//
// Before --cluster-config existed, ctld's --config named the JSON cluster
// configuration. A --config file that is a JSON object (TOML cannot start
// with "{") is still taken as --cluster-config, with a warning, so that older
// scripts keep working.
func loadConfig(c *cli.Context) error {
	path := c.String(config.FlagName)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("configuration file: %w", err)
	}
	if c.Command.Name == "ctld" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		if c.IsSet("cluster-config") {
			return fmt.Errorf("--config %s is a JSON cluster configuration and --cluster-config is given too: give the JSON file as --cluster-config only", path)
		}
		fmt.Fprintf(c.App.ErrWriter, "fairwayd: warning: --config %s is a JSON cluster configuration; taking it as --cluster-config (--config now names the daemon's TOML configuration)\n", path)
		return c.Set("cluster-config", path)
	}
	return config.LoadData(c, path, data)
}
