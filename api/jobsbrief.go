package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The brief job list: GET /v1/jobs?view=brief answers with the jobs in a
// compact text format instead of JSON, carrying only what squeue prints.
// A 20,000-job queue is about a fifth of the JSON's size and decodes many
// times faster: squeue's time was mostly the client decoding JSON.
//
// Format, version 1 (Content-Type BriefJobsContentType):
//
//	line 1:  "fairway-jobs-brief" TAB "1" TAB index TAB now
//	line 2:  the column names, TAB-separated (BriefJobColumns)
//	then:    one line per job, its values TAB-separated in the columns' order
//
// Every line ends with "\n". An empty value is the field's zero value
// (0, "", false, nil); integers are decimal; booleans are "1"; the
// requeue column is "", "0" or "1" (nil, false, true). Inside a value a
// backslash escapes "\\", "\t" (TAB), "\n" (newline), "\r" (carriage
// return) and "\," (a comma). List columns (such as spec.partitions)
// separate their items with unescaped commas; alloc.gpus holds one item
// per allocated node, that node's GPU indices joined with "+".
//
// Readers match columns by name: they ignore columns they do not know
// and leave fields whose column is absent at their zero value, so that
// columns can be added without a new version. A change that gives an
// existing column another meaning takes a new version (and a new view
// name, so that older clients keep asking for this one).
//
// What the brief view leaves out, squeue does not print: the runs other
// than the last (runs.last carries the last run's number, runs.last.nodes
// its nodes), the steps and usage, kill and signal requests, estimates.
// A client that needs them reads the full view (the JSON default).

// BriefJobsContentType is the Content-Type of the brief job list.
const BriefJobsContentType = "application/vnd.fairway.jobs-brief; version=1"

// JobsViewParam is GET /v1/jobs's query parameter that asks for a view;
// JobsViewBrief is its value for the brief list. Controllers that do not
// know it answer with the JSON list, which clients still read.
const (
	JobsViewParam = "view"
	JobsViewBrief = "brief"
)

// briefMagic is the first field of the brief list's first line.
const briefMagic = "fairway-jobs-brief"

// briefVersion is the format version this package writes and reads.
const briefVersion = "1"

// briefColumn is one column of the brief job list: how a job's field is
// written and read back.
type briefColumn struct {
	name string
	put  func(b []byte, j *Job) []byte
	get  func(d *briefDecoder, j *Job, v []byte) error
}

