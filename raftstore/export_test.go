package raftstore

// SnapshotNow takes a raft snapshot at once (tests and benchmarks of
// restarts).
func (s *Store) SnapshotNow() error { return s.raft.Snapshot().Error() }
