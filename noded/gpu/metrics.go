package gpu

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports one series per GPU of each metric, labelled with the
// GPU's index, UUID and type (never with jobs: which job holds a GPU is the
// API's to tell). Use and temperature are read from NVML at scrape time;
// GPUs without NVML (declared in the configuration) export only health and
// allocation.
type Collector struct {
	mon       *Monitor
	allocated func() map[int]bool

	util, memUsed, memTotal, temp, power, healthy, alloc *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns the collector of mon's GPUs. allocated tells which
// GPU indices are allocated to jobs now.
func NewCollector(mon *Monitor, constLabels prometheus.Labels, allocated func() map[int]bool) *Collector {
	labels := []string{"gpu", "uuid", "type"}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("fairway_noded_gpu_"+name, help, labels, constLabels)
	}
	return &Collector{
		mon:       mon,
		allocated: allocated,
		util:      desc("utilization_percent", "GPU utilization over NVML's last sample period, in percent."),
		memUsed:   desc("memory_used_bytes", "GPU memory in use."),
		memTotal:  desc("memory_total_bytes", "GPU memory in all."),
		temp:      desc("temperature_celsius", "GPU core temperature."),
		power:     desc("power_watts", "GPU power draw."),
		healthy:   desc("healthy", "1 while the GPU is healthy, 0 once it was withdrawn."),
		alloc:     desc("allocated", "1 while the GPU is allocated to a job."),
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
	allocated := c.allocated()
	lib := c.mon.Lib()
	for _, g := range c.mon.GPUs() {
		labels := []string{strconv.Itoa(g.Index), g.UUID, g.Type}
		gauge := func(d *prometheus.Desc, v float64) {
			if !math.IsNaN(v) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
			}
		}
		gauge(c.healthy, boolValue(g.Healthy))
		gauge(c.alloc, boolValue(allocated[g.Index]))
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
