package ctld

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestWriteJobList checks GET /v1/jobs's views: view=brief answers with
// the brief list, which carries no script or environment; no view, or one
// this controller does not know, with the JSON list.
func TestWriteJobList(t *testing.T) {
	job := &api.Job{ID: 3, State: api.JobPending, Partition: "gpu",
		Spec: api.JobSpec{Name: "x", User: "ann", Script: "#!/bin/sh\nsecret\n", Env: map[string]string{"TOKEN": "t"}}}
	for _, tc := range []struct {
		query, contentType string
	}{
		{"", "application/json"},
		{"view=brief", api.BriefJobsContentType},
		{"view=brief2", "application/json"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1/jobs?"+tc.query, nil)
			f, err := parseJobFilter(r)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.Brief, tc.contentType == api.BriefJobsContentType; got != want {
				t.Errorf("filter's Brief %v, want %v", got, want)
			}
			w := httptest.NewRecorder()
			writeJobList(w, r, api.JobsResponse{Index: 9, Now: 100, Jobs: []*api.Job{job}})
			if got := w.Header().Get("Content-Type"); got != tc.contentType {
				t.Fatalf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := w.Header().Get(api.IndexHeader); got != "9" {
				t.Errorf("index header %q, want 9", got)
			}
			var got api.JobsResponse
			if tc.contentType == api.BriefJobsContentType {
				got, err = api.DecodeBriefJobs(w.Body.Bytes())
				want := api.JobsResponse{Index: 9, Now: 100, Jobs: []*api.Job{{ID: 3, State: api.JobPending, Partition: "gpu",
					Spec: api.JobSpec{Name: "x", User: "ann"}}}}
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("brief list (-want +got):\n%s", d)
				}
				return
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(api.JobsResponse{Index: 9, Now: 100, Jobs: []*api.Job{job}}, got); d != "" {
				t.Errorf("JSON list (-want +got):\n%s", d)
			}
		})
	}
}
