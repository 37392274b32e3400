package trace

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const swfSample = `; Version: 2
; Acknowledge: a site
; MaxNodes: 4
; MaxProcs: 8
 1  0  5  100  2 -1 -1  4  200 -1 1 7 3 -1 -1 -1 -1 -1
 2 10 -1    0  1 -1 -1  1   50 -1 1 7 3 -1 -1 -1 -1 -1
 3  5 -1   -1  1 -1 -1  1   50 -1 5 8 3 -1 -1 -1 -1 -1
 4  5 -1  300  1 -1 -1 -1   -1 -1 1 8 3 -1 -1 -1 -1 -1
 5  7 -1  900  3 -1 -1 -1  600 -1 1 9 4 -1 -1 -1 -1 -1
 6  9 -1   10 -1 -1 -1 -1   60 -1 1 9 4 -1 -1 -1 -1 -1
 7  1 -1 short
`

func TestReadSWF(t *testing.T) {
	tests := []struct {
		name     string
		opt      SWFOptions
		wantIDs  []int64
		wantRun  map[int64]int64
		wantReq  map[int64]int64
		dropped  Counts
		adjusted Counts
	}{
		{
			name:     "defaults keep what is known, in submit order",
			wantIDs:  []int64{1, 4, 5},
			wantRun:  map[int64]int64{1: 100, 4: 300, 5: 900},
			wantReq:  map[int64]int64{1: 200, 4: 0, 5: 600},
			dropped:  Counts{ReasonZeroRun: 1, ReasonUnknownRun: 1, ReasonUnknownProcs: 1, ReasonMalformed: 1},
			adjusted: Counts{},
		},
		{
			name:     "RLScheduler rules: by ID, unknown run 10 s, requested from run",
			opt:      SWFOptions{UnknownRunTime: 10, RequestedFromRun: true, ByID: true},
			wantIDs:  []int64{1, 3, 4, 5},
			wantRun:  map[int64]int64{1: 100, 3: 10, 4: 300, 5: 900},
			wantReq:  map[int64]int64{1: 200, 3: 50, 4: 300, 5: 600},
			dropped:  Counts{ReasonZeroRun: 1, ReasonUnknownProcs: 1, ReasonMalformed: 1},
			adjusted: Counts{AdjustRunUnknown: 1, AdjustRequestedByRun: 1},
		},
		{
			name:     "run capped at requested time",
			opt:      SWFOptions{CapRunAtRequested: true},
			wantIDs:  []int64{1, 4, 5},
			wantRun:  map[int64]int64{1: 100, 4: 300, 5: 600},
			wantReq:  map[int64]int64{1: 200, 4: 0, 5: 600},
			dropped:  Counts{ReasonZeroRun: 1, ReasonUnknownRun: 1, ReasonUnknownProcs: 1, ReasonMalformed: 1},
			adjusted: Counts{AdjustRunCapped: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadSWF(strings.NewReader(swfSample), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			run, req := map[int64]int64{}, map[int64]int64{}
			for _, j := range tr.Jobs {
				ids = append(ids, j.ID)
				run[j.ID], req[j.ID] = j.Run, j.Requested
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRun, run); diff != "" {
				t.Errorf("run times (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantReq, req); diff != "" {
				t.Errorf("requested times (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.dropped, tr.Dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.adjusted, tr.Adjusted); diff != "" {
				t.Errorf("adjusted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Machine{Nodes: 4, CPUsPerNode: 2}, tr.Machine); diff != "" {
				t.Errorf("machine (-want +got):\n%s", diff)
			}
			if tr.Jobs[0].Procs != 4 || tr.Jobs[0].User != "7" || tr.Jobs[0].Wait != 5 {
				t.Errorf("job 1 = %+v, want procs max(2, 4) = 4, user 7, wait 5", tr.Jobs[0])
			}
			if tr.HeaderFields["Acknowledge"] != "a site" || len(tr.Header) != 4 {
				t.Errorf("header = %q, fields %v", tr.Header, tr.HeaderFields)
			}
		})
	}
}

func TestWriteSWFRoundTrip(t *testing.T) {
	recs := []SWFRecord{{Job: 3, Submit: 10, Wait: 4, Run: 50, Procs: 2, ReqProcs: 2, ReqTime: 60, Status: 1, User: 5, Group: 1, Queue: -1, Part: -1}}
	var buf bytes.Buffer
	if err := WriteSWF(&buf, []string{" MaxProcs: 8", " Note: kept"}, recs); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadSWF(&buf, SWFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Job{{ID: 3, Submit: 10, Run: 50, Requested: 60, Procs: 2, User: "5", Group: "1", Wait: 4, Status: 1}}
	if diff := cmp.Diff(want, tr.Jobs); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if tr.HeaderFields["Note"] != "kept" || tr.Machine.Procs() != 8 {
		t.Errorf("header fields %v, machine %+v", tr.HeaderFields, tr.Machine)
	}
}

func TestFilter(t *testing.T) {
	jobs := []Job{
		{ID: 1, Procs: 8, Requested: 10},
		{ID: 2, Procs: 9, Requested: 10},
		{ID: 3, GPUs: 16, Requested: 10},
		{ID: 4, GPUs: 17, Requested: 10},
		{ID: 5, GPUs: 33, Requested: 10},
		{ID: 6, GPUs: 1},
	}
	kept, dropped := Filter(jobs, Machine{Nodes: 4, CPUsPerNode: 2, GPUsPerNode: 8}, FilterOptions{NeedRequested: true})
	var ids []int64
	for _, j := range kept {
		ids = append(ids, j.ID)
	}
	if diff := cmp.Diff([]int64{1, 3}, ids); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	want := Counts{ReasonTooManyProcs: 1, ReasonGPUShape: 1, ReasonTooManyGPUs: 1, ReasonNoRequest: 1}
	if diff := cmp.Diff(want, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if got := dropped.Total(); got != 4 {
		t.Errorf("total = %d, want 4", got)
	}
}

func TestGPUShape(t *testing.T) {
	tests := []struct{ gpus, per, nodes, each int }{
		{1, 8, 1, 1}, {8, 8, 1, 8}, {12, 8, 2, 6}, {16, 8, 2, 8}, {20, 8, 4, 5}, {32, 8, 4, 8}, {17, 8, 17, 1}, {3, 2, 3, 1}, {0, 8, 0, 0},
	}
	for _, tc := range tests {
		n, e := GPUShape(tc.gpus, tc.per)
		if n != tc.nodes || e != tc.each {
			t.Errorf("GPUShape(%d, %d) = %d x %d, want %d x %d", tc.gpus, tc.per, n, e, tc.nodes, tc.each)
		}
	}
}

func TestReadPhilly(t *testing.T) {
	in := `job_id,user,num_gpu,submit_time,iterations,model_name,duration,interval,expect_time_list,expect_value_list,best_effort,job_type
0,vc_a,1,8555,5049,vgg16,747,14,1105,10,0,strict
1,vc_b,0,832,296,mobilenet_v2,98,8,128,10,0,strict
2,vc_a,4,14341,3621,alexnet,30,17,14341,10,1,best
3,vc_b,2,100,1,x,0,1,1,1,0,strict
4,vc_b,x,100,1,x,5,1,1,1,0,strict
`
	tr, err := ReadPhilly(strings.NewReader(in), GPUOptions{EstimateFactor: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	want := []Job{
		{ID: 0, Submit: 8555, Run: 747, Requested: 1121, GPUs: 1, User: "vc_a", Group: "vc_a", Wait: -1, Status: 1},
		{ID: 2, Submit: 14341, Run: 30, Requested: 45, GPUs: 4, User: "vc_a", Group: "best_effort", Wait: -1, Status: 1},
	}
	if diff := cmp.Diff(want, tr.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Counts{ReasonNoGPU: 1, ReasonBadDuration: 1, ReasonMalformed: 1}, tr.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if _, err := ReadPhilly(strings.NewReader("job_id,num_gpu\n1,2\n"), GPUOptions{}); err == nil || !strings.Contains(err.Error(), `no column "user"`) {
		t.Errorf("missing column: err = %v", err)
	}
}

func TestReadAlibaba(t *testing.T) {
	pods := `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
openb-pod-0001,6000,12288,1,460,,BE,Running,427061,12902960,427061
openb-pod-0002,6000,12288,2,1000,,LS,Pending,500,600,
openb-pod-0003,6000,12288,0,0,,LS,Failed,500,600,510
`
	tr, err := ReadAlibabaPods(strings.NewReader(pods), GPUOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Job{
		{ID: 0, Submit: 0, Run: 12537496, GPUs: 1, CPUMilli: 12000, MemoryMB: 16384, User: "LS", Group: "LS", Wait: 0, Status: 1},
		{ID: 1, Submit: 427061, Run: 12902960 - 427061, GPUs: 1, CPUMilli: 6000, MemoryMB: 12288, User: "BE", Group: "BE", Wait: 0, Status: 1},
	}
	if diff := cmp.Diff(want, tr.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Counts{ReasonNeverStarted: 1, ReasonNoGPU: 1}, tr.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Counts{AdjustFractionalGPU: 1}, tr.Adjusted); diff != "" {
		t.Errorf("adjusted (-want +got):\n%s", diff)
	}
	nodes, err := ReadAlibabaNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\nopenb-node-0000,64000,262144,2,P100\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]NodeSpec{{Name: "openb-node-0000", CPUs: 64, MemoryMB: 262144, GPUs: 2, GPUType: "p100"}}, nodes); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
}

func TestVCNodes(t *testing.T) {
	order, nodes, err := VCNodes(strings.NewReader("vc,node num\n6214e9,64\n7f04ca,32\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vc_6214e9", "vc_7f04ca"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"vc_6214e9": 64, "vc_7f04ca": 32}, nodes); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
}

func TestWindow(t *testing.T) {
	jobs := []Job{{ID: 1, Submit: 100}, {ID: 2, Submit: 150}, {ID: 3, Submit: 170}}
	w, err := Window(jobs, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Job{{ID: 2, Submit: 0}, {ID: 3, Submit: 20}}, w); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
	if _, err := Window(jobs, 2, 2); err == nil {
		t.Error("window past the end: no error")
	}
}
