package skill

import (
	"encoding/json"
	"fmt"
)

// Request is an HTTP request made by the host on the skill's behalf. Its JSON
// form is the request of the http_fetch host function.
type Request struct {
	Method  string            `json:"method"` // "" means GET
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"` // base64 in JSON
}

// Response is the answer to a Request.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

// Fetch asks the host to make an HTTP request. The host allows only the hosts
// in the skill's manifest, and only when the manifest requests the "http"
// capability (ErrNotGranted otherwise). A request the host refused or that
// failed in transit is an error; any HTTP status is a Response.
func (c *Call) Fetch(req *Request) (*Response, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("skill: fetch: %w", err)
	}
	n := hostHTTPFetch(bytesPtr(b), uint32(len(b)))
	if n < 0 {
		return nil, errnoError(n)
	}
	var res struct {
		Response
		Error string `json:"error"`
	}
	if err := json.Unmarshal(readResult(n), &res); err != nil {
		return nil, fmt.Errorf("skill: fetch: decoding the host's result: %w", err)
	}
	if res.Error != "" {
		return nil, fmt.Errorf("skill: fetch %s: %s", req.URL, res.Error)
	}
	return &res.Response, nil
}
