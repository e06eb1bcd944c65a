package openapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// maxChecked is the largest answer body Check reads; a larger one fails.
const maxChecked = 16 << 20

// Validator checks answers against a document: the answer's status is
// documented for the operation the request matched, a JSON body matches the
// status's schema (so an error's code is one the route declares), and a
// streamed answer's content type is documented. It is safe for concurrent
// use; its router is built once.
type Validator struct {
	router routers.Router
}

// NewValidator returns a validator of doc, which must be valid.
func NewValidator(doc *openapi3.T) (*Validator, error) {
	r, err := legacy.NewRouter(doc, openapi3.EnableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &Validator{router: r}, nil
}

// Check validates the answer (status, header, body) to req. A request that
// no operation matches is not checked: it is the router's 404 or 405, which
// no route declares. A 304 to a conditional request has no body to check.
func (v *Validator) Check(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	rt, params, err := v.router.FindRoute(req)
	if err != nil {
		var re *routers.RouteError
		if errors.As(err, &re) {
			return nil
		}
		return err
	}
	if status == http.StatusNotModified && (req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "") {
		return nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt == "text/event-stream" {
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("%s %s → %d (%s): %w", req.Method, req.URL.Path, status, body, err)
	}
	return nil
}

// Transport is an http.RoundTripper that checks every answer it carries with
// Validator and hands each mismatch to Report. It reads a JSON answer whole
// (and gives the caller the same bytes); a streamed answer's body is left to
// the caller unread.
type Transport struct {
	// Base carries the requests; nil means http.DefaultTransport.
	Base      http.RoundTripper
	Validator *Validator
	Report    func(error)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || req.Method == http.MethodOptions || req.Method == http.MethodHead {
		return resp, err
	}
	var body []byte
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" && resp.StatusCode != http.StatusSwitchingProtocols {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxChecked+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) > maxChecked {
			t.Report(fmt.Errorf("%s %s: answer larger than %d bytes not checked", req.Method, req.URL.Path, maxChecked))
			return resp, nil
		}
	}
	if err := t.Validator.Check(req.Context(), req, resp.StatusCode, resp.Header, body); err != nil {
		t.Report(fmt.Errorf("answer not as documented (status %s): %w", strconv.Itoa(resp.StatusCode), err))
	}
	return resp, nil
}
