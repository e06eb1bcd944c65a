// Package skills runs marketplace skills: WebAssembly modules that speak the
// skill ABI (sdk/skill, import module "agentbot:skill/v1"), each call in a
// sandbox bounded in memory, time, output and host calls, with only the host
// capabilities its manifest requests and the operator grants. It also serves
// the marketplace: publishing (module + manifest), listing and metadata, and
// the gateway ids "skill:<name>".
package skills

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/agentbot/gateway/core/money"
)

// Manifest describes a published skill.
type Manifest struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Icon        string `json:"icon,omitempty"`
	// Price per call in USD, e.g. "0.01"; "" or "0" is free.
	Price string `json:"price,omitempty"`
	// Actions are the values of "action" the skill accepts (documentation and
	// listing; the skill itself refuses others).
	Actions []string `json:"actions,omitempty"`
	// Capabilities requested: "kv", "http", "log", "config".
	Capabilities []string `json:"capabilities,omitempty"`
	// HTTP lists the hosts http_fetch may reach (with the "http" capability).
	HTTP struct {
		Hosts []string `json:"hosts,omitempty"`
	} `json:"http,omitempty"`
	Limits ManifestLimits    `json:"limits,omitempty"`
	Config map[string]string `json:"config,omitempty"`
	// InputSchemas holds a JSON Schema per action (keys from Actions) for the
	// call's other fields: an object schema ("type": "object") without the
	// "action" property, at most MaxInputSchema bytes each and
	// MaxInputSchemas together, referring to nothing outside itself. Agents
	// offer each action to a model as a tool with its schema and check the
	// model's arguments against it before the call.
	InputSchemas map[string]json.RawMessage `json:"inputSchemas,omitempty"`
	// Isolation is how the platform runs the skill's calls: IsolationFresh
	// (a new instance per call: no state survives in guest memory) or
	// IsolationPooled (warm instances reused for the same user's calls).
	// Left out, publishing decides by measuring the module's instantiation
	// (see Runtime.Isolation) and records the decision in the stored
	// manifest; a manifest stored without one is pooled.
	Isolation string `json:"isolation,omitempty"`

	priceMicro int64
	// inputs are the compiled InputSchemas (ParseManifest only).
	inputs map[string]*jsonschema.Schema
}

// ManifestLimits are a skill's own bounds; the operator's maxima cap them.
type ManifestLimits struct {
	TimeoutMS      int `json:"timeoutMs,omitempty"`
	MemoryMB       int `json:"memoryMb,omitempty"`
	MaxOutputBytes int `json:"maxOutputBytes,omitempty"`
	MaxHostCalls   int `json:"maxHostCalls,omitempty"`
}

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)
	versionRE  = regexp.MustCompile(`^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(-[0-9A-Za-z.-]{1,32})?(\+[0-9A-Za-z.-]{1,32})?$`)
	categoryRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	actionRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	knownCaps  = []string{"kv", "http", "log", "config"}
	// maxPriceMicro caps a skill's price at $100 per call.
	maxPriceMicro int64 = 100 * money.MicroPerUSD
)

// ParseManifest reads and validates a manifest, compiling its input
// schemas. Errors name the field; a refused input schema is a *SchemaError.
func ParseManifest(b []byte) (*Manifest, error) {
	m, err := parseManifest(b)
	if err != nil {
		return nil, err
	}
	if m.inputs, err = m.compileInputSchemas(); err != nil {
		return nil, err
	}
	return m, nil
}

