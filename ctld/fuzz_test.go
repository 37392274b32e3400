package ctld

import (
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

// fuzzConfig is the cluster configuration FuzzSubmitRequest checks specs
// against: a default GPU partition with a time limit, a CPU partition
// without, accounts, a QOS and a small MaxArraySize.
var fuzzConfig = api.ClusterConfig{
	Partitions: []api.Partition{
		{Name: "gpu", Default: true, MaxTimeSecs: 86400, DefaultTimeSecs: 3600, DefMemPerNodeMB: 2048},
		{Name: "cpu"},
	},
	Accounts:     []api.Account{{Name: "physics", Shares: 1}, {Name: "ml", Parent: "physics"}},
	QOS:          []api.QOS{{Name: "high", Priority: 10}},
	MaxArraySize: 1000,
}

// FuzzSubmitRequest feeds arbitrary bodies of POST /v1/jobs through the
// controller's decoding (decodeBody) and the checks Service.Submit makes
// before anything is committed (api.PrepareSpec against a configuration).
// Nothing may panic; a rejection must be an *api.FieldError naming a field;
// an accepted spec must satisfy what the scheduler and the FSM rely on: at
// least one node, task and CPU, NTasks >= Nodes, a CPU count per node
// (TotalCPUsPerNode) computed without overflow, an existing partition, a
// positive memory and time limit, an --array the FSM can expand within the
// cluster's MaxArraySize, and a parseable --dependency.
func FuzzSubmitRequest(f *testing.F) {
	for _, s := range []string{
		`{"jobs":[{"name":"a","user":"alice","script":"#!/bin/sh\necho hi\n"}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","partitions":["cpu"],"nodes":2,"ntasks":8,"cpus_per_task":4,"memory_mb":4096,"time_limit_secs":600}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","gpus":2,"gpu_type":"h100","account":"ml","qos":"high","priority":5,"nice":-5}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","array":"0-999:7%3","dependency":"afterok:1_2?after:3+5","signal":{"name":"USR1","at_seconds":60}}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","container_image":"docker.io/library/ubuntu:22.04","container_mounts":[{"source":"/d","target":"/d"}]}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","ntasks":9223372036854775807}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","nodes":-1}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","array":"0-999,0-999"}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","time_limit_secs":86401}]}`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","partitions":["nosuch"]}]}`,
		`{"jobs":[{"user":"alice","script":"echo"}]}`, `{"jobs":[]}`, `{"jobs":[null]}`, `{"unknown":1}`, `{}`, ``, `[`,
		`{"jobs":[{"user":"alice","script":"#!/bin/sh\n","nodes":1e3}]}`, `{"jobs":[{"signal":{"name":"KILL","at_seconds":70000}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.SubmitRequest
		r := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(body)))
		if err := decodeBody(httptest.NewRecorder(), r, &req, false, api.DefaultMaxScriptBytes+submitSlackBytes); err != nil {
			wantSpecFieldError(t, err)
			return
		}
		for i := range req.Jobs {
			spec := req.Jobs[i]
			cfg := fuzzConfig
			if err := api.ValidateSpec(&spec, nil); err != nil {
				wantSpecFieldError(t, err)
			}
			if err := api.PrepareSpec(&spec, &cfg); err != nil {
				wantSpecFieldError(t, err)
				continue
			}
			checkAcceptedSpec(t, &spec, &cfg)
		}
	})
}

// wantSpecFieldError fails t unless err is an *api.FieldError with a field.
func wantSpecFieldError(t *testing.T, err error) {
	t.Helper()
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field == "" {
		t.Fatalf("error %v (%T) is not an *api.FieldError naming a field", err, err)
	}
}

// checkAcceptedSpec checks the invariants of a spec PrepareSpec accepted.
func checkAcceptedSpec(t *testing.T, spec *api.JobSpec, cfg *api.ClusterConfig) {
	t.Helper()
	switch {
	case spec.Nodes < 1 || spec.NTasks < spec.Nodes || spec.CPUsPerTask < 1:
		t.Fatalf("accepted nodes=%d ntasks=%d cpus_per_task=%d", spec.Nodes, spec.NTasks, spec.CPUsPerTask)
	case len(spec.Partitions) == 0:
		t.Fatalf("accepted a spec without a partition")
	case spec.MemoryMB <= 0 || spec.TimeLimitSecs <= 0:
		t.Fatalf("accepted memory_mb=%d time_limit_secs=%d", spec.MemoryMB, spec.TimeLimitSecs)
	case spec.Priority < 0 || spec.Priority > api.MaxPriority || spec.BeginTime < 0 || spec.GPUs < 0:
		t.Fatalf("accepted priority=%d begin_time=%d gpus=%d", spec.Priority, spec.BeginTime, spec.GPUs)
	}
	for _, p := range spec.Partitions {
		if _, ok := cfg.Partition(p); !ok {
			t.Fatalf("accepted unknown partition %q", p)
		}
	}
	// ceil(NTasks/Nodes) * CPUsPerTask, exactly.
	nodes, tasks := big.NewInt(int64(spec.Nodes)), big.NewInt(int64(spec.NTasks))
	perNode := new(big.Int).Div(new(big.Int).Add(tasks, new(big.Int).Sub(nodes, big.NewInt(1))), nodes)
	want := new(big.Int).Mul(perNode, big.NewInt(int64(spec.CPUsPerTask)))
	if got := spec.TotalCPUsPerNode(); !want.IsInt64() || want.Int64() != int64(got) {
		t.Fatalf("accepted nodes=%d ntasks=%d cpus_per_task=%d: TotalCPUsPerNode() = %d, want %s (overflow)",
			spec.Nodes, spec.NTasks, spec.CPUsPerTask, got, want)
	}
	if spec.Array != "" {
		if _, err := api.ParseArray(spec.Array, cfg.MaxArraySizeOrDefault()); err != nil {
			t.Fatalf("accepted --array %q that the FSM rejects: %v", spec.Array, err)
		}
	}
	if spec.Dependency != "" {
		if _, err := api.ParseDependency(spec.Dependency); err != nil {
			t.Fatalf("accepted --dependency %q that does not parse: %v", spec.Dependency, err)
		}
	}
	if s := spec.Signal; s != nil && (!api.ValidSignalName(s.Name) || s.AtSeconds < 0 || s.AtSeconds > 65535) {
		t.Fatalf("accepted --signal %+v", *s)
	}
}
