package report

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Series is one sample of Prometheus's text exposition format.
type Series struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// ParseMetrics reads the text exposition format (comments skipped; label
// values without escaped quotes, as the controller writes them).
func ParseMetrics(text string) ([]Series, error) {
	var out []Series
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s := Series{Labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("metrics line %d: unbalanced braces", n)
			}
			s.Name = line[:i]
			for _, kv := range splitLabels(line[i+1 : j]) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("metrics line %d: label %q has no value", n, kv)
				}
				s.Labels[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
			}
			rest = line[j+1:]
		} else {
			i := strings.IndexAny(line, " \t")
			if i < 0 {
				return nil, fmt.Errorf("metrics line %d: no value", n)
			}
			s.Name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("metrics line %d: no value", n)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value %q: %w", n, f[0], err)
		}
		s.Value = v
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// splitLabels splits a{...} label list at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// Buckets returns the cumulative buckets of histogram name whose other
// labels include match, summed over the series that match.
func Buckets(series []Series, name string, match map[string]string) []Bucket {
	sum := map[float64]float64{}
	for _, s := range series {
		if s.Name != name+"_bucket" || !matches(s.Labels, match) {
			continue
		}
		le, err := strconv.ParseFloat(s.Labels["le"], 64)
		if s.Labels["le"] == "+Inf" {
			le, err = math.Inf(1), nil
		}
		if err != nil {
			continue
		}
		sum[le] += s.Value
	}
	out := make([]Bucket, 0, len(sum))
	for le, c := range sum {
		out = append(out, Bucket{UpperBound: le, Count: c})
	}
	return out
}

// Value sums the series of name whose labels include match.
func Value(series []Series, name string, match map[string]string) float64 {
	v := 0.0
	for _, s := range series {
		if s.Name == name && matches(s.Labels, match) {
			v += s.Value
		}
	}
	return v
}

// LabelValues lists the values label takes on the series of name.
func LabelValues(series []Series, name, label string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range series {
		if s.Name == name {
			if v, ok := s.Labels[label]; ok && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

func matches(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}
