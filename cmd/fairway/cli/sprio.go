package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// sprio's default formats: Slurm's, without the factors Fairway does not
// have (association).
const (
	sprioDefaultFormat = "%.15i %9r %.10Y %.10S %.10A %.10F %.10J %.10P %.10Q"
	sprioLongFormat    = "%.15i %9r %.8u %.10Y %.10S %.10A %.10F %.10J %.10P %.10Q %.11N %.20T"
	sprioNormFormat    = "%.15i %9r %.10y %.10S %.10a %.10f %.10j %.10p %.10q"
	sprioNormLong      = "%.15i %9r %.8u %.10y %.10S %.10a %.10f %.10j %.10p %.10q %.11N %.20t"
)

func sprioOpts() []*opt {
	return []*opt{
		{long: "jobs", short: 'j', kind: optOptional, usage: "only these job ids (comma-separated; -j1,2 or --jobs=1,2, or -j followed by the list)"},
		{long: "user", short: 'u', aliases: []string{"users"}, usage: "only jobs of these users (comma-separated)"},
		{long: "partition", short: 'p', usage: "only jobs in these partitions (comma-separated)"},
		{long: "long", short: 'l', kind: optFlag, usage: "long format: user, nice and TRES too"},
		{long: "norm", short: 'n', kind: optFlag, usage: "print the normalized factors (0 to 1) instead of the weighted ones"},
		{long: "format", short: 'o', usage: "output format, e.g. \"%.15i %.8u %.10Y %.10F\""},
		{long: "sort", short: 'S', usage: "sort by these fields, e.g. -S -y (default i)"},
		{long: "noheader", short: 'h', kind: optFlag, usage: "do not print the header"},
		{long: "weights", short: 'w', kind: optFlag, usage: "print the configured weights instead of jobs"},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "local", kind: optFlag, ignored: true},
		{long: "federation", kind: optFlag, ignored: true},
		{long: "sibling", kind: optFlag, ignored: true},
		{long: "clusters", short: 'M', aliases: []string{"cluster"}, unsupported: "Fairway runs one cluster"},
		addrOpt(),
		helpOpt(0),
	}
}

// sprioColumn returns how a sprio format letter prints; its header is ""
// for letters sprio does not know.
func sprioColumn(letter byte) column {
	switch letter {
	case 'a', 'A':
		return column{"AGE", true}
	case 'b', 'B':
		return column{"ASSOC", true}
	case 'c':
		return column{"CLUSTER", true}
	case 'f', 'F':
		return column{"FAIRSHARE", true}
	case 'i':
		return column{"JOBID", true}
	case 'j', 'J':
		return column{"JOBSIZE", true}
	case 'n':
		return column{"QOSNAME", true}
	case 'N':
		return column{"NICE", true}
	case 'o':
		return column{"ACCOUNT", true}
	case 'p', 'P', 'r':
		return column{"PARTITION", true}
	case 'q', 'Q':
		return column{"QOS", true}
	case 'S':
		return column{"SITE", true}
	case 'u':
		return column{"USER", true}
	case 'y', 'Y':
		return column{"PRIORITY", true}
	case 't', 'T':
		return column{"TRES", true}
	}
	return column{}
}

func sprioValid(letter byte) bool { return sprioColumn(letter).header != "" }

