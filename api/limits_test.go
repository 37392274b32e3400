package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSpecLimits(t *testing.T) {
	cfg := &ClusterConfig{Partitions: []Partition{{Name: "main", MaxTimeSecs: 86400}}}
	valid := func(edit func(*JobSpec)) *JobSpec {
		s := &JobSpec{Name: "j", User: "alice", UID: 1000, GID: 1000, Script: "#!/bin/sh\n"}
		edit(s)
		return s
	}
	tests := []struct {
		name string
		spec *JobSpec
		cfg  *ClusterConfig
		want string // "" = accepted
	}{
		{"10 MB script", valid(func(s *JobSpec) { s.Script += strings.Repeat("#", 10<<20) }), cfg,
			`invalid script "10485770 bytes": the batch script is larger than the cluster's limit of 4194304 bytes (max_script_bytes)`},
		{"4 MB script fits", valid(func(s *JobSpec) { s.Script += strings.Repeat("#", 4<<20-10) }), cfg, ""},
		{"configured script limit", valid(func(s *JobSpec) { s.Script += strings.Repeat("#", 2000) }), &ClusterConfig{Partitions: cfg.Partitions, MaxScriptBytes: 1024},
			`invalid script "2010 bytes": the batch script is larger than the cluster's limit of 1024 bytes (max_script_bytes)`},
		{"client without configuration: 512 MB ceiling", valid(func(s *JobSpec) { s.Script += strings.Repeat("#", 10<<20) }), nil, ""},
		{"array over the limit", valid(func(s *JobSpec) { s.Array = "0-100001" }), cfg,
			`invalid --array "0-100001": index 100001 is too large: this cluster's MaxArraySize is 100001, so indices go from 0 to 100000`},
		{"ntasks=2^62 × cpus 4", valid(func(s *JobSpec) { s.NTasks, s.CPUsPerTask = 1<<62, 4 }), cfg,
			`invalid --ntasks "4611686018427387904": must be at most 2147483647`},
		{"ntasks × cpus overflows 32 bits", valid(func(s *JobSpec) { s.NTasks, s.CPUsPerTask = 1<<20, 1<<12 }), cfg,
			`invalid --cpus-per-task "4096": --ntasks=1048576 × --cpus-per-task=4096 CPUs is more than 2147483647`},
		{"nodes × gpus", valid(func(s *JobSpec) { s.Nodes, s.NTasks, s.GPUs = 1<<16, 1<<16, 1<<16 }), cfg,
			`invalid --gres "gpu:65536": --nodes=65536 × 65536 GPUs per node is more than 2147483647`},
		{"memory per node", valid(func(s *JobSpec) { s.MemoryMB = 1 << 62 }), cfg,
			`invalid --mem "4611686018427387904M": must be at most 1099511627776M`},
		{"memory × nodes", valid(func(s *JobSpec) { s.MemoryMB, s.Nodes, s.NTasks = 1<<40, 1<<30, 1<<30 }), cfg,
			`invalid --mem "1099511627776M": --nodes=1073741824 × --mem=1099511627776M overflows`},
		{"time near 2^63", valid(func(s *JobSpec) { s.TimeLimitSecs = 1<<63 - 1 }), cfg,
			`invalid --time "9223372036854775807s": must be at most 2147483647 seconds, or UNLIMITED`},
		{"begin near 2^63", valid(func(s *JobSpec) { s.BeginTime = 1<<63 - 1 }), cfg,
			`invalid --begin "9223372036854775807": must be before the year 10000`},
		{"name too long", valid(func(s *JobSpec) { s.Name = strings.Repeat("n", MaxJobNameLen+1) }), cfg,
			`invalid --job-name "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...": must be at most 256 bytes`},
		{"name of 256 bytes", valid(func(s *JobSpec) { s.Name = strings.Repeat("n", MaxJobNameLen) }), cfg, ""},
		{"control characters in the name", valid(func(s *JobSpec) { s.Name = "x\x1b[2J" }), cfg,
			`invalid --job-name "x\x1b[2J": must not contain control characters`},
		{"negative supplementary group", valid(func(s *JobSpec) { s.GIDs = []int{10, -1} }), cfg,
			`invalid gids "[10 -1]": group IDs must be 0 or more`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := ValidateSpec(tc.spec, tc.cfg); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ValidateSpec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckNodeConfiguration(t *testing.T) {
	cfg := &ClusterConfig{Partitions: []Partition{{Name: "cpu"}, {Name: "gpu", Nodes: []string{"g1", "g2"}}, {Name: "empty"}}}
	h100 := func(n int) []GPU {
		var g []GPU
		for i := range n {
			g = append(g, GPU{Index: i, Type: "h100"})
		}
		return g
	}
	nodes := []*Node{
		{Name: "c1", Partitions: []string{"cpu"}, Resources: NodeResources{CPUs: 32, MemoryMB: 64000}},
		{Name: "c2", Partitions: []string{"cpu"}, Resources: NodeResources{CPUs: 16, MemoryMB: 256000}},
		{Name: "g1", Resources: NodeResources{CPUs: 64, MemoryMB: 512000, GPUs: h100(8)}},
		{Name: "g2", Resources: NodeResources{CPUs: 64, MemoryMB: 512000, GPUs: []GPU{{Index: 0, Type: "a100"}}}},
	}
	tests := []struct {
		name string
		spec JobSpec
		want string
	}{
		{"fits", JobSpec{Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 32, MemoryMB: 1000}, ""},
		{"too many CPUs per node", JobSpec{Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 33},
			`invalid --cpus-per-task "33": Requested node configuration is not available: partition cpu: 33 CPUs per node requested, its largest node has 32`},
		{"too much memory", JobSpec{Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 1, MemoryMB: 300000},
			`invalid --mem "300000M": Requested node configuration is not available: partition cpu: 300000 MB per node requested, its largest node has 256000 MB`},
		{"no node has both", JobSpec{Partitions: []string{"cpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 32, MemoryMB: 100000},
			`invalid --nodes "1": Requested node configuration is not available: partition cpu: 1 nodes requested, only 0 have 32 CPUs, 100000 MB and 0 GPUs each`},
		{"too many nodes", JobSpec{Partitions: []string{"cpu"}, Nodes: 3, NTasks: 3, CPUsPerTask: 1},
			`invalid --nodes "3": Requested node configuration is not available: partition cpu: 3 nodes requested, it has 2`},
		{"GPU type", JobSpec{Partitions: []string{"gpu"}, Nodes: 2, NTasks: 2, CPUsPerTask: 1, GPUs: 1, GPUType: "h100"},
			`invalid --nodes "2": Requested node configuration is not available: partition gpu: 2 nodes requested, only 1 have 1 CPUs, 1024 MB and 1 h100 GPUs each`},
		{"GPUs per node", JobSpec{Partitions: []string{"gpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 1, GPUs: 9},
			`invalid --gres "gpu:9": Requested node configuration is not available: partition gpu: 9 GPUs per node requested, its nodes have at most 8`},
		{"one partition of several fits", JobSpec{Partitions: []string{"cpu", "gpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 64}, ""},
		{"partition without nodes yet", JobSpec{Partitions: []string{"empty"}, Nodes: 100, NTasks: 100, CPUsPerTask: 1000}, ""},
	}
	// A source that remembers what fits (the controller's) answers alike,
	// the first time and again, with every case's shape remembered.
	memo := &memoSource{nodes: nodes, fits: map[FitKey]bool{}}
	for _, round := range []string{"plain", "remembering", "remembered"} {
		for _, tc := range tests {
			t.Run(round+"/"+tc.name, func(t *testing.T) {
				var err error
				if round == "plain" {
					err = CheckNodeConfiguration(&tc.spec, cfg, nodes)
				} else {
					err = CheckNodeConfigurationOf(&tc.spec, cfg, memo)
				}
				got := ""
				if err != nil {
					got = err.Error()
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("CheckNodeConfiguration (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// memoSource is a NodeSource that remembers what fits, by partition name.
type memoSource struct {
	nodes []*Node
	fits  map[FitKey]bool
	parts map[FitKey]string
}

func (m *memoSource) Members(p Partition) []*Node { return PartitionNodes(p, m.nodes) }
func (m *memoSource) Fits(p Partition, k FitKey) bool {
	return m.fits[k] && m.parts[k] == p.Name
}
func (m *memoSource) Fitted(p Partition, k FitKey) {
	if m.parts == nil {
		m.parts = map[FitKey]string{}
	}
	m.fits[k], m.parts[k] = true, p.Name
}

func TestValidateRoles(t *testing.T) {
	base := func(edit func(*ClusterConfig)) *ClusterConfig {
		c := &ClusterConfig{Partitions: []Partition{{Name: "main"}}, Accounts: []Account{{Name: "ml"}}}
		edit(c)
		return c
	}
	tests := []struct {
		name string
		cfg  *ClusterConfig
		want string
	}{
		{"users and groups", base(func(c *ClusterConfig) {
			c.Administrators, c.Operators, c.Accounts[0].Coordinators = []string{"dave", "@wheel"}, []string{"@ops"}, []string{"carol"}
		}), ""},
		{"bad group", base(func(c *ClusterConfig) { c.Operators = []string{"@"} }), `invalid operators[0] "@": must be @ followed by a Unix group name, such as @hpc-admins`},
		{"bad user", base(func(c *ClusterConfig) { c.Administrators = []string{"a b"} }), `invalid administrators[0] "a b": must be a user name such as alice, or @group for a Unix group`},
		{"twice", base(func(c *ClusterConfig) { c.Accounts[0].Coordinators = []string{"x", "x"} }), `invalid accounts[0].coordinators[1] "x": is listed twice`},
		{"script limit", base(func(c *ClusterConfig) { c.MaxScriptBytes = 1 << 40 }), `invalid max_script_bytes "1099511627776": must be from 1 to 536870912, or 0 for the default (4194304)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := ValidateConfig(tc.cfg); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ValidateConfig (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkCheckNodeConfiguration measures a submission's check against
// 10,000 nodes of 8 GPUs: listing and scanning them (plain) against a
// source that remembers which request shapes fit (the controller's).
func BenchmarkCheckNodeConfiguration(b *testing.B) {
	cfg := &ClusterConfig{Partitions: []Partition{{Name: "gpu"}}}
	var nodes []*Node
	for i := range 10_000 {
		n := &Node{Name: fmt.Sprintf("n%05d", i), Partitions: []string{"gpu"}, Resources: NodeResources{CPUs: 128, MemoryMB: 1 << 20}}
		for g := range 8 {
			n.Resources.GPUs = append(n.Resources.GPUs, GPU{Index: g, Type: "h100"})
		}
		nodes = append(nodes, n)
	}
	spec := JobSpec{Partitions: []string{"gpu"}, Nodes: 1, NTasks: 1, CPUsPerTask: 8, MemoryMB: 1000, GPUs: 4}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			if err := CheckNodeConfiguration(&spec, cfg, nodes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		memo := &memoSource{nodes: nodes, fits: map[FitKey]bool{}}
		for b.Loop() {
			if err := CheckNodeConfigurationOf(&spec, cfg, memo); err != nil {
				b.Fatal(err)
			}
		}
	})
}
