package host

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/cgroups"
	"github.com/fairway-hpc/fairway/noded/executor"
)

func TestReadStatus(t *testing.T) {
	tests := []struct {
		name        string
		content     *string
		want        executor.ExitStatus
		wantRunning bool
		wantErr     bool
	}{
		{name: "no file: never started", content: nil, want: executor.ExitStatus{Code: -1}},
		{name: "empty: never started", content: ptr(""), want: executor.ExitStatus{Code: -1}},
		{name: "running, no exit yet", content: ptr("running\n"), want: executor.ExitStatus{Code: -1}, wantRunning: true},
		{name: "exited", content: ptr("running\nexit 3\n"), want: executor.ExitStatus{Code: 3}, wantRunning: true},
		{name: "killed by signal", content: ptr("running\nexit 143\n"), want: executor.ExitStatus{Code: 143}, wantRunning: true},
		{name: "garbage exit line", content: ptr("running\nexit x\n"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "status")
			if tc.content != nil {
				if err := os.WriteFile(name, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, running, err := readStatus(name)
			if (err != nil) != tc.wantErr {
				t.Fatalf("readStatus error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || running != tc.wantRunning {
				t.Errorf("readStatus = %+v, running %v; want %+v, running %v (%s)", got, running, tc.want, tc.wantRunning, diff)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestProcStatOfSelf(t *testing.T) {
	start, state, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if start == 0 || (state != 'R' && state != 'S') {
		t.Errorf("procStat(self) = %d, %c; want a start time and a live state", start, state)
	}
	if _, _, err := procStat(1 << 30); err == nil {
		t.Error("procStat of a pid that cannot exist succeeded")
	}
}

func TestDeviceRulesAllowTheJobsDevicesAfterTheStandardOnes(t *testing.T) {
	rules := deviceRules([]executor.Device{
		{Path: "/dev/nvidia3", HostPath: "/tmp/x/nvidia3", Major: 195, Minor: 3},
		{Path: "/dev/nvidiactl", Major: 195, Minor: 255},
	})
	std := stdDevices()
	if diff := cmp.Diff(std, rules[:len(std)]); diff != "" {
		t.Errorf("standard rules (-want +got):\n%s", diff)
	}
	want := []cgroups.DeviceRule{
		{Type: cgroups.CharDevice, Major: 195, Minor: 3, Access: "rw"},
		{Type: cgroups.CharDevice, Major: 195, Minor: 255, Access: "rw"},
	}
	if diff := cmp.Diff(want, rules[len(std):]); diff != "" {
		t.Errorf("job's device rules (-want +got):\n%s", diff)
	}
	for _, r := range std {
		if r.Type == cgroups.CharDevice && r.Major == 195 && r.Access != "m" {
			t.Errorf("standard rule %v lets every job use NVIDIA devices", r)
		}
	}
}
