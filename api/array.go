package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxArraySize is Slurm's default MaxArraySize: task indices of a job
// array run from 0 to DefaultMaxArraySize-1.
const DefaultMaxArraySize = 100001

// ClientMaxArraySize is the largest MaxArraySize Slurm allows; a client that
// does not know the cluster's setting checks --array against it.
const ClientMaxArraySize = 4000001

// MaxArraySizeOrDefault is the cluster's MaxArraySize, or DefaultMaxArraySize
// when it sets none.
func (c *ClusterConfig) MaxArraySizeOrDefault() int {
	if c.MaxArraySize > 0 {
		return c.MaxArraySize
	}
	return DefaultMaxArraySize
}

// TaskIDs is an ascending list of job array task indices without duplicates.
// In JSON it is written compactly, as a --array style range list
// ("0-15:4,17,20-29"), so that a 100,000-task array costs a few bytes in
// snapshots and API answers; a JSON array of numbers is read as well.
type TaskIDs []int

// MarshalJSON implements json.Marshaler.
func (t TaskIDs) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *TaskIDs) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '[' {
		var ids []int
		if err := json.Unmarshal(data, &ids); err != nil {
			return fmt.Errorf("task ids: %w", err)
		}
		if slices.ContainsFunc(ids, func(id int) bool { return id < 0 }) {
			return fmt.Errorf("task ids: an index is negative")
		}
		*t = normalizeTasks(ids)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("task ids: %w", err)
	}
	if s == "" {
		*t = nil
		return nil
	}
	// No cluster allows more than ClientMaxArraySize indices: the bound
	// keeps a hostile range ("0-9223372036854775807") from exhausting
	// memory.
	ids, err := parseTaskRanges(s, ClientMaxArraySize)
	if err != nil {
		return fmt.Errorf("task ids %q: %w", s, err)
	}
	*t = ids
	return nil
}

// String writes the list compactly: arithmetic runs as FIRST-LAST[:STEP],
// other indices one by one, comma-separated. It parses back with
// ParseArray.
func (t TaskIDs) String() string {
	var b strings.Builder
	for i := 0; i < len(t); {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		j := i + 1
		if j < len(t) {
			step := t[j] - t[i]
			for j+1 < len(t) && t[j+1]-t[j] == step {
				j++
			}
			// A run of two consecutive indices is a range; a stepped run
			// needs three to be shorter than the list.
			if step == 1 || j-i >= 2 {
				b.WriteString(strconv.Itoa(t[i]) + "-" + strconv.Itoa(t[j]))
				if step != 1 {
					b.WriteString(":" + strconv.Itoa(step))
				}
				i = j + 1
				continue
			}
		}
		b.WriteString(strconv.Itoa(t[i]))
		i++
	}
	return b.String()
}

