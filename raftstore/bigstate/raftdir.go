package bigstate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/fairway-hpc/fairway/raftstore"
)

// SnapshotTerm is the raft term WriteRaftDir records for its snapshot and
// as the stable store's current term; the restarted controller's first
// election is in the next term.
const SnapshotTerm = 1

// RaftDir is what WriteRaftDir wrote.
type RaftDir struct {
	SnapshotDir string // the snapshot's directory (meta.json, state.bin)
	StateBytes  int64  // size of state.bin, the state as the FSM persists it
	Index       uint64 // the snapshot's raft index: the state's last applied index
}

// WriteRaftDir writes l's state into dataDir as a controller's raft
// directory (the layout raftstore.Open reads: raft.db and snapshots/), so
// that `fairwayd ctld --data-dir dataDir --id id --raft-addr raftAddr`
// starts on it: one snapshot written through raft's own FileSnapshotStore
// and the state machine's snapshot writer (the format a running
// controller persists), whose raft configuration names id at raftAddr as
// the sole voter, and a raft.db with no log entries and the current term
// SnapshotTerm. A controller opening it finds existing state, so it does
// not bootstrap, restores the snapshot and elects itself. dataDir must not
// hold raft state yet.
func WriteRaftDir(l *raftstore.Local, dataDir, id, raftAddr string) (RaftDir, error) {
	var out RaftDir
	if id == "" || raftAddr == "" {
		return out, fmt.Errorf("raft directory %s: a server ID and a raft address are required", dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return out, fmt.Errorf("raft directory: %w", err)
	}
	dbPath := filepath.Join(dataDir, "raft.db")
	if _, err := os.Stat(dbPath); err == nil {
		return out, fmt.Errorf("raft directory %s: raft.db exists already", dataDir)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dataDir, 2, hlog)
	if err != nil {
		return out, fmt.Errorf("raft directory %s: snapshot store: %w", dataDir, err)
	}
	if have, err := snaps.List(); err != nil || len(have) > 0 {
		return out, fmt.Errorf("raft directory %s: holds %d snapshots already (%v)", dataDir, len(have), err)
	}
	out.Index = l.State().Index()
	conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(raftAddr)}}}
	// The transport only encodes the voters for the snapshot's legacy Peers
	// field: an in-memory one does it as the network transport does
	// (the address's bytes).
	_, trans := raft.NewInmemTransport(raft.ServerAddress(raftAddr))
	defer trans.Close()
	sink, err := snaps.Create(1, out.Index, SnapshotTerm, conf, out.Index, trans)
	if err != nil {
		return out, fmt.Errorf("raft directory %s: create snapshot: %w", dataDir, err)
	}
	if err := l.WriteSnapshot(sink); err != nil {
		_ = sink.Cancel()
		return out, fmt.Errorf("raft directory %s: %w", dataDir, err)
	}
	if err := sink.Close(); err != nil {
		return out, fmt.Errorf("raft directory %s: close snapshot: %w", dataDir, err)
	}
	out.SnapshotDir = filepath.Join(dataDir, "snapshots", sink.ID())
	fi, err := os.Stat(filepath.Join(out.SnapshotDir, "state.bin"))
	if err != nil {
		return out, fmt.Errorf("raft directory %s: %w", dataDir, err)
	}
	out.StateBytes = fi.Size()

	store, err := raftboltdb.New(raftboltdb.Options{Path: dbPath, BoltOptions: &bolt.Options{Timeout: 10 * time.Second}})
	if err != nil {
		return out, fmt.Errorf("raft directory %s: open raft.db: %w", dataDir, err)
	}
	// raft's stable-store key of the current term.
	if err := store.SetUint64([]byte("CurrentTerm"), SnapshotTerm); err != nil {
		_ = store.Close()
		return out, fmt.Errorf("raft directory %s: current term: %w", dataDir, err)
	}
	if err := store.Close(); err != nil {
		return out, fmt.Errorf("raft directory %s: close raft.db: %w", dataDir, err)
	}
	return out, nil
}
