package cli

import (
	"fmt"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/fairway-hpc/fairway/api"
)

// opt describes one command-line option of a Slurm-compatible command.
type opt struct {
	long    string   // long name without dashes, e.g. "job-name"
	short   byte     // single-letter name, 0 if none
	aliases []string // further long names
	// kind says how the option takes a value.
	kind optKind
	// def is the value an optional-argument option gets when given without "=".
	def string
	// key groups options that set the same thing (--gres, --gpus): the last one
	// given wins. Empty means long.
	key string
	// set is the value a flag option records (default "true"), e.g. "false" for --no-requeue.
	set string
	// ignored options are accepted for compatibility and have no effect.
	ignored bool
	// unsupported options are refused with this explanation.
	unsupported string
	usage       string
	hidden      bool
}

type optKind int

const (
	optValue    optKind = iota // requires a value: --nodes=2, --nodes 2, -N2, -N 2
	optFlag                    // takes no value: --hold, -H
	optOptional                // value only after "=": --nice, --nice=5
)

func (o *opt) keyName() string {
	if o.key != "" {
		return o.key
	}
	return o.long
}

// display is how errors name the option: "--nodes".
func (o *opt) display() string { return "--" + o.long }

// optVal is one occurrence of an option.
type optVal struct {
	name  string // the option as written by its canonical long name, e.g. "--gpus"
	value string
	src   string // where it came from: "" for the command line, else e.g. "line 3"
}

// wrap adds the value's origin to an error about it.
func (v optVal) wrap(err error) error {
	if err == nil || v.src == "" {
		return err
	}
	return fmt.Errorf("%s: %w", v.src, err)
}

// optSet is the parsed options of one source, by key, in the order given.
type optSet map[string][]optVal

func (s optSet) has(key string) bool { return len(s[key]) > 0 }

// last returns the last occurrence of key.
func (s optSet) last(key string) (optVal, bool) {
	vs := s[key]
	if len(vs) == 0 {
		return optVal{}, false
	}
	return vs[len(vs)-1], true
}

// str returns the last value of key, or "".
func (s optSet) str(key string) string {
	v, _ := s.last(key)
	return v.value
}

// flag reports whether a flag option was given (its last value is "true").
func (s optSet) flag(key string) bool {
	v, ok := s.last(key)
	return ok && v.value == "true"
}

// overlay returns s with every key present in top replaced by top's values:
// the command line overrides #SBATCH directives option by option.
func (s optSet) overlay(top optSet) optSet {
	out := optSet{}
	for k, v := range s {
		out[k] = v
	}
	for k, v := range top {
		out[k] = v
	}
	return out
}

// optTable indexes a command's options.
type optTable struct {
	opts  []*opt
	long  map[string]*opt
	short map[byte]*opt
}

func newOptTable(opts []*opt) *optTable {
	t := &optTable{opts: opts, long: map[string]*opt{}, short: map[byte]*opt{}}
	for _, o := range opts {
		t.long[o.long] = o
		for _, a := range o.aliases {
			t.long[a] = o
		}
		if o.short != 0 {
			t.short[o.short] = o
		}
	}
	return t
}

// lookupLong finds a long option by exact name or unambiguous prefix, as getopt_long does.
func (t *optTable) lookupLong(name string) (*opt, error) {
	if o, ok := t.long[name]; ok {
		return o, nil
	}
	var found *opt
	var names []string
	for n, o := range t.long {
		if strings.HasPrefix(n, name) {
			if found != nil && found != o {
				names = append(names, "--"+n)
				continue
			}
			found = o
			names = append(names, "--"+n)
		}
	}
	sort.Strings(names)
	switch {
	case found == nil:
		return nil, &api.FieldError{Field: "option", Value: "--" + name, Msg: "unknown option; see --help"}
	case len(names) > 1 && !allSame(t, names):
		return nil, &api.FieldError{Field: "option", Value: "--" + name, Msg: "ambiguous; could be " + strings.Join(names, ", ")}
	}
	return found, nil
}

