package promcheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`max by (account, partition) (fairway_account_oldest_pending_job_age_seconds) > 4 * 3600`, []string{"fairway_account_oldest_pending_job_age_seconds"}},
		{`sum(rate(fairway_job_wait_seconds_bucket{account=~"$account", le!="+Inf"}[5m])) by (le)`, []string{"fairway_job_wait_seconds_bucket"}},
		{`a{x="}{by(b)"} / on (node) group_left (gpu) b offset 5m`, []string{"a", "b"}},
		{`histogram_quantile(0.9, sum by (le) (rate(x_bucket[$__rate_interval])))`, []string{"x_bucket"}},
		{`{__name__="slurm_gpus_alloc"} + ${var} + 1e3 + 0x1f + Inf`, []string{"slurm_gpus_alloc"}},
		{`(max(fairway_raft_leader) or vector(0)) < 1`, []string{"fairway_raft_leader"}},
		{`topk(5, sum without (instance) (increase(y_total[1h:5m])))`, []string{"y_total"}},
		{`label_replace(z, "dst", "$1", "src", "(.*)")`, []string{"z"}},
	}
	for _, tc := range tests {
		got, err := Names(tc.expr)
		if err != nil {
			t.Errorf("Names(%q): %v", tc.expr, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Names(%q) (-want +got):\n%s", tc.expr, diff)
		}
	}
	for _, bad := range []string{`x{a="b"`, `x{a="b}`, `rate(x[5m)`, `"open`} {
		if _, err := Names(bad); err == nil {
			t.Errorf("Names(%q) gave no error", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	known := map[string]bool{"fairway_nodes": true}
	if err := Check(`sum(fairway_nodes{state="DOWN"})`, known); err != nil {
		t.Error(err)
	}
	if err := Check(`sum(fairway_node)`, known); err == nil {
		t.Error("an unknown metric passed")
	}
	if err := Check(`vector(1)`, known); err == nil {
		t.Error("an expression without metrics passed")
	}
}

// TestExported: the lists come from the daemons' registries.
func TestExported(t *testing.T) {
	known := Exported()
	for _, n := range []string{"fairway_partition_gpus", "slurm_gpus_alloc", "fairway_job_wait_seconds_bucket",
		"fairway_noded_gpu_utilization_percent", "fairway_raft_leader", "up"} {
		if !known[n] {
			t.Errorf("%s is not in the exported names", n)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{`up`, `sum by (a) (rate(x{y="z"}[5m]))`, `a{`, `"\`, `$`, `${`, `x[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := Names(expr)
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "" {
				t.Fatalf("empty name from %q", expr)
			}
		}
	})
}
