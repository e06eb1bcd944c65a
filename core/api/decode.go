package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// ErrBodyRequired is the answer to an empty body where a JSON object is
// required; callers for whom an empty body is fine test for it with errors.Is.
var ErrBodyRequired = BadRequest(CodeInvalidJSON, "Request body is required")

// MaxBody is the default request body limit (docs/api-conventions.md#requests-and-responses).
const MaxBody = 1 << 20

// Decode reads a JSON object body into dst. Unknown fields are ignored; wrong
// types, malformed JSON, trailing data, a non-JSON content type and an empty body
// are 4xx errors naming the problem; an oversize body is 413.
func Decode(r *http.Request, dst any) error {
	raw, err := ReadJSON(r)
	if err != nil {
		return err
	}
	return Unmarshal(raw, dst)
}

// ReadJSON reads and checks a JSON body without decoding it into a type.
func ReadJSON(r *http.Request) (json.RawMessage, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &Error{Status: 415, Code: CodeUnsupportedMediaType, Message: "Content-Type must be application/json"}
		}
	}
	if r.ContentLength > MaxBody {
		return nil, ErrTooLarge
	}
	if r.Body == nil {
		return nil, ErrBodyRequired
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, decodeError(err)
	}
	if len(body) > MaxBody {
		return nil, ErrTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, ErrBodyRequired
	}
	if !json.Valid(body) {
		return nil, BadRequest(CodeInvalidJSON, "Malformed JSON body")
	}
	return body, nil
}

// Unmarshal decodes a checked JSON body into dst with Decode's error mapping.
// A body of null is refused like any other non-object (encoding/json would
// leave dst as it was and report success).
func Unmarshal(raw json.RawMessage, dst any) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return BadRequest(CodeInvalidJSON, "Request body must be a JSON object")
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	var mb *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &mb):
		return ErrTooLarge
	case errors.Is(err, io.EOF):
		return ErrBodyRequired
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return BadRequest(CodeInvalidJSON, "Request body must be a JSON object")
		}
		return BadRequest(CodeInvalidFieldType, fmt.Sprintf("Field %q must be of type %s", field, jsonType(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest(CodeInvalidJSON, "Malformed JSON body")
	}
	return BadRequest(CodeInvalidJSON, "Malformed JSON body")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "ptr", "interface":
		return "value"
	}
	return "number"
}
