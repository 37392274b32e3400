package noded

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/noded/executor"
	"github.com/fairway-hpc/fairway/noded/fence"
)

// testKillGrace is the KillGrace of the runner tests.
const testKillGrace = 5 * time.Second

// runnerHarness drives one run's runner as a daemon would, with a fake
// executor and a fake clock, and can restart the "daemon" in the middle.
type runnerHarness struct {
	t      *testing.T
	clock  *fakeClock
	ex     *fakeExec
	store  *store
	lease  *lease
	key    runKey
	job    api.Job
	events []string // kinds the controller committed, in order

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ob     *outbox
	r      *runner
}

func newRunnerHarness(t *testing.T, job api.Job) *runnerHarness {
	t.Helper()
	st, err := newStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &runnerHarness{t: t, clock: newFakeClock(), ex: newFakeExec(), store: st, key: runKey{job.ID, job.RestartCount}, job: job,
		lease: newLease(Config{Name: "n1", StateDir: t.TempDir(), CgroupParent: "fairway"}, slog.New(slog.DiscardHandler))}
	t.Cleanup(h.stop)
	return h
}

func (h *runnerHarness) deps() runnerDeps {
	return runnerDeps{
		node:      "n1",
		clock:     h.clock,
		store:     h.store,
		outbox:    h.ob,
		metrics:   newMetrics("n1"),
		killGrace: testKillGrace,
		lease:     h.lease,
		spawn:     h.wg.Go,
		changed:   func() {},
		gone: func(r *runner) {
			if err := h.store.remove(r.key); err != nil {
				h.t.Error(err)
			}
		},
	}
}

// launch starts a new run of the job, as the reconciler does for a job
// first listed.
func (h *runnerHarness) launch() {
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.ob = newOutbox()
	rec := &record{JobID: h.key.job, Run: h.key.run, Executor: kindHost}
	if err := h.store.save(rec); err != nil {
		h.t.Fatal(err)
	}
	plan := &launchPlan{
		spec:    executor.Spec{Ref: executor.Ref{JobID: h.key.job, Run: h.key.run, Node: "n1"}},
		prepare: func(context.Context) error { return nil },
	}
	if h.job.Kill != nil {
		plan = &launchPlan{refuse: &api.JobEvent{Kind: api.EventExited, Message: "stopped before it was launched"}}
	}
	h.r = newRunner(rec, plan, h.ex, h.deps(), slog.New(slog.DiscardHandler))
	h.wg.Go(func() { h.r.run(h.ctx) })
	h.list()
}

// restart stops the runner as a stopping daemon would, and starts a new one
// from the record, as a restarted daemon does.
func (h *runnerHarness) restart() {
	h.stop()
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.ob = newOutbox()
	recs, _, err := h.store.load()
	if err != nil || len(recs) != 1 {
		h.t.Fatalf("records after restart: %v, %v", recs, err)
	}
	h.r = newRunner(recs[0], nil, h.ex, h.deps(), slog.New(slog.DiscardHandler))
	h.wg.Go(func() { h.r.run(h.ctx) })
	h.list()
}

func (h *runnerHarness) stop() {
	if h.cancel != nil {
		h.cancel()
		h.wg.Wait()
	}
}

// list hands the runner the job as the controller lists it now.
func (h *runnerHarness) list() {
	job := h.job
	h.r.update(desired{job: &job, index: 2, now: h.clock.Now().Unix(), seen: h.clock.Now()})
}

// unlist tells the runner the controller no longer lists the run.
func (h *runnerHarness) unlist() {
	h.r.update(desired{index: 3, now: h.clock.Now().Unix(), seen: h.clock.Now()})
}

