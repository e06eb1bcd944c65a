package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// wantAPIError checks that err is an *api.Error with the given status and code.
func wantAPIError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Errorf("%s = %v; want %d %s", what, err, status, code)
		return
	}
	if e.Status != status || string(e.Code) != code {
		t.Errorf("%s = %d %s; want %d %s", what, e.Status, e.Code, status, code)
	}
}

func TestRequireWithoutStore(t *testing.T) {
	user := &Principal{UserID: "usr_1", Email: "ada@example.com", Role: "user", Method: MethodJWT}
	admin := &Principal{UserID: "usr_2", Email: "root@example.com", Role: "admin", Admin: true, Method: MethodJWT}
	tests := []struct {
		name           string
		p              *Principal // nil: no principal in the context
		wantErr        string     // code from Require
		wantAdminError string     // code from RequireAdmin
	}{
		{"anonymous", nil, "AUTH_REQUIRED", "AUTH_REQUIRED"},
		{"user", user, "", "ADMIN_REQUIRED"},
		{"admin", admin, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if tt.p != nil {
				r = r.WithContext(WithPrincipal(r.Context(), tt.p))
			}
			p, err := Require(r)
			if tt.wantErr == "" {
				if err != nil || p != tt.p {
					t.Errorf("Require(%v) = %v, %v; want the principal", tt.p, p, err)
				}
			} else {
				wantAPIError(t, "Require", err, 401, tt.wantErr)
			}
			p, err = RequireAdmin(r)
			switch tt.wantAdminError {
			case "":
				if err != nil || p != tt.p {
					t.Errorf("RequireAdmin(%v) = %v, %v; want the principal", tt.p, p, err)
				}
			case "ADMIN_REQUIRED":
				wantAPIError(t, "RequireAdmin", err, 403, "ADMIN_REQUIRED")
			default:
				wantAPIError(t, "RequireAdmin", err, 401, tt.wantAdminError)
			}

			got, ok := FromContext(r.Context())
			if ok != (tt.p != nil) || got != tt.p {
				t.Errorf("FromContext = %v, %v; want %v", got, ok, tt.p)
			}
			wantID := ""
			if tt.p != nil {
				wantID = tt.p.UserID
			}
			if id := UserID(r.Context()); id != wantID {
				t.Errorf("UserID = %q; want %q", id, wantID)
			}
		})
	}
}

// fixture is an Authenticator on a fresh SQLite store with a movable clock.
type fixture struct {
	t   *testing.T
	s   *store.Store
	a   *Authenticator
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Now().UTC().Truncate(time.Millisecond)}
	f.s = storetest.Open(t, storetest.SQLite(t))
	f.a = f.authenticator()
	return f
}

// authenticator returns a new Authenticator on the fixture's store and clock.
func (f *fixture) authenticator() *Authenticator {
	return &Authenticator{
		Store:   f.s,
		JWT:     JWT{Secret: []byte(testSecret)},
		Admins:  map[string]bool{"boss@example.com": true},
		CSRFKey: []byte("csrf-key-0123456789abcdef0123456789"),
		Log:     quiet,
		Now:     func() time.Time { return f.now },
	}
}

// verify marks u's address verified, as following the mailed link does.
func (f *fixture) verify(u *store.User) {
	f.t.Helper()
	tok := NewToken()
	if err := f.s.CreateEmailVerification(context.Background(), u.ID, u.Email, Digest(tok), f.now.Add(time.Hour)); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.VerifyEmail(context.Background(), Digest(tok)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) user(email, role string) *store.User {
	f.t.Helper()
	u, err := f.s.CreateUser(context.Background(), store.NewUser{Email: email, Name: email, PasswordHash: "x", Role: role})
	if err != nil {
		f.t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

// session creates a session for u and returns its token.
func (f *fixture) session(u *store.User, expires time.Time) (string, *store.Session) {
	f.t.Helper()
	tok := NewToken()
	s, err := f.s.CreateSession(context.Background(), u.ID, Digest(tok), expires)
	if err != nil {
		f.t.Fatalf("CreateSession = %v", err)
	}
	return tok, s
}

// apiKey creates an API key for u and returns it.
func (f *fixture) apiKey(u *store.User) (string, *store.APIKey) {
	f.t.Helper()
	key := NewAPIKey()
	k, err := f.s.CreateAPIKey(context.Background(), u.ID, "test", Digest(key), KeyPrefix(key))
	if err != nil {
		f.t.Fatalf("CreateAPIKey = %v", err)
	}
	return key, k
}

// serve runs r through a's middleware and returns what Require said.
func serve(a *Authenticator, r *http.Request) (*Principal, *httptest.ResponseRecorder, error) {
	var (
		p   *Principal
		err error
	)
	rec := httptest.NewRecorder()
	a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err = Require(r)
	})).ServeHTTP(rec, r)
	return p, rec, err
}

