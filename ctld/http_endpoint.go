package ctld

import (
	"context"
	"net/http"

	"github.com/fairway-hpc/fairway/api"
)

// The adapters of the /v1 routes. A route is an endpoint: it reads its
// inputs from the request (params, in order: path values and filters, then
// a read's blocking query or a write's body), calls one Service method as
// the caller (callerOf) and returns its answer or its error; serve writes
// either. routes lists them; the few routes that do not fit (streamed
// answers, routes of other files) keep their own handlers.

// reply is a /v1 route's successful answer: body, sent as JSON with 200 OK,
// and for a read (or a heartbeat) the raft index the answer reflects, sent
// in api.IndexHeader when indexed.
type reply struct {
	body    any
	index   uint64
	indexed bool
}

// readReply is a read's answer, body as of index.
func readReply(body any, index uint64) reply {
	return reply{body: body, index: index, indexed: true}
}

// replyOf is a call's answer as it is sent: a reply as it is, a WriteResult
// as an api.ActionResponse, anything else as its JSON.
func replyOf(v any) reply {
	switch v := v.(type) {
	case reply:
		return v
	case WriteResult:
		return reply{body: api.ActionResponse{Index: v.Index}}
	}
	return reply{body: v}
}

// endpoint is a /v1 route's work: it returns the route's answer or the
// error to answer.
type endpoint func(w http.ResponseWriter, r *http.Request) (reply, error)

// serve runs an endpoint (behind authn) and writes its answer, or its error
// with writeErr.
func (c *Controller) serve(e endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, err := e(w, r)
		if err != nil {
			c.writeErr(w, r, err)
			return
		}
		if rep.indexed {
			writeRead(w, rep.index, rep.body)
			return
		}
		writeJSON(w, http.StatusOK, rep.body)
	}
}

// param reads one input of a route from its request: a path value, a
// filter from the query string or the body; its error is answered.
type param[P any] func(w http.ResponseWriter, r *http.Request) (P, error)

// jobParam is the job in the {id} path segment (jobRef).
func jobParam(_ http.ResponseWriter, r *http.Request) (api.JobRef, error) {
	return jobRef(r)
}

// nameParam is the {name} path segment: a node's or a partition's name.
func nameParam(_ http.ResponseWriter, r *http.Request) (string, error) {
	return r.PathValue("name"), nil
}

// body is a JSON body of type B of at most limit bytes (decodeBody); an
// empty body is the zero B when allowEmpty.
func body[B any](allowEmpty bool, limit int64) param[B] {
	return func(w http.ResponseWriter, r *http.Request) (B, error) {
		var b B
		err := decodeBody(w, r, &b, allowEmpty, limit)
		return b, err
	}
}

// queryParam is a read's blocking query (?index=&wait=&consistent=, see
// query).
func queryParam(_ http.ResponseWriter, r *http.Request) (Query, error) {
	return query(r)
}

// read is a read that takes the blocking query; its answer carries the
// index it reflects (index).
func read[T any](fn func(context.Context, Identity, Query) (T, error), index func(T) uint64) endpoint {
	return callOf(queryParam, func(ctx context.Context, caller Identity, q Query) (reply, error) {
		v, err := fn(ctx, caller, q)
		return readReply(v, index(v)), err
	})
}

// readOf is read of p, parsed before the query.
func readOf[P, T any](p param[P], fn func(context.Context, Identity, P, Query) (T, error), index func(T) uint64) endpoint {
	return callOf2(p, queryParam, func(ctx context.Context, caller Identity, in P, q Query) (reply, error) {
		v, err := fn(ctx, caller, in, q)
		return readReply(v, index(v)), err
	})
}

// readIndexed is a read that takes the blocking query, whose Service method
// returns the answer and its index apart.
func readIndexed[T any](fn func(context.Context, Identity, Query) (T, uint64, error)) endpoint {
	return callOf(queryParam, func(ctx context.Context, caller Identity, q Query) (reply, error) {
		v, index, err := fn(ctx, caller, q)
		return readReply(v, index), err
	})
}

// readIndexedOf is readIndexed of p, parsed before the query.
func readIndexedOf[P, T any](p param[P], fn func(context.Context, Identity, P, Query) (T, uint64, error)) endpoint {
	return callOf2(p, queryParam, func(ctx context.Context, caller Identity, in P, q Query) (reply, error) {
		v, index, err := fn(ctx, caller, in, q)
		return readReply(v, index), err
	})
}

// call is a route without inputs: fn's answer is sent as replyOf sends it.
func call[T any](fn func(context.Context, Identity) (T, error)) endpoint {
	return func(_ http.ResponseWriter, r *http.Request) (reply, error) {
		v, err := fn(r.Context(), callerOf(r))
		return replyOf(v), err
	}
}

// callOf is a route of one input.
func callOf[A, T any](a param[A], fn func(context.Context, Identity, A) (T, error)) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (reply, error) {
		in, err := a(w, r)
		if err != nil {
			return reply{}, err
		}
		v, err := fn(r.Context(), callerOf(r), in)
		return replyOf(v), err
	}
}

// callOf2 is a route of two inputs, read in order (a path value, then the
// query or the body).
func callOf2[A, B, T any](a param[A], b param[B], fn func(context.Context, Identity, A, B) (T, error)) endpoint {
	return func(w http.ResponseWriter, r *http.Request) (reply, error) {
		in1, err := a(w, r)
		if err != nil {
			return reply{}, err
		}
		in2, err := b(w, r)
		if err != nil {
			return reply{}, err
		}
		v, err := fn(r.Context(), callerOf(r), in1, in2)
		return replyOf(v), err
	}
}
