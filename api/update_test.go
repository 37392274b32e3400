package api

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJobUpdateApplyTo(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	iptr := func(v int) *int { return &v }
	base := JobSpec{Partitions: []string{"gpu"}, TimeLimitSecs: 3600, Nodes: 1, NTasks: 1}
	tests := []struct {
		name      string
		u         JobUpdate
		current   int64
		want      func(s *JobSpec)
		wantField string
	}{
		{"absolute", JobUpdate{TimeLimitSecs: i64(60)}, 3600, func(s *JobSpec) { s.TimeLimitSecs = 60 }, ""},
		{"relative from the current limit", JobUpdate{TimeLimitDeltaSecs: i64(600)}, 1800, func(s *JobSpec) { s.TimeLimitSecs = 2400 }, ""},
		{"below a minute", JobUpdate{TimeLimitDeltaSecs: i64(-3590)}, 3600, nil, "TimeLimit"},
		{"relative on UNLIMITED", JobUpdate{TimeLimitDeltaSecs: i64(60)}, TimeLimitUnlimited, nil, "TimeLimit"},
		{"node count raises the task count", JobUpdate{Nodes: iptr(3)}, 3600, func(s *JobSpec) { s.Nodes, s.NTasks = 3, 3 }, ""},
		{"zero nodes", JobUpdate{Nodes: iptr(0)}, 3600, nil, "NumNodes"},
		{"partitions", JobUpdate{Partitions: []string{"cpu", "gpu"}}, 3600, func(s *JobSpec) { s.Partitions = []string{"cpu", "gpu"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base
			got.Partitions = append([]string(nil), base.Partitions...)
			err := tt.u.ApplyTo(&got, tt.current)
			var fe *FieldError
			if tt.wantField != "" {
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("error %v, want one naming %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base
			want.Partitions = append([]string(nil), base.Partitions...)
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateValidation(t *testing.T) {
	cfg := &ClusterConfig{Partitions: []Partition{
		{Name: "gpu", Default: true, MaxNodes: 2},
		{Name: "old", State: PartitionDrain},
		{Name: "off", State: PartitionInactive},
		{Name: "maint", State: PartitionDown},
	}}
	got := map[string]string{}
	field := func(err error) string {
		var fe *FieldError
		if errors.As(err, &fe) {
			return fe.Field
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	got["node drain without reason"] = field(ValidateNodeUpdate(&NodeUpdate{Nodes: []string{"n1"}, State: "drain"}))
	got["node down with reason"] = field(ValidateNodeUpdate(&NodeUpdate{Nodes: []string{"n1"}, State: "down", Reason: "psu"}))
	got["node resume"] = field(ValidateNodeUpdate(&NodeUpdate{Nodes: []string{"n1"}, State: "Resume"}))
	got["node bad state"] = field(ValidateNodeUpdate(&NodeUpdate{Nodes: []string{"n1"}, State: "FAIL"}))
	got["no nodes"] = field(ValidateNodeUpdate(&NodeUpdate{State: "RESUME"}))
	got["submit to drained"] = field(CheckPartitionsAccepting(&JobSpec{Partitions: []string{"old"}}, cfg))
	got["submit to inactive"] = field(CheckPartitionsAccepting(&JobSpec{Partitions: []string{"off"}}, cfg))
	got["submit to down (queued)"] = field(CheckPartitionsAccepting(&JobSpec{Partitions: []string{"maint"}}, cfg))
	got["drained or up"] = field(CheckPartitionsAccepting(&JobSpec{Partitions: []string{"old", "gpu"}}, cfg))
	got["beyond MaxNodes"] = field(UpdateFieldError(checkMaxNodes(&JobSpec{Nodes: 3}, cfg)))
	got["within MaxNodes"] = field(ValidateSpec(&JobSpec{Nodes: 2, NTasks: 2, User: "a", UID: 1, Script: "#!/bin/sh\n", WorkDir: "/"}, cfg))
	want := map[string]string{
		"node drain without reason": "Reason", "node down with reason": "", "node resume": "", "node bad state": "State", "no nodes": "NodeName",
		"submit to drained": "--partition", "submit to inactive": "--partition", "submit to down (queued)": "", "drained or up": "",
		"beyond MaxNodes": "NumNodes", "within MaxNodes": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if up := []bool{cfg.Partitions[0].Up(), cfg.Partitions[1].Up(), cfg.Partitions[2].Up(), cfg.Partitions[3].Up()}; !cmp.Equal(up, []bool{true, true, false, false}) {
		t.Errorf("Up() for UP, DRAIN, INACTIVE, DOWN = %v; a drained partition still starts its queued jobs", up)
	}
}