// sprioInt prints a weighted factor as sprio does ("%.0f").
func sprioInt(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// sprioNorm prints a normalized factor as sprio does ("%.7f").
func sprioNorm(weighted, weight float64) string {
	if weight == 0 {
		return strconv.FormatFloat(0, 'f', 7, 64)
	}
	return strconv.FormatFloat(weighted/weight, 'f', 7, 64)
}

// sprioValue is the value of one format letter for a row.
func sprioValue(r *api.PriorityRow, w *api.PriorityWeights, letter byte) string {
	switch letter {
	case 'i':
		return r.JobID.String()
	case 'r':
		return r.Partition
	case 'u':
		return r.User
	case 'o':
		return r.Account
	case 'n':
		return r.QOSName
	case 'c':
		return "fairway"
	case 'A':
		return sprioInt(r.Age)
	case 'a':
		return sprioNorm(r.Age, w.Age)
	case 'F':
		return sprioInt(r.FairShare)
	case 'f':
		return sprioNorm(r.FairShare, w.FairShare)
	case 'J':
		return sprioInt(r.JobSize)
	case 'j':
		return sprioNorm(r.JobSize, w.JobSize)
	case 'P':
		return sprioInt(r.PartitionF)
	case 'p':
		return sprioNorm(r.PartitionF, w.Partition)
	case 'Q':
		return sprioInt(r.QOS)
	case 'q':
		return sprioNorm(r.QOS, w.QOS)
	case 'B':
		return "0"
	case 'b':
		return sprioNorm(0, 0)
	case 'S':
		return "0"
	case 'N':
		return sprioInt(r.Nice)
	case 'Y':
		return strconv.FormatInt(int64(r.Priority), 10)
	case 'y':
		return fmt.Sprintf("%16.14f", r.Priority/float64(^uint32(0)))
	case 'T', 't':
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(r.TRES)) {
			v := r.TRES[name]
			if v == 0 {
				continue
			}
			if letter == 'T' {
				parts = append(parts, name+"="+sprioInt(v))
			} else if weight := w.TRES[name]; weight != 0 {
				parts = append(parts, name+"="+strconv.FormatFloat(v/weight, 'f', 2, 64))
			}
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// sprioWeight is the value of one format letter on the -w line.
func sprioWeight(w *api.PriorityWeights, letter byte) string {
	switch letter {
	case 'i':
		return "Weights"
	case 'a', 'A':
		return sprioInt(w.Age)
	case 'f', 'F':
		return sprioInt(w.FairShare)
	case 'j', 'J':
		return sprioInt(w.JobSize)
	case 'p', 'P':
		return sprioInt(w.Partition)
	case 'q', 'Q':
		return sprioInt(w.QOS)
	case 'b', 'B':
		return "0"
	case 'S':
		return "1"
	case 'T':
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(w.TRES)) {
			parts = append(parts, name+"="+sprioInt(w.TRES[name]))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// sprioCompare compares two rows by one sort letter.
func sprioCompare(a, b *api.PriorityRow, letter byte) int {
	num := func(x, y float64) int {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	tres := func(r *api.PriorityRow) float64 {
		sum := 0.0
		for _, k := range slices.Sorted(maps.Keys(r.TRES)) {
			sum += r.TRES[k]
		}
		return sum
	}
	switch letter {
	case 'i':
		return num(float64(a.JobID), float64(b.JobID))
	case 'a', 'A':
		return num(a.Age, b.Age)
	case 'f', 'F':
		return num(a.FairShare, b.FairShare)
	case 'j', 'J':
		return num(a.JobSize, b.JobSize)
	case 'p', 'P':
		return num(a.PartitionF, b.PartitionF)
	case 'q', 'Q':
		return num(a.QOS, b.QOS)
	case 'N':
		return num(a.Nice, b.Nice)
	case 'y', 'Y':
		return num(a.Priority, b.Priority)
	case 't', 'T':
		return num(tres(a), tres(b))
	case 'u':
		return strings.Compare(a.User, b.User)
	case 'o':
		return strings.Compare(a.Account, b.Account)
	case 'r':
		return strings.Compare(a.Partition, b.Partition)
	case 'n':
		return strings.Compare(a.QOSName, b.QOSName)
	}
	return 0
}

// sprio prints the priority factors of pending jobs as Slurm's sprio does.
func sprio(ctx context.Context, inv *invocation) error {
	o := inv.opts
	if o.flag("long") && o.has("format") {
		//lint:ignore ST1005 Slurm's exact message, which scripts match
		return errors.New("Options -o(--format) and -l(--long) are mutually exclusive. Please remove one and retry.")
	}
	format := sprioDefaultFormat
	switch {
	case o.flag("norm") && o.flag("long"):
		format = sprioNormLong
	case o.flag("norm"):
		format = sprioNormFormat
	case o.flag("long"):
		format = sprioLongFormat
	}
	if env := inv.env.Getenv("SPRIO_FORMAT"); env != "" && !o.flag("long") {
		format = env
	}
	if o.has("format") {
		format = o.str("format")
	}
	spec, err := parseFormat(format, "--format", sprioValid)
	if err != nil {
		return err
	}
	keys, err := parseSort(cmpOr(o.str("sort"), "i"), "--sort", sprioValid)
	if err != nil {
		return err
	}
	jobArgs := valuesOf(o, "jobs")
	switch {
	case len(inv.args) > 0 && o.has("jobs"):
		jobArgs = append(jobArgs, inv.args...)
	case len(inv.args) > 0:
		return &api.FieldError{Field: "argument", Value: inv.args[0], Msg: "unrecognized; give job ids with -j"}
	}
	refs, err := parseJobRefs(jobArgs, "--jobs")
	if err != nil {
		return err
	}
	users := splitList(o.str("user"))
	resp, err := inv.client().Priorities(ctx, client.PriorityFilter{IDs: refIDs(refs), Users: users})
	if err != nil {
		return fmt.Errorf("get priority factors: %w", err)
	}
	parts := setOf(splitList(o.str("partition")))
	var rows []*api.PriorityRow
	for i := range resp.Rows {
		if parts == nil || parts[resp.Rows[i].Partition] {
			rows = append(rows, &resp.Rows[i])
		}
	}
	sort.SliceStable(rows, func(x, y int) bool {
		for _, k := range keys {
			c := sprioCompare(rows[x], rows[y], k.letter)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	if len(refs) > 0 && len(rows) == 0 && !o.flag("weights") {
		_, err := fmt.Fprintln(inv.env.Stdout, "Unable to find jobs matching user/id(s) specified")
		return err
	}
	var b strings.Builder
	if !o.flag("noheader") {
		b.WriteString(spec.render(headers(spec, sprioColumn), sprioColumn, true) + "\n")
	}
	w := &resp.Weights
	line := func(value func(letter byte) string) {
		values := make([]string, len(spec.fields))
		for i, f := range spec.fields {
			values[i] = value(f.letter)
		}
		b.WriteString(spec.render(values, sprioColumn, false) + "\n")
	}
	if o.flag("weights") {
		line(func(l byte) string { return sprioWeight(w, l) })
	} else {
		for _, r := range rows {
			line(func(l byte) string { return sprioValue(r, w, l) })
		}
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