// briefColumns are the columns version 1 writes, in order.
var briefColumns = []briefColumn{
	intCol("id", func(j *Job) *JobID { return &j.ID }),
	intCol("array_job_id", func(j *Job) *JobID { return &j.ArrayJobID }),
	intCol("array_task_id", func(j *Job) *int { return &j.ArrayTaskID }),
	{name: "array_pending",
		put: func(b []byte, j *Job) []byte { return appendEscaped(b, j.ArrayPending.String(), false) },
		get: func(d *briefDecoder, j *Job, v []byte) error {
			if len(v) == 0 {
				return nil
			}
			ids, err := parseTaskRanges(d.str(v, false), ClientMaxArraySize)
			j.ArrayPending = ids
			return err
		}},
	intCol("array_max_run", func(j *Job) *int { return &j.ArrayMaxRun }),
	{name: "state",
		put: func(b []byte, j *Job) []byte { return appendEscaped(b, string(j.State), false) },
		get: func(d *briefDecoder, j *Job, v []byte) error { j.State = JobState(d.str(v, true)); return nil }},
	strCol("reason", true, func(j *Job) *string { return &j.Reason }),
	strCol("partition", true, func(j *Job) *string { return &j.Partition }),
	intCol("submit_time", func(j *Job) *int64 { return &j.SubmitTime }),
	intCol("start_time", func(j *Job) *int64 { return &j.StartTime }),
	intCol("end_time", func(j *Job) *int64 { return &j.EndTime }),
	intCol("expected_start", func(j *Job) *int64 { return &j.ExpectedStart }),
	intCol("time_limit_secs", func(j *Job) *int64 { return &j.TimeLimitSecs }),
	intCol("restart_count", func(j *Job) *int { return &j.RestartCount }),
	intCol("exit_code", func(j *Job) *int { return &j.ExitCode }),
	intCol("signal", func(j *Job) *int { return &j.Signal }),
	intCol("priority", func(j *Job) *uint32 { return &j.Priority }),
	strCol("stdout_path", false, func(j *Job) *string { return &j.StdoutPath }),
	strCol("stderr_path", false, func(j *Job) *string { return &j.StderrPath }),
	strCol("stdin_path", false, func(j *Job) *string { return &j.StdinPath }),
	{name: "alloc.node",
		put: func(b []byte, j *Job) []byte {
			for i, a := range j.Alloc {
				b = appendSep(b, i)
				b = appendEscaped(b, a.Node, true)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(i int, item []byte) error {
				d.alloc(j, i).Node = d.str(item, true)
				return nil
			})
		}},
	{name: "alloc.cpus",
		put: func(b []byte, j *Job) []byte {
			for i, a := range j.Alloc {
				b = appendSep(b, i)
				b = strconv.AppendInt(b, int64(a.CPUs), 10)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(i int, item []byte) error {
				n, err := parseInt(item)
				d.alloc(j, i).CPUs = int(n)
				return err
			})
		}},
	{name: "alloc.memory_mb",
		put: func(b []byte, j *Job) []byte {
			for i, a := range j.Alloc {
				b = appendSep(b, i)
				b = strconv.AppendInt(b, a.MemoryMB, 10)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(i int, item []byte) error {
				n, err := parseInt(item)
				d.alloc(j, i).MemoryMB = n
				return err
			})
		}},
	{name: "alloc.gpus",
		put: func(b []byte, j *Job) []byte {
			if !slicesAny(j.Alloc) {
				return b
			}
			for i, a := range j.Alloc {
				b = appendSep(b, i)
				for k, g := range a.GPUs {
					if k > 0 {
						b = append(b, '+')
					}
					b = strconv.AppendInt(b, int64(g), 10)
				}
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(i int, item []byte) error {
				a := d.alloc(j, i)
				a.GPUs = nil
				for g := range bytes.SplitSeq(item, []byte{'+'}) {
					if len(g) == 0 {
						continue
					}
					n, err := parseInt(g)
					if err != nil {
						return err
					}
					a.GPUs = append(a.GPUs, int(n))
				}
				return nil
			})
		}},
	{name: "runs.last",
		put: func(b []byte, j *Job) []byte {
			if len(j.Runs) == 0 {
				return b
			}
			return strconv.AppendInt(b, int64(j.Runs[len(j.Runs)-1].Run), 10)
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			if len(v) == 0 {
				return nil
			}
			n, err := parseInt(v)
			d.lastRun(j).Run = int(n)
			return err
		}},
	{name: "runs.last.nodes",
		put: func(b []byte, j *Job) []byte {
			if len(j.Runs) == 0 {
				return b
			}
			for i, n := range j.Runs[len(j.Runs)-1].Nodes {
				b = appendSep(b, i)
				b = appendEscaped(b, n, true)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			if len(v) == 0 {
				return nil
			}
			r := d.lastRun(j)
			return d.items(v, func(_ int, item []byte) error {
				r.Nodes = append(r.Nodes, d.str(item, true))
				return nil
			})
		}},
	strCol("spec.name", true, func(j *Job) *string { return &j.Spec.Name }),
	{name: "spec.partitions",
		put: func(b []byte, j *Job) []byte {
			for i, p := range j.Spec.Partitions {
				b = appendSep(b, i)
				b = appendEscaped(b, p, true)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(_ int, item []byte) error {
				j.Spec.Partitions = append(j.Spec.Partitions, d.str(item, true))
				return nil
			})
		}},
	strCol("spec.account", true, func(j *Job) *string { return &j.Spec.Account }),
	strCol("spec.user", true, func(j *Job) *string { return &j.Spec.User }),
	intCol("spec.uid", func(j *Job) *int { return &j.Spec.UID }),
	intCol("spec.gid", func(j *Job) *int { return &j.Spec.GID }),
	strCol("spec.qos", true, func(j *Job) *string { return &j.Spec.QOS }),
	intCol("spec.nodes", func(j *Job) *int { return &j.Spec.Nodes }),
	intCol("spec.ntasks", func(j *Job) *int { return &j.Spec.NTasks }),
	intCol("spec.ntasks_per_node", func(j *Job) *int { return &j.Spec.NTasksPerNode }),
	intCol("spec.cpus_per_task", func(j *Job) *int { return &j.Spec.CPUsPerTask }),
	intCol("spec.memory_mb", func(j *Job) *int64 { return &j.Spec.MemoryMB }),
	intCol("spec.gpus", func(j *Job) *int { return &j.Spec.GPUs }),
	strCol("spec.gpu_type", true, func(j *Job) *string { return &j.Spec.GPUType }),
	intCol("spec.time_limit_secs", func(j *Job) *int64 { return &j.Spec.TimeLimitSecs }),
	intCol("spec.begin_time", func(j *Job) *int64 { return &j.Spec.BeginTime }),
	intCol("spec.nice", func(j *Job) *int { return &j.Spec.Nice }),
	strCol("spec.work_dir", true, func(j *Job) *string { return &j.Spec.WorkDir }),
	strCol("spec.dependency", false, func(j *Job) *string { return &j.Spec.Dependency }),
	strCol("spec.command", true, func(j *Job) *string { return &j.Spec.Command }),
	{name: "spec.exclude",
		put: func(b []byte, j *Job) []byte {
			for i, n := range j.Spec.Exclude {
				b = appendSep(b, i)
				b = appendEscaped(b, n, true)
			}
			return b
		},
		get: func(d *briefDecoder, j *Job, v []byte) error {
			return d.items(v, func(_ int, item []byte) error {
				j.Spec.Exclude = append(j.Spec.Exclude, d.str(item, true))
				return nil
			})
		}},
	{name: "spec.exclusive",
		put: func(b []byte, j *Job) []byte {
			if j.Spec.Exclusive {
				b = append(b, '1')
			}
			return b
		},
		get: func(_ *briefDecoder, j *Job, v []byte) error {
			ok, err := parseBool(v)
			j.Spec.Exclusive = ok
			return err
		}},
	{name: "spec.requeue",
		put: func(b []byte, j *Job) []byte {
			switch {
			case j.Spec.Requeue == nil:
			case *j.Spec.Requeue:
				b = append(b, '1')
			default:
				b = append(b, '0')
			}
			return b
		},
		get: func(_ *briefDecoder, j *Job, v []byte) error {
			if len(v) == 0 {
				return nil
			}
			ok, err := parseBool(v)
			j.Spec.Requeue = &ok
			return err
		}},
}

// slicesAny reports whether any allocated node has GPUs.
func slicesAny(alloc []NodeAlloc) bool {
	for _, a := range alloc {
		if len(a.GPUs) > 0 {
			return true
		}
	}
	return false
}

// integer is the integer types of the brief columns.
type integer interface {
	~int | ~int64 | ~uint64 | ~uint32
}

// intCol is an integer column.
func intCol[T integer](name string, field func(j *Job) *T) briefColumn {
	return briefColumn{name: name,
		put: func(b []byte, j *Job) []byte {
			if v := *field(j); v != 0 {
				if v < 0 {
					return strconv.AppendInt(b, int64(v), 10)
				}
				return strconv.AppendUint(b, uint64(v), 10)
			}
			return b
		},
		get: func(_ *briefDecoder, j *Job, v []byte) error {
			n, err := parseInt(v)
			if err != nil {
				return err
			}
			if int64(T(n)) != n || (n < 0) != (T(n) < 0) {
				return fmt.Errorf("%d out of range", n)
			}
			*field(j) = T(n)
			return nil
		}}
}

// strCol is a string column; common values (user names, states,
// partitions) are read into one shared string each.
func strCol(name string, common bool, field func(j *Job) *string) briefColumn {
	return briefColumn{name: name,
		put: func(b []byte, j *Job) []byte { return appendEscaped(b, *field(j), false) },
		get: func(d *briefDecoder, j *Job, v []byte) error { *field(j) = d.str(v, common); return nil }}
}

// BriefJobColumns returns the names of the brief list's columns, in the
// order this version writes them.
func BriefJobColumns() []string {
	out := make([]string, len(briefColumns))
	for i, c := range briefColumns {
		out[i] = c.name
	}
	return out
}

// AppendBriefJobsHeader appends the brief list's first two lines (the
// version, index and controller clock; the column names).
func AppendBriefJobsHeader(b []byte, index uint64, now int64) []byte {
	b = append(b, briefMagic+"\t"+briefVersion+"\t"...)
	b = strconv.AppendUint(b, index, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, now, 10)
	b = append(b, '\n')
	for i, c := range briefColumns {
		if i > 0 {
			b = append(b, '\t')
		}
		b = append(b, c.name...)
	}
	return append(b, '\n')
}

// AppendBriefJob appends one job's line of the brief list.
func AppendBriefJob(b []byte, j *Job) []byte {
	for i, c := range briefColumns {
		if i > 0 {
			b = append(b, '\t')
		}
		b = c.put(b, j)
	}
	return append(b, '\n')
}

// appendSep appends the comma before a list's item i > 0.
func appendSep(b []byte, i int) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	return b
}

