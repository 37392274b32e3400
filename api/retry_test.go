package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRetry(t *testing.T) {
	tests := []struct {
		in      string
		want    RetryPolicy
		wantErr string // the FieldError's message starts with it
	}{
		{in: "0", want: RetryPolicy{}},
		{in: "3", want: RetryPolicy{Attempts: 3}},
		{in: " 2 ", want: RetryPolicy{Attempts: 2}},
		{in: "2,on_exit:3,on_exit:137,on_node_fail,on_signal", want: RetryPolicy{Attempts: 2, On: []RetryCondition{
			{Kind: FailExit, Lo: 3, Hi: 3}, {Kind: FailExit, Lo: 137, Hi: 137}, {Kind: FailNodeFail}, {Kind: FailSignal},
		}}},
		{in: "1,on_exit:100-110,on_signal:KILL,on_signal:SIGusr1,on_signal:15,on_oom,on_launch_fail", want: RetryPolicy{Attempts: 1, On: []RetryCondition{
			{Kind: FailExit, Lo: 100, Hi: 110}, {Kind: FailSignal, Lo: 9, Hi: 9}, {Kind: FailSignal, Lo: 10, Hi: 10},
			{Kind: FailSignal, Lo: 15, Hi: 15}, {Kind: FailOOM}, {Kind: FailLaunchFail},
		}}},
		{in: "10", want: RetryPolicy{Attempts: 10}},
		{in: "11", wantErr: "the number of retries must be from 0 to 10"},
		{in: "-1", wantErr: "the number of retries must be from 0 to 10"},
		{in: "", wantErr: "want N"},
		{in: "yes", wantErr: "want N"},
		{in: "on_exit:3", wantErr: "want N"},
		{in: "0,on_exit:3", wantErr: "conditions with 0 retries retry nothing"},
		{in: "2,exit:3", wantErr: `condition "exit:3": conditions start with on_`},
		{in: "2,on_exit", wantErr: `condition "on_exit": needs an exit code`},
		{in: "2,on_exit:0", wantErr: `condition "on_exit:0": exit codes run from 1 to 255`},
		{in: "2,on_exit:256", wantErr: `condition "on_exit:256": exit codes run from 1 to 255`},
		{in: "2,on_exit:9-3", wantErr: `condition "on_exit:9-3": exit codes run from 1 to 255, the low end first`},
		{in: "2,on_exit:x", wantErr: `condition "on_exit:x": the exit code must be a number`},
		{in: "2,on_signal:BOGUS", wantErr: `condition "on_signal:BOGUS": unknown signal`},
		{in: "2,on_signal:65", wantErr: `condition "on_signal:65": unknown signal`},
		{in: "2,on_node_fail:1", wantErr: `condition "on_node_fail:1": takes no value`},
		{in: "2,on_timeout", wantErr: `condition "on_timeout": unknown condition`},
		{in: "2,on_exit:3,on_exit:3", wantErr: `condition "on_exit:3" is given twice`},
		{in: "2,", wantErr: `condition "": conditions start with on_`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRetry("--retry", tt.in)
			if tt.wantErr != "" {
				wantFieldError(t, tt.in, err, "--retry")
				if fe := err.(*FieldError); fe.Value != tt.in || len(fe.Msg) < len(tt.wantErr) || fe.Msg[:len(tt.wantErr)] != tt.wantErr {
					t.Errorf("error = %v, want value %q and a message starting %q", err, tt.in, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRetry(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRetry(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDecideRetry(t *testing.T) {
	exit := func(code int) RunFailure { return RunFailure{Kind: FailExit, ExitCode: code} }
	tests := []struct {
		name    string
		policy  string
		retried int
		f       RunFailure
		want    RetryDecision
	}{
		{"no policy", "", 0, exit(3), RetryDecision{}},
		{"off", "0", 0, exit(3), RetryDecision{}},
		{"any failure: an exit", "3", 0, exit(1), RetryDecision{true, "retry 1 of 3 after exit code 1"}},
		{"any failure: the third retry", "3", 2, exit(1), RetryDecision{true, "retry 3 of 3 after exit code 1"}},
		{"any failure: used up", "3", 3, exit(1), RetryDecision{}},
		{"any failure: a signal", "1", 0, RunFailure{Kind: FailSignal, Signal: 9}, RetryDecision{true, "retry 1 of 1 after signal 9"}},
		{"any failure: a node failure", "1", 0, RunFailure{Kind: FailNodeFail}, RetryDecision{true, "retry 1 of 1 after node failure"}},
		{"any failure: out of memory", "1", 0, RunFailure{Kind: FailOOM}, RetryDecision{true, "retry 1 of 1 after out of memory"}},
		{"any failure: a launch failure", "1", 0, RunFailure{Kind: FailLaunchFail}, RetryDecision{true, "retry 1 of 1 after launch failure"}},
		{"named exit", "2,on_exit:3", 0, exit(3), RetryDecision{true, "retry 1 of 2 after exit code 3"}},
		{"other exit", "2,on_exit:3", 0, exit(4), RetryDecision{}},
		{"exit range low end", "2,on_exit:100-110", 0, exit(100), RetryDecision{true, "retry 1 of 2 after exit code 100"}},
		{"exit range past the end", "2,on_exit:100-110", 0, exit(111), RetryDecision{}},
		{"exit code 137 is an exit code, not a signal", "2,on_signal:KILL", 0, exit(137), RetryDecision{}},
		{"any signal", "2,on_signal", 0, RunFailure{Kind: FailSignal, Signal: 6}, RetryDecision{true, "retry 1 of 2 after signal 6"}},
		{"named signal", "2,on_signal:TERM", 0, RunFailure{Kind: FailSignal, Signal: 15}, RetryDecision{true, "retry 1 of 2 after signal 15"}},
		{"other signal", "2,on_signal:TERM", 0, RunFailure{Kind: FailSignal, Signal: 9}, RetryDecision{}},
		{"node failure only", "2,on_node_fail", 0, exit(1), RetryDecision{}},
		{"an invalid stored policy retries nothing", "x", 0, exit(1), RetryDecision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideRetry(tt.policy, tt.retried, tt.f); got != tt.want {
				t.Errorf("DecideRetry(%q, %d, %+v) = %+v, want %+v", tt.policy, tt.retried, tt.f, got, tt.want)
			}
		})
	}
}

func TestRetryIn(t *testing.T) {
	p := Partition{Name: "gpu", Retry: "1,on_node_fail"}
	for _, tt := range []struct{ job, want string }{{"", "1,on_node_fail"}, {"0", "0"}, {"3", "3"}} {
		s := JobSpec{Retry: tt.job}
		if got := s.RetryIn(p); got != tt.want {
			t.Errorf("job --retry=%q in a partition with %q: %q, want %q", tt.job, p.Retry, got, tt.want)
		}
	}
}

// TestValidateRetry checks that a bad --retry in a job or a partition's
// default is refused naming its field.
func TestValidateRetry(t *testing.T) {
	spec := validSpec()
	spec.Retry = "2,on_exit:3"
	if err := PrepareSpec(&spec, testConfig()); err != nil {
		t.Fatalf("PrepareSpec with --retry=%s: %v", spec.Retry, err)
	}
	spec.Retry = "2,on_exitt:3"
	err := ValidateSpec(&spec, nil)
	wantFieldError(t, "ValidateSpec", err, "--retry")

	cfg := testConfig()
	cfg.Partitions[0].Retry = "1,on_node_fail"
	if err := ValidateConfig(cfg); err != nil {
		t.Fatalf("ValidateConfig with a partition retry: %v", err)
	}
	cfg.Partitions[0].Retry = "20"
	wantFieldError(t, "ValidateConfig", ValidateConfig(cfg), "partitions[0].retry")
}

// FuzzParseRetry checks that ParseRetry never panics, fails only with a
// *FieldError for --retry, and that an accepted policy is written by String
// and read back unchanged.
func FuzzParseRetry(f *testing.F) {
	for _, s := range []string{"0", "3", "2,on_exit:3,on_exit:137,on_node_fail,on_signal", "1,on_exit:1-255,on_signal:SIGKILL,on_oom,on_launch_fail",
		"", ",", "1,on_exit:-", "1,on_exit:3-", "1,on_signal:", "99999999999999999999", "1,ON_EXIT:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRetry("--retry", s)
		if err != nil {
			wantFieldError(t, s, err, "--retry")
			return
		}
		if p.Attempts < 0 || p.Attempts > MaxRetries {
			t.Fatalf("ParseRetry(%q) accepted %d retries", s, p.Attempts)
		}
		back, err := ParseRetry("--retry", p.String())
		if err != nil {
			t.Fatalf("ParseRetry(%q).String() = %q does not parse: %v", s, p.String(), err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("ParseRetry(%q) does not round-trip through %q (-first +second):\n%s", s, p.String(), diff)
		}
	})
}
