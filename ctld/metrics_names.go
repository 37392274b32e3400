package ctld

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricNames lists the names of every metric family the controller's
// /metrics can serve, read from the descriptions of the collectors its
// registry holds (for checks of dashboards and alert rules). A histogram's
// series add _bucket, _sum and _count to its name.
func MetricNames() []string {
	m := newMetrics(nil, nil)
	return DescribedNames(m.collectors...)
}

// DescribedNames lists the metric names the collectors describe, sorted
// and without duplicates.
func DescribedNames(cs ...prometheus.Collector) []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		out = append(out, fqName(d))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fqName is a description's metric name. client_golang keeps it private;
// its String form is Desc{fqName: "NAME", ...}.
func fqName(d *prometheus.Desc) string {
	s := d.String()
	const key = `fqName: "`
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	return s[:strings.IndexByte(s, '"')]
}