// Display formats the list as Slurm's squeue and sacct print a job array's
// pending tasks: FIRST-LAST:STEP when the indices form one arithmetic
// progression with a step above 1 spanning more than 10, else consecutive
// runs as FIRST-LAST and other indices one by one, comma-separated.
func (t TaskIDs) Display() string {
	if len(t) > 2 && t[len(t)-1]-t[0] > 10 && t[1]-t[0] > 1 {
		step := t[1] - t[0]
		stepped := true
		for i := 2; i < len(t); i++ {
			if t[i]-t[i-1] != step {
				stepped = false
				break
			}
		}
		if stepped {
			return fmt.Sprintf("%d-%d:%d", t[0], t[len(t)-1], step)
		}
	}
	var b strings.Builder
	for i := 0; i < len(t); {
		j := i
		for j+1 < len(t) && t[j+1] == t[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(t[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(t[j]))
		}
		i = j + 1
	}
	return b.String()
}

// Contains reports whether the list holds task.
func (t TaskIDs) Contains(task int) bool {
	_, ok := slices.BinarySearch(t, task)
	return ok
}

// Without returns the list without task (nil when none is left). The list
// is not modified; when task is the first index the result shares its
// backing array.
func (t TaskIDs) Without(task int) TaskIDs {
	i, ok := slices.BinarySearch(t, task)
	switch {
	case !ok:
		return t
	case len(t) == 1:
		return nil
	case i == 0:
		return t[1:]
	}
	out := make(TaskIDs, 0, len(t)-1)
	out = append(out, t[:i]...)
	return append(out, t[i+1:]...)
}

// normalizeTasks sorts and de-duplicates task indices.
func normalizeTasks(ids []int) TaskIDs {
	out := TaskIDs(slices.Clone(ids))
	slices.Sort(out)
	return slices.Compact(out)
}

// ArraySpec is a parsed --array expression.
type ArraySpec struct {
	Tasks  TaskIDs // the task indices, ascending
	MaxRun int     // the %N throttle: at most this many tasks run at once; 0 = no limit
}

// arrayForms describes what --array accepts, for error messages.
const arrayForms = "want task indices such as 0-15, 1,3,5-7 or 0-15:4, optionally followed by %N to run at most N tasks at once (as in 0-99%10)"

// ParseArray parses a job array expression (sbatch --array): a comma-separated
// list of indices N, ranges N-M and stepped ranges N-M:S, optionally followed
// by %N, the most tasks that may run at once. Every index must be below
// maxSize (the cluster's MaxArraySize). Errors are *FieldError values for
// "--array".
func ParseArray(expr string, maxSize int) (ArraySpec, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxArraySize
	}
	if err := checkArray(expr, maxSize); err != nil {
		return ArraySpec{}, err
	}
	list, throttle, _ := strings.Cut(strings.TrimSpace(expr), "%")
	tasks, _ := parseTaskRanges(list, maxSize)
	spec := ArraySpec{Tasks: tasks}
	if throttle != "" {
		spec.MaxRun, _ = strconv.Atoi(throttle)
	}
	return spec, nil
}

// ValidateArray checks a job array expression as ParseArray does, without
// expanding it (a client that does not know the cluster's MaxArraySize
// passes ClientMaxArraySize). The error is a *FieldError for "--array".
func ValidateArray(expr string, maxSize int) error {
	if err := checkArray(expr, maxSize); err != nil {
		return err
	}
	return nil
}

// checkArray validates an --array expression without expanding it.
func checkArray(expr string, maxSize int) *FieldError {
	if maxSize <= 0 {
		maxSize = DefaultMaxArraySize
	}
	value := expr
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return fieldErr("--array", value, "%s", arrayForms)
	}
	list, throttle, hasThrottle := strings.Cut(expr, "%")
	if hasThrottle {
		n, err := strconv.Atoi(throttle)
		if err != nil || n < 1 || strings.ContainsAny(throttle, "+- ") {
			return fieldErr("--array", value, "the limit after %% must be a number of tasks of 1 or more, as in 0-99%%10")
		}
	}
	if _, err := countTaskRanges(list, maxSize); err != nil {
		return fieldErr("--array", value, "%s", err.Error())
	}
	return nil
}

// rangeItem is one item of a range list: FIRST[-LAST[:STEP]].
type rangeItem struct{ first, last, step int }