// appendEscaped appends s with backslash, TAB, newline and carriage
// return escaped, and commas too inside a list item.
func appendEscaped(b []byte, s string, item bool) []byte {
	// Most text needs no escape: copy up to the first byte that does.
	i := 0
	for i < len(s) && s[i] != '\\' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && (s[i] != ',' || !item) {
		i++
	}
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == ',' && item:
			b = append(b, `\,`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// DecodeBriefJobs reads a brief job list (see BriefJobsContentType). Jobs
// carry the fields of the columns present; errors name the line and the
// column.
func DecodeBriefJobs(data []byte) (JobsResponse, error) {
	var resp JobsResponse
	err := ReadBriefJobs(bytes.NewReader(data), func(index uint64, now int64) error {
		resp = JobsResponse{Index: index, Now: now, Jobs: []*Job{}}
		return nil
	}, func(j *Job) error {
		c := *j
		resp.Jobs = append(resp.Jobs, &c)
		return nil
	})
	return resp, err
}

// ReadBriefJobs reads a brief job list as DecodeBriefJobs does, as it
// arrives and without holding the jobs: it calls head with the list's raft
// index and the controller's clock, then each with every job in turn. The
// job passed to each is reused for the next: each keeps what it needs (its
// slices and strings may be kept; the Job may not). An error from head or
// each ends the reading and is returned.
func ReadBriefJobs(r io.Reader, head func(index uint64, now int64) error, each func(j *Job) error) error {
	lr := &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
	line, err := lr.next()
	if err != nil {
		return fmt.Errorf("brief job list: header line: %w", err)
	}
	fields := bytes.Split(line, []byte{'\t'})
	if len(fields) < 4 || string(fields[0]) != briefMagic {
		return fmt.Errorf("brief job list: header %q is not %q VERSION INDEX NOW", truncate(line), briefMagic)
	}
	if string(fields[1]) != briefVersion {
		return fmt.Errorf("brief job list: version %q, want %s", truncate(fields[1]), briefVersion)
	}
	idx, err := parseInt(fields[2])
	if err != nil || idx < 0 {
		return fmt.Errorf("brief job list: index %q: not a raft index", truncate(fields[2]))
	}
	now, err := parseInt(fields[3])
	if err != nil {
		return fmt.Errorf("brief job list: now %q: %w", truncate(fields[3]), err)
	}
	if line, err = lr.next(); err != nil {
		return fmt.Errorf("brief job list: column line: %w", err)
	}
	var cols []*briefColumn
	var names []string
	for name := range bytes.SplitSeq(line, []byte{'\t'}) {
		var col *briefColumn
		for i := range briefColumns {
			if briefColumns[i].name == string(name) {
				col = &briefColumns[i]
				break
			}
		}
		cols = append(cols, col) // nil: a column this version does not know
		names = append(names, string(name))
	}
	if err := head(uint64(idx), now); err != nil {
		return err
	}
	d := &briefDecoder{common: map[string]string{}}
	var j Job
	for n := 3; ; n++ {
		line, err := lr.next()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("brief job list: line %d: %w", n, err)
		}
		j = Job{}
		for c := 0; ; c++ {
			v, tail, more := bytes.Cut(line, []byte{'\t'})
			if c >= len(cols) {
				return fmt.Errorf("brief job list: line %d has more than the %d columns", n, len(cols))
			}
			if cols[c] != nil {
				if err := cols[c].get(d, &j, v); err != nil {
					return fmt.Errorf("brief job list: line %d, column %s: %w", n, names[c], err)
				}
			}
			line = tail
			if !more {
				break
			}
		}
		if err := each(&j); err != nil {
			return err
		}
	}
}

// lineReader reads the lines of a brief list.
type lineReader struct {
	r    *bufio.Reader
	long []byte // a line longer than r's buffer
}

// maxBriefLine bounds a line of the brief list.
const maxBriefLine = 64 << 20

// next returns the next line without its newline, valid until the next
// call; io.EOF at the end, and an error for a last line without its
// newline (an answer cut short).
func (l *lineReader) next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(l.long) > maxBriefLine {
				return nil, fmt.Errorf("longer than %d bytes", maxBriefLine)
			}
			line, err = l.r.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	switch {
	case err == io.EOF && len(line) == 0:
		return nil, io.EOF
	case err == io.EOF:
		return nil, errors.New("cut short (no newline at the end)")
	case err != nil:
		return nil, err
	}
	return line[:len(line)-1], nil
}

