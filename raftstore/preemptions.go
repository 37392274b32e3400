package raftstore

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/fairway-hpc/fairway/api"
	memdb "github.com/hashicorp/go-memdb"
)

// tablePreemptions holds the preemption totals per account and reason.
const tablePreemptions = "preemptions"

// preemptionRow is a row of the preemptions table: the preemptions of one
// account for one reason since the cluster began and the work their runs
// lost. Rows are replaced as a whole, never modified in place.
type preemptionRow struct {
	// Key is the account and the reason, separated by a NUL byte (an
	// account may be empty).
	Key   string
	Total api.PreemptionTotal
}

// preemptionKey is the row key of an account and reason.
func preemptionKey(account, reason string) string { return account + "\x00" + reason }

// preemptionsSchema is the preemptions table's schema.
func preemptionsSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePreemptions,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {
				Name:    indexID,
				Unique:  true,
				Indexer: &memdb.StringFieldIndex{Field: "Key"},
			},
		},
	}
}

// addPreemptionTotal adds count preemptions and lost GPU-seconds to the
// totals of an account and reason. Adding nothing writes nothing.
func (w *writer) addPreemptionTotal(account, reason string, count, lostGPUSecs int64) error {
	if count == 0 && lostGPUSecs == 0 {
		return nil
	}
	key := preemptionKey(account, reason)
	row := &preemptionRow{Key: key, Total: api.PreemptionTotal{Account: account, Reason: reason}}
	if raw, err := w.txn.First(tablePreemptions, indexID, key); err == nil && raw != nil {
		row.Total = raw.(*preemptionRow).Total
	}
	row.Total.Count += count
	row.Total.LostGPUSecs += lostGPUSecs
	if err := w.put(tablePreemptions, row); err != nil {
		return fmt.Errorf("preemption totals of account %q, reason %q: %w", account, reason, err)
	}
	return nil
}

// preemptionTotals returns the stored totals sorted by account, then
// reason.
func preemptionTotals(txn *memdb.Txn) []api.PreemptionTotal {
	it, err := txn.Get(tablePreemptions, indexID)
	if err != nil {
		return nil
	}
	var out []api.PreemptionTotal
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*preemptionRow).Total)
	}
	slices.SortFunc(out, func(a, b api.PreemptionTotal) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}

// PreemptionTotals returns the preemptions per account and reason since the
// cluster began, with the GPU-seconds of work their runs lost (the
// JobRun.LostGPUSecs of each run a preemption ended), sorted by account,
// then reason. A preemption is counted when its plan is applied (the job's
// kill request); its lost work when its run ends.
func (st *State) PreemptionTotals() []api.PreemptionTotal { return preemptionTotals(st.txn) }
