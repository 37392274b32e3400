package slurmdata

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// jobView is what a script reads from one job_info.
type jobView struct {
	JobID            int32
	ArrayJobID       Uint32NoVal
	ArrayTaskID      Uint32NoVal
	ArrayTaskString  string
	State            []string
	Reason           string
	Priority         Uint32NoVal
	TimeLimit        Uint32NoVal
	Start, End       Uint64NoVal
	Nodes            string
	CPUs, NodeCount  Uint32NoVal
	ExitCode         ProcessExitCodeVerbose
	Partition        string
	Hold             bool
	TRESReq, TRESAll string
	Gres             []string
}

func viewOf(j JobInfo) jobView {
	return jobView{JobID: j.JobID, ArrayJobID: j.ArrayJobID, ArrayTaskID: j.ArrayTaskID, ArrayTaskString: j.ArrayTaskString,
		State: j.JobState, Reason: j.StateReason, Priority: j.Priority, TimeLimit: j.TimeLimit, Start: j.StartTime,
		End: j.EndTime, Nodes: j.Nodes, CPUs: j.CPUs, NodeCount: j.NodeCount, ExitCode: j.ExitCode,
		Partition: j.Partition, Hold: j.Hold, TRESReq: j.TRESReqStr, TRESAll: j.TRESAllocStr, Gres: j.GresDetail}
}

var (
	success = ProcessExitCodeVerbose{Status: []string{"SUCCESS"}, ReturnCode: Uint32NoVal{Set: true}}
	unset32 = Uint32NoVal{}
)

func u32(n int64) Uint32NoVal { return Uint32NoVal{Set: true, Number: n} }
func u64(n int64) Uint64NoVal { return Uint64NoVal{Set: true, Number: n} }

func TestFromJob(t *testing.T) {
	f := newFixture()
	got := map[int32]jobView{}
	for _, j := range JobInfoResponse(f.jobs, f.parts, f.opts()).Jobs {
		got[j.JobID] = viewOf(j)
	}
	req := "cpu=4,mem=8G,node=1,billing=4"
	tests := []struct {
		name string
		want jobView
	}{
		{"pending in two partitions, default time limit", jobView{JobID: 10, ArrayJobID: u32(0), ArrayTaskID: unset32,
			State: []string{"PENDING"}, Reason: "Resources", Priority: u32(1000), TimeLimit: u32(60),
			Start: u64(fixtureNow + 300), End: u64(0), CPUs: u32(4), NodeCount: u32(1), ExitCode: success,
			Partition: "gpu,cpu", TRESReq: req, Gres: []string{}}},
		{"running with a GPU: end is start plus limit", jobView{JobID: 11, ArrayJobID: u32(0), ArrayTaskID: unset32,
			State: []string{"RUNNING"}, Reason: "None", Priority: u32(1000), TimeLimit: u32(120),
			Start: u64(fixtureNow - 120), End: u64(fixtureNow - 120 + 7200), Nodes: "n1", CPUs: u32(4), NodeCount: u32(1),
			ExitCode: success, Partition: "gpu", TRESReq: req + ",gres/gpu=1,gres/gpu:h100=1",
			TRESAll: req + ",gres/gpu=1,gres/gpu:h100=1", Gres: []string{"gpu:h100:1(IDX:1)"}}},
		{"completed", jobView{JobID: 12, ArrayJobID: u32(0), ArrayTaskID: unset32, State: []string{"COMPLETED"},
			Reason: "None", Priority: u32(1000), TimeLimit: u32(60), Start: u64(fixtureNow - 500), End: u64(fixtureNow - 400),
			Nodes: "n1", CPUs: u32(4), NodeCount: u32(1), ExitCode: success, Partition: "gpu", TRESReq: req, TRESAll: req,
			Gres: []string{}}},
		{"failed with exit 3", jobView{JobID: 13, ArrayJobID: u32(0), ArrayTaskID: unset32, State: []string{"FAILED"},
			Reason: "NonZeroExitCode", Priority: u32(1000), TimeLimit: u32(60), Start: u64(fixtureNow - 300),
			End: u64(fixtureNow - 200), Nodes: "n1", CPUs: u32(4), NodeCount: u32(1),
			ExitCode: ProcessExitCodeVerbose{Status: []string{"ERROR"}, ReturnCode: u32(3)}, Partition: "gpu",
			TRESReq: req, TRESAll: req, Gres: []string{}}},
		{"cancelled by SIGTERM", jobView{JobID: 14, ArrayJobID: u32(0), ArrayTaskID: unset32, State: []string{"CANCELLED"},
			Reason: "None", Priority: u32(1000), TimeLimit: u32(60), Start: u64(fixtureNow - 300), End: u64(fixtureNow - 100),
			Nodes: "n1", CPUs: u32(4), NodeCount: u32(1),
			ExitCode: ProcessExitCodeVerbose{Status: []string{"SIGNALED"},
				Signal: ProcessExitCodeVerboseSignal{ID: Uint16NoVal{Set: true, Number: 15}, Name: "TERM"}},
			Partition: "gpu", TRESReq: req, TRESAll: req, Gres: []string{}}},
		{"held, UNLIMITED is infinite", jobView{JobID: 15, ArrayJobID: u32(0), ArrayTaskID: unset32, State: []string{"PENDING"},
			Reason: "JobHeldUser", Priority: u32(1000), TimeLimit: Uint32NoVal{Infinite: true}, Start: u64(0), End: u64(0),
			CPUs: u32(4), NodeCount: u32(1), ExitCode: success, Partition: "cpu", Hold: true, TRESReq: req, Gres: []string{}}},
		{"array record with its pending tasks and throttle", jobView{JobID: 20, ArrayJobID: u32(20), ArrayTaskID: unset32,
			ArrayTaskString: "2-5%2", State: []string{"PENDING"}, Reason: "Priority", Priority: u32(1000), TimeLimit: u32(60),
			Start: u64(0), End: u64(0), CPUs: u32(4), NodeCount: u32(1), ExitCode: success, Partition: "gpu", TRESReq: req,
			Gres: []string{}}},
		{"array task", jobView{JobID: 21, ArrayJobID: u32(20), ArrayTaskID: u32(1), State: []string{"RUNNING"}, Reason: "None",
			Priority: u32(1000), TimeLimit: u32(60), Start: u64(fixtureNow - 60), End: u64(fixtureNow - 60 + 3600), Nodes: "n1",
			CPUs: u32(4), NodeCount: u32(1), ExitCode: success, Partition: "gpu", TRESReq: req, TRESAll: req, Gres: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, got[tt.want.JobID]); diff != "" {
				t.Errorf("job %d (-want +got):\n%s", tt.want.JobID, diff)
			}
		})
	}
}

