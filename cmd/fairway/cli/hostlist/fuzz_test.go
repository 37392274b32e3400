package hostlist

import (
	"slices"
	"strings"
	"testing"
)

// hostSet returns the names sorted as Compress orders them, duplicates and
// blank names removed (what Compress keeps of a list).
func hostSet(names []string) []string {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	Sort(out)
	return slices.Compact(out)
}

// FuzzExpand checks that Expand never panics or hangs, stays within
// MaxHosts, and that an accepted list survives a Compress round trip:
// expanding the compressed form gives the same set of names, and compressing
// that again gives the same text.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"node[1-3,7],gpu[01-02]", "n[01-10]", "a[1-2]b[3-4]", "login1", "", ",,", "n[9-10]",
		"n[099-101]", "n[1-999999999]", "n[", "n]", "n[]", "n[3-1]", "[1-2]", "n[0-0]",
		"n[18446744073709551614-18446744073709551615]", "n[99999999999999999999]", "a b[1-2], c",
		"n[1-2]x[", "n[1,01,001]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		hosts, err := Expand(list)
		if err != nil {
			return
		}
		if len(hosts) > MaxHosts {
			t.Fatalf("Expand(%q) = %d hosts, more than MaxHosts", list, len(hosts))
		}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, ",[]") {
				t.Fatalf("Expand(%q) produced host name %q", list, h)
			}
		}
		c := Compress(hosts)
		back, err := Expand(c)
		if err != nil {
			t.Fatalf("Expand(Compress(Expand(%q))) = Expand(%q): %v", list, c, err)
		}
		if want, got := hostSet(hosts), hostSet(back); !slices.Equal(want, got) {
			t.Fatalf("round trip of %q through %q: got %q, want %q", list, c, got, want)
		}
		if c2 := Compress(back); c2 != c {
			t.Fatalf("Compress is not stable for %q: %q then %q", list, c, c2)
		}
	})
}

// FuzzCompress checks that Compress of any names (newline-separated in the
// input; names holding the host-list syntax characters , [ ] are left out)
// expands back to the same set of names.
func FuzzCompress(f *testing.F) {
	for _, s := range []string{
		"n1\nn2\nn3", "n9\nn10", "n09\nn10\nn011", "n1\nn01", "gpu01\ngpu02\nlogin", "1\n2", "n0\nn00",
		"n18446744073709551614\nn18446744073709551615", "n99999999999999999999\nn99999999999999999998",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var names []string
		for _, n := range strings.Split(in, "\n") {
			if !strings.ContainsAny(n, ",[]") {
				names = append(names, n)
			}
		}
		c := Compress(names)
		back, err := Expand(c)
		if err != nil {
			t.Fatalf("Expand(Compress(%q)) = Expand(%q): %v", names, c, err)
		}
		if want, got := hostSet(names), hostSet(back); !slices.Equal(want, got) {
			t.Fatalf("Compress(%q) = %q expands to %q, want %q", names, c, got, want)
		}
	})
}
