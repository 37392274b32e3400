package api

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testConfig() *ClusterConfig {
	return &ClusterConfig{
		Partitions: []Partition{
			{Name: "cpu", Default: true, MaxTimeSecs: 3600},
			{Name: "gpu", MaxTimeSecs: 86400},
			{Name: "debug"},
		},
		Accounts: []Account{{Name: "search", Shares: 10}, {Name: "alice@search", Parent: "search", Shares: 1}},
		QOS:      []QOS{{Name: "high", Priority: 10}},
	}
}

func validSpec() JobSpec {
	return JobSpec{Name: "train", User: "alice", UID: 1000, GID: 1000, Script: "#!/bin/bash\necho hi\n", WorkDir: "/home/alice"}
}

// fieldOf returns the FieldError's field, "" for nil, or "not a FieldError".
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return "not a FieldError: " + err.Error()
	}
	return fe.Field
}

func TestValidateSpec(t *testing.T) {
	yes := true
	tests := []struct {
		name      string
		edit      func(s *JobSpec)
		field     string // "" = valid
		msgSubstr string
	}{
		{name: "valid minimal", edit: func(s *JobSpec) {}},
		{name: "valid full", edit: func(s *JobSpec) {
			s.Partitions = []string{"gpu", "cpu"}
			s.Account = "alice@search"
			s.Nodes, s.NTasks, s.CPUsPerTask, s.MemoryMB = 2, 16, 4, 64000
			s.GPUs, s.GPUType, s.TimeLimitSecs = 8, "h100", 7200
			s.Priority, s.Nice, s.Requeue = 99, -5, &yes
			s.Signal = &Signal{Name: "USR1", AtSeconds: 120, BatchOnly: true}
			s.ContainerImage = "nvcr.io#nvidia/pytorch:24.01-py3"
			s.ContainerMounts = []Mount{{Source: "/data", Target: "/data", ReadOnly: true}}
			s.Env = map[string]string{"BASH_FUNC_ml%%": "() { :; }"}
		}},
		{name: "root account always exists", edit: func(s *JobSpec) { s.Account = "root" }},
		{name: "unknown partition lists known", edit: func(s *JobSpec) { s.Partitions = []string{"h200"} },
			field: "--partition", msgSubstr: "known partitions: cpu, gpu, debug"},
		{name: "partition named twice", edit: func(s *JobSpec) { s.Partitions = []string{"gpu", "gpu"} }, field: "--partition"},
		{name: "empty partition name", edit: func(s *JobSpec) { s.Partitions = []string{"gpu", ""} }, field: "--partition"},
		{name: "unknown account", edit: func(s *JobSpec) { s.Account = "vision" }, field: "--account", msgSubstr: "known accounts: root, search, alice@search"},
		{name: "negative memory", edit: func(s *JobSpec) { s.MemoryMB = -5 }, field: "--mem"},
		{name: "negative nodes", edit: func(s *JobSpec) { s.Nodes = -1 }, field: "--nodes"},
		{name: "fewer tasks than nodes", edit: func(s *JobSpec) { s.Nodes, s.NTasks = 4, 2 }, field: "--ntasks"},
		{name: "negative ntasks", edit: func(s *JobSpec) { s.NTasks = -2 }, field: "--ntasks"},
		{name: "negative cpus per task", edit: func(s *JobSpec) { s.CPUsPerTask = -2 }, field: "--cpus-per-task"},
		{name: "negative gpus", edit: func(s *JobSpec) { s.GPUs = -1 }, field: "--gres"},
		{name: "gpu type without count", edit: func(s *JobSpec) { s.GPUType = "h100" }, field: "--gres"},
		{name: "bad gpu type", edit: func(s *JobSpec) { s.GPUs, s.GPUType = 1, "h 100" }, field: "--gres"},
		{name: "negative time", edit: func(s *JobSpec) { s.TimeLimitSecs = -1 }, field: "--time"},
		{name: "time above default partition max", edit: func(s *JobSpec) { s.TimeLimitSecs = 7200 },
			field: "--time", msgSubstr: "cpu allows at most 01:00:00"},
		{name: "time fits one of several partitions", edit: func(s *JobSpec) { s.Partitions, s.TimeLimitSecs = []string{"cpu", "gpu"}, 7200 }},
		{name: "time above every requested partition", edit: func(s *JobSpec) { s.Partitions, s.TimeLimitSecs = []string{"cpu", "gpu"}, 2*86400 },
			field: "--time", msgSubstr: "gpu allows at most 1-00:00:00"},
		{name: "unlimited partition", edit: func(s *JobSpec) { s.Partitions, s.TimeLimitSecs = []string{"debug"}, 30*86400 }},
		{name: "no time limit in an unlimited partition", edit: func(s *JobSpec) { s.Partitions, s.TimeLimitSecs = []string{"debug"}, TimeLimitUnlimited }},
		{name: "no time limit in a limited partition", edit: func(s *JobSpec) { s.TimeLimitSecs = TimeLimitUnlimited },
			field: "--time", msgSubstr: `"UNLIMITED": exceeds`},
		{name: "NUL in script argument", edit: func(s *JobSpec) { s.Args = []string{"a\x00b"} }, field: "args"},
		{name: "priority too high", edit: func(s *JobSpec) { s.Priority = 100 }, field: "--priority", msgSubstr: "0 (lowest) to 99"},
		{name: "priority negative", edit: func(s *JobSpec) { s.Priority = -1 }, field: "--priority"},
		{name: "nice too large", edit: func(s *JobSpec) { s.Nice = 1 << 40 }, field: "--nice"},
		{name: "empty script", edit: func(s *JobSpec) { s.Script = "  \n" }, field: "script", msgSubstr: "--wrap"},
		{name: "script without shebang", edit: func(s *JobSpec) { s.Script = "echo hi\n" }, field: "script", msgSubstr: "#!"},
		{name: "relative chdir", edit: func(s *JobSpec) { s.WorkDir = "run/1" }, field: "--chdir", msgSubstr: "absolute"},
		{name: "empty chdir is the node's default", edit: func(s *JobSpec) { s.WorkDir = "" }},
		{name: "missing user", edit: func(s *JobSpec) { s.User = "" }, field: "user"},
		{name: "negative uid", edit: func(s *JobSpec) { s.UID = -1 }, field: "uid"},
		{name: "control chars in name", edit: func(s *JobSpec) { s.Name = "a\nb" }, field: "--job-name"},
		{name: "env name with =", edit: func(s *JobSpec) { s.Env = map[string]string{"A=B": "c"} }, field: "--export"},
		{name: "unknown signal", edit: func(s *JobSpec) { s.Signal = &Signal{Name: "FOO"} }, field: "--signal"},
		{name: "signal with SIG prefix", edit: func(s *JobSpec) { s.Signal = &Signal{Name: "SIGUSR2", AtSeconds: 60} }},
		{name: "signal time too large", edit: func(s *JobSpec) { s.Signal = &Signal{Name: "USR1", AtSeconds: 70000} }, field: "--signal"},
		{name: "negative begin", edit: func(s *JobSpec) { s.BeginTime = -1 }, field: "--begin"},
		{name: "oci archive", edit: func(s *JobSpec) { s.ContainerImage = "oci-archive:/images/job.tar" }},
		{name: "docker reference", edit: func(s *JobSpec) {
			s.ContainerImage = "docker://localhost:5000/team/img@sha256:" + strings.Repeat("a", 64)
		}},
		{name: "plain image name", edit: func(s *JobSpec) { s.ContainerImage = "ubuntu:22.04" }},
		{name: "relative archive path", edit: func(s *JobSpec) { s.ContainerImage = "oci-archive:job.tar" }, field: "--container-image"},
		{name: "bare path image", edit: func(s *JobSpec) { s.ContainerImage = "/images/job.tar" }, field: "--container-image", msgSubstr: "oci-archive:"},
		{name: "upper case image", edit: func(s *JobSpec) { s.ContainerImage = "Ubuntu" }, field: "--container-image"},
		{name: "mounts without image", edit: func(s *JobSpec) { s.ContainerMounts = []Mount{{Source: "/a", Target: "/a"}} }, field: "--container-mounts"},
		{name: "relative mount", edit: func(s *JobSpec) {
			s.ContainerImage, s.ContainerMounts = "ubuntu", []Mount{{Source: "data", Target: "/data"}}
		}, field: "--container-mounts"},
		{name: "request larger than any node is accepted", edit: func(s *JobSpec) { s.Nodes, s.GPUs, s.MemoryMB = 1000, 64, 1<<30 }},
		{name: "array with step and throttle", edit: func(s *JobSpec) { s.Array = "0-15:4%4" }},
		{name: "array list", edit: func(s *JobSpec) { s.Array = "1,3,5-7" }},
		{name: "array at the default MaxArraySize", edit: func(s *JobSpec) { s.Array = "0-100000" }},
		{name: "array beyond the default MaxArraySize", edit: func(s *JobSpec) { s.Array = "0-100001" },
			field: "--array", msgSubstr: "MaxArraySize is 100001, so indices go from 0 to 100000"},
		{name: "array range backwards", edit: func(s *JobSpec) { s.Array = "7-3" }, field: "--array", msgSubstr: "ends before it starts"},
		{name: "array zero step", edit: func(s *JobSpec) { s.Array = "0-7:0" }, field: "--array"},
		{name: "array negative index", edit: func(s *JobSpec) { s.Array = "-1-3" }, field: "--array"},
		{name: "array empty item", edit: func(s *JobSpec) { s.Array = "1,,3" }, field: "--array"},
		{name: "array bad throttle", edit: func(s *JobSpec) { s.Array = "1-3%0" }, field: "--array", msgSubstr: "after %"},
		{name: "array only a throttle", edit: func(s *JobSpec) { s.Array = "%4" }, field: "--array"},
		{name: "dependency all of", edit: func(s *JobSpec) { s.Dependency = "afterok:12:13_2,afterany:14,singleton" }},
		{name: "dependency any of", edit: func(s *JobSpec) { s.Dependency = "afternotok:12?after:13+5" }},
		{name: "dependency mixed separators", edit: func(s *JobSpec) { s.Dependency = "afterok:1,afterok:2?afterok:3" },
			field: "--dependency", msgSubstr: "not both"},
		{name: "dependency unknown type", edit: func(s *JobSpec) { s.Dependency = "afterfun:1" }, field: "--dependency", msgSubstr: `unknown dependency type "afterfun"`},
		{name: "dependency without job", edit: func(s *JobSpec) { s.Dependency = "afterok" }, field: "--dependency"},
		{name: "dependency bad job id", edit: func(s *JobSpec) { s.Dependency = "afterok:x" }, field: "--dependency"},
		{name: "dependency delay only after after", edit: func(s *JobSpec) { s.Dependency = "afterok:4+5" }, field: "--dependency"},
		{name: "qos normal always exists", edit: func(s *JobSpec) { s.QOS = "normal" }},
		{name: "configured qos", edit: func(s *JobSpec) { s.QOS = "high" }},
		{name: "unknown qos", edit: func(s *JobSpec) { s.QOS = "urgent" }, field: "--qos", msgSubstr: "known QOS: normal, high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.edit(&spec)
			err := ValidateSpec(&spec, testConfig())
			if diff := cmp.Diff(tt.field, fieldOf(t, err)); diff != "" {
				t.Fatalf("field (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.msgSubstr != "" && !strings.Contains(err.Error(), tt.msgSubstr) {
				t.Errorf("error %q does not mention %q", err, tt.msgSubstr)
			}
		})
	}
}

