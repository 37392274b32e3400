package container

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/noded/executor"
)

func TestContainerID(t *testing.T) {
	got := ContainerID(executor.Ref{JobID: 12, Run: 3, Node: "gpu/7 a"})
	if want := "fairway-gpu_7_a-12-3"; got != want {
		t.Errorf("ContainerID = %q, want %q", got, want)
	}
}

func TestContainerEnvKeepsImageSearchPaths(t *testing.T) {
	got := containerEnv([]string{"PATH=/host/bin", "HOME=/home/a", "LD_LIBRARY_PATH=/host/lib", "SLURM_JOB_ID=1"})
	want := []string{"HOME=/home/a", "SLURM_JOB_ID=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("containerEnv (-want +got):\n%s", diff)
	}
}

func TestSpecArgs(t *testing.T) {
	e := &Executor{cfg: Config{CgroupParent: "/fairway/n1", ToolsBinary: "/usr/bin/fairway"}}
	tests := []struct {
		name   string
		script string
		stderr string
		stdin  string
		want   []string
	}{
		{"shebang script runs directly", "#!/usr/bin/env python3\n", "/w/out", "", []string{ScriptPath, "a"}},
		{"plain script joins stderr to stdout", "echo hi\n", "/w/out",
			"", []string{"/bin/sh", "-c", `exec 2>&1; exec "$@"`, "fairway-job", "/bin/sh", ScriptPath, "a"}},
		{"separate stderr file", "echo hi\n", "/w/err",
			"", []string{"/bin/sh", "-c", `exec 2>>/.fairway/stderr; exec "$@"`, "fairway-job", "/bin/sh", ScriptPath, "a"}},
		{"--input: the file is the script's standard input", "#!/bin/sh\n", "/w/out", "/w/in.txt",
			[]string{"/bin/sh", "-c", `exec </.fairway/stdin; exec "$@"`, "fairway-job", ScriptPath, "a"}},
		{"no --input: /dev/null as on the host", "#!/bin/sh\n", "/w/out", "/dev/null", []string{ScriptPath, "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := executor.Spec{
				Ref: executor.Ref{JobID: 1}, Script: tc.script, Args: []string{"a"},
				WorkDir: "/w", StdoutPath: "/w/out", StderrPath: tc.stderr, StdinPath: tc.stdin, UID: 1000, GID: 1000,
			}
			s := &oci.Spec{Process: &specs.Process{}, Linux: &specs.Linux{}}
			for _, opt := range e.specOpts(spec, "/state/runs/1-0/slurm_script", true) {
				if err := opt(context.Background(), nil, &containers.Container{}, s); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.want, s.Process.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if s.Process.Cwd != "/w" || s.Process.User.UID != 1000 || s.Linux.CgroupsPath != "/fairway/n1/job-1-0" {
				t.Errorf("cwd %q, uid %d, cgroup %q", s.Process.Cwd, s.Process.User.UID, s.Linux.CgroupsPath)
			}
			dests := map[string]bool{}
			for _, m := range s.Mounts {
				dests[m.Destination] = true
			}
			for _, d := range []string{ScriptPath, "/w", "/usr/local/bin/fairway", "/usr/local/bin/scontrol", "/usr/local/bin/srun"} {
				if !dests[d] {
					t.Errorf("no mount at %s", d)
				}
			}
			if wantIn := tc.stdin != "" && tc.stdin != "/dev/null"; dests[stdinPath] != wantIn {
				t.Errorf("stdin mount present = %v, want %v", dests[stdinPath], wantIn)
			}
			if dests[stderrPath] != (tc.stderr != spec.StdoutPath) {
				t.Errorf("stderr mount present = %v, want %v", dests[stderrPath], tc.stderr != spec.StdoutPath)
			}
		})
	}
}

func TestSpecDevicesAndEdits(t *testing.T) {
	e := &Executor{cfg: Config{CgroupParent: "/fairway/n1"}}
	spec := executor.Spec{
		Ref: executor.Ref{JobID: 1}, Script: "echo hi\n", WorkDir: "/", StdoutPath: "/out", StderrPath: "/out",
		Env: []string{"NVIDIA_VISIBLE_DEVICES=GPU-b", "CUDA_VISIBLE_DEVICES=0"},
		Devices: []executor.Device{
			{Path: "/dev/nvidia3", HostPath: "/nonexistent/nvidia3", Major: 195, Minor: 3},
			{Path: "/dev/nvidiactl", Major: 195, Minor: 255},
		},
		ContainerEdits: []func(*specs.Spec) error{func(s *specs.Spec) error {
			s.Process.Env = append(s.Process.Env, "NVIDIA_VISIBLE_DEVICES=void", "FROM_EDIT=1")
			return nil
		}},
	}
	// containerd's default spec: deny every device, then runc adds its own.
	s := &oci.Spec{Process: &specs.Process{}, Linux: &specs.Linux{Resources: &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}}}
	for _, opt := range e.specOpts(spec, "/state/runs/1-0/slurm_script", false) {
		if err := opt(context.Background(), nil, &containers.Container{}, s); err != nil {
			t.Fatal(err)
		}
	}
	mode := os.FileMode(0o666)
	zero := uint32(0)
	wantDevs := []specs.LinuxDevice{
		{Path: "/dev/nvidia3", Type: "c", Major: 195, Minor: 3, FileMode: &mode, UID: &zero, GID: &zero},
		{Path: "/dev/nvidiactl", Type: "c", Major: 195, Minor: 255, FileMode: &mode, UID: &zero, GID: &zero},
	}
	if diff := cmp.Diff(wantDevs, s.Linux.Devices); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	n195, n3, n255 := int64(195), int64(3), int64(255)
	wantRules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &n195, Minor: &n3, Access: "rw"},
		{Allow: true, Type: "c", Major: &n195, Minor: &n255, Access: "rw"},
	}
	if diff := cmp.Diff(wantRules, s.Linux.Resources.Devices); diff != "" {
		t.Errorf("device cgroup rules (-want +got):\n%s", diff)
	}
	env := map[string]string{}
	for _, kv := range s.Process.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["NVIDIA_VISIBLE_DEVICES"] != "GPU-b" || env["FROM_EDIT"] != "1" {
		t.Errorf("env %q: want the job's NVIDIA_VISIBLE_DEVICES over the edit's, and the edit's own variable", s.Process.Env)
	}
}