// parseRangeItems parses a comma-separated range list. With maxSize > 0 every
// index must be below it.
func parseRangeItems(list string, maxSize int) ([]rangeItem, error) {
	var items []rangeItem
	num := func(s string) (int, bool) {
		if s == "" || strings.ContainsAny(s, "+- ") {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	for _, part := range strings.Split(list, ",") {
		bad := func(why string) error { return fmt.Errorf("%q %s; %s", part, why, arrayForms) }
		it := rangeItem{step: 1}
		rng, step, hasStep := strings.Cut(part, ":")
		first, last, hasLast := strings.Cut(rng, "-")
		var ok bool
		if it.first, ok = num(first); !ok {
			return nil, bad("is not an index or range")
		}
		it.last = it.first
		if hasLast {
			if it.last, ok = num(last); !ok {
				return nil, bad("is not an index or range")
			}
			if it.last < it.first {
				return nil, bad("ends before it starts")
			}
		}
		if hasStep {
			if !hasLast {
				return nil, bad("has a step but is not a range")
			}
			if it.step, ok = num(step); !ok || it.step < 1 {
				return nil, bad("needs a step of 1 or more after the colon")
			}
		}
		if maxSize > 0 && it.last >= maxSize {
			return nil, fmt.Errorf("index %d is too large: this cluster's MaxArraySize is %d, so indices go from 0 to %d", it.last, maxSize, maxSize-1)
		}
		items = append(items, it)
	}
	return items, nil
}

// countTaskRanges checks a range list and returns an upper bound of its task
// count (repeated indices counted each time) without expanding it. With
// maxSize > 0 the bound must not exceed maxSize, so that expanding the list
// costs at most maxSize indices however often its items repeat
// ("0-99999,0-99999,...").
func countTaskRanges(list string, maxSize int) (int, error) {
	items, err := parseRangeItems(list, maxSize)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		n += (it.last-it.first)/it.step + 1
		if maxSize > 0 && n > maxSize {
			return 0, fmt.Errorf("the items list more than %d task indices (repeats counted); this cluster's MaxArraySize is %d", maxSize, maxSize)
		}
	}
	return n, nil
}

// parseTaskRanges parses and expands a range list (maxSize as in
// countTaskRanges; negative: no bound).
func parseTaskRanges(list string, maxSize int) (TaskIDs, error) {
	if _, err := countTaskRanges(list, maxSize); err != nil {
		return nil, err
	}
	items, _ := parseRangeItems(list, maxSize)
	var ids []int
	for _, it := range items {
		// Stop at the last index rather than step past it: i += step could
		// overflow near the largest int and never end.
		for i := it.first; ; i += it.step {
			ids = append(ids, i)
			if it.last-i < it.step {
				break
			}
		}
	}
	return normalizeTasks(ids), nil
}

// IsArrayRecord reports whether j is a job array's own record, holding the
// tasks that have not started yet (ArrayPending). Its ID is the array job ID.
func (j *Job) IsArrayRecord() bool { return j.ArrayJobID != 0 && j.ArrayTaskID < 0 }

// IsArrayTask reports whether j is one task of a job array.
func (j *Job) IsArrayTask() bool { return j.ArrayJobID != 0 && j.ArrayTaskID >= 0 }

// DisplayID is the job's ID as squeue and sacct print it: "12" for a plain
// job, "12_3" for task 3 of array 12, and "12_[4-15%4]" for the tasks of
// array 12 that have not started (with the array's throttle).
func (j *Job) DisplayID() string {
	switch {
	case j.IsArrayTask():
		return fmt.Sprintf("%d_%d", j.ArrayJobID, j.ArrayTaskID)
	case j.IsArrayRecord():
		s := fmt.Sprintf("%d_[%s", j.ArrayJobID, j.ArrayPending.Display())
		if j.ArrayMaxRun > 0 {
			s += fmt.Sprintf("%%%d", j.ArrayMaxRun)
		}
		return s + "]"
	}
	return j.ID.String()
}

// JobRef names a job on the command line and in the API: a job ID ("12"),
// or a task of a job array ("12_3").
type JobRef struct {
	ID   JobID // the job ID, or the array job ID when Task is set
	Task *int  // the array task index, or nil
}

// String formats the reference as ParseJobRef reads it.
func (r JobRef) String() string {
	if r.Task != nil {
		return fmt.Sprintf("%d_%d", r.ID, *r.Task)
	}
	return r.ID.String()
}

// ParseJobRef reads "12" or "12_3".
func ParseJobRef(s string) (JobRef, error) {
	idPart, taskPart, isTask := strings.Cut(strings.TrimSpace(s), "_")
	id, err := strconv.ParseUint(idPart, 10, 64)
	if err != nil || id == 0 || strings.HasPrefix(idPart, "+") {
		return JobRef{}, fmt.Errorf("%q is not a job id; job ids are positive numbers such as 42, or 42_3 for task 3 of job array 42", s)
	}
	ref := JobRef{ID: JobID(id)}
	if isTask {
		task, err := strconv.Atoi(taskPart)
		if err != nil || task < 0 || strings.HasPrefix(taskPart, "+") {
			return JobRef{}, fmt.Errorf("%q is not a job array task; write ARRAYID_TASK, such as 42_3", s)
		}
		ref.Task = &task
	}
	return ref, nil
}