func bearer(method, cred string) *http.Request {
	r := httptest.NewRequest(method, "/api/things", nil)
	r.Header.Set("Authorization", "Bearer "+cred)
	return r
}

func withCookie(method, token string) *http.Request {
	r := httptest.NewRequest(method, "/api/things", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
	return r
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ada := f.user("Ada@Example.com", "user")
	boss := f.user("boss@example.com", "user")
	f.verify(boss)
	// ADMIN_EMAILS match the stored (canonical) address exactly, once verified.
	unverifiedBoss := f.user("boss2@example.com", "user")
	shouty := f.user("BOSS3@example.com", "user")
	f.verify(shouty)
	root := f.user("root@example.com", "admin")
	unverifiedKey, _ := f.apiKey(unverifiedBoss)
	shoutyKey, _ := f.apiKey(shouty)
	f.a.Admins["boss2@example.com"], f.a.Admins["boss3@example.com"] = true, true

	adaKey, adaKeyRow := f.apiKey(ada)
	bossKey, _ := f.apiKey(boss)
	rootKey, _ := f.apiKey(root)
	adaTok, adaSess := f.session(ada, f.now.Add(30*24*time.Hour))
	bossTok, _ := f.session(boss, f.now.Add(30*24*time.Hour))
	adaJWT, _, err := f.a.JWT.Issue(&Principal{UserID: ada.ID, Email: ada.Email, Role: "user", Gen: 1})
	if err != nil {
		t.Fatal(err)
	}
	rootJWT, _, _ := f.a.JWT.Issue(&Principal{UserID: root.ID, Email: root.Email, Role: "admin", Gen: 1})
	otherJWT, _, _ := JWT{Secret: []byte("another-secret-0123456789abcdef012")}.Issue(&Principal{UserID: ada.ID, Role: "user", Gen: 1})
	// A token claiming admin for a user who is not: the role is re-derived.
	adaAdminJWT, _, _ := f.a.JWT.Issue(&Principal{UserID: ada.ID, Email: ada.Email, Role: "admin", Admin: true, Gen: 1})
	staleJWT, _, _ := f.a.JWT.Issue(&Principal{UserID: root.ID, Email: root.Email, Role: "admin", Gen: 1})
	if err := f.s.SignOutEverywhere(context.Background(), root.ID); err != nil {
		t.Fatal(err)
	}
	rootJWT, _, _ = f.a.JWT.Issue(&Principal{UserID: root.ID, Email: root.Email, Role: "admin", Gen: 2})

	type want struct {
		userID    string
		method    Method
		admin     bool
		keyID     string
		sessionID string
	}
	tests := []struct {
		name       string
		req        *http.Request
		want       *want // nil: an error
		wantStatus int
		wantCode   string
	}{
		{"API key", bearer("GET", adaKey), &want{userID: ada.ID, method: MethodAPIKey, keyID: adaKeyRow.ID}, 0, ""},
		{"API key on POST needs no CSRF", bearer("POST", adaKey), &want{userID: ada.ID, method: MethodAPIKey, keyID: adaKeyRow.ID}, 0, ""},
		{"lower-case bearer scheme", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "bearer "+adaKey)
			return r
		}(), &want{userID: ada.ID, method: MethodAPIKey, keyID: adaKeyRow.ID}, 0, ""},
		{"API key of a verified ADMIN_EMAILS user", bearer("GET", bossKey), &want{userID: boss.ID, method: MethodAPIKey, admin: true}, 0, ""},
		{"API key of an unverified ADMIN_EMAILS user", bearer("GET", unverifiedKey), &want{userID: unverifiedBoss.ID, method: MethodAPIKey}, 0, ""},
		{"API key of a non-canonical stored address", bearer("GET", shoutyKey), &want{userID: shouty.ID, method: MethodAPIKey}, 0, ""},
		{"API key of an admin-role user", bearer("GET", rootKey), &want{userID: root.ID, method: MethodAPIKey, admin: true}, 0, ""},
		{"unknown well-formed API key", bearer("GET", NewAPIKey()), nil, 401, "INVALID_API_KEY"},
		{"malformed API key", bearer("GET", "sk_nothex"), nil, 401, "INVALID_API_KEY"},
		{"upper-case API key", bearer("GET", strings.ToUpper(adaKey[:3])+adaKey[3:]), nil, 401, "TOKEN_INVALID"},
		{"API key with upper-case hex", bearer("GET", "sk_"+strings.ToUpper(adaKey[3:])), nil, 401, "INVALID_API_KEY"},
		{"JWT", bearer("GET", adaJWT), &want{userID: ada.ID, method: MethodJWT}, 0, ""},
		{"JWT on POST needs no CSRF", bearer("POST", adaJWT), &want{userID: ada.ID, method: MethodJWT}, 0, ""},
		{"admin JWT", bearer("GET", rootJWT), &want{userID: root.ID, method: MethodJWT, admin: true}, 0, ""},
		{"JWT claiming admin for a user", bearer("GET", adaAdminJWT), &want{userID: ada.ID, method: MethodJWT}, 0, ""},
		{"JWT of an older generation", bearer("GET", staleJWT), nil, 401, "TOKEN_INVALID"},
		{"JWT of another secret", bearer("GET", otherJWT), nil, 401, "TOKEN_INVALID"},
		{"garbage bearer", bearer("GET", "not.a.jwt"), nil, 401, "TOKEN_INVALID"},
		{"empty bearer", bearer("GET", ""), nil, 401, "TOKEN_INVALID"},
		{"bearer wins over a cookie", func() *http.Request {
			r := bearer("GET", "garbage")
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: adaTok})
			return r
		}(), nil, 401, "TOKEN_INVALID"},
		{"session cookie on GET", withCookie("GET", adaTok), &want{userID: ada.ID, method: MethodSession, sessionID: adaSess.ID}, 0, ""},
		{"session cookie on HEAD", withCookie("HEAD", adaTok), &want{userID: ada.ID, method: MethodSession, sessionID: adaSess.ID}, 0, ""},
		{"session of an ADMIN_EMAILS user", withCookie("GET", bossTok), &want{userID: boss.ID, method: MethodSession, admin: true}, 0, ""},
		{"unknown session cookie", withCookie("GET", NewToken()), nil, 401, "AUTH_REQUIRED"},
		{"empty session cookie", withCookie("GET", ""), nil, 401, "AUTH_REQUIRED"},
		{"no credentials", httptest.NewRequest("GET", "/", nil), nil, 401, "AUTH_REQUIRED"},
		{"Basic scheme", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.SetBasicAuth("ada", "pw")
			return r
		}(), nil, 401, "AUTH_REQUIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := serve(f.a, tt.req)
			if tt.want == nil {
				wantAPIError(t, "Require", err, tt.wantStatus, tt.wantCode)
				if p != nil {
					t.Errorf("Require = %+v with an error; want no principal", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Require = %v; want principal %s", err, tt.want.userID)
			}
			if p.UserID != tt.want.userID || p.Method != tt.want.method || p.Admin != tt.want.admin {
				t.Errorf("Require = {user %s, method %s, admin %v}; want {user %s, method %s, admin %v}",
					p.UserID, p.Method, p.Admin, tt.want.userID, tt.want.method, tt.want.admin)
			}
			if tt.want.keyID != "" && p.KeyID != tt.want.keyID {
				t.Errorf("Require KeyID = %q; want %q", p.KeyID, tt.want.keyID)
			}
			if tt.want.sessionID != "" && p.SessionID != tt.want.sessionID {
				t.Errorf("Require SessionID = %q; want %q", p.SessionID, tt.want.sessionID)
			}
		})
	}
}

