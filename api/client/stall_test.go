package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAttemptTimeoutIsASilence: a long answer that keeps arriving (a
// squeue of 200,000 jobs on a loaded controller) is read to its end even
// when it takes longer than the attempt timeout; an answer that stops for
// longer than the timeout fails, saying so.
func TestAttemptTimeoutIsASilence(t *testing.T) {
	tests := []struct {
		name    string
		pause   time.Duration // between chunks of the answer
		chunks  int
		wantErr string
	}{
		{name: "slow answer that keeps coming", pause: 60 * time.Millisecond, chunks: 10},
		{name: "answer that stops", pause: 900 * time.Millisecond, chunks: 2, wantErr: "the answer stopped arriving for 300ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"jobs":[`)
				w.(http.Flusher).Flush()
				for i := range tc.chunks {
					select {
					case <-time.After(tc.pause):
					case <-r.Context().Done():
						return
					}
					if i > 0 {
						fmt.Fprint(w, ",")
					}
					fmt.Fprintf(w, `{"id":%d,"name":"%s"}`, i+1, strings.Repeat("x", 100))
					w.(http.Flusher).Flush()
				}
				fmt.Fprint(w, `]}`)
			}))
			defer srv.Close()
			c := NewWithOptions(Options{Addrs: srv.URL, AttemptTimeout: 300 * time.Millisecond, RetryFor: -1}).WithAuth(NoAuth{})
			resp, err := c.Jobs(context.Background(), JobFilter{}, QueryOptions{})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("list: %v; want the %d jobs", err, tc.chunks)
			case tc.wantErr == "" && len(resp.Jobs) != tc.chunks:
				t.Fatalf("list: %d jobs, want %d", len(resp.Jobs), tc.chunks)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("list: %v, want an error saying %q", err, tc.wantErr)
			}
		})
	}
}
