package ctld_test

import (
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/google/go-cmp/cmp"
)

// figuresView is what sinfo %e %O and scontrol's FreeMem= CPULoad= show of a node.
type figuresView struct {
	FreeMemMB *int64
	CPULoad   *float64
}

func nodeFiguresOf(t *testing.T, cl *client.Client) map[string]figuresView {
	t.Helper()
	resp, err := cl.Nodes(ctx(t), client.QueryOptions{})
	if err != nil {
		t.Fatalf("nodes: %v", err)
	}
	out := map[string]figuresView{}
	for _, n := range resp.Nodes {
		out[n.Name] = figuresView{n.FreeMemMB, n.CPULoad}
	}
	return out
}

// TestNodeFiguresFromHeartbeats: the free memory and load a node reports in
// its heartbeat are served in GET /v1/nodes by the leader, and through a
// follower (which forwards the read to the leader); a node that reported
// none, or a figure it could not read, shows none; the latest heartbeat
// wins; and nothing of it is committed to raft (the applied index stays).
func TestNodeFiguresFromHeartbeats(t *testing.T) {
	ctls, leader := startCluster(t, nil)
	lc := client.New(ctls[leader].Addr())
	var follower string
	for id := range ctls {
		if id != leader {
			follower = id
		}
	}
	fc := client.New(ctls[follower].Addr())
	registerNode(t, lc, "n1", 4, 0)
	registerNode(t, lc, "n2", 4, 0)
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	beat := func(node string, req api.HeartbeatRequest) {
		t.Helper()
		if _, err := lc.Heartbeat(ctx(t), node, req); err != nil {
			t.Fatalf("heartbeat %s: %v", node, err)
		}
	}
	before, err := lc.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	beat("n1", api.HeartbeatRequest{FreeMemMB: i64(12000), CPULoad: f64(0.52)})
	beat("n2", api.HeartbeatRequest{CPULoad: f64(3)})
	want := map[string]figuresView{"n1": {i64(12000), f64(0.52)}, "n2": {nil, f64(3)}}
	if diff := cmp.Diff(want, nodeFiguresOf(t, lc)); diff != "" {
		t.Errorf("leader's nodes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, nodeFiguresOf(t, fc)); diff != "" {
		t.Errorf("follower's nodes (-want +got):\n%s", diff)
	}
	beat("n1", api.HeartbeatRequest{FreeMemMB: i64(8000), CPULoad: f64(1.25)})
	beat("n2", api.HeartbeatRequest{})
	want = map[string]figuresView{"n1": {i64(8000), f64(1.25)}, "n2": {}}
	if diff := cmp.Diff(want, nodeFiguresOf(t, lc)); diff != "" {
		t.Errorf("after new heartbeats (-want +got):\n%s", diff)
	}
	after, err := lc.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.Index != before.Index {
		t.Errorf("applied index %d after four heartbeats, was %d: heartbeats must not commit", after.Index, before.Index)
	}
}
