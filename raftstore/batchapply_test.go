package raftstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/raft"
)

// stateDump is everything a replica's state holds that a reader or a
// snapshot could see: jobs, the meta row, submission keys and watch
// indexes.
type stateDump struct {
	Jobs    []*api.Job
	Meta    meta
	Keys    []SubmitKey
	Watches map[string]uint64
}

// dump reads the whole state of f.
func dump(t *testing.T, f *fsm) stateDump {
	t.Helper()
	txn := f.db.Load().Txn(false)
	d := stateDump{Jobs: newState(txn).Jobs(), Meta: *getMeta(txn), Watches: map[string]uint64{}}
	it, err := txn.Get(tableSubmitKeys, indexID)
	if err != nil {
		t.Fatal(err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		d.Keys = append(d.Keys, *raw.(*SubmitKey))
	}
	it, err = txn.Get(tableIndex, indexID)
	if err != nil {
		t.Fatal(err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*indexRow)
		d.Watches[r.Topic] = r.Index
	}
	return d
}

// entryResult is one entry's result as the proposing leader sees it.
type entryResult struct {
	Res ApplyResult
	Err string
}

// resultOf reads what Apply or ApplyBatch returned for one entry.
func resultOf(v any) entryResult {
	r, ok := v.(*applyResult)
	if !ok {
		return entryResult{Err: fmt.Sprintf("no result (%T)", v)}
	}
	var e string
	if r.err != nil {
		e = r.err.Error()
	}
	return entryResult{Res: r.res, Err: e}
}

// randomLog is a log of n entries: mostly submissions (one to three jobs,
// two users, arrays, holds, keys from a small pool so that some repeat,
// for the same user or another; some naming an unknown partition), with
// cancellations, holds, configuration changes and no-op entries between.
func randomLog(t *testing.T, r *rand.Rand, n int) []*raft.Log {
	t.Helper()
	logs := make([]*raft.Log, 0, n)
	for i := range n {
		idx := uint64(i + 2) // entry 1 sets the configuration
		var cmd Command
		switch p := r.IntN(100); {
		case p < 70:
			c := SubmitJobs{Now: cmdNow + int64(i)}
			user, uid := "ann", 1000
			if r.IntN(2) == 0 {
				user, uid = "bob", 1001
			}
			for range 1 + r.IntN(3) {
				s := testSpec(fmt.Sprintf("j%d", i))
				s.User, s.UID = user, uid
				switch q := r.IntN(20); {
				case q == 0:
					s.Partitions = []string{"nope"}
				case q < 3:
					s.Array = "0-3%2"
				case q < 5:
					s.Hold = true
				case q < 7:
					s.Env = map[string]string{"PATH": "/bin", "N": fmt.Sprint(r.IntN(3))}
				}
				c.Specs = append(c.Specs, s)
			}
			if r.IntN(3) > 0 {
				c.Key = fmt.Sprintf("k%d", r.IntN(40))
			}
			cmd = c
		case p < 80:
			cmd = CancelJob{Now: cmdNow + int64(i), ID: api.JobID(1 + r.IntN(n))}
		case p < 88:
			cmd = HoldJob{ID: api.JobID(1 + r.IntN(n))}
		case p < 92:
			cfg := testConfig()
			cfg.JobRetentionSecs = int64(1000 + r.IntN(5))
			cmd = SetConfig{Config: cfg}
		default:
			logs = append(logs, &raft.Log{Index: idx, Type: raft.LogNoop})
			continue
		}
		data, err := encodeCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: idx, Type: raft.LogCommand, Data: data})
	}
	return logs
}

// TestApplyBatchSameAsOneByOne: entries applied in batches of any size
// (runs of submissions in one transaction) give every entry the result,
// and the replica the state and watch indexes, that applying them one by
// one gives: replicas batching differently agree.
func TestApplyBatchSameAsOneByOne(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 15))
			logs := randomLog(t, r, 300)
			one, batched := newHarness(t), newHarness(t)
			one.must(SetConfig{Config: testConfig()})
			batched.must(SetConfig{Config: testConfig()})

			var want, got []entryResult
			for _, l := range logs {
				if l.Type == raft.LogCommand {
					want = append(want, resultOf(one.f.Apply(l)))
				} else {
					want = append(want, entryResult{Err: "no result (<nil>)"})
				}
			}
			for i := 0; i < len(logs); {
				n := min(len(logs)-i, 1+r.IntN(64))
				for _, v := range batched.f.ApplyBatch(logs[i : i+n]) {
					got = append(got, resultOf(v))
				}
				i += n
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("results (-one by one +batched):\n%s", diff)
			}
			if diff := cmp.Diff(dump(t, one.f), dump(t, batched.f), cmp.AllowUnexported(meta{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("state (-one by one +batched):\n%s", diff)
			}
		})
	}
}

