package stepserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/munge"
)

// maxBody bounds a request body (a step request with its environment).
const maxBody = 4 << 20

// decodeTimeout bounds one decode by munged.
const decodeTimeout = 5 * time.Second

// httpError is an answer other than 200: its status and message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as an api.ErrorResponse.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	writeJSON(w, status, api.ErrorResponse{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// caller is who sent a request: the uid and gid of its MUNGE credential.
type caller struct {
	uid, gid int
}

// authenticate reads the request's body (bounded) and checks its MUNGE
// credential: decoded by the node's munged (which refuses a replay and an
// expired credential) and made for this very request (method, URI and
// body, api.MungePayload), as the controller checks them. Tokens
// (SLURM_JWT) are refused: the node has no key to verify them.
func (s *Server) authenticate(r *http.Request) (caller, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return caller{}, nil, errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	if len(body) > maxBody {
		return caller{}, nil, errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", maxBody)
	}
	cred := r.Header.Get(api.MungeHeader)
	if cred == "" {
		if r.Header.Get(api.SlurmUserTokenHeader) != "" || strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
			return caller{}, nil, errorf(http.StatusUnauthorized,
				"node step servers do not accept tokens (SLURM_JWT): unset it so that srun authenticates with MUNGE")
		}
		return caller{}, nil, errorf(http.StatusUnauthorized,
			"not authenticated: the request has no MUNGE credential in %s; is munged running where srun runs?", api.MungeHeader)
	}
	ctx, cancel := context.WithTimeout(r.Context(), decodeTimeout)
	defer cancel()
	c, err := s.cfg.Munge.Decode(ctx, cred)
	if err != nil {
		switch munge.CodeOf(err) {
		case munge.ErrCredReplayed:
			return caller{}, nil, errorf(http.StatusUnauthorized, "munge credential replayed: each credential authenticates one request")
		case munge.ErrCredExpired, munge.ErrCredRewound:
			return caller{}, nil, errorf(http.StatusUnauthorized, "munge credential expired or from the future (%v); are the clocks in sync?", err)
		case munge.ErrSocket, munge.ErrTimeout, munge.ErrSnafu, munge.ErrNoMemory:
			return caller{}, nil, errorf(http.StatusServiceUnavailable, "node %s cannot decode munge credentials: %v", s.cfg.Node, err)
		}
		return caller{}, nil, errorf(http.StatusUnauthorized, "munge credential invalid (%v): not encoded with this cluster's munge key?", err)
	}
	if want := api.MungePayload(r.Method, r.URL.RequestURI(), body); !bytes.Equal(c.Payload, want) {
		return caller{}, nil, errorf(http.StatusUnauthorized,
			"munge credential was made for another request (its payload does not match %s %s and the body)", r.Method, r.URL.Path)
	}
	return caller{uid: int(c.UID), gid: int(c.GID)}, body, nil
}

// authorize returns the job when it runs on this node and the caller may
// act on it: its user, or root.
func (s *Server) authorize(who caller, id api.JobID) (*api.Job, error) {
	job := s.cfg.Jobs.Job(id)
	if job == nil {
		return nil, errorf(http.StatusNotFound, "job %d does not run on node %s", id, s.cfg.Node)
	}
	if who.uid != 0 && who.uid != job.Spec.UID {
		s.log.Warn("step request refused: not the job's user", "job", id, "uid", who.uid, "job_uid", job.Spec.UID)
		return nil, errorf(http.StatusForbidden, "uid %d may not act on job %d of uid %d", who.uid, id, job.Spec.UID)
	}
	return job, nil
}
