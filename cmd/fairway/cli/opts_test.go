package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

// flat renders an optSet as "key=value" items in option order, for comparison.
func flat(s optSet, keys ...string) []string {
	var out []string
	for _, k := range keys {
		for _, v := range s[k] {
			out = append(out, k+"="+v.value)
		}
	}
	return out
}

func TestParseGetoptForms(t *testing.T) {
	table := newOptTable(sbatchOpts())
	keys := []string{"nodes", "ntasks", "job-name", "hold", "parsable", "time", "nice", "requeue", "memory", "gpus"}
	tests := []struct {
		args    []string
		want    []string
		wantPos []string
	}{
		{[]string{"-N2", "-n", "4", "script.sh", "-N", "3"}, []string{"nodes=2", "ntasks=4"}, []string{"script.sh", "-N", "3"}},
		{[]string{"--nodes=2", "--ntasks", "4", "--job-name=a b"}, []string{"nodes=2", "ntasks=4", "job-name=a b"}, nil},
		{[]string{"-HJtrain", "--parsable"}, []string{"job-name=train", "hold=true", "parsable=true"}, nil},
		{[]string{"-t=10", "--nice", "--no-requeue"}, []string{"time=10", "nice=100", "requeue=false"}, nil},
		{[]string{"--nice=5", "--requeue", "--mem", "4G", "--mem-per-cpu=1G"}, []string{"nice=5", "requeue=true", "memory=4G", "memory=1G"}, nil},
		{[]string{"--gres=gpu:2", "-G", "4"}, []string{"gpus=gpu:2", "gpus=4"}, nil},
		{[]string{"--job", "x"}, []string{"job-name=x"}, nil}, // unambiguous prefix, as getopt_long
		{[]string{"--", "-N2"}, nil, []string{"-N2"}},
		{[]string{"--qos=high", "--mail-type=END", "-N", "1"}, []string{"nodes=1"}, nil}, // accepted, no effect
	}
	for _, tt := range tests {
		set, pos, err := table.parse(tt.args, stopAtPositional, "")
		if err != nil {
			t.Errorf("parse(%q): %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, flat(set, keys...)); diff != "" {
			t.Errorf("parse(%q) options mismatch (-want +got):\n%s", tt.args, diff)
		}
		if diff := cmp.Diff(tt.wantPos, pos); diff != "" {
			t.Errorf("parse(%q) positional mismatch (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestParsePermute(t *testing.T) {
	table := newOptTable(scancelOpts())
	set, pos, err := table.parse([]string{"12", "--signal=USR1", "13", "-uBob"}, permute, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"signal=USR1", "user=Bob"}, flat(set, "signal", "user")); diff != "" {
		t.Errorf("options mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"12", "13"}, pos); diff != "" {
		t.Errorf("positional mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	table := newOptTable(sbatchOpts())
	tests := []struct {
		args         []string
		field, inMsg string
	}{
		{[]string{"--nodes"}, "--nodes", "needs a value"},
		{[]string{"-N"}, "--nodes", "needs a value"},
		{[]string{"--bogus"}, "option", "unknown option"},
		{[]string{"-y"}, "option", "unknown option"},
		{[]string{"--hold=yes"}, "--hold", "takes no value"},
		{[]string{"--n=1"}, "option", "ambiguous"},
	}
	for _, tt := range tests {
		_, _, err := table.parse(tt.args, stopAtPositional, "")
		var fe *api.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.inMsg) {
			t.Errorf("parse(%q) error = %v, want a %s FieldError mentioning %q", tt.args, err, tt.field, tt.inMsg)
		}
	}
}

func TestSplitDirective(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{" --time=1:00 -N 2", []string{"--time=1:00", "-N", "2"}},
		{"\t--job-name=\"my job\" # comment here", []string{"--job-name=my job"}},
		{" --output='out %j.txt'", []string{"--output=out %j.txt"}},
		{" --comment=a#b", []string{"--comment=a#b"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := splitDirective(tt.in)
		if err != nil {
			t.Errorf("splitDirective(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitDirective(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	if _, err := splitDirective(` --job-name="open`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}

func TestParseDirectives(t *testing.T) {
	table := newOptTable(sbatchOpts())
	script := strings.Join([]string{
		"#!/bin/bash",
		"#SBATCH --job-name=train",
		"",
		"# a comment",
		"#SBATCH -N 2 --ntasks=8   # trailing comment",
		"#SBATCH --job-name=override",
		"   #SBATCH --time=5 (indented: a comment, ignored)",
		"#SBATCHX --time=6",
		"echo start",
		"#SBATCH --partition=ignored-after-the-first-command",
	}, "\n")
	got, err := parseDirectives(table, script, "train.sh")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nodes=2", "ntasks=8", "job-name=train", "job-name=override"}
	if diff := cmp.Diff(want, flat(got, "nodes", "ntasks", "job-name", "time", "partition")); diff != "" {
		t.Errorf("directives mismatch (-want +got):\n%s", diff)
	}
	if v, _ := got.last("nodes"); v.src != "train.sh line 5" {
		t.Errorf("--nodes came from %q, want train.sh line 5", v.src)
	}
}

func TestParseDirectivesErrors(t *testing.T) {
	table := newOptTable(sbatchOpts())
	tests := []struct {
		script string
		want   string // the error message, exactly
	}{
		{"#!/bin/sh\n#SBATCH --nodes\necho hi\n", `x.sh line 2: invalid --nodes "": needs a value`},
		{"#!/bin/sh\n\n#SBATCH --frobnicate=3\n", `x.sh line 3: invalid option "--frobnicate": unknown option; see --help`},
		{"#!/bin/sh\n#SBATCH -N 2 oops\n", `x.sh line 2: invalid #SBATCH directive "oops": not an option; directives look like #SBATCH --time=1:00:00`},
		{"#!/bin/sh\n#SBATCH --job-name='x\n", `x.sh line 2: invalid #SBATCH directive "--job-name='x": unterminated ' quote`},
	}
	for _, tt := range tests {
		_, err := parseDirectives(table, tt.script, "x.sh")
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseDirectives(%q) error = %v, want %q", tt.script, err, tt.want)
		}
		var fe *api.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("parseDirectives(%q) error %v is not a FieldError", tt.script, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	spec, err := parseFormat("id=%.18i%% %-8j|%5P%R", "--format", squeueValid)
	if err != nil {
		t.Fatal(err)
	}
	want := fmtSpec{prefix: "id=", fields: []fmtField{
		{letter: 'i', width: 18, right: true, suffix: "% "},
		{letter: 'j', width: 8, suffix: "|"},
		{letter: 'P', width: 5},
		{letter: 'R'},
	}}
	if diff := cmp.Diff(want, spec, cmp.AllowUnexported(fmtSpec{}, fmtField{})); diff != "" {
		t.Errorf("parseFormat mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"%", "%.5", "%@", "%9999999i"} {
		if _, err := parseFormat(bad, "--format", squeueValid); err == nil {
			t.Errorf("parseFormat(%q) succeeded, want an error", bad)
		}
	}
}

func TestCell(t *testing.T) {
	tests := []struct {
		s          string
		width      int
		right, cut bool
		want       string
	}{
		{"abc", 0, false, true, "abc"},
		{"abc", 5, true, true, "  abc"},
		{"abc", 5, false, true, "abc  "},
		{"abcdefgh", 5, true, true, "abcde"},
		{"abcdefgh", 5, false, false, "abcde"}, // left-justified values are always cut
		{"node[1-20]", 5, true, false, "node[1-20]"},
	}
	for _, tt := range tests {
		if got := cell(tt.s, tt.width, tt.right, tt.cut); got != tt.want {
			t.Errorf("cell(%q, %d, right=%v, cut=%v) = %q, want %q", tt.s, tt.width, tt.right, tt.cut, got, tt.want)
		}
	}
}

func TestSacctCell(t *testing.T) {
	tests := []struct {
		value string
		width int
		want  string
	}{
		{"train", 10, "     train "},
		{"1", -12, "1            "},
		{"CANCELLED by 1000", 10, "CANCELLED+ "},
		{"a-very-long", -4, "a-v+ "},
	}
	for _, tt := range tests {
		if got := sacctCell(tt.value, tt.width); got != tt.want {
			t.Errorf("sacctCell(%q, %d) = %q, want %q", tt.value, tt.width, got, tt.want)
		}
	}
}
