package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// This file holds how a request reaches the controllers: failover, retries
// through elections, per-attempt timeouts, idempotent resends.

// do sends a request to the first controller that answers and decodes the JSON
// answer into out (if non-nil). It returns the response's raft index header.
//
// While no controller can answer because none knows a raft leader yet (an
// election, or a controller catching up after a restart: 503), it retries for
// up to RetryUnavailable.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (uint64, error) {
	if c.consistent && method == http.MethodGet {
		path = withConsistent(path)
	}
	deadline := time.Now().Add(c.retryFor)
	for {
		idx, err := c.doOnce(ctx, method, path, in, out)
		if err == nil || !retryable(ctx, err) || time.Now().After(deadline) {
			return idx, err
		}
		select {
		case <-ctx.Done():
			return idx, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// withConsistent adds ?consistent=1 to a path (with or without a query).
func withConsistent(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + api.ConsistentParam + "=1"
}

// RetryUnavailable is how long a request is retried while no controller
// can take it: every controller answers 503 (an election, a replica
// catching up) or cannot be reached.
const RetryUnavailable = 15 * time.Second

// AttemptTimeout is the default bound on one request to one controller
// (Options.AttemptTimeout; blocking queries, which name their own wait,
// excepted): how long the controller may take to start answering, and
// how long its answer may pause while it arrives. A frozen controller
// must not stall a command; a long answer that keeps coming is not cut.
const AttemptTimeout = 10 * time.Second

// unreachedError is a request no controller received (every connection
// failed): it can be sent again without being applied twice.
type unreachedError struct{ err error }

func (e *unreachedError) Error() string { return e.err.Error() }
func (e *unreachedError) Unwrap() error { return e.err }

// retryable reports whether a request that failed with err may be sent
// again: no controller received it, or the controllers answered 503 (not
// applied, no leader yet).
func retryable(ctx context.Context, err error) bool {
	var apiErr *Error
	var unreached *unreachedError
	switch {
	case errors.As(err, &unreached):
		return true
	case errors.As(err, &apiErr):
		return apiErr.Status == http.StatusServiceUnavailable || apiErr.Status == http.StatusInternalServerError && isIdempotent(ctx)
	}
	// A keyed submission that reached a controller without an answer.
	return isIdempotent(ctx)
}

// doOnce tries the controllers in turn, from the one that answered last. A
// controller that cannot be
// reached, answers 503, or (for reads) fails in any other way is skipped
// for the next. A write that reached a controller but got no answer is not
// sent elsewhere: it may have been applied, and the error says so.
func (c *Client) doOnce(ctx context.Context, method, path string, in, out any) (uint64, error) {
	if c.err != nil {
		return 0, c.err
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
	}
	// A write that may have been applied is not sent again, unless it is
	// idempotent (a keyed submission).
	write := method != http.MethodGet && method != http.MethodHead && !isIdempotent(ctx)
	blocking := strings.Contains(path, "wait=")
	var unavailable, lastErr error
	reached := false
	first := 0
	if c.preferred != nil {
		first = int(c.preferred.Load())
	}
	for n := range c.addrs {
		i := (first + n) % len(c.addrs)
		idx, sent, err := c.attempt(ctx, method, c.addrs[i], path, body, in != nil, out, blocking)
		if err == nil {
			if i != first && c.preferred != nil {
				c.preferred.Store(int32(i))
				// The controllers tried before are not used any more:
				// their idle connections would stay open (an HTTP/2
				// connection each) until the idle timeout, a file
				// descriptor on both sides for each node daemon.
				c.http.CloseIdleConnections()
			}
			return idx, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		var apiErr *Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
			unavailable, reached = err, true // not applied here; try the next controller
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusInternalServerError && isIdempotent(ctx):
			unavailable, reached = err, true // outcome unknown: the key makes sending it again safe
		case errors.As(err, &apiErr):
			return idx, err
		case !sent:
			lastErr = err // never reached this controller
		case write:
			return 0, fmt.Errorf("%w: the request may or may not have been applied; check before sending it again", err)
		default:
			lastErr, reached = err, true
		}
	}
	switch {
	case unavailable != nil:
		return 0, unavailable
	case lastErr == nil:
		return 0, errors.New("no controller address configured")
	case !reached:
		return 0, &unreachedError{err: lastErr}
	}
	return 0, lastErr
}

// attempt sends one request to one controller. sent is false when the
// connection could not be made (the controller did not receive it).
func (c *Client) attempt(ctx context.Context, method, base, path string, body []byte, hasBody bool, out any, blocking bool) (idx uint64, sent bool, err error) {
	var stall *stallTimer
	if !blocking {
		ctx, stall = withStallTimeout(ctx, c.attemptTimeout)
		defer stall.stop()
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	authErr := c.auth.Authenticate(ctx, req, body)
	resp, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		dialFailed := errors.As(err, &opErr) && opErr.Op == "dial"
		if stall.fired(ctx) {
			err = fmt.Errorf("no answer within %v", c.attemptTimeout)
		}
		return 0, !dialFailed, fmt.Errorf("controller %s: %w", base, err)
	}
	if stall != nil {
		resp.Body = progressBody{ReadCloser: resp.Body, stall: stall}
	}
	idx, err = decode(resp, out)
	if err != nil && stall.fired(ctx) {
		err = fmt.Errorf("controller %s: the answer stopped arriving for %v: %w", base, c.attemptTimeout, err)
	}
	var apiErr *Error
	if err != nil && authErr != nil && errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		apiErr.Msg += " (" + authErr.Error() + ")"
	}
	return idx, true, err
}

// errStalled is the cause of an attempt's end when the controller did not
// answer, or stopped sending its answer, for the attempt timeout.
var errStalled = errors.New("attempt timeout")

// stallTimer ends an attempt (its context) when the controller has sent
// nothing for its duration: before the answer starts, or between two reads
// of the answer. A long answer that keeps arriving (squeue of 200,000 jobs
// on a loaded machine) is not cut short, a frozen controller still costs
// one timeout.
type stallTimer struct {
	d      time.Duration
	t      *time.Timer
	cancel context.CancelCauseFunc
}

// withStallTimeout returns ctx ended by a stall of d, and its timer.
func withStallTimeout(ctx context.Context, d time.Duration) (context.Context, *stallTimer) {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &stallTimer{d: d, cancel: cancel}
	s.t = time.AfterFunc(d, func() { cancel(errStalled) })
	return ctx, s
}

// progress restarts the timer: bytes arrived.
func (s *stallTimer) progress() { s.t.Reset(s.d) }

// stop ends the timer and the attempt's context.
func (s *stallTimer) stop() {
	s.t.Stop()
	s.cancel(nil)
}

// fired reports whether the attempt's context ctx ended by a stall (false
// for a nil timer: blocking queries have none).
func (s *stallTimer) fired(ctx context.Context) bool {
	return s != nil && errors.Is(context.Cause(ctx), errStalled)
}

// progressBody is an answer's body whose reads restart the stall timer.
type progressBody struct {
	io.ReadCloser
	stall *stallTimer
}

// Read reads from the body and restarts the stall timer when bytes came.
func (b progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.stall.progress()
	}
	return n, err
}

