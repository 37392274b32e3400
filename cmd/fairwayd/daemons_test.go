package main

import (
	"log/slog"
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
	if got, err := clientBeside(daemon); err == nil {
		t.Fatalf("no client yet: got %q, want an error", got)
	}
	client := filepath.Join(bin, "fairway")
	if err := os.WriteFile(client, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link to the daemon elsewhere (/usr/local/sbin/fairwayd -> bin/fairwayd)
	// still finds the client beside the real binary.
	link := filepath.Join(dir, "fairwayd")
	if err := os.Symlink(daemon, link); err != nil {
		t.Fatal(err)
	}
	for _, exe := range []string{daemon, link} {
		got, err := clientBeside(exe)
		if err != nil || got != client {
			t.Errorf("clientBeside(%s) = %q, %v; want %q", exe, got, err, client)
		}
	}
}

func TestToolsBinaryFlagWins(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, flag := range []string{"/opt/fairway/bin/fairway", "-"} {
		if got := toolsBinary(flag, log); got != flag {
			t.Errorf("toolsBinary(%q) = %q", flag, got)
		}
	}
}
