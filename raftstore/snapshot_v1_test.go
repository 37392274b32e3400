package raftstore

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// snapshotData is the content of a version 1 snapshot: every table and the
// counters (see snapshot.go for version 2, which this version's
// controllers write).
type snapshotData struct {
	Version     int               `json:"version"`
	Index       uint64            `json:"index"`
	NextJobID   api.JobID         `json:"next_job_id"`
	Config      api.ClusterConfig `json:"config"`
	Jobs        []*api.Job        `json:"jobs"`
	Nodes       []*api.Node       `json:"nodes"`
	Controllers []*Controller     `json:"controllers"`
	// SubmitKeys are the remembered submission keys (absent in snapshots
	// written before they existed).
	SubmitKeys []*SubmitKey `json:"submit_keys,omitempty"`
	// Usage and UsageAt are the fair-share usage (absent in snapshots
	// written before usage was tracked).
	Usage   map[string]float64 `json:"usage,omitempty"`
	UsageAt int64              `json:"usage_at,omitempty"`
	// UsageFormula is the usage formula version of the last accrual (0:
	// version 1).
	UsageFormula int `json:"usage_formula,omitempty"`
	// PreemptionTotals are the preemptions per account and reason and the
	// work they lost (absent in snapshots written before they were kept).
	PreemptionTotals []api.PreemptionTotal `json:"preemption_totals,omitempty"`
}

// goldenState is the state testdata/snapshot-v1.json holds: the workload
// of commandLog(11, 300), then two jobs submitted with an environment.
// The file was written by the controller before snapshot version 2
// (commit bae8c22), with this workload.
func goldenState(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	for _, l := range commandLog(t, 11, 300) {
		h.f.Apply(l)
		h.idx = l.Index
	}
	s := testSpec("env")
	s.Env = map[string]string{"HOME": "/home/ann", "PATH": "/usr/bin:/bin"}
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{s, s}})
	return h
}

// TestRestoreVersion1 checks that a snapshot written by the previous
// version (format 1: every job inline) restores to the state it was taken
// of, and that a version 1 snapshot this test writes from the current
// state restores as well.
func TestRestoreVersion1(t *testing.T) {
	want := goldenState(t)
	old, err := os.ReadFile("testdata/snapshot-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(old, []byte(`{"version":1,`)) {
		t.Fatalf("testdata/snapshot-v1.json is not a version 1 snapshot")
	}
	written := writeV1(t, want)
	for name, data := range map[string][]byte{"golden": old, "written": written} {
		t.Run(name, func(t *testing.T) {
			dst := newHarness(t)
			if err := dst.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(stateContents(want.state()), stateContents(dst.state())); d != "" {
				t.Errorf("restored state differs (-taken +restored):\n%s", d)
			}
			// Snapshotted again it is version 2, equal to the original's.
			if a, b := snapshot(t, want.f), snapshot(t, dst.f); !bytes.Equal(a, b) {
				t.Errorf("the restored state's snapshot differs from the original state's")
			}
		})
	}
}

// writeV1 writes a state as the previous version did.
func writeV1(t *testing.T, h *harness) []byte {
	t.Helper()
	txn := h.f.db.Load().Txn(false)
	m := getMeta(txn)
	d := &snapshotData{Version: snapshotV1, Index: m.Index, NextJobID: m.NextJobID, Config: m.Config,
		Jobs: allJobs(txn), Usage: m.Usage, UsageAt: m.UsageAt, UsageFormula: m.UsageFormula,
		PreemptionTotals: preemptionTotals(txn)}
	if it, err := txn.Get(tableNodes, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			d.Nodes = append(d.Nodes, raw.(*api.Node))
		}
	}
	if it, err := txn.Get(tableControllers, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			d.Controllers = append(d.Controllers, raw.(*Controller))
		}
	}
	if it, err := txn.Get(tableSubmitKeys, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			d.SubmitKeys = append(d.SubmitKeys, raw.(*SubmitKey))
		}
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSnapshotVersion2 checks the version 2 snapshot: equal environments
// and scripts written once, jobs referring to them, and refusals of
// references outside the tables and of unknown versions.
func TestSnapshotVersion2(t *testing.T) {
	h := goldenState(t)
	data := snapshot(t, h.f)
	if n := bytes.Count(data, []byte(`"HOME":"/home/ann"`)); n != 1 {
		t.Errorf("the environment of two jobs is written %d times, want once", n)
	}
	if bytes.Contains(data, []byte(`"script":`)) {
		t.Errorf("a job's script is written inline, not in the scripts table")
	}
	for _, bad := range []struct{ name, from, to string }{
		{"env_ref outside", `"env_ref":1`, `"env_ref":99`},
		{"version 3", `{"version":2,`, `{"version":3,`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			s := strings.Replace(string(data), bad.from, bad.to, 1)
			if s == string(data) {
				t.Fatalf("%q not in the snapshot", bad.from)
			}
			dst := newHarness(t)
			if err := dst.f.Restore(io.NopCloser(strings.NewReader(s))); err == nil {
				t.Errorf("restore succeeded")
			}
			if jobs := dst.state().Jobs(); len(jobs) != 0 {
				t.Errorf("a refused restore left %d jobs", len(jobs))
			}
		})
	}
}
