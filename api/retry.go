package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxRetries bounds the attempts after the first a retry policy may ask for
// (AWS Batch allows 10 attempts in all).
const MaxRetries = 10

// RetryForms describes the --retry syntax, for error messages and help.
const RetryForms = "want N (retries after the first run, 0 to 10; 0 = never) optionally followed by conditions: " +
	"on_exit:CODE or on_exit:LO-HI (exit codes 1-255), on_signal or on_signal:SIG, on_node_fail, on_oom, on_launch_fail; " +
	"as in --retry=3 (any failure) or --retry=2,on_exit:3,on_node_fail"

// FailureKind is how a run failed, as a retry condition names it.
type FailureKind string

// The failures a retry policy can match. Cancelled, timed-out and preempted
// runs are not failures here: they are never retried.
const (
	FailExit       FailureKind = "exit"        // the batch script exited with a non-zero code
	FailSignal     FailureKind = "signal"      // the batch script was killed by a signal the controller did not ask for
	FailNodeFail   FailureKind = "node_fail"   // the run's node went down or lost it
	FailOOM        FailureKind = "oom"         // the out-of-memory killer ended it
	FailLaunchFail FailureKind = "launch_fail" // the node could not start it
)

// RunFailure is a failed run as the retry policy sees it.
type RunFailure struct {
	Kind     FailureKind
	ExitCode int // for FailExit
	Signal   int // for FailSignal: the signal number
}

// String says what failed, for a run's reason: "exit code 3", "signal 9",
// "node failure", "out of memory", "launch failure".
func (f RunFailure) String() string {
	switch f.Kind {
	case FailExit:
		return fmt.Sprintf("exit code %d", f.ExitCode)
	case FailSignal:
		return fmt.Sprintf("signal %d", f.Signal)
	case FailNodeFail:
		return "node failure"
	case FailOOM:
		return "out of memory"
	case FailLaunchFail:
		return "launch failure"
	}
	return string(f.Kind)
}

// RetryCondition is one condition of a retry policy: a failure kind and, for
// exits and signals, the codes it covers (Lo = Hi = 0: any).
type RetryCondition struct {
	Kind FailureKind
	Lo   int
	Hi   int
}

// RetryPolicy is a parsed --retry value: how many times a failed job runs
// again (after its first run) and on which failures. No conditions means any
// failure: a non-zero exit, a signal, a node failure, the out-of-memory
// killer or a launch failure.
type RetryPolicy struct {
	Attempts int
	On       []RetryCondition
}

// Matches reports whether the policy retries the failure (attempts aside).
func (p RetryPolicy) Matches(f RunFailure) bool {
	if p.Attempts <= 0 {
		return false
	}
	if len(p.On) == 0 {
		return true
	}
	for _, c := range p.On {
		if c.Kind != f.Kind {
			continue
		}
		code := f.ExitCode
		if f.Kind == FailSignal {
			code = f.Signal
		}
		if (c.Lo == 0 && c.Hi == 0) || (code >= c.Lo && code <= c.Hi) {
			return true
		}
	}
	return false
}

