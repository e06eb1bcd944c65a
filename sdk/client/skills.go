package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
)

// Skill is a marketplace skill's metadata.
type Skill struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Category     string          `json:"category"`
	Icon         string          `json:"icon"`
	Author       string          `json:"author"`
	Version      string          `json:"version"`
	Price        string          `json:"price"` // US dollars per call
	Currency     string          `json:"currency"`
	Downloads    int64           `json:"downloads"`
	Rating       float64         `json:"rating"`
	Featured     bool            `json:"featured"`
	Actions      []string        `json:"actions"`
	Capabilities []string        `json:"capabilities,omitempty"` // GetSkill only
	Limits       json.RawMessage `json:"limits,omitempty"`       // GetSkill only
	SHA256       string          `json:"sha256,omitempty"`       // GetSkill and PublishSkill
}

// SkillList is the marketplace.
type SkillList struct {
	Skills     []Skill  `json:"skills"`
	Categories []string `json:"categories"`
	Featured   []Skill  `json:"featured"`
}

// ListSkillsOptions filters ListSkills.
type ListSkillsOptions struct {
	Category string
	Featured bool
}

// ListSkills lists the marketplace (opts may be nil).
func (c *Client) ListSkills(ctx context.Context, opts *ListSkillsOptions) (*SkillList, error) {
	q := url.Values{}
	if opts != nil {
		if opts.Category != "" {
			q.Set("category", opts.Category)
		}
		if opts.Featured {
			q.Set("featured", "true")
		}
	}
	var out SkillList
	if _, err := c.do(ctx, http.MethodGet, "/api/skills", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSkill returns a skill's metadata.
func (c *Client) GetSkill(ctx context.Context, name string) (*Skill, error) {
	var s Skill
	if _, err := c.do(ctx, http.MethodGet, "/api/skills/"+url.PathEscape(name), nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// CallSkill runs a skill directly (POST /api/skills/:name) with input (as
// for Call), answered with the skill's own output.
func (c *Client) CallSkill(ctx context.Context, name string, input any) (json.RawMessage, error) {
	body, err := objectBody(input)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if _, err := c.do(ctx, http.MethodPost, "/api/skills/"+url.PathEscape(name), nil, body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PublishRequest is a skill release: its module and manifest.
type PublishRequest struct {
	// Module is the WebAssembly module, Size its length in bytes (-1 if
	// unknown: the module is then read into memory first, to send a
	// Content-Length).
	Module io.Reader
	Size   int64
	// ModuleName is the module's file name in the upload ("module.wasm"
	// when empty).
	ModuleName string
	// Manifest is the manifest's JSON.
	Manifest []byte
	// Progress, if set, is called as the upload's bytes are handed to the
	// connection: sent so far and the total (the whole multipart body), last
	// with sent == total. It is called from the goroutine sending the
	// request; keep it quick.
	Progress func(sent, total int64)
}

// Published is a release the marketplace accepted.
type Published struct {
	Skill     Skill  `json:"skill"`
	GatewayID string `json:"gatewayId"` // "skill:<name>"
}

// PublishSkill uploads a release (multipart: "manifest", then "module"),
// streaming the module. A refusal is an *Error whose Fields name what was
// wrong: INVALID_MANIFEST with "field" (e.g. "limits.maxOutputBytes",
// "inputSchemas.greet") and "limit", INVALID_MODULE naming the import,
// PUBLISH_QUOTA_EXCEEDED with "quota", "current" and "limit".
func (c *Client) PublishSkill(ctx context.Context, r *PublishRequest) (*Published, error) {
	if r.Module == nil || len(r.Manifest) == 0 {
		return nil, errors.New("client: a release needs a module and a manifest")
	}
	module, size := r.Module, r.Size
	if size < 0 {
		b, err := io.ReadAll(module)
		if err != nil {
			return nil, fmt.Errorf("client: reading the module: %w", err)
		}
		module, size = bytes.NewReader(b), int64(len(b))
	}
	name := r.ModuleName
	if name == "" {
		name = "module.wasm"
	}
	// The parts around the module are built first, so that the length of
	// the whole body is known and the module itself is streamed.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mh := textproto.MIMEHeader{}
	mh.Set("Content-Disposition", `form-data; name="manifest"; filename="manifest.json"`)
	mh.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(mh)
	if err != nil {
		return nil, err
	}
	if _, err := pw.Write(r.Manifest); err != nil {
		return nil, err
	}
	wh := textproto.MIMEHeader{}
	wh.Set("Content-Disposition", fmt.Sprintf(`form-data; name="module"; filename=%q`, name))
	wh.Set("Content-Type", "application/wasm")
	if _, err := mw.CreatePart(wh); err != nil {
		return nil, err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	total := int64(head.Len()) + size + int64(len(tail))
	body := io.MultiReader(&head, io.LimitReader(module, size), bytes.NewReader([]byte(tail)))
	pr := &progressReader{r: body, total: total, fn: r.Progress}
	req, err := c.newRequest(ctx, http.MethodPost, "/api/skills/publish", nil, pr, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	req.ContentLength = total
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out Published
	if err := decodeBody(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// progressReader reports the bytes read from it.
type progressReader struct {
	r     io.Reader
	total int64
	fn    func(sent, total int64)
	sent  int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.fn != nil {
		p.sent += int64(n)
		p.fn(p.sent, p.total)
	}
	return n, err
}
