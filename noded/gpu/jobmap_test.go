package gpu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readMap reads a mapping directory as dcgm-exporter does: the files named
// by a GPU index, their lines.
func readMap(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestJobMap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dcgm-job-map")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A file an earlier daemon left, and one that is not a mapping.
	for name, content := range map[string]string{"3": "99\n", "README": "keep\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewJobMap(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		jobs map[int][]string
		want map[string]string
	}{
		{"stale file removed at start", nil, map[string]string{"README": "keep\n"}},
		{"two jobs start", map[int][]string{0: {"12"}, 1: {"12"}, 5: {"14"}},
			map[string]string{"README": "keep\n", "0": "12\n", "1": "12\n", "5": "14\n"}},
		{"GPU shared by two jobs", map[int][]string{0: {"15", "12"}, 1: {"12"}, 5: {"14"}},
			map[string]string{"README": "keep\n", "0": "12\n15\n", "1": "12\n", "5": "14\n"}},
		{"job 12 ends", map[int][]string{0: {"15"}, 5: {"14"}},
			map[string]string{"README": "keep\n", "0": "15\n", "5": "14\n"}},
		{"all end", map[int][]string{0: nil}, map[string]string{"README": "keep\n"}},
	}
	for _, s := range steps {
		if s.jobs != nil {
			if err := m.Sync(s.jobs); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if diff := cmp.Diff(s.want, readMap(t, dir)); diff != "" {
			t.Errorf("%s: directory (-want +got):\n%s", s.name, diff)
		}
	}
	if _, err := NewJobMap("relative/dir"); err == nil {
		t.Error("a relative directory was accepted")
	}
}
