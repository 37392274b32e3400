package gpu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// JobMap keeps NVIDIA dcgm-exporter's HPC job mapping directory (its
// --hpc-job-mapping-dir, DCGM_HPC_JOB_MAPPING_DIR): one file per GPU in
// use, named by the GPU's index, holding the IDs of the jobs using it, one
// per line. dcgm-exporter then labels that GPU's metrics with hpc_job.
// Files are replaced atomically (written under a name that is not a number,
// which dcgm-exporter skips, then renamed); a GPU no job uses has no file.
type JobMap struct {
	dir  string
	mu   sync.Mutex
	last map[int]string // file contents written, by GPU index
}

// NewJobMap makes dir (mode 0755) and removes the mapping files an earlier
// daemon left, so that nothing maps a GPU to a job that ended meanwhile.
func NewJobMap(dir string) (*JobMap, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("HPC job mapping directory %q: must be absolute", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("HPC job mapping directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("HPC job mapping directory: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil && !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("HPC job mapping directory: %w", err)
			}
		}
	}
	return &JobMap{dir: dir, last: map[int]string{}}, nil
}

// Dir is the mapping directory.
func (m *JobMap) Dir() string { return m.dir }

// Sync makes the directory say jobs (GPU index -> job IDs): it writes the
// files whose contents change and removes those of GPUs no longer used.
func (m *JobMap) Sync(jobs map[int][]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for idx, ids := range jobs {
		if len(ids) == 0 {
			continue
		}
		ids = slices.Clone(ids)
		slices.Sort(ids)
		content := strings.Join(slices.Compact(ids), "\n") + "\n"
		if m.last[idx] == content {
			continue
		}
		name := filepath.Join(m.dir, strconv.Itoa(idx))
		tmp := filepath.Join(m.dir, "."+strconv.Itoa(idx)+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("GPU %d job mapping: %w", idx, err))
			continue
		}
		if err := os.Rename(tmp, name); err != nil {
			errs = append(errs, fmt.Errorf("GPU %d job mapping: %w", idx, err))
			continue
		}
		m.last[idx] = content
	}
	for idx := range m.last {
		if len(jobs[idx]) > 0 {
			continue
		}
		err := os.Remove(filepath.Join(m.dir, strconv.Itoa(idx)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("GPU %d job mapping: %w", idx, err))
			continue
		}
		delete(m.last, idx)
	}
	return errors.Join(errs...)
}
