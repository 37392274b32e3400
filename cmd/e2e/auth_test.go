//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2EAuthentication: with a private munged and a JWT key, the node daemon
// and the commands authenticate with MUNGE, a job runs as the user of its
// credential, scontrol token's token works in SLURM_JWT, and requests with
// bad or missing credentials are refused with messages that say why.
func TestE2EAuthentication(t *testing.T) {
	c := newCluster(t, clusterOpts{}) // noded registered: MUNGE as root works

	id := c.sbatch("-J", "whoami", "-o", "whoami-%j.out", "--wrap", "id -u")
	c.waitState(id, "COMPLETED", 60*time.Second)
	out, err := os.ReadFile(filepath.Join(c.workDir, "whoami-"+id+".out"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), strconv.Itoa(os.Getuid()); got != want {
		t.Errorf("job ran as uid %s, want the submitter's %s", got, want)
	}
	if uid := c.job(id)["spec"].(map[string]any)["uid"]; uid != float64(os.Getuid()) {
		t.Errorf("job's uid %v, want %d", uid, os.Getuid())
	}

	tok := c.must("scontrol", "token", "lifespan=120")
	if !strings.HasPrefix(tok, "SLURM_JWT=") {
		t.Fatalf("scontrol token printed %q, want SLURM_JWT=...", tok)
	}
	withToken := []string{strings.TrimSpace(tok), "FAIRWAY_MUNGE_SOCKET=/nonexistent/munge.sock"}
	if out, errOut, err := c.runEnv(withToken, "squeue", "-h", "-j", id, "-t", "all", "-o", "%i"); err != nil || strings.TrimSpace(out) != id {
		t.Errorf("squeue with SLURM_JWT: %v, stdout %q, stderr %q", err, out, errOut)
	}

	refused := []struct {
		name string
		env  []string
		want string
	}{
		{"bad token", []string{"SLURM_JWT=not.a.token"}, "token malformed"},
		{"no munged", []string{"FAIRWAY_MUNGE_SOCKET=/nonexistent/munge.sock"}, "no MUNGE credential"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := c.runEnv(tt.env, "sbatch", "--wrap", "true")
			if err == nil || !strings.Contains(errOut, tt.want) {
				t.Errorf("sbatch with %v: %v, stderr %q, want a failure saying %q", tt.env, err, errOut, tt.want)
			}
		})
	}
}
