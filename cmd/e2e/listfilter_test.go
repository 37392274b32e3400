//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSqueueSacctFilters checks squeue's and sacct's filters through the
// real binaries, now that the controller applies them (GET /v1/jobs?user=
// &state=&name=&account=&partition=): each command lists exactly the jobs
// it did when it fetched every job and filtered them itself.
func TestSqueueSacctFilters(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	a := c.sbatch("-J", "flt-a", "--mem=64M", "-H", "--wrap", "true")
	b := c.sbatch("-J", "flt-b", "--mem=64M", "-H", "--wrap", "true")
	done := c.sbatch("-J", "flt-a", "--mem=64M", "--wrap", "true")
	c.waitState(done, "COMPLETED", time.Minute)
	lines := func(out string) []string {
		if strings.TrimSpace(out) == "" {
			return nil
		}
		return strings.Split(strings.TrimSpace(out), "\n")
	}
	for _, tc := range []struct {
		cmd  []string
		want []string
	}{
		{[]string{"squeue", "-h", "-o", "%i", "-u", "root"}, []string{a, b}},
		{[]string{"squeue", "-h", "-o", "%i", "-u", "0"}, []string{a, b}},
		{[]string{"squeue", "-h", "-o", "%i", "-u", "nobody"}, nil},
		{[]string{"squeue", "-h", "-o", "%i", "-u", "nobody,root"}, []string{a, b}},
		{[]string{"squeue", "-h", "-o", "%i", "-n", "flt-b"}, []string{b}},
		{[]string{"squeue", "-h", "-o", "%i %t", "-t", "CD"}, []string{done + " CD"}},
		{[]string{"squeue", "-h", "-o", "%i", "-t", "all", "-n", "flt-a"}, []string{a, done}},
		{[]string{"squeue", "-h", "-o", "%i", "-t", "PD", "-p", "nosuchpartition"}, nil},
		{[]string{"sacct", "-X", "-n", "-P", "-o", "JobID", "-u", "root", "--name", "flt-a"}, []string{a, done}},
		{[]string{"sacct", "-X", "-n", "-P", "-o", "JobID", "-u", "nobody"}, nil},
	} {
		if d := cmp.Diff(tc.want, lines(c.must(tc.cmd[0], tc.cmd[1:]...))); d != "" {
			t.Errorf("%s (-want +got):\n%s", strings.Join(tc.cmd, " "), d)
		}
	}
	c.must("scancel", a, b)
}
