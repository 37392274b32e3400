package api

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantFieldError fails t unless err is a *FieldError for field.
func wantFieldError(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("%s: error %v (%T) is not a *FieldError for %s", what, err, err, field)
	}
}

// FuzzParseArray checks that ParseArray never panics, that it fails with a
// *FieldError for --array exactly when ValidateArray does, and that an
// accepted expression gives ascending distinct indices below maxSize, a
// non-negative throttle, expansion work within maxSize (repeats counted), and
// a task list that TaskIDs.String writes and ParseArray reads back unchanged.
func FuzzParseArray(f *testing.F) {
	for _, s := range []string{
		"0-15", "1,3,5-7", "0-15:4", "0-99%10", "7", "", " ", "%", "1%", "1%0", "1%-1", "1%+1", "-1", "+1",
		"5-3", "1:2", "0-10:0", "0-10:-1", "1,,2", "100001", "0-100000", "0-100000,0-100000",
		"9223372036854775807", "0-9223372036854775807:4611686018427387904", "0-4%99999999999999999999",
	} {
		f.Add(s, uint32(0))
	}
	f.Add("0-999,0-999", uint32(1000))
	f.Add("0-3", uint32(4))
	f.Fuzz(func(t *testing.T, expr string, max uint32) {
		maxSize := int(max % 200000) // 0: the default; kept small so that each run is quick
		spec, err := ParseArray(expr, maxSize)
		verr := ValidateArray(expr, maxSize)
		if (err == nil) != (verr == nil) {
			t.Fatalf("ParseArray(%q, %d) = %v but ValidateArray = %v", expr, maxSize, err, verr)
		}
		if err != nil {
			wantFieldError(t, "ParseArray("+strconv.Quote(expr)+")", err, "--array")
			return
		}
		if maxSize == 0 {
			maxSize = DefaultMaxArraySize
		}
		if len(spec.Tasks) == 0 {
			t.Fatalf("ParseArray(%q) accepted no tasks", expr)
		}
		if !slices.IsSorted(spec.Tasks) || len(slices.Compact(slices.Clone(spec.Tasks))) != len(spec.Tasks) {
			t.Fatalf("ParseArray(%q) tasks not ascending and distinct: %v", expr, spec.Tasks)
		}
		if spec.Tasks[0] < 0 || spec.Tasks[len(spec.Tasks)-1] >= maxSize {
			t.Fatalf("ParseArray(%q, %d) tasks %d..%d outside [0, %d)", expr, maxSize, spec.Tasks[0], spec.Tasks[len(spec.Tasks)-1], maxSize)
		}
		if spec.MaxRun < 0 {
			t.Fatalf("ParseArray(%q) throttle %d", expr, spec.MaxRun)
		}
		list, _, _ := strings.Cut(strings.TrimSpace(expr), "%")
		if n, err := countTaskRanges(list, -1); err != nil || n > maxSize {
			t.Fatalf("ParseArray(%q, %d) accepted %d indices to expand (repeats counted), more than %d", expr, maxSize, n, maxSize)
		}
		s := spec.Tasks.String()
		back, err := ParseArray(s, maxSize)
		if err != nil || !slices.Equal(back.Tasks, spec.Tasks) {
			t.Fatalf("ParseArray(%q) = %v; String %q parses as %v, %v", expr, spec.Tasks, s, back.Tasks, err)
		}
	})
}

