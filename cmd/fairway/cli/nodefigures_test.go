package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNodeFigures: sinfo %e (FREE_MEM, MB) and %O (CPU_LOAD) and scontrol
// show node's FreeMem= and CPULoad= print the figures of the node's latest
// heartbeat as Slurm 22.05 does (src/sinfo/print.c: the load kept as a
// whole number of hundredths, "%.2f"; nodes with different figures on
// separate lines), N/A only when unknown.
func TestNodeFigures(t *testing.T) {
	mb := func(v int64) *int64 { return &v }
	load := func(v float64) *float64 { return &v }
	fixture := func(t *testing.T) *fakeCtld {
		f := newFakeCtld(t).fixture()
		for _, n := range f.nodes {
			switch n.Name {
			case "node1":
				n.FreeMemMB, n.CPULoad = mb(12000), load(0.52)
			case "node3":
				// 0.29 x 100 is 28.999... in binary: Slurm keeps 28.
				n.FreeMemMB, n.CPULoad = mb(65000), load(0.29)
			case "node4":
				n.FreeMemMB, n.CPULoad = mb(65000), load(0.29)
			case "node2":
				n.CPULoad = load(17)
			}
		}
		return f
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"per node", []string{"sinfo", "-h", "-N", "-p", "gpu", "-o", "%N %e %O"},
			lines("node1 12000 0.52", "node2 N/A 17.00", "node3 65000 0.28", "node4 65000 0.28")},
		{"nodes with the same figures share a line", []string{"sinfo", "-h", "-p", "gpu", "-t", "idle", "-o", "%P %D %e %O %N"},
			lines("gpu* 2 65000 0.28 node[3-4]")},
		{"headers", []string{"sinfo", "-n", "node1", "-o", "%e %O"}, lines("FREE_MEM CPU_LOAD", "12000 0.52")},
		{"--Format", []string{"sinfo", "-h", "-n", "node1", "-O", "freemem:9,cpusload:.6"}, lines("12000      0.52")},
		{"a node that never reported", []string{"sinfo", "-h", "-n", "cpu1", "-o", "%e %O"}, lines("N/A N/A")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := &testEnv{}
			if code := te.run(t, fixture(t), tc.args...); code != 0 {
				t.Fatalf("exit %d (stderr %q)", code, te.stderr.String())
			}
			if diff := cmp.Diff(tc.want, te.stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
	for node, want := range map[string][]string{
		"node1": {"CPULoad=0.52", "FreeMem=12000"},
		"node2": {"CPULoad=17.00", "FreeMem=N/A"},
		"cpu1":  {"CPULoad=N/A", "FreeMem=N/A"},
	} {
		te := &testEnv{}
		if code := te.run(t, fixture(t), "scontrol", "show", "node", node); code != 0 {
			t.Fatalf("scontrol show node %s: exit %d (stderr %q)", node, code, te.stderr.String())
		}
		var got []string
		for _, f := range strings.Fields(te.stdout.String()) {
			if strings.HasPrefix(f, "CPULoad=") || strings.HasPrefix(f, "FreeMem=") {
				got = append(got, f)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("scontrol show node %s (-want +got):\n%s", node, diff)
		}
	}
}
