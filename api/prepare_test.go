package api

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateRegistration(t *testing.T) {
	cfg := &ClusterConfig{Partitions: []Partition{{Name: "gpu", Default: true}, {Name: "cpu"}}}
	tests := []struct {
		name      string
		req       RegisterNodeRequest
		wantField string // "": valid
	}{
		{"valid", RegisterNodeRequest{Name: "n1", Resources: NodeResources{CPUs: 4}, Partitions: []string{"cpu"}}, ""},
		{"no name", RegisterNodeRequest{Resources: NodeResources{CPUs: 4}}, "name"},
		{"name with a slash", RegisterNodeRequest{Name: "a/b", Resources: NodeResources{CPUs: 4}}, "name"},
		{"no CPUs", RegisterNodeRequest{Name: "n1"}, "resources.cpus"},
		{"negative memory", RegisterNodeRequest{Name: "n1", Resources: NodeResources{CPUs: 1, MemoryMB: -1}}, "resources.memory_mb"},
		{"duplicate GPU", RegisterNodeRequest{Name: "n1", Resources: NodeResources{CPUs: 1, GPUs: []GPU{{Index: 0}, {Index: 0}}}}, "resources.gpus"},
		{"unknown partition", RegisterNodeRequest{Name: "n1", Resources: NodeResources{CPUs: 1}, Partitions: []string{"x"}}, "partitions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRegistration(&tt.req, cfg)
			var fe *FieldError
			if got := errors.As(err, &fe); got != (tt.wantField != "") || (got && fe.Field != tt.wantField) {
				t.Errorf("error = %v, want field %q", err, tt.wantField)
			}
		})
	}
}

func TestDefaultRegistration(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClusterConfig
		req  RegisterNodeRequest
		want []string
	}{
		{"joins the default partition", ClusterConfig{Partitions: []Partition{{Name: "gpu", Default: true}}}, RegisterNodeRequest{}, []string{"gpu"}},
		{"keeps its partitions", ClusterConfig{Partitions: []Partition{{Name: "gpu", Default: true}, {Name: "cpu"}}}, RegisterNodeRequest{Partitions: []string{"cpu"}}, []string{"cpu"}},
		{"partitions list their nodes", ClusterConfig{Partitions: []Partition{{Name: "gpu", Default: true, Nodes: []string{"x"}}}}, RegisterNodeRequest{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			DefaultRegistration(&tt.req, &tt.cfg)
			if diff := cmp.Diff(tt.want, tt.req.Partitions); diff != "" {
				t.Errorf("partitions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateEvents(t *testing.T) {
	tests := []struct {
		name      string
		events    []JobEvent
		wantField string
	}{
		{"valid, node filled", []JobEvent{{JobID: 1, Kind: EventStarted}, {JobID: 2, Node: "n1", Kind: EventExited}}, ""},
		{"another node's event", []JobEvent{{JobID: 1, Node: "n2", Kind: EventExited}}, "events[0].node"},
		{"unknown kind", []JobEvent{{JobID: 1, Kind: EventExited}, {JobID: 1, Kind: "exploded"}}, "events[1].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEvents("n1", tt.events)
			var fe *FieldError
			if got := errors.As(err, &fe); got != (tt.wantField != "") || (got && fe.Field != tt.wantField) {
				t.Errorf("error = %v, want field %q", err, tt.wantField)
			}
			if err == nil && tt.events[0].Node != "n1" {
				t.Errorf("event node = %q, want n1", tt.events[0].Node)
			}
		})
	}
}

func TestPrepareSpec(t *testing.T) {
	cfg := &ClusterConfig{Partitions: []Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600}}}
	spec := JobSpec{Name: "j", User: "ann", UID: 1000, GID: 1000, Script: "#!/bin/sh\ntrue\n", WorkDir: "/tmp"}
	if err := PrepareSpec(&spec, cfg); err != nil {
		t.Fatal(err)
	}
	got := struct {
		Partitions          []string
		Account             string
		Nodes, NTasks, CPUs int
		TimeLimitSecs       int64
	}{spec.Partitions, spec.Account, spec.Nodes, spec.NTasks, spec.CPUsPerTask, spec.TimeLimitSecs}
	want := got
	want.Partitions, want.Account, want.Nodes, want.NTasks, want.CPUs, want.TimeLimitSecs = []string{"gpu"}, RootAccount, 1, 1, 1, 3600
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	bad := JobSpec{Name: "j", User: "ann", Script: "#!/bin/sh\n", WorkDir: "/tmp", Partitions: []string{"nope"}}
	var fe *FieldError
	if err := PrepareSpec(&bad, cfg); !errors.As(err, &fe) {
		t.Errorf("unknown partition: error = %v, want a FieldError", err)
	}
}
