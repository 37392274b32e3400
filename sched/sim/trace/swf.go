package trace

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// SWF field indices (0-based) of the 18 fields.
const (
	swfJob = iota
	swfSubmit
	swfWait
	swfRun
	swfAllocProcs
	swfAvgCPU
	swfUsedMem
	swfReqProcs
	swfReqTime
	swfReqMem
	swfStatus
	swfUser
	swfGroup
	swfExe
	swfQueue
	swfPartition
	swfPrecedingJob
	swfThinkTime
	swfFields
)

// Reasons the SWF reader drops records.
const (
	ReasonMalformed    = "malformed record"
	ReasonZeroRun      = "run time 0"
	ReasonUnknownRun   = "run time unknown"
	ReasonUnknownProcs = "processors unknown"
)

// Adjustments the SWF reader makes.
const (
	AdjustRunUnknown     = "unknown run time set to a default"
	AdjustRequestedByRun = "no requested time: run time used"
	AdjustRunCapped      = "run time capped at requested time"
)

// SWFOptions choose how SWF records with missing fields become jobs.
type SWFOptions struct {
	// UnknownRunTime, when positive, is the run time given to a job whose
	// run time is unknown (-1); otherwise such a job is dropped.
	UnknownRunTime int64
	// RequestedFromRun gives a job without a requested time its run time
	// as requested time (a perfect estimate); otherwise it keeps none.
	RequestedFromRun bool
	// CapRunAtRequested cuts a run time longer than the requested time to
	// the requested time (the job would have been killed at its limit).
	CapRunAtRequested bool
	// ByID orders the jobs by job number instead of by submit time.
	ByID bool
}

// ReadSWF reads a Standard Workload Format log: ';' header comments
// (MaxNodes, MaxProcs, ...) and one job a line of 18 whitespace-separated
// fields, -1 meaning unknown. A job's processors are the larger of the
// allocated and requested processors. Records with a run time of 0, an
// unknown run time (unless opt.UnknownRunTime) or unknown processors are
// dropped and counted. The machine is MaxNodes nodes of MaxProcs/MaxNodes
// processors (MaxProcs defaults to MaxNodes and the other way round).
func ReadSWF(r io.Reader, opt SWFOptions) (*Trace, error) {
	t := &Trace{Format: "swf", HeaderFields: map[string]string{}, Dropped: Counts{}, Adjusted: Counts{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	var f [swfFields]int64
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if text[0] == ';' {
			h := strings.TrimPrefix(sc.Text(), ";")
			t.Header = append(t.Header, h)
			if k, v, ok := strings.Cut(h, ":"); ok {
				t.HeaderFields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < swfFields {
			t.Dropped.Add(ReasonMalformed)
			continue
		}
		ok := true
		for i := range swfFields {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				ok = false
				break
			}
			f[i] = int64(v)
		}
		if !ok {
			t.Dropped.Add(ReasonMalformed)
			continue
		}
		j := Job{ID: f[swfJob], Submit: f[swfSubmit], Run: f[swfRun], Wait: f[swfWait],
			Procs: int(max(f[swfAllocProcs], f[swfReqProcs])), Requested: max(f[swfReqTime], 0),
			User: strconv.FormatInt(f[swfUser], 10), Group: strconv.FormatInt(f[swfGroup], 10), Status: int(f[swfStatus])}
		switch {
		case j.Run == 0:
			t.Dropped.Add(ReasonZeroRun)
			continue
		case j.Run < 0 && opt.UnknownRunTime > 0:
			j.Run = opt.UnknownRunTime
			t.Adjusted.Add(AdjustRunUnknown)
		case j.Run < 0:
			t.Dropped.Add(ReasonUnknownRun)
			continue
		}
		if j.Procs <= 0 {
			t.Dropped.Add(ReasonUnknownProcs)
			continue
		}
		if j.Requested == 0 && opt.RequestedFromRun {
			j.Requested = j.Run
			t.Adjusted.Add(AdjustRequestedByRun)
		}
		if opt.CapRunAtRequested && j.Requested > 0 && j.Run > j.Requested {
			j.Run = j.Requested
			t.Adjusted.Add(AdjustRunCapped)
		}
		t.Jobs = append(t.Jobs, j)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read swf line %d: %w", line, err)
	}
	nodes, _ := strconv.Atoi(t.HeaderFields["MaxNodes"])
	procs, _ := strconv.Atoi(t.HeaderFields["MaxProcs"])
	nodes, procs = cmp.Or(nodes, procs), cmp.Or(procs, nodes)
	if nodes > 0 {
		t.Machine = Machine{Nodes: nodes, CPUsPerNode: max(procs/nodes, 1)}
	}
	if opt.ByID {
		slices.SortStableFunc(t.Jobs, func(a, b Job) int { return cmp.Compare(a.ID, b.ID) })
	} else {
		sortJobs(t.Jobs)
	}
	return t, nil
}

// SWFRecord is one line of an SWF schedule as WriteSWF writes it.
type SWFRecord struct {
	Job                      int64
	Submit, Wait, Run        int64
	Procs                    int
	ReqProcs                 int
	ReqTime                  int64
	Status                   int
	User, Group, Queue, Part int64
}

// WriteSWF writes records as SWF lines after the header comments (each
// written as ";" + line). Unknown fields are -1.
func WriteSWF(w io.Writer, header []string, recs []SWFRecord) error {
	bw := bufio.NewWriter(w)
	for _, h := range header {
		fmt.Fprintf(bw, ";%s\n", h)
	}
	for _, r := range recs {
		fmt.Fprintf(bw, "%d %d %d %d %d -1 -1 %d %d -1 %d %d %d -1 %d %d -1 -1\n",
			r.Job, r.Submit, r.Wait, r.Run, r.Procs, r.ReqProcs, r.ReqTime, r.Status, r.User, r.Group, r.Queue, r.Part)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write swf: %w", err)
	}
	return nil
}
