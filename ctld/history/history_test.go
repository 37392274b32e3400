package history

import (
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

func gpus(n int, unhealthy map[int]string) []api.GPU {
	out := make([]api.GPU, n)
	for i := range out {
		reason, bad := unhealthy[i]
		out[i] = api.GPU{Index: i, Type: "h100", Healthy: !bad, HealthReason: reason}
	}
	return out
}

func running(id api.JobID, account, part string, node string, gpuIdx ...int) *api.Job {
	return &api.Job{ID: id, State: api.JobRunning, Partition: part, Spec: api.JobSpec{Account: account, GPUs: len(gpuIdx), Nodes: 1},
		Alloc: []api.NodeAlloc{{Node: node, CPUs: 1, GPUs: gpuIdx}}}
}

func pending(id api.JobID, account, part string, gpus int) *api.Job {
	return &api.Job{ID: id, State: api.JobPending, Partition: part, Reason: api.ReasonResources, Spec: api.JobSpec{Account: account, GPUs: gpus, Nodes: 1}}
}

// TestMeasure: what the accounts page shows. research borrows 3 GPUs while
// prod (guarantee 2) uses none: one GPU of research's borrowing is
// unguaranteed capacity, the other two are prod's guarantee lent. A job of
// prod's sub-account counts against prod. Unhealthy GPUs and drained nodes
// are not usable.
func TestMeasure(t *testing.T) {
	cfg := &api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true}, {Name: "cpu"}},
		Accounts: []api.Account{
			{Name: "prod", Guarantees: map[string]int{"gpu": 2}},
			{Name: "prod-eval", Parent: "prod"},
			{Name: "research"},
		},
	}
	nodes := []*api.Node{
		{Name: "n1", State: api.NodeMixed, Partitions: []string{"gpu"}, Resources: api.NodeResources{GPUs: gpus(4, map[int]string{3: "XID 79"})}},
		{Name: "n2", State: api.NodeDrain, Partitions: []string{"gpu"}, Resources: api.NodeResources{GPUs: gpus(2, nil)}},
		{Name: "c1", State: api.NodeIdle, Partitions: []string{"cpu"}},
	}
	array := pending(7, "research", "gpu", 1)
	array.ArrayJobID, array.ArrayTaskID, array.ArrayPending = 7, -1, api.TaskIDs{2, 3, 4}
	jobs := []*api.Job{
		running(1, "research", "gpu", "n1", 0, 1, 2),
		pending(2, "prod-eval", "gpu", 2),
		array,
		{ID: 9, State: api.JobCompleted, Partition: "gpu", Spec: api.JobSpec{Account: "prod", GPUs: 4}},
	}
	got := Measure(cfg, nodes, jobs, 1000)
	want := api.HistoryPoint{
		Time: 1000, GPUsTotal: 6, GPUsUsable: 3, GPUsAllocated: 3, Running: 1, Pending: 4, PendingGPUs: 5,
		Partitions: []api.PartitionPoint{
			{Partition: "cpu"},
			{Partition: "gpu", GPUsTotal: 6, GPUsUsable: 3, GPUsAllocated: 3, Running: 1, Pending: 4, PendingGPUs: 5},
		},
		Accounts: []api.AccountPoint{
			{Account: "prod", Partition: "gpu", Guarantee: 2, Lent: 2, Pending: 1, PendingGPUs: 2},
			{Account: "research", Partition: "gpu", InUse: 3, Borrowed: 3, Pending: 3, PendingGPUs: 3},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Measure (-want +got):\n%s", diff)
	}
}

// TestMeasureLentOnlyBeyondUnguaranteed: borrowing that fits in the
// unguaranteed GPUs lends nothing; two lenders share what is lent in
// proportion to their unused guarantees.
func TestMeasureLentOnlyBeyondUnguaranteed(t *testing.T) {
	cfg := &api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu"}},
		Accounts: []api.Account{
			{Name: "a", Guarantees: map[string]int{"gpu": 2}},
			{Name: "b", Guarantees: map[string]int{"gpu": 4}},
			{Name: "c"},
		},
	}
	nodes := []*api.Node{{Name: "n1", Partitions: []string{"gpu"}, Resources: api.NodeResources{GPUs: gpus(8, nil)}}}
	for _, tc := range []struct {
		name         string
		cGPUs        []int
		lentA, lentB float64
	}{
		{"within the unguaranteed GPUs", []int{0, 1}, 0, 0},
		{"five borrowed, three lent", []int{0, 1, 2, 3, 4}, 1, 2},
		{"all borrowed", []int{0, 1, 2, 3, 4, 5, 6, 7}, 2, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Measure(cfg, nodes, []*api.Job{running(1, "c", "gpu", "n1", tc.cGPUs...)}, 0).Accounts
			n := float64(len(tc.cGPUs))
			want := []api.AccountPoint{
				{Account: "a", Partition: "gpu", Guarantee: 2, Lent: tc.lentA},
				{Account: "b", Partition: "gpu", Guarantee: 4, Lent: tc.lentB},
				{Account: "c", Partition: "gpu", InUse: n, Borrowed: n},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
		})
	}
}

