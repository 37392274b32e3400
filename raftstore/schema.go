package raftstore

import (
	"encoding/binary"
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
)

// Table and index names of the state store.
const (
	tableJobs        = "jobs"
	tableNodes       = "nodes"
	tableControllers = "controllers"
	tableMeta        = "meta"
	tableIndex       = "index" // watch indexes: see watch.go
	tableSubmitKeys  = "submitkeys"

	indexID    = "id"
	indexState = "state" // jobs by state, then ID
	indexNode  = "node"  // RUNNING jobs by the nodes of their allocation
	indexArray = "array" // a job array's record and tasks by the array job ID
	indexUser  = "user"  // jobs by their user's name, then ID

	metaKey = "cluster"
)

// meta is the single row of the meta table: the raft index the state
// reflects, the job ID counter, the cluster configuration and the fair-share
// usage. It is replaced as a whole, never modified in place (Usage included:
// a change copies the map).
type meta struct {
	Key       string
	Index     uint64
	NextJobID api.JobID
	Config    api.ClusterConfig
	// Usage is the decayed, billing-weighted usage per fair-share leaf
	// (api.AssocKey), as of UsageAt (unix seconds; 0: never accrued).
	Usage   map[string]float64
	UsageAt int64
	// UsageFormula is the formula version (AccrueUsage.Formula) of the last
	// accrual; runs that end between accruals are charged with it (0:
	// version 1).
	UsageFormula int
}

// SubmitKey is a row of the submitkeys table: a submission's idempotency
// key and the jobs it created, so that a client retrying a submission
// whose answer it lost gets the same jobs instead of new ones. Rows are
// dropped SubmitKeyTTLSecs after the submission (ExpireJobs).
type SubmitKey struct {
	Key  string      `json:"key"`
	UID  int         `json:"uid"` // the submitter's: a key is only honoured for the same user
	IDs  []api.JobID `json:"ids"`
	Time int64       `json:"time"` // submit time, unix seconds
}

// SubmitKeyTTLSecs is how long a submission's key is remembered: longer
// than any client retries.
const SubmitKeyTTLSecs = 3600

// Controller is a row of the controllers table: the HTTP address a controller
// advertises, so that followers can forward writes to the leader.
type Controller struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
}

// schema returns the state store's schema. Jobs are ordered by ID (memdb's
// uint index is big-endian); the state index lets the scheduler read the
// active jobs without scanning finished ones, and the node index serves the
// node daemons' assignment queries.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{
		Tables: map[string]*memdb.TableSchema{
			tableJobs: {
				Name: tableJobs,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.UintFieldIndex{Field: "ID"},
					},
					indexState: {
						Name:    indexState,
						Indexer: &memdb.StringFieldIndex{Field: "State"},
					},
					indexNode: {
						Name:         indexNode,
						AllowMissing: true,
						Indexer:      runningNodesIndex{},
					},
					indexArray: {
						Name:         indexArray,
						AllowMissing: true,
						Indexer:      arrayIndex{},
					},
					indexUser: {
						Name:         indexUser,
						AllowMissing: true,
						Indexer:      userIndex{},
					},
				},
			},
			tableNodes: {
				Name: tableNodes,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.StringFieldIndex{Field: "Name"},
					},
				},
			},
			tableControllers: {
				Name: tableControllers,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.StringFieldIndex{Field: "ID"},
					},
				},
			},
			tableIndex: {
				Name: tableIndex,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.StringFieldIndex{Field: "Topic"},
					},
				},
			},
			tableSubmitKeys: {
				Name: tableSubmitKeys,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.StringFieldIndex{Field: "Key"},
					},
				},
			},
			tablePreemptions: preemptionsSchema(),
			tableMeta: {
				Name: tableMeta,
				Indexes: map[string]*memdb.IndexSchema{
					indexID: {
						Name:    indexID,
						Unique:  true,
						Indexer: &memdb.StringFieldIndex{Field: "Key"},
					},
				},
			},
		},
	}
}

// runningNodesIndex indexes a RUNNING job under each node of its allocation.
// Jobs in other states are not in the index.
type runningNodesIndex struct{}

// FromObject implements memdb.MultiIndexer.
func (runningNodesIndex) FromObject(raw any) (bool, [][]byte, error) {
	j, ok := raw.(*api.Job)
	if !ok {
		return false, nil, fmt.Errorf("node index: want *api.Job, got %T", raw)
	}
	if j.State != api.JobRunning || len(j.Alloc) == 0 {
		return false, nil, nil
	}
	keys := make([][]byte, 0, len(j.Alloc))
	for _, a := range j.Alloc {
		keys = append(keys, nodeKey(a.Node))
	}
	return true, keys, nil
}

// FromArgs implements memdb.Indexer: the argument is a node name.
func (runningNodesIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("node index: want one argument, got %d", len(args))
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("node index: want a string argument, got %T", args[0])
	}
	return nodeKey(name), nil
}

// nodeKey is a node name terminated by NUL, so that no name is a prefix of
// another's key.
func nodeKey(name string) []byte {
	return append([]byte(name), 0)
}

// arrayIndex indexes the jobs of job arrays (the record and every task) by
// their array job ID. Other jobs are not in the index.
type arrayIndex struct{}

// FromObject implements memdb.SingleIndexer.
func (arrayIndex) FromObject(raw any) (bool, []byte, error) {
	j, ok := raw.(*api.Job)
	if !ok {
		return false, nil, fmt.Errorf("array index: want *api.Job, got %T", raw)
	}
	if j.ArrayJobID == 0 {
		return false, nil, nil
	}
	return true, arrayKey(j.ArrayJobID), nil
}

// FromArgs implements memdb.Indexer: the argument is an api.JobID.
func (arrayIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("array index: want one argument, got %d", len(args))
	}
	id, ok := args[0].(api.JobID)
	if !ok {
		return nil, fmt.Errorf("array index: want an api.JobID argument, got %T", args[0])
	}
	return arrayKey(id), nil
}

// arrayKey is a job ID as 8 big-endian bytes.
func arrayKey(id api.JobID) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(id))
}

// userIndex indexes jobs by their user's name (Spec.User), so that a list
// of one user's jobs (squeue -u) reads them without scanning every job.
// The index is rebuilt from the jobs on restore; it is not in snapshots.
type userIndex struct{}

// FromObject implements memdb.SingleIndexer.
func (userIndex) FromObject(raw any) (bool, []byte, error) {
	j, ok := raw.(*api.Job)
	if !ok {
		return false, nil, fmt.Errorf("user index: want *api.Job, got %T", raw)
	}
	if j.Spec.User == "" {
		return false, nil, nil
	}
	return true, nodeKey(j.Spec.User), nil
}

// FromArgs implements memdb.Indexer: the argument is a user name.
func (userIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("user index: want one argument, got %d", len(args))
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("user index: want a string argument, got %T", args[0])
	}
	return nodeKey(name), nil
}
