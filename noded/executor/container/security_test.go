package container

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
)

// buildSpec applies the executor's spec options for a job of uid to a spec
// that starts as containerd's default would (some capabilities).
func buildSpec(t *testing.T, uid int) *oci.Spec {
	t.Helper()
	e := &Executor{cfg: Config{CgroupParent: "/fairway/n1"}}
	spec := executor.Spec{
		Ref: executor.Ref{JobID: 1}, Script: "#!/bin/sh\n", WorkDir: "/w",
		StdoutPath: "/w/out", StderrPath: "/w/out", UID: uid, GID: uid, Groups: []int{10, 20},
	}
	caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	s := &oci.Spec{
		Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}},
		Linux:   &specs.Linux{},
	}
	for _, opt := range e.specOpts(spec, "/state/runs/1-0/slurm_script", false) {
		if err := opt(context.Background(), nil, &containers.Container{}, s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestSpecSecurity(t *testing.T) {
	caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	type security struct {
		Caps            *specs.LinuxCapabilities
		NoNewPrivileges bool
		Seccomp         bool
		AdditionalGids  []uint32
	}
	tests := []struct {
		name string
		uid  int
		want security
	}{
		{"non-root job: no capabilities, no_new_privs, default seccomp", 1000, security{
			Caps:            &specs.LinuxCapabilities{Bounding: []string{}, Effective: []string{}, Permitted: []string{}, Inheritable: []string{}, Ambient: []string{}},
			NoNewPrivileges: true, Seccomp: true, AdditionalGids: []uint32{10, 20},
		}},
		{"root job: unchanged", 0, security{
			Caps: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}, AdditionalGids: []uint32{10, 20},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := buildSpec(t, tc.uid)
			got := security{Caps: s.Process.Capabilities, NoNewPrivileges: s.Process.NoNewPrivileges, Seccomp: s.Linux.Seccomp != nil, AdditionalGids: s.Process.User.AdditionalGids}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("security settings (-want +got):\n%s", diff)
			}
			if got.Seccomp && s.Linux.Seccomp.DefaultAction != specs.ActErrno {
				t.Errorf("seccomp default action %s, want SCMP_ACT_ERRNO (containerd's default profile)", s.Linux.Seccomp.DefaultAction)
			}
		})
	}
}

func TestMountAllowed(t *testing.T) {
	allow := []string{"/datasets", "/shared/models/"}
	tests := []struct {
		source string
		want   bool
	}{
		{"/datasets", true},
		{"/datasets/imagenet", true},
		{"/datasets2", false},
		{"/shared/models/llama", true},
		{"/shared", false},
		{"/datasets/../etc", false},
		{"/etc/shadow", false},
	}
	var got, want []bool
	for _, tc := range tests {
		got = append(got, mountAllowed(allow, tc.source))
		want = append(want, tc.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mountAllowed (-want +got):\n%s", diff)
	}
}

func TestCheckMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the check as another user")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's directory is private
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := mk("open", 0o755)
	private := mk("private", 0o700)
	secret := filepath.Join(private, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	allowed := mk("allowed", 0o700)
	tests := []struct {
		name    string
		uid     int
		source  string
		wantErr string // substring; "" = allowed
	}{
		{"readable directory", 65534, open, ""},
		{"private directory", 65534, private, "cannot read " + private},
		{"readable file behind a private directory", 65534, secret, "cannot read " + secret},
		{"missing source", 65534, filepath.Join(dir, "missing"), "cannot read"},
		{"under --mount-allow", 65534, allowed, ""},
		{"root mounts anything", 0, private, ""},
	}
	e := &Executor{cfg: Config{Shell: "/bin/sh", MountAllow: []string{allowed}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := executor.Spec{Ref: executor.Ref{JobID: 1, Node: "n1"}, UID: tc.uid, GID: tc.uid,
				Mounts: []api.Mount{{Source: open, Target: "/a"}, {Source: tc.source, Target: "/b", ReadOnly: true}}}
			err := e.checkMounts(context.Background(), spec)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.wantErr == "") != (err == nil) || !strings.Contains(got, tc.wantErr) {
				t.Errorf("checkMounts = %q, want an error containing %q", got, tc.wantErr)
			}
		})
	}
}
