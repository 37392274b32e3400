package api

import (
	"fmt"
	"strconv"
	"strings"
)

// Dependency types (sbatch --dependency).
const (
	DepAfter      = "after"      // the job started (or was cancelled)
	DepAfterAny   = "afterany"   // the job ended, in any state
	DepAfterOK    = "afterok"    // the job completed with exit code 0
	DepAfterNotOK = "afternotok" // the job ended in another way
	DepSingleton  = "singleton"  // no other job of the same name and user is running
)

// Dependency is a parsed --dependency expression.
type Dependency struct {
	// Any: the job may start when any term holds ("?"-separated); otherwise
	// every term must hold (","-separated).
	Any   bool
	Terms []DependencyTerm
}

// DependencyTerm is one TYPE:JOB[:JOB...] term, or singleton.
type DependencyTerm struct {
	Type string
	Jobs []JobRef // empty for singleton
	// DelayMins is after's +TIME: the job may start this many minutes after
	// the jobs started.
	DelayMins int
}

// maxDelayMins bounds after's +TIME (minutes), so that the start time plus
// the delay in seconds cannot overflow (the scheduler compares
// startAt+DelayMins*60 with the clock).
const maxDelayMins = 1<<31 - 1

// dependencyForms describes what --dependency accepts, for error messages.
const dependencyForms = "want TYPE:JOBID[:JOBID...] terms separated by , (all must hold) or ? (any may hold), " +
	"where TYPE is after, afterany, afterok or afternotok, or singleton; for example afterok:42:43,afterany:44 or after:42+10"

// ParseDependency parses a Slurm --dependency expression. Errors are
// *FieldError values for "--dependency".
func ParseDependency(expr string) (Dependency, error) {
	d, err := parseDependency(expr)
	if err != nil {
		return Dependency{}, err
	}
	return d, nil
}

func parseDependency(expr string) (Dependency, *FieldError) {
	value := expr
	expr = strings.TrimSpace(expr)
	bad := func(format string, args ...any) *FieldError {
		return fieldErr("--dependency", value, "%s; %s", fmt.Sprintf(format, args...), dependencyForms)
	}
	if expr == "" {
		return Dependency{}, bad("the expression is empty")
	}
	var d Dependency
	sep := ","
	if strings.Contains(expr, "?") {
		if strings.Contains(expr, ",") {
			return Dependency{}, bad("terms may be separated by , or by ?, not both")
		}
		d.Any, sep = true, "?"
	}
	for _, term := range strings.Split(expr, sep) {
		if term == DepSingleton {
			d.Terms = append(d.Terms, DependencyTerm{Type: DepSingleton})
			continue
		}
		typ, jobs, ok := strings.Cut(term, ":")
		switch typ {
		case DepAfter, DepAfterAny, DepAfterOK, DepAfterNotOK:
		case "":
			return Dependency{}, bad("a term is empty")
		default:
			return Dependency{}, bad("unknown dependency type %q", typ)
		}
		if !ok || jobs == "" {
			return Dependency{}, bad("%s needs at least one job id, as in %s:42", typ, typ)
		}
		t := DependencyTerm{Type: typ}
		for _, id := range strings.Split(jobs, ":") {
			if typ == DepAfter {
				if idPart, delay, hasDelay := strings.Cut(id, "+"); hasDelay {
					n, err := strconv.Atoi(delay)
					if err != nil || n < 0 || n > maxDelayMins {
						return Dependency{}, bad("%q: the delay after + must be a number of minutes up to %d", id, maxDelayMins)
					}
					t.DelayMins, id = n, idPart
				}
			}
			ref, err := ParseJobRef(id)
			if err != nil || strings.ContainsAny(id, " \t") {
				return Dependency{}, bad("%q is not a job id", id)
			}
			t.Jobs = append(t.Jobs, ref)
		}
		d.Terms = append(d.Terms, t)
	}
	return d, nil
}
