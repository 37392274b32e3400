package raftstore

import (
	"maps"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Bounds of an interner: past them it forgets what it holds and starts
// again, so that it never keeps more than this alive by itself.
const (
	internMaxEntries = 4096
	internMaxBytes   = 32 << 20
)

// interner makes the jobs a replica stores share equal scripts, working
// directories and environments instead of holding one copy per job: each
// submission decodes its own strings and maps, and a user submitting
// thousands of jobs from one shell sends the same script and environment
// each time (an --export=ALL environment is a few kilobytes, most of a
// pending job's memory). Sharing changes no value, only where it is held,
// so applying stays a pure function of (state, command). Stored jobs are
// never modified in place (copyJob clones the environment for writers), so
// sharing a map between them is safe. It belongs to the state machine's
// apply goroutine; it is not safe for concurrent use.
type interner struct {
	strs  map[string]string
	envs  map[string]map[string]string
	bytes int
	key   strings.Builder // reused to build an environment's key
}

// newInterner returns an empty interner.
func newInterner() *interner {
	return &interner{strs: map[string]string{}, envs: map[string]map[string]string{}}
}

// reserve makes room for n more bytes and one more entry, forgetting
// everything when the bounds would be passed.
func (in *interner) reserve(n int) {
	if in.bytes+n > internMaxBytes || len(in.strs)+len(in.envs) >= internMaxEntries {
		clear(in.strs)
		clear(in.envs)
		in.bytes = 0
	}
	in.bytes += n
}

// str returns the string equal to s that the interner holds, s itself the
// first time.
func (in *interner) str(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := in.strs[s]; ok {
		return c
	}
	in.reserve(len(s))
	in.strs[s] = s
	return s
}

// env returns the environment equal to e that the interner holds (shared:
// never to be modified), the first time a copy of e with its keys and
// values interned. e is not modified.
func (in *interner) env(e map[string]string) map[string]string {
	if len(e) == 0 {
		return e
	}
	keys := slices.Sorted(maps.Keys(e))
	in.key.Reset()
	for _, k := range keys {
		in.key.WriteString(k)
		in.key.WriteByte('=')
		in.key.WriteString(e[k])
		in.key.WriteByte(0)
	}
	if c, ok := in.envs[in.key.String()]; ok {
		return c
	}
	key := in.key.String()
	in.reserve(len(key))
	// A copy: e may be shared with a job readers see.
	c := make(map[string]string, len(e))
	for k, v := range e {
		c[in.str(k)] = in.str(v)
	}
	in.envs[key] = c
	return c
}

// spec makes a job spec share the interned script, working directory,
// output patterns and environment. The spec must be the stored job's own
// (not yet shared with a reader).
func (in *interner) spec(s *api.JobSpec) {
	s.Script = in.str(s.Script)
	s.WorkDir = in.str(s.WorkDir)
	s.Stdout = in.str(s.Stdout)
	s.Stderr = in.str(s.Stderr)
	s.Env = in.env(s.Env)
}
