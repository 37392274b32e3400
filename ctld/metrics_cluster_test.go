package ctld

import (
	"fmt"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// samples collects what clusterMetrics sends for v, as "name{l=v,...}" ->
// value.
func samples(t *testing.T, v *clusterView) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 4096)
	clusterMetrics(v, ch)
	close(ch)
	return flatten(t, ch)
}

func flatten(t *testing.T, ch <-chan prometheus.Metric) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		key := fqName(m.Desc())
		for i, l := range pb.GetLabel() {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			key += sep + l.GetName() + "=" + l.GetValue()
		}
		if len(pb.GetLabel()) > 0 {
			key += "}"
		}
		switch {
		case pb.Gauge != nil:
			out[key] = pb.GetGauge().GetValue()
		case pb.Counter != nil:
			out[key] = pb.GetCounter().GetValue()
		}
	}
	return out
}

// metricsCluster is two partitions: gpu (n1, n2 with 4 h100 each; n2
// DRAIN) and cpu (c1, no GPUs); account a guaranteed 4 GPUs in gpu, b
// none; a runs 1 GPU, b runs 3 GPUs on n1; n1's GPU 3 is unhealthy... no:
// n1 has all 4 in use; n2 is drained with one unhealthy GPU.
func metricsCluster() *clusterView {
	now := time.Unix(1_800_000_000, 0)
	gpus := func(unhealthy ...int) []api.GPU {
		var out []api.GPU
		for i := range 4 {
			g := api.GPU{Index: i, UUID: "GPU-" + string(rune('a'+i)), Type: "H100", Healthy: true}
			for _, u := range unhealthy {
				if u == i {
					g.Healthy, g.HealthReason = false, "XID 79"
				}
			}
			out = append(out, g)
		}
		return out
	}
	used := func(idx ...int) api.NodeResources {
		r := api.NodeResources{CPUs: 8 * len(idx)}
		for _, i := range idx {
			r.GPUs = append(r.GPUs, api.GPU{Index: i})
		}
		return r
	}
	cfg := api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true}, {Name: "cpu"}},
		Accounts: []api.Account{{Name: "a", Guarantees: map[string]int{"gpu": 4}}, {Name: "b"},
			{Name: "a1", Parent: "a"}},
	}
	nodes := []*api.Node{
		{Name: "n1", Partitions: []string{"gpu"}, State: api.NodeAllocated, Resources: api.NodeResources{CPUs: 32, GPUs: gpus()}, Used: used(0, 1, 2, 3)},
		{Name: "n2", Partitions: []string{"gpu"}, State: api.NodeDrain, Resources: api.NodeResources{CPUs: 32, GPUs: gpus(3)}},
		{Name: "c1", Partitions: []string{"cpu"}, State: api.NodeIdle, Resources: api.NodeResources{CPUs: 16}},
	}
	alloc := func(node string, cpus int, g ...int) []api.NodeAlloc {
		return []api.NodeAlloc{{Node: node, CPUs: cpus, GPUs: g}}
	}
	spec := func(acct, user string, gpus int) api.JobSpec {
		return api.JobSpec{Account: acct, User: user, Nodes: 1, GPUs: gpus}
	}
	jobs := []*api.Job{
		{ID: 1, State: api.JobRunning, Partition: "gpu", Spec: spec("a1", "ann", 1), Alloc: alloc("n1", 8, 0), StartTime: now.Unix() - 100},
		{ID: 2, State: api.JobRunning, Partition: "gpu", Spec: spec("b", "bob", 3), Alloc: alloc("n1", 24, 1, 2, 3), StartTime: now.Unix() - 100},
		{ID: 3, State: api.JobPending, Partition: "gpu", Spec: spec("a", "ann", 2), Reason: api.ReasonResources, SubmitTime: now.Unix() - 600},
		{ID: 4, State: api.JobPending, Partition: "gpu", Spec: spec("a", "ann", 1), Reason: api.ReasonHeldUser, SubmitTime: now.Unix() - 9000},
		{ID: 5, State: api.JobPending, Partition: "gpu", Spec: spec("b", "bob", 1), Reason: api.ReasonDependency, SubmitTime: now.Unix() - 50},
		{ID: 6, State: api.JobPending, Partition: "gpu", Spec: spec("b", "bob", 2), ArrayJobID: 6, ArrayTaskID: -1,
			ArrayPending: api.TaskIDs{0, 1, 2}, Reason: api.ReasonPriority, SubmitTime: now.Unix() - 60},
		{ID: 7, State: api.JobFailed, Partition: "gpu", Spec: spec("b", "bob", 1)},
		{ID: 8, State: api.JobCompleted, Partition: "cpu", Spec: spec("a", "ann", 0)},
		{ID: 9, State: api.JobPending, Partition: "gpu", Spec: spec("a", "ann", 1), SubmitTime: now.Unix()},
	}
	return &clusterView{now: now, cfg: cfg, nodes: nodes, jobs: jobs,
		preemptions: []api.PreemptionTotal{{Account: "b", Reason: "reclaim", Count: 2, LostGPUSecs: 7200}}}
}

