package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// controllerStub stands in for a controller: it counts the reads and the
// writes it receives and names leader (a host:port, or "") in its answers
// to writes, as a leader serving a write (perhaps forwarded) does.
type controllerStub struct {
	srv           *httptest.Server
	reads, writes atomic.Int32
	leader        atomic.Value // string
	freeze        atomic.Pointer[chan struct{}] // set: writes get no answer until it is closed
}

func newControllerStub(t *testing.T) *controllerStub {
	t.Helper()
	s := &controllerStub{}
	s.leader.Store("")
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.reads.Add(1)
			_, _ = w.Write([]byte(`{"jobs":[]}`))
			return
		}
		s.writes.Add(1)
		if f := s.freeze.Load(); f != nil {
			select {
			case <-*f:
			case <-r.Context().Done():
			}
			return
		}
		if l := s.leader.Load().(string); l != "" {
			w.Header().Set(api.LeaderHeader, l)
		}
		_, _ = w.Write([]byte(`{"ids":[7]}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *controllerStub) hostPort() string {
	u, _ := url.Parse(s.srv.URL)
	return u.Host
}

type callCounts struct{ FollowerReads, FollowerWrites, LeaderReads, LeaderWrites int32 }

// TestWritesGoToTheNamedLeader: once an answer names the leader, the next
// writes go to it directly, while reads stay on the controller that
// answered them; a name that is not one of the client's controllers is
// ignored.
func TestWritesGoToTheNamedLeader(t *testing.T) {
	tests := []struct {
		name   string
		leader func(follower, leader *controllerStub) string
		want   callCounts
	}{
		{name: "leader among the controllers", leader: func(_, l *controllerStub) string { return l.hostPort() },
			want: callCounts{FollowerReads: 2, FollowerWrites: 1, LeaderWrites: 2}},
		{name: "leader not among the controllers", leader: func(_, _ *controllerStub) string { return "10.9.9.9:6817" },
			want: callCounts{FollowerReads: 2, FollowerWrites: 3}},
		{name: "no leader named", leader: func(_, _ *controllerStub) string { return "" },
			want: callCounts{FollowerReads: 2, FollowerWrites: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			follower, leader := newControllerStub(t), newControllerStub(t)
			name := tc.leader(follower, leader)
			follower.leader.Store(name)
			leader.leader.Store(name)
			c := NewWithOptions(Options{Addrs: follower.srv.URL + "," + leader.srv.URL}).WithAuth(NoAuth{})
			ctx := context.Background()
			for i := range 3 {
				if _, err := c.Submit(ctx, api.JobSpec{Name: "x"}); err != nil {
					t.Fatalf("submit %d: %v", i, err)
				}
				if i < 2 {
					if _, err := c.Jobs(ctx, JobFilter{}, QueryOptions{}); err != nil {
						t.Fatalf("read %d: %v", i, err)
					}
				}
			}
			got := callCounts{follower.reads.Load(), follower.writes.Load(), leader.reads.Load(), leader.writes.Load()}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("requests per controller (-want +got):\n%s", d)
			}
		})
	}
}

// TestFrozenLeaderIsForgotten: a write to the controller named as the
// leader that gets no answer is not sent again (it may have been applied),
// and the next write goes to the other controller instead of waiting on
// the frozen one again.
func TestFrozenLeaderIsForgotten(t *testing.T) {
	follower, leader := newControllerStub(t), newControllerStub(t)
	follower.leader.Store(leader.hostPort())
	c := NewWithOptions(Options{Addrs: follower.srv.URL + "," + leader.srv.URL, AttemptTimeout: 200 * time.Millisecond}).WithAuth(NoAuth{})
	ctx := context.Background()
	if _, err := c.Submit(ctx, api.JobSpec{Name: "names the leader"}); err != nil {
		t.Fatalf("first submit: %v", err)
	}
	freeze := make(chan struct{})
	leader.freeze.Store(&freeze)
	defer close(freeze)
	follower.leader.Store("") // the follower no longer knows a leader
	if err := c.Cancel(ctx, 7, ""); err == nil {
		t.Fatal("a write the frozen leader took without answering succeeded; want an error saying it may have been applied")
	}
	if _, err := c.Submit(ctx, api.JobSpec{Name: "after the freeze"}); err != nil {
		t.Fatalf("submit after the freeze: %v", err)
	}
	got := callCounts{FollowerWrites: follower.writes.Load(), LeaderWrites: leader.writes.Load()}
	if d := cmp.Diff(callCounts{FollowerWrites: 2, LeaderWrites: 1}, got); d != "" {
		t.Errorf("writes per controller (-want +got):\n%s", d)
	}
}
