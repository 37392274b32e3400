// Package examples holds example configurations; its test checks that they
// load and validate, so the examples cannot rot.
package examples

import (
	"testing"

	"github.com/fairway-hpc/fairway/ctld"
)

func TestClusterConfigExampleLoads(t *testing.T) {
	cfg, err := ctld.LoadClusterConfig("cluster.json")
	if err != nil {
		t.Fatalf("contrib/examples/cluster.json: %v", err)
	}
	if len(cfg.Partitions) != 2 || len(cfg.Accounts) != 2 || cfg.Accounts[0].Guarantees["h100"] != 48 {
		t.Errorf("example config read as %+v", cfg)
	}
}
