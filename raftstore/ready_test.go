package raftstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

// TestLastCommandIndex: readiness waits for the last command in the log, not
// for raft's own trailing entries (no-ops at elections, configurations),
// which never reach the state machine.
func TestLastCommandIndex(t *testing.T) {
	tests := []struct {
		name  string
		types []raft.LogType
		want  uint64
	}{
		{"empty log", nil, 0},
		{"commands only", []raft.LogType{raft.LogCommand, raft.LogCommand}, 2},
		{"trailing no-op and configuration", []raft.LogType{raft.LogConfiguration, raft.LogCommand, raft.LogCommand, raft.LogNoop, raft.LogConfiguration}, 3},
		{"no command", []raft.LogType{raft.LogConfiguration, raft.LogNoop}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := raft.NewInmemStore()
			for i, typ := range tt.types {
				if err := logs.StoreLog(&raft.Log{Index: uint64(i + 1), Term: 1, Type: typ}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := lastCommandIndex(logs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lastCommandIndex (-want +got):\n%s", diff)
			}
		})
	}
}
