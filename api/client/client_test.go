package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestRetriesThroughElection: with the dead controller last in the list, a
// controller answering 503 (no leader yet) is retried until it answers,
// instead of the dead one's "connection refused" ending the request.
func TestRetriesThroughElection(t *testing.T) {
	var calls atomic.Int32
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"no raft leader is known yet; retry"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ids":[7]}`))
	}))
	defer live.Close()
	c := NewWithOptions(Options{Addrs: live.URL + "," + deadAddr(t)}).WithAuth(NoAuth{})
	ids, err := c.Submit(context.Background(), api.JobSpec{Name: "x"})
	if err != nil || len(ids) != 1 || ids[0] != 7 {
		t.Fatalf("Submit = %v, %v; want job 7 after the election", ids, err)
	}
	if calls.Load() != 3 {
		t.Errorf("live controller called %d times, want 3", calls.Load())
	}
}

// TestUnreachableControllersAreRetried: when no controller can be reached
// (all restarting), the request is sent again until one comes back.
func TestUnreachableControllersAreRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ids":[9]}`))
	})}
	go func() {
		time.Sleep(time.Second)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		_ = srv.Serve(ln)
	}()
	defer srv.Close()
	c := NewWithOptions(Options{Addrs: "http://" + addr}).WithAuth(NoAuth{})
	ids, err := c.Submit(context.Background(), api.JobSpec{Name: "x"})
	if err != nil || len(ids) != 1 || ids[0] != 9 {
		t.Fatalf("Submit = %v, %v; want job 9 once the controller is back", ids, err)
	}
}

// TestWriteWithoutAnswerIsNotResent: a write that reached a controller
// which never answered is not sent to the next controller (it may have been
// applied), and the error says so; a read moves on to the next.
// Submissions carry an idempotency key and are sent again (see
// TestKeyedSubmissionIsResent).
func TestWriteWithoutAnswerIsNotResent(t *testing.T) {
	stop := make(chan struct{})
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer frozen.Close()
	defer close(stop)
	var other atomic.Int32
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		_, _ = w.Write([]byte(`{"ids":[1],"jobs":[]}`))
	}))
	defer live.Close()
	c := NewWithOptions(Options{Addrs: frozen.URL + "," + live.URL, AttemptTimeout: 300 * time.Millisecond}).WithAuth(NoAuth{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Hold(ctx, 5)
	if err == nil || !strings.Contains(err.Error(), "may or may not have been applied") || other.Load() != 0 {
		t.Errorf("Hold on a frozen controller = %v, other controller called %d times; want an outcome-unknown error and no second send", err, other.Load())
	}
	if _, err := c.Jobs(ctx, JobFilter{}, QueryOptions{}); err != nil || other.Load() != 1 {
		t.Errorf("Jobs past a frozen controller = %v (other called %d times); want the next controller's answer", err, other.Load())
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		t.Errorf("unexpected API error %v", apiErr)
	}
}

// TestKeyedSubmissionIsResent: a submission whose answer was lost (a frozen
// controller, or 500 "outcome unknown") is sent again with the same key, to
// the next controller, which is what makes retrying it safe.
func TestKeyedSubmissionIsResent(t *testing.T) {
	stop := make(chan struct{})
	var keys []string
	var mu sync.Mutex
	record := func(r *http.Request) {
		var req api.SubmitRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		keys = append(keys, req.Key)
		mu.Unlock()
	}
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer frozen.Close()
	defer close(stop)
	var calls atomic.Int32
	unknown := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"leadership lost while committing: outcome unknown"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ids":[4]}`))
	}))
	defer unknown.Close()
	c := NewWithOptions(Options{Addrs: frozen.URL + "," + unknown.URL, AttemptTimeout: 300 * time.Millisecond}).WithAuth(NoAuth{})
	ids, err := c.Submit(context.Background(), api.JobSpec{Name: "x"})
	if err != nil || len(ids) != 1 || ids[0] != 4 {
		t.Fatalf("Submit = %v, %v; want job 4", ids, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) < 3 || keys[0] == "" || slices.ContainsFunc(keys, func(k string) bool { return k != keys[0] }) {
		t.Errorf("keys sent %q: want every attempt (at least 3) to carry the same non-empty key", keys)
	}
}

// TestFrozenControllerIsAvoided: after a controller that takes a request
// and never answers (frozen), the client goes to the one that answered and
// keeps going there: the frozen one costs one attempt timeout, not one per
// request.
func TestFrozenControllerIsAvoided(t *testing.T) {
	release := make(chan struct{})
	var frozenCalls, liveCalls atomic.Int32
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		frozenCalls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer frozen.Close()
	defer close(release)
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		liveCalls.Add(1)
		_, _ = w.Write([]byte(`{"jobs":[]}`))
	}))
	defer live.Close()
	c := NewWithOptions(Options{Addrs: frozen.URL + "," + live.URL, AttemptTimeout: 200 * time.Millisecond}).WithAuth(NoAuth{})
	for i := range 5 {
		if _, err := c.Jobs(context.Background(), JobFilter{}, QueryOptions{}); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if frozenCalls.Load() != 1 || liveCalls.Load() != 5 {
		t.Errorf("frozen controller called %d times, live one %d; want 1 and 5", frozenCalls.Load(), liveCalls.Load())
	}
}
