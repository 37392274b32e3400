package ctld_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestAssocHTTP: sacctmgr's changes (POST /v1/assoc) are for operators and
// administrators; a plain user is refused and changes nothing; a dry run
// reports without committing; a refused change names sacctmgr's option.
func TestAssocHTTP(t *testing.T) {
	c, admin := startController(t, func(cfg *ctld.Config) { ctld.WithIdentity(cfg, testIdentify) })
	cfg, err := admin.Config(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Operators = []string{"@ops"}
	if err := admin.SetConfig(ctx(t), *cfg); err != nil {
		t.Fatal(err)
	}
	add := api.AssocRequest{Op: api.AssocAdd, Accounts: []api.Account{{Name: "physics", Shares: 5}}}

	before, _ := admin.Config(ctx(t))
	status, out := call(t, c, "bob", "POST", "/v1/assoc", add)
	if status != http.StatusForbidden || out["error"] != "user bob may not add accounts, users or QOS: only an operator or an administrator may" {
		t.Errorf("plain user adds an account: %d %v, want 403 naming who may", status, out)
	}
	dry := add
	dry.DryRun = true
	status, out = call(t, c, "olga", "POST", "/v1/assoc", dry)
	if status != http.StatusOK || out["dry_run"] != true {
		t.Errorf("operator's dry run: %d %v", status, out)
	}
	after, _ := admin.Config(ctx(t))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("a refused change and a dry run changed the configuration (-before +after):\n%s", diff)
	}

	status, out = call(t, c, "olga", "POST", "/v1/assoc", add)
	if status != http.StatusOK {
		t.Fatalf("operator adds an account: %d %v", status, out)
	}
	res, err := admin.ChangeAssociations(ctx(t), api.AssocRequest{Op: api.AssocAdd,
		Users: []api.UserAssoc{{Account: "physics", User: api.AccountUser{Name: "alice", Shares: 2, Default: true}}}})
	if err != nil {
		t.Fatalf("administrator adds a user: %v", err)
	}
	if res.Index == 0 || len(res.Users) != 1 {
		t.Errorf("result %+v, want the association and a raft index", res)
	}
	cfgNow, _ := admin.Config(ctx(t))
	want := []api.Account{{Name: "physics", Shares: 5, Users: []api.AccountUser{{Name: "alice", Shares: 2, Default: true}}}}
	if diff := cmp.Diff(want, cfgNow.Accounts); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}

	status, out = call(t, c, "olga", "POST", "/v1/assoc", api.AssocRequest{Op: api.AssocModify, Entity: api.EntityAccount,
		Where: api.AssocFilter{Names: []string{"physics"}}, Set: api.AssocSet{Parent: ptr("nosuch")}})
	if status != http.StatusBadRequest || out["field"] != "Parent" {
		t.Errorf("unknown parent: %d %v, want 400 naming Parent", status, out)
	}
}

func ptr[T any](v T) *T { return &v }
