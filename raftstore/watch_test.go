package raftstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// quiet is how long a test waits to see that a watcher stays blocked.
const quiet = 50 * time.Millisecond

// startWait runs a blocking query in the background; the channel receives
// its state when it returns.
func startWait(ctx context.Context, h *harness, after uint64, topics ...Topic) <-chan *State {
	out := make(chan *State, 1)
	go func() { out <- h.f.wait(ctx, after, topics) }()
	return out
}

// blocked reports whether the query has not returned after quiet.
func blocked(ch <-chan *State) bool {
	select {
	case <-ch:
		return false
	case <-time.After(quiet):
		return true
	}
}

// startOnN2 submits a cpu job and starts it on n2: a change of n2's
// assignments only.
func startOnN2(h *harness) {
	spec := testSpec("on-n2")
	spec.Partitions = []string{"cpu"}
	id := h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}}).IDs[0]
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: id, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "n2", CPUs: 1, MemoryMB: 100}}},
	}}})
}

func TestNodeQueryWakesOnlyForItsNode(t *testing.T) {
	// n1 runs jobs 2 and 5 (see setup). Changes elsewhere must not wake
	// n1's query; each change of n1's assignments must.
	others := []struct {
		name   string
		change func(h *harness)
	}{
		{"a job starts on n2", startOnN2},
		{"a job is submitted", func(h *harness) { h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("p")}}) }},
		{"n3 registers again", func(h *harness) {
			h.must(RegisterNode{Now: cmdNow, Req: api.RegisterNodeRequest{Name: "n3", Resources: api.NodeResources{CPUs: 8}}})
		}},
		{"a held job is released", func(h *harness) { h.must(ReleaseJob{ID: 3}) }},
		{"usage accrues", func(h *harness) { h.must(AccrueUsage{Now: cmdNow, Formula: CurrentUsageFormula}) }},
	}
	mine := []struct {
		name string
		cmd  Command
	}{
		{"signal request", SignalJob{Now: cmdNow, ID: 2, Signal: "USR1"}},
		{"kill request", CancelJob{Now: cmdNow, ID: 2}},
		{"requeue", RequeueJob{Now: cmdNow, ID: 5}},
		{"a job exits", JobEvents{Now: cmdNow, Node: "n1", Events: []api.JobEvent{{JobID: 2, Run: 0, Kind: api.EventExited}}}},
		{"a job starts", startJob1(2)},
		{"the node goes down", MarkNodeDown{Now: cmdNow, Node: "n1", Reason: "test"}},
	}
	for _, m := range mine {
		t.Run(m.name, func(t *testing.T) {
			h := setup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			after := h.state().Index()
			n1 := startWait(ctx, h, after, NodeJobsTopic("n1"))
			n2 := startWait(ctx, h, after, NodeJobsTopic("n2"))
			time.Sleep(quiet) // let the queries block
			for _, o := range others {
				o.change(h)
			}
			if !blocked(n1) {
				t.Fatalf("n1's query returned after changes that do not concern n1")
			}
			if blocked(n2) {
				t.Errorf("n2's query did not return after a job started on n2")
			}
			if got := h.f.wakeups.Load(); got != 1 {
				t.Errorf("wake-ups = %d after the other changes, want 1 (n2's query)", got)
			}
			h.must(m.cmd)
			select {
			case st := <-n1:
				if st.Index() != h.idx {
					t.Errorf("n1's query answered at index %d, want %d", st.Index(), h.idx)
				}
				// The answer's index is the next query's after: it blocks
				// until n1 changes again.
				if again := startWait(ctx, h, st.Index(), NodeJobsTopic("n1")); !blocked(again) {
					t.Errorf("a query after index %d returned without a change", st.Index())
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("n1's query did not return after %s", m.name)
			}
		})
	}
}

func TestQueryAfterAnOlderIndexReturnsAtOnce(t *testing.T) {
	// A change between the client's last answer and its next query is not
	// missed: the topic's index is above the client's.
	h := setup(t)
	after := h.state().Index()
	h.must(SignalJob{Now: cmdNow, ID: 2, Signal: "USR1"})
	startOnN2(h)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := h.f.wait(ctx, after, []Topic{NodeJobsTopic("n1")})
	if ctx.Err() != nil || st.Index() != h.idx {
		t.Errorf("query returned at index %d (ctx %v), want %d at once", st.Index(), ctx.Err(), h.idx)
	}
	if got := st.TopicIndex(NodeJobsTopic("n1")); got != after+1 {
		t.Errorf("n1's watch index = %d, want %d (the signal)", got, after+1)
	}
}

