package sim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/sim/trace"
)

// Trace formats.
const (
	FormatSWF     = "swf"
	FormatPhilly  = "philly"
	FormatAlibaba = "alibaba"
)

// Command is one `fairway sim` run: read a trace, build the cluster,
// replay it with a policy and write the outputs.
type Command struct {
	// Trace is the trace file; Format its format ("" guesses from the name:
	// .swf is SWF, a name with "philly" is Philly, "alibaba" Alibaba).
	Trace, Format string
	// Policy is one of Policies().
	Policy string
	// ConfigFile, when set, is a cluster configuration (JSON
	// api.ClusterConfig: accounts, guarantees in partition "main", QOS,
	// weights).
	ConfigFile string
	// Nodes, GPUsPerNode and CPUsPerNode size the cluster; 0 takes the
	// trace's machine (SWF header), or for GPU traces sizes it so that the
	// offered load is Load (8 GPUs a node).
	Nodes, GPUsPerNode, CPUsPerNode int
	// NodesFile, for the Alibaba format, is the trace's node list (the
	// cluster is then those nodes).
	NodesFile string
	// Load is the offered load a GPU cluster is sized for (default 0.85).
	Load float64
	// VCFile, for the Philly format, is philly-vc-nodes.csv: the virtual
	// clusters become accounts guaranteed GPUs in proportion to their node
	// counts (unless ConfigFile sets accounts).
	VCFile string
	// EstimateFactor gives GPU trace jobs a time limit of duration x factor
	// (default 2); the traces record none.
	EstimateFactor float64
	// EstimateFactorMax, when above EstimateFactor, gives each GPU trace
	// job its own factor, log-uniform in [EstimateFactor,
	// EstimateFactorMax] by a hash of its trace ID, so that run times
	// against time limits vary from job to job as users' estimates do
	// (with one factor, every job runs exactly 1/factor of its limit).
	EstimateFactorMax float64
	// CheckpointSecs: see Options.CheckpointSecs.
	CheckpointSecs int64
	// CheckpointMix: see Options.CheckpointMix.
	CheckpointMix []int64
	// VictimOrder, when set, is the scheduling.victim_order of the replay
	// (work_lost or runtime).
	VictimOrder string
	// EstimateEvery and EstimateReplays: see Options.
	EstimateEvery, EstimateReplays int
	// EstimateArrivalsSecs: see Options.
	EstimateArrivalsSecs int64
	// FirstJobs, when positive, replays only the trace's first FirstJobs
	// jobs by submit time (a slice of the trace; a GPU cluster is then
	// sized for the slice).
	FirstJobs int
	// Out is the output directory.
	Out string
	// Charts draws the PNG charts into Out.
	Charts bool
	// Progress, when set, receives a progress bar.
	Progress io.Writer
}

// Filter stages in Summary.Filtered.
const (
	StageReader    = "reader"
	StageMachine   = "machine"
	StageScheduler = "scheduler"
)

// Run executes the command and returns the summary it wrote.
func (c Command) Run(ctx context.Context) (Summary, *Result, error) {
	setup, err := c.Setup()
	if err != nil {
		return Summary{}, nil, err
	}
	if c.Progress != nil {
		bar := NewProgress(c.Progress, fmt.Sprintf("%s %s", filepath.Base(c.Trace), c.Policy))
		setup.Options.Progress = bar.Update
		defer bar.Done()
	}
	res, err := Run(ctx, setup.Options)
	if err != nil {
		return Summary{}, nil, err
	}
	s := Summarize(res)
	s.Trace = filepath.Base(c.Trace)
	for stage, counts := range setup.Filtered {
		if len(counts) > 0 {
			s.Filtered[stage] = counts
		}
	}
	s.Adjusted = setup.Adjusted
	if c.Out != "" {
		if err := WriteRun(c.Out, res, s, setup.Header); err != nil {
			return s, res, err
		}
		if c.Charts {
			if err := RunCharts(c.Out, res, s); err != nil {
				return s, res, err
			}
		}
	}
	return s, res, nil
}

// Setup is a command's replay options with what was filtered on the way.
type Setup struct {
	Options  Options
	Filtered map[string]trace.Counts
	Adjusted trace.Counts
	Header   []string
}