// truncate shortens a bad value for an error message.
func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// briefDecoder holds what reading one brief list shares between jobs.
type briefDecoder struct {
	// common holds one copy of each common string read (user names,
	// states, partitions), so that 200,000 jobs of 50 users hold 50.
	common map[string]string
	buf    []byte
}

// maxCommon bounds common: past it strings are copied per job.
const maxCommon = 1 << 16

// str returns a value as a string, unescaped.
func (d *briefDecoder) str(v []byte, common bool) string {
	if len(v) == 0 {
		return ""
	}
	if bytes.IndexByte(v, '\\') >= 0 {
		v = d.unescape(v)
	}
	if !common {
		return string(v)
	}
	if s, ok := d.common[string(v)]; ok {
		return s
	}
	s := string(v)
	if len(d.common) < maxCommon {
		d.common[s] = s
	}
	return s
}

// unescape undoes appendEscaped (an unknown escape stands for the
// character after the backslash; a backslash at the end for itself).
func (d *briefDecoder) unescape(v []byte) []byte {
	d.buf = d.buf[:0]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			switch c = v[i]; c {
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			}
		}
		d.buf = append(d.buf, c)
	}
	return d.buf
}

// items calls f with each item of a list value (split at unescaped commas).
func (d *briefDecoder) items(v []byte, f func(i int, item []byte) error) error {
	if len(v) == 0 {
		return nil
	}
	n, start := 0, 0
	for i := 0; i <= len(v); i++ {
		switch {
		case i < len(v) && v[i] == '\\':
			i++
		case i == len(v) || v[i] == ',':
			if n >= maxBriefItems {
				return fmt.Errorf("more than %d items", maxBriefItems)
			}
			if err := f(n, v[start:min(i, len(v))]); err != nil {
				return fmt.Errorf("item %d: %w", n+1, err)
			}
			n++
			start = i + 1
		}
	}
	return nil
}

