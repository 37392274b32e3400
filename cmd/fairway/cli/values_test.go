package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func TestParseMemMB(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"500", 500}, {"500M", 500}, {"4G", 4096}, {"4g", 4096}, {"2T", 2 * 1024 * 1024},
		{"1024K", 1}, {"1500K", 2}, {"16GB", 16384}, {"0", 0},
	}
	for _, tt := range tests {
		got, err := parseMemMB(tt.in, "--mem")
		if err != nil || got != tt.want {
			t.Errorf("parseMemMB(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"-5", "abc", "4X", "", "1.5G", "4 G"} {
		_, err := parseMemMB(bad, "--mem")
		var fe *api.FieldError
		if !errors.As(err, &fe) || fe.Field != "--mem" {
			t.Errorf("parseMemMB(%q) error = %v, want a --mem FieldError", bad, err)
		}
	}
}

func TestParseGres(t *testing.T) {
	tests := []struct {
		in   string
		typ  string
		want int
	}{
		{"gpu", "", 1}, {"gpu:2", "", 2}, {"gpu:h100:8", "h100", 8}, {"gres:gpu:4", "", 4}, {"gres/gpu:a100:1", "a100", 1},
	}
	for _, tt := range tests {
		typ, n, err := parseGres(tt.in)
		if err != nil || typ != tt.typ || n != tt.want {
			t.Errorf("parseGres(%q) = %q, %d, %v; want %q, %d", tt.in, typ, n, err, tt.typ, tt.want)
		}
	}
	for _, bad := range []string{"gpu:x", "gpu:0", "gpu:-1", "shard:2", "gpu:h100:2,gpu:a100:1", "gpu:h100:x", "gpu:1:2:3", ""} {
		if typ, n, err := parseGres(bad); err == nil {
			t.Errorf("parseGres(%q) = %q, %d; want an error", bad, typ, n)
		}
	}
}

func TestApplyGPUs(t *testing.T) {
	tests := []struct {
		opt, value     string
		nodes, ntasks  int
		wantGPUs       int
		wantType       string
		wantErrMention string
	}{
		{"--gres", "gpu:h100:2", 2, 2, 2, "h100", ""},
		{"--gpus", "8", 2, 2, 4, "", ""},
		{"--gpus", "a100:4", 4, 4, 1, "a100", ""},
		{"--gpus", "3", 2, 2, 0, "", "spread evenly"},
		{"--gpus-per-node", "h100:4", 3, 3, 4, "h100", ""},
		{"--gpus-per-task", "1", 2, 8, 4, "", ""},
		{"--gpus", "x", 1, 1, 0, "", "GPU count"},
	}
	for _, tt := range tests {
		spec := api.JobSpec{Nodes: tt.nodes, NTasks: tt.ntasks}
		err := applyGPUs(&spec, optVal{name: tt.opt, value: tt.value})
		if tt.wantErrMention != "" {
			var fe *api.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.opt || !strings.Contains(fe.Msg, tt.wantErrMention) {
				t.Errorf("%s=%s: error %v, want a %s FieldError mentioning %q", tt.opt, tt.value, err, tt.opt, tt.wantErrMention)
			}
			continue
		}
		if err != nil || spec.GPUs != tt.wantGPUs || spec.GPUType != tt.wantType {
			t.Errorf("%s=%s on %d nodes: GPUs %d type %q err %v; want %d %q", tt.opt, tt.value, tt.nodes, spec.GPUs, spec.GPUType, err, tt.wantGPUs, tt.wantType)
		}
	}
}

func TestParseSignalSpec(t *testing.T) {
	tests := []struct {
		in   string
		want api.Signal
	}{
		{"USR1", api.Signal{Name: "USR1", AtSeconds: 60}},
		{"SIGUSR2@300", api.Signal{Name: "USR2", AtSeconds: 300}},
		{"B:USR1@120", api.Signal{Name: "USR1", AtSeconds: 120, BatchOnly: true}},
		{"R:TERM", api.Signal{Name: "TERM", AtSeconds: 60}},
		{"10@0", api.Signal{Name: "USR1", AtSeconds: 0}},
		{"term", api.Signal{Name: "TERM", AtSeconds: 60}},
	}
	for _, tt := range tests {
		got, err := parseSignalSpec(tt.in)
		if err != nil {
			t.Errorf("parseSignalSpec(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("parseSignalSpec(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"NOPE", "USR1@-1", "USR1@70000", "X:USR1", "99", "", "USR1@abc"} {
		if got, err := parseSignalSpec(bad); err == nil {
			t.Errorf("parseSignalSpec(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestExportEnv(t *testing.T) {
	environ := []string{"HOME=/home/alice", "PATH=/bin", "LANG=C"}
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{"HOME": "/home/alice", "PATH": "/bin", "LANG": "C"}},
		{"ALL", map[string]string{"HOME": "/home/alice", "PATH": "/bin", "LANG": "C"}},
		{"NONE", map[string]string{}},
		{"ALL,LANG=en_US.UTF-8,EXTRA=1", map[string]string{"HOME": "/home/alice", "PATH": "/bin", "LANG": "en_US.UTF-8", "EXTRA": "1"}},
		{"PATH,FOO=bar=baz,MISSING", map[string]string{"PATH": "/bin", "FOO": "bar=baz"}},
		{"NONE,A=1", map[string]string{"A": "1"}},
	}
	for _, tt := range tests {
		got, err := exportEnv(tt.in, environ)
		if err != nil {
			t.Errorf("exportEnv(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("exportEnv(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"ALL,1BAD=x", "ALL,=x", "A-B"} {
		if got, err := exportEnv(bad, environ); err == nil {
			t.Errorf("exportEnv(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseMounts(t *testing.T) {
	got, err := parseMounts("/data:/data:ro,scratch:/scratch,/models", "/home/alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Mount{
		{Source: "/data", Target: "/data", ReadOnly: true},
		{Source: "/home/alice/scratch", Target: "/scratch"},
		{Source: "/models", Target: "/models"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMounts mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"/a:b", "/a:/b:xx", "/a:/b:ro:x", ":/b", ""} {
		if got, err := parseMounts(bad, "/"); err == nil {
			t.Errorf("parseMounts(%q) = %v, want an error", bad, got)
		}
	}
}

func TestResolveImage(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "img.tar")
	if err := os.WriteFile(archive, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
	}{
		{"oci-archive:" + archive, "oci-archive:" + archive},
		{"docker-archive:img.tar", "docker-archive:" + archive},
		{"dir:" + dir, "dir:" + dir},
		{"docker.io/library/ubuntu:22.04", "docker.io/library/ubuntu:22.04"},
	}
	for _, tt := range tests {
		got, err := resolveImage(tt.in, dir)
		if err != nil || got != tt.want {
			t.Errorf("resolveImage(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"oci-archive:/nonexistent/image.tar", "dir:" + archive, "oci-archive:" + dir, "oci-archive:", "Not A Reference!"} {
		_, err := resolveImage(bad, dir)
		var fe *api.FieldError
		if !errors.As(err, &fe) || fe.Field != "--container-image" {
			t.Errorf("resolveImage(%q) error = %v, want a --container-image FieldError", bad, err)
		}
	}
}
