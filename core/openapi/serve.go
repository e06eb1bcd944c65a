package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/ratelimit"
	"github.com/agentbot/gateway/core/route"
)

// Document is the API described once: the JSON of the route table's
// document, built on first use from the table routes returns (which may be
// filled in after the route serving it is declared) and kept in memory.
type Document struct {
	Routes  func() []route.Route
	Limiter *ratelimit.Limiter
	Info    Info

	once sync.Once
	raw  []byte
	etag string
	err  error
}

// JSON returns the document's JSON and its entity tag.
func (d *Document) JSON() ([]byte, string, error) {
	d.once.Do(func() {
		doc, err := Build(d.Routes(), d.Limiter, d.Info)
		if err != nil {
			d.err = err
			return
		}
		if d.raw, d.err = Marshal(doc); d.err == nil {
			sum := sha256.Sum256(d.raw)
			d.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
		}
	})
	return d.raw, d.etag, d.err
}

// Handle serves the document with its ETag; a request whose If-None-Match
// names it gets 304 without a body.
func (d *Document) Handle(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	raw, etag, err := d.JSON()
	if err != nil {
		return api.Internal(err)
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	for tag := range strings.SplitSeq(r.Header.Get("If-None-Match"), ",") {
		if t := strings.TrimSpace(tag); t == etag || t == "*" || strings.TrimPrefix(t, "W/") == etag {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(raw)
	return nil
}
