package ctld

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// TestAuthorizeJobUpdate is the table of who may make which change to
// alice's pending job in account ml (time limit one hour), beyond acting on
// the job at all (TestAuthorizeJob).
func TestAuthorizeJobUpdate(t *testing.T) {
	cfg := authzConfig()
	job := &api.Job{ID: 12, Spec: api.JobSpec{User: "alice", UID: 1001, Account: "ml", TimeLimitSecs: 3600}}
	i64 := func(v int64) *int64 { return &v }
	iptr := func(v int) *int { return &v }
	sptr := func(v string) *string { return &v }
	updates := []struct {
		name string
		u    api.JobUpdate
	}{
		{"lower time limit", api.JobUpdate{TimeLimitSecs: i64(1800)}},
		{"raise time limit", api.JobUpdate{TimeLimitSecs: i64(7200)}},
		{"raise by +10 minutes", api.JobUpdate{TimeLimitDeltaSecs: i64(600)}},
		{"priority", api.JobUpdate{Priority: iptr(5)}},
		{"nice 10", api.JobUpdate{Nice: iptr(10)}},
		{"nice -10", api.JobUpdate{Nice: iptr(-10)}},
		{"account physics (no user list)", api.JobUpdate{Account: sptr("physics")}},
		{"partition", api.JobUpdate{Partitions: []string{"main"}}},
	}
	callers := []struct {
		name string
		id   Identity
	}{
		{"owner alice", userID("alice", 1001)},
		{"erin, coordinator of ml", userID("erin", 1007)},
		{"olga, operator", userID("olga", 1006, "ops")},
		{"dave, administrator", userID("dave", 1004)},
	}
	got := map[string][]bool{}
	for _, c := range callers {
		for _, u := range updates {
			next := job.Spec
			if err := u.u.ApplyTo(&next, 3600); err != nil {
				t.Fatalf("%s: %v", u.name, err)
			}
			got[c.name] = append(got[c.name], authorizeJobUpdate(c.id, cfg, job, &u.u, &next, 3600) == nil)
		}
	}
	user := []bool{true, false, false, false, true, false, true, true}
	all := []bool{true, true, true, true, true, true, true, true}
	want := map[string][]bool{
		"owner alice": user, "erin, coordinator of ml": user,
		"olga, operator": all, "dave, administrator": all,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allowed, in the order %v (-want +got):\n%s", updates, diff)
	}
	// The refusal says what users may do, in Slurm's words.
	u := api.JobUpdate{TimeLimitSecs: i64(7200)}
	next := job.Spec
	_ = u.ApplyTo(&next, 3600)
	err := authorizeJobUpdate(userID("alice", 1001), cfg, job, &u, &next, 3600)
	wantMsg := "Access/permission denied: user alice may not raise the time limit of job 12 from 01:00:00 to 02:00:00: users may only lower it; only an operator or an administrator may raise it"
	if err == nil || err.Msg != wantMsg || err.Kind != KindForbidden {
		t.Errorf("refusal = %v, want %q", err, wantMsg)
	}
}

func TestAuthorizeOperator(t *testing.T) {
	cfg := authzConfig()
	got := map[string]bool{}
	for name, id := range map[string]Identity{
		"alice": userID("alice", 1001), "erin (coordinator)": userID("erin", 1007),
		"olga (@ops)": userID("olga", 1006, "ops"), "dave": userID("dave", 1004), "root": userID("root", 0),
		"node": {Node: "n1"},
	} {
		got[name] = authorizeOperator(id, cfg, "change the state of nodes") == nil
	}
	want := map[string]bool{"alice": false, "erin (coordinator)": false, "olga (@ops)": true, "dave": true, "root": true, "node": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("may drain nodes (-want +got):\n%s", diff)
	}
}
