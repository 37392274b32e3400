package ctld_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// TestWritesNameTheLeader: the answer to a write names the leader's API
// address (api.LeaderHeader), whether the leader served it or a follower
// forwarded it, so that clients send their next writes to the leader
// directly; reads do not name it.
func TestWritesNameTheLeader(t *testing.T) {
	ctls, leader := startCluster(t, nil)
	s := spec("held")
	s.Hold = true
	body, err := json.Marshal(api.SubmitRequest{Jobs: []api.JobSpec{s}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	got := map[string]string{}
	for id, c := range ctls {
		want["POST "+id], want["GET "+id] = ctls[leader].Addr(), ""
		resp, err := http.Post("http://"+c.Addr()+"/v1/jobs", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("submit to %s: %v", id, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("submit to %s: %s", id, resp.Status)
		}
		got["POST "+id] = resp.Header.Get(api.LeaderHeader)
		resp, err = http.Get("http://" + c.Addr() + "/v1/jobs")
		if err != nil {
			t.Fatalf("list on %s: %v", id, err)
		}
		resp.Body.Close()
		got["GET "+id] = resp.Header.Get(api.LeaderHeader)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s per request (-want +got):\n%s", api.LeaderHeader, d)
	}
}
