// Package hostlist expands and compresses Slurm host lists such as
// "node[1-3,7],gpu[01-02]", the form squeue, sinfo and SLURM_JOB_NODELIST use.
package hostlist

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxHosts bounds how many names Expand produces, so that a typo such as
// "n[1-999999999]" fails instead of exhausting memory.
const MaxHosts = 1 << 20

// Expand returns the host names of a host list expression, in the order written.
// Commas outside brackets separate entries; a bracket holds a comma-separated
// list of numbers and ranges (lo-hi), whose zero padding is kept ("n[01-10]").
// Several bracket groups in one entry expand to their cartesian product.
func Expand(list string) ([]string, error) {
	var out []string
	for _, entry := range splitTop(list) {
		if entry == "" {
			continue
		}
		hosts, err := expandEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("host list %q: %w", list, err)
		}
		out = append(out, hosts...)
		if len(out) > MaxHosts {
			return nil, fmt.Errorf("host list %q: more than %d hosts", list, MaxHosts)
		}
	}
	return out, nil
}

// splitTop splits on commas that are not inside brackets.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

func expandEntry(entry string) ([]string, error) {
	open := strings.IndexByte(entry, '[')
	if open < 0 {
		if strings.ContainsRune(entry, ']') {
			return nil, fmt.Errorf("unbalanced ']' in %q", entry)
		}
		return []string{entry}, nil
	}
	end := strings.IndexByte(entry[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("missing ']' in %q", entry)
	}
	end += open
	prefix, body, rest := entry[:open], entry[open+1:end], entry[end+1:]
	if strings.ContainsRune(prefix, ']') {
		return nil, fmt.Errorf("unbalanced ']' in %q", entry)
	}
	nums, err := expandRanges(body)
	if err != nil {
		return nil, err
	}
	tails, err := expandEntry(rest)
	if err != nil {
		return nil, err
	}
	if rest == "" {
		tails = []string{""}
	}
	if len(nums)*len(tails) > MaxHosts {
		return nil, fmt.Errorf("more than %d hosts", MaxHosts)
	}
	out := make([]string, 0, len(nums)*len(tails))
	for _, n := range nums {
		for _, t := range tails {
			out = append(out, prefix+n+t)
		}
	}
	return out, nil
}

func expandRanges(body string) ([]string, error) {
	if body == "" {
		return nil, fmt.Errorf("empty brackets")
	}
	var out []string
	for _, part := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isDigits(lo) || (isRange && !isDigits(hi)) {
			return nil, fmt.Errorf("bad range %q: want N or N-M", part)
		}
		if !isRange {
			out = append(out, lo)
			continue
		}
		a, err1 := strconv.ParseUint(lo, 10, 64)
		b, err2 := strconv.ParseUint(hi, 10, 64)
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("bad range %q", part)
		}
		if b-a >= MaxHosts {
			return nil, fmt.Errorf("range %q has more than %d hosts", part, MaxHosts)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		// The loop stops at b rather than past it: n++ would wrap around
		// after the largest uint64 and never end.
		for n := a; ; n++ {
			out = append(out, fmt.Sprintf("%0*d", width, n))
			if n == b {
				break
			}
		}
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// host is a name split into a prefix and a numeric suffix.
type host struct {
	name   string
	prefix string
	digits string // "" when the name has no numeric suffix
	num    uint64
}

func split(name string) host {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	h := host{name: name, prefix: name[:i], digits: name[i:]}
	if h.digits != "" {
		n, err := strconv.ParseUint(h.digits, 10, 64)
		if err != nil { // absurdly long digit run: treat as a plain name
			return host{name: name, prefix: name}
		}
		h.num = n
	}
	return h
}

// width is the zero-padded width of the suffix, or 0 when it is not padded.
func (h host) width() int {
	if len(h.digits) > 1 && h.digits[0] == '0' {
		return len(h.digits)
	}
	return 0
}

// compatible reports whether two suffixes can share one bracket: the same
// number of digits, or neither zero-padded ("9" and "10", "09" and "10").
func compatible(a, b host) bool {
	return len(a.digits) == len(b.digits) || (a.width() == 0 && b.width() == 0)
}

// Less orders host names as Slurm does: by prefix, then numerically by suffix.
func Less(a, b string) bool {
	ha, hb := split(a), split(b)
	if ha.prefix != hb.prefix {
		return ha.prefix < hb.prefix
	}
	if (ha.digits == "") != (hb.digits == "") {
		return ha.digits == ""
	}
	if ha.num != hb.num {
		return ha.num < hb.num
	}
	return a < b
}

// Sort sorts host names in place with Less.
func Sort(names []string) {
	sort.SliceStable(names, func(i, j int) bool { return Less(names[i], names[j]) })
}

// Compress returns the ranged form of names, as Slurm prints node lists:
// sorted, duplicates removed, consecutive numbers merged ("node[1-3,5],login1").
// A name that is alone in its prefix group is printed without brackets.
func Compress(names []string) string {
	hosts := make([]host, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		hosts = append(hosts, split(n))
	}
	sort.SliceStable(hosts, func(i, j int) bool { return Less(hosts[i].name, hosts[j].name) })

	var out []string
	for i := 0; i < len(hosts); {
		h := hosts[i]
		if h.digits == "" {
			out = append(out, h.name)
			i++
			continue
		}
		// A group: same prefix and same padding width.
		j := i + 1
		for j < len(hosts) && hosts[j].digits != "" && hosts[j].prefix == h.prefix &&
			compatible(h, hosts[j]) && compatible(hosts[j-1], hosts[j]) {
			j++
		}
		group := hosts[i:j]
		if len(group) == 1 {
			out = append(out, h.name)
		} else {
			out = append(out, h.prefix+"["+ranges(group)+"]")
		}
		i = j
	}
	return strings.Join(out, ",")
}

func ranges(group []host) string {
	var parts []string
	for i := 0; i < len(group); {
		j := i
		for j+1 < len(group) && group[j+1].num == group[j].num+1 && compatible(group[j], group[j+1]) {
			j++
		}
		if i == j {
			parts = append(parts, group[i].digits)
		} else {
			parts = append(parts, group[i].digits+"-"+group[j].digits)
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