// parseManifest is ParseManifest without compiling the input schemas: for
// manifests the store holds, which passed ParseManifest at publish, read
// where their schemas are not needed (listing, calls).
func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON for a manifest: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("manifest is not valid JSON for a manifest: data after the object")
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	switch {
	case !nameRE.MatchString(m.Name):
		return fmt.Errorf("manifest name %q must be 3–64 lower-case letters, digits and dashes", m.Name)
	case !versionRE.MatchString(m.Version):
		return fmt.Errorf("manifest version %q must be semantic (1.2.3)", m.Version)
	case strings.TrimSpace(m.Description) == "" || utf8.RuneCountInString(m.Description) > 500:
		return fmt.Errorf("manifest description is required (at most 500 characters)")
	case !categoryRE.MatchString(m.Category):
		return fmt.Errorf("manifest category %q must be a lower-case word", m.Category)
	case utf8.RuneCountInString(m.Icon) > 16:
		return fmt.Errorf("manifest icon must be at most 16 characters")
	case len(m.Actions) > 64:
		return fmt.Errorf("manifest lists more than 64 actions")
	case len(m.Config) > 64:
		return fmt.Errorf("manifest config has more than 64 entries")
	}
	for _, a := range m.Actions {
		if !actionRE.MatchString(a) {
			return fmt.Errorf("manifest action %q must be a lower-case word", a)
		}
	}
	if err := m.checkInputSchemas(); err != nil {
		return err
	}
	if m.Isolation != "" && m.Isolation != IsolationFresh && m.Isolation != IsolationPooled {
		return fmt.Errorf("manifest isolation %q must be %q or %q (or left out for the platform to choose)",
			m.Isolation, IsolationFresh, IsolationPooled)
	}
	for _, c := range m.Capabilities {
		if !slices.Contains(knownCaps, c) {
			return fmt.Errorf("manifest capability %q is unknown (want kv, http, log or config)", c)
		}
	}
	if len(m.HTTP.Hosts) > 0 && !m.Has("http") {
		return fmt.Errorf("manifest lists http.hosts without the \"http\" capability")
	}
	if m.Has("http") && len(m.HTTP.Hosts) == 0 {
		return fmt.Errorf("manifest requests \"http\" but lists no http.hosts")
	}
	for _, h := range m.HTTP.Hosts {
		if !validHost(h) {
			return fmt.Errorf("manifest http host %q must be a host name (no scheme, path or port)", h)
		}
	}
	l := m.Limits
	if l.TimeoutMS < 0 || l.MemoryMB < 0 || l.MaxOutputBytes < 0 || l.MaxHostCalls < 0 {
		return fmt.Errorf("manifest limits must not be negative")
	}
	if m.Price != "" {
		p, err := money.ParseUSD(m.Price)
		if err != nil {
			return fmt.Errorf("manifest price: %v", err)
		}
		if p > maxPriceMicro {
			return fmt.Errorf("manifest price must be at most 100 USD per call")
		}
		m.priceMicro = p
	}
	return nil
}

// LimitError is a manifest limit above the operator's maximum.
type LimitError struct {
	Field string // e.g. "limits.maxOutputBytes"
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the server maximum (%d)", e.Field, e.Max)
}

// CheckMaxima refuses limits above the operator's maxima (a *LimitError
// naming the field). Publishing checks them; a call caps them whatever they
// are, so a skill published under higher maxima is held to today's.
func (m *Manifest) CheckMaxima(mx Maxima) error {
	l := m.Limits
	for _, c := range []struct {
		field     string
		want, max int64
	}{
		{"limits.timeoutMs", int64(l.TimeoutMS), mx.Timeout.Milliseconds()},
		{"limits.memoryMb", int64(l.MemoryMB), int64(mx.MemoryMB)},
		{"limits.maxOutputBytes", int64(l.MaxOutputBytes), int64(mx.MaxOutputBytes)},
		{"limits.maxHostCalls", int64(l.MaxHostCalls), int64(mx.MaxHostCalls)},
	} {
		if c.want > c.max {
			return &LimitError{Field: c.field, Max: c.max}
		}
	}
	return nil
}

// Has reports whether the manifest requests a capability.
func (m *Manifest) Has(capability string) bool { return slices.Contains(m.Capabilities, capability) }

// PriceMicroUSD is the price per call in micro-USD.
func (m *Manifest) PriceMicroUSD() int64 { return m.priceMicro }

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.ContainsAny(h, "/:@ ?#") {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
