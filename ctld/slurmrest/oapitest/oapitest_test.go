package oapitest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/ctld/slurmrest"
	"github.com/fairway-hpc/fairway/ctld/slurmrest/oapitest"
)

// TestValidatorCatches: the served document validates, and the validator
// refuses what does not match it, so that tests relying on it can fail.
func TestValidatorCatches(t *testing.T) {
	doc, err := slurmrest.Document()
	if err != nil {
		t.Fatal(err)
	}
	v, err := oapitest.Load(context.Background(), doc)
	if err != nil {
		t.Fatalf("the served document: %v", err)
	}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	ok := `{"job_id":3,"step_id":"batch","job_submit_user_msg":"","errors":[],"warnings":[]}`
	tests := []struct {
		name    string
		x       oapitest.Exchange
		wantErr string // "" when it must pass
	}{
		{"a valid submission", oapitest.Exchange{Method: "POST", URL: "http://h/slurm/v0.0.41/job/submit",
			ReqBody: []byte(`{"job":{"script":"x","environment":["A=b"],"time_limit":{"set":true,"number":5}}}`), Status: 200, RespHeader: jsonHdr, RespBody: []byte(ok)}, ""},
		{"a request body of the wrong shape", oapitest.Exchange{Method: "POST", URL: "http://h/slurm/v0.0.41/job/submit",
			ReqBody: []byte(`{"job":{"environment":"A=b"}}`), Status: 200, RespHeader: jsonHdr, RespBody: []byte(ok)}, "request does not match"},
		{"a response of the wrong shape", oapitest.Exchange{Method: "POST", URL: "http://h/slurm/v0.0.41/job/submit",
			ReqBody: []byte(`{"job":{}}`), Status: 200, RespHeader: jsonHdr, RespBody: []byte(`{"job_id":"three","errors":[]}`)}, "response 200 does not match"},
		{"errors not a list", oapitest.Exchange{Method: "GET", URL: "http://h/slurm/v0.0.41/ping/",
			Status: 500, RespHeader: jsonHdr, RespBody: []byte(`{"pings":[],"errors":"bad"}`)}, "response 500 does not match"},
		{"plain text", oapitest.Exchange{Method: "GET", URL: "http://h/slurm/v0.0.41/diag",
			Status: 404, RespHeader: http.Header{"Content-Type": {"text/plain"}}, RespBody: []byte(`no`)}, "response 404 does not match"},
		{"an undocumented path", oapitest.Exchange{Method: "GET", URL: "http://h/slurm/v0.0.40/diag",
			Status: 200, RespHeader: jsonHdr, RespBody: []byte(`{}`)}, "not a path of the OpenAPI document"},
		{"the path without its trailing slash", oapitest.Exchange{Method: "GET", URL: "http://h/slurm/v0.0.41/ping",
			Status: 200, RespHeader: jsonHdr, RespBody: []byte(`{"pings":[]}`)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(context.Background(), tc.x)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
