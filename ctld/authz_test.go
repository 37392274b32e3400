package ctld

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// authzConfig: account ml under research; carol coordinates research, erin
// coordinates ml; @ops are operators; dave and @wheel administrators.
func authzConfig() *api.ClusterConfig {
	return &api.ClusterConfig{
		Partitions:     []api.Partition{{Name: "main"}},
		Administrators: []string{"dave", "@wheel"},
		Operators:      []string{"@ops"},
		Accounts: []api.Account{
			{Name: "research", Coordinators: []string{"carol"}},
			{Name: "ml", Parent: "research", Coordinators: []string{"erin"}, Users: []api.AccountUser{{Name: "alice"}, {Name: "bob"}}},
			{Name: "physics"},
		},
	}
}

func userID(name string, uid int, groups ...string) Identity {
	return Identity{User: name, UID: uid, GID: uid, Groups: groups, Verified: true}
}

func TestRoleOf(t *testing.T) {
	cfg := authzConfig()
	callers := map[string]Identity{
		"alice":            userID("alice", 1001),
		"root":             userID("root", 0),
		"dave (listed)":    userID("dave", 1004),
		"frank (@wheel)":   userID("frank", 1005, "wheel"),
		"olga (@ops)":      userID("olga", 1006, "ops"),
		"anonymous":        {},
		"node":             {Node: "n1"},
		"unverified uid 0": {User: "mallory", UID: 0},
	}
	got := map[string]string{}
	for name, id := range callers {
		got[name] = roleOf(id, cfg).String()
	}
	want := map[string]string{
		"alice": "user", "root": "administrator", "dave (listed)": "administrator", "frank (@wheel)": "administrator",
		"olga (@ops)": "operator", "anonymous": "administrator", "node": "user", "unverified uid 0": "user",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

// TestAuthorizeJob is the authorization table: who may read and act on
// alice's job in account ml.
func TestAuthorizeJob(t *testing.T) {
	cfg := authzConfig()
	job := &api.Job{ID: 12, Spec: api.JobSpec{User: "alice", UID: 1001, Account: "ml"}}
	callers := []struct {
		name string
		id   Identity
	}{
		{"owner alice", userID("alice", 1001)},
		{"bob, same account", userID("bob", 1002)},
		{"erin, coordinator of ml", userID("erin", 1007)},
		{"carol, coordinator of parent research", userID("carol", 1003)},
		{"olga, operator via @ops", userID("olga", 1006, "ops")},
		{"dave, administrator", userID("dave", 1004)},
		{"root", userID("root", 0)},
		{"node n1", Identity{Node: "n1"}},
	}
	actions := []JobAction{ActionRead, ActionCancel, ActionSignal, ActionHold, ActionRelease, ActionRequeue, ActionEndGrace, ActionUpdate}
	got := map[string][]bool{}
	for _, c := range callers {
		for _, a := range actions {
			got[c.name] = append(got[c.name], authorizeJob(c.id, cfg, a, job) == nil)
		}
	}
	all := []bool{true, true, true, true, true, true, true, true}
	none := make([]bool, len(actions))
	want := map[string][]bool{
		"owner alice": all, "bob, same account": none, "erin, coordinator of ml": all,
		"carol, coordinator of parent research": all, "olga, operator via @ops": all,
		"dave, administrator": all, "root": all, "node n1": none,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allowed per action %v (-want +got):\n%s", actions, diff)
	}
	err := authorizeJob(userID("bob", 1002), cfg, ActionCancel, job)
	wantMsg := "user bob may not cancel job 12 of user alice: only its owner, a coordinator of account ml, an operator or an administrator may"
	if err == nil || err.Kind != KindForbidden || err.Msg != wantMsg {
		t.Errorf("bob cancels: %v, want KindForbidden %q", err, wantMsg)
	}
}

func TestAuthorizeSubmit(t *testing.T) {
	cfg := authzConfig()
	tests := []struct {
		name string
		id   Identity
		spec api.JobSpec
		want string // "" = allowed; else the start of the message
	}{
		{"associated user", userID("alice", 1001), api.JobSpec{User: "alice", UID: 1001, Account: "ml"}, ""},
		{"account without a user list", userID("zoe", 1010), api.JobSpec{User: "zoe", UID: 1010, Account: "physics"}, ""},
		{"root account", userID("zoe", 1010), api.JobSpec{User: "zoe", UID: 1010, Account: "root"}, ""},
		{"not associated", userID("zoe", 1010), api.JobSpec{User: "zoe", UID: 1010, Account: "ml"}, "user zoe may not submit under account ml"},
		{"as another user", userID("bob", 1002), api.JobSpec{User: "alice", UID: 1001, Account: "ml"}, "user bob may not submit a job as user alice"},
		{"uid 0 from a user", userID("bob", 1002), api.JobSpec{User: "bob", UID: 0, Account: "ml"}, "user bob may not submit a job to run as root"},
		{"uid 0 from root", userID("root", 0), api.JobSpec{User: "root", UID: 0, Account: "ml"}, ""},
		{"negative nice", userID("alice", 1001), api.JobSpec{User: "alice", UID: 1001, Account: "ml", Nice: -10}, "user alice may not set a negative nice (-10)"},
		{"negative nice by an operator", userID("olga", 1006, "ops"), api.JobSpec{User: "olga", UID: 1006, Account: "physics", Nice: -10}, ""},
		{"positive nice", userID("alice", 1001), api.JobSpec{User: "alice", UID: 1001, Account: "ml", Nice: 100}, ""},
		{"administrator for anyone", userID("dave", 1004), api.JobSpec{User: "alice", UID: 1001, Account: "physics", Nice: -5}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := authorizeSubmit(tc.id, cfg, &tc.spec); err != nil {
				if err.Kind != KindForbidden {
					t.Errorf("kind %v, want forbidden", err.Kind)
				}
				got = err.Msg[:min(len(tc.want), len(err.Msg))]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("authorizeSubmit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthorizeAdmin(t *testing.T) {
	cfg := authzConfig()
	got := map[string]bool{}
	for name, id := range map[string]Identity{"alice": userID("alice", 1001), "olga (operator)": userID("olga", 1006, "ops"), "dave": userID("dave", 1004), "root": userID("root", 0)} {
		got[name] = authorizeAdmin(id, cfg, "change the cluster configuration") == nil
	}
	want := map[string]bool{"alice": false, "olga (operator)": false, "dave": true, "root": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("authorizeAdmin (-want +got):\n%s", diff)
	}
}

func TestRedact(t *testing.T) {
	j := &api.Job{ID: 1, Spec: api.JobSpec{Name: "x", Script: "#!/bin/sh\nsecret", Env: map[string]string{"TOKEN": "t"}, Args: []string{"a"}, WorkDir: "/w"}}
	got := redact(j)
	want := &api.Job{ID: 1, Spec: api.JobSpec{Name: "x", WorkDir: "/w"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("redact (-want +got):\n%s", diff)
	}
	if j.Spec.Script == "" {
		t.Error("redact changed the stored job")
	}
}
