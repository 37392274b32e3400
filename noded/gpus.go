package noded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"

	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/gpu"
	"github.com/fairway-hpc/fairway/noded/gpu/nvmllib"
)

// openGPUs builds the node's GPU inventory: the declared GPUs, the test's
// library, or the host's NVML, per cfg.NVML.
func openGPUs(cfg Config, log *slog.Logger) (*gpu.Monitor, error) {
	lib := cfg.GPULib
	if lib == nil && len(cfg.GPUs) == 0 && cfg.NVML != NVMLOff {
		l, err := nvmllib.Open(cfg.DriverDirs)
		switch {
		case err == nil:
			lib = l
		case cfg.NVML == NVMLOn:
			return nil, fmt.Errorf("NVML: %w", err)
		case errors.Is(err, gpu.ErrNoDriver):
			log.Info("no NVIDIA driver: the node has no GPUs")
		case !nvmllib.Built:
			log.Warn("this build cannot find GPUs: the node has no GPUs", "err", err)
		default:
			return nil, fmt.Errorf("NVML: %w (run with NVML off to start without GPUs)", err)
		}
	}
	mon, err := gpu.NewMonitor(gpu.MonitorConfig{
		Lib:           lib,
		Declared:      cfg.GPUs,
		TypeOverride:  cfg.GPUType,
		CheckInterval: cfg.GPUCheckInterval,
		Clock:         cfg.Clock,
		Logger:        log,
	})
	if err != nil {
		if lib != nil {
			_ = lib.Close()
		}
		return nil, err
	}
	return mon, nil
}

// gpuDevices returns what the inventory knows of the GPUs with these
// indices.
func (d *daemon) gpuDevices(indices []int) ([]gpu.Device, error) {
	var out []gpu.Device
	for _, i := range indices {
		dev, ok := d.gpus.Device(i)
		if !ok {
			return nil, fmt.Errorf("GPU %d of the allocation is not in this node's inventory", i)
		}
		out = append(out, dev)
	}
	return out, nil
}

// jobDevices returns the device nodes a job given these GPUs may use.
func (d *daemon) jobDevices(devs []gpu.Device) ([]executor.Device, error) {
	nodes, err := d.cfg.GPUDevices.Nodes(devs, d.gpus.FromNVML())
	if err != nil {
		return nil, err
	}
	out := make([]executor.Device, len(nodes))
	for i, n := range nodes {
		out[i] = executor.Device{Path: n.Path, HostPath: n.HostPath, Major: n.Major, Minor: n.Minor}
	}
	return out, nil
}

// gpuProblem describes the unhealthy GPUs among a run's (index -> reason).
func (d *daemon) gpuProblem(bad map[int]string) string {
	indices := make([]int, 0, len(bad))
	for i := range bad {
		indices = append(indices, i)
	}
	sort.Ints(indices)
	parts := make([]string, len(indices))
	for k, i := range indices {
		uuid := ""
		if dev, ok := d.gpus.Device(i); ok {
			uuid = " (" + dev.UUID + ")"
		}
		parts[k] = fmt.Sprintf("GPU %d%s failed its health check: %s", i, uuid, bad[i])
	}
	return strings.Join(parts, "; ")
}

// gpuHealthLoop acts on every change of the GPUs' health: it registers the
// node again, so the controller schedules nothing more on an unhealthy GPU
// (plans that name one are refused), and then stops the runs that use one.
// Their ends are reported as lost, so the controller requeues each job or
// ends it NODE_FAIL per its requeue setting; registering first means a
// requeued job cannot be placed on the failed GPU again.
func (d *daemon) gpuHealthLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.gpus.Changed():
		}
		if !d.register(ctx) {
			return
		}
		d.failGPURuns()
	}
}

// failGPURuns tells the runners of runs that use an unhealthy GPU to stop
// them.
func (d *daemon) failGPURuns() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.runners {
		v := r.current()
		if v.ended || v.abandoned || len(v.gpus) == 0 {
			continue
		}
		if bad := d.gpus.Unhealthy(v.gpus); len(bad) > 0 {
			r.failGPUs(d.gpuProblem(bad))
		}
	}
}

// gpuJobs returns the IDs of the jobs that hold each of the node's GPUs
// now: the controller's last job list and the runs the daemon has (a run
// ending or not yet listed included).
func (d *daemon) gpuJobs() map[int][]string {
	held := map[int][]api.JobID{}
	add := func(i int, id api.JobID) {
		if !slices.Contains(held[i], id) {
			held[i] = append(held[i], id)
		}
	}
	d.mu.Lock()
	for _, job := range d.listedJobs {
		for _, a := range job.Alloc {
			if a.Node == d.cfg.Name {
				for _, i := range a.GPUs {
					add(i, job.ID)
				}
			}
		}
	}
	d.mu.Unlock()
	for k, v := range d.views() {
		if v.alive() {
			for _, i := range v.gpus {
				add(i, k.job)
			}
		}
	}
	out := make(map[int][]string, len(held))
	for i, ids := range held {
		slices.Sort(ids)
		for _, id := range ids {
			out[i] = append(out[i], strconv.FormatInt(int64(id), 10))
		}
	}
	return out
}

// syncJobMap brings the HPC job mapping directory up to date (when
// configured).
func (d *daemon) syncJobMap() {
	if d.jobMap == nil {
		return
	}
	if err := d.jobMap.Sync(d.gpuJobs()); err != nil {
		d.log.Warn("cannot update the HPC job mapping", "dir", d.jobMap.Dir(), "err", err)
	}
}