func TestAuthenticatePrincipalFields(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada@example.com", "user")
	key, k := f.apiKey(ada)
	p, _, err := serve(f.a, bearer("GET", key))
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{UserID: ada.ID, Email: "ada@example.com", Role: "user", Method: MethodAPIKey, KeyID: k.ID, Gen: 1}
	if *p != want {
		t.Errorf("Require(API key) = %+v; want %+v", *p, want)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada@example.com", "user")
	bob := f.user("bob@example.com", "user")
	adaTok, _ := f.session(ada, f.now.Add(30*24*time.Hour))
	bobTok, _ := f.session(bob, f.now.Add(30*24*time.Hour))
	adaCSRF := f.a.CSRFToken(adaTok)
	if adaCSRF == f.a.CSRFToken(bobTok) || adaCSRF == adaTok {
		t.Fatalf("CSRFToken is not bound to the session token")
	}

	tests := []struct {
		name   string
		method string
		header string
		value  string
		wantOK bool
	}{
		{"POST without token", "POST", "", "", false},
		{"PUT without token", "PUT", "", "", false},
		{"PATCH without token", "PATCH", "", "", false},
		{"DELETE without token", "DELETE", "", "", false},
		{"POST with X-CSRF-Token", "POST", "X-CSRF-Token", adaCSRF, true},
		{"DELETE with X-CSRF-Token", "DELETE", "X-CSRF-Token", adaCSRF, true},
		{"POST with X-XSRF-Token", "POST", "X-XSRF-Token", adaCSRF, true},
		{"POST with another session's token", "POST", "X-CSRF-Token", f.a.CSRFToken(bobTok), false},
		{"POST with the session token itself", "POST", "X-CSRF-Token", adaTok, false},
		{"POST with a truncated token", "POST", "X-CSRF-Token", adaCSRF[:len(adaCSRF)-1], false},
		{"POST with an upper-cased token", "POST", "X-CSRF-Token", strings.ToUpper(adaCSRF), false},
		{"GET without token", "GET", "", "", true},
		{"OPTIONS without token", "OPTIONS", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withCookie(tt.method, adaTok)
			if tt.header != "" {
				r.Header.Set(tt.header, tt.value)
			}
			p, _, err := serve(f.a, r)
			if tt.wantOK {
				if err != nil || p == nil || p.UserID != ada.ID {
					t.Errorf("Require(%s with cookie, %s=%q) = %v, %v; want ada", tt.method, tt.header, tt.value, p, err)
				}
				return
			}
			wantAPIError(t, "Require("+tt.method+" with cookie, "+tt.header+")", err, 403, "CSRF_REQUIRED")
		})
	}
}

