package noded

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMemAvailable(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
		err      bool
	}{
		{name: "kernel text", in: "MemTotal:       16303296 kB\nMemFree:         1123456 kB\nMemAvailable:    8391340 kB\nBuffers:          345678 kB\n", want: 8194},
		{name: "below a MB", in: "MemAvailable:        1023 kB\n", want: 0},
		{name: "no unit", in: "MemAvailable: 2048\n", want: 2},
		{name: "missing", in: "MemTotal: 1 kB\n", err: true},
		{name: "not a number", in: "MemAvailable: lots kB\n", err: true},
		{name: "other unit", in: "MemAvailable: 5 MB\n", err: true},
		{name: "negative", in: "MemAvailable: -5 kB\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMemAvailable([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("got %d MB, want %d", got, tc.want)
			}
		})
	}
}

func TestParseLoadAvg(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     float64
		err      bool
	}{
		{name: "kernel text: the 5-minute figure", in: "0.41 0.52 0.59 2/1234 56789\n", want: 0.52},
		{name: "busy", in: "17.25 12.00 9.10 20/2000 1\n", want: 12},
		{name: "one figure", in: "0.5\n", err: true},
		{name: "empty", in: "", err: true},
		{name: "garbage", in: "1 high 1\n", err: true},
		{name: "NaN", in: "1 NaN 1\n", err: true},
		{name: "negative", in: "1 -1 1\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLoadAvg([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNodeFigures: the heartbeat's figures come from the files; a file
// missing leaves its figure unknown (nil) and the other still read.
func TestNodeFigures(t *testing.T) {
	type figures struct {
		FreeMB *int64
		Load   *float64
		Err    bool
	}
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  figures
	}{
		{name: "both", files: map[string]string{"meminfo": "MemAvailable: 4096 kB\n", "loadavg": "9 1.50 1 1/1 1\n"},
			want: figures{FreeMB: i64(4), Load: f64(1.5)}},
		{name: "no loadavg", files: map[string]string{"meminfo": "MemAvailable: 4096 kB\n"}, want: figures{FreeMB: i64(4), Err: true}},
		{name: "bad meminfo", files: map[string]string{"meminfo": "x", "loadavg": "0.00 0 0"}, want: figures{Load: f64(0), Err: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mb, load, err := nodeFigures(dir)
			got := figures{FreeMB: mb, Load: load, Err: err != nil}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseNodeFigures(f *testing.F) {
	f.Add([]byte("MemAvailable:    8391340 kB\n"))
	f.Add([]byte("0.52 0.58 0.59 2/1234 56789\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if mb, err := parseMemAvailable(data); err == nil && mb < 0 {
			t.Errorf("negative memory %d from %q", mb, data)
		}
		if l, err := parseLoadAvg(data); err == nil && (l < 0 || l != l) {
			t.Errorf("load %v from %q", l, data)
		}
	})
}
