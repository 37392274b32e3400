package ctld_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// TestSubmitDependencyOnUnknownJob: as Slurm, the controller refuses a
// dependency on a job it does not know instead of letting the job pend
// forever; one on a known job is accepted.
func TestSubmitDependencyOnUnknownJob(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	ids, err := cl.Submit(c, spec("first"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	tests := []struct {
		name, dep string
		wantErr   bool
	}{
		{"known job", "afterok:" + ids[0].String(), false},
		{"unknown job", "afterok:999999", true},
		{"one of several unknown", "afterany:" + ids[0].String() + ":424242", true},
		{"unknown array task", "after:" + ids[0].String() + "_3", true},
		{"singleton", "singleton", false},
	}
	for _, tt := range tests {
		s := spec("dep")
		s.Dependency = tt.dep
		_, err := cl.Submit(c, s)
		if !tt.wantErr {
			if err != nil {
				t.Errorf("%s: %v, want accepted", tt.name, err)
			}
			continue
		}
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || ce.Msg != "Job dependency problem" {
			t.Errorf("%s: error %v, want 400 \"Job dependency problem\"", tt.name, err)
		}
	}
}

// TestSubmitUnknownNodeName: a --nodelist or --exclude naming a node the
// cluster does not have is refused, as Slurm does.
func TestSubmitUnknownNodeName(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	for _, edit := range []func(s *api.JobSpec){
		func(s *api.JobSpec) { s.NodeList = []string{"nosuchnode"} },
		func(s *api.JobSpec) { s.Exclude = []string{"nosuchnode"} },
	} {
		s := spec("w")
		edit(&s)
		_, err := cl.Submit(c, s)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || ce.Msg != "Invalid node name specified" {
			t.Errorf("submit %+v: error %v, want 400 \"Invalid node name specified\"", s.NodeList, err)
		}
	}
}