// TestApplyBatchHaltsAtUndecodable: a submission that does not decode in
// the middle of a run of submissions halts the replica at that entry, the
// earlier ones applied, as applying them one by one does.
func TestApplyBatchHaltsAtUndecodable(t *testing.T) {
	h := newHarness(t)
	h.must(SetConfig{Config: testConfig()})
	good, err := encodeCommand(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("a")}})
	if err != nil {
		t.Fatal(err)
	}
	logs := []*raft.Log{
		{Index: 2, Type: raft.LogCommand, Data: good},
		{Index: 3, Type: raft.LogCommand, Data: good},
		{Index: 4, Type: raft.LogCommand, Data: []byte{byte(cmdSubmitJobs), '{'}},
		{Index: 5, Type: raft.LogCommand, Data: good},
	}
	res := h.f.ApplyBatch(logs)
	var errs []string
	for _, v := range res {
		errs = append(errs, resultOf(v).Err)
	}
	if errs[0] != "" || errs[1] != "" || errs[2] == "" || errs[3] == "" {
		t.Errorf("errors %q, want the first two entries applied and the replica halted at the third", errs)
	}
	if halt := h.f.halted.Load(); halt == nil || halt.Index != 4 {
		t.Errorf("halted at %+v, want index 4", halt)
	}
	if got := len(h.state().Jobs()); got != 2 {
		t.Errorf("%d jobs in the state, want the 2 submitted before the bad entry", got)
	}
}

// TestClusterConcurrentSubmissions: many submitters at once on three
// replicas (their entries committed and applied in batches): every
// acknowledged job is on every replica, the IDs are given in order without
// gaps, a refused submission creates nothing, and the replicas agree.
func TestClusterConcurrentSubmissions(t *testing.T) {
	const submitters, each = 16, 20
	ctx := testCtx(t)
	addrs := freeAddrs(t, 3)
	var peers []Peer
	for i, a := range addrs {
		peers = append(peers, Peer{ID: fmt.Sprintf("c%d", i+1), RaftAddr: a})
	}
	var stores []*Store
	for _, p := range peers {
		stores = append(stores, open(t, Config{ID: p.ID, RaftAddr: p.RaftAddr, DataDir: t.TempDir(), Bootstrap: true, Peers: peers}))
	}
	leader := waitLeaderAmong(ctx, t, stores)
	if _, err := leader.Apply(ctx, SetConfig{Config: testConfig()}); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		got     []api.JobID
		refused int
		wg      sync.WaitGroup
	)
	for g := range submitters {
		wg.Go(func() {
			for i := range each {
				s := testSpec(fmt.Sprintf("s%d-%d", g, i))
				bad := i%7 == 3
				if bad {
					s.Partitions = []string{"nope"}
				}
				res, err := leader.Apply(ctx, SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{s, testSpec("second")}, Key: fmt.Sprintf("g%d-%d", g, i)})
				mu.Lock()
				switch {
				case bad && err != nil:
					refused++
				case err != nil:
					t.Errorf("submit %d-%d: %v", g, i, err)
				case bad:
					t.Errorf("submit %d-%d to partition nope: accepted as %v", g, i, res.IDs)
				default:
					got = append(got, res.IDs...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	want := make([]api.JobID, len(got))
	for i := range want {
		want[i] = api.JobID(i + 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job IDs acknowledged (-1..n +got):\n%s", diff)
	}
	if wantRefused := submitters * 3; refused != wantRefused {
		t.Errorf("%d submissions refused, want %d", refused, wantRefused)
	}
	idx := leader.Index()
	lead := stateContents(leader.State())
	if len(lead.Jobs) != len(got) {
		t.Errorf("%d jobs on the leader, want the %d acknowledged", len(lead.Jobs), len(got))
	}
	for _, s := range stores {
		if s == leader {
			continue
		}
		if at := s.WaitIndex(ctx, idx-1); at < idx {
			t.Fatalf("%s: at index %d, want %d", s.cfg.ID, at, idx)
		}
		if diff := cmp.Diff(lead, stateContents(s.State())); diff != "" {
			t.Errorf("%s: state differs from the leader's (-leader +follower):\n%s", s.cfg.ID, diff)
		}
	}
}
