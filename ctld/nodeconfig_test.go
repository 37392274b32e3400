package ctld_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// Submissions are checked against the nodes as they are now: a node that
// registers, or registers again with more CPUs, makes a job it can run
// acceptable at once, however many submissions were checked before.
func TestSubmitSeesNodeChanges(t *testing.T) {
	_, cl := startController(t, nil)
	c := ctx(t)
	registerNode(t, cl, "n1", 8, 0)
	big := spec("big")
	big.CPUsPerTask = 16
	named := spec("named")
	named.NodeList = []string{"n2"}
	refused := func(s api.JobSpec) string {
		_, err := cl.Submit(c, s)
		var ce *client.Error
		switch {
		case err == nil:
			return ""
		case errors.As(err, &ce) && ce.Status == http.StatusBadRequest:
			return ce.Msg
		}
		t.Fatalf("submit %s: %v", s.Name, err)
		return ""
	}
	for _, tc := range []struct {
		step   func()
		spec   api.JobSpec
		refuse bool
	}{
		{func() {}, big, true},
		{func() {}, named, true},
		{func() { registerNode(t, cl, "n1", 16, 0) }, big, false},
		{func() {}, named, true},
		{func() { registerNode(t, cl, "n2", 8, 0) }, named, false},
	} {
		tc.step()
		if got := refused(tc.spec); (got != "") != tc.refuse {
			t.Errorf("submit %s (%d CPUs, nodelist %v): refused %q, want refused %v", tc.spec.Name, tc.spec.CPUsPerTask, tc.spec.NodeList, got, tc.refuse)
		}
	}
}
