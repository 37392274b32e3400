package raftstore

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// BenchmarkSubmitApply measures committed single-job submissions per second
// on a single-voter store, with many concurrent callers (their entries are
// batched into shared raft appends and fsyncs).
func BenchmarkSubmitApply(b *testing.B) {
	ctx := testCtx(b)
	s := open(b, Config{ID: "bench", RaftAddr: freeAddrs(b, 1)[0], DataDir: b.TempDir(), Bootstrap: true})
	waitLeaderAmong(ctx, b, []*Store{s})
	cmd := SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("bench")}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Apply(context.Background(), cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if got := len(s.State().Jobs()); got < b.N {
		b.Fatalf("%d jobs in the state after %d submissions", got, b.N)
	}
}

// BenchmarkReadActiveJobs measures the leader pass's read of 100,000
// pending jobs: deep copies (ActiveJobs, what the pass read before) against
// the stored objects (ActiveJobsShared).
func BenchmarkReadActiveJobs(b *testing.B) {
	h := newHarness(b)
	h.must(SetConfig{Config: testConfig()})
	spec := testSpec("bench")
	spec.Env = map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/home/ann", "LANG": "C.UTF-8"}
	specs := make([]api.JobSpec, 1000)
	for i := range specs {
		specs[i] = spec
	}
	for range 100 {
		h.must(SubmitJobs{Now: setupNow, Specs: specs})
	}
	st := h.state()
	for _, bc := range []struct {
		name string
		read func() []*api.Job
	}{
		{"copy", st.ActiveJobs},
		{"shared", st.ActiveJobsShared},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := len(bc.read()); got != 100_000 {
					b.Fatalf("%d active jobs, want 100000", got)
				}
			}
		})
	}
}

// BenchmarkNodesForSubmit measures what a submission reads to check a job
// against the nodes' configuration, on 2,000 nodes of 8 GPUs with 8,000
// running jobs: every node with its usage derived from its running jobs
// (Nodes, what Submit read before) against the stored nodes (Store.StaticNodes).
func BenchmarkNodesForSubmit(b *testing.B) {
	const nodes, perNode = 2000, 4
	h := newHarness(b)
	h.must(SetConfig{Config: testConfig()})
	var starts []api.Start
	specs := make([]api.JobSpec, 0, nodes*perNode)
	for i := range nodes {
		name := fmt.Sprintf("n%05d", i)
		h.must(RegisterNode{Now: setupNow, Req: api.RegisterNodeRequest{
			Name: name, Addr: "10.0.0.1:6820", Partitions: []string{"gpu"},
			Resources: api.NodeResources{CPUs: 128, MemoryMB: 1 << 20, GPUs: gpus("a", "b", "c", "d", "e", "f", "g", "h")},
		}})
		for g := range perNode {
			spec := testSpec("run")
			spec.GPUs = 1
			specs = append(specs, spec)
			starts = append(starts, api.Start{JobID: api.JobID(len(specs)), Partition: "gpu",
				Alloc: []api.NodeAlloc{{Node: name, CPUs: 1, MemoryMB: 10, GPUs: []int{g}}}})
		}
	}
	h.must(SubmitJobs{Now: setupNow, Specs: specs})
	if got := len(h.must(ApplyPlan{Plan: api.Plan{Now: setupNow, Starts: starts}}).IDs); got != len(starts) {
		b.Fatalf("%d jobs started, want %d", got, len(starts))
	}
	st := h.state()
	for _, bc := range []struct {
		name string
		read func() []*api.Node
	}{
		{"derived", st.Nodes},
		{"static", func() []*api.Node { n, _ := st.nodesStatic(); return n }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := len(bc.read()); got != nodes {
					b.Fatalf("%d nodes, want %d", got, nodes)
				}
			}
		})
	}
}

// BenchmarkSubmitReplicated measures committed submissions on three
// replicas in this process (one leader, two followers over real raft
// transports, logs on disk), 64 concurrent callers on the leader, with one
// job per command (what one sbatch per request gives) and with 16 (what
// merging concurrent submissions into one command would give). It reports
// jobs/s and cpu-us/job: the process's CPU time (the three replicas) per
// job; allocs/op and B/op are per command.
func BenchmarkSubmitReplicated(b *testing.B) {
	for _, perCmd := range []int{1, 16} {
		b.Run(fmt.Sprintf("jobs-per-command=%d", perCmd), func(b *testing.B) {
			ctx := testCtx(b)
			addrs := freeAddrs(b, 3)
			var peers []Peer
			for i, a := range addrs {
				peers = append(peers, Peer{ID: fmt.Sprintf("c%d", i+1), RaftAddr: a})
			}
			var stores []*Store
			for _, p := range peers {
				stores = append(stores, open(b, Config{ID: p.ID, RaftAddr: p.RaftAddr, DataDir: b.TempDir(), Bootstrap: true, Peers: peers}))
			}
			leader := waitLeaderAmong(ctx, b, stores)
			if _, err := leader.Apply(ctx, SetConfig{Config: testConfig()}); err != nil {
				b.Fatal(err)
			}
			specs := make([]api.JobSpec, perCmd)
			for i := range specs {
				specs[i] = testSpec("bench")
			}
			cmd := SubmitJobs{Now: 1, Specs: specs}
			b.SetParallelism(32) // 64 callers on 2 CPUs
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, start := cpuTime(b), time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := leader.Apply(context.Background(), cmd); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu, elapsed := cpuTime(b)-cpu0, time.Since(start)
			b.StopTimer()
			jobs := float64(b.N * perCmd)
			b.ReportMetric(jobs/elapsed.Seconds(), "jobs/s")
			b.ReportMetric(float64(cpu.Microseconds())/jobs, "cpu-us/job")
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
