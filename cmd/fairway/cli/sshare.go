package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// sshare's default field lists (Fair Tree's; -l adds NormUsage and LevelFS).
const (
	sshareDefaultFields = "Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare"
	sshareLongFields    = "Account,User,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS"
)

func sshareOpts() []*opt {
	return []*opt{
		{long: "all", short: 'a', kind: optFlag, usage: "every user, not only you"},
		{long: "accounts", short: 'A', usage: "only these accounts (comma-separated)"},
		{long: "users", short: 'u', usage: "only these users (comma-separated)"},
		{long: "Users", short: 'U', kind: optFlag, usage: "only users' rows, not their accounts'"},
		{long: "long", short: 'l', kind: optFlag, usage: "long listing: normalized usage and Level FS too"},
		{long: "noheader", short: 'n', kind: optFlag, usage: "do not print the header"},
		{long: "no-header", short: 'h', kind: optFlag, key: "noheader", hidden: true},
		{long: "parsable", short: 'p', kind: optFlag, usage: "fields separated by |, with a trailing |"},
		{long: "parsable2", short: 'P', kind: optFlag, usage: "fields separated by |, without a trailing |"},
		{long: "format", short: 'o', usage: "fields to print, e.g. Account,User,FairShare,LevelFS (a %N suffix sets a width)"},
		{long: "partition", short: 'm', kind: optFlag, ignored: true},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "clusters", short: 'M', unsupported: "Fairway runs one cluster"},
		addrOpt(),
		helpOpt(0),
	}
}

// sshareField is one sshare column: width as printf's, negative for left
// justification.
type sshareField struct {
	name  string
	width int
}

// sshareFields are sshare's fields with Slurm's default widths, in the order
// names are matched (a prefix of a name selects the first that matches).
func sshareFields() []sshareField {
	return []sshareField{
		{"Account", -20}, {"Cluster", 10}, {"EffectvUsage", 13}, {"FairShare", 10},
		{"GrpTRESMins", 30}, {"GrpTRESRaw", 30}, {"ID", 6}, {"LevelFS", 10},
		{"NormShares", 11}, {"NormUsage", 11}, {"Partition", 12}, {"RawShares", 10},
		{"RawUsage", 11}, {"TRESRunMins", 30}, {"User", 10},
	}
}

// parseSshareFormat parses a field list: names or case-insensitive
// prefixes, each optionally with %WIDTH.
func parseSshareFormat(list string) ([]sshareField, error) {
	var out []sshareField
	for _, item := range splitList(list) {
		name, width, hasWidth := strings.Cut(item, "%")
		found := false
		for _, f := range sshareFields() {
			if len(name) > 0 && len(name) <= len(f.name) && strings.EqualFold(f.name[:len(name)], name) {
				if hasWidth {
					n, err := strconv.Atoi(width)
					if err != nil || n == 0 {
						return nil, &api.FieldError{Field: "--format", Value: item, Msg: "the width after % must be a non-zero number, as in Account%30"}
					}
					f.width = n
				}
				out = append(out, f)
				found = true
				break
			}
		}
		if !found {
			var names []string
			for _, f := range sshareFields() {
				names = append(names, f.name)
			}
			return nil, &api.FieldError{Field: "--format", Value: name, Msg: "invalid field requested; fields are " + strings.Join(names, ", ")}
		}
	}
	if len(out) == 0 {
		return nil, &api.FieldError{Field: "--format", Value: list, Msg: "no fields given"}
	}
	return out, nil
}

// shareValue is one cell of an sshare row, before layout.
type shareValue struct {
	str    string  // a string value ("" prints blank)
	num    float64 // a number
	kind   byte    // 's' string, 'u' integer, 'f' floating point
	isNull bool    // blank
}

// sshareValue is the value of one field for a row.
func sshareValue(r *api.ShareRow, field, algorithm string) shareValue {
	blank := shareValue{kind: 's', isNull: true}
	root := r.User == "" && r.Account == api.RootAccount
	switch field {
	case "Account":
		return shareValue{kind: 's', str: strings.Repeat(" ", r.Depth) + r.Account}
	case "User":
		if r.User == "" {
			return blank
		}
		return shareValue{kind: 's', str: r.User}
	case "RawShares":
		switch {
		case root:
			return blank
		case r.SharesParent:
			return shareValue{kind: 's', str: "parent"}
		}
		return shareValue{kind: 'u', num: float64(r.RawShares)}
	case "NormShares":
		return shareValue{kind: 'f', num: r.NormShares}
	case "RawUsage":
		return shareValue{kind: 'u', num: math.Trunc(r.RawUsage)}
	case "NormUsage":
		return shareValue{kind: 'f', num: r.NormUsage}
	case "EffectvUsage":
		return shareValue{kind: 'f', num: r.EffectvUsage}
	case "FairShare":
		if root || (r.User == "" && algorithm != api.FairShareClassic) {
			return blank
		}
		return shareValue{kind: 'f', num: r.FairShare}
	case "LevelFS":
		if root || r.SharesParent || algorithm == api.FairShareClassic {
			return blank
		}
		return shareValue{kind: 'f', num: r.LevelFS}
	}
	return blank // Cluster, ID, Partition and the TRES minutes: not tracked
}

