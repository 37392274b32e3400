package raftstore

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func strPtr(s string) *string { return &s }

// assocHarness has the test configuration with an account tree:
// root > science > physics (user ann, default) and root > biology.
func assocHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.must(SetConfig{Config: testConfig()})
	h.must(AddAssociations{
		Accounts: []api.Account{{Name: "science", Shares: 10}, {Name: "physics", Parent: "science", Shares: 5}, {Name: "biology", Shares: 1}},
		Users:    []api.UserAssoc{{Account: "physics", User: api.AccountUser{Name: "ann", Shares: 1, Default: true}}},
		QOS:      []api.QOS{{Name: "high", Priority: 10}},
	})
	return h
}

func TestAssocCommandTypesAreStable(t *testing.T) {
	for _, tt := range []struct {
		cmd  Command
		want byte
	}{{AddAssociations{}, 21}, {ModifyAssociations{}, 22}, {DeleteAssociations{}, 23}} {
		cmd, want := tt.cmd, tt.want
		data, err := encodeCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		if data[0] != want {
			t.Errorf("%T: type byte %d, want %d (type numbers are never renumbered)", cmd, data[0], want)
		}
		back, err := decodeCommand(data)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		if commandName(back) != commandName(cmd) {
			t.Errorf("decoded %s, want %s", commandName(back), commandName(cmd))
		}
	}
}

func TestAssocApplyChanges(t *testing.T) {
	h := assocHarness(t)
	res := h.must(ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}},
		Set: api.AssocSet{Parent: strPtr("biology"), Guarantees: map[string]int{"gpu": 8}, GrpGPUs: intPtr(16)}})
	if diff := cmp.Diff(&api.AssocResult{Accounts: []string{"physics"}}, res.Assoc); diff != "" {
		t.Errorf("modify result (-want +got):\n%s", diff)
	}
	h.must(AddAssociations{Users: []api.UserAssoc{{Account: "biology", User: api.AccountUser{Name: "ann", Shares: 3}}}})
	h.must(ModifyAssociations{Entity: api.EntityUser, Where: api.AssocFilter{Names: []string{"ann"}}, Set: api.AssocSet{DefaultAccount: strPtr("biology"), MaxJobs: intPtr(2)}})
	h.must(DeleteAssociations{Entity: api.EntityUser, Where: api.AssocFilter{Names: []string{"ann"}, Accounts: []string{"physics"}}})

	cfg := h.state().Config()
	want := []api.Account{
		{Name: "science", Shares: 10},
		{Name: "physics", Parent: "biology", Shares: 5, Guarantees: map[string]int{"gpu": 8}, MaxGPUs: 16},
		{Name: "biology", Shares: 1, Users: []api.AccountUser{{Name: "ann", Shares: 3, Default: true, MaxRunningJobs: 2}}},
	}
	if diff := cmp.Diff(want, cfg.Accounts); diff != "" {
		t.Errorf("accounts after the changes (-want +got):\n%s", diff)
	}
}

func TestAssocApplyRefusals(t *testing.T) {
	tests := []struct {
		name      string
		cmd       Command
		wantField string
	}{
		{"unknown parent", AddAssociations{Accounts: []api.Account{{Name: "chem", Parent: "nosuch", Shares: 1}}}, "Parent"},
		{"cycle", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"science"}}, Set: api.AssocSet{Parent: strPtr("physics")}}, "Parent"},
		{"own parent", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"science"}}, Set: api.AssocSet{Parent: strPtr("science")}}, "Parent"},
		{"negative shares", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}}, Set: api.AssocSet{Fairshare: intPtr(-1)}}, "Fairshare"},
		{"negative user shares", AddAssociations{Users: []api.UserAssoc{{Account: "biology", User: api.AccountUser{Name: "bob", Shares: -2}}}}, "Fairshare"},
		{"unknown QOS", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}}, Set: api.AssocSet{QOS: &[]string{"nosuch"}}}, "QOS"},
		{"default QOS outside the list", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}}, Set: api.AssocSet{QOS: &[]string{"high"}, DefaultQOS: strPtr("normal")}}, "DefaultQOS"},
		{"unknown partition", ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}}, Set: api.AssocSet{Guarantees: map[string]int{"nosuch": 4}}}, "Guarantee"},
		{"account with children", DeleteAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"science"}}}, "Name"},
		{"existing account", AddAssociations{Accounts: []api.Account{{Name: "physics", Shares: 1}}}, "Name"},
		{"user to an unknown account", AddAssociations{Users: []api.UserAssoc{{Account: "nosuch", User: api.AccountUser{Name: "bob", Shares: 1}}}}, "Account"},
		{"option of another entity", ModifyAssociations{Entity: api.EntityUser, Where: api.AssocFilter{Names: []string{"ann"}}, Set: api.AssocSet{GrpJobs: intPtr(3)}}, "GrpJobs"},
		{"QOS an account uses", DeleteAssociations{Entity: api.EntityQOS, Where: api.AssocFilter{Names: []string{"high"}}}, "Name"},
		{"delete without where", DeleteAssociations{Entity: api.EntityUser}, "where"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := assocHarness(t)
			if tt.name == "QOS an account uses" {
				h.must(ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"biology"}}, Set: api.AssocSet{QOS: &[]string{"high", "normal"}}})
			}
			before := h.state().Config()
			_, err := h.apply(tt.cmd)
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("apply %s: error %v, want a field error naming %s", commandName(tt.cmd), err, tt.wantField)
			}
			if fe.Field != tt.wantField {
				t.Errorf("error names %q (%v), want %q", fe.Field, err, tt.wantField)
			}
			if diff := cmp.Diff(before, h.state().Config()); diff != "" {
				t.Errorf("a refused change changed the configuration (-before +after):\n%s", diff)
			}
		})
	}
}

