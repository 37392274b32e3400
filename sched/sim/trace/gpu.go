package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Reasons the GPU trace readers drop records.
const (
	ReasonNoGPU        = "no GPU (CPU-only job)"
	ReasonNeverStarted = "never scheduled in the trace"
	ReasonBadDuration  = "duration <= 0"
)

// Adjustments the GPU trace readers make.
const (
	AdjustFractionalGPU = "fractional GPU rounded up to a whole GPU"
	AdjustEstimate      = "requested time from duration x estimate factor"
)

// GPUOptions choose how GPU trace records become jobs.
type GPUOptions struct {
	// EstimateFactor, when positive, gives each job a requested time (time
	// limit) of its duration times the factor, rounded up; the GPU traces
	// record none. 0 leaves the requested time unset.
	EstimateFactor float64
	// KeepCPUOnly keeps jobs that ask for no GPU (otherwise they are
	// dropped and counted).
	KeepCPUOnly bool
}

// csvTable reads a CSV file with a header line into rows addressed by
// column name.
type csvTable struct {
	cols map[string]int
	rows [][]string
}

func readCSV(r io.Reader, required ...string) (*csvTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	t := &csvTable{cols: map[string]int{}}
	for i, h := range head {
		t.cols[strings.TrimSpace(h)] = i
	}
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			return nil, fmt.Errorf("csv header has no column %q (has %s)", c, strings.Join(head, ","))
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		t.rows = append(t.rows, rec)
	}
	return t, nil
}

func (t *csvTable) str(row []string, col string) string {
	i, ok := t.cols[col]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// num parses a numeric cell (integers, or decimals rounded to the nearest
// integer); ok is false for an empty or malformed cell.
func (t *csvTable) num(row []string, col string) (int64, bool) {
	s := t.str(row, col)
	if s == "" {
		return 0, false
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return int64(math.Round(v)), true
}

func estimate(run int64, factor float64) int64 {
	if factor <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(run) * factor))
}

// ReadPhilly reads the Philly-derived trace of the Chronus artifact
// (columns job_id, user, num_gpu, submit_time, duration, and optionally
// best_effort): user is the job's virtual cluster (the account), and
// best_effort marks jobs the user ran as best effort.
func ReadPhilly(r io.Reader, opt GPUOptions) (*Trace, error) {
	tab, err := readCSV(r, "job_id", "user", "num_gpu", "submit_time", "duration")
	if err != nil {
		return nil, fmt.Errorf("philly trace: %w", err)
	}
	t := &Trace{Format: "philly", Dropped: Counts{}, Adjusted: Counts{}}
	for _, row := range tab.rows {
		id, ok1 := tab.num(row, "job_id")
		gpus, ok2 := tab.num(row, "num_gpu")
		sub, ok3 := tab.num(row, "submit_time")
		dur, ok4 := tab.num(row, "duration")
		user := tab.str(row, "user")
		if !ok1 || !ok2 || !ok3 || !ok4 || user == "" || gpus < 0 {
			t.Dropped.Add(ReasonMalformed)
			continue
		}
		if dur <= 0 {
			t.Dropped.Add(ReasonBadDuration)
			continue
		}
		if gpus == 0 && !opt.KeepCPUOnly {
			t.Dropped.Add(ReasonNoGPU)
			continue
		}
		j := Job{ID: id, Submit: sub, Run: dur, GPUs: int(gpus), User: user, Group: user, Wait: -1, Status: 1}
		if be, ok := tab.num(row, "best_effort"); ok && be != 0 {
			j.Group = "best_effort"
		}
		if j.Requested = estimate(dur, opt.EstimateFactor); j.Requested > 0 {
			t.Adjusted.Add(AdjustEstimate)
		}
		t.Jobs = append(t.Jobs, j)
	}
	sortJobs(t.Jobs)
	return t, nil
}

