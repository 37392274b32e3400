package raftstore

import (
	"reflect"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

func jobIDs(jobs []*api.Job) []api.JobID {
	var ids []api.JobID
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestStateQueries(t *testing.T) {
	h := setup(t)
	// Make a job with a higher ID running so that the order by ID is tested
	// across states.
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("late")}})
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 10}}},
	}}})
	h.must(CancelJob{Now: cmdNow, ID: 5}) // being stopped: still on the node
	st := h.state()
	tests := []struct {
		name string
		got  []*api.Job
		want []api.JobID
	}{
		{"Jobs", st.Jobs(), []api.JobID{1, 2, 3, 4, 5, 6}},
		{"ActiveJobs", st.ActiveJobs(), []api.JobID{1, 2, 3, 5, 6}},
		{"JobsOnNode n1", st.JobsOnNode("n1"), []api.JobID{2, 5, 6}},
		{"JobsOnNode n2", st.JobsOnNode("n2"), nil},
		{"JobsOnNode unknown", st.JobsOnNode("n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, jobIDs(tt.got)); diff != "" {
				t.Errorf("job IDs (-want +got):\n%s", diff)
			}
		})
	}
	if got := st.NextJobID(); got != 7 {
		t.Errorf("NextJobID = %d, want 7", got)
	}
	if _, ok := st.Job(99); ok {
		t.Error("Job(99) found")
	}
	if _, ok := st.Node("n9"); ok {
		t.Error("Node(n9) found")
	}
}

func TestStateIsASnapshot(t *testing.T) {
	h := setup(t)
	st := h.state()
	jobs, nodes, idx := st.Jobs(), st.Nodes(), st.Index()
	h.must(CancelJob{Now: cmdNow, ID: 1})
	h.must(MarkNodeDown{Now: cmdNow, Node: "n1"})
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{testSpec("x")}})
	if diff := cmp.Diff(jobs, st.Jobs()); diff != "" {
		t.Errorf("an earlier view's jobs changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(nodes, st.Nodes()); diff != "" {
		t.Errorf("an earlier view's nodes changed (-before +after):\n%s", diff)
	}
	if st.Index() != idx || h.state().Index() != idx+3 {
		t.Errorf("indexes: old view %d (want %d), new view %d (want %d)", st.Index(), idx, h.state().Index(), idx+3)
	}
}

// TestReturnedObjectsAreCopies checks that nothing a State returns shares
// memory with the stored objects, for objects with every reference field
// filled.
func TestReturnedObjectsAreCopies(t *testing.T) {
	h := setup(t)
	spec := testSpec("full")
	spec.Partitions = []string{"gpu"}
	spec.Env = map[string]string{"A": "1"}
	spec.Requeue = boolPtr(true)
	spec.Signal = &api.Signal{Name: "USR2", AtSeconds: 60}
	spec.ContainerMounts = []api.Mount{{Source: "/data", Target: "/data"}}
	h.must(SubmitJobs{Now: cmdNow, Specs: []api.JobSpec{spec}})
	h.must(ApplyPlan{Plan: api.Plan{Now: cmdNow, Starts: []api.Start{
		{JobID: 6, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, GPUs: []int{2}}}},
	}}})
	h.must(CancelJob{Now: cmdNow, ID: 6})
	cfg := testConfig()
	cfg.Partitions[0].Nodes = []string{"n1", "n3"}
	cfg.Accounts = []api.Account{{Name: "a", Guarantees: map[string]int{"gpu": 1}}}
	h.must(SetConfig{Config: cfg})

	st := h.state()
	txn := h.f.db.Load().Txn(false)
	got, _ := st.Job(6)
	checkNoSharing(t, "Job", getJob(txn, 6), got)
	for _, j := range st.Jobs() {
		checkNoSharing(t, "Jobs", getJob(txn, j.ID), j)
	}
	for _, j := range st.ActiveJobs() {
		checkNoSharing(t, "ActiveJobs", getJob(txn, j.ID), j)
	}
	for _, j := range st.JobsOnNode("n1") {
		checkNoSharing(t, "JobsOnNode", getJob(txn, j.ID), j)
	}
	n, _ := st.Node("n1")
	checkNoSharing(t, "Node", getNode(txn, "n1"), n)
	for _, n := range st.Nodes() {
		checkNoSharing(t, "Nodes", getNode(txn, n.Name), n)
	}
	c := st.Config()
	checkNoSharing(t, "Config", &getMeta(txn).Config, &c)
}

// TestCopiesAreDeep fills every field of the stored types (so that fields
// added to the api package later are covered) and checks that the copies
// are equal and share no memory with the original.
func TestCopiesAreDeep(t *testing.T) {
	var job api.Job
	fill(reflect.ValueOf(&job).Elem())
	var node api.Node
	fill(reflect.ValueOf(&node).Elem())
	var cfg api.ClusterConfig
	fill(reflect.ValueOf(&cfg).Elem())
	tests := []struct {
		name       string
		orig, copy any
	}{
		{"copyJob", &job, copyJob(&job)},
		{"copyNode", &node, copyNode(&node)},
		{"copyConfig", &cfg, func() *api.ClusterConfig { c := copyConfig(cfg); return &c }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.orig, tt.copy); diff != "" {
				t.Errorf("copy differs (-orig +copy):\n%s", diff)
			}
			checkNoSharing(t, tt.name, tt.orig, tt.copy)
		})
	}
}

// fill sets every field reachable from v to a non-zero value: pointers get
// a target, slices one element, maps one entry.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// checkNoSharing fails if got reaches any pointer, slice array or map that
// stored reaches.
func checkNoSharing(t *testing.T, what string, stored, got any) {
	t.Helper()
	seen := map[uintptr]string{}
	refs(reflect.ValueOf(stored), "", func(p uintptr, path string) { seen[p] = path })
	refs(reflect.ValueOf(got), "", func(p uintptr, path string) {
		if other, ok := seen[p]; ok {
			t.Errorf("%s: returned %s shares memory with stored %s", what, path, other)
		}
	})
}

// refs calls fn for every pointer, non-empty slice and map reachable from v.
func refs(v reflect.Value, path string, fn func(uintptr, string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		fn(v.Pointer(), path)
		refs(v.Elem(), path, fn)
	case reflect.Slice:
		if v.Len() > 0 {
			fn(v.Pointer(), path)
		}
		for i := range v.Len() {
			refs(v.Index(i), path+"[]", fn)
		}
	case reflect.Map:
		if v.Len() > 0 {
			fn(v.Pointer(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			refs(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
		}
	}
}
