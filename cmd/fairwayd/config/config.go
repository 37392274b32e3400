// Package config reads the daemons' configuration files: `fairwayd ctld
// --config /etc/fairway/ctld.toml`, `fairwayd noded --config
// /etc/fairway/noded.toml`.
//
// A file is flat TOML whose keys are the command's flag names in snake_case
// (--http-addr is http_addr, --tls-cert is tls_cert), so every flag has a key
// and a new flag gets one without any change here. Values have the flag's
// type: strings for string flags, true/false for switches, integers for
// numbers, Go durations as strings ("10s", "1h30m") for durations, and arrays
// of strings (or one string) for list flags such as partition. A flag given
// on the command line overrides the file; a list flag on the command line
// replaces the file's list. Unknown keys, tables, values of the wrong type
// and values the flag refuses are errors naming the file and the key.
//
// The package is linked only into fairwayd, never into the client.
package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
)

// FlagName is the name of the flag that names the configuration file; a
// file may not set it.
const FlagName = "config"

// Setting is one key of a configuration file, as values for its flag.
type Setting struct {
	// Key is the key as written in the file.
	Key string
	// Flag is the primary name of the flag the key sets.
	Flag string
	// Values are the flag's values in command-line form, one per Set call
	// (several only for list flags).
	Values []string
}

// kind is how a flag's value is written in TOML.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindList
)

// String names the kind as the error messages do.
func (k kind) String() string {
	switch k {
	case kindBool:
		return "true or false"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindDuration:
		return `a duration string such as "10s" or "1h30m"`
	case kindList:
		return "an array of strings"
	default:
		return "a string"
	}
}

// flagKind returns the TOML kind of a flag, or false for a flag type the
// loader does not know.
func flagKind(f cli.Flag) (kind, bool) {
	switch f.(type) {
	case *cli.StringFlag, *cli.PathFlag, *cli.GenericFlag:
		return kindString, true
	case *cli.BoolFlag:
		return kindBool, true
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return kindInt, true
	case *cli.Float64Flag:
		return kindFloat, true
	case *cli.DurationFlag:
		return kindDuration, true
	case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag:
		return kindList, true
	}
	return 0, false
}

// Key is the configuration key of a flag name: --http-addr is http_addr.
func Key(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// Keys returns the configuration keys of flags (primary names and aliases),
// sorted, without the config flag itself and the help flag.
func Keys(flags []cli.Flag) []string {
	var keys []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != FlagName && n != "help" && n != "h" {
				keys = append(keys, Key(n))
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// target is the flag a key sets.
type target struct {
	flag string
	kind kind
}

// targets maps every key of flags (each name and alias) to its flag.
func targets(flags []cli.Flag) (map[string]target, error) {
	m := make(map[string]target)
	for _, f := range flags {
		names := f.Names()
		if len(names) == 0 || names[0] == FlagName {
			continue
		}
		k, ok := flagKind(f)
		if !ok {
			return nil, fmt.Errorf("flag --%s: type %T cannot be set from a configuration file", names[0], f)
		}
		for _, n := range names {
			m[Key(n)] = target{flag: names[0], kind: k}
		}
	}
	return m, nil
}

// Parse reads a configuration file's contents (file names it in errors)
// into the settings of flags, sorted by key. It checks every key against
// flags and every value against its flag's type; it does not set anything.
func Parse(file string, data []byte, flags []cli.Flag) ([]Setting, error) {
	tgt, err := targets(flags)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	settings := make([]Setting, 0, len(keys))
	byFlag := make(map[string]string)
	for _, k := range keys {
		if k == FlagName {
			return nil, fmt.Errorf("%s: key %q: a configuration file cannot name another", file, k)
		}
		t, ok := tgt[k]
		if !ok {
			return nil, fmt.Errorf("%s: unknown key %q%s", file, k, suggest(k, tgt))
		}
		if other, dup := byFlag[t.flag]; dup {
			return nil, fmt.Errorf("%s: keys %q and %q both set --%s", file, other, k, t.flag)
		}
		byFlag[t.flag] = k
		values, err := convert(raw[k], t.kind)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", file, k, err)
		}
		settings = append(settings, Setting{Key: k, Flag: t.flag, Values: values})
	}
	return settings, nil
}

// suggest names the key an unknown one was probably meant to be (written
// with dashes, as the flag), as a hint appended to the error.
func suggest(k string, tgt map[string]target) string {
	if _, ok := tgt[Key(k)]; ok {
		return fmt.Sprintf(" (did you mean %q?)", Key(k))
	}
	return ""
}

// convert turns one TOML value into the command-line values of a flag of
// kind k.
func convert(v any, k kind) ([]string, error) {
	bad := func() error { return fmt.Errorf("want %s, got %s", k, describe(v)) }
	switch k {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		return []string{s}, nil
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad()
		}
		return []string{strconv.FormatBool(b)}, nil
	case kindInt:
		i, ok := v.(int64)
		if !ok {
			return nil, bad()
		}
		return []string{strconv.FormatInt(i, 10)}, nil
	case kindFloat:
		switch n := v.(type) {
		case int64:
			return []string{strconv.FormatInt(n, 10)}, nil
		case float64:
			return []string{strconv.FormatFloat(n, 'g', -1, 64)}, nil
		}
		return nil, bad()
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			return nil, bad()
		}
		if _, err := time.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("%w (want %s)", err, k)
		}
		return []string{s}, nil
	case kindList:
		if s, ok := v.(string); ok {
			return []string{s}, nil
		}
		list, ok := v.([]any)
		if !ok {
			return nil, bad()
		}
		out := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d: want a string, got %s", i, describe(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, bad()
}

// describe names a TOML value's type for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("a %T", v)
}

// Apply sets each setting's flag in c unless the command line set it
// (flags given on the command line override the file). file names the file
// in errors.
func Apply(c *cli.Context, file string, settings []Setting) error {
	for _, s := range settings {
		if c.IsSet(s.Flag) {
			continue
		}
		for _, v := range s.Values {
			if err := c.Set(s.Flag, v); err != nil {
				return fmt.Errorf("%s: key %q: %w", file, s.Key, err)
			}
		}
	}
	return nil
}

// Load reads the file named by the command's --config flag, if any, and
// applies it to c (see Apply). It is meant as a command's Before hook.
func Load(c *cli.Context) error {
	path := c.String(FlagName)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("configuration file: %w", err)
	}
	return LoadData(c, path, data)
}

// LoadData parses data, the contents of the configuration file path, with
// the flags of c's command and applies it to c.
func LoadData(c *cli.Context, path string, data []byte) error {
	if c.Command == nil {
		return errors.New("configuration file: no command")
	}
	settings, err := Parse(path, data, c.Command.Flags)
	if err != nil {
		return err
	}
	return Apply(c, path, settings)
}
