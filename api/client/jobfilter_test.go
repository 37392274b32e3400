package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestJobFilterQuery checks the query string each filter sends: one user
// in user= (which controllers before the filters understand), several in
// users=, the other lists comma-separated.
func TestJobFilterQuery(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		_, _ = w.Write([]byte(`{"index":1,"now":1,"jobs":[]}`))
	}))
	defer srv.Close()
	c := New(srv.URL).WithAuth(NoAuth{})
	for _, tc := range []struct {
		name string
		f    JobFilter
		want url.Values
	}{
		{"none", JobFilter{}, url.Values{}},
		{"one user", JobFilter{User: "ann"}, url.Values{"user": {"ann"}}},
		{"one user in Users", JobFilter{Users: []string{"1000"}}, url.Values{"user": {"1000"}}},
		{"users", JobFilter{User: "ann", Users: []string{"bob"}}, url.Values{"users": {"ann,bob"}}},
		{"the rest", JobFilter{All: true, IDs: []api.JobID{4, 5}, States: []api.JobState{api.JobPending, api.JobFailed},
			Accounts: []string{"a", "b"}, Partitions: []string{"gpu"}, Names: []string{"x"}},
			url.Values{"all": {"1"}, "id": {"4,5"}, "state": {"PENDING,FAILED"}, "account": {"a,b"}, "partition": {"gpu"}, "name": {"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Jobs(context.Background(), tc.f, QueryOptions{}); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("query (-want +got):\n%s", d)
			}
		})
	}
}
