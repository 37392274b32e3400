package api

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// briefList encodes jobs as the controller writes the brief list.
func briefList(index uint64, now int64, jobs ...*Job) []byte {
	b := AppendBriefJobsHeader(nil, index, now)
	for _, j := range jobs {
		b = AppendBriefJob(b, j)
	}
	return b
}

// TestBriefJobsRoundTrip checks that the brief list gives back what it
// carries and drops the rest: scripts, environments, runs but the last,
// steps and usage.
func TestBriefJobsRoundTrip(t *testing.T) {
	no := false
	for _, tc := range []struct {
		name      string
		job, want Job
	}{
		{"pending, zero values",
			Job{ID: 7, State: JobPending, Spec: JobSpec{Name: "x", User: "ann", UID: 1000, GID: 100, Nodes: 1, NTasks: 1, CPUsPerTask: 1}},
			Job{ID: 7, State: JobPending, Spec: JobSpec{Name: "x", User: "ann", UID: 1000, GID: 100, Nodes: 1, NTasks: 1, CPUsPerTask: 1}}},
		{"the scripts, environment and arguments stay behind",
			Job{ID: 8, State: JobPending, Reason: ReasonPriority, Partition: "gpu", SubmitTime: 1_800_000_000, Priority: 4_000_000_000,
				Spec: JobSpec{Name: "train", Script: "#!/bin/sh\necho hi\n", Env: map[string]string{"A": "1"}, Args: []string{"a"},
					Account: "phys", QOS: "high", MemoryMB: 4096, GPUs: 2, GPUType: "h100", TimeLimitSecs: TimeLimitUnlimited,
					Partitions: []string{"gpu", "cpu"}, Exclude: []string{"n1", "n2"}, Exclusive: true, Requeue: &no, Nice: -5,
					BeginTime: 1_800_000_100, Dependency: "afterok:3", WorkDir: "/home/ann", Command: "/home/ann/run.sh", NTasksPerNode: 2}},
			Job{ID: 8, State: JobPending, Reason: ReasonPriority, Partition: "gpu", SubmitTime: 1_800_000_000, Priority: 4_000_000_000,
				Spec: JobSpec{Name: "train",
					Account: "phys", QOS: "high", MemoryMB: 4096, GPUs: 2, GPUType: "h100", TimeLimitSecs: TimeLimitUnlimited,
					Partitions: []string{"gpu", "cpu"}, Exclude: []string{"n1", "n2"}, Exclusive: true, Requeue: &no, Nice: -5,
					BeginTime: 1_800_000_100, Dependency: "afterok:3", WorkDir: "/home/ann", Command: "/home/ann/run.sh", NTasksPerNode: 2}}},
		{"running: the allocation",
			Job{ID: 9, State: JobRunning, StartTime: 5, TimeLimitSecs: 60, RestartCount: 1, StdoutPath: "/o/9.out", StderrPath: "/o/9.err", StdinPath: "/in",
				Alloc: []NodeAlloc{{Node: "n1", CPUs: 4, MemoryMB: 100, GPUs: []int{0, 3}, GPUUUIDs: []string{"GPU-a", "GPU-b"}}, {Node: "n2", CPUs: 2, MemoryMB: 50}},
				Runs:  []JobRun{{Run: 0, Nodes: []string{"n5"}, State: JobNodeFail}, {Run: 1, Nodes: []string{"n1", "n2"}, StartTime: 5}}},
			Job{ID: 9, State: JobRunning, StartTime: 5, TimeLimitSecs: 60, RestartCount: 1, StdoutPath: "/o/9.out", StderrPath: "/o/9.err", StdinPath: "/in",
				Alloc: []NodeAlloc{{Node: "n1", CPUs: 4, MemoryMB: 100, GPUs: []int{0, 3}}, {Node: "n2", CPUs: 2, MemoryMB: 50}},
				Runs:  []JobRun{{Run: 1, Nodes: []string{"n1", "n2"}}}}},
		{"finished: the last run only",
			Job{ID: 10, State: JobFailed, Reason: "NonZeroExitCode", StartTime: 5, EndTime: 9, ExitCode: 2, Signal: 9,
				Runs: []JobRun{{Run: 0, Nodes: []string{"n1"}, StartTime: 5, EndTime: 9, Steps: []Step{{ID: 0}}, Usage: &Usage{}}}},
			Job{ID: 10, State: JobFailed, Reason: "NonZeroExitCode", StartTime: 5, EndTime: 9, ExitCode: 2, Signal: 9,
				Runs: []JobRun{{Run: 0, Nodes: []string{"n1"}}}}},
		{"an array's record",
			Job{ID: 20, ArrayJobID: 20, ArrayTaskID: -1, ArrayPending: TaskIDs{1, 2, 3, 7}, ArrayMaxRun: 2, State: JobPending},
			Job{ID: 20, ArrayJobID: 20, ArrayTaskID: -1, ArrayPending: TaskIDs{1, 2, 3, 7}, ArrayMaxRun: 2, State: JobPending}},
		{"an array's task 0",
			Job{ID: 21, ArrayJobID: 20, ArrayTaskID: 0, State: JobRunning},
			Job{ID: 21, ArrayJobID: 20, ArrayTaskID: 0, State: JobRunning}},
		{"text that needs escaping",
			Job{ID: 11, State: JobPending, Reason: "a\tb\nc\\d\re", Spec: JobSpec{Name: `tab	and \ and ,`, Partitions: []string{"a,b", `c\`}, WorkDir: "/x,y"}},
			Job{ID: 11, State: JobPending, Reason: "a\tb\nc\\d\re", Spec: JobSpec{Name: `tab	and \ and ,`, Partitions: []string{"a,b", `c\`}, WorkDir: "/x,y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := briefList(42, 1_800_000_500, &tc.job)
			if strings.Count(string(data), "\n") != 3 {
				t.Fatalf("the list is not 3 lines:\n%s", data)
			}
			got, err := DecodeBriefJobs(data)
			if err != nil {
				t.Fatal(err)
			}
			want := JobsResponse{Index: 42, Now: 1_800_000_500, Jobs: []*Job{&tc.want}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
}

// TestBriefJobsLongLine checks that a line longer than the reader's
// buffer reads whole.
func TestBriefJobsLongLine(t *testing.T) {
	long := &Job{ID: 1, Spec: JobSpec{Name: strings.Repeat("x", 200<<10), Exclude: []string{strings.Repeat("n", 70<<10), "n2"}}}
	got, err := DecodeBriefJobs(briefList(1, 2, long, &Job{ID: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*Job{long, {ID: 2}}, got.Jobs); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
}

// TestBriefJobsColumns checks that a reader takes columns by name: it
// ignores columns it does not know, and fields whose column is absent
// stay zero.
func TestBriefJobsColumns(t *testing.T) {
	data := "fairway-jobs-brief\t1\t3\t100\n" +
		"spec.user\tcolor\tid\tstate\n" +
		"ann\tblue\t5\tRUNNING\n" +
		"bob\t\t6\n" +
		"\n"
	got, err := DecodeBriefJobs([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := JobsResponse{Index: 3, Now: 100, Jobs: []*Job{
		{ID: 5, State: JobRunning, Spec: JobSpec{User: "ann"}},
		{ID: 6, Spec: JobSpec{User: "bob"}},
		{},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
	if got, want := BriefJobColumns()[0], "id"; got != want {
		t.Errorf("first column %q, want %q", got, want)
	}
}

// TestBriefJobsErrors checks that a bad list fails with an error naming
// the line and column.
func TestBriefJobsErrors(t *testing.T) {
	head := "fairway-jobs-brief\t1\t3\t100\nid\tspec.uid\tspec.exclusive\talloc.cpus\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "header line: EOF"},
		{"JSON", `{"index":1,"jobs":[]}` + "\n", `is not "fairway-jobs-brief" VERSION INDEX NOW`},
		{"another version", "fairway-jobs-brief\t2\t3\t100\nid\n", `version "2", want 1`},
		{"bad index", "fairway-jobs-brief\t1\t-3\t100\nid\n", `index "-3"`},
		{"no columns", "fairway-jobs-brief\t1\t3\t100\n", "column line: EOF"},
		{"bad id", head + "x7\n", `line 3, column id: "x7" is not an integer`},
		{"huge uid", head + "1\t99999999999999999999\n", `line 3, column spec.uid: "99999999999999999999" is out of range`},
		{"uid past int64", head + "1\t9223372036854775808\n", `column spec.uid: "9223372036854775808" is out of range`},
		{"bad bool", head + "1\t\tyes\n", `line 3, column spec.exclusive: "yes" is not 0 or 1`},
		{"bad item", "fairway-jobs-brief\t1\t3\t100\nid\talloc.cpus\n1\t4\n2\t4,x\n", `line 4, column alloc.cpus: item 2: "x" is not an integer`},
		{"too many values", head + "1\t2\t\t4\t5\n", "line 3 has more than the 4 columns"},
		{"cut short", head + "1\t2\n3", "line 4: cut short"},
		{"bad array", "fairway-jobs-brief\t1\t3\t100\nid\tarray_pending\n1\t5-x\n", "line 3, column array_pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBriefJobs([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeBriefJobs checks that any input decodes or fails without a
// panic, and that what decodes writes back into a list that decodes to
// the same jobs.
func FuzzDecodeBriefJobs(f *testing.F) {
	f.Add(briefList(1, 2, &Job{ID: 3, State: JobRunning, Alloc: []NodeAlloc{{Node: "n1", CPUs: 2, GPUs: []int{1}}},
		Runs: []JobRun{{Run: 0, Nodes: []string{"n1"}}}, Spec: JobSpec{Name: "a\tb", Partitions: []string{"p,q"}}}))
	f.Add(briefList(1, 2, &Job{ID: 20, ArrayJobID: 20, ArrayTaskID: -1, ArrayPending: TaskIDs{1, 5}}))
	f.Add([]byte("fairway-jobs-brief\t1\t3\t100\nalloc.gpus\talloc.node\n1+2,,3\t\\,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeBriefJobs(data)
		if err != nil {
			return
		}
		again, err := DecodeBriefJobs(briefList(got.Index, got.Now, got.Jobs...))
		if err != nil {
			t.Fatalf("the list written from decoded jobs does not decode: %v", err)
		}
		third, err := DecodeBriefJobs(briefList(again.Index, again.Now, again.Jobs...))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(again, third); d != "" {
			t.Errorf("decoding is not stable (-second +third):\n%s", d)
		}
	})
}

// FuzzBriefJobText checks that any text in a string or list column comes
// back as it was.
func FuzzBriefJobText(f *testing.F) {
	f.Add("train", "a,b", "n1", "/home/ann")
	f.Add("a\tb\\", `\,`, "x\ny", "\r")
	f.Fuzz(func(t *testing.T, name, partition, node, dir string) {
		j := &Job{ID: 1, Reason: name, Spec: JobSpec{Name: name, WorkDir: dir, Partitions: []string{partition, "p"}}}
		if node != "" {
			j.Alloc = []NodeAlloc{{Node: node}, {Node: "n2"}}
			j.Runs = []JobRun{{Nodes: []string{node}}}
		}
		got, err := DecodeBriefJobs(briefList(1, 2, j))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]*Job{j}, got.Jobs); d != "" {
			t.Errorf("decoded (-want +got):\n%s", d)
		}
	})
}