func TestMetricsCluster(t *testing.T) {
	got := samples(t, metricsCluster())
	want := map[string]float64{
		// n1: 4 allocated; n2 drained: 4 down (one also unhealthy).
		"fairway_partition_gpus{gpu_type=h100,partition=gpu,state=allocated}": 4,
		"fairway_partition_gpus{gpu_type=h100,partition=gpu,state=down}":      4,
		"fairway_partition_gpus{gpu_type=h100,partition=gpu,state=idle}":      0,
		"fairway_partition_gpus_capacity{gpu_type=h100,partition=gpu}":        8,
		"fairway_partition_gpus_unhealthy{gpu_type=h100,partition=gpu}":       1,
		"fairway_partition_cpus{gpu_type=h100,partition=gpu,state=allocated}": 32,
		"fairway_partition_cpus{gpu_type=h100,partition=gpu,state=down}":      32,
		"fairway_partition_cpus{gpu_type=none,partition=cpu,state=idle}":      16,
		"fairway_partition_cpus_capacity{gpu_type=none,partition=cpu}":        16,
		// a's guarantee covers a1's job: 1 of 4 used; b borrows 3. The
		// usable GPUs are n1's 4 (n2 is drained), all guaranteed to a, so
		// b's 3 come from a's unused guarantee.
		"fairway_account_gpus_used{account=a1,partition=gpu}":                   1,
		"fairway_account_gpus_used{account=b,partition=gpu}":                    3,
		"fairway_account_gpus_guarantee{account=a,partition=gpu}":               4,
		"fairway_account_gpus_guarantee_used{account=a,partition=gpu}":          1,
		"fairway_account_gpus_borrowed{account=a,partition=gpu}":                0,
		"fairway_account_gpus_lent{account=a,partition=gpu}":                    3,
		"fairway_account_gpus_borrowed{account=b,partition=gpu}":                3,
		"fairway_account_gpus_lent{account=b,partition=gpu}":                    0,
		"fairway_account_pending_jobs{account=b,partition=gpu,reason=Priority}": 3,
		"fairway_account_pending_gpus{account=b,partition=gpu,reason=Priority}": 6,
		"fairway_account_pending_jobs{account=a,partition=gpu,reason=None}":     1,
		// The held job (9000 s) does not count; job 3 waits 600 s.
		"fairway_account_oldest_pending_job_age_seconds{account=a,partition=gpu}": 600,
		"fairway_account_oldest_pending_job_age_seconds{account=b,partition=gpu}": 60,
		"fairway_jobs{state=PENDING}":                                                 7,
		"fairway_jobs{state=RUNNING}":                                                 2,
		"fairway_jobs{state=FAILED}":                                                  1,
		"fairway_jobs_by_phase{phase=submitted}":                                      1,
		"fairway_jobs_by_phase{phase=runnable}":                                       4,
		"fairway_jobs_by_phase{phase=pending}":                                        2,
		"fairway_jobs_by_phase{phase=running}":                                        2,
		"fairway_jobs_by_phase{phase=succeeded}":                                      1,
		"fairway_jobs_by_phase{phase=failed}":                                         1,
		"fairway_nodes{state=DRAIN}":                                                  1,
		"fairway_account_preemptions_total{account=b,reason=reclaim}":                 2,
		"fairway_account_preemption_lost_gpu_seconds_total{account=b,reason=reclaim}": 7200,
		"slurm_gpus_total":                                                            8,
		"slurm_gpus_alloc":                                                            4,
		"slurm_gpus_idle":                                                             4,
		"slurm_gpus_utilization":                                                      0.5,
		"slurm_cpus_total":                                                            80,
		"slurm_cpus_alloc":                                                            32,
		"slurm_cpus_other":                                                            32,
		"slurm_cpus_idle":                                                             16,
		"slurm_nodes_alloc":                                                           1,
		"slurm_nodes_drain":                                                           1,
		"slurm_nodes_idle":                                                            1,
		"slurm_nodes_down":                                                            0,
		"slurm_queue_pending":                                                         7,
		"slurm_queue_pending_dependency":                                              1,
		"slurm_queue_running":                                                         2,
		"slurm_queue_failed":                                                          1,
		"slurm_queue_completed":                                                       1,
		"slurm_account_jobs_pending{account=b}":                                       4,
		"slurm_account_jobs_running{account=b}":                                       1,
		"slurm_account_cpus_running{account=b}":                                       24,
		"slurm_user_jobs_pending{user=ann}":                                           3,
		"slurm_partition_jobs_pending{partition=gpu}":                                 7,
		"slurm_partition_cpus_total{partition=gpu}":                                   64,
		"slurm_scheduler_queue_size":                                                  5,
	}
	picked := map[string]float64{}
	for k := range want {
		if v, ok := got[k]; ok {
			picked[k] = v
		}
	}
	if diff := cmp.Diff(want, picked); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// TestMetricsGuaranteeLending: borrowers fill the usable GPUs nobody is
// guaranteed first; the rest is lent by the accounts with unused
// guarantees, in proportion.
func TestMetricsGuaranteeLending(t *testing.T) {
	cfg := &api.ClusterConfig{Accounts: []api.Account{
		{Name: "a", Guarantees: map[string]int{"p": 4}},
		{Name: "b", Guarantees: map[string]int{"p": 2}},
		{Name: "c"},
	}}
	type row struct {
		Acct            string
		Guar, Used, Brw int
		Lent            float64
	}
	tests := []struct {
		name   string
		used   map[ak]int
		usable int
		want   []row
	}{
		{"borrow within unguaranteed capacity", map[ak]int{{"c", "p"}: 2}, 8,
			[]row{{"a", 4, 0, 0, 0}, {"b", 2, 0, 0, 0}, {"c", 0, 2, 2, 0}}},
		{"borrow into guarantees, in proportion", map[ak]int{{"c", "p"}: 5}, 8,
			[]row{{"a", 4, 0, 0, 2}, {"b", 2, 0, 0, 1}, {"c", 0, 5, 5, 0}}},
		{"a borrows from b", map[ak]int{{"a", "p"}: 6}, 6,
			[]row{{"a", 4, 6, 2, 0}, {"b", 2, 0, 0, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []row
			for _, f := range guaranteeFigures(cfg, tc.used, map[string]int{"p": tc.usable}) {
				got = append(got, row{f.acct, f.guarantee, f.used, f.borrowed, f.lent})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestMetricsPreemptionTotals: the state's preemption totals are exported
// as counters by account and reason.
func TestMetricsPreemptionTotals(t *testing.T) {
	v := &clusterView{now: time.Unix(0, 0), preemptions: []api.PreemptionTotal{
		{Account: "a", Reason: "reclaim", Count: 3, LostGPUSecs: 3600},
		{Account: "a", Reason: "priority", Count: 1, LostGPUSecs: 0},
	}}
	got := samples(t, v)
	for k, want := range map[string]float64{
		"fairway_account_preemptions_total{account=a,reason=reclaim}":                  3,
		"fairway_account_preemption_lost_gpu_seconds_total{account=a,reason=reclaim}":  3600,
		"fairway_account_preemptions_total{account=a,reason=priority}":                 1,
		"fairway_account_preemption_lost_gpu_seconds_total{account=a,reason=priority}": 0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

// TestMetricsJobEnds: ends already in the state at the first scrape are the
// baseline; later ends are counted once each.
func TestMetricsJobEnds(t *testing.T) {
	w := newEndWatch()
	scrape := func(jobs ...*api.Job) map[string]float64 {
		ch := make(chan prometheus.Metric, 64)
		w.collect(jobs, "", ch)
		close(ch)
		return flatten(t, ch)
	}
	old := &api.Job{ID: 1, State: api.JobFailed, Spec: api.JobSpec{Account: "a"}}
	run := &api.Job{ID: 2, State: api.JobRunning, Spec: api.JobSpec{Account: "a"}}
	key := "fairway_jobs_ended_total{account=a,state=FAILED}"
	if got := scrape(old, run)[key]; got != 0 {
		t.Fatalf("first scrape: %s = %v, want 0 (the baseline)", key, got)
	}
	failed := *run
	failed.State = api.JobFailed
	for range 2 {
		if got := scrape(old, &failed)[key]; got != 1 {
			t.Fatalf("after job 2 failed: %s = %v, want 1", key, got)
		}
	}
}

// TestMetricsJobPhases: a run started after this controller became leader
// is starting until its node's start report arrives.
func TestMetricsJobPhases(t *testing.T) {
	w := newStartWatch()
	old := &api.Job{ID: 1, State: api.JobRunning, StartTime: 90}
	fresh := &api.Job{ID: 2, State: api.JobRunning, StartTime: 110, RestartCount: 1}
	if phaseOf(fresh, w.started) != phaseRunning {
		t.Errorf("a follower counts every running job running")
	}
	w.lead(100)
	if got := phaseOf(old, w.started); got != phaseRunning {
		t.Errorf("run started before leadership: %s, want running", got)
	}
	if got := phaseOf(fresh, w.started); got != phaseStarting {
		t.Errorf("run without a start report: %s, want starting", got)
	}
	w.record([]api.JobEvent{{JobID: 2, Run: 0, Kind: api.EventStarted}})
	if got := phaseOf(fresh, w.started); got != phaseStarting {
		t.Errorf("start report of an earlier run: %s, want starting", got)
	}
	w.record([]api.JobEvent{{JobID: 2, Run: 1, Kind: api.EventStarted}})
	if got := phaseOf(fresh, w.started); got != phaseRunning {
		t.Errorf("run with a start report: %s, want running", got)
	}
}

// BenchmarkClusterMetrics measures one scrape's computation on 1000 nodes
// of 8 GPUs and 100,000 jobs (4,000 running, 36,000 pending, the rest
// finished) in 20 accounts.
func BenchmarkClusterMetrics(b *testing.B) {
	v := &clusterView{now: time.Unix(1_800_000_000, 0), cfg: api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu"}}}}
	for i := range 20 {
		v.cfg.Accounts = append(v.cfg.Accounts, api.Account{Name: fmt.Sprintf("a%d", i), Guarantees: map[string]int{"gpu": 100}})
	}
	for i := range 1000 {
		n := &api.Node{Name: fmt.Sprintf("n%d", i), Partitions: []string{"gpu"}, State: api.NodeMixed, Resources: api.NodeResources{CPUs: 64}}
		for g := range 8 {
			n.Resources.GPUs = append(n.Resources.GPUs, api.GPU{Index: g, Type: "h100", Healthy: true})
		}
		n.Used = api.NodeResources{CPUs: 32, GPUs: n.Resources.GPUs[:4]}
		v.nodes = append(v.nodes, n)
	}
	states := []api.JobState{api.JobCompleted, api.JobFailed, api.JobPending, api.JobPending, api.JobPending, api.JobCompleted,
		api.JobCompleted, api.JobCompleted, api.JobCompleted, api.JobPending}
	for i := range 100_000 {
		j := &api.Job{ID: api.JobID(i + 1), Partition: "gpu", State: states[i%10], Reason: api.ReasonPriority, SubmitTime: int64(i),
			Spec: api.JobSpec{Account: fmt.Sprintf("a%d", i%20), User: fmt.Sprintf("u%d", i%200), Nodes: 1, GPUs: 1}}
		if i%25 == 0 {
			j.State = api.JobRunning
			j.Alloc = []api.NodeAlloc{{Node: fmt.Sprintf("n%d", i%1000), CPUs: 8, GPUs: []int{i % 8}}}
		}
		v.jobs = append(v.jobs, j)
	}
	b.ResetTimer()
	for b.Loop() {
		ch := make(chan prometheus.Metric, 1024)
		go func() { clusterMetrics(v, ch); close(ch) }()
		for range ch {
		}
	}
}
