package cli

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fairway-hpc/fairway/api"
)

// wantFieldError fails t unless err wraps an *api.FieldError naming a field
// (and, when field is not empty, that field).
func wantFieldError(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field == "" || (field != "" && fe.Field != field) {
		t.Fatalf("%s: error %v (%T) is not a *api.FieldError for %q", what, err, err, field)
	}
}

// quoteWords writes words so that splitDirective reads them back: every
// rune quoted on its own, a double quote inside single quotes.
func quoteWords(words []string) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteByte(' ')
		if w == "" {
			b.WriteString(`""`)
		}
		for _, r := range w {
			if r == '"' {
				b.WriteString(`'"'`)
			} else {
				b.WriteString(`"` + string(r) + `"`)
			}
		}
	}
	return b.String()
}

// FuzzSplitDirective checks that splitDirective never panics, that text
// without quotes or # splits on blanks and tabs alone, and that the words it
// returns, quoted again, split to the same words.
func FuzzSplitDirective(f *testing.F) {
	for _, s := range []string{
		" --time=1:00 -N 2", "\t--job-name=\"my job\" # comment here", " --output='out %j.txt'", " --comment=a#b", "",
		` --job-name="open`, `'"'"'"`, `""`, "a\"b'c\"d'", " # only a comment", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitDirective(s)
		if err != nil {
			return
		}
		if !strings.ContainsAny(s, `"'#`) && utf8.ValidString(s) {
			want := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(words, want) {
				t.Fatalf("splitDirective(%q) = %q, want %q", s, words, want)
			}
		}
		q := quoteWords(words)
		back, err := splitDirective(q)
		if err != nil || !slices.Equal(back, words) || (len(words) == 0) != (len(back) == 0) {
			t.Fatalf("splitDirective(%q) = %q; quoted as %q it splits as %q, %v", s, words, q, back, err)
		}
	})
}

// FuzzSbatchScript drives sbatch's spec building (buildSpec: the #SBATCH
// directives of a script read from standard input, parsed and applied,
// then api.ValidateSpec) with a fake environment. It checks that nothing
// panics, that every rejection is an *api.FieldError naming a field, and
// that an accepted spec is valid for the controller's first checks, with
// counts inside the bounds the options document and a --mem-per-cpu product
// that did not overflow.
func FuzzSbatchScript(f *testing.F) {
	for _, s := range []string{
		"#SBATCH --job-name=train -N 2 --ntasks=8 -c 4 --mem=16G --time=1-00:00:00\necho hi\n",
		"#SBATCH --gres=gpu:h100:2 --partition=gpu,cpu --account=a --qos=high --priority=5 --nice\n",
		"#SBATCH --gpus=4 -N 2\n#SBATCH --gpus-per-task=2 -n 3\n",
		"#SBATCH --mem-per-cpu=4G -n 4 -c 2\n",
		"#SBATCH --array=0-15:4%2 --dependency=afterok:1?afterany:2 --begin=now+1hour\n",
		"#SBATCH --signal=B:USR1@120 --export=NONE,A=1 --no-requeue --hold\n",
		"#SBATCH --container-image=docker.io/library/ubuntu:22.04 --container-mounts=/data:/data:ro\n",
		"#SBATCH --output='out %j.txt' --error=\"err %j\" -D sub\n",
		"#SBATCH --time=UNLIMITED --time=0\n#SBATCH --frobnicate\n", "#SBATCH -N 2 oops\n", "#SBATCH --nodes\n",
		"#SBATCH --mem=99999999999T\n", "#SBATCH --signal=KILL@99999\n", "#SBATCH --begin=now+99999999999999weeks\n",
		"#SBATCH --nodelist=n1\n", "#SBATCH --array=0-100000,0-100000\n", "#SBATCH -w\n", "#SBATCH --chdir=\n",
		"#SBATCH --mem-per-cpu=2000000G -n 1048576 -c 1048576\n", "#SBATCH --mem-per-cpu=9223372036854775807K\n",
	} {
		f.Add(s)
	}
	table := newOptTable(sbatchOpts())
	f.Fuzz(func(t *testing.T, body string) {
		script := "#!/bin/sh\n" + body
		te := &testEnv{dir: "/home/alice", stdin: script, vars: map[string]string{"HOME": "/home/alice"}}
		inv := &invocation{env: te.env(), name: "sbatch", opts: optSet{}}
		spec, err := buildSpec(inv)
		if err != nil {
			wantFieldError(t, "buildSpec", err, "")
			return
		}
		if err := api.ValidateSpec(&spec, nil); err != nil {
			t.Fatalf("buildSpec accepted a spec that ValidateSpec rejects: %v", err)
		}
		switch {
		case spec.Nodes < 1 || spec.Nodes > 1<<20:
			t.Fatalf("--nodes %d outside 1..2^20", spec.Nodes)
		case spec.NTasks < 1:
			t.Fatalf("--ntasks %d", spec.NTasks)
		case spec.CPUsPerTask < 1 || spec.CPUsPerTask > 1<<20:
			t.Fatalf("--cpus-per-task %d outside 1..2^20", spec.CPUsPerTask)
		case spec.TotalCPUsPerNode() < 1:
			t.Fatalf("TotalCPUsPerNode() = %d", spec.TotalCPUsPerNode())
		case spec.Signal != nil && (spec.Signal.AtSeconds < 0 || spec.Signal.AtSeconds > 65535 || !api.ValidSignalName(spec.Signal.Name)):
			t.Fatalf("--signal %+v", *spec.Signal)
		case spec.TimeLimitSecs < 0 || spec.BeginTime < 0 || spec.GPUs < 0 || spec.MemoryMB < 0:
			t.Fatalf("negative value in %+v", spec)
		}
		// --mem-per-cpu: the per-node memory is the exact product.
		set, err := parseDirectives(table, script, "standard input")
		if err != nil {
			t.Fatalf("buildSpec accepted directives that parseDirectives rejects: %v", err)
		}
		if v, ok := set.last("memory"); ok && v.name == "--mem-per-cpu" {
			perCPU, err := parseMemMB(v.value, v.name)
			if err != nil {
				t.Fatal(err)
			}
			want := new(big.Int).Mul(big.NewInt(perCPU), big.NewInt(int64(spec.TotalCPUsPerNode())))
			if !want.IsInt64() || want.Int64() != spec.MemoryMB {
				t.Fatalf("--mem-per-cpu=%s with %d CPUs per node: MemoryMB = %d, want %s", v.value, spec.TotalCPUsPerNode(), spec.MemoryMB, want)
			}
		}
	})
}