// FuzzTaskIDsJSON checks that TaskIDs.UnmarshalJSON never panics or runs
// away on hostile input (snapshots and API answers carry task lists), that
// what it accepts is ascending, distinct and non-negative, and that
// Marshal/Unmarshal is a round trip.
func FuzzTaskIDsJSON(f *testing.F) {
	for _, s := range []string{
		`"0-15:4,17,20-29"`, `"4-15"`, `""`, `[3,1,2,2]`, `[]`, `null`, `[-1]`, `"x"`, `5`, `"9223372036854775807"`,
		`"0-9223372036854775807"`, `"9223372036854775806-9223372036854775807:3"`, `"0-3999999,0-3999999"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ids TaskIDs
		if err := json.Unmarshal(data, &ids); err != nil {
			return
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) || (len(ids) > 0 && ids[0] < 0) {
			t.Fatalf("Unmarshal(%q) = %v: not ascending, distinct and non-negative", data, ids)
		}
		out, err := json.Marshal(ids)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", ids, err)
		}
		var back TaskIDs
		if err := json.Unmarshal(out, &back); err != nil || !slices.Equal(back, ids) {
			t.Fatalf("Unmarshal(%q) = %v; marshalled as %s it reads back as %v, %v", data, ids, out, back, err)
		}
	})
}

// formatDependency writes d in the syntax ParseDependency reads.
func formatDependency(d Dependency) string {
	terms := make([]string, len(d.Terms))
	for i, term := range d.Terms {
		s := term.Type
		for j, ref := range term.Jobs {
			s += ":" + ref.String()
			if j == 0 && term.Type == DepAfter && term.DelayMins > 0 {
				s += "+" + strconv.Itoa(term.DelayMins)
			}
		}
		terms[i] = s
	}
	sep := ","
	if d.Any {
		sep = "?"
	}
	return strings.Join(terms, sep)
}

// FuzzParseDependency checks that ParseDependency never panics, fails with a
// *FieldError for --dependency, and accepts only well-formed terms (known
// types, positive job IDs, non-negative task indices, a delay whose seconds
// fit in int64 beside a unix time) that format back to an expression parsing
// to the same dependency.
func FuzzParseDependency(f *testing.F) {
	for _, s := range []string{
		"afterok:42", "afterok:42:43,afterany:44", "after:42+10", "after:1+0:2", "afterany:1?afternotok:2", "singleton",
		"singleton,afterok:5_3", "", "afterok", "afterok:", "afterok:0", "afterok:-1", "afterok:+1", "afterok:1_-1",
		"after:1+-5", "after:1+99999999999999999999", "after:1+153722867280912930", "a,b?c", "afterok:1,,afterok:2",
		"after:1 ", "afterok:1_", "bogus:1", "after:5+1+2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		d, err := ParseDependency(expr)
		if err != nil {
			wantFieldError(t, "ParseDependency("+strconv.Quote(expr)+")", err, "--dependency")
			return
		}
		if len(d.Terms) == 0 {
			t.Fatalf("ParseDependency(%q) accepted no terms", expr)
		}
		for _, term := range d.Terms {
			if !slices.Contains([]string{DepAfter, DepAfterAny, DepAfterOK, DepAfterNotOK, DepSingleton}, term.Type) {
				t.Fatalf("ParseDependency(%q): unknown type %q", expr, term.Type)
			}
			if (term.Type == DepSingleton) != (len(term.Jobs) == 0) {
				t.Fatalf("ParseDependency(%q): term %+v", expr, term)
			}
			if term.DelayMins < 0 || term.DelayMins > math.MaxInt64/60-(1<<40) {
				t.Fatalf("ParseDependency(%q): delay %d minutes would overflow a start time", expr, term.DelayMins)
			}
			for _, ref := range term.Jobs {
				if ref.ID == 0 || (ref.Task != nil && *ref.Task < 0) {
					t.Fatalf("ParseDependency(%q): job %+v", expr, ref)
				}
			}
		}
		// A delay applies to the whole term (the last one written wins), so
		// the canonical form writes it once, after the first job.
		s := formatDependency(d)
		back, err := ParseDependency(s)
		if err != nil || formatDependency(back) != s {
			t.Fatalf("ParseDependency(%q) formats as %q, which parses as %+v, %v", expr, s, back, err)
		}
	})
}

// FuzzParseJobRef checks that ParseJobRef never panics and that an accepted
// reference names a positive job ID and a non-negative task, and prints as
// a string that parses to the same reference.
func FuzzParseJobRef(f *testing.F) {
	for _, s := range []string{"12", "12_3", "0", "12_", "_3", "+1", "12_+3", "12_-3", " 12 ", "18446744073709551615", "18446744073709551616", "1_2_3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseJobRef(s)
		if err != nil {
			return
		}
		if ref.ID == 0 || (ref.Task != nil && *ref.Task < 0) {
			t.Fatalf("ParseJobRef(%q) = %+v", s, ref)
		}
		back, err := ParseJobRef(ref.String())
		if err != nil || back.String() != ref.String() {
			t.Fatalf("ParseJobRef(%q) = %s, which parses as %+v, %v", s, ref, back, err)
		}
	})
}
