package stepserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/fairway-hpc/fairway/api"
	"golang.org/x/sys/unix"
)

// handleSignal serves POST /v1/steps/{job}.{step}/signal: srun forwards a
// signal (Ctrl-C) to the step's tasks on this node.
func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request) {
	who, body, st, err := s.callerStep(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req api.StepSignal
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "signal request: %v", err))
		return
	}
	sig, err := parseSignal(req.Signal)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	st.log.Info("signalling step", "signal", unix.SignalName(sig), "uid", who.uid)
	if err := st.signal(sig); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ActionResponse{})
}

// callerStep authenticates a request about a running step
// (/v1/steps/{job}.{step}/...), checks the caller may act on its job, and
// returns the caller, the request's body and the step.
func (s *Server) callerStep(r *http.Request) (caller, []byte, *step, error) {
	who, body, err := s.authenticate(r)
	if err != nil {
		return caller{}, nil, nil, err
	}
	key, err := parseStepID(r.PathValue("id"), false)
	if err != nil {
		return caller{}, nil, nil, errorf(http.StatusBadRequest, "%v", err)
	}
	if _, err := s.authorize(who, key.job); err != nil {
		return caller{}, nil, nil, err
	}
	st := s.lookup(key)
	if st == nil {
		return caller{}, nil, nil, fmt.Errorf("%w: %w", errorf(http.StatusNotFound, "step %s does not run on node %s", key, s.cfg.Node), errStepGone)
	}
	return who, body, st, nil
}

// errStepGone marks a request about a step that does not (or no longer)
// run on this node.
var errStepGone = errors.New("step not running here")

// parseSignal reads a signal by name (INT, SIGINT) or number; empty is
// SIGTERM.
func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errorf(http.StatusBadRequest, "unknown signal %q", s)
}

// handleStdin serves POST /v1/steps/{job}.{step}/stdin: one chunk of
// srun's standard input for task 0 (each chunk a request of its own, its
// credential bound to its bytes); ?eof=1 ends the input.
func (s *Server) handleStdin(w http.ResponseWriter, r *http.Request) {
	_, body, st, err := s.callerStep(r)
	if errors.Is(err, errStepGone) {
		// Its tasks here have all ended: the input is discarded, as Slurm
		// does.
		writeJSON(w, http.StatusOK, api.ActionResponse{})
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if err := st.writeStdin(body, r.URL.Query().Get("eof") == "1"); err != nil {
		writeError(w, errorf(http.StatusConflict, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, api.ActionResponse{})
}