// TestNoScriptOrEnvironment: neither the script nor the environment of a
// job appears in any output.
func TestNoScriptOrEnvironment(t *testing.T) {
	f := newFixture()
	o := f.opts()
	for name, v := range map[string]any{
		"jobs":    JobInfoResponse(f.jobs, f.parts, o),
		"slurmdb": SlurmdbdJobsResponse(f.jobs, f.parts, o),
	} {
		b, _ := json.Marshal(v)
		for _, secret := range []string{"SECRET", "echo secret"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s output contains %q", name, secret)
			}
		}
	}
}

// TestJQStyleAccess is the complaint: .jobs[0].job_id must be the
// job's ID, read from JSON and YAML alike.
func TestJQStyleAccess(t *testing.T) {
	f := newFixture()
	resp := JobInfoResponse(f.jobs[1:2], f.parts, f.opts())
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []struct {
			JobID     int      `json:"job_id"`
			JobState  []string `json:"job_state"`
			TimeLimit struct {
				Number int `json:"number"`
			} `json:"time_limit"`
		} `json:"jobs"`
		Meta struct {
			Plugin struct {
				DataParser string `json:"data_parser"`
			} `json:"plugin"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Jobs) != 1 || doc.Jobs[0].JobID != 11 || doc.Jobs[0].JobState[0] != "RUNNING" || doc.Jobs[0].TimeLimit.Number != 120 {
		t.Errorf(".jobs[0] = %+v", doc.Jobs)
	}
	if doc.Meta.Plugin.DataParser != "data_parser/v0.0.41" {
		t.Errorf(".meta.plugin.data_parser = %q", doc.Meta.Plugin.DataParser)
	}
	y, err := yaml.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var ydoc map[string]any
	if err := yaml.Unmarshal(y, &ydoc); err != nil {
		t.Fatal(err)
	}
	jobs := ydoc["jobs"].([]any)
	if id := jobs[0].(map[string]any)["job_id"]; id != 11 {
		t.Errorf("YAML .jobs[0].job_id = %v", id)
	}
}

func TestNodeAndSinfo(t *testing.T) {
	f := newFixture()
	o := f.opts()
	nodes := NodesResponse(f.nodes, o).Nodes
	type nodeView struct {
		Name, Address, Reason, User, GresUsed, TRESUsed string
		State                                           []string
		AllocCPUs                                       int32
	}
	var got []nodeView
	for _, n := range nodes {
		got = append(got, nodeView{n.Name, n.Address, n.Reason, n.ReasonSetByUser, n.GresUsed, n.TRESUsed, n.State, n.AllocCPUs})
	}
	want := []nodeView{
		{"n1", "10.0.0.1", "", "", "gpu:h100:1(IDX:1)", "cpu=4,mem=8G,gres/gpu=1", []string{"MIXED"}, 4},
		{"n2", "10.0.0.2", "maintenance", "root", "", "", []string{"IDLE", "DRAIN"}, 0},
		{"n3", "10.0.0.3", "Not responding", "", "", "", []string{"DOWN"}, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}

	type lineView struct {
		Partition string
		State     []string
		Nodes     []string
		Total     int32
	}
	var lines []lineView
	for _, d := range SinfoResponse(f.nodes, f.parts, o).Sinfo {
		lines = append(lines, lineView{d.Partition.Name, d.Node.State, d.Nodes.Nodes, d.Nodes.Total})
	}
	wantLines := []lineView{
		{"gpu", []string{"MIXED"}, []string{"n1"}, 1},
		{"gpu", []string{"IDLE", "DRAIN"}, []string{"n2"}, 1},
		{"cpu", []string{"IDLE", "DRAIN"}, []string{"n2"}, 1},
		{"cpu", []string{"DOWN"}, []string{"n3"}, 1},
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("sinfo (-want +got):\n%s", diff)
	}
}

func TestFromPartition(t *testing.T) {
	f := newFixture()
	parts := PartitionResponse(f.parts, f.nodes, f.opts()).Partitions
	type view struct {
		Name, Nodes      string
		Total            int32
		State            []string
		MaxTime, DefTime Uint32NoVal
		MaxNodes         Uint32NoVal
	}
	var got []view
	for _, p := range parts {
		got = append(got, view{p.Name, p.Nodes.Configured, p.Nodes.Total, p.Partition.State, p.Maximums.Time, p.Defaults.Time, p.Maximums.Nodes})
	}
	want := []view{
		{"gpu", "n[1-2]", 2, []string{"UP"}, u32(1440), u32(60), Uint32NoVal{Infinite: true}},
		{"cpu", "n[2-3]", 2, []string{"DOWN"}, Uint32NoVal{Infinite: true}, u32(60), u32(4)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partitions (-want +got):\n%s", diff)
	}
}

func TestFromDBJob(t *testing.T) {
	f := newFixture()
	jobs := SlurmdbdJobsResponse(f.jobs, f.parts, f.opts()).Jobs
	byID := map[int32]DBJob{}
	for _, j := range jobs {
		byID[j.JobID] = j
	}
	type view struct {
		State          []string
		Elapsed        int32
		Submission     int64
		Limit          Uint32NoVal
		ExitCode       []string
		Steps          []string
		KillUser, Task string
		ArrayJob       int32
	}
	get := func(id int32) view {
		j := byID[id]
		v := view{State: j.State.Current, Elapsed: j.Time.Elapsed, Submission: j.Time.Submission, Limit: j.Time.Limit,
			ExitCode: j.ExitCode.Status, KillUser: j.KillRequestUser, Task: j.Array.Task, ArrayJob: j.Array.JobID}
		for _, s := range j.Steps {
			v.Steps = append(v.Steps, s.Step.ID+"="+s.State[0])
		}
		return v
	}
	tests := []struct {
		id   int32
		want view
	}{
		{10, view{State: []string{"PENDING"}, Submission: fixtureNow - 600, Limit: u32(60), ExitCode: []string{"PENDING"}}},
		{11, view{State: []string{"RUNNING"}, Elapsed: 120, Submission: fixtureNow - 600, Limit: u32(120), ExitCode: []string{"SUCCESS"}}},
		{12, view{State: []string{"COMPLETED"}, Elapsed: 100, Submission: fixtureNow - 600, Limit: u32(60), ExitCode: []string{"SUCCESS"},
			Steps: []string{"12.batch=COMPLETED", "12.0=COMPLETED"}}},
		{13, view{State: []string{"FAILED"}, Elapsed: 100, Submission: fixtureNow - 600, Limit: u32(60), ExitCode: []string{"ERROR"}}},
		{14, view{State: []string{"CANCELLED"}, Elapsed: 200, Submission: fixtureNow - 600, Limit: u32(60), ExitCode: []string{"SIGNALED"},
			KillUser: "alice"}},
		{15, view{State: []string{"PENDING"}, Submission: fixtureNow - 600, Limit: Uint32NoVal{Infinite: true}, ExitCode: []string{"PENDING"}}},
		{20, view{State: []string{"PENDING"}, Submission: fixtureNow - 600, Limit: u32(60), ExitCode: []string{"PENDING"}, Task: "2-5%2", ArrayJob: 20}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, get(tt.id)); diff != "" {
			t.Errorf("job %d (-want +got):\n%s", tt.id, diff)
		}
	}
	// The completed job's times: CPU time of its steps, batch and srun.
	if tm := byID[12].Time; tm.User.Seconds != 2 || tm.User.Microseconds != 500000 || tm.System.Seconds != 0 || tm.System.Microseconds != 350000 {
		t.Errorf("job 12 CPU time: user %+v system %+v", tm.User, tm.System)
	}
}

func TestDiagResponse(t *testing.T) {
	f := newFixture()
	s := DiagResponse(&f.diag, f.opts()).Statistics
	got := []int64{int64(s.JobsSubmitted), int64(s.JobsRunning), int64(s.ScheduleCycleTotal), int64(s.ScheduleCycleMax),
		s.ScheduleCycleMean, int64(s.BfBackfilledJobs), s.ReqTimeStart.Number, s.BfWhenLastCycle.Number}
	want := []int64{7, 2, 60, 900, 200, 1, fixtureNow - 3600, fixtureNow - 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		code, sig int
		want      ProcessExitCodeVerbose
	}{
		{0, 0, success},
		{1, 0, ProcessExitCodeVerbose{Status: []string{"ERROR"}, ReturnCode: u32(1)}},
		{0, 9, ProcessExitCodeVerbose{Status: []string{"SIGNALED"}, Signal: ProcessExitCodeVerboseSignal{ID: Uint16NoVal{Set: true, Number: 9}, Name: "KILL"}}},
		{0, 64, ProcessExitCodeVerbose{Status: []string{"SIGNALED"}, Signal: ProcessExitCodeVerboseSignal{ID: Uint16NoVal{Set: true, Number: 64}, Name: "64"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ExitCode(tt.code, tt.sig)); diff != "" {
			t.Errorf("ExitCode(%d, %d) (-want +got):\n%s", tt.code, tt.sig, diff)
		}
	}
}

// TestNodeFigures: the free memory and load a node's daemon reported show
// as Slurm prints them (load in hundredths), and as not set without them.
func TestNodeFigures(t *testing.T) {
	mem := func(v int64) *int64 { return &v }
	load := func(v float64) *float64 { return &v }
	base := func(name string, free *int64, l *float64) api.Node {
		return api.Node{Name: name, State: api.NodeIdle, Partitions: []string{"gpu"}, FreeMemMB: free, CPULoad: l,
			Resources: api.NodeResources{CPUs: 8, MemoryMB: 1000}}
	}
	tests := []struct {
		name     string
		nodes    []api.Node
		wantFree []Uint64NoVal
		wantLoad []int32
		wantMin  SinfoDataMemoryFree
		wantCPU  SinfoMinMax
	}{
		{"unknown", []api.Node{base("a", nil, nil)}, []Uint64NoVal{{}}, []int32{0}, SinfoDataMemoryFree{}, SinfoMinMax{}},
		{"reported", []api.Node{base("a", mem(512), load(0.52)), base("b", mem(300), load(1.5))},
			[]Uint64NoVal{u64(512), u64(300)}, []int32{52, 150},
			SinfoDataMemoryFree{Minimum: u64(300), Maximum: u64(512)}, SinfoMinMax{Minimum: 52, Maximum: 150}},
		{"one of two known", []api.Node{base("a", nil, nil), base("b", mem(700), load(0.25))},
			[]Uint64NoVal{{}, u64(700)}, []int32{0, 25},
			SinfoDataMemoryFree{Minimum: u64(700), Maximum: u64(700)}, SinfoMinMax{Minimum: 25, Maximum: 25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newFixture().opts()
			var free []Uint64NoVal
			var loads []int32
			for _, n := range NodesResponse(tt.nodes, o).Nodes {
				free, loads = append(free, n.FreeMem), append(loads, n.CPULoad)
			}
			if d := cmp.Diff(tt.wantFree, free); d != "" {
				t.Errorf("free_mem (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantLoad, loads); d != "" {
				t.Errorf("cpu_load (-want +got):\n%s", d)
			}
			parts := []api.Partition{{Name: "gpu", Nodes: []string{"a", "b"}}}
			sinfo := SinfoResponse(tt.nodes, parts, o).Sinfo
			if len(sinfo) != 1 {
				t.Fatalf("sinfo has %d entries, want 1", len(sinfo))
			}
			if d := cmp.Diff(tt.wantMin, sinfo[0].Memory.Free); d != "" {
				t.Errorf("sinfo memory.free (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantCPU, sinfo[0].CPUs.Load); d != "" {
				t.Errorf("sinfo cpus.load (-want +got):\n%s", d)
			}
		})
	}
}
