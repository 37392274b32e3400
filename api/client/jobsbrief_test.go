package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestJobsBrief checks that JobsBrief asks for the brief view and reads
// it, and that from a controller without views, which answers with the
// JSON list whatever the query, it reads the whole jobs.
func TestJobsBrief(t *testing.T) {
	job := &api.Job{ID: 5, State: api.JobPending, Partition: "gpu", Spec: api.JobSpec{Name: "x", User: "ann", WorkDir: "/w"}}
	for _, tc := range []struct {
		name  string
		views bool // the controller knows view=brief
	}{
		{"controller with views", true},
		{"controller before views", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var view string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				view = r.URL.Query().Get("view")
				if tc.views && view == "brief" {
					w.Header().Set("Content-Type", api.BriefJobsContentType)
					_, _ = w.Write(api.AppendBriefJob(api.AppendBriefJobsHeader(nil, 7, 100), job))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"index":7,"now":100,"jobs":[{"id":5,"state":"PENDING","partition":"gpu","spec":{"name":"x","user":"ann","work_dir":"/w"}}]}`))
			}))
			defer srv.Close()
			c := New(srv.URL).WithAuth(NoAuth{})
			got, err := c.JobsBrief(context.Background(), JobFilter{User: "ann"}, QueryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if view != "brief" {
				t.Errorf("view=%q sent, want brief", view)
			}
			want := &api.JobsResponse{Index: 7, Now: 100, Jobs: []*api.Job{job}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("jobs (-want +got):\n%s", d)
			}
			each := &api.JobsResponse{}
			err = c.JobsBriefEach(context.Background(), JobFilter{User: "ann"}, QueryOptions{},
				func(index uint64, now int64) error {
					*each = api.JobsResponse{Index: index, Now: now}
					return nil
				},
				func(j *api.Job) error {
					c := *j
					each.Jobs = append(each.Jobs, &c)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, each); d != "" {
				t.Errorf("JobsBriefEach's jobs (-want +got):\n%s", d)
			}
		})
	}
}

// TestJobsBriefBadList checks that a brief list that does not decode is an
// error saying so.
func TestJobsBriefBadList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", api.BriefJobsContentType)
		_, _ = w.Write([]byte("fairway-jobs-brief\t9\t1\t1\nid\n"))
	}))
	defer srv.Close()
	_, err := New(srv.URL).WithAuth(NoAuth{}).JobsBrief(context.Background(), JobFilter{}, QueryOptions{})
	if err == nil {
		t.Fatal("a list of an unknown version decoded")
	}
	if want := `decode response: brief job list: version "9", want 1`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
