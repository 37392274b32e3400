package gpu

import (
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports one series per GPU of each metric, labelled with the
// GPU's index, UUID and type, and with hpc_job, the IDs of the jobs that
// hold it (comma-separated; empty while it is free), as dcgm-exporter
// labels its metrics from the HPC job mapping. Use and temperature are read
// from NVML at scrape time; GPUs without NVML (declared in the
// configuration) export only health and allocation.
type Collector struct {
	mon  *Monitor
	jobs func() map[int][]string

	util, memUsed, memTotal, temp, power, healthy, alloc *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns the collector of mon's GPUs. jobs tells which jobs
// hold each GPU index now.
func NewCollector(mon *Monitor, constLabels prometheus.Labels, jobs func() map[int][]string) *Collector {
	labels := []string{"gpu", "uuid", "type", "hpc_job"}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("fairway_noded_gpu_"+name, help, labels, constLabels)
	}
	return &Collector{
		mon:      mon,
		jobs:     jobs,
		util:     desc("utilization_percent", "GPU utilization over NVML's last sample period, in percent."),
		memUsed:  desc("memory_used_bytes", "GPU memory in use."),
		memTotal: desc("memory_total_bytes", "GPU memory in all."),
		temp:     desc("temperature_celsius", "GPU core temperature."),
		power:    desc("power_watts", "GPU power draw."),
		healthy:  desc("healthy", "1 while the GPU is healthy, 0 once it was withdrawn."),
		alloc:    desc("allocated", "1 while the GPU is allocated to a job (hpc_job names it)."),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.util, c.memUsed, c.memTotal, c.temp, c.power, c.healthy, c.alloc} {
		ch <- d
	}
}

// Collect reads every GPU's metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	jobs := c.jobs()
	lib := c.mon.Lib()
	for _, g := range c.mon.GPUs() {
		held := jobs[g.Index]
		labels := []string{strconv.Itoa(g.Index), g.UUID, g.Type, strings.Join(held, ",")}
		gauge := func(d *prometheus.Desc, v float64) {
			if !math.IsNaN(v) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
			}
		}
		gauge(c.healthy, boolValue(g.Healthy))
		gauge(c.alloc, boolValue(len(held) > 0))
		if lib == nil {
			continue
		}
		s, err := lib.Sample(g.UUID)
		if err != nil {
			continue // a lost GPU: its health says so
		}
		gauge(c.util, s.UtilizationPercent)
		gauge(c.memUsed, s.MemoryUsedBytes)
		gauge(c.memTotal, s.MemoryTotalBytes)
		gauge(c.temp, s.TemperatureCelsius)
		gauge(c.power, s.PowerWatts)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