func TestSessionCSRF(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada@example.com", "user")
	tok, _ := f.session(ada, f.now.Add(30*24*time.Hour))
	var got string
	var ok bool
	f.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = SessionCSRF(r, f.a)
	})).ServeHTTP(httptest.NewRecorder(), withCookie("GET", tok))
	if !ok || got != f.a.CSRFToken(tok) {
		t.Errorf("SessionCSRF(cookie request) = %q, %v; want %q, true", got, ok, f.a.CSRFToken(tok))
	}

	key, _ := f.apiKey(ada)
	f.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = SessionCSRF(r, f.a)
	})).ServeHTTP(httptest.NewRecorder(), bearer("GET", key))
	if ok || got != "" {
		t.Errorf("SessionCSRF(API key request) = %q, %v; want \"\", false", got, ok)
	}
}

func TestSessionSlidingExpiry(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada@example.com", "user")
	ttl := 30 * 24 * time.Hour

	fresh, _ := f.session(ada, f.now.Add(ttl))
	_, rec, err := serve(f.a, withCookie("GET", fresh))
	if err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies(); len(c) != 0 {
		t.Errorf("fresh session: Set-Cookie %v; want none", c)
	}

	old, _ := f.session(ada, f.now.Add(24*time.Hour))
	_, rec, err = serve(f.a, withCookie("GET", old))
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != SessionCookie || cookies[0].Value != old || !cookies[0].HttpOnly {
		t.Fatalf("aging session: Set-Cookie %v; want the session cookie renewed, HttpOnly", cookies)
	}
	s, err := f.s.SessionByHash(context.Background(), Digest(old))
	if err != nil || !s.ExpiresAt.Equal(f.now.Add(ttl)) {
		t.Errorf("aging session expiry = %v, %v; want %v", s, err, f.now.Add(ttl))
	}
}

func lastUsed(t *testing.T, s *store.Store, userID, keyID string) *time.Time {
	t.Helper()
	k, err := s.APIKey(context.Background(), userID, keyID)
	if err != nil {
		t.Fatalf("APIKey(%s) = %v", keyID, err)
	}
	return k.LastUsed
}

func TestAPIKeyLastUsed(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada@example.com", "user")
	key, k := f.apiKey(ada)
	if lu := lastUsed(t, f.s, ada.ID, k.ID); lu != nil {
		t.Fatalf("new key LastUsed = %v; want nil", lu)
	}
	t0 := f.now

	use := func(a *Authenticator) {
		t.Helper()
		if _, _, err := serve(a, bearer("GET", key)); err != nil {
			t.Fatalf("Require(API key) = %v", err)
		}
	}
	steps := []struct {
		name  string
		a     *Authenticator // nil: the fixture's
		at    time.Time
		wantT time.Time
	}{
		{"first use is recorded", nil, t0, t0},
		{"second use within a minute is not", nil, t0.Add(30 * time.Second), t0},
		{"use at 59s is not", nil, t0.Add(59 * time.Second), t0},
		{"use after a minute is", nil, t0.Add(61 * time.Second), t0.Add(61 * time.Second)},
		// A fresh Authenticator (another node, or after a restart) has no memory of
		// its own; the stored lastUsed still keeps it from writing again.
		{"fresh authenticator within a minute of the stored time", f.authenticator(), t0.Add(90 * time.Second), t0.Add(61 * time.Second)},
		{"fresh authenticator after a minute", f.authenticator(), t0.Add(3 * time.Minute), t0.Add(3 * time.Minute)},
	}
	for _, st := range steps {
		a := st.a
		if a == nil {
			a = f.a
		}
		f.now = st.at
		use(a)
		lu := lastUsed(t, f.s, ada.ID, k.ID)
		if lu == nil || !lu.Equal(st.wantT) {
			t.Errorf("%s: LastUsed = %v; want %v", st.name, lu, st.wantT)
		}
	}
}