// maxBriefItems bounds a list value's items (nodes of an allocation).
const maxBriefItems = 1 << 20

// alloc returns the job's allocation on its i-th node, adding it.
func (d *briefDecoder) alloc(j *Job, i int) *NodeAlloc {
	for len(j.Alloc) <= i {
		j.Alloc = append(j.Alloc, NodeAlloc{})
	}
	return &j.Alloc[i]
}

// lastRun returns the job's one run in the brief view, adding it.
func (d *briefDecoder) lastRun(j *Job) *JobRun {
	if len(j.Runs) == 0 {
		j.Runs = []JobRun{{}}
	}
	return &j.Runs[0]
}

// parseInt reads a decimal integer; empty is 0.
func parseInt(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, nil
	}
	neg := v[0] == '-'
	digits := v
	if neg {
		digits = v[1:]
	}
	if len(digits) == 0 {
		return 0, fmt.Errorf("%q is not an integer", truncate(v))
	}
	if len(digits) > 19 {
		return 0, fmt.Errorf("%q is out of range", truncate(v))
	}
	// 19 digits fit in a uint64.
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an integer", truncate(v))
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case n > 1<<63:
		return 0, fmt.Errorf("%q is out of range", truncate(v))
	case neg:
		return -int64(n), nil
	case n == 1<<63:
		return 0, fmt.Errorf("%q is out of range", truncate(v))
	}
	return int64(n), nil
}

// parseBool reads a boolean: "1" or "0" (or empty, false).
func parseBool(v []byte) (bool, error) {
	switch string(v) {
	case "", "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%q is not 0 or 1", truncate(v))
}
