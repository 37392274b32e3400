package ctld_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// startCluster starts three controllers c1..c3 with edit applied, and
// returns them by ID with the leader's ID once every controller knows it.
func startCluster(t testing.TB, edit func(cfg *ctld.Config)) (map[string]*ctld.Controller, string) {
	t.Helper()
	ids := []string{"c1", "c2", "c3"}
	var peers []raftstore.Peer
	for _, id := range ids {
		peers = append(peers, raftstore.Peer{ID: id, RaftAddr: freeAddr(t)})
	}
	ctls := map[string]*ctld.Controller{}
	for _, p := range peers {
		ctls[p.ID], _ = startControllerWith(t, func(cfg *ctld.Config) {
			cfg.ID, cfg.RaftAddr, cfg.Peers = p.ID, p.RaftAddr, peers
			if edit != nil {
				edit(cfg)
			}
		})
	}
	var leader string
	waitFor(t, "a leader known to every controller", func() (bool, string) {
		leader = ""
		for _, id := range ids {
			st, err := client.New(ctls[id].Addr()).Status(ctx(t))
			if err != nil || st.LeaderAddr == "" {
				return false, fmt.Sprintf("%s: %+v %v", id, st, err)
			}
			if st.Leader {
				leader = id
			}
		}
		return leader != "", "no leader yet"
	})
	return ctls, leader
}

// TestClusterMembership: GET /v1/cluster lists every controller with its
// own view; consistent reads through a follower see every acknowledged
// write; removals are checked; the leader's autopilot removes a controller
// that stopped answering.
func TestClusterMembership(t *testing.T) {
	ctls, leader := startCluster(t, func(cfg *ctld.Config) {
		cfg.DeadControllerRemoveAfter = time.Second
		cfg.MinQuorum = 2
	})
	var followers []string
	for id := range ctls {
		if id != leader {
			followers = append(followers, id)
		}
	}
	slices.Sort(followers)
	lc := client.New(ctls[leader].Addr())

	// Every controller answers for itself.
	var got *api.ClusterResponse
	waitFor(t, "every controller's view in /v1/cluster", func() (bool, string) {
		var err error
		got, err = client.New(ctls[followers[0]].Addr()).WithConsistent(true).Cluster(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		for _, c := range got.Controllers {
			if c.Error != "" || c.Term == 0 {
				return false, fmt.Sprintf("%+v", got.Controllers)
			}
		}
		return true, ""
	})
	type row struct{ ID, Role, HTTPAddr, Suffrage string }
	var rows, want []row
	for _, c := range got.Controllers {
		rows = append(rows, row{c.ID, c.Role, c.HTTPAddr, c.Suffrage})
		if c.Role == "leader" && c.LastContactMS != 0 {
			t.Errorf("leader %s last contact %d ms, want 0", c.ID, c.LastContactMS)
		}
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		role := "follower"
		if id == leader {
			role = "leader"
		}
		want = append(want, row{id, role, ctls[id].Addr(), "voter"})
	}
	if diff := cmp.Diff(want, rows, cmpopts.SortSlices(func(a, b row) bool { return a.ID < b.ID })); diff != "" {
		t.Errorf("controllers (-want +got):\n%s", diff)
	}

	// Read-your-writes through a follower: each submission, acknowledged
	// by the leader, is seen at once by a consistent read on a follower.
	fc := client.New(ctls[followers[1]].Addr()).WithConsistent(true)
	for i := range 10 {
		ids, err := lc.Submit(ctx(t), spec(fmt.Sprintf("ryw-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fc.Jobs(ctx(t), client.JobFilter{IDs: ids}, client.QueryOptions{})
		if err != nil || len(resp.Jobs) != 1 {
			t.Fatalf("consistent read of job %v through follower %s: %+v, %v", ids, followers[1], resp, err)
		}
	}

	// Removals that must be refused change nothing.
	tests := []struct {
		name   string
		id     string
		status int
		field  string
	}{
		{"no id", "", http.StatusBadRequest, "id"},
		{"unknown controller", "c9", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lc.RemoveController(ctx(t), tt.id)
			var apiErr *client.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("remove %q: err = %v, want HTTP %d", tt.id, err, tt.status)
			}
			if diff := cmp.Diff([]any{tt.status, tt.field}, []any{apiErr.Status, apiErr.Field}); diff != "" {
				t.Errorf("remove %q (-want +got):\n%s\n%s", tt.id, diff, apiErr.Msg)
			}
		})
	}
	if got, err := lc.Cluster(ctx(t)); err != nil || len(got.Controllers) != 3 {
		t.Fatalf("after refused removals: %+v, %v", got, err)
	}

	// A stopped follower is removed by the leader's autopilot after
	// DeadControllerRemoveAfter (3 -> 2 voters, the minimum being 2).
	dead := followers[0]
	if err := ctls[dead].Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the autopilot to remove "+dead, func() (bool, string) {
		got, err := lc.Cluster(ctx(t))
		if err != nil {
			return false, err.Error()
		}
		var ids []string
		for _, c := range got.Controllers {
			ids = append(ids, c.ID)
		}
		return !slices.Contains(ids, dead), strings.Join(ids, ",")
	})
	// The minimum of 2 voters now stops the autopilot; an administrator
	// may still remove the last follower (1 healthy voter remains).
	if err := lc.RemoveController(context.Background(), followers[1]); err != nil {
		t.Errorf("remove %s: %v", followers[1], err)
	}
}
