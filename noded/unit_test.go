package noded

import (
	"os"
	"os/user"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

func TestExitEvent(t *testing.T) {
	tests := []struct {
		name string
		st   executor.ExitStatus
		sent []int
		want api.JobEvent
	}{
		{"success", executor.ExitStatus{Code: 0}, nil, api.JobEvent{Kind: api.EventExited}},
		{"plain failure", executor.ExitStatus{Code: 3}, nil, api.JobEvent{Kind: api.EventExited, ExitCode: 3}},
		{"143 without a TERM sent is an exit code", executor.ExitStatus{Code: 143}, nil, api.JobEvent{Kind: api.EventExited, ExitCode: 143}},
		{"143 after TERM is the signal", executor.ExitStatus{Code: 143}, []int{15}, api.JobEvent{Kind: api.EventExited, Signal: 15}},
		{"137 after USR1, TERM, KILL", executor.ExitStatus{Code: 137}, []int{10, 15, 9}, api.JobEvent{Kind: api.EventExited, Signal: 9}},
		{"OOM kill", executor.ExitStatus{Code: 137, OOM: true}, nil, api.JobEvent{Kind: api.EventExited, Signal: 9, OOM: true}},
		{"OOM of a child, script went on", executor.ExitStatus{Code: 1, OOM: true}, nil, api.JobEvent{Kind: api.EventExited, ExitCode: 1, OOM: true}},
		{"message kept", executor.ExitStatus{Code: 137, Message: "m"}, []int{9}, api.JobEvent{Kind: api.EventExited, Signal: 9, Message: "m"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, exitEvent(tc.st, tc.sent)); diff != "" {
				t.Errorf("exitEvent (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutputPaths: the node uses the paths the controller stored as they
// are; a "%" in them is part of the file name, never a pattern to expand
// again (the user's x%%j.log is stored as x%j.log and must stay so).
func TestOutputPaths(t *testing.T) {
	tests := []struct {
		name                   string
		stdout, stderr         string
		wantStdout, wantStderr string
	}{
		{"stored %j is literal", "/home/ann/run/x%j.log", "", "/home/ann/run/x%j.log", "/home/ann/run/x%j.log"},
		{"every pattern letter is literal", "/scratch/%u/%N.%x.out", "/scratch/%u/%N.%x.err", "/scratch/%u/%N.%x.out", "/scratch/%u/%N.%x.err"},
		{"expanded paths kept", "/abs/train-42.out", "/abs/train-42.err", "/abs/train-42.out", "/abs/train-42.err"},
		{"relative to the work dir", "out/train-42.log", "err/train-42.log", "/home/ann/run/out/train-42.log", "/home/ann/run/err/train-42.log"},
		{"empty stdout falls back to slurm-ID.out", "", "", "/home/ann/run/slurm-42.out", "/home/ann/run/slurm-42.out"},
		{"empty stderr is stdout", "/o/%%j", "", "/o/%%j", "/o/%%j"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job := &api.Job{ID: 42, StdoutPath: tc.stdout, StderrPath: tc.stderr,
				Spec: api.JobSpec{Name: "train", User: "ann", WorkDir: "/home/ann/run", Stdout: "pattern-%j", Stderr: "pattern-%j"}}
			stdout, stderr := outputPaths(job, "/home/ann/run")
			if diff := cmp.Diff([]string{tc.wantStdout, tc.wantStderr}, []string{stdout, stderr}); diff != "" {
				t.Errorf("outputPaths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobEnv(t *testing.T) {
	job := &api.Job{
		ID:           7,
		Partition:    "h100",
		RestartCount: 2,
		ArrayJobID:   5,
		ArrayTaskID:  3,
		Spec: api.JobSpec{
			Name: "sweep", User: "ann", UID: 1000, GID: 100, Account: "search",
			NTasks: 4, CPUsPerTask: 2, WorkDir: "/home/ann",
			Env: map[string]string{"PATH": "/opt/bin:/usr/bin", "SLURM_JOB_ID": "stale", "FAIRWAY_CHECKPOINT_DIR": "stale", "MY": "1",
				"CUDA_VISIBLE_DEVICES": "7", "NVIDIA_VISIBLE_DEVICES": "all"},
		},
		Alloc: []api.NodeAlloc{
			{Node: "g1", CPUs: 8, MemoryMB: 16384, GPUs: []int{2, 5}},
			{Node: "g2", CPUs: 8, MemoryMB: 16384, GPUs: []int{0, 1}},
		},
	}
	usr := &user.User{Username: "ann", HomeDir: "/home/ann"}
	got := map[string]string{}
	gpus := []gpu.Device{{Index: 5, UUID: "GPU-five", Minor: 5}, {Index: 2, UUID: "GPU-two", Minor: 2}}
	for _, kv := range jobEnv(job, job.Alloc[0], "g1", "http://c1:6817,http://c2:6817", "/ckpt/7", usr, gpus) {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	slurm := map[string]string{
		"SLURM_JOB_ID": "7", "SLURM_JOBID": "7", "SLURM_JOB_NAME": "sweep", "SLURM_JOB_PARTITION": "h100",
		"SLURM_JOB_ACCOUNT": "search", "SLURM_JOB_USER": "ann", "SLURM_JOB_UID": "1000", "SLURM_JOB_GID": "100",
		"SLURM_SUBMIT_DIR": "/home/ann", "SLURM_JOB_NODELIST": "g[1-2]", "SLURM_NODELIST": "g[1-2]",
		"SLURM_NNODES": "2", "SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS": "4", "SLURM_NPROCS": "4", "SLURM_TASKS_PER_NODE": "2(x2)",
		"SLURM_CPUS_PER_TASK": "2", "SLURM_CPUS_ON_NODE": "8", "SLURM_JOB_CPUS_PER_NODE": "8(x2)",
		"SLURM_MEM_PER_NODE": "16384", "SLURM_RESTART_COUNT": "2",
		"SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
		"SLURM_CLUSTER_NAME": "fairway", "SLURM_ARRAY_JOB_ID": "5", "SLURM_ARRAY_TASK_ID": "3",
	}
	want := map[string]string{
		"PATH": "/opt/bin:/usr/bin", "MY": "1", "HOME": "/home/ann", "USER": "ann", "LOGNAME": "ann",
		"SLURMD_NODENAME": "g1", "FAIRWAY_RUN_ID": "7.2.0", "FAIRWAY_ADDR": "http://c1:6817,http://c2:6817",
		"CUDA_VISIBLE_DEVICES": "0,1", "GPU_DEVICE_ORDINAL": "0,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
		"NVIDIA_VISIBLE_DEVICES": "GPU-two,GPU-five", "FAIRWAY_GPU_UUIDS": "GPU-two,GPU-five",
		"SLURM_JOB_GPUS": "2,5", "SLURM_GPUS_ON_NODE": "2",
		"FAIRWAY_CHECKPOINT_DIR": "/ckpt/7",
	}
	// Every Slurm variable has its FAIRWAY_ twin.
	for k, v := range slurm {
		want[k] = v
		want["FAIRWAY_"+strings.TrimPrefix(k, "SLURM_")] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobEnv (-want +got):\n%s", diff)
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"USR1", syscall.SIGUSR1, false},
		{"SIGTERM", syscall.SIGTERM, false},
		{"usr2", syscall.SIGUSR2, false},
		{"9", syscall.SIGKILL, false},
		{"NOPE", 0, true},
		{"0", 0, true},
	}
	for _, tc := range tests {
		got, err := parseSignal(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestAdvertised(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"[::]:9100", "n1:9100"},
		{"0.0.0.0:9100", "n1:9100"},
		{"10.0.0.5:9100", "10.0.0.5:9100"},
	}
	for _, tc := range tests {
		if got := advertised(tc.addr, "n1"); got != tc.want {
			t.Errorf("advertised(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestJobEnvDropsSubmittedGPUAndArrayVariables(t *testing.T) {
	job := &api.Job{ID: 3, Spec: api.JobSpec{WorkDir: "/w", Env: map[string]string{
		"CUDA_VISIBLE_DEVICES": "0", "NVIDIA_VISIBLE_DEVICES": "GPU-x", "SLURM_JOB_GPUS": "0", "KEEP": "1",
		"SLURM_ARRAY_TASK_ID": "4", "FAIRWAY_ARRAY_JOB_ID": "2",
	}}, Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1}}}
	for _, kv := range jobEnv(job, job.Alloc[0], "n1", "http://c", "/ckpt/3", nil, nil) {
		k, _, _ := strings.Cut(kv, "=")
		for _, name := range gpu.EnvNames {
			if k == name {
				t.Errorf("a job without GPUs has %s", kv)
			}
		}
		if strings.Contains(k, "_ARRAY_") {
			t.Errorf("a job that is not an array task has %s (from the environment it was submitted in)", kv)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s, err := newStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := []*record{
		{JobID: 3, Run: 0, Executor: kindHost, Launched: true, SignalsSent: []int{15}},
		{JobID: 3, Run: 1, Executor: kindContainer, End: &api.JobEvent{JobID: 3, Run: 1, Kind: api.EventLost}},
	}
	for _, r := range recs {
		if err := s.save(r); err != nil {
			t.Fatal(err)
		}
	}
	got, bad, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs, got); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	if len(bad) != 0 {
		t.Errorf("bad = %v", bad)
	}
	if err := s.remove(runKey{3, 0}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.load()
	if len(got) != 1 || got[0].Run != 1 {
		t.Errorf("after remove: %+v", got)
	}
}

func TestGPUInventoryModes(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA driver; the modes are tested without one")
	}
	declared := []api.GPU{{Index: 0, UUID: "GPU-fake-0", Type: "gpu", Minor: 0, Healthy: true}}
	tests := []struct {
		name     string
		nvml     string
		declared []api.GPU
		want     []api.GPU
		wantErr  string
	}{
		{name: "auto without a driver: no GPUs", nvml: NVMLAuto},
		{name: "auto with declared GPUs", nvml: NVMLAuto, declared: declared, want: declared},
		{name: "off", nvml: NVMLOff},
		{name: "off with declared GPUs", nvml: NVMLOff, declared: declared, want: declared},
		{name: "on without a driver does not start", nvml: NVMLOn, wantErr: "NVML"},
		{name: "on with declared GPUs is a contradiction", nvml: NVMLOn, declared: declared, wantErr: "declared GPUs"},
		{name: "unknown mode", nvml: "maybe", wantErr: "want auto, on or off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config{Name: "n1", CPUs: 1, MemoryMB: 1, NVML: tc.nvml, GPUs: tc.declared, DriverDirs: []string{t.TempDir()}}.withDefaults()
			var mon *gpu.Monitor
			if err == nil {
				mon, err = openGPUs(cfg, cfg.Logger)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, mon.GPUs()); diff != "" {
				t.Errorf("GPUs (-want +got):\n%s", diff)
			}
		})
	}
}
