package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxRequestBody bounds a request body, as Telegram bounds its own.
const maxRequestBody = 10 << 20

// params are a Bot API call's parameters, from the query string and a
// JSON, urlencoded or multipart body, as Telegram takes them. Each value is
// kept as text: a JSON string as its contents, anything else (numbers,
// objects, arrays) as its JSON, which is also how form values carry
// objects.
type params map[string]string

// parseParams reads r's parameters. An empty body carries none, whatever
// its content type says (the library sends parameterless calls as an empty
// multipart body).
func parseParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := make(params)
	for k, vs := range r.URL.Query() {
		p[k] = vs[0]
	}
	if r.Body == nil {
		return p, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	mt, mtParams, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("bad content type: %w", err)
	}
	switch mt {
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, fmt.Errorf("can't parse JSON object: %w", err)
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p[k] = s
			} else if string(raw) != "null" {
				p[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded":
		vs, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range vs {
			p[k] = v[0]
		}
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), mtParams["boundary"]).ReadForm(maxRequestBody)
		if err != nil {
			return nil, err
		}
		defer form.RemoveAll()
		for k, vs := range form.Value {
			p[k] = vs[0]
		}
	default:
		return nil, fmt.Errorf("unsupported content type %q", mt)
	}
	return p, nil
}

// has reports whether the call carried name.
func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// int64 is name as an integer (0, nil when absent).
func (p params) int64(name string) (int64, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("field %q must be an integer", name)
	}
	return n, nil
}

// bool is name as a boolean (false when absent).
func (p params) bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p[name])) {
	case "true", "1":
		return true
	}
	return false
}

// json decodes name, an object or array, into dest (unchanged when absent).
func (p params) json(name string, dest any) error {
	v, ok := p[name]
	if !ok || v == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), dest); err != nil {
		return errors.New("can't parse " + name + " JSON object")
	}
	return nil
}