// TestAssocApplyAtomic: a change whose last part is refused applies none of
// its parts, and a delete is refused while the account has jobs.
func TestAssocApplyAtomic(t *testing.T) {
	h := assocHarness(t)
	before := h.state().Config()
	_, err := h.apply(AddAssociations{
		Accounts: []api.Account{{Name: "chem", Shares: 1}, {Name: "geo", Shares: 1}},
		Users:    []api.UserAssoc{{Account: "chem", User: api.AccountUser{Name: "bob", Shares: 1}}, {Account: "nosuch", User: api.AccountUser{Name: "carl", Shares: 1}}},
	})
	if err == nil {
		t.Fatal("an add with an unknown account was accepted")
	}
	if diff := cmp.Diff(before, h.state().Config()); diff != "" {
		t.Errorf("a refused add left part of itself (-before +after):\n%s", diff)
	}

	spec := testSpec("j")
	spec.Account = "biology"
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}})
	_, err = h.apply(DeleteAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"biology"}}})
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field != "Name" {
		t.Fatalf("delete of an account with a pending job: %v, want a field error naming Name", err)
	}
	// Deleting ann's only association in physics (her default) is fine: she keeps none.
	h.must(DeleteAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"physics"}}})
	if cfg := h.state().Config(); cfg.UserDefaultAccount("ann") != "" {
		got := cfg.UserDefaultAccount("ann")
		t.Errorf("ann's default account after deleting physics: %q, want none", got)
	}
}

func TestAssocSubmitLimit(t *testing.T) {
	h := assocHarness(t)
	h.must(ModifyAssociations{Entity: api.EntityUser, Where: api.AssocFilter{Names: []string{"ann"}}, Set: api.AssocSet{MaxSubmitJobs: intPtr(2)}})
	spec := testSpec("j")
	spec.Account = "physics"
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}})
	_, err := h.apply(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec, spec}})
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field != "--account" {
		t.Fatalf("third job with MaxSubmitJobs=2: %v, want a field error naming --account", err)
	}
	if n := len(h.state().Jobs()); n != 1 {
		t.Errorf("%d jobs after the refused submission, want 1 (all or nothing)", n)
	}
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}})
	// Raising the limit lets the next one in at once.
	h.must(ModifyAssociations{Entity: api.EntityUser, Where: api.AssocFilter{Names: []string{"ann"}}, Set: api.AssocSet{MaxSubmitJobs: intPtr(0)}})
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}})
}

func TestAssocSnapshotRestore(t *testing.T) {
	h := assocHarness(t)
	h.must(ModifyAssociations{Entity: api.EntityAccount, Where: api.AssocFilter{Names: []string{"biology"}},
		Set: api.AssocSet{QOS: &[]string{"high", "normal"}, DefaultQOS: strPtr("high"), Description: strPtr("life"), MaxSubmitJobs: intPtr(9)}})
	data := snapshot(t, h.f)
	dst := newHarness(t)
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.state().Config(), dst.state().Config()); diff != "" {
		t.Errorf("restored configuration differs (-snapshotted +restored):\n%s", diff)
	}
	// Replaying the log on a fresh replica gives the same configuration.
	replay := newHarness(t)
	for _, l := range h.logs {
		replay.f.Apply(l)
	}
	if diff := cmp.Diff(h.state().Config(), replay.state().Config()); diff != "" {
		t.Errorf("replayed configuration differs (-applied +replayed):\n%s", diff)
	}
	if again := snapshot(t, dst.f); !bytes.Equal(data, again) {
		t.Error("snapshot of the restored state differs from the original")
	}
}
