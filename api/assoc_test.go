package api

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func assocConfig() ClusterConfig {
	return ClusterConfig{
		Partitions: []Partition{{Name: "gpu"}},
		QOS:        []QOS{{Name: "high"}},
		Accounts: []Account{
			{Name: "a", Shares: 1, QOS: []string{"high"}, DefaultQOS: "high", Users: []AccountUser{{Name: "u", Shares: 1, Default: true}}},
			{Name: "b", Parent: "a", Shares: 1, Users: []AccountUser{{Name: "u", Shares: 1}}},
		},
	}
}

// TestApplyAssocLeavesInput: the configuration given is never changed,
// whether the change applies or is refused.
func TestApplyAssocLeavesInput(t *testing.T) {
	cfg := assocConfig()
	want := assocConfig()
	n := 5
	for _, req := range []AssocRequest{
		{Op: AssocModify, Entity: EntityAccount, Where: AssocFilter{Names: []string{"a", "b"}}, Set: AssocSet{Fairshare: &n, Guarantees: map[string]int{"gpu": 2}, QOS: &[]string{"high", "normal"}}},
		{Op: AssocModify, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}}, Set: AssocSet{MaxJobs: &n}},
		{Op: AssocDelete, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}}},
		{Op: AssocModify, Entity: EntityAccount, Where: AssocFilter{Names: []string{"a"}}, Set: AssocSet{Parent: ptrTo("b")}},
	} {
		if _, _, err := ApplyAssoc(&cfg, &req, ActiveAssocJobs{}); err != nil && req.Set.Parent == nil {
			t.Errorf("%s %s: %v", req.Op, req.Entity, err)
		}
		if diff := cmp.Diff(want, cfg); diff != "" {
			t.Fatalf("%s %s changed its input (-want +got):\n%s", req.Op, req.Entity, diff)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestApplyAssocKeepsDefaults(t *testing.T) {
	cfg := assocConfig()
	// u's default association is in a; deleting it while u keeps b is refused.
	_, _, err := ApplyAssoc(&cfg, &AssocRequest{Op: AssocDelete, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}, Accounts: []string{"a"}}}, ActiveAssocJobs{})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "DefaultAccount" {
		t.Fatalf("delete of u's default association: %v, want an error naming DefaultAccount", err)
	}
	out, _, err := ApplyAssoc(&cfg, &AssocRequest{Op: AssocModify, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}}, Set: AssocSet{DefaultAccount: ptrTo("b")}}, ActiveAssocJobs{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.UserDefaultAccount("u"); got != "b" {
		t.Errorf("default account %q, want b", got)
	}
	// Active jobs block deleting an association.
	active := CountActiveJobs([]*Job{{State: JobRunning, Spec: JobSpec{Account: "b", User: "u"}}})
	if _, _, err := ApplyAssoc(&out, &AssocRequest{Op: AssocDelete, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}, Accounts: []string{"a"}}}, active); err != nil {
		t.Errorf("delete of u's association with a (no jobs there): %v", err)
	}
	if _, _, err := ApplyAssoc(&out, &AssocRequest{Op: AssocDelete, Entity: EntityUser, Where: AssocFilter{Names: []string{"u"}, Accounts: []string{"b"}}}, active); !errors.As(err, &fe) || fe.Field != "Name" {
		t.Errorf("delete of an association with a running job: %v, want an error naming Name", err)
	}
}

// TestAssocDefaultsForJobs: a job without --account gets its user's default
// account, one without --qos its account's (or ancestor's) default QOS, and
// a QOS outside the account's list is refused.
func TestAssocDefaultsForJobs(t *testing.T) {
	cfg := assocConfig()
	spec := JobSpec{User: "u"}
	DefaultSpec(&spec, &cfg)
	if spec.Account != "a" || spec.QOS != "high" {
		t.Errorf("account %q QOS %q, want a and high", spec.Account, spec.QOS)
	}
	spec = JobSpec{User: "u", Account: "b", QOS: "normal", Name: "j", Script: "#!/bin/sh\n", WorkDir: "/tmp", Nodes: 1, NTasks: 1, CPUsPerTask: 1}
	err := checkQOS(&spec, &cfg)
	if err == nil || err.Field != "--qos" {
		t.Errorf("QOS normal under b (inherits a's list high): %v, want a --qos error", err)
	}
	if got, _ := cfg.SubmitLimit("b", "u"); got != 0 {
		t.Errorf("submit limit %d without one set", got)
	}
	cfg.Accounts[0].MaxSubmitJobsPerUser = 4
	cfg.Accounts[1].Users[0].MaxSubmitJobs = 6
	if got, where := cfg.SubmitLimit("b", "u"); got != 4 || where != "MaxSubmitJobs of account a" {
		t.Errorf("submit limit %d (%s), want 4 from account a", got, where)
	}
}