// Setup reads the trace and configuration and builds the replay options.
func (c Command) Setup() (*Setup, error) {
	format := cmp.Or(c.Format, guessFormat(c.Trace))
	f, err := os.Open(c.Trace)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	est := c.EstimateFactor
	if est == 0 {
		est = 2
	}
	var tr *trace.Trace
	switch format {
	case FormatSWF:
		tr, err = trace.ReadSWF(f, trace.SWFOptions{CapRunAtRequested: true})
	case FormatPhilly:
		tr, err = trace.ReadPhilly(f, trace.GPUOptions{EstimateFactor: est})
	case FormatAlibaba:
		tr, err = trace.ReadAlibabaPods(f, trace.GPUOptions{EstimateFactor: est})
	default:
		return nil, fmt.Errorf("unknown trace format %q: want swf, philly or alibaba", format)
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", c.Trace, err)
	}
	if format != FormatSWF && c.EstimateFactorMax > est {
		for i := range tr.Jobs {
			j := &tr.Jobs[i]
			h := fnv.New64a()
			_, _ = fmt.Fprintf(h, "%d", j.ID)
			u := float64(h.Sum64()>>11) / (1 << 53)
			j.Requested = int64(math.Ceil(float64(j.Run) * est * math.Pow(c.EstimateFactorMax/est, u)))
		}
	}
	if c.FirstJobs > 0 && len(tr.Jobs) > c.FirstJobs {
		if tr.Dropped == nil {
			tr.Dropped = trace.Counts{}
		}
		tr.Dropped[fmt.Sprintf("after the first %d jobs (--first-jobs)", c.FirstJobs)] = len(tr.Jobs) - c.FirstJobs
		tr.Jobs = tr.Jobs[:c.FirstJobs]
	}
	st := &Setup{Filtered: map[string]trace.Counts{StageReader: tr.Dropped}, Adjusted: tr.Adjusted, Header: tr.Header}
	cfg := api.ClusterConfig{}
	if c.ConfigFile != "" {
		b, err := os.ReadFile(c.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", c.ConfigFile, err)
		}
	}
	switch c.VictimOrder {
	case "":
	case api.VictimWorkLost, api.VictimRuntime:
		cfg.Scheduling.VictimOrder = c.VictimOrder
	default:
		return nil, fmt.Errorf("victim order %q: want %s or %s", c.VictimOrder, api.VictimWorkLost, api.VictimRuntime)
	}
	if c.EstimateArrivalsSecs < 0 {
		return nil, fmt.Errorf("estimate arrivals window: %d s: want 0 (no arrivals) or more", c.EstimateArrivalsSecs)
	}
	for _, ck := range c.CheckpointMix {
		if ck < 0 {
			return nil, fmt.Errorf("checkpoint mix: interval %d: want 0 (never) or more seconds", ck)
		}
	}
	opt := Options{Policy: c.Policy, CheckpointSecs: c.CheckpointSecs, CheckpointMix: c.CheckpointMix,
		EstimateEvery: c.EstimateEvery, EstimateReplays: c.EstimateReplays, EstimateArrivalsSecs: c.EstimateArrivalsSecs}
	var cluster Cluster
	switch format {
	case FormatSWF:
		m := tr.Machine
		if c.Nodes > 0 {
			m = trace.Machine{Nodes: c.Nodes, CPUsPerNode: max(c.CPUsPerNode, 1)}
		}
		if m.Nodes == 0 {
			return nil, fmt.Errorf("the SWF header has no MaxProcs or MaxNodes: give --nodes")
		}
		cluster = Pool(m)
		opt.Account = func(trace.Job) string { return DefaultAccount }
		if len(cfg.Scheduling.BillingWeights) == 0 {
			cfg.Scheduling.BillingWeights = map[string]float64{"cpu": 1}
		}
	case FormatAlibaba:
		if c.NodesFile != "" {
			nf, err := os.Open(c.NodesFile)
			if err != nil {
				return nil, fmt.Errorf("node list: %w", err)
			}
			nodes, err := trace.ReadAlibabaNodes(nf)
			nf.Close()
			if err != nil {
				return nil, err
			}
			cluster = Cluster{Nodes: nodes}
			for i := range cluster.Nodes {
				cluster.Nodes[i].GPUType = "gpu" // jobs name no model
			}
		} else {
			cluster = c.gpuCluster(tr.Jobs)
		}
		opt.Account = func(j trace.Job) string { return j.Group }
	case FormatPhilly:
		cluster = c.gpuCluster(tr.Jobs)
		opt.Account = func(j trace.Job) string { return j.User }
		opt.Priority = func(j trace.Job) int {
			if j.Group == "best_effort" {
				return 10
			}
			return 50
		}
		if c.VCFile != "" && len(cfg.Accounts) == 0 {
			_, gpus := cluster.Capacity()
			accts, err := VCAccounts(c.VCFile, gpus)
			if err != nil {
				return nil, err
			}
			cfg.Accounts = accts
		}
	}
	jobs, dropped := trace.Filter(tr.Jobs, cluster.machine(), trace.FilterOptions{NeedRequested: c.Policy != PolicyFCFS || format == FormatSWF})
	st.Filtered[StageMachine] = dropped
	opt.Jobs, opt.Cluster, opt.Config = jobs, cluster, cfg
	st.Options = opt
	return st, nil
}