// FuzzParseMem checks that parseMemMB never panics, rejects with an
// *api.FieldError, accepts only sizes from 0 to math.MaxInt32 GiB (in MB),
// and reads back its result written as megabytes.
func FuzzParseMem(f *testing.F) {
	for _, s := range []string{"16G", "512M", "16000", "4k", "1T", "2048T", "2097151T", "0", "-5", "", "1.5G", "9223372036854775807K", "10GB", "7x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mb, err := parseMemMB(s, "--mem")
		if err != nil {
			wantFieldError(t, "parseMemMB("+strconv.Quote(s)+")", err, "--mem")
			return
		}
		if mb < 0 || mb > math.MaxInt32*1024 {
			t.Fatalf("parseMemMB(%q) = %d MB, outside 0..%d", s, mb, int64(math.MaxInt32*1024))
		}
		back, err := parseMemMB(strconv.FormatInt(mb, 10)+"M", "--mem")
		if err != nil || back != mb {
			t.Fatalf("parseMemMB(%q) = %d, which reads back as %d, %v", s, mb, back, err)
		}
	})
}

// FuzzParseGres checks that parseGres (--gres) never panics, rejects with an
// *api.FieldError for --gres, accepts counts from 1 to 65536, and that the
// canonical gpu[:TYPE]:N form of what it accepts parses to the same request.
func FuzzParseGres(f *testing.F) {
	for _, s := range []string{"gpu", "gpu:2", "gpu:h100:2", "gres:gpu:1", "gres/gpu:a100:8", "gpu:0", "gpu:65537", "gpu:-1", "gpu:1,gpu:2", "mps:1", "gpu:1x:1", "", "gpu::1", "gpu:h100:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, n, err := parseGres(s)
		if err != nil {
			wantFieldError(t, "parseGres("+strconv.Quote(s)+")", err, "--gres")
			return
		}
		if n < 1 || n > 1<<16 {
			t.Fatalf("parseGres(%q) count %d outside 1..65536", s, n)
		}
		canon := "gpu:" + strconv.Itoa(n)
		if typ != "" {
			canon = "gpu:" + typ + ":" + strconv.Itoa(n)
		}
		typ2, n2, err := parseGres(canon)
		if err != nil || typ2 != typ || n2 != n {
			t.Fatalf("parseGres(%q) = %q, %d; %q parses as %q, %d, %v", s, typ, n, canon, typ2, n2, err)
		}
		spec := api.JobSpec{GPUs: n, GPUType: typ}
		if err := api.ValidateSpec(&spec, nil); err != nil {
			var fe *api.FieldError
			if errors.As(err, &fe) && fe.Field == "--gres" {
				return // a type the controller refuses (too long), still a field error
			}
		}
	})
}

// FuzzParseSignalSpec checks that parseSignalSpec (--signal) never panics,
// rejects with an *api.FieldError for --signal, accepts only signals
// api.ValidSignalName knows with a time of 0 to 65535 seconds, and that the
// canonical [B:]NAME@TIME form parses to the same request.
func FuzzParseSignalSpec(f *testing.F) {
	for _, s := range []string{"USR1", "B:USR1@120", "R:TERM@0", "SIGUSR2@65535", "10", "64", "0", "65", "usr1@-1", "USR1@65536", "X:USR1", "BR:INT", "B:", "@5", "KILL@99999999999999999999", " B:HUP@1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := parseSignalSpec(s)
		if err != nil {
			wantFieldError(t, "parseSignalSpec("+strconv.Quote(s)+")", err, "--signal")
			return
		}
		if !api.ValidSignalName(sig.Name) || sig.AtSeconds < 0 || sig.AtSeconds > 65535 {
			t.Fatalf("parseSignalSpec(%q) = %+v", s, *sig)
		}
		canon := sig.Name + "@" + strconv.Itoa(sig.AtSeconds)
		if sig.BatchOnly {
			canon = "B:" + canon
		}
		back, err := parseSignalSpec(canon)
		if err != nil || *back != *sig {
			t.Fatalf("parseSignalSpec(%q) = %+v; %q parses as %+v, %v", s, *sig, canon, back, err)
		}
	})
}