func TestValidateSpecWithoutConfig(t *testing.T) {
	spec := validSpec()
	spec.Partitions, spec.Account, spec.TimeLimitSecs = []string{"anything"}, "anyone", 1<<30
	if err := ValidateSpec(&spec, nil); err != nil {
		t.Errorf("client-side validation needs no config, got %v", err)
	}
	spec.QOS, spec.Array = "any-qos", "0-4000000"
	if err := ValidateSpec(&spec, nil); err != nil {
		t.Errorf("client-side validation knows no QOS list or MaxArraySize, got %v", err)
	}
	spec.MemoryMB = -1
	if got := fieldOf(t, ValidateSpec(&spec, nil)); got != "--mem" {
		t.Errorf("field = %q, want --mem", got)
	}
}

func TestValidateSpecArraySizeFromConfig(t *testing.T) {
	cfg := testConfig()
	cfg.MaxArraySize = 10
	spec := validSpec()
	spec.Array = "0-9"
	if err := ValidateSpec(&spec, cfg); err != nil {
		t.Errorf("0-9 with MaxArraySize 10: %v", err)
	}
	spec.Array = "5-10"
	if err := ValidateSpec(&spec, cfg); err == nil || !strings.Contains(err.Error(), "indices go from 0 to 9") {
		t.Errorf("5-10 with MaxArraySize 10: %v, want an error naming the largest index 9", err)
	}
}

