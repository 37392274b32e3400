package noded

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Executor kinds recorded in a run record.
const (
	kindHost      = "host"
	kindContainer = "container"
)

// record is what the daemon persists about one run, in StateDir/runs/ID-RUN/
// record.json. It is written before the run is launched and after every
// change that must survive a restart, so each state change is reported
// exactly once.
type record struct {
	JobID    api.JobID `json:"job_id"`
	Run      int       `json:"run"`
	Executor string    `json:"executor"`
	// Launched: the executor started the run.
	Launched bool `json:"launched,omitempty"`
	// StartedReported: the controller committed the started event.
	StartedReported bool `json:"started_reported,omitempty"`
	// SignalsSent lists the signals the daemon sent, to tell "killed by
	// signal N" from "exited with status 128+N".
	SignalsSent []int `json:"signals_sent,omitempty"`
	// StopSignalled: the first signal of the stop sequence (the checkpoint
	// signal of a preemption) was sent; a restarted daemon does not send it
	// again, it only waits what is left of the grace time.
	StopSignalled bool `json:"stop_signalled,omitempty"`
	// SignalSeq is the last scancel --signal request (Job.SignalReq.Seq)
	// delivered to the run, or current when the run started.
	SignalSeq int `json:"signal_seq,omitempty"`
	// WarningSent: the --signal warning before the time limit was sent.
	WarningSent bool `json:"warning_sent,omitempty"`
	// CheckpointSignal is the signal the fence sends the run first when the
	// node's lease runs out (the job's --signal, else USR1).
	CheckpointSignal int `json:"checkpoint_signal,omitempty"`
	// End is the final event (exited, launch_failed or lost) once known.
	End *api.JobEvent `json:"end,omitempty"`
	// EndReported: the controller committed End.
	EndReported bool `json:"end_reported,omitempty"`
	// Abandoned: the controller no longer lists the run; it is killed and
	// forgotten without a report.
	Abandoned bool `json:"abandoned,omitempty"`
	// GPUs are the indices of the node's GPUs the run was given.
	GPUs []int `json:"gpus,omitempty"`
	// GPUFailure, once set, says which of the run's GPUs failed its health
	// check: the run is stopped and its end reported as lost with this
	// message (the controller requeues the job or ends it NODE_FAIL, per
	// its requeue setting).
	GPUFailure string `json:"gpu_failure,omitempty"`
}

type runKey struct {
	job api.JobID
	run int
}

func (k runKey) String() string { return fmt.Sprintf("%d-%d", k.job, k.run) }

func (r *record) key() runKey { return runKey{r.JobID, r.Run} }

// store keeps run records and run directories under StateDir/runs.
type store struct {
	dir string
}

func newStore(stateDir string) (*store, error) {
	dir := filepath.Join(stateDir, "runs")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	// Job users run scripts from their run directories.
	for _, d := range []string{stateDir, dir} {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o711); err != nil {
				return nil, fmt.Errorf("state dir: %w", err)
			}
		}
	}
	return &store{dir: dir}, nil
}

// runDir is the directory of one run.
func (s *store) runDir(k runKey) string { return filepath.Join(s.dir, k.String()) }

// save writes a record atomically, creating its run directory if needed.
func (s *store) save(r *record) error {
	dir := s.runDir(r.key())
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("save record of job %d run %d: %w", r.JobID, r.Run, err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("save record of job %d run %d: %w", r.JobID, r.Run, err)
	}
	if err := writeFileSync(filepath.Join(dir, "record.json"), b); err != nil {
		return fmt.Errorf("save record of job %d run %d: %w", r.JobID, r.Run, err)
	}
	return nil
}

// remove deletes a run's directory and record.
func (s *store) remove(k runKey) error {
	if err := os.RemoveAll(s.runDir(k)); err != nil {
		return fmt.Errorf("remove run %s: %w", k, err)
	}
	return nil
}

// load reads every record. Directories without a readable record (a crash
// before the first save completed) are returned as bad, to be removed.
func (s *store) load() (recs []*record, bad []string, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read state dir: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		job, run, ok := parseRunDir(e.Name())
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name(), "record.json"))
		if errors.Is(err, os.ErrNotExist) {
			bad = append(bad, e.Name())
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read record %s: %w", e.Name(), err)
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.JobID != job || r.Run != run {
			bad = append(bad, e.Name())
			continue
		}
		recs = append(recs, &r)
	}
	return recs, bad, nil
}

func parseRunDir(name string) (api.JobID, int, bool) {
	a, b, ok := strings.Cut(name, "-")
	if !ok {
		return 0, 0, false
	}
	job, err1 := strconv.ParseUint(a, 10, 64)
	run, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return api.JobID(job), run, true
}

// writeFileSync writes a file atomically and durably: a temporary file,
// fsync, rename, fsync of the directory.
func writeFileSync(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
