// Package promcheck checks PromQL expressions of contrib's alert rules and
// Grafana dashboard against the metrics Fairway's daemons export: Names
// finds the metric names an expression selects (a tokenizer of PromQL's
// selectors, not a full parser; promtool checks the syntax), Exported
// lists what the controller's and node daemon's registries describe.
package promcheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/ctld"
	"github.com/fairway-hpc/fairway/noded"
)

// Prometheus's own series, always there besides the targets' metrics.
var prometheusSeries = []string{"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}

// Exported returns every series name the controller and the node daemon
// can serve (a histogram's _bucket, _sum and _count included) and
// Prometheus's own series.
func Exported() map[string]bool {
	out := map[string]bool{}
	for _, n := range slices.Concat(ctld.MetricNames(), noded.MetricNames()) {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			out[n+suffix] = true
		}
	}
	for _, n := range prometheusSeries {
		out[n] = true
	}
	return out
}

// Check returns an error naming the metrics expr selects that are not in
// known, or when it selects none.
func Check(expr string, known map[string]bool) error {
	names, err := Names(expr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("expression %q selects no metric", expr)
	}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("expression %q uses metrics no Fairway daemon exports: %s", expr, strings.Join(unknown, ", "))
	}
	return nil
}

// keywords are PromQL's operators, modifiers, aggregations and functions:
// identifiers that are not metric names.
var keywords = keywordSet(`and or unless by without on ignoring group_left group_right bool offset
		inf nan Inf NaN start end atan2
		sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year
		days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
		histogram_stddev histogram_stdvar histogram_sum holt_winters double_exponential_smoothing hour idelta
		increase irate label_join label_replace ln log2 log10 minute month predict_linear rate resets round
		scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector year
		avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time
		stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time
		acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi info`)

func keywordSet(words string) map[string]bool {
	out := map[string]bool{}
	for _, k := range strings.Fields(words) {
		out[k] = true
	}
	return out
}

// Names returns the metric names expr selects, sorted, once each: the
// identifiers outside strings, label matchers, label lists (by, without,
// on, ignoring, group_left, group_right), ranges and subqueries that are
// not keywords or functions, and the values of __name__ matchers that
// are plain names. Grafana's variables ($name, ${name}, [[name]]) are
// skipped.
func Names(expr string) ([]string, error) {
	var names []string
	i := 0
	afterLabelList := false
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '{':
			end := strings.IndexByte(expr[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at offset %d", i)
			}
			body := expr[i+1 : i+end]
			if n, ok := nameMatcher(body); ok {
				names = append(names, n)
			}
			// Strings inside are skipped with the braces: find the real end.
			j := i + 1
			for j < len(expr) && expr[j] != '}' {
				if expr[j] == '"' || expr[j] == '\'' || expr[j] == '`' {
					e, err := skipString(expr, j)
					if err != nil {
						return nil, err
					}
					j = e
					continue
				}
				j++
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unclosed { at offset %d", i)
			}
			i = j + 1
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at offset %d", i)
			}
			i += end + 1
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				end := strings.IndexByte(expr[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unclosed ${ at offset %d", i)
				}
				i += end + 1
				continue
			}
			for i < len(expr) && isIdent(expr[i], false) {
				i++
			}
		case c == '(' && afterLabelList:
			end := strings.IndexByte(expr[i:], ')')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ( at offset %d", i)
			}
			i += end + 1
			afterLabelList = false
		case isIdent(c, true):
			j := i
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			word := expr[i:j]
			i = j
			switch word {
			case "by", "without", "on", "ignoring", "group_left", "group_right":
				afterLabelList = true
				continue
			}
			if keywords[word] || keywords[strings.ToLower(word)] {
				continue
			}
			names = append(names, word)
		case c >= '0' && c <= '9' || c == '.':
			// A number or a duration (offset 5m, 1e3, 0x1f).
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++
			}
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				afterLabelList = false
			}
			i++
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// skipString returns the offset after the string literal starting at i.
func skipString(expr string, i int) (int, error) {
	q := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && q != '`':
			j++
		case expr[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unclosed string at offset %d", i)
}

// nameMatcher finds a __name__="NAME" matcher in a selector's body.
func nameMatcher(body string) (string, bool) {
	for _, part := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || strings.TrimSpace(k) != "__name__" || strings.HasPrefix(v, "~") {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), "\"'`")
		if v != "" && !strings.ContainsAny(v, "$|.*+?()[]") {
			return v, true
		}
	}
	return "", false
}

func isIdent(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}
