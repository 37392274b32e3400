package raftstore

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// defaultOutputPattern is Slurm's default batch output file name.
const defaultOutputPattern = "slurm-%j.out"

// noArrayIndex is what %a expands to for a job that is not part of an array
// (Slurm's NO_VAL).
const noArrayIndex = "4294967294"

// outputPaths returns a job's stdout and stderr paths: the spec's patterns
// (Slurm's filename patterns) expanded, relative ones under the work
// directory. node is the first node of the allocation, or "" before the job
// starts, in which case %N is left in place.
func outputPaths(j *api.Job, node string) (stdout, stderr string) {
	pattern := j.Spec.Stdout
	if pattern == "" {
		pattern = defaultOutputPattern
	}
	stdout = expandOutputPattern(pattern, j, node)
	if j.Spec.Stderr == "" {
		return stdout, stdout
	}
	return stdout, expandOutputPattern(j.Spec.Stderr, j, node)
}

// expandOutputPattern expands Slurm's filename pattern symbols:
//
//	%%  a literal %
//	%A  the array job ID (the job ID for a job that is not an array)
//	%a  the array task index (4294967294 for a job that is not an array task)
//	%j  %J  the job ID
//	%N  the first node's short name (left as is before the job starts)
//	%n  %t  node and task index relative to the job (0 for the batch script)
//	%u  the user name
//	%x  the job name
//
// A number between % and the letter zero-pads numeric values to that width
// (at most 10). A pattern containing a backslash is not expanded; the
// backslashes are removed. Unknown symbols are kept as written.
func expandOutputPattern(pattern string, j *api.Job, node string) string {
	var out string
	if strings.Contains(pattern, `\`) {
		out = strings.ReplaceAll(pattern, `\`, "")
	} else {
		out = expandSymbols(pattern, j, node)
	}
	if out != "" && !filepath.IsAbs(out) && j.Spec.WorkDir != "" {
		out = filepath.Join(j.Spec.WorkDir, out)
	}
	return out
}

// expandSymbols does the % replacements of expandOutputPattern.
func expandSymbols(pattern string, j *api.Job, node string) string {
	var b strings.Builder
	id := uint64(j.ID)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		k := i + 1
		for k < len(pattern) && pattern[k] >= '0' && pattern[k] <= '9' {
			k++
		}
		if k >= len(pattern) {
			b.WriteString(pattern[i:])
			break
		}
		width, _ := strconv.Atoi(pattern[i+1 : k])
		width = min(width, 10)
		num := func(v uint64) string { return fmt.Sprintf("%0*d", width, v) }
		symbol := pattern[i : k+1]
		switch pattern[k] {
		case '%':
			b.WriteByte('%')
		case 'j', 'J':
			b.WriteString(num(id))
		case 'A':
			if j.ArrayJobID != 0 {
				b.WriteString(num(uint64(j.ArrayJobID)))
			} else {
				b.WriteString(num(id))
			}
		case 'a':
			if j.IsArrayTask() {
				b.WriteString(num(uint64(j.ArrayTaskID)))
			} else {
				b.WriteString(noArrayIndex)
			}
		case 'n', 't':
			b.WriteString(num(0))
		case 'N':
			if node == "" {
				b.WriteString(symbol)
			} else {
				b.WriteString(shortHostname(node))
			}
		case 'u':
			b.WriteString(j.Spec.User)
		case 'x':
			b.WriteString(j.Spec.Name)
		default:
			b.WriteString(symbol)
		}
		i = k
	}
	return b.String()
}

// shortHostname is a node name without its domain.
func shortHostname(node string) string {
	if i := strings.IndexByte(node, '.'); i > 0 {
		return node[:i]
	}
	return node
}
