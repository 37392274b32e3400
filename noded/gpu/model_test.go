package gpu

import "testing"

func TestTypeFromModel(t *testing.T) {
	tests := []struct{ model, want string }{
		{"NVIDIA H100 80GB HBM3", "h100"},
		{"NVIDIA H100 NVL", "h100"},
		{"NVIDIA H200", "h200"},
		{"NVIDIA A100-SXM4-40GB", "a100"},
		{"NVIDIA A100 80GB PCIe", "a100"},
		{"Tesla V100-SXM2-16GB", "v100"},
		{"NVIDIA L40S", "l40s"},
		{"NVIDIA GeForce RTX 4090", "rtx4090"},
		{"NVIDIA GH200 480GB", "gh200"},
		{"NVIDIA", "gpu"},
		{"", "gpu"},
	}
	for _, tc := range tests {
		if got := TypeFromModel(tc.model); got != tc.want {
			t.Errorf("TypeFromModel(%q) = %q, want %q", tc.model, got, tc.want)
		}
	}
}