// String is the policy in --retry syntax: "0", "3", "2,on_exit:3,on_node_fail".
func (p RetryPolicy) String() string {
	parts := []string{strconv.Itoa(p.Attempts)}
	for _, c := range p.On {
		s := "on_" + string(c.Kind)
		switch {
		case c.Lo == 0 && c.Hi == 0:
		case c.Lo == c.Hi:
			s += ":" + strconv.Itoa(c.Lo)
		default:
			s += fmt.Sprintf(":%d-%d", c.Lo, c.Hi)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

// ParseRetry parses a --retry value (see RetryForms). Errors are
// *FieldError naming field, so a partition default reports its own key.
func ParseRetry(field, value string) (RetryPolicy, error) {
	p, err := parseRetry(field, value)
	if err != nil {
		return RetryPolicy{}, err
	}
	return p, nil
}

// parseRetry is ParseRetry with the concrete error type.
func parseRetry(field, value string) (RetryPolicy, *FieldError) {
	bad := func(format string, args ...any) (RetryPolicy, *FieldError) {
		return RetryPolicy{}, fieldErr(field, value, format, args...)
	}
	items := strings.Split(value, ",")
	n, err := strconv.Atoi(strings.TrimSpace(items[0]))
	if err != nil {
		return bad("%s", RetryForms)
	}
	if n < 0 || n > MaxRetries {
		return bad("the number of retries must be from 0 to %d", MaxRetries)
	}
	p := RetryPolicy{Attempts: n}
	for _, item := range items[1:] {
		item = strings.TrimSpace(item)
		c, err := parseRetryCondition(item)
		if err != "" {
			return bad("condition %q: %s; %s", item, err, RetryForms)
		}
		if slices.Contains(p.On, c) {
			return bad("condition %q is given twice", item)
		}
		p.On = append(p.On, c)
	}
	if n == 0 && len(p.On) > 0 {
		return bad("conditions with 0 retries retry nothing; give a number of retries such as 2,%s", strings.Join(items[1:], ","))
	}
	return p, nil
}

// parseRetryCondition parses one on_... condition; the string says what is
// wrong with it.
func parseRetryCondition(item string) (RetryCondition, string) {
	name, arg, hasArg := strings.Cut(item, ":")
	kind := FailureKind(strings.TrimPrefix(strings.ToLower(name), "on_"))
	if !strings.HasPrefix(strings.ToLower(name), "on_") {
		return RetryCondition{}, "conditions start with on_"
	}
	switch kind {
	case FailNodeFail, FailOOM, FailLaunchFail:
		if hasArg {
			return RetryCondition{}, "takes no value"
		}
		return RetryCondition{Kind: kind}, ""
	case FailSignal:
		if !hasArg {
			return RetryCondition{Kind: kind}, ""
		}
		n, ok := signalNumber(arg)
		if !ok {
			return RetryCondition{}, "unknown signal; use a name such as KILL or a number from 1 to 64"
		}
		return RetryCondition{Kind: kind, Lo: n, Hi: n}, ""
	case FailExit:
		if !hasArg {
			return RetryCondition{}, "needs an exit code, as in on_exit:3 or on_exit:100-110"
		}
		loS, hiS, isRange := strings.Cut(arg, "-")
		lo, err1 := strconv.Atoi(loS)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(hiS)
		}
		switch {
		case err1 != nil || err2 != nil:
			return RetryCondition{}, "the exit code must be a number or a range such as 100-110"
		case lo < 1 || hi > 255 || lo > hi:
			return RetryCondition{}, "exit codes run from 1 to 255, the low end first (0 is success)"
		}
		return RetryCondition{Kind: kind, Lo: lo, Hi: hi}, ""
	}
	return RetryCondition{}, "unknown condition"
}

// signalNumber is the number of a signal name (USR1, SIGKILL) or number.
func signalNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 1 && n <= 64
	}
	i := slices.Index(signalNames, strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	return i + 1, i >= 0
}

// RetryIn is the retry policy in force for the job when it runs in partition
// p, in --retry syntax: its own --retry, else the partition's default; empty
// when neither sets one (no retries).
func (s *JobSpec) RetryIn(p Partition) string {
	if s.Retry != "" {
		return s.Retry
	}
	return p.Retry
}

// RetryDecision is what the retry policy makes of a failed run.
type RetryDecision struct {
	Retry  bool   // the job goes back to PENDING
	Reason string // for the run: "retry 1 of 3 after exit code 3"; empty when not retried
}

// DecideRetry applies a retry policy (in --retry syntax; empty or invalid:
// none) to a failed run of a job already retried `retried` times. It is pure:
// the controller's state machine calls it when a run ends.
func DecideRetry(policy string, retried int, f RunFailure) RetryDecision {
	if policy == "" {
		return RetryDecision{}
	}
	p, err := parseRetry("--retry", policy)
	if err != nil || !p.Matches(f) || retried >= p.Attempts {
		return RetryDecision{}
	}
	return RetryDecision{Retry: true, Reason: fmt.Sprintf("retry %d of %d after %s", retried+1, p.Attempts, f)}
}

func checkRetry(spec *JobSpec, _ *ClusterConfig) *FieldError {
	if spec.Retry == "" {
		return nil
	}
	_, err := parseRetry("--retry", spec.Retry)
	return err
}