// cFloat prints a float as C's printf("%f") does ("inf" for infinity).
func cFloat(v float64, width, prec int) string {
	switch {
	case math.IsInf(v, 1):
		return fmt.Sprintf("%*s", width, "inf")
	case math.IsInf(v, -1):
		return fmt.Sprintf("%*s", width, "-inf")
	case math.IsNaN(v):
		return fmt.Sprintf("%*s", width, "nan")
	}
	return fmt.Sprintf("%*.*f", width, prec, v)
}

// sshareCell lays out a value as Slurm's print_fields functions do: strings
// cut to the width with a "+" marking the cut, floating point in %f (or %e
// when it does not fit), justified by the width's sign, followed by a space.
func sshareCell(v shareValue, width int) string {
	w := width
	if w < 0 {
		w = -w
	}
	just := func(s string) string {
		if width < 0 {
			return fmt.Sprintf("%-*s ", w, s)
		}
		return fmt.Sprintf("%*s ", w, s)
	}
	switch {
	case v.isNull:
		return just("")
	case v.kind == 'u':
		return just(strconv.FormatFloat(v.num, 'f', 0, 64))
	case v.kind == 'f':
		s := cFloat(v.num, w, 6)
		if len(s) <= w || math.IsInf(v.num, 0) || math.IsNaN(v.num) {
			return just(s)
		}
		ew := w
		if n := len(fmt.Sprintf("%*.*e", ew, ew, v.num)); n > ew {
			ew -= n - ew
		}
		e := fmt.Sprintf("%*.*e", ew, max(ew, 0), v.num)
		if width < 0 {
			return fmt.Sprintf("%-*s ", ew, e)
		}
		return fmt.Sprintf("%*s ", ew, e)
	}
	s := v.str
	if r := []rune(s); len(r) > w {
		s = string(r[:w-1]) + "+"
	}
	return just(s)
}

// sshareParsable is a value as sshare -p prints it.
func sshareParsable(v shareValue) string {
	switch {
	case v.isNull:
		return ""
	case v.kind == 'u':
		return strconv.FormatFloat(v.num, 'f', 0, 64)
	case v.kind == 'f':
		return cFloat(v.num, 0, 6)
	}
	return v.str
}

// sshare prints the fair-share tree as Slurm's sshare does.
func sshare(ctx context.Context, inv *invocation) error {
	o := inv.opts
	list := sshareDefaultFields
	if o.flag("long") {
		list = sshareLongFields
	}
	if o.has("format") {
		list = o.str("format")
	}
	fields, err := parseSshareFormat(list)
	if err != nil {
		return err
	}
	users := setOf(splitList(o.str("users")))
	if users == nil && !o.flag("all") {
		me, err := inv.env.User()
		if err != nil {
			return err
		}
		users = map[string]bool{me.Name: true}
	}
	accounts := setOf(splitList(o.str("accounts")))
	resp, err := inv.client().Shares(ctx)
	if err != nil {
		return fmt.Errorf("get shares: %w", err)
	}
	parsable := o.flag("parsable") || o.flag("parsable2")
	trailing := o.flag("parsable") && !o.flag("parsable2")
	var b strings.Builder
	line := func(value func(f sshareField) (shareValue, string)) {
		for i, f := range fields {
			v, header := value(f)
			switch {
			case header != "" && !parsable:
				w := max(f.width, -f.width)
				if len(header) > w {
					header = header[:w]
				}
				if f.width < 0 {
					fmt.Fprintf(&b, "%-*s ", w, header)
				} else {
					fmt.Fprintf(&b, "%*s ", w, header)
				}
			case !parsable:
				b.WriteString(sshareCell(v, f.width))
			default:
				s := header
				if s == "" {
					s = sshareParsable(v)
				}
				b.WriteString(s)
				if i < len(fields)-1 || trailing {
					b.WriteString("|")
				}
			}
		}
		b.WriteString("\n")
	}
	if !o.flag("noheader") {
		line(func(f sshareField) (shareValue, string) { return shareValue{}, f.name })
		if !parsable {
			for _, f := range fields {
				b.WriteString(strings.Repeat("-", max(f.width, -f.width)) + " ")
			}
			b.WriteString("\n")
		}
	}
	for i := range resp.Rows {
		r := &resp.Rows[i]
		switch {
		case accounts != nil && !accounts[r.Account]:
			continue
		case r.User != "" && users != nil && !users[r.User]:
			continue
		case r.User == "" && o.flag("Users"):
			continue
		}
		line(func(f sshareField) (shareValue, string) { return sshareValue(r, f.name, resp.Algorithm), "" })
	}
	_, err = fmt.Fprint(inv.env.Stdout, b.String())
	return err
}
