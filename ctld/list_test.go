package ctld

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
	"github.com/google/go-cmp/cmp"
)

// listState is a state for the list filters: jobs 1-5 PENDING, job 2
// then cancelled.
//
//	1 ann  (uid 1000) acct a  gpu      "train"
//	2 ann  (uid 1000) acct b  gpu      "eval"   CANCELLED
//	3 bob  (uid 1001) acct a  cpu      "train"
//	4 bob  (uid 1001) acct b  gpu,cpu  "train"  (listed in gpu, asked for cpu too)
//	5 cara (uid 1002) acct a  gpu      "eval"
func listState(t *testing.T) *raftstore.State {
	t.Helper()
	l, err := raftstore.NewLocal(nil)
	if err != nil {
		t.Fatal(err)
	}
	must := func(c raftstore.Command) {
		t.Helper()
		if _, err := l.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	must(raftstore.SetConfig{Config: api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", Default: true}, {Name: "cpu"}}}})
	spec := func(user string, uid int, acct, name string, parts ...string) api.JobSpec {
		return api.JobSpec{Name: name, User: user, UID: uid, Account: acct, Partitions: parts, Nodes: 1, NTasks: 1, CPUsPerTask: 1,
			Script: "#!/bin/sh\ntrue\n", Env: map[string]string{"SECRET": "x"}, Args: []string{"arg"}, WorkDir: "/tmp"}
	}
	must(raftstore.SubmitJobs{Now: 1, Specs: []api.JobSpec{
		spec("ann", 1000, "a", "train"), spec("ann", 1000, "b", "eval"), spec("bob", 1001, "a", "train", "cpu"),
		spec("bob", 1001, "b", "train", "gpu", "cpu"), spec("cara", 1002, "a", "eval"),
	}})
	must(raftstore.CancelJob{Now: 2, ID: 2})
	return l.State()
}

// TestListJobsFilters checks GET /v1/jobs's filters: the jobs each query
// string lists, in order, and that none carries a script, environment or
// arguments.
func TestListJobsFilters(t *testing.T) {
	st := listState(t)
	for _, tc := range []struct {
		query string
		want  []api.JobID
	}{
		{"", []api.JobID{1, 3, 4, 5}},
		{"all=1", []api.JobID{1, 2, 3, 4, 5}},
		{"user=ann", []api.JobID{1}},
		{"user=ann&all=1", []api.JobID{1, 2}},
		{"user=1001", []api.JobID{3, 4}},
		{"user=ann,cara&all=1", []api.JobID{1, 2, 5}},
		{"users=ann,cara&all=1", []api.JobID{1, 2, 5}},
		{"user=ann&users=1002", []api.JobID{1, 5}},
		{"user=nobody", []api.JobID{}},
		{"state=CANCELLED", []api.JobID{}}, // finished jobs need all
		{"state=CANCELLED&all=1", []api.JobID{2}},
		{"state=pending,CANCELLED&all=1", []api.JobID{1, 2, 3, 4, 5}},
		{"state=REQUEUED&all=1", []api.JobID{}},
		{"state=PENDING&user=bob", []api.JobID{3, 4}},
		{"account=a", []api.JobID{1, 3, 5}},
		{"partition=cpu", []api.JobID{3, 4}},
		{"partition=gpu&account=b&all=1", []api.JobID{2, 4}},
		{"name=eval&all=1", []api.JobID{2, 5}},
		{"id=2,5", []api.JobID{5}},
		{"id=2,5&all=1", []api.JobID{2, 5}},
		{"id=1,3,4&user=bob&name=train", []api.JobID{3, 4}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			f, err := parseJobFilter(httptest.NewRequest("GET", "/v1/jobs?"+tc.query, nil))
			if err != nil {
				t.Fatal(err)
			}
			got := []api.JobID{}
			for _, j := range listJobs(st, f) {
				got = append(got, j.ID)
				if j.Spec.Script != "" || j.Spec.Env != nil || j.Spec.Args != nil {
					t.Errorf("job %d listed with its script, environment or arguments", j.ID)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("jobs listed (-want +got):\n%s", d)
			}
		})
	}
	// The stored jobs keep what the list leaves out.
	if j, _ := st.Job(1); j.Spec.Script == "" || j.Spec.Env == nil {
		t.Errorf("listing changed the stored job: %+v", j.Spec)
	}
}

// TestListJobsBadState checks that an unknown state is refused, naming the
// field.
func TestListJobsBadState(t *testing.T) {
	_, err := parseJobFilter(httptest.NewRequest("GET", "/v1/jobs?state=PENDING,SLEEPING", nil))
	var e *Error
	if !errors.As(err, &e) || e.Field != "state" || e.Kind != KindInvalid {
		t.Fatalf("state=SLEEPING: got %v, want an invalid-argument error on field state", err)
	}
}

// TestWriteJobs checks that the streamed answer decodes to the response it
// encodes, with no jobs, one and several.
func TestWriteJobs(t *testing.T) {
	st := listState(t)
	all := listJobs(st, JobFilter{All: true})
	for _, jobs := range [][]*api.Job{{}, all[:1], all} {
		want := api.JobsResponse{Index: 7, Now: 42, Jobs: jobs}
		w := httptest.NewRecorder()
		writeJobs(w, want)
		var got api.JobsResponse
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("decode %q: %v", w.Body.String(), err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("decoded answer (-want +got):\n%s", d)
		}
		if h := w.Header().Get(api.IndexHeader); h != "7" {
			t.Errorf("index header %q, want 7", h)
		}
	}
}