// ReadAlibabaPods reads the pod list of Alibaba's GPU cluster trace v2023
// (openb_pod_list_*.csv: cpu_milli, memory_mib, num_gpu, gpu_milli, qos,
// creation_time, scheduled_time, deletion_time). A pod is submitted at its
// creation time and runs from its scheduled time to its deletion time; a
// pod that was never scheduled is dropped. A pod with a fraction of a GPU
// (gpu_milli < 1000) gets a whole one, since Fairway allocates whole
// devices. The QoS class is the account; the trace names no user.
func ReadAlibabaPods(r io.Reader, opt GPUOptions) (*Trace, error) {
	tab, err := readCSV(r, "name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "qos", "creation_time", "scheduled_time", "deletion_time")
	if err != nil {
		return nil, fmt.Errorf("alibaba pod list: %w", err)
	}
	t := &Trace{Format: "alibaba", Dropped: Counts{}, Adjusted: Counts{}}
	for i, row := range tab.rows {
		cpu, ok1 := tab.num(row, "cpu_milli")
		mem, ok2 := tab.num(row, "memory_mib")
		gpus, ok3 := tab.num(row, "num_gpu")
		created, ok4 := tab.num(row, "creation_time")
		if !ok1 || !ok2 || !ok3 || !ok4 || gpus < 0 {
			t.Dropped.Add(ReasonMalformed)
			continue
		}
		sched, ok := tab.num(row, "scheduled_time")
		deleted, ok5 := tab.num(row, "deletion_time")
		if !ok || !ok5 {
			t.Dropped.Add(ReasonNeverStarted)
			continue
		}
		run := deleted - sched
		if run <= 0 {
			t.Dropped.Add(ReasonBadDuration)
			continue
		}
		if gpus == 0 && !opt.KeepCPUOnly {
			t.Dropped.Add(ReasonNoGPU)
			continue
		}
		if milli, ok := tab.num(row, "gpu_milli"); ok && gpus == 1 && milli > 0 && milli < 1000 {
			t.Adjusted.Add(AdjustFractionalGPU)
		}
		qos := tab.str(row, "qos")
		j := Job{ID: int64(i), Submit: created, Run: run, GPUs: int(gpus), CPUMilli: int(cpu), MemoryMB: mem,
			User: qos, Group: qos, Wait: max(sched-created, 0), Status: 1}
		if j.Requested = estimate(run, opt.EstimateFactor); j.Requested > 0 {
			t.Adjusted.Add(AdjustEstimate)
		}
		t.Jobs = append(t.Jobs, j)
	}
	sortJobs(t.Jobs)
	return t, nil
}

// NodeSpec is one node of a cluster.
type NodeSpec struct {
	Name     string
	CPUs     int
	MemoryMB int64
	GPUs     int
	GPUType  string
}

// ReadAlibabaNodes reads the GPU node list of Alibaba's trace
// (openb_node_list_gpu_node.csv: sn, cpu_milli, memory_mib, gpu, model).
// CPUs are rounded down to whole CPUs.
func ReadAlibabaNodes(r io.Reader) ([]NodeSpec, error) {
	tab, err := readCSV(r, "sn", "cpu_milli", "memory_mib", "gpu", "model")
	if err != nil {
		return nil, fmt.Errorf("alibaba node list: %w", err)
	}
	var out []NodeSpec
	for i, row := range tab.rows {
		cpu, ok1 := tab.num(row, "cpu_milli")
		mem, ok2 := tab.num(row, "memory_mib")
		gpus, ok3 := tab.num(row, "gpu")
		name := tab.str(row, "sn")
		if !ok1 || !ok2 || !ok3 || name == "" {
			return nil, fmt.Errorf("alibaba node list row %d: malformed", i+2)
		}
		out = append(out, NodeSpec{Name: name, CPUs: int(cpu / 1000), MemoryMB: mem, GPUs: int(gpus), GPUType: strings.ToLower(tab.str(row, "model"))})
	}
	return out, nil
}

// VCNodes reads the Philly virtual-cluster sizes (philly-vc-nodes.csv:
// columns vc and "node num"), keyed "vc_"+vc as the trace's user column
// names them, in file order.
func VCNodes(r io.Reader) ([]string, map[string]int, error) {
	tab, err := readCSV(r, "vc", "node num")
	if err != nil {
		return nil, nil, fmt.Errorf("philly vc list: %w", err)
	}
	var order []string
	nodes := map[string]int{}
	for i, row := range tab.rows {
		n, ok := tab.num(row, "node num")
		vc := tab.str(row, "vc")
		if !ok || vc == "" || n <= 0 {
			return nil, nil, fmt.Errorf("philly vc list row %d: malformed", i+2)
		}
		name := "vc_" + vc
		if _, dup := nodes[name]; !dup {
			order = append(order, name)
		}
		nodes[name] += int(n)
	}
	return order, nodes, nil
}
