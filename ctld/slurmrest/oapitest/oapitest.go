// Package oapitest checks requests and responses against the OpenAPI
// document the REST API serves, with github.com/getkin/kin-openapi. It is
// for tests only (ctld's and cmd/e2e's); no binary links it.
package oapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks exchanges against one OpenAPI document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses and validates an OpenAPI 3 document (every $ref resolved,
// every schema well-formed) and returns its Validator.
func Load(ctx context.Context, doc []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := d.Validate(ctx); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	router, err := gorillamux.NewRouter(d)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document's paths: %w", err)
	}
	return &Validator{doc: d, router: router}, nil
}

// Doc returns the parsed document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Exchange is one request and the response it got.
type Exchange struct {
	Method     string
	URL        string // absolute, as requested
	ReqHeader  http.Header
	ReqBody    []byte
	Status     int
	RespHeader http.Header // at least Content-Type
	RespBody   []byte
}

// Check validates the request (path, parameters, body) and the response
// (status declared, content type, body against its schema) of an exchange
// whose path the document declares. A path the document does not have is
// an error: the API answered something it does not document.
func (v *Validator) Check(ctx context.Context, x Exchange) error {
	req, err := http.NewRequestWithContext(ctx, x.Method, x.URL, bytes.NewReader(x.ReqBody))
	if err != nil {
		return err
	}
	for k, vs := range x.ReqHeader {
		req.Header[k] = vs
	}
	if len(x.ReqBody) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := v.find(req)
	if err != nil {
		return fmt.Errorf("%s %s: not a path of the OpenAPI document: %w", x.Method, x.URL, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("%s %s: request does not match the OpenAPI document: %w", x.Method, x.URL, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.RespHeader,
		Body:                   io.NopCloser(bytes.NewReader(x.RespBody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s: response %d does not match the OpenAPI document: %w\nbody: %s", x.Method, x.URL, x.Status, err, truncate(x.RespBody))
	}
	return nil
}

// find routes a request, trying the other form of a trailing slash too
// (slurmrestd declares "/slurm/v0.0.41/jobs/" and serves both).
func (v *Validator) find(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := v.router.FindRoute(req)
	if err == nil {
		return route, params, nil
	}
	alt := *req.URL
	if strings.HasSuffix(alt.Path, "/") {
		alt.Path = strings.TrimSuffix(alt.Path, "/")
	} else {
		alt.Path += "/"
	}
	r2 := req.Clone(req.Context())
	r2.URL = &url.URL{Scheme: alt.Scheme, Host: alt.Host, Path: alt.Path, RawQuery: alt.RawQuery}
	if route, params, err2 := v.router.FindRoute(r2); err2 == nil {
		return route, params, nil
	}
	return nil, nil, err
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}
