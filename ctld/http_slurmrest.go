package ctld

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld/slurmrest"
)

// slurmRESTRoutes mounts the slurmrestd-compatible REST API (package
// slurmrest) on mux: /openapi/v3, /slurm/v0.0.41/..., /slurmdb/v0.0.41/....
// Its writes (job submission, DELETE of a job) are forwarded to the leader
// like /v1 writes; the leader authenticates them. Every call goes through
// the same Service methods as /v1 with the caller's identity.
func (c *Controller) slurmRESTRoutes(mux *http.ServeMux) {
	h, err := slurmrest.New(slurmrest.Options{
		Backend:      restBackend{c},
		Log:          c.log,
		Now:          c.svc.now,
		MaxBodyBytes: maxBodyBytes,
	})
	var serve http.HandlerFunc
	if err != nil {
		c.log.Error("the REST API is unavailable", "err", err)
		serve = func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusInternalServerError, "the REST API is unavailable: "+err.Error(), "")
		}
	} else {
		read, write := h.ServeHTTP, c.leaderOnly(h.ServeHTTP)
		serve = func(w http.ResponseWriter, r *http.Request) {
			if slurmrest.IsWrite(r) {
				write(w, r)
				return
			}
			read(w, r)
		}
	}
	for _, p := range slurmrest.Prefixes {
		mux.HandleFunc(p, serve)
	}
}

// restBackend is the controller as the REST API calls it.
type restBackend struct{ c *Controller }

// Authenticate identifies the caller as authn does for /v1.
func (b restBackend) Authenticate(r *http.Request) (context.Context, error) {
	var id Identity
	if b.c.cfg.identify != nil {
		id = b.c.cfg.identify(r)
	} else {
		var err error
		if id, err = b.c.identify(r); err != nil {
			return nil, err
		}
	}
	return context.WithValue(r.Context(), callerKey{}, id), nil
}

// caller returns the identity Authenticate put in ctx.
func (restBackend) caller(ctx context.Context) Identity {
	id, _ := ctx.Value(callerKey{}).(Identity)
	return id
}

// Caller returns the caller's user and primary group names.
func (b restBackend) Caller(ctx context.Context) (string, string) {
	id := b.caller(ctx)
	user := id.User
	switch {
	case user != "":
	case id.Admin != "":
		user = id.Admin
	case id.Node != "":
		user = id.Node
	}
	group := ""
	if len(id.Groups) > 0 {
		group = id.Groups[0]
	} else if id.User != "" {
		group = strconv.Itoa(id.GID)
	}
	return user, group
}

func (b restBackend) Submit(ctx context.Context, spec api.JobSpec) (api.JobID, error) {
	res, err := b.c.svc.Submit(ctx, b.caller(ctx), []api.JobSpec{spec}, "")
	if err != nil {
		return 0, err
	}
	if len(res.IDs) != 1 {
		return 0, fmt.Errorf("submit answered %d job IDs for one job", len(res.IDs))
	}
	return res.IDs[0], nil
}

func (b restBackend) Jobs(ctx context.Context) (api.JobsResponse, error) {
	return b.c.svc.Jobs(ctx, b.caller(ctx), JobFilter{All: true}, Query{})
}

func (b restBackend) Job(ctx context.Context, ref api.JobRef) (*api.Job, error) {
	res, err := b.c.svc.Job(ctx, b.caller(ctx), ref, Query{})
	return res.Job, err
}

func (b restBackend) Cancel(ctx context.Context, ref api.JobRef, signal string) error {
	if signal != "" {
		_, err := b.c.svc.Signal(ctx, b.caller(ctx), ref, signal)
		return err
	}
	_, err := b.c.svc.Cancel(ctx, b.caller(ctx), ref, CancelOptions{})
	return err
}

func (b restBackend) Nodes(ctx context.Context) (api.NodesResponse, error) {
	return b.c.svc.Nodes(ctx, b.caller(ctx), Query{})
}

func (b restBackend) Partitions(ctx context.Context) (api.PartitionsResponse, error) {
	return b.c.svc.Partitions(ctx, b.caller(ctx), Query{})
}

func (b restBackend) Diag(ctx context.Context) (api.DiagResponse, error) {
	return b.c.svc.Diag(ctx, b.caller(ctx))
}

// Ping reports the raft configuration's controllers: up when they answer,
// primary for the leader.
func (b restBackend) Ping(ctx context.Context) ([]slurmrest.Ping, error) {
	resp, err := b.c.svc.Cluster(ctx, b.caller(ctx), Query{})
	if err != nil {
		return nil, err
	}
	out := make([]slurmrest.Ping, 0, len(resp.Controllers))
	for _, ci := range resp.Controllers {
		out = append(out, slurmrest.Ping{Hostname: ci.ID, Up: ci.Role != "unknown", Primary: ci.Role == "leader"})
	}
	return out, nil
}

// Classify maps a service error kind onto the REST API's.
func (b restBackend) Classify(err error) slurmrest.BackendError {
	e := b.c.svc.classify(err)
	out := slurmrest.BackendError{Field: e.Field, Msg: e.Msg}
	var fe *api.FieldError
	if errors.As(err, &fe) {
		out.Msg = fmt.Sprintf("invalid value %q: %s", fe.Value, fe.Msg)
	}
	switch e.Kind {
	case KindInvalid:
		out.Kind = slurmrest.KindInvalid
	case KindNotFound:
		out.Kind = slurmrest.KindNotFound
	case KindConflict:
		out.Kind = slurmrest.KindConflict
	case KindUnavailable:
		out.Kind = slurmrest.KindUnavailable
	case KindUnauthenticated:
		out.Kind = slurmrest.KindUnauthenticated
	case KindForbidden:
		out.Kind = slurmrest.KindForbidden
	case KindTooLarge:
		out.Kind = slurmrest.KindTooLarge
	default:
		out.Kind = slurmrest.KindInternal
	}
	return out
}