func TestParseArray(t *testing.T) {
	tests := []struct {
		expr    string
		want    ArraySpec
		compact string // TaskIDs.String
		display string // TaskIDs.Display
	}{
		{"0-15:4%4", ArraySpec{Tasks: TaskIDs{0, 4, 8, 12}, MaxRun: 4}, "0-12:4", "0-12:4"},
		{"0-8:4", ArraySpec{Tasks: TaskIDs{0, 4, 8}}, "0-8:4", "0,4,8"},
		{"1,3,5-7", ArraySpec{Tasks: TaskIDs{1, 3, 5, 6, 7}}, "1-5:2,6-7", "1,3,5-7"},
		{"7,3,3,1-2", ArraySpec{Tasks: TaskIDs{1, 2, 3, 7}}, "1-3,7", "1-3,7"},
		{"0-40:10", ArraySpec{Tasks: TaskIDs{0, 10, 20, 30, 40}}, "0-40:10", "0-40:10"},
		{" 5 ", ArraySpec{Tasks: TaskIDs{5}}, "5", "5"},
		{"2,4", ArraySpec{Tasks: TaskIDs{2, 4}}, "2,4", "2,4"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseArray(tt.expr, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if s := got.Tasks.String(); s != tt.compact {
				t.Errorf("String() = %q, want %q", s, tt.compact)
			}
			if s := got.Tasks.Display(); s != tt.display {
				t.Errorf("Display() = %q, want %q", s, tt.display)
			}
			back, err := ParseArray(got.Tasks.String(), 0)
			if err != nil || !cmp.Equal(back.Tasks, got.Tasks) {
				t.Errorf("String() does not parse back: %v %v", back.Tasks, err)
			}
		})
	}
}