func allSame(t *optTable, names []string) bool {
	first := t.long[strings.TrimPrefix(names[0], "--")]
	for _, n := range names[1:] {
		if t.long[strings.TrimPrefix(n, "--")] != first {
			return false
		}
	}
	return true
}

// parseMode says what parse does with the first non-option argument.
type parseMode int

const (
	stopAtPositional parseMode = iota // sbatch, srun: the rest belongs to the script or program
	permute                           // squeue, scancel...: options may follow positional arguments
)

// parse parses args as getopt_long does and returns the options found and the
// positional arguments. src labels the values (see optVal.src).
func (t *optTable) parse(args []string, mode parseMode, src string) (optSet, []string, error) {
	set := optSet{}
	var pos []string
	record := func(o *opt, value string) error {
		if o.unsupported != "" {
			return &api.FieldError{Field: o.display(), Value: value, Msg: o.unsupported}
		}
		if o.ignored {
			return nil
		}
		set[o.keyName()] = append(set[o.keyName()], optVal{name: o.display(), value: value, src: src})
		return nil
	}
	flagValue := func(o *opt) string {
		if o.set != "" {
			return o.set
		}
		return "true"
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return set, append(pos, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			o, err := t.lookupLong(name)
			if err != nil {
				return nil, nil, err
			}
			switch o.kind {
			case optFlag:
				if hasValue {
					return nil, nil, &api.FieldError{Field: o.display(), Value: value, Msg: "takes no value"}
				}
				value = flagValue(o)
			case optOptional:
				if !hasValue {
					value = o.def
				}
			default:
				if !hasValue {
					if i+1 >= len(args) {
						return nil, nil, &api.FieldError{Field: o.display(), Value: "", Msg: "needs a value"}
					}
					i++
					value = args[i]
				}
			}
			if err := record(o, value); err != nil {
				return nil, nil, err
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				o, ok := t.short[a[j]]
				if !ok {
					return nil, nil, &api.FieldError{Field: "option", Value: "-" + a[j:j+1], Msg: "unknown option; see --help"}
				}
				if o.kind == optFlag {
					if err := record(o, flagValue(o)); err != nil {
						return nil, nil, err
					}
					continue
				}
				value := strings.TrimPrefix(a[j+1:], "=")
				if j+1 == len(a) {
					if o.kind == optOptional {
						value = o.def
					} else if i+1 >= len(args) {
						return nil, nil, &api.FieldError{Field: o.display(), Value: "", Msg: "needs a value"}
					} else {
						i++
						value = args[i]
					}
				}
				if err := record(o, value); err != nil {
					return nil, nil, err
				}
				break
			}
		default:
			if mode == stopAtPositional {
				return set, append(pos, args[i:]...), nil
			}
			pos = append(pos, a)
		}
	}
	return set, pos, nil
}

// flags renders the options as urfave/cli flags, for help output only: the
// commands parse their own arguments.
func (t *optTable) flags() []ucli.Flag {
	var out []ucli.Flag
	for _, o := range t.opts {
		if o.hidden || o.ignored || o.unsupported != "" {
			continue
		}
		var names []string
		if o.short != 0 {
			names = append(names, string(o.short))
		}
		names = append(names, o.aliases...)
		if o.kind == optFlag {
			out = append(out, &ucli.BoolFlag{Name: o.long, Aliases: names, Usage: o.usage})
		} else {
			out = append(out, &ucli.StringFlag{Name: o.long, Aliases: names, Usage: o.usage})
		}
	}
	return out
}

// addrOpt is the controller address option every client command has.
func addrOpt() *opt {
	return &opt{long: "addr", usage: "controller address(es), comma-separated (default $FAIRWAY_ADDR, then http://127.0.0.1:6817)"}
}

// helpOpt is --help (and -h where the command does not use -h otherwise).
func helpOpt(short byte) *opt {
	return &opt{long: "help", short: short, kind: optFlag, usage: "show help"}
}

// ignoredOpt is an option Fairway accepts for compatibility and ignores.
func ignoredOpt(long string, short byte, kind optKind) *opt {
	return &opt{long: long, short: short, kind: kind, ignored: true}
}
