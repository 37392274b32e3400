package gpu

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fairway-hpc/fairway/api"
)

func TestCollector(t *testing.T) {
	lib := newFakeLib(2)
	lib.samples["GPU-0"] = Sample{UtilizationPercent: 87, MemoryUsedBytes: 1 << 30, MemoryTotalBytes: 80 << 30, TemperatureCelsius: 55, PowerWatts: 412.5}
	// GPU-1 is lost: NVML answers nothing about it.
	m, err := NewMonitor(MonitorConfig{Lib: lib})
	if err != nil {
		t.Fatal(err)
	}
	m.MarkUnhealthy("GPU-1", "GPU is lost")
	c := NewCollector(m, prometheus.Labels{"node": "g1"}, func() map[int][]string { return map[int][]string{0: {"42"}} })
	want := `
# HELP fairway_noded_gpu_allocated 1 while the GPU is allocated to a job (hpc_job names it).
# TYPE fairway_noded_gpu_allocated gauge
fairway_noded_gpu_allocated{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 1
fairway_noded_gpu_allocated{gpu="1",hpc_job="",node="g1",type="h100",uuid="GPU-1"} 0
# HELP fairway_noded_gpu_healthy 1 while the GPU is healthy, 0 once it was withdrawn.
# TYPE fairway_noded_gpu_healthy gauge
fairway_noded_gpu_healthy{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 1
fairway_noded_gpu_healthy{gpu="1",hpc_job="",node="g1",type="h100",uuid="GPU-1"} 0
# HELP fairway_noded_gpu_memory_total_bytes GPU memory in all.
# TYPE fairway_noded_gpu_memory_total_bytes gauge
fairway_noded_gpu_memory_total_bytes{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 8.589934592e+10
# HELP fairway_noded_gpu_memory_used_bytes GPU memory in use.
# TYPE fairway_noded_gpu_memory_used_bytes gauge
fairway_noded_gpu_memory_used_bytes{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 1.073741824e+09
# HELP fairway_noded_gpu_power_watts GPU power draw.
# TYPE fairway_noded_gpu_power_watts gauge
fairway_noded_gpu_power_watts{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 412.5
# HELP fairway_noded_gpu_temperature_celsius GPU core temperature.
# TYPE fairway_noded_gpu_temperature_celsius gauge
fairway_noded_gpu_temperature_celsius{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 55
# HELP fairway_noded_gpu_utilization_percent GPU utilization over NVML's last sample period, in percent.
# TYPE fairway_noded_gpu_utilization_percent gauge
fairway_noded_gpu_utilization_percent{gpu="0",hpc_job="42",node="g1",type="h100",uuid="GPU-0"} 87
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func TestCollectorWithoutNVML(t *testing.T) {
	m, err := NewMonitor(MonitorConfig{Declared: []api.GPU{{Index: 0, UUID: "GPU-fake", Type: "gpu", Healthy: true}}})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(m, nil, func() map[int][]string { return nil })
	want := `
# HELP fairway_noded_gpu_allocated 1 while the GPU is allocated to a job (hpc_job names it).
# TYPE fairway_noded_gpu_allocated gauge
fairway_noded_gpu_allocated{gpu="0",hpc_job="",type="gpu",uuid="GPU-fake"} 0
# HELP fairway_noded_gpu_healthy 1 while the GPU is healthy, 0 once it was withdrawn.
# TYPE fairway_noded_gpu_healthy gauge
fairway_noded_gpu_healthy{gpu="0",hpc_job="",type="gpu",uuid="GPU-fake"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
