package stepserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/noded/gpu"
)

func devs(indices ...int) []gpu.Device {
	var out []gpu.Device
	for _, i := range indices {
		out = append(out, gpu.Device{Index: i, UUID: "GPU-" + string(rune('a'+i))})
	}
	return out
}

func indicesOf(d [][]gpu.Device) [][]int {
	out := make([][]int, len(d))
	for i, g := range d {
		out[i] = []int{}
		for _, x := range g {
			out[i] = append(out[i], x.Index)
		}
	}
	return out
}

func TestTaskGPUs(t *testing.T) {
	tests := []struct {
		name     string
		step     api.Step
		gpus     []gpu.Device
		ntasks   int
		bindNone bool
		want     [][]int
		wantErr  bool
	}{
		{name: "no GPUs", ntasks: 2, want: [][]int{{}, {}}},
		{name: "all by default", gpus: devs(0, 1), ntasks: 2, want: [][]int{{0, 1}, {0, 1}}},
		{name: "per task slices", step: api.Step{GPUsPerTask: 1}, gpus: devs(2, 3), ntasks: 2, want: [][]int{{2}, {3}}},
		{name: "per task, two each", step: api.Step{GPUsPerTask: 2}, gpus: devs(0, 1, 2, 3), ntasks: 2, want: [][]int{{0, 1}, {2, 3}}},
		{name: "per task, gpu-bind none", step: api.Step{GPUsPerTask: 1}, gpus: devs(0, 1, 2), ntasks: 2, bindNone: true, want: [][]int{{0, 1}, {0, 1}}},
		{name: "per node", step: api.Step{GPUsPerNode: 1}, gpus: devs(0, 1), ntasks: 2, want: [][]int{{0}, {0}}},
		{name: "too few per task", step: api.Step{GPUsPerTask: 2}, gpus: devs(0, 1), ntasks: 2, wantErr: true},
		{name: "too few per node", step: api.Step{GPUsPerNode: 3}, gpus: devs(0, 1), ntasks: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := taskGPUs(&tt.step, tt.gpus, tt.ntasks, tt.bindNone)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, indicesOf(got)); diff != "" {
				t.Errorf("GPUs per task (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaskEnv(t *testing.T) {
	env := map[string]string{"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "7", "SLURM_NTASKS": "4"}
	at := taskSpot{step: 3, node: "n2", nodeID: 1, local: 1, rank: 3}
	tests := []struct {
		name    string
		jobGPUs []gpu.Device
		gpus    []gpu.Device
		want    []string
	}{
		{name: "no GPUs", want: []string{
			"FAIRWAY_LOCALID=1", "FAIRWAY_NODEID=1", "FAIRWAY_PROCID=3", "FAIRWAY_STEPID=3", "FAIRWAY_STEP_ID=3",
			"PATH=/bin", "SLURMD_NODENAME=n2", "SLURM_LOCALID=1", "SLURM_NODEID=1", "SLURM_NTASKS=4",
			"SLURM_PROCID=3", "SLURM_STEPID=3", "SLURM_STEP_ID=3",
		}},
		{name: "its own GPU among the job's", jobGPUs: devs(2, 5), gpus: devs(5), want: []string{
			"CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=1",
			"FAIRWAY_GPU_UUIDS=GPU-f", "FAIRWAY_LOCALID=1", "FAIRWAY_NODEID=1", "FAIRWAY_PROCID=3", "FAIRWAY_STEPID=3", "FAIRWAY_STEP_ID=3",
			"GPU_DEVICE_ORDINAL=1", "NVIDIA_VISIBLE_DEVICES=GPU-f",
			"PATH=/bin", "SLURMD_NODENAME=n2", "SLURM_GPUS_ON_NODE=2", "SLURM_JOB_GPUS=2,5", "SLURM_LOCALID=1", "SLURM_NODEID=1", "SLURM_NTASKS=4",
			"SLURM_PROCID=3", "SLURM_STEPID=3", "SLURM_STEP_GPUS=5", "SLURM_STEP_ID=3",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, taskEnv(env, at, tt.jobGPUs, tt.gpus)); diff != "" {
				t.Errorf("task env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStepID(t *testing.T) {
	tests := []struct {
		in      string
		batch   bool
		want    stepKey
		wantErr bool
	}{
		{in: "12.0", want: stepKey{12, 0}},
		{in: "12.7", want: stepKey{12, 7}},
		{in: "12.batch", batch: true, want: stepKey{12, api.StepBatch}},
		{in: "12.batch", wantErr: true},
		{in: "12", wantErr: true},
		{in: "x.1", wantErr: true},
		{in: "12.-1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseStepID(tt.in, tt.batch)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStepID(%q, %v) = %v, %v; want %v, error %v", tt.in, tt.batch, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	fw := newFrameWriter(&buf)
	frames := []api.StepFrame{
		{Task: 1, Stream: "stdout", Data: []byte("hi\n")},
		exitFrame(1, 0, 15),
		exitFrame(0, 3, 0),
		{Done: true},
	}
	for _, f := range frames {
		if err := fw.send(f); err != nil {
			t.Fatal(err)
		}
	}
	var got []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []map[string]any{
		{"task": 1.0, "stream": "stdout", "data": "aGkK"},
		{"task": 1.0, "exit": 143.0, "signal": 15.0},
		{"task": 0.0, "exit": 3.0},
		{"task": 0.0, "done": true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&client.Error{Status: http.StatusNotFound}, true},
		{&client.Error{Status: http.StatusConflict}, false},
		{&client.Error{Status: http.StatusServiceUnavailable}, false},
		{http.ErrHandlerTimeout, false},
	}
	for _, tt := range tests {
		if got := permanent(tt.err); got != tt.want {
			t.Errorf("permanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
