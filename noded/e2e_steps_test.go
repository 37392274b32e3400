//go:build e2e

package noded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
	"github.com/fairway-hpc/fairway/api/munge/mungetest"
	"github.com/fairway-hpc/fairway/cgroups"
)

// stepClient calls a node's step server as srun does, with MUNGE
// credentials of a chosen uid.
type stepClient struct {
	t     *testing.T
	addr  string
	munge *mungetest.Daemon
}

// credential encodes a MUNGE credential for payload as uid: in process for
// root, else with munge(1) run as that user (munged reads the uid from the
// connection).
func (c *stepClient) credential(uid int, payload []byte) string {
	c.t.Helper()
	if uid == 0 {
		cred, err := c.munge.Client.Encode(context.Background(), payload, munge.EncodeOptions{})
		if err != nil {
			c.t.Fatalf("munge encode: %v", err)
		}
		return cred
	}
	cmd := exec.Command("munge", "--socket", c.munge.Socket)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("munge as uid %d: %v", uid, err)
	}
	return strings.TrimSpace(string(out))
}

// do sends a request with a credential of uid bound to it.
func (c *stepClient) do(ctx context.Context, uid int, method, path string, body any) *http.Response {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set(api.MungeHeader, c.credential(uid, api.MungePayload(method, req.URL.RequestURI(), b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// stepOutcome is what a node streamed for its part of a step.
type stepOutcome struct {
	Stdout  map[int]string
	Stderr  map[int]string
	Exits   map[int]int
	Signals map[int]int
	Done    bool
	Error   string
}

// readFrames reads a step's frames until the Done frame or the end of the
// stream; onData sees every output frame as it comes.
func readFrames(t *testing.T, r io.Reader, onData func(api.StepFrame)) stepOutcome {
	t.Helper()
	out := stepOutcome{Stdout: map[int]string{}, Stderr: map[int]string{}, Exits: map[int]int{}, Signals: map[int]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var f api.StepFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("bad frame %q: %v", sc.Text(), err)
		}
		switch {
		case f.Done:
			out.Done, out.Error = true, f.Error
			return out
		case f.Exit != nil:
			out.Exits[f.Task] = *f.Exit
			if f.Signal != 0 {
				out.Signals[f.Task] = f.Signal
			}
		case f.Stream == "stdout":
			out.Stdout[f.Task] += string(f.Data)
		case f.Stream == "stderr":
			out.Stderr[f.Task] += string(f.Data)
		}
		if onData != nil && f.Data != nil {
			onData(f)
		}
	}
	return out
}

// readyWaiter returns an onData that closes ready once n tasks printed
// "ready".
func readyWaiter(n int, ready chan struct{}) func(api.StepFrame) {
	seen := map[int]bool{}
	return func(f api.StepFrame) {
		if strings.Contains(string(f.Data), "ready") && !seen[f.Task] {
			seen[f.Task] = true
			if len(seen) == n {
				close(ready)
			}
		}
	}
}

// markerProcs lists the processes whose command line holds marker.
func markerProcs(marker string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, d+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

func TestE2EStepServer(t *testing.T) {
	requireRoot(t)
	md := mungetest.Start(t)
	fc := newFakeController(t)
	node := "step-n1"
	startNode(t, fc, Config{Name: node, StepListenAddr: "127.0.0.1:0", MungeSocket: md.Socket})
	work := sharedDir(t)
	fc.addJob(batchJob(1, work, waitScript), node)
	fc.waitEvent(t, 1, api.EventStarted, eventWait)
	waitFor(t, eventWait, func() bool { return fc.stepAddr(node) != "" },
		func() string { return "the node did not register a step address" })
	c := &stepClient{t: t, addr: fc.stepAddr(node), munge: md}
	ctx := context.Background()
	for id := range 5 {
		fc.addStep(api.Step{JobID: 1, ID: id, Nodes: []string{node}, TasksPerNode: []int{2}})
	}
	launch := func(ctx context.Context, uid, step int, command string, kill bool) *http.Response {
		return c.do(ctx, uid, http.MethodPost, "/v1/steps", api.NodeStepRequest{
			JobID: 1, StepID: step, Tasks: []int{0, 1}, Env: map[string]string{"FROM_SRUN": "yes"},
			Command: []string{"/bin/sh", "-c", command}, KillOnBadExit: kill,
		})
	}

	t.Run("two tasks stream output and exit codes", func(t *testing.T) {
		resp := launch(ctx, nobody, 0, `echo "out-$SLURM_PROCID-$SLURM_LOCALID-$SLURM_NODEID-$SLURM_STEP_ID-$SLURMD_NODENAME-$FROM_SRUN-$(id -u)"; echo "err-$SLURM_PROCID" >&2; exit $((SLURM_PROCID + 4))`, false)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("launch: %s: %s", resp.Status, b)
		}
		got := readFrames(t, resp.Body, nil)
		want := stepOutcome{
			Stdout:  map[int]string{0: "out-0-0-0-0-step-n1-yes-65534\n", 1: "out-1-1-0-0-step-n1-yes-65534\n"},
			Stderr:  map[int]string{0: "err-0\n", 1: "err-1\n"},
			Exits:   map[int]int{0: 4, 1: 5},
			Signals: map[int]int{},
			Done:    true,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step 1.0 (-want +got):\n%s", diff)
		}
		var rep api.StepReport
		waitFor(t, eventWait, func() bool { var ok bool; rep, ok = fc.stepReport(1, 0); return ok },
			func() string { return "no report of step 1.0" })
		if rep.ExitCode != 5 || rep.Signal != 0 || rep.Usage.Tasks != 2 || rep.Reason != "" {
			t.Errorf("report of step 1.0 = %+v, want exit code 5 of 2 tasks", rep)
		}
	})

	t.Run("another user is refused and nothing runs", func(t *testing.T) {
		marker := filepath.Join(work, "ran-wrong-user")
		resp := launch(ctx, 1, 1, "touch "+marker, false)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("launch as uid 1: %s %s, want 403", resp.Status, b)
		}
		if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused step ran (%s: %v)", marker, err)
		}
	})

	t.Run("signal and live usage", func(t *testing.T) {
		resp := launch(ctx, nobody, 1, `echo ready; exec sleep 300`, false)
		defer resp.Body.Close()
		ready := make(chan struct{})
		done := make(chan stepOutcome, 1)
		go func() { done <- readFrames(t, resp.Body, readyWaiter(2, ready)) }()
		select {
		case <-ready:
		case got := <-done:
			t.Fatalf("the step ended before its tasks were ready: %+v", got)
		}
		u := c.do(ctx, nobody, http.MethodGet, "/v1/steps/1.1/usage", nil)
		var usage api.Usage
		if err := json.NewDecoder(u.Body).Decode(&usage); err != nil || u.StatusCode != http.StatusOK {
			t.Errorf("usage of step 1.1: %s %v", u.Status, err)
		}
		u.Body.Close()
		if usage.Tasks != 2 {
			t.Errorf("usage of step 1.1 = %+v, want 2 tasks", usage)
		}
		u = c.do(ctx, 0, http.MethodGet, "/v1/steps/1.batch/usage", nil)
		u.Body.Close()
		if u.StatusCode != http.StatusOK {
			t.Errorf("usage of step 1.batch: %s", u.Status)
		}
		s := c.do(ctx, nobody, http.MethodPost, "/v1/steps/1.1/signal", api.StepSignal{Signal: "TERM"})
		b, _ := io.ReadAll(s.Body)
		s.Body.Close()
		if s.StatusCode != http.StatusOK {
			t.Fatalf("signal: %s %s", s.Status, b)
		}
		got := <-done
		if diff := cmp.Diff(map[int]int{0: 15, 1: 15}, got.Signals); diff != "" {
			t.Errorf("signals of step 1.1 (-want +got):\n%s", diff)
		}
	})

	t.Run("kill on bad exit", func(t *testing.T) {
		resp := launch(ctx, nobody, 2, `if [ "$SLURM_PROCID" = 1 ]; then exit 3; fi; echo ready; exec sleep 300`, true)
		defer resp.Body.Close()
		got := readFrames(t, resp.Body, nil)
		if diff := cmp.Diff(map[int]int{0: 128 + 9, 1: 3}, got.Exits); diff != "" {
			t.Errorf("exits of step 1.2 (-want +got):\n%s", diff)
		}
		if !strings.Contains(got.Error, "kill-on-bad-exit") {
			t.Errorf("done error %q does not name --kill-on-bad-exit", got.Error)
		}
	})

	t.Run("srun going away kills the tasks", func(t *testing.T) {
		marker := "fw-disconnect-marker"
		rctx, cancel := context.WithCancel(ctx)
		resp := launch(rctx, nobody, 3, `echo ready; sleep 300; : `+marker, false)
		ready := make(chan struct{})
		done := make(chan stepOutcome, 1)
		go func() { done <- readFrames(t, resp.Body, readyWaiter(2, ready)) }()
		select {
		case <-ready:
		case got := <-done:
			t.Fatalf("the step ended before its tasks were ready: %+v", got)
		}
		if len(markerProcs(marker)) == 0 {
			t.Fatal("the step's tasks are not running")
		}
		cancel()
		resp.Body.Close()
		var rep api.StepReport
		waitFor(t, eventWait, func() bool { var ok bool; rep, ok = fc.stepReport(1, 3); return ok },
			func() string { return "no report of step 1.3" })
		if left := markerProcs(marker); len(left) > 0 {
			t.Errorf("processes left after srun went away: %v", left)
		}
		if !strings.Contains(rep.Reason, "srun went away") {
			t.Errorf("report reason %q does not say srun went away", rep.Reason)
		}
		if _, err := cgroups.Load(jobCgroup(node, 1, 0) + "/step-3"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the step's cgroup is still there: %v", err)
		}
	})

	t.Run("batch usage in the end event", func(t *testing.T) {
		release(t, work)
		ev := fc.waitEvent(t, 1, api.EventExited, eventWait)
		if ev.Usage == nil || ev.Usage.MaxRSSBytes <= 0 {
			t.Errorf("end event usage = %+v, want the batch step's memory", ev.Usage)
		}
	})
}

// addStep records a step of a job, as srun's POST /v1/jobs/{id}/steps does.
func (f *fakeController) addStep(st api.Step) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.State == "" {
		st.State = api.JobRunning
	}
	f.steps[st.JobID] = append(f.steps[st.JobID], &st)
	f.bump()
}

// stepReport returns a step's report, if the node sent one.
func (f *fakeController) stepReport(job api.JobID, step int) (api.StepReport, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rep := range f.stepReps {
		if rep.JobID == job && rep.StepID == step {
			return rep, true
		}
	}
	return api.StepReport{}, false
}

// stepAddr is the step server address a node registered, "" before.
func (f *fakeController) stepAddr(node string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.registered[node].StepAddr
}
