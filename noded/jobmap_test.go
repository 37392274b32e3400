package noded

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// TestDaemonHPCJobMapping: while a job holding GPUs 0 and 2 runs, the HPC
// job mapping directory has files 0 and 2 naming it (what dcgm-exporter
// reads); once it exits, they are gone.
func TestDaemonHPCJobMapping(t *testing.T) {
	fc := newFakeController(t)
	ex := newFakeExec()
	dir := filepath.Join(t.TempDir(), "dcgm-job-map")
	startFakeNode(t, fc, ex, filepath.Join(t.TempDir(), "state"), func(c *Config) {
		c.HPCJobMappingDir = dir
		c.GPUs = []api.GPU{
			{Index: 0, UUID: "GPU-fake-0", Type: "h100", Healthy: true},
			{Index: 1, UUID: "GPU-fake-1", Type: "h100", Healthy: true},
			{Index: 2, UUID: "GPU-fake-2", Type: "h100", Healthy: true},
		}
	})
	job := batchJob(7, t.TempDir(), "true")
	job.Spec.UID, job.Spec.GID = os.Getuid(), os.Getgid()
	job.Spec.GPUs = 2
	job.Alloc = []api.NodeAlloc{{Node: "n1", CPUs: 1, MemoryMB: 64, GPUs: []int{0, 2}, GPUUUIDs: []string{"GPU-fake-0", "GPU-fake-2"}}}
	fc.addJob(job, "n1")
	fc.waitEvent(t, 7, api.EventStarted, 10*time.Second)
	mapping := func() map[string]string {
		out := map[string]string{}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			out[e.Name()] = string(b)
		}
		return out
	}
	waitFor(t, 10*time.Second, func() bool {
		m := mapping()
		return len(m) == 2 && m["0"] == "7\n" && m["2"] == "7\n"
	}, func() string { return "mapping while the job runs: " + formatMap(mapping()) })
	ex.proc(runKey{7, 0}).exit <- executor.ExitStatus{}
	fc.waitEvent(t, 7, api.EventExited, 10*time.Second)
	waitFor(t, 10*time.Second, func() bool { return len(mapping()) == 0 },
		func() string { return "mapping after the job ended: " + formatMap(mapping()) })
}

func formatMap(m map[string]string) string {
	s := ""
	for k, v := range m {
		s += k + "=" + v + " "
	}
	return s
}