func TestTableTopics(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *harness)
		woken  []Topic
		quiet  []Topic
	}{
		{"submit", func(h *harness) { h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("p")}}) },
			[]Topic{TopicJobs, TopicAll}, []Topic{TopicNodes, TopicConfig, TopicUsage}},
		{"register", func(h *harness) {
			h.must(RegisterNode{Now: cmdNow, Req: api.RegisterNodeRequest{Name: "n9", Resources: api.NodeResources{CPUs: 1}}})
		}, []Topic{TopicNodes, NodeJobsTopic("n9"), TopicAll}, []Topic{TopicJobs, TopicConfig, TopicUsage}},
		{"start", startOnN2, []Topic{TopicJobs, TopicNodes, TopicAll}, []Topic{TopicConfig, TopicUsage, NodeJobsTopic("n1")}},
		{"config", func(h *harness) {
			h.must(SetConfig{Config: api.ClusterConfig{Partitions: []api.Partition{{Name: "x"}}}})
		},
			[]Topic{TopicConfig, TopicAll}, []Topic{TopicJobs, TopicNodes, TopicUsage}},
		{"usage", func(h *harness) { h.must(AccrueUsage{Now: cmdNow, Formula: CurrentUsageFormula}) },
			[]Topic{TopicUsage, TopicAll}, []Topic{TopicJobs, TopicNodes, TopicConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			before := h.state().Index()
			tt.change(h)
			st := h.state()
			for _, topic := range tt.woken {
				if got := st.TopicIndex(topic); got <= before {
					t.Errorf("%s: watch index %d, want above %d", topic, got, before)
				}
			}
			for _, topic := range tt.quiet {
				if got := st.TopicIndex(topic); got > before {
					t.Errorf("%s: watch index %d, want at most %d", topic, got, before)
				}
			}
		})
	}
}

func TestWakeupsPerCommitDoNotGrowWithWatchers(t *testing.T) {
	// Each of N node daemons watches its node; commits that touch one node
	// wake one watcher, whatever N. Watchers of the applied index (what
	// WaitIndex offers) all wake.
	for _, n := range []int{10, 100} {
		for _, perNode := range []bool{true, false} {
			t.Run(fmt.Sprintf("watchers=%d/per_node=%v", n, perNode), func(t *testing.T) {
				h := newHarness(t)
				h.must(SetConfig{Config: testConfig()})
				for i := range n {
					h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
						Name: fmt.Sprintf("node%03d", i), Partitions: []string{"cpu"}, Resources: api.NodeResources{CPUs: 4, MemoryMB: 1000},
					}})
				}
				spec := testSpec("j")
				spec.Partitions = []string{"cpu"}
				ids := h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{spec, spec}}).IDs
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				after := h.state().Index()
				var chans []<-chan *State
				for i := range n {
					topic := TopicAll
					if perNode {
						topic = NodeJobsTopic(fmt.Sprintf("node%03d", i))
					}
					chans = append(chans, startWait(ctx, h, after, topic))
				}
				time.Sleep(quiet) // let the watchers block
				h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
					{JobID: ids[0], Partition: "cpu", Alloc: []api.NodeAlloc{{Node: "node000", CPUs: 1, MemoryMB: 10}}},
				}}})
				select {
				case <-chans[0]:
				case <-time.After(10 * time.Second):
					t.Fatal("node000's query did not return after its job started")
				}
				time.Sleep(quiet)
				want := uint64(n)
				if perNode {
					want = 1
				}
				if got := h.f.wakeups.Load(); got != want {
					t.Errorf("one commit woke %d watchers of %d, want %d", got, n, want)
				}
			})
		}
	}
}

// BenchmarkWatchWakeups reports the wake-ups per start commit with 100 node
// daemons' queries when every commit concerns one node.
func BenchmarkWatchWakeups(b *testing.B) {
	const watchers = 100
	h := newHarness(b)
	h.must(SetConfig{Config: testConfig()})
	for i := range watchers {
		h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
			Name: fmt.Sprintf("node%03d", i), Partitions: []string{"cpu"}, Resources: api.NodeResources{CPUs: 1 << 20, MemoryMB: 1 << 40},
		}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range watchers {
		go func() {
			after := uint64(0)
			for ctx.Err() == nil {
				after = h.f.wait(ctx, after, []Topic{NodeJobsTopic(fmt.Sprintf("node%03d", i))}).Index()
			}
		}()
	}
	spec := testSpec("j")
	spec.Partitions = []string{"cpu"}
	time.Sleep(quiet)
	start := h.f.wakeups.Load()
	b.ResetTimer()
	for i := range b.N {
		id := h.must(SubmitJobs{Now: setupNow, Specs: []api.JobSpec{spec}}).IDs[0]
		h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
			{JobID: id, Partition: "cpu", Alloc: []api.NodeAlloc{{Node: fmt.Sprintf("node%03d", i%watchers), CPUs: 1, MemoryMB: 10}}},
		}}})
	}
	b.StopTimer()
	time.Sleep(quiet)
	// Submits wake no one (no node query watches pending jobs); each start
	// wakes its node's query only.
	b.ReportMetric(float64(h.f.wakeups.Load()-start)/float64(b.N), "wakeups/start")
}