func TestTaskIDsJSON(t *testing.T) {
	type rec struct {
		Pending TaskIDs `json:"pending,omitempty"`
	}
	big, _ := ParseArray("0-99999", 0)
	tests := []struct {
		in   rec
		json string
	}{
		{rec{Pending: big.Tasks}, `{"pending":"0-99999"}`},
		{rec{Pending: TaskIDs{1, 3, 5, 6, 7}}, `{"pending":"1-5:2,6-7"}`},
		{rec{}, `{}`},
	}
	for _, tt := range tests {
		data, err := json.Marshal(tt.in)
		if err != nil || string(data) != tt.json {
			t.Errorf("marshal %v = %s, %v; want %s", tt.in.Pending.String(), data, err, tt.json)
		}
		var back rec
		if err := json.Unmarshal(data, &back); err != nil || !cmp.Equal(tt.in, back) {
			t.Errorf("unmarshal %s = %v, %v", data, back.Pending.String(), err)
		}
	}
	var fromList rec
	if err := json.Unmarshal([]byte(`{"pending":[5,1,3]}`), &fromList); err != nil || !cmp.Equal(TaskIDs{1, 3, 5}, fromList.Pending) {
		t.Errorf("a JSON list of numbers reads as %v, %v", fromList.Pending, err)
	}
}

func TestTaskIDsWithout(t *testing.T) {
	ids := TaskIDs{1, 2, 5, 9}
	if got := ids.Without(1); !cmp.Equal(TaskIDs{2, 5, 9}, got) {
		t.Errorf("Without(1) = %v", got)
	}
	if got := ids.Without(5); !cmp.Equal(TaskIDs{1, 2, 9}, got) {
		t.Errorf("Without(5) = %v", got)
	}
	if got := ids.Without(4); !cmp.Equal(ids, got) {
		t.Errorf("Without(4) = %v", got)
	}
	if !cmp.Equal(TaskIDs{1, 2, 5, 9}, ids) {
		t.Errorf("Without changed the list: %v", ids)
	}
}