// point is a measurement with only allocated GPUs and one account row.
func point(at time.Time, alloc float64) api.HistoryPoint {
	return api.HistoryPoint{Time: at.Unix(), GPUsAllocated: alloc, Accounts: []api.AccountPoint{{Account: "a", Partition: "gpu", InUse: alloc}}}
}

// TestHistoryDownsamples: the fine tier averages the measurements of each
// 15 s interval, the coarse one of each 5 min; each keeps only its span, so
// a day of 5 s samples keeps 481 + 289 points.
func TestHistoryDownsamples(t *testing.T) {
	h := New()
	start := time.Unix(1_700_000_100, 0) // a multiple of 5 min
	clock := start
	for i := range 4 { // 0, 5, 10 s in one interval; 15 s opens the next
		h.Add(point(clock, float64(i)))
		clock = clock.Add(5 * time.Second)
	}
	got := h.Series()
	want := []api.HistorySeries{
		{StepSecs: 15, SpanSecs: 7200, Points: []api.HistoryPoint{point(start, 1), point(start.Add(15*time.Second), 3)}},
		{StepSecs: 300, SpanSecs: 172800, Points: []api.HistoryPoint{point(start, 1.5)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}

	// A day of samples every 5 s: bounded by the spans.
	for range 24 * 3600 / 5 {
		h.Add(point(clock, 2))
		clock = clock.Add(5 * time.Second)
	}
	got = h.Series()
	if n := len(got[0].Points); n != 480 {
		t.Errorf("fine tier keeps %d points, want 480 (2 h of 15 s)", n)
	}
	if n := len(got[1].Points); n != 289 {
		t.Errorf("coarse tier keeps %d points, want 289 (a day of 5 min and the first)", n)
	}
	last := got[0].Points[len(got[0].Points)-1]
	if first := got[0].Points[0]; last.Time-first.Time != 7200-15 {
		t.Errorf("fine tier spans %d s, want %d", last.Time-first.Time, 7200-15)
	}
}

// TestHistoryAccountMissingCountsZero: an account that appears in only one
// of an interval's measurements is averaged with zeros.
func TestHistoryAccountMissingCountsZero(t *testing.T) {
	h := New(Tier{Step: time.Minute, Span: time.Hour})
	at := time.Unix(6000, 0)
	h.Add(point(at, 4))
	h.Add(api.HistoryPoint{Time: at.Add(30 * time.Second).Unix()})
	want := []api.HistoryPoint{{Time: 6000, GPUsAllocated: 2, Accounts: []api.AccountPoint{{Account: "a", Partition: "gpu", InUse: 2}}}}
	if diff := cmp.Diff(want, h.Series()[0].Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	// Time going backwards past the open interval changes nothing.
	h.Add(point(at.Add(-time.Hour), 100))
	if diff := cmp.Diff(want, h.Series()[0].Points); diff != "" {
		t.Errorf("after an old measurement (-want +got):\n%s", diff)
	}
}

// TestSamplerUsesItsClock: each sample is taken at the injected clock's
// time, and a measurement that is not ready is skipped.
func TestSamplerUsesItsClock(t *testing.T) {
	h := New(Tier{Step: time.Second, Span: time.Hour})
	ready := false
	var after []int64
	s := &Sampler{History: h, Interval: time.Second,
		Measure: func(now time.Time) (api.HistoryPoint, bool) {
			return api.HistoryPoint{Time: now.Unix(), Running: 1}, ready
		},
		After: func(now time.Time) { after = append(after, now.Unix()) },
	}
	s.SampleAt(time.Unix(10, 0))
	ready = true
	s.SampleAt(time.Unix(11, 0))
	if diff := cmp.Diff([]api.HistoryPoint{{Time: 11, Running: 1}}, h.Series()[0].Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{10, 11}, after); diff != "" {
		t.Errorf("After calls (-want +got):\n%s", diff)
	}
}
