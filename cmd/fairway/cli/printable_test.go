package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"train-7b", "train-7b"},
		{`C:\data`, `C:\data`},
		{"x\x1b[2J\x1b]0;pwned\x07y", `x\x1b[2J\x1b]0;pwned\x07y`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"back\\slash\x1b", `back\\slash\x1b`},
		{"del\x7f c1\u009b", `del\x7f c1\x9b`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"日本語", "日本語"},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, printable(tc.in)); diff != "" {
			t.Errorf("printable(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	if got, want := cell("a\x1bb", 8, false, true), `a\x1bb  `; got != want {
		t.Errorf("cell escapes: %q, want %q", got, want)
	}
}
