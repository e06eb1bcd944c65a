package skills

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
)

// MaxModule is the largest module accepted at publish (Go guests are ~3 MB).
const MaxModule = 16 << 20

// MaxPublishBody is the largest publish request: a module and its manifest.
const MaxPublishBody = MaxModule + 64<<10

// Routes are the marketplace's routes. Running a skill (POST
// /api/skills/:name) goes through the gateway's payment step, so the
// application adds that entry; POST /api/skills/publish is served within it
// (httprouter cannot hold both).
func (s *Service) Routes() []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: "/api/skills", Handler: s.list, Access: route.Public,
			Query:    []route.Param{{Name: "category", Doc: "only this category"}, {Name: "featured", Doc: "true: only featured skills"}},
			Response: skillListDoc{},
			Summary:  "`?category=&featured=` → `{skills, categories, featured}`"},
		{Method: http.MethodGet, Path: "/api/skills/:name", Handler: s.get, Access: route.Public, Response: skillDetailDoc{}, Errors: []api.Code{api.CodeNotFound},
			Summary: "a skill's metadata and actions"},
		{Method: http.MethodPost, Path: "/api/skills/publish", Within: "/api/skills/:name", Handler: s.Publish,
			Access: route.User, MaxBody: MaxPublishBody,
			Status: http.StatusCreated, Response: publishedDoc{},
			Request: route.Multipart{Parts: []route.Part{{Name: "module", Doc: "the skill's WebAssembly module (.wasm)", File: true},
				{Name: "manifest", Doc: "the skill's manifest (JSON), as a field or a file"}}},
			Errors: []api.Code{api.CodeUnsupportedMediaType, api.CodeInvalidMultipart, api.CodeInvalidManifest, api.CodeInvalidModule,
				api.CodeValidationError, api.CodePublishQuotaExceeded, api.CodeSkillNameReserved, api.CodeSkillNameTaken, api.CodeVersionExists},
			Summary: "multipart `module` (.wasm) + `manifest`; versions are immutable, names belong to their first author"},
	}
}

