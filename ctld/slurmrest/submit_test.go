package slurmrest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func boolp(b bool) *bool { return &b }

// TestJobDescToSpec converts job descriptions as portals send them into
// Fairway's job specs.
func TestJobDescToSpec(t *testing.T) {
	env := map[string]string{"PATH": "/bin:/usr/bin"}
	base := func(edit func(s *api.JobSpec)) api.JobSpec {
		s := api.JobSpec{Script: "#!/bin/sh\ntrue\n", Env: env, Nodes: 1, NTasks: 1, CPUsPerTask: 1}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	tests := []struct {
		name   string
		body   string // the request body
		want   api.JobSpec
		warned []string // warnings' descriptions
	}{
		{
			name: "minimal",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"]}}`,
			want: base(nil),
		},
		{
			name: "deprecated top-level script",
			body: `{"script":"#!/bin/sh\ntrue\n","job":{"environment":["PATH=/bin:/usr/bin"]}}`,
			want: base(nil),
		},
		{
			name: "the issue's fields",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin","A=b=c"],
				"name":"train","account":"ml","partition":"gpu,cpu","qos":"high",
				"time_limit":{"set":true,"infinite":false,"number":90},"tres_per_node":"gres/gpu:a100:2",
				"nodes":"2","tasks":4,"cpus_per_task":3,"memory_per_node":{"set":true,"number":8192},
				"current_working_directory":"/home/alice","standard_output":"/home/alice/%j.out",
				"standard_error":"/home/alice/%j.err","array":"1-3%2","dependency":"afterok:7","hold":true,
				"requeue":false,"nice":5,"begin_time":{"set":true,"number":1700000000},
				"required_nodes":["n1","n2"],"excluded_nodes":["n3"]}}`,
			want: base(func(s *api.JobSpec) {
				s.Env = map[string]string{"PATH": "/bin:/usr/bin", "A": "b=c"}
				s.Name, s.Account, s.Partitions, s.QOS = "train", "ml", []string{"gpu", "cpu"}, "high"
				s.TimeLimitSecs, s.GPUs, s.GPUType = 90*60, 2, "a100"
				s.Nodes, s.NTasks, s.CPUsPerTask, s.MemoryMB = 2, 4, 3, 8192
				s.WorkDir, s.Stdout, s.Stderr = "/home/alice", "/home/alice/%j.out", "/home/alice/%j.err"
				s.Array, s.Dependency, s.Hold, s.Requeue, s.Nice = "1-3%2", "afterok:7", true, boolp(false), 5
				s.BeginTime, s.NodeList, s.Exclude = 1700000000, []string{"n1", "n2"}, []string{"n3"}
			}),
		},
		{
			name: "plain numbers where Slurm takes {set,number}",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"time_limit":30,"memory_per_node":1024}}`,
			want: base(func(s *api.JobSpec) { s.TimeLimitSecs, s.MemoryMB = 1800, 1024 }),
		},
		{
			name: "unlimited time",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"time_limit":{"set":true,"infinite":true}}}`,
			want: base(func(s *api.JobSpec) { s.TimeLimitSecs = api.TimeLimitUnlimited }),
		},
		{
			name: "GPUs per job spread over nodes, memory per CPU",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"nodes":2,"tasks_per_node":2,"cpus_per_task":2,
				"tres_per_job":"gres/gpu:4","memory_per_cpu":{"set":true,"number":1000}}}`,
			want: base(func(s *api.JobSpec) {
				s.Nodes, s.NTasks, s.NTasksPerNode, s.CPUsPerTask, s.GPUs, s.MemoryMB = 2, 4, 2, 2, 2, 4000
			}),
		},
		{
			name: "GPUs per task",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"tasks":2,"tres_per_task":"gres/gpu=1"}}`,
			want: base(func(s *api.JobSpec) { s.NTasks, s.GPUs = 2, 2 }),
		},
		{
			name: "fields that change nothing are dropped with a warning; empty Slurm fields are fine",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"comment":"hello","mail_type":["END"],
				"licenses":"","reservation":null,"exclusive":false,"minimum_nodes":1,"maximum_nodes":1}}`,
			want: base(nil),
			warned: []string{
				"job.comment ignored: Fairway keeps no job comments",
				"job.mail_type ignored: Fairway sends no mail",
			},
		},
		{
			name: "user and group named as the submitter",
			body: `{"job":{"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin:/usr/bin"],"user_id":"1000","group_id":"1000"}}`,
			want: base(func(s *api.JobSpec) { s.User, s.UID, s.GID = "1000", 1000, 1000 }),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, warnings, err := decodeSubmit(tc.body)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			var got []string
			for _, w := range warnings {
				got = append(got, w.Description)
			}
			if diff := cmp.Diff(tc.warned, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// decodeSubmit runs a submission body through what submitJob does before
// it calls the controller.
func decodeSubmit(body string) (api.JobSpec, []Warning, error) {
	var req JobSubmitReq
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return api.JobSpec{}, nil, err
	}
	desc, warnings, err := decodeJobDesc(req.Job, "job")
	if err != nil {
		return api.JobSpec{}, nil, err
	}
	spec, err := desc.JobSpec(req.Script)
	return spec, warnings, err
}

// TestJobDescErrors: each bad field is refused with an error naming it.
func TestJobDescErrors(t *testing.T) {
	const ok = `"script":"#!/bin/sh\ntrue\n","environment":["PATH=/bin"]`
	tests := []struct {
		name, job string
		want      Error // Status, Num, Field, and a part of Msg
	}{
		{"time limit zero", ok + `,"time_limit":{"set":true,"number":0}`, Error{Status: 400, Num: errTimeLimit, Field: "job.time_limit", Msg: "want minutes"}},
		{"time limit wrong type", ok + `,"time_limit":"1:00"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.time_limit", Msg: "want a whole number"}},
		{"time limit unknown member", ok + `,"time_limit":{"set":true,"minutes":3}`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.time_limit", Msg: "unknown field"}},
		{"no script", `"environment":["PATH=/bin"]`, Error{Status: 400, Num: errScriptMissing, Field: "job.script", Msg: "script is required"}},
		{"no environment", `"script":"#!/bin/sh\ntrue\n"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.environment", Msg: "required"}},
		{"empty environment", `"script":"#!/bin/sh\ntrue\n","environment":[]`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.environment", Msg: "empty"}},
		{"environment entry without =", `"script":"x","environment":["PATH=/bin","JUNK"]`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.environment[1]", Msg: "want NAME=value"}},
		{"environment as an object", `"script":"x","environment":{"PATH":"/bin"}`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.environment", Msg: "want an array of strings"}},
		{"not a GPU TRES", ok + `,"tres_per_node":"gres/fpga:1"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.tres_per_node", Msg: "only GPUs"}},
		{"bad GPU count", ok + `,"tres_per_node":"gres/gpu:a100:x"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.tres_per_node", Msg: "GPU count"}},
		{"GPUs per job not divisible", ok + `,"nodes":"2","tres_per_job":"gres/gpu:3"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.tres_per_job", Msg: "spread evenly"}},
		{"two GPU fields", ok + `,"tres_per_job":"gres/gpu:1","tres_per_node":"gres/gpu:1"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.tres_per_node", Msg: "one of"}},
		{"node range", ok + `,"nodes":"1-4"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.nodes", Msg: "exact number of nodes"}},
		{"node count zero", ok + `,"nodes":"0"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.nodes", Msg: "node count"}},
		{"max nodes differs", ok + `,"minimum_nodes":2,"maximum_nodes":4`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.maximum_nodes", Msg: "exact number"}},
		{"tasks zero", ok + `,"tasks":0`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.tasks", Msg: "at least 1"}},
		{"cpus per task negative", ok + `,"cpus_per_task":-1`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.cpus_per_task", Msg: "at least 1"}},
		{"both memory forms", ok + `,"memory_per_node":100,"memory_per_cpu":10`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.memory_per_cpu", Msg: "not both"}},
		{"infinite memory", ok + `,"memory_per_node":{"set":true,"infinite":true}`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.memory_per_node", Msg: "megabytes"}},
		{"unknown field", ok + `,"colour":"blue"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.colour", Msg: "unknown field"}},
		{"unimplemented Slurm field", ok + `,"licenses":"matlab:1"`, Error{Status: 400, Num: errNotSupported, Field: "job.licenses", Msg: "does not implement"}},
		{"wrong type", ok + `,"hold":"yes"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.hold", Msg: "true or false"}},
		{"bad group", ok + `,"group_id":"staff"`, Error{Status: 400, Num: errInvalidJobDesc, Field: "job.group_id", Msg: "numeric"}},
		{"job not an object", ``, Error{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"job":{` + tc.job + `}}`
			if tc.job == "" {
				body = `{"job":"run this"}`
				tc.want = Error{Status: 400, Num: errInvalidJobDesc, Field: "job", Msg: "must be a job description"}
			}
			_, _, err := decodeSubmit(body)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			got := Error{Status: e.Status, Num: e.Num, Field: e.Field, Msg: tc.want.Msg}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error %q (-want +got):\n%s", e.Error(), diff)
			}
			if !strings.Contains(e.Msg, tc.want.Msg) {
				t.Errorf("message %q does not say %q", e.Msg, tc.want.Msg)
			}
		})
	}
}

func TestParseGPUTRES(t *testing.T) {
	tests := []struct {
		in      string
		typ     string
		n       int
		wantErr bool
	}{
		{"gres/gpu:2", "", 2, false},
		{"gres/gpu:a100:2", "a100", 2, false},
		{"gres/gpu=3", "", 3, false},
		{"gres:gpu:1", "", 1, false},
		{"gpu:4", "", 4, false},
		{"gres/gpu", "", 1, false},
		{"gres/gpu:h100", "h100", 1, false},
		{"gres/gpu:0", "", 0, false},
		{"gres/gpu:-1", "", 0, true},
		{"gres/gpu:1,gres/fpga:1", "", 0, true},
		{"cpu=4", "", 0, true},
		{"gres/gpu:a:b:c", "", 0, true},
	}
	for _, tc := range tests {
		typ, n, err := ParseGPUTRES(tc.in)
		if (err != nil) != tc.wantErr || typ != tc.typ || n != tc.n {
			t.Errorf("ParseGPUTRES(%q) = %q, %d, %v; want %q, %d, error %v", tc.in, typ, n, err, tc.typ, tc.n, tc.wantErr)
		}
	}
}

func TestSignalParam(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "", false}, {"SIGKILL", "", false}, {"9", "", false}, {"KILL", "", false},
		{"SIGTERM", "TERM", false}, {"15", "TERM", false}, {"usr1", "USR1", false}, {"SIGUSR2", "USR2", false},
		{"0", "", true}, {"99", "", true}, {"SIGFOO", "", true},
	}
	for _, tc := range tests {
		got, err := signalParam(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("signalParam(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzJobDesc: no job description panics, and every refusal is an *Error
// naming a field under job.
func FuzzJobDesc(f *testing.F) {
	for _, s := range []string{
		`{"job":{"script":"x","environment":["A=b"],"time_limit":5}}`,
		`{"job":{"nodes":"1-2","tres_per_node":"gres/gpu:a:1"}}`,
		`{"job":{"memory_per_cpu":{"set":true,"number":99999999999},"cpus_per_task":7}}`,
		`{"script":"x","job":{"environment":["A=b"],"tres_per_job":"gres/gpu:7","nodes":3}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, _, err := decodeSubmit(body)
		var e *Error
		if err != nil && errors.As(err, &e) && !strings.HasPrefix(e.Field, "job") {
			t.Errorf("error %q names field %q, not one under job", e.Error(), e.Field)
		}
	})
}
