//go:build e2e

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildBinaries builds fairwayd and the client binary as `make build` does
// into a temporary directory and returns their paths.
func buildBinaries(t *testing.T) (fairwayd, fairway string) {
	t.Helper()
	bin := t.TempDir()
	build := func(out string, env []string, args ...string) string {
		path := filepath.Join(bin, out)
		cmd := exec.Command("go", append([]string{"build", "-o", path}, args...)...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", out, err, b)
		}
		return path
	}
	return build("fairwayd", []string{"CGO_CFLAGS=-Wno-deprecated-declarations"}, "./cmd/fairwayd"),
		build("fairway", []string{"CGO_ENABLED=0"}, "-tags", "urfave_cli_no_docs,urfave_cli_no_suggest", "./cmd/fairway")
}
