// Package report holds the scale harness's measurements: percentiles of
// samples and of Prometheus histograms, per-route request counters, and
// the run's report written as JSON and as a Markdown table.
package report

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Summary describes a set of samples (seconds, bytes, ...).
type Summary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Percentile is the p-th percentile (0-100) of sorted samples, linearly
// interpolated between the closest ranks; 0 for no samples.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case p <= 0:
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	rank := p / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, n-1)
	frac := rank - float64(lo)
	return sorted[lo] + frac*(sorted[hi]-sorted[lo])
}

// Summarize sorts a copy of samples and describes them.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return Summary{Count: len(s), Mean: sum / float64(len(s)), P50: Percentile(s, 50), P90: Percentile(s, 90),
		P99: Percentile(s, 99), Max: s[len(s)-1]}
}

// Bucket is one cumulative bucket of a Prometheus histogram.
type Bucket struct {
	UpperBound float64 // +Inf for the last
	Count      float64 // observations <= UpperBound
}

// HistogramQuantile is Prometheus's histogram_quantile: the q-quantile
// (0-1) of cumulative buckets sorted by bound, interpolated linearly inside
// the bucket that holds it (the lowest bucket from 0). A quantile in the
// +Inf bucket is the highest finite bound. NaN when there are no
// observations.
func HistogramQuantile(q float64, buckets []Bucket) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	b := slices.Clone(buckets)
	sort.Slice(b, func(i, j int) bool { return b[i].UpperBound < b[j].UpperBound })
	total := b[len(b)-1].Count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.Search(len(b), func(i int) bool { return b[i].Count >= rank })
	if i == len(b) {
		i = len(b) - 1
	}
	if math.IsInf(b[i].UpperBound, 1) {
		if i == 0 {
			return math.NaN()
		}
		return b[i-1].UpperBound
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = b[i-1].UpperBound, b[i-1].Count
	}
	inBucket := b[i].Count - below
	if inBucket <= 0 {
		return b[i].UpperBound
	}
	return lower + (b[i].UpperBound-lower)*(rank-below)/inBucket
}

// SubtractBuckets is after minus before, bucket by bucket (the histogram's
// observations between two scrapes); buckets missing from before count 0.
func SubtractBuckets(after, before []Bucket) []Bucket {
	prev := map[float64]float64{}
	for _, b := range before {
		prev[b.UpperBound] = b.Count
	}
	out := make([]Bucket, len(after))
	for i, b := range after {
		out[i] = Bucket{UpperBound: b.UpperBound, Count: b.Count - prev[b.UpperBound]}
	}
	return out
}

// Routes counts requests and their latencies by route (a method and a
// path pattern such as "POST /v1/nodes/{name}/events"). Safe for
// concurrent use.
type Routes struct {
	mu sync.Mutex
	m  map[string]*routeStat
}

type routeStat struct {
	count, errors int
	lat           []float64 // seconds; bounded by maxLatencySamples
}

// maxLatencySamples bounds the latencies kept per route, so memory stays
// bounded on any run.
const maxLatencySamples = 200_000

// NewRoutes returns empty counters.
func NewRoutes() *Routes { return &Routes{m: map[string]*routeStat{}} }

// Observe records one request of route that took d and failed when err is
// not nil.
func (r *Routes) Observe(route string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.m[route]
	if s == nil {
		s = &routeStat{}
		r.m[route] = s
	}
	s.count++
	if err != nil {
		s.errors++
	}
	if len(s.lat) < maxLatencySamples {
		s.lat = append(s.lat, d.Seconds())
	} else {
		s.lat[s.count%maxLatencySamples] = d.Seconds() // the most recent overwrite older ones
	}
}

// Counts returns the number of requests per route so far.
func (r *Routes) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.m))
	for k, s := range r.m {
		out[k] = s.count
	}
	return out
}

// Table returns each route's figures over a run of secs seconds, sorted by
// route.
func (r *Routes) Table(secs float64) []RouteRow {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RouteRow, 0, len(r.m))
	for k, s := range r.m {
		row := RouteRow{Route: k, Requests: s.count, Errors: s.errors, Latency: Summarize(s.lat)}
		if secs > 0 {
			row.PerSec = float64(s.count) / secs
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// RouteRow is one route's requests over a run.
type RouteRow struct {
	Route    string  `json:"route"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	PerSec   float64 `json:"per_sec"`
	Latency  Summary `json:"latency_seconds"`
}
