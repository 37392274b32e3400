package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
)

// testFlags has one flag of each kind the daemons use.
func testFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: FlagName},
		&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:6817"},
		&cli.BoolFlag{Name: "bootstrap"},
		&cli.IntFlag{Name: "cpus"},
		&cli.Int64Flag{Name: "memory"},
		&cli.DurationFlag{Name: "heartbeat", Value: 10 * time.Second},
		&cli.StringSliceFlag{Name: "partition", Aliases: []string{"partitions"}},
		&cli.Float64Flag{Name: "weight"},
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    []Setting
		wantErr string // substring; the file name is always checked
	}{
		{name: "empty", toml: "", want: []Setting{}},
		{name: "comments only", toml: "# nothing\n\n", want: []Setting{}},
		{
			name: "every kind",
			toml: `http_addr = "10.0.0.1:6817"
bootstrap = true
cpus = 8
memory = 64000
heartbeat = "5s"
partition = ["gpu", "debug"]
weight = 1.5
`,
			want: []Setting{
				{Key: "bootstrap", Flag: "bootstrap", Values: []string{"true"}},
				{Key: "cpus", Flag: "cpus", Values: []string{"8"}},
				{Key: "heartbeat", Flag: "heartbeat", Values: []string{"5s"}},
				{Key: "http_addr", Flag: "http-addr", Values: []string{"10.0.0.1:6817"}},
				{Key: "memory", Flag: "memory", Values: []string{"64000"}},
				{Key: "partition", Flag: "partition", Values: []string{"gpu", "debug"}},
				{Key: "weight", Flag: "weight", Values: []string{"1.5"}},
			},
		},
		{name: "alias key", toml: `partitions = ["a"]`, want: []Setting{{Key: "partitions", Flag: "partition", Values: []string{"a"}}}},
		{name: "list as one string", toml: `partition = "a"`, want: []Setting{{Key: "partition", Flag: "partition", Values: []string{"a"}}}},
		{name: "empty list", toml: `partition = []`, want: []Setting{{Key: "partition", Flag: "partition", Values: []string{}}}},
		{name: "false switch", toml: `bootstrap = false`, want: []Setting{{Key: "bootstrap", Flag: "bootstrap", Values: []string{"false"}}}},
		{name: "integer for a number", toml: `weight = 2`, want: []Setting{{Key: "weight", Flag: "weight", Values: []string{"2"}}}},
		{name: "unknown key", toml: `bogus = 1`, wantErr: `unknown key "bogus"`},
		{name: "dashed key", toml: `http-addr = "x:1"`, wantErr: `unknown key "http-addr" (did you mean "http_addr"?)`},
		{name: "config key", toml: `config = "other.toml"`, wantErr: `key "config": a configuration file cannot name another`},
		{name: "help key", toml: `help = true`, wantErr: `unknown key "help"`},
		{name: "alias and name", toml: "partition = [\"a\"]\npartitions = [\"b\"]", wantErr: `keys "partition" and "partitions" both set --partition`},
		{name: "integer for a string", toml: `http_addr = 6817`, wantErr: `key "http_addr": want a string, got the integer 6817`},
		{name: "string for a switch", toml: `bootstrap = "yes"`, wantErr: `key "bootstrap": want true or false, got the string "yes"`},
		{name: "float for an integer", toml: `cpus = 1.5`, wantErr: `key "cpus": want an integer, got the number 1.5`},
		{name: "string for an integer", toml: `cpus = "8"`, wantErr: `key "cpus": want an integer`},
		{name: "duration without unit", toml: `heartbeat = "5"`, wantErr: `key "heartbeat": time: missing unit`},
		{name: "duration as integer", toml: `heartbeat = 5`, wantErr: `key "heartbeat": want a duration string`},
		{name: "list of integers", toml: `partition = [1]`, wantErr: `key "partition": element 0: want a string, got the integer 1`},
		{name: "table", toml: "[ctld]\nid = \"c1\"", wantErr: `unknown key "ctld"`},
		{name: "table for a known key", toml: "[http_addr]\nx = 1", wantErr: `key "http_addr": want a string, got a table`},
		{name: "date", toml: `http_addr = 2024-01-01`, wantErr: `got a date or time`},
		{name: "syntax", toml: "http_addr = \n", wantErr: `line 1`},
		{name: "duplicate key", toml: "cpus = 1\ncpus = 2", wantErr: `already been defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("test.toml", []byte(tt.toml), testFlags())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "test.toml: ") {
					t.Fatalf("Parse error = %v, want one starting with the file and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// values is what a command saw after its configuration file.
type values struct {
	HTTPAddr   string
	Bootstrap  bool
	CPUs       int
	Memory     int64
	Heartbeat  time.Duration
	Partitions []string
	Weight     float64
}

// runWith runs a command with testFlags, Load as its Before hook and args,
// and returns the values its action saw.
func runWith(t *testing.T, args ...string) (values, error) {
	t.Helper()
	var got values
	app := &cli.App{
		Name:           "t",
		ExitErrHandler: func(*cli.Context, error) {},
		Writer:         &strings.Builder{},
		ErrWriter:      &strings.Builder{},
		Commands: []*cli.Command{{
			Name:   "d",
			Flags:  testFlags(),
			Before: Load,
			Action: func(c *cli.Context) error {
				got = values{
					HTTPAddr: c.String("http-addr"), Bootstrap: c.Bool("bootstrap"),
					CPUs: c.Int("cpus"), Memory: c.Int64("memory"), Heartbeat: c.Duration("heartbeat"),
					Partitions: c.StringSlice("partition"), Weight: c.Float64("weight"),
				}
				return nil
			},
		}},
	}
	err := app.Run(append([]string{"t", "d"}, args...))
	return got, err
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.toml")
	full := `http_addr = "10.0.0.1:6817"
bootstrap = true
cpus = 8
memory = 1000
heartbeat = "5s"
partition = ["gpu", "debug"]
weight = 0.5
`
	fromFile := values{HTTPAddr: "10.0.0.1:6817", Bootstrap: true, CPUs: 8, Memory: 1000, Heartbeat: 5 * time.Second, Partitions: []string{"gpu", "debug"}, Weight: 0.5}
	defaults := values{HTTPAddr: "127.0.0.1:6817", Heartbeat: 10 * time.Second}
	with := func(f func(*values)) values {
		v := fromFile
		v.Partitions = append([]string(nil), v.Partitions...)
		f(&v)
		return v
	}
	tests := []struct {
		name string
		file string
		args []string
		want values
	}{
		{name: "no file", args: nil, want: defaults},
		{name: "file only", file: full, want: fromFile},
		{name: "flag overrides string", file: full, args: []string{"--http-addr", "10.9.9.9:1"}, want: with(func(v *values) { v.HTTPAddr = "10.9.9.9:1" })},
		{name: "flag turns switch off", file: full, args: []string{"--bootstrap=false"}, want: with(func(v *values) { v.Bootstrap = false })},
		{name: "flag overrides integer and duration", file: full, args: []string{"--cpus", "2", "--heartbeat", "1m"}, want: with(func(v *values) { v.CPUs = 2; v.Heartbeat = time.Minute })},
		{name: "flag list replaces file list", file: full, args: []string{"--partition", "cpu"}, want: with(func(v *values) { v.Partitions = []string{"cpu"} })},
		{name: "flag alias replaces file list", file: full, args: []string{"--partitions", "a,b"}, want: with(func(v *values) { v.Partitions = []string{"a", "b"} })},
		{name: "file sets what flags leave", file: `cpus = 4`, args: []string{"--memory", "7"}, want: func() values { v := defaults; v.CPUs = 4; v.Memory = 7; return v }()},
		{name: "file value equal to default", file: `http_addr = "127.0.0.1:6817"`, want: defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.file != "" {
				if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			got, err := runWith(t, append(args, tt.args...)...)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(file, []byte("cpus = \"many\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runWith(t, "--config", file)
	if err == nil || !strings.Contains(err.Error(), file+`: key "cpus"`) {
		t.Errorf("error = %v, want one naming %s and the key", err, file)
	}
	_, err = runWith(t, "--config", filepath.Join(dir, "missing.toml"))
	if err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("missing file: error = %v, want one naming the file", err)
	}
}

func TestKeys(t *testing.T) {
	want := []string{"bootstrap", "cpus", "heartbeat", "http_addr", "memory", "partition", "partitions", "weight"}
	if diff := cmp.Diff(want, Keys(testFlags())); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
}

func TestUnsupportedFlagType(t *testing.T) {
	flags := []cli.Flag{&cli.TimestampFlag{Name: "at", Layout: time.RFC3339}}
	if _, err := Parse("f.toml", nil, flags); err == nil || !strings.Contains(err.Error(), "--at") {
		t.Errorf("Parse with a timestamp flag: error = %v, want one naming --at", err)
	}
}

// FuzzParse checks that any file either fails with an error naming it or
// gives settings for known flags only, each applicable to a command.
func FuzzParse(f *testing.F) {
	f.Add([]byte("http_addr = \"10.0.0.1:6817\"\nbootstrap = true\ncpus = 8\nheartbeat = \"5s\"\npartition = [\"a\", \"b\"]\nweight = 1.5\n"))
	f.Add([]byte("[t]\nx = 1"))
	f.Add([]byte("cpus = 99999999999999999999"))
	f.Add([]byte("partition = [\"a\", 1]"))
	f.Add([]byte("a.b.c = 1"))
	f.Add([]byte("heartbeat = \"-1h\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		settings, err := Parse("fuzz.toml", data, testFlags())
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		known := map[string]bool{}
		for _, k := range Keys(testFlags()) {
			known[k] = true
		}
		for _, s := range settings {
			if !known[s.Key] {
				t.Fatalf("setting for unknown key %q", s.Key)
			}
		}
		app := &cli.App{Name: "t", Writer: &strings.Builder{}, ErrWriter: &strings.Builder{}, ExitErrHandler: func(*cli.Context, error) {},
			Commands: []*cli.Command{{Name: "d", Flags: testFlags(), Action: func(c *cli.Context) error {
				return Apply(c, "fuzz.toml", settings)
			}}}}
		if err := app.Run([]string{"t", "d"}); err != nil && !strings.HasPrefix(err.Error(), "fuzz.toml: key ") {
			t.Fatalf("Apply: %v", err)
		}
	})
}