// gpuCluster sizes a homogeneous GPU cluster: the command's node count, or
// the node count at which the jobs' offered load is c.Load.
func (c Command) gpuCluster(jobs []trace.Job) Cluster {
	g := cmp.Or(c.GPUsPerNode, 8)
	n := c.Nodes
	if n == 0 {
		n = NodesForLoad(jobs, g, cmp.Or(c.Load, 0.85))
	}
	return Homogeneous(trace.Machine{Nodes: n, CPUsPerNode: cmp.Or(c.CPUsPerNode, 4*g), GPUsPerNode: g})
}

// NodesForLoad is the number of nodes of gpusPerNode GPUs on which the
// jobs' work (GPUs x run time) over their arrival period (first to last
// submit) is load of the capacity, rounded to the nearest node.
func NodesForLoad(jobs []trace.Job, gpusPerNode int, load float64) int {
	if len(jobs) < 2 || gpusPerNode <= 0 || load <= 0 {
		return 1
	}
	work := 0.0
	first, last := jobs[0].Submit, jobs[0].Submit
	for _, j := range jobs {
		work += float64(j.GPUs) * float64(j.Run)
		first, last = min(first, j.Submit), max(last, j.Submit)
	}
	span := float64(max(last-first, 1))
	return max(int(math.Round(work/(span*load*float64(gpusPerNode)))), 1)
}

// VCAccounts reads philly-vc-nodes.csv and returns one account per virtual
// cluster with 1 share per node and a guarantee in PartitionName of its
// proportional part of gpus (largest remainder, so the guarantees add up
// to gpus).
func VCAccounts(path string, gpus int) ([]api.Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vc list: %w", err)
	}
	defer f.Close()
	order, nodes, err := trace.VCNodes(f)
	if err != nil {
		return nil, err
	}
	weights := make([]float64, len(order))
	for i, vc := range order {
		weights[i] = float64(nodes[vc])
	}
	parts := Apportion(gpus, weights)
	out := make([]api.Account, 0, len(order))
	for i, vc := range order {
		out = append(out, api.Account{Name: vc, Shares: nodes[vc], Guarantees: map[string]int{PartitionName: parts[i]}})
	}
	return out, nil
}

func guessFormat(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasSuffix(base, ".swf"):
		return FormatSWF
	case strings.Contains(base, "philly"):
		return FormatPhilly
	case strings.Contains(base, "alibaba"), strings.Contains(base, "openb"):
		return FormatAlibaba
	}
	return ""
}

// Compare prints a side-by-side table of the runs in dirs (a Markdown
// table, one row per run, when markdown is set) and, when chartsDir is
// set, draws comparison charts there.
func Compare(w io.Writer, dirs []string, chartsDir string, markdown bool) error {
	var rows []CompareRow
	for _, d := range dirs {
		s, err := ReadSummary(d)
		if err != nil {
			return err
		}
		rows = append(rows, CompareRow{Dir: d, Summary: s})
	}
	write := WriteCompare
	if markdown {
		write = WriteCompareMarkdown
	}
	if err := write(w, rows); err != nil {
		return err
	}
	if chartsDir == "" {
		return nil
	}
	return CompareCharts(chartsDir, dirs)
}
