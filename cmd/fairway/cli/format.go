package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fairway-hpc/fairway/api"
)

// fmtField is one %-field of a squeue or sinfo format string: "%.18i" is
// letter 'i', width 18, right-justified.
type fmtField struct {
	letter byte
	width  int
	right  bool
	auto   bool   // "%#P": the width is the longest value (sinfo)
	suffix string // literal text printed after the field
}

// fmtSpec is a parsed format string.
type fmtSpec struct {
	prefix string // literal text before the first field
	fields []fmtField
	// invalid lists the unknown fields a lenient parse skipped.
	invalid []string
}

// parseFormat parses a Slurm format string: literal text and fields of the form
// %[.][-][#][width]letter. "%%" is a literal percent sign. The option names
// the flag for errors; valid reports the letters the command knows.
func parseFormat(s, option string, valid func(byte) bool) (fmtSpec, error) {
	return parseFormatMode(s, option, valid, false)
}

// parseFormatLenient is parseFormat that keeps going past unknown letters,
// as squeue and sinfo do: they are listed in the spec's invalid and print
// literally.
func parseFormatLenient(s, option string, valid func(byte) bool) (fmtSpec, error) {
	return parseFormatMode(s, option, valid, true)
}

func parseFormatMode(s, option string, valid func(byte) bool, lenient bool) (fmtSpec, error) {
	var spec fmtSpec
	var lit strings.Builder
	flush := func() {
		if len(spec.fields) == 0 {
			spec.prefix += lit.String()
		} else {
			spec.fields[len(spec.fields)-1].suffix += lit.String()
		}
		lit.Reset()
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		f := fmtField{}
		j := i + 1
		for ; j < len(s) && strings.IndexByte(".-#", s[j]) >= 0; j++ {
			switch s[j] {
			case '.':
				f.right = true
			case '#':
				f.auto = true
			}
		}
		for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
			f.width = f.width*10 + int(s[j]-'0')
			if f.width > 1000 {
				return fmtSpec{}, &api.FieldError{Field: option, Value: s, Msg: "field width too large"}
			}
		}
		if j >= len(s) {
			return fmtSpec{}, &api.FieldError{Field: option, Value: s, Msg: "the format ends inside a field; fields look like %i or %.10j"}
		}
		f.letter = s[j]
		if !valid(f.letter) {
			if !lenient {
				return fmtSpec{}, &api.FieldError{Field: option, Value: s, Msg: fmt.Sprintf("unknown field %%%c", f.letter)}
			}
			// As Slurm does: the field and its text print as they are
			// written, and the command goes on.
			spec.invalid = append(spec.invalid, string(f.letter))
			lit.WriteString(s[i : j+1])
			i = j
			continue
		}
		flush()
		spec.fields = append(spec.fields, f)
		i = j
	}
	flush()
	return spec, nil
}

// longField is one -O/--Format field name and the format letter it prints.
type longField struct {
	name   string
	letter byte
}

// parseLongFormat parses a Slurm -O/--Format list: comma-separated
// NAME[:[.]WIDTH[SUFFIX]] items, names case-insensitive. A name without a
// width is 20 characters wide, left-justified; "." right-justifies. Unknown
// names are returned in invalid (Slurm prints an error and goes on).
func parseLongFormat(s string, names []longField) (fmtSpec, error) {
	var spec fmtSpec
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			continue
		}
		name, rest, hasWidth := strings.Cut(item, ":")
		f := fmtField{width: 20}
		if hasWidth {
			f.width = 0
			if strings.HasPrefix(rest, ".") {
				f.right = true
				rest = rest[1:]
			}
			k := 0
			for ; k < len(rest) && rest[k] >= '0' && rest[k] <= '9'; k++ {
				f.width = f.width*10 + int(rest[k]-'0')
				if f.width > 1000 {
					return fmtSpec{}, &api.FieldError{Field: "--Format", Value: s, Msg: "field width too large"}
				}
			}
			f.suffix = rest[k:]
		}
		found := false
		for _, lf := range names {
			if strings.EqualFold(lf.name, name) {
				f.letter, found = lf.letter, true
				break
			}
		}
		if !found {
			spec.invalid = append(spec.invalid, name)
			continue
		}
		spec.fields = append(spec.fields, f)
	}
	if len(spec.fields) == 0 && len(spec.invalid) == 0 {
		return fmtSpec{}, &api.FieldError{Field: "--Format", Value: s, Msg: "no fields; write NAME[:[.]WIDTH],..., such as JobID,Name:20,State"}
	}
	return spec, nil
}

// has reports whether the format uses any of the letters.
func (s fmtSpec) has(letters string) bool {
	for _, f := range s.fields {
		if strings.IndexByte(letters, f.letter) >= 0 {
			return true
		}
	}
	return false
}

// printable escapes what a terminal would interpret in user-supplied text
// (job names, reasons, paths): C0 and C1 control characters and DEL become
// \xNN (\t, \n and \r their C escapes), invalid UTF-8 bytes \xNN, and a
// backslash is doubled only when the text needed escaping, so ordinary names
// print unchanged. Every formatter prints values through it (cell,
// record.render, sacct's lines).
func printable(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\\':
			b.WriteString(`\\`)
		case needsEscape(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether r is a control character (C0, DEL, C1).
func needsEscape(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }

// cell pads or truncates s as Slurm's _print_str does: right-justified values
// are padded on the left (and cut to the width when cut is set); left-justified
// values are always cut to the width and padded on the right. Width 0 prints
// the value as it is.
func cell(s string, width int, right, cut bool) string {
	s = printable(s)
	if width <= 0 {
		return s
	}
	if (cut || !right) && utf8.RuneCountInString(s) > width {
		s = string([]rune(s)[:width])
	}
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	if right {
		return strings.Repeat(" ", width-n) + s
	}
	return s + strings.Repeat(" ", width-n)
}

// column is how a format letter prints.
type column struct {
	header string
	cut    bool // cut values to the width (Slurm does not cut node lists and times)
}

// render prints one line of a format: values[i] is field i's value, or its
// header when printing the header line.
func (s fmtSpec) render(values []string, cols func(byte) column, header bool) string {
	var b strings.Builder
	b.WriteString(s.prefix)
	for i, f := range s.fields {
		c := cols(f.letter)
		cut := c.cut
		if header {
			cut = c.header != "NODELIST" && c.header != "NODELIST(REASON)"
		}
		b.WriteString(cell(values[i], f.width, f.right, cut))
		b.WriteString(f.suffix)
	}
	return b.String()
}

// sortKey is one key of a -S sort list: a format letter, ascending or not.
type sortKey struct {
	letter byte
	desc   bool
}

// parseSort parses a Slurm sort list such as "P,t,-p" or "-t,+i".
func parseSort(s, option string, valid func(byte) bool) ([]sortKey, error) {
	var keys []sortKey
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k := sortKey{}
		for len(part) > 0 && strings.IndexByte("+-#", part[0]) >= 0 {
			if part[0] == '-' {
				k.desc = true
			}
			part = part[1:]
		}
		if len(part) != 1 || !valid(part[0]) {
			return nil, &api.FieldError{Field: option, Value: s, Msg: "want a comma-separated list of field letters, each optionally prefixed by - for descending order, such as -t,i"}
		}
		k.letter = part[0]
		keys = append(keys, k)
	}
	return keys, nil
}