func TestJobDisplayID(t *testing.T) {
	tests := []struct {
		job  Job
		want string
	}{
		{Job{ID: 7}, "7"},
		{Job{ID: 14, ArrayJobID: 12, ArrayTaskID: 3}, "12_3"},
		{Job{ID: 12, ArrayJobID: 12, ArrayTaskID: 0}, "12_0"},
		{Job{ID: 12, ArrayJobID: 12, ArrayTaskID: -1, ArrayPending: TaskIDs{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, ArrayMaxRun: 4}, "12_[4-15%4]"},
		{Job{ID: 12, ArrayJobID: 12, ArrayTaskID: -1, ArrayPending: TaskIDs{1, 3, 5, 6}}, "12_[1,3,5-6]"},
	}
	for _, tt := range tests {
		if got := tt.job.DisplayID(); got != tt.want {
			t.Errorf("DisplayID() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseJobRef(t *testing.T) {
	three := 3
	for in, want := range map[string]JobRef{"12": {ID: 12}, "12_3": {ID: 12, Task: &three}} {
		got, err := ParseJobRef(in)
		if err != nil || !cmp.Equal(want, got) || got.String() != in {
			t.Errorf("ParseJobRef(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "x", "12_", "12_x", "12_-1", "_3", "+5"} {
		if _, err := ParseJobRef(bad); err == nil {
			t.Errorf("ParseJobRef(%q) succeeded", bad)
		}
	}
}

func TestParseDependency(t *testing.T) {
	two := 2
	got, err := ParseDependency("afterok:12:13_2?after:14+5?singleton")
	want := Dependency{Any: true, Terms: []DependencyTerm{
		{Type: DepAfterOK, Jobs: []JobRef{{ID: 12}, {ID: 13, Task: &two}}},
		{Type: DepAfter, Jobs: []JobRef{{ID: 14}}, DelayMins: 5},
		{Type: DepSingleton},
	}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidateSpecNoPartitions(t *testing.T) {
	spec := validSpec()
	got := fieldOf(t, ValidateSpec(&spec, &ClusterConfig{}))
	if got != "--partition" {
		t.Errorf("field = %q, want --partition", got)
	}
}

func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *ClusterConfig)
		field string
	}{
		{name: "valid", edit: func(c *ClusterConfig) {}},
		{name: "no partitions", edit: func(c *ClusterConfig) { c.Partitions = nil }, field: "partitions"},
		{name: "duplicate partition", edit: func(c *ClusterConfig) { c.Partitions[1].Name = "cpu" }, field: "partitions[1].name"},
		{name: "bad partition name", edit: func(c *ClusterConfig) { c.Partitions[2].Name = "a b" }, field: "partitions[2].name"},
		{name: "two defaults", edit: func(c *ClusterConfig) { c.Partitions[1].Default = true }, field: "partitions[1].default"},
		{name: "negative max time", edit: func(c *ClusterConfig) { c.Partitions[0].MaxTimeSecs = -1 }, field: "partitions[0].max_time_secs"},
		{name: "default above max", edit: func(c *ClusterConfig) { c.Partitions[0].DefaultTimeSecs = 7200 }, field: "partitions[0].default_time_secs"},
		{name: "bad preempt mode", edit: func(c *ClusterConfig) { c.Partitions[0].PreemptMode = "suspend" }, field: "partitions[0].preempt_mode"},
		{name: "bad state", edit: func(c *ClusterConfig) { c.Partitions[0].State = "SLEEPY" }, field: "partitions[0].state"},
		{name: "negative max nodes", edit: func(c *ClusterConfig) { c.Partitions[0].MaxNodes = -1 }, field: "partitions[0].max_nodes"},
		{name: "duplicate node", edit: func(c *ClusterConfig) { c.Partitions[0].Nodes = []string{"n1", "n1"} }, field: "partitions[0].nodes"},
		{name: "account named root", edit: func(c *ClusterConfig) { c.Accounts[0].Name = "root" }, field: "accounts[0].name"},
		{name: "duplicate account", edit: func(c *ClusterConfig) { c.Accounts[1].Name = "search" }, field: "accounts[1].name"},
		{name: "unknown parent", edit: func(c *ClusterConfig) { c.Accounts[1].Parent = "vision" }, field: "accounts[1].parent"},
		{name: "cycle", edit: func(c *ClusterConfig) { c.Accounts[0].Parent = "alice@search" }, field: "accounts[0].parent"},
		{name: "negative shares", edit: func(c *ClusterConfig) { c.Accounts[0].Shares = -1 }, field: "accounts[0].shares"},
		{name: "guarantee in unknown partition", edit: func(c *ClusterConfig) { c.Accounts[0].Guarantees = map[string]int{"h200": 8} }, field: "accounts[0].guarantees"},
		{name: "unknown default account", edit: func(c *ClusterConfig) { c.DefaultAccount = "vision" }, field: "default_account"},
		{name: "negative retention", edit: func(c *ClusterConfig) { c.JobRetentionSecs = -1 }, field: "job_retention_secs"},
		{name: "duplicate qos", edit: func(c *ClusterConfig) { c.QOS = append(c.QOS, QOS{Name: "high"}) }, field: "qos[1].name"},
		{name: "bad qos preempt mode", edit: func(c *ClusterConfig) { c.QOS[0].PreemptMode = "suspend" }, field: "qos[0].preempt_mode"},
		{name: "array size too large", edit: func(c *ClusterConfig) { c.MaxArraySize = 5000000 }, field: "max_array_size"},
		{name: "user listed twice", edit: func(c *ClusterConfig) {
			c.Accounts[0].Users = []AccountUser{{Name: "bob", Shares: 1}, {Name: "bob", Shares: 2}}
		}, field: "accounts[0].users[1].name"},
		{name: "negative weight factor", edit: func(c *ClusterConfig) { c.Accounts[0].WeightFactor = -1 }, field: "accounts[0].weight_factor"},
		{name: "unknown fair share algorithm", edit: func(c *ClusterConfig) { c.Scheduling.FairShare = "fifo" }, field: "scheduling.fair_share"},
		{name: "negative weight", edit: func(c *ClusterConfig) { c.Scheduling.Weights.Age = -1 }, field: "scheduling.weights.age"},
		{name: "unknown backfill mode", edit: func(c *ClusterConfig) { c.Scheduling.Backfill.Mode = "aggressive" }, field: "scheduling.backfill.mode"},
		{name: "shared checkpoint base", edit: func(c *ClusterConfig) { c.Scheduling.CheckpointDirBase = "/shared/ckpt" }},
		{name: "relative checkpoint base", edit: func(c *ClusterConfig) { c.Scheduling.CheckpointDirBase = "ckpt" }, field: "scheduling.checkpoint_dir_base"},
		{name: "checkpoint base /", edit: func(c *ClusterConfig) { c.Scheduling.CheckpointDirBase = "/" }, field: "scheduling.checkpoint_dir_base"},
		{name: "default lease and down timeout", edit: func(c *ClusterConfig) { c.NodeDownAfterSecs, c.NodeLeaseSecs, c.FenceGraceSecs = 0, 0, 0 }},
		{name: "negative lease", edit: func(c *ClusterConfig) { c.NodeLeaseSecs = -1 }, field: "node_lease_secs"},
		{name: "negative fence grace", edit: func(c *ClusterConfig) { c.FenceGraceSecs = -1 }, field: "fence_grace_secs"},
		{name: "down before the lease ends", edit: func(c *ClusterConfig) { c.NodeDownAfterSecs, c.NodeLeaseSecs = 20, 20 }, field: "node_down_after_secs"},
		{name: "down when fenced jobs may still be dying", edit: func(c *ClusterConfig) {
			c.NodeDownAfterSecs, c.NodeLeaseSecs, c.FenceGraceSecs = 17, 10, 5 // 10 + 5 + 2 kill wait
		}, field: "node_down_after_secs"},
		{name: "down just after the fence deadline", edit: func(c *ClusterConfig) { c.NodeDownAfterSecs, c.NodeLeaseSecs, c.FenceGraceSecs = 18, 10, 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(cfg)
			err := ValidateConfig(cfg)
			if diff := cmp.Diff(tt.field, fieldOf(t, err)); diff != "" {
				t.Errorf("field (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name     string
		part     Partition
		spec     JobSpec
		wantTime int64
		wantMem  int64
	}{
		{name: "built-in defaults", wantTime: DefaultTimeLimitSecs, wantMem: DefaultMemPerNodeMB},
		{name: "max time is the default", part: Partition{MaxTimeSecs: 600, DefMemPerNodeMB: 2048}, wantTime: 600, wantMem: 2048},
		{name: "default time", part: Partition{MaxTimeSecs: 600, DefaultTimeSecs: 60}, wantTime: 60, wantMem: DefaultMemPerNodeMB},
		{name: "job's own", part: Partition{DefaultTimeSecs: 60, DefMemPerNodeMB: 2048}, spec: JobSpec{TimeLimitSecs: 5, MemoryMB: 7}, wantTime: 5, wantMem: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []int64{tt.spec.TimeLimitIn(tt.part), tt.spec.MemoryIn(tt.part)}
			if diff := cmp.Diff([]int64{tt.wantTime, tt.wantMem}, got); diff != "" {
				t.Errorf("time, memory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	got := []string{FormatDuration(59), FormatDuration(3600), FormatDuration(86400 + 61)}
	want := []string{"00:00:59", "01:00:00", "1-00:01:01"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestShareRowJSON(t *testing.T) {
	rows := []ShareRow{
		{Account: "ml", User: "alice", Depth: 2, RawShares: 1, NormShares: 0.5, LevelFS: math.Inf(1)},
		{Account: "root", NormShares: 1, RawUsage: 12.5, LevelFS: 0.25},
	}
	data, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"level_fs":"inf"`) || !strings.Contains(string(data), `"level_fs":0.25`) {
		t.Errorf("JSON %s: want level_fs \"inf\" and 0.25", data)
	}
	var back []ShareRow
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
