package noded

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClientBeside(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	daemon := filepath.Join(bin, "fairwayd")
	if err := os.WriteFile(daemon, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := ClientBeside(daemon); err == nil {
		t.Fatalf("no client yet: got %q, want an error", got)
	}
	client := filepath.Join(bin, ClientName)
	if err := os.WriteFile(client, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link to the daemon elsewhere (/usr/local/sbin/fairwayd ->
	// bin/fairwayd) still finds the client beside the real binary.
	link := filepath.Join(dir, "fairwayd")
	if err := os.Symlink(daemon, link); err != nil {
		t.Fatal(err)
	}
	for _, exe := range []string{daemon, link} {
		got, err := ClientBeside(exe)
		if err != nil || got != client {
			t.Errorf("ClientBeside(%s) = %q, %v; want %q", exe, got, err, client)
		}
	}
}
