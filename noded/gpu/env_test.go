package gpu

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name string
		devs []Device
		want map[string]string
	}{
		{name: "no GPUs sets nothing", devs: nil, want: map[string]string{}},
		{
			name: "two GPUs are 0 and 1 in PCI order whatever the allocation's order",
			devs: []Device{{Index: 3, UUID: "GPU-c"}, {Index: 1, UUID: "GPU-a"}},
			want: map[string]string{
				"CUDA_VISIBLE_DEVICES": "0,1", "GPU_DEVICE_ORDINAL": "0,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
				"NVIDIA_VISIBLE_DEVICES": "GPU-a,GPU-c", "FAIRWAY_GPU_UUIDS": "GPU-a,GPU-c",
				"SLURM_JOB_GPUS": "1,3", "SLURM_GPUS_ON_NODE": "2",
			},
		},
		{
			name: "a GPU in MIG mode makes CUDA see its instances, named by UUID",
			devs: []Device{
				{Index: 0, UUID: "GPU-a"},
				{Index: 2, UUID: "GPU-b", MIGEnabled: true, MIG: []MIGDevice{{UUID: "MIG-b1"}, {UUID: "MIG-b2"}}},
			},
			want: map[string]string{
				"CUDA_VISIBLE_DEVICES": "GPU-a,MIG-b1,MIG-b2", "GPU_DEVICE_ORDINAL": "GPU-a,MIG-b1,MIG-b2",
				"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "NVIDIA_VISIBLE_DEVICES": "GPU-a,GPU-b", "FAIRWAY_GPU_UUIDS": "GPU-a,GPU-b",
				"SLURM_JOB_GPUS": "0,2", "SLURM_GPUS_ON_NODE": "2",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Env(tc.devs)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Env (-want +got):\n%s", diff)
			}
			for k := range got {
				if !slices.Contains(EnvNames, k) {
					t.Errorf("Env sets %s, which EnvNames does not list", k)
				}
			}
		})
	}
}