// flush has the controller commit what the outbox holds.
func (h *runnerHarness) flush() {
	_, err := h.ob.flush(h.ctx, func(_ context.Context, evs []api.JobEvent) error {
		for _, ev := range evs {
			h.events = append(h.events, string(ev.Kind))
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *runnerHarness) exit(code int) {
	h.ex.proc(h.key).exit <- executor.ExitStatus{Code: code}
}

// observed is what a runner test checks after each step.
type observed struct {
	State     string
	Signals   []string // what the run's processes got, in order
	Committed []string // the event kinds the controller committed, in order
}

func (h *runnerHarness) observe() observed {
	o := observed{State: h.r.current().state.String(), Committed: h.events}
	if p := h.ex.proc(h.key); p != nil {
		o.Signals = p.sent()
	}
	return o
}

// runnerStep is one thing that happens to a run, and what must follow.
type runnerStep struct {
	what string
	do   func(h *runnerHarness)
	want observed
}

func advance(d time.Duration) func(*runnerHarness) {
	return func(h *runnerHarness) { h.clock.Advance(d) }
}

// setKill makes the controller list the job with a kill request made ago
// before now (on its clock).
func setKill(k api.KillRequest, ago time.Duration) func(*runnerHarness) {
	return func(h *runnerHarness) {
		k.RequestedAt = h.clock.Now().Add(-ago).Unix()
		h.job.Kill = &k
		h.list()
	}
}

func TestRunnerTransitions(t *testing.T) {
	preempt := api.KillRequest{State: api.JobPreempted, Requeue: true, Signal: "USR1", GraceSecs: 30}
	started := []string{"started"}
	ended := []string{"started", "exited"}
	tests := []struct {
		name         string
		launchErr    error
		expiredLease bool // the node's lease ran out before the launch
		steps        []runnerStep
	}{{
		name:         "a run listed after the node's lease ran out is not started, and reported lost",
		expiredLease: true,
		steps: []runnerStep{
			{"not started", nil, observed{State: "exited"}},
			{"end committed", (*runnerHarness).flush, observed{State: "reported", Committed: []string{"lost"}}},
		},
	}, {
		name: "a run the controller stopped listing before the daemon saw the fence stop it is reported all the same",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"no longer listed: the controller requeued it", (*runnerHarness).unlist, observed{State: "stopping", Signals: []string{"SIGTERM"}}},
			{"fenced", func(h *runnerHarness) {
				rec := fence.Record{Cgroup: "/fairway/n1/job-7-0", Signal: 10, SignalledAt: 1000, StoppedAt: 2000}
				data, _ := json.Marshal(rec)
				if err := os.WriteFile(filepath.Join(h.lease.recordDir, "job-7-0.json"), data, 0o600); err != nil {
					h.t.Fatal(err)
				}
				h.exit(138)
			}, observed{State: "exited", Signals: []string{"SIGTERM"}}},
			// The unacknowledged started event went when the run was abandoned.
			{"end committed, then forgotten", (*runnerHarness).flush, observed{State: "forgotten", Signals: []string{"SIGTERM"}, Committed: []string{"lost"}}},
		},
	}, {
		name: "a run the fence stopped is reported lost, not exited, even once the controller no longer lists it",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"fenced", func(h *runnerHarness) {
				rec := fence.Record{Cgroup: "/fairway/n1/job-7-0", Signal: 10, SignalledAt: 1000, StoppedAt: 2000}
				data, _ := json.Marshal(rec)
				if err := os.WriteFile(filepath.Join(h.lease.recordDir, "job-7-0.json"), data, 0o600); err != nil {
					h.t.Fatal(err)
				}
				h.exit(138)
			}, observed{State: "exited", Committed: nil}},
			{"no longer listed: the controller requeued it", (*runnerHarness).unlist, observed{State: "exited", Committed: nil}},
			{"end committed all the same, then forgotten", (*runnerHarness).flush, observed{State: "forgotten", Committed: []string{"started", "lost"}}},
		},
	}, {
		name: "launch, run, exit, report, forget",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"started committed", (*runnerHarness).flush, observed{State: "running", Committed: started}},
			{"exits", func(h *runnerHarness) { h.exit(0) }, observed{State: "exited", Committed: started}},
			{"end committed", (*runnerHarness).flush, observed{State: "reported", Committed: ended}},
			{"reported once", (*runnerHarness).flush, observed{State: "reported", Committed: ended}},
			{"no longer listed", (*runnerHarness).unlist, observed{State: "forgotten", Committed: ended}},
		},
	}, {
		name:      "launch failure",
		launchErr: errors.New("no such image"),
		steps: []runnerStep{
			{"fails", nil, observed{State: "exited"}},
			{"end committed", (*runnerHarness).flush, observed{State: "reported", Committed: []string{"launch_failed"}}},
		},
	}, {
		name: "preemption: checkpoint signal, TERM at the grace end, then KILL",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"preempted", setKill(preempt, 0), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"grace runs", advance(29 * time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"grace over", advance(time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1", "SIGTERM"}}},
			{"kill wait over", advance(testKillGrace), observed{State: "stopping", Signals: []string{"SIGUSR1", "SIGTERM", "SIGKILL"}}},
			{"killed", func(h *runnerHarness) { h.exit(137) }, observed{State: "exited", Signals: []string{"SIGUSR1", "SIGTERM", "SIGKILL"}}},
		},
	}, {
		name: "grace counted from the request on the controller's clock",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"preempted 20s ago", setKill(preempt, 20*time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"what is left runs", advance(9 * time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"grace over", advance(time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1", "SIGTERM"}}},
		},
	}, {
		name: "the job ends its grace time",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"preempted", setKill(preempt, 0), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"checkpoint saved", func(h *runnerHarness) {
				k := *h.job.Kill
				k.EndGrace = true
				h.job.Kill = &k
				h.list()
			}, observed{State: "stopping", Signals: []string{"SIGUSR1", "SIGTERM"}}},
			{"exits", func(h *runnerHarness) { h.exit(143) }, observed{State: "exited", Signals: []string{"SIGUSR1", "SIGTERM"}}},
		},
	}, {
		name: "a daemon restarted during the grace time does not signal again",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"preempted", setKill(preempt, 0), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"grace runs", advance(10 * time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"daemon restarts", (*runnerHarness).restart, observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"what is left runs", advance(19 * time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1"}}},
			{"grace over", advance(time.Second), observed{State: "stopping", Signals: []string{"SIGUSR1", "SIGTERM"}}},
			{"exits", func(h *runnerHarness) { h.exit(143) }, observed{State: "exited", Signals: []string{"SIGUSR1", "SIGTERM"}}},
			{"started and end committed", (*runnerHarness).flush, observed{State: "reported", Signals: []string{"SIGUSR1", "SIGTERM"}, Committed: ended}},
		},
	}, {
		name: "a plain kill: SIGTERM, then SIGKILL after the kill wait",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"cancelled", setKill(api.KillRequest{State: api.JobCancelled}, 0), observed{State: "stopping", Signals: []string{"SIGTERM"}}},
			{"kill wait over", advance(testKillGrace), observed{State: "stopping", Signals: []string{"SIGTERM", "SIGKILL"}}},
			{"again", advance(testKillGrace), observed{State: "stopping", Signals: []string{"SIGTERM", "SIGKILL", "SIGKILL"}}},
		},
	}, {
		name: "scancel --signal is delivered once, even across a restart",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"signal request", func(h *runnerHarness) {
				h.job.SignalReq = &api.SignalRequest{Seq: 1, Signal: "USR2"}
				h.list()
			}, observed{State: "running", Signals: []string{"SIGUSR2"}}},
			{"listed again", (*runnerHarness).list, observed{State: "running", Signals: []string{"SIGUSR2"}}},
			{"daemon restarts", (*runnerHarness).restart, observed{State: "running", Signals: []string{"SIGUSR2"}}},
			{"second request", func(h *runnerHarness) {
				h.job.SignalReq = &api.SignalRequest{Seq: 2, Signal: "USR2"}
				h.list()
			}, observed{State: "running", Signals: []string{"SIGUSR2", "SIGUSR2"}}},
		},
	}, {
		name: "no longer listed while running: killed and forgotten without a report",
		steps: []runnerStep{
			{"launched", nil, observed{State: "running"}},
			{"dropped", (*runnerHarness).unlist, observed{State: "stopping", Signals: []string{"SIGTERM"}}},
			{"exits", func(h *runnerHarness) { h.exit(143) }, observed{State: "forgotten", Signals: []string{"SIGTERM"}}},
			{"nothing reported", (*runnerHarness).flush, observed{State: "forgotten", Signals: []string{"SIGTERM"}}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRunnerHarness(t, api.Job{ID: 7, State: api.JobRunning})
			h.ex.launchErr = tc.launchErr
			if err := os.MkdirAll(h.lease.recordDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.expiredLease {
				if err := h.lease.renew(fence.BootTime()-2*time.Second, api.HeartbeatResponse{LeaseSecs: 1}); err != nil {
					t.Fatal(err)
				}
			}
			h.launch()
			for _, s := range tc.steps {
				if s.do != nil {
					s.do(h)
				}
				h.waitObserved(s.what, s.want)
			}
		})
	}
}

// waitObserved waits until the run looks as wanted, and fails the test
// with the difference when it does not within a few seconds.
func (h *runnerHarness) waitObserved(step string, want observed) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := h.observe()
		diff := cmp.Diff(want, got)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("after %q (-want +got):\n%s", step, diff)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRunStateString(t *testing.T) {
	got := []string{}
	for s := stateLaunching; s <= stateForgotten+1; s++ {
		got = append(got, s.String())
	}
	want := []string{"launching", "running", "stopping", "exited", "reported", "forgotten", "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runState names (-want +got):\n%s", diff)
	}
}