// skillJSON is a skill's entry in the listing; with its manifest m (nil in
// the featured list) it tells the actions and how calls are isolated.
func (s *Service) skillJSON(sk *store.Skill, m *Manifest) map[string]any {
	out := map[string]any{
		"id": sk.Name, "name": sk.Name, "description": sk.Description, "category": sk.Category, "icon": sk.Icon,
		"author": sk.Author, "version": sk.Version, "price": money.FormatUSD(sk.PriceMicroUSD), "currency": "USD",
		"downloads": sk.Downloads, "rating": float64(sk.RatingX100) / 100, "featured": sk.Featured,
	}
	if m != nil {
		out["actions"] = orEmpty(m.Actions)
		out["isolation"] = s.Runtime.isolation(m)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// list: GET /api/skills?category=&featured= → {skills, categories, featured}.
func (s *Service) list(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	featuredOnly := q.Get("featured") == "true"
	skills, err := s.Store.Skills(r.Context(), store.SkillFilter{Category: q.Get("category"), Featured: featuredOnly})
	if err != nil {
		return err
	}
	all, err := s.Store.Skills(r.Context(), store.SkillFilter{})
	if err != nil {
		return err
	}
	var categories []string
	seen := map[string]bool{}
	featured := []map[string]any{}
	for i := range all {
		if !seen[all[i].Category] {
			seen[all[i].Category] = true
			categories = append(categories, all[i].Category)
		}
		if all[i].Featured {
			featured = append(featured, s.skillJSON(&all[i], nil))
		}
	}
	out := make([]map[string]any, len(skills))
	for i := range skills {
		m, _ := parseManifest(skills[i].Manifest)
		out[i] = s.skillJSON(&skills[i], m)
	}
	api.OK(w, map[string]any{"skills": out, "categories": orEmpty(categories), "featured": featured})
	return nil
}

// get: GET /api/skills/:name → the skill's metadata.
func (s *Service) get(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	sk, m, err := s.skill(r.Context(), ps.ByName("name"))
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound("Skill not found")
	}
	if err != nil {
		return err
	}
	out := s.skillJSON(sk, m)
	out["skill"] = sk.Name
	out["capabilities"] = orEmpty(m.Capabilities)
	out["limits"] = m.Limits
	out["sha256"] = sk.SHA256
	out["pricing"] = map[string]any{"perCall": money.FormatUSD(sk.PriceMicroUSD), "currency": "USD"}
	if len(m.HTTP.Hosts) > 0 {
		out["httpHosts"] = m.HTTP.Hosts
	}
	api.OK(w, out)
	return nil
}

// Publish: POST /api/skills/publish, multipart with a "module" file (the
// .wasm) and a "manifest" (JSON, as a field or a file). The module's imports
// are checked against the ABI; versions are immutable; a name belongs to its
// first author.
func (s *Service) Publish(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return &api.Error{Status: 415, Code: api.CodeUnsupportedMediaType, Message: "Publish with multipart/form-data: a module file and a manifest"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxPublishBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return api.BadRequest(api.CodeInvalidMultipart, "Malformed multipart body")
	}
	var wasm, manifest []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return multipartErr(err)
		}
		switch part.FormName() {
		case "module":
			if wasm, err = io.ReadAll(io.LimitReader(part, MaxModule+1)); err != nil {
				return multipartErr(err)
			}
			if len(wasm) > MaxModule {
				return &api.Error{Status: 413, Code: api.CodePayloadTooLarge, Message: "The module exceeds 16 MiB"}
			}
		case "manifest":
			if manifest, err = io.ReadAll(io.LimitReader(part, 64<<10+1)); err != nil {
				return multipartErr(err)
			}
			if len(manifest) > 64<<10 {
				return &api.Error{Status: 413, Code: api.CodePayloadTooLarge, Message: "The manifest exceeds 64 KiB"}
			}
		}
		part.Close()
	}
	if len(wasm) == 0 || len(manifest) == 0 {
		return api.Validation("Both a \"module\" file and a \"manifest\" are required")
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		e := api.BadRequest(api.CodeInvalidManifest, err.Error())
		if se := (*SchemaError)(nil); errors.As(err, &se) {
			e = e.With("field", se.Field)
		}
		return e
	}
	if err := m.CheckMaxima(s.Runtime.Maxima()); err != nil {
		var le *LimitError
		errors.As(err, &le)
		return api.BadRequest(api.CodeInvalidManifest, err.Error()).With("field", le.Field).With("limit", le.Max)
	}
	if s.Reserved(m.Name) {
		return api.Forbidden(api.CodeSkillNameReserved, "The skill name "+m.Name+" is reserved for the platform")
	}
	sum := sha256.Sum256(wasm)
	rel := store.SkillRelease{Name: m.Name, Version: m.Version, Description: m.Description, Category: m.Category,
		Icon: m.Icon, Manifest: manifest, PriceMicroUSD: m.PriceMicroUSD(), SHA256: hex.EncodeToString(sum[:]), WASM: wasm}
	if !p.Admin {
		q := s.Quota.withDefaults()
		rel.Quota = store.SkillQuota{VersionsPerDay: q.PublishPerDay, StoredBytes: q.StorageBytes}
	}
	// Name, version and quota first: compiling is the expensive part, and
	// nobody should make the platform pay it for a release it would refuse.
	if err := s.Store.CheckSkillRelease(r.Context(), p.UserID, rel); err != nil {
		return publishErr(m, err)
	}
	if over, retry := s.refusedRecently(p.UserID, time.Now()); over && !p.Admin {
		limit := s.Quota.withDefaults().PublishPerDay
		return &api.Error{Status: http.StatusTooManyRequests, Code: api.CodePublishQuotaExceeded,
			Message: fmt.Sprintf("Too many invalid modules: %d refused in 24 hours; check yours with skilltest before publishing", limit),
			Fields:  map[string]any{"quota": "refusedModulesPerDay", "limit": limit},
			Header:  http.Header{"Retry-After": {strconv.Itoa(max(1, int(retry.Seconds())))}}}
	}
	mod, err := s.Runtime.Compile(r.Context(), wasm)
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			s.noteRefused(p.UserID, time.Now())
			return api.BadRequest(api.CodeInvalidModule, ie.Error())
		}
		return err
	}
	if m.Isolation == "" {
		// The platform decides, once per version, and records it.
		m.Isolation = s.Runtime.Isolation(r.Context(), mod)
		if rel.Manifest, err = WithIsolation(manifest, m.Isolation); err != nil {
			return err
		}
	}
	u, err := s.Store.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	sk, err := s.Store.PublishSkill(r.Context(), p.UserID, u.Name, rel)
	if err != nil {
		return publishErr(m, err)
	}
	s.forget(m.Name)
	out := s.skillJSON(sk, m)
	out["sha256"] = sk.SHA256
	api.JSON(w, http.StatusCreated, map[string]any{"skill": out, "gatewayId": IDPrefix + sk.Name})
	return nil
}

// publishErr maps the store's refusals of a release.
func publishErr(m *Manifest, err error) error {
	var qe *store.SkillQuotaError
	switch {
	case errors.Is(err, store.ErrNotOwner):
		return api.Forbidden(api.CodeSkillNameTaken, "The skill name "+m.Name+" belongs to another author")
	case errors.Is(err, store.ErrConflict):
		return api.Conflict(api.CodeVersionExists, "Version "+m.Version+" of "+m.Name+" is already published; versions are immutable")
	case errors.As(err, &qe) && qe.Daily:
		e := &api.Error{Status: http.StatusTooManyRequests, Code: api.CodePublishQuotaExceeded,
			Message: fmt.Sprintf("Publish quota reached: %d versions in 24 hours", qe.Limit),
			Fields:  map[string]any{"quota": "versionsPerDay", "current": qe.Current, "limit": qe.Limit},
			Header:  http.Header{"Retry-After": {strconv.Itoa(int(qe.RetryAfter.Round(time.Second).Seconds()))}}}
		return e
	case errors.As(err, &qe):
		return &api.Error{Status: http.StatusTooManyRequests, Code: api.CodePublishQuotaExceeded,
			Message: fmt.Sprintf("Storage quota reached: %d of %d bytes of modules stored", qe.Current, qe.Limit),
			Fields:  map[string]any{"quota": "storageBytes", "current": qe.Current, "limit": qe.Limit}}
	}
	return err
}

func multipartErr(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &api.Error{Status: 413, Code: api.CodePayloadTooLarge, Message: "The upload exceeds 16 MiB"}
	}
	if strings.Contains(err.Error(), "multipart") {
		return api.BadRequest(api.CodeInvalidMultipart, "Malformed multipart body")
	}
	return api.BadRequest(api.CodeInvalidMultipart, "Malformed multipart body")
}