func decode(resp *http.Response, out any) (uint64, error) {
	defer resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 64)
	if d, ok := out.(bodyDecoder); ok && resp.StatusCode < 300 {
		if err := d.decodeBody(resp.Header.Get("Content-Type"), resp.Body); err != nil {
			return idx, fmt.Errorf("decode response: %w", err)
		}
		return idx, nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return idx, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e api.ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return idx, &Error{Status: resp.StatusCode, Msg: e.Error, Field: e.Field}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return idx, fmt.Errorf("decode response: %w", err)
		}
	}
	return idx, nil
}

// bodyDecoder is an answer that is not always JSON: it reads a successful
// answer's body as it arrives, by its Content-Type.
type bodyDecoder interface {
	decodeBody(contentType string, body io.Reader) error
}

// idempotentKey marks a request context whose write may be sent again.
type idempotentKey struct{}

func withIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func isIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// IdleConnsPerController is how many idle HTTP/1.1 connections a client keeps
// to each controller: more than the requests a node daemon has in flight at
// once (its watch, a heartbeat, an event report, a step report), so that none
// is closed after its request and made again, a TLS handshake each time.
// Over HTTP/2 one connection carries them all.
const IdleConnsPerController = 8

// NewTransport is the HTTP transport of a client of the controllers, with tlsCfg
// (nil: plain HTTP). Over TLS it speaks HTTP/2 when the controller offers it
// (pki's HTTPServerConfig does): one connection per controller carries a node
// daemon's watch, heartbeats and event reports at once, and a request that
// gives up (its attempt timeout) resets its stream instead of closing the
// connection. It resumes TLS sessions (a client session cache on a clone of
// tlsCfg), so a connection made again, after a controller restarted or an
// idle timeout, skips the certificate exchange and its verification. Over
// HTTP/1.1 it keeps IdleConnsPerController idle connections per controller.
func NewTransport(tlsCfg *tls.Config) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	tr.MaxIdleConnsPerHost = IdleConnsPerController
	if tlsCfg != nil {
		cfg := tlsCfg.Clone()
		if cfg.ClientSessionCache == nil {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		}
		tr.TLSClientConfig = cfg
	}
	return tr
}
