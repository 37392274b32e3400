package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestOptionsCheck checks that bad flags are refused naming the flag.
func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(o *options)
		wantFlag string // "" when the options are valid
	}{
		{name: "defaults", edit: func(*options) {}},
		{name: "long lease for slow heartbeats", edit: func(o *options) { o.heartbeat, o.nodeLease = 10*time.Second, 30*time.Second }},
		{name: "lease shorter than two heartbeats", edit: func(o *options) { o.heartbeat, o.nodeLease = 10*time.Second, 15*time.Second }, wantFlag: "-node-lease"},
		{name: "default lease with slow heartbeats", edit: func(o *options) { o.heartbeat = 6 * time.Second }, wantFlag: "-node-lease"},
		{name: "lease not in seconds", edit: func(o *options) { o.nodeLease = 20500 * time.Millisecond }, wantFlag: "-node-lease"},
		{name: "raft multiplier 4", edit: func(o *options) { o.raftMultiplier = 4 }},
		{name: "raft multiplier 11", edit: func(o *options) { o.raftMultiplier = 11 }, wantFlag: "-raft-multiplier"},
		{name: "no nodes", edit: func(o *options) { o.nodes = 0 }, wantFlag: "-nodes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o options
			fs := flag.NewFlagSet("fairway-scale", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.register(fs)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			tc.edit(&o)
			err := o.check()
			switch {
			case tc.wantFlag == "" && err != nil:
				t.Errorf("check: %v, want no error", err)
			case tc.wantFlag != "" && (err == nil || !strings.Contains(err.Error(), tc.wantFlag+":")):
				t.Errorf("check: %v, want an error naming %s", err, tc.wantFlag)
			}
		})
	}
}
